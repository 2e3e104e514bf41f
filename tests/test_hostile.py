"""Hostile but realistic inputs and faults: nothing may give a wrong result with exit status 0. Broken
quotes, another vocab of the same size, names that differ after a dot, two runs on one output,
non-finite weights, invalid span targets, a full disk, signals, bytes that are not UTF-8; and a fuzz
test of the three parsers (only a correct parse or one clear error may come out)."""
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from cli import UserError
from common import check_weights, metrics_path, save_root, saved_states, state_path
from conftest import NSMC_TEST, NSMC_TRAIN, REPO, needs_data, one_line_error, run_script
from data import read_nsmc, SpanData
from model import Config, SpanBERT

TINY = json.load(open(os.path.join(REPO, "config_tiny.json")))


def write(path, text, mode="w"):
    with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
        f.write(text)
    return str(path)


# ---- silent wrong results ----

def test_unbalanced_quote_in_nsmc_file_is_an_error_with_its_line(tmp_path):
    rows = [f"{i}\t리뷰 {i}번\t{i % 2}" for i in range(300)]
    rows[120] = '120\t"따옴표가 열리고 닫히지 않는 리뷰\t0'   # one stray quote
    path = write(tmp_path / "r.txt", "id\tdocument\tlabel\n" + "\n".join(rows) + "\n")
    with pytest.raises(UserError, match=r"r\.txt:122: a quoted field runs over"):
        read_nsmc(path)
    rows[120] = '120\t"따옴표 ""안"" 리뷰"\t0'                   # quoted as the official files are: fine
    docs, labels = read_nsmc(write(tmp_path / "ok.txt", "id\tdocument\tlabel\n" + "\n".join(rows) + "\n"))
    assert len(docs) == 300 and docs[120] == '따옴표 "안" 리뷰' and labels[120] == 0


@pytest.fixture(scope="module")
def two_vocabs(artifacts, tmp_path_factory):
    """The artifacts vocab and another of the same size (3,007 pieces) from other text."""
    d = tmp_path_factory.mktemp("vocab2")
    lines = open(artifacts["corpus"], encoding="utf-8").read().splitlines()
    write(d / "other.txt", "\n".join(reversed(lines[1000:])) + "\n")
    run_script("vocab.py", "--input", str(d / "other.txt"), "--prefix", str(d / "other"), "--vocab_size", "3000",
               "--max_sentences", "20000", "--seed", "7")
    return artifacts["vocab"], str(d / "other.model")


@needs_data
def test_another_vocab_of_the_same_size_is_refused(artifacts, two_vocabs, tmp_path):
    mine, other = two_vocabs
    import sentencepiece as spm
    assert spm.SentencePieceProcessor(model_file=other).get_piece_size() == 3007
    save = str(tmp_path / "c.pth")
    run_script("train.py", "--config", "config_tiny.json", "--vocab", mine, "--train", NSMC_TRAIN, "--test", NSMC_TEST,
               "--max_train", "60", "--max_test", "20", "--epoch", "1", "--batch", "32", "--save", save)
    r = run_script("train.py", "--vocab", other, "--save", save, "--predict", "이 영화 정말 재밌다", ok=False)
    one_line_error(r, "c.pth: made with the vocab", os.path.basename(mine), os.path.basename(other))
    # span data remember their vocab too (data.py writes it beside them)
    span = str(tmp_path / "s.json")
    run_script("data.py", "--input", artifacts["corpus"], "--vocab", mine, "--output", span, "--n_seq", "64",
               "--max_docs", "20")
    r = run_script("pretrain.py", "--config", "config_tiny.json", "--vocab", other, "--input", span,
                   "--save", str(tmp_path / "p.pth"), "--max_steps", "1", ok=False)
    one_line_error(r, "s.json: made with the vocab", os.path.basename(other))


def test_names_that_differ_after_a_dot_keep_their_files_apart():
    assert metrics_path("runs/mask0.3") != metrics_path("runs/mask0.4")
    assert metrics_path("runs/mask0.3") == "runs/mask0.3.jsonl" and metrics_path("runs/x.pth") == "runs/x.jsonl"
    assert state_path("runs/mask0.3", 5) == "runs/mask0.3.step00000005.pth"
    assert save_root("runs/a.b.pth") == "runs/a.b"


@needs_data
def test_two_runs_with_dotted_names_write_separate_logs_and_states(artifacts, tmp_path):
    for name in ("mask0.3", "mask0.4"):
        run_script("pretrain.py", "--config", "config_tiny.json", "--vocab", artifacts["vocab"], "--input",
                   artifacts["span"], "--save", str(tmp_path / name), "--batch", "4", "--max_steps", "2",
                   "--save_every", "1", "--log_every", "1")
    assert sorted(os.listdir(tmp_path)) == sorted(
        f"{n}{ext}" for n in ("mask0.3", "mask0.4") for ext in ("", ".jsonl", ".step00000001.pth", ".step00000002.pth"))
    assert saved_states(str(tmp_path / "mask0.3")) == [str(tmp_path / "mask0.3.step00000001.pth"),
                                                       str(tmp_path / "mask0.3.step00000002.pth")]


@needs_data
def test_a_second_run_on_the_same_save_is_refused_and_a_stale_lock_taken_over(artifacts, tmp_path):
    save = str(tmp_path / "p.pth")
    args = ["pretrain.py", "--config", "config_tiny.json", "--vocab", artifacts["vocab"], "--input", artifacts["span"],
            "--save", save, "--batch", "4", "--max_steps", "2"]
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write(save + ".lock", f"{socket.gethostname()} {holder.pid}\n")   # a live run holds it
        others = write(tmp_path / "p.5.pth.123.tmp", "another run's file in flight")
        r = run_script(*args, ok=False)
        one_line_error(r, "p.pth: in use by process", str(holder.pid))
        assert os.path.exists(others) and not os.path.exists(metrics_path(save))
    finally:
        holder.kill()
        holder.wait()
    mine = write(tmp_path / "p.step00000001.pth.abc.tmp", "left by a killed run")
    run_script(*args)                                                     # the holder is gone: taken over
    assert os.path.exists(save) and not os.path.exists(save + ".lock")
    assert not os.path.exists(mine) and os.path.exists(others)             # only this run's own leftovers go


def test_non_finite_flags_are_refused_at_parse_time(capsys):
    import pretrain
    import qa
    import train
    one_line_error(run_script("pretrain.py", "--lr", "inf", ok=False), "--lr")   # as a user sees it
    for module, flag, value in ((pretrain, "--weight_decay", "nan"), (pretrain, "--sbo_weight", "nan"),
                                (pretrain, "--warmup", "nan"), (train, "--lr", "nan"), (train, "--weight_decay", "-1"),
                                (qa, "--lr", "inf"), (qa, "--warmup", "inf")):
        with pytest.raises((SystemExit, UserError)) as e:
            module.parse_args([flag, value])
        assert e.type is UserError or e.value.code == 2, (module.__name__, flag)
        assert flag in (str(e.value) if e.type is UserError else capsys.readouterr().err)


def test_non_finite_weights_are_never_saved(tmp_path):
    model = SpanBERT(Config.from_dict({**TINY, "n_enc_vocab": 50}))
    with torch.no_grad():
        model.mlm.dense.weight[0, 0] = float("nan")
    with pytest.raises(UserError, match="weights are not finite after step 7; stopping without saving "
                                        r"\(no resumable state of .*p.pth was written yet\)"):
        check_weights(model, str(tmp_path / "p.pth"), 7)


def span_file(tmp_path, **change):
    rec = {"tokens": [5, 10, 11, 12, 13, 4], "mask_idx": [2, 3], "mask_label": [11, 12], "span_left": [1, 1],
           "span_right": [4, 4], "span_pos": [0, 1]}
    return write(tmp_path / "s.json", json.dumps(rec) + "\n" + json.dumps({**rec, **change}) + "\n")


@pytest.mark.parametrize("change, needle", [
    ({"span_left": [4, 4], "span_right": [1, 1]}, "s.json:2: target 0 (position 2, span_left 4, span_right 1"),
    ({"mask_idx": [-1, 3]}, "s.json:2: target 0 (position -1"),
    ({"mask_idx": [2, 9], "span_right": [4, 10]}, "s.json:2: target 1 (position 9"),
    ({"mask_label": [11, -3]}, "label -3"),
    ({"tokens": [], "mask_idx": [], "mask_label": [], "span_left": [], "span_right": [], "span_pos": []},
     "s.json:2: empty sequence"),
    ({"tokens": [5, -10, 11, 12, 13, 4]}, "s.json:2: negative token id"),
])
def test_invalid_span_targets_are_refused_with_file_and_line(tmp_path, change, needle):
    with pytest.raises(UserError) as e:
        SpanData(span_file(tmp_path, **change))
    assert needle in str(e.value)
    assert not os.path.exists(str(tmp_path / "s.json.cache"))   # nothing cached from a bad file


# ---- faults: full disk, signals ----

@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MiB tmpfs with about 64 KiB left (root only; skipped elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                                           capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    write(mount / "filler.bin", b"\0" * (free - 64 * 1024), "wb")
    yield mount
    subprocess.run(["umount", str(mount)])


@needs_data
def test_full_disk_is_one_line_and_leaves_nothing(artifacts, tiny_disk):
    out = str(tiny_disk / "span.json")
    r = run_script("data.py", "--input", artifacts["corpus"], "--vocab", artifacts["vocab"], "--output", out,
                   "--n_seq", "64", "--workers", "1", ok=False)
    one_line_error(r, "span.json", "disk full")
    r = run_script("pretrain.py", "--config", "config_tiny.json", "--vocab", artifacts["vocab"], "--input",
                   artifacts["span"], "--save", str(tiny_disk / "p.pth"), "--batch", "4", "--max_steps", "1", ok=False)
    one_line_error(r, "disk full")
    r = run_script("vocab.py", "--input", artifacts["corpus"], "--prefix", str(tiny_disk / "v"), "--vocab_size", "3000",
                   "--max_sentences", "20000", ok=False)
    one_line_error(r, "v.model", "disk full")
    assert [f for f in os.listdir(tiny_disk) if f.endswith((".json", ".pth", ".model", ".tmp"))] == []


@needs_data
@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signals_to_data_py_end_cleanly(artifacts, tmp_path, sig, status):
    big = write(tmp_path / "big.txt", open(artifacts["corpus"], encoding="utf-8").read() * 40)  # a minute of work
    out = str(tmp_path / "o.json")
    p = subprocess.Popen([sys.executable, "data.py", "--input", big, "--vocab", artifacts["vocab"], "--output", out,
                          "--n_seq", "64", "--dupe", "3", "--workers", "2"], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(3)
    assert p.poll() is None, "data.py ended before the signal: the test needs a bigger corpus"
    os.killpg(p.pid, sig) if sig == signal.SIGINT else p.send_signal(sig)  # Ctrl-C reaches the whole group
    _, err = p.communicate(timeout=60)
    assert p.returncode == status and "Traceback" not in err, err
    assert glob.glob(out + "*") == []                                    # no output, no .tmp, no lock


@needs_data
def test_a_tmp_left_by_kill_9_goes_at_the_next_run(artifacts, tmp_path):
    out = str(tmp_path / "o.json")
    left = write(out + ".x1y2.tmp", "half")
    write(out + ".lock", f"{socket.gethostname()} 999999999\n")   # its process is long gone
    run_script("data.py", "--input", artifacts["corpus"], "--vocab", artifacts["vocab"], "--output", out, "--n_seq", "64",
               "--max_docs", "10")
    assert os.path.exists(out) and not os.path.exists(left) and not os.path.exists(out + ".lock")


# ---- bytes that are not UTF-8, values out of range ----

@needs_data
def test_inputs_that_are_not_utf8_name_file_and_line(artifacts, tmp_path):
    bad = b"\xff\xfe\xfa not utf-8"
    nsmc = write(tmp_path / "r.txt", b"id\tdocument\tlabel\n1\tgood\t1\n2\t" + bad + b"\t0\n", "wb")
    with pytest.raises(UserError, match=r"r\.txt:3: not UTF-8"):
        read_nsmc(nsmc)
    corpus = write(tmp_path / "c.txt", (bad + b"\n") * 50 + "정상 문장\n".encode() * 5, "wb")
    one_line_error(run_script("data.py", "--input", corpus, "--vocab", artifacts["vocab"], "--output",
                              str(tmp_path / "o.json"), ok=False), "c.txt: 50 of 55 lines are not UTF-8")
    assert not os.path.exists(tmp_path / "o.json")
    cfg = write(tmp_path / "c.json", b'{"n_layer": "\xff"}', "wb")
    one_line_error(run_script("pretrain.py", "--config", cfg, "--vocab", artifacts["vocab"], "--input", artifacts["span"],
                              ok=False), "c.json: not UTF-8")
    log = write(tmp_path / "l.jsonl", b'{"epoch": 1}\n' + bad + b"\n", "wb")
    one_line_error(run_script("plot.py", log, ok=False), "l.jsonl")


@needs_data
def test_predict_stdin_that_is_not_utf8(artifacts, tmp_path):
    save = str(tmp_path / "c.pth")
    run_script("train.py", "--config", "config_tiny.json", "--vocab", artifacts["vocab"], "--train", NSMC_TRAIN,
               "--test", NSMC_TEST, "--max_train", "40", "--max_test", "10", "--epoch", "1", "--save", save)
    r = subprocess.run([sys.executable, "train.py", "--vocab", artifacts["vocab"], "--save", save, "--predict"], cwd=REPO,
                       input=b"fine\n\xff\xfe\n", capture_output=True)
    assert r.returncode == 2 and b"stdin:2: not UTF-8" in r.stderr and b"Traceback" not in r.stderr


@pytest.mark.parametrize("change, needle", [
    ({"dropout": 1.0}, "dropout is 1.0"), ({"d_hidn": 0}, "d_hidn is 0"), ({"n_output": 1}, "n_output is 1"),
    ({"n_head": -2}, "n_head is -2"), ({"layer_norm_epsilon": 0.0}, "layer_norm_epsilon is 0.0"),
])
def test_config_values_out_of_range(tmp_path, change, needle):
    with pytest.raises(ValueError, match=needle.replace(".", r"\.")):
        Config.load(write(tmp_path / "c.json", json.dumps({**TINY, **change})))


def test_config_path_that_is_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        Config.load(str(tmp_path))


def test_plot_refuses_foreign_json_in_one_line(tmp_path):
    import plot
    one_line_error(run_script("plot.py", write(tmp_path / "x.jsonl", '{"a": 1}\n'), ok=False), "x.jsonl")
    for i, lines in enumerate([["[1, 2]"], ['{"epoch": "1", "val_acc": "x", "test_acc": 1}'], ["3"], ['{"step": 1}']]):
        path = write(tmp_path / f"x{i}.jsonl", "\n".join(lines) + "\n")
        with pytest.raises(UserError, match=f"x{i}.jsonl"):
            plot.own_runs([path], ["x"], str(tmp_path / "img"), "svg")


# ---- messages that are true ----

@needs_data
def test_max_train_1_says_the_validation_split_took_it(artifacts):
    r = run_script("train.py", "--config", "config_tiny.json", "--vocab", artifacts["vocab"], "--train", NSMC_TRAIN,
                   "--test", NSMC_TEST, "--max_train", "1", ok=False)
    one_line_error(r, "the validation split", "took all 1")


def test_vocab_py_suggests_its_own_flag(tmp_path):
    corpus = write(tmp_path / "c.txt", "가나다 라마\n바사 아자\n")
    r = run_script("vocab.py", "--input", corpus, "--prefix", str(tmp_path / "v"), "--vocab_size", "100", ok=False)
    one_line_error(r, "too little text for --vocab_size 100")
    assert "<=" not in r.stderr and "(107)" not in r.stderr


@needs_data
def test_literal_special_tokens_in_text_are_read_as_specials(artifacts):
    """A documented choice, as Hugging Face tokenizers do by default: [CLS], [SEP] and [MASK] written in
    the text are those tokens (the exported tokenizer agrees)."""
    import sentencepiece as spm
    from data import CLS, encode_reviews, MASK, SEP
    sp = spm.SentencePieceProcessor(model_file=artifacts["vocab"])
    ids = encode_reviews(sp, ["영화 [MASK] 좋다 [SEP] 끝"], 64)[0]
    assert ids[0] == CLS and ids[-1] == SEP and MASK in ids[1:-1] and SEP in ids[1:-1]


# ---- fuzz: only a correct parse or one clear error ----

def mutations(seed, base):
    """Seeded random edits of a valid file: byte flips, truncations, inserted or dropped fields."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(120):
        b = bytearray(base)
        for _ in range(rng.integers(1, 4)):
            op = rng.integers(5)
            i = int(rng.integers(len(b))) if b else 0
            if op == 0 and b:
                b[i] = int(rng.integers(256))
            elif op == 1:
                b = b[:i]
            elif op == 2:
                b[i:i] = bytes(rng.choice([ord(c) for c in '\t"\n{}[],:-0123456789'], size=int(rng.integers(1, 4))))
            elif op == 3 and b:
                del b[i:i + int(rng.integers(1, 8))]
            else:
                b[i:i] = rng.bytes(int(rng.integers(1, 6)))
        out.append(bytes(b))
    return out


def test_huge_nsmc_field_is_one_line(tmp_path):
    path = write(tmp_path / "r.txt", "id\tdocument\tlabel\n1\t" + "가" * 200_000 + "\t1\n")
    with pytest.raises(UserError, match=r"r\.txt:\d+: not a readable NSMC line \(field larger than field limit"):
        read_nsmc(path)


def test_fuzz_nsmc_reader(tmp_path):
    base = "id\tdocument\tlabel\n1\t좋은 영화\t1\n2\t\"인용 \"\"부호\"\" 리뷰\"\t0\n3\t\t1\n".encode()
    for i, data in enumerate(mutations(1, base)):
        path = write(tmp_path / f"r{i}.txt", data, "wb")
        try:
            docs, labels = read_nsmc(path)
            assert len(docs) == len(labels) and set(labels.tolist()) <= {0, 1}
        except UserError as e:
            assert "\n" not in str(e) and str(e).startswith(path)


def test_fuzz_span_loader(tmp_path):
    rec = {"tokens": [5, 10, 11, 12, 13, 4], "mask_idx": [2, 3], "mask_label": [11, 12], "span_left": [1, 1],
           "span_right": [4, 4], "span_pos": [0, 1]}
    base = (json.dumps(rec) + "\n") * 3
    for i, data in enumerate(mutations(2, base.encode())):
        path = write(tmp_path / f"s{i}.json", data, "wb")
        try:
            d = SpanData(path)
            for r in range(len(d)):
                b = d.batch(np.array([r]))
                n = b["tokens"].shape[1]
                assert np.all((0 <= b["span_left"]) & (b["span_left"] < b["mask_idx"]) & (b["mask_idx"] < b["span_right"])
                              & (b["span_right"] < n))
        except UserError as e:
            assert "\n" not in str(e) and str(e).startswith(path)


def test_fuzz_config_loader(tmp_path):
    base = json.dumps(TINY).encode()
    for i, data in enumerate(mutations(3, base)):
        path = write(tmp_path / f"c{i}.json", data, "wb")
        try:
            c = Config.load(path)
            assert c.n_layer > 0 and 0 <= c.dropout < 1
        except ValueError as e:
            assert "\n" not in str(e) and str(e).startswith(path)


def test_a_reader_that_leaves_early_gets_no_traceback():
    """`plot.py --table | head -1`: stdout closed before the script writes is a quiet end, as for any filter."""
    p = subprocess.Popen([sys.executable, "plot.py", "--index"], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdout.close()                                  # gone before the first line is written
    err = p.stderr.read()
    assert p.wait() in (0, 141) and "Traceback" not in err, err
