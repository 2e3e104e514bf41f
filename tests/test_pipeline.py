"""End to end on a slice of the real data: vocab → data → pretrain → train → predict → plot,
each script run as a user would run it; plus --help and one-line errors."""
import json
import os

import numpy as np
import pytest
import torch

from common import seed_all
from conftest import NSMC_TEST, NSMC_TRAIN, needs_data
from conftest import run_script as run
from model import Classifier, Config

pytestmark = needs_data


@pytest.fixture(scope="module")
def work(artifacts, tmp_path_factory):
    """Pretrains and fine-tunes once; the tests below check each stage's outputs."""
    d = tmp_path_factory.mktemp("pipeline")
    p = {**artifacts, "pre": str(d / "pre.pth"), "best": str(d / "best.pth"), "img": str(d / "img")}
    run("pretrain.py", "--config", "config_tiny.json", "--vocab", p["vocab"], "--input", p["span"], "--save", p["pre"],
        "--batch", "8", "--max_steps", "6", "--log_every", "2", "--lr", "1e-3")
    p["train_out"] = run("train.py", "--config", "config_tiny.json", "--vocab", p["vocab"], "--train", NSMC_TRAIN,
                         "--test", NSMC_TEST, "--save", p["best"], "--pretrain", p["pre"], "--epoch", "2",
                         "--max_train", "400", "--max_test", "200", "--batch", "32", "--lr", "1e-3").stdout
    return p


def test_vocab_has_specials_and_size(work):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=work["vocab"])
    assert sp.get_piece_size() == 3007
    assert [sp.id_to_piece(i) for i in range(7)] == ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "[SEP]", "[CLS]", "[MASK]"]
    assert sp.encode("ABC", out_type=str) == sp.encode("abc", out_type=str)   # lowercased like the original
    assert os.path.isfile(work["prefix"] + ".vocab")


def test_span_json_schema_and_invariants(work):
    lines = open(work["span"], encoding="utf-8").read().splitlines()
    assert len(lines) > 100
    n_tok = n_tgt = 0
    for line in lines:
        r = json.loads(line)
        assert set(r) == {"tokens", "mask_idx", "mask_label", "span_left", "span_right", "span_pos"}
        t = np.array(r["tokens"])
        assert len(t) <= 64 and t[0] == 5 and t[-1] == 4 and not np.isin(t[1:-1], [0, 2, 3, 4, 5]).any()
        idx, left, right = (np.array(r[k]) for k in ("mask_idx", "span_left", "span_right"))
        assert np.all(left < idx) and np.all(idx < right) and np.all(idx - left - 1 == np.array(r["span_pos"]))
        assert not set(left) & set(idx) and not set(right) & set(idx)
        n_tok += len(t) - 2
        n_tgt += len(idx)
    # loose: 64-token chunks with a 3k vocab often get one whole-word span longer than 15% of them;
    # the exact 15% expectation is tested on long sequences in test_masking.py
    assert 0.14 < n_tgt / n_tok < 0.25


def test_data_is_deterministic_by_seed(work, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    common = ["data.py", "--input", work["corpus"], "--vocab", work["vocab"], "--n_seq", "64", "--max_docs", "50"]
    run(*common, "--output", str(a))
    run(*common, "--output", str(b))
    assert a.read_bytes() == b.read_bytes()
    run(*common, "--output", str(b), "--seed", "7")
    assert a.read_bytes() != b.read_bytes()


def test_pretrain_checkpoint_and_log(work):
    ckpt = torch.load(work["pre"], weights_only=True)
    assert ckpt["vocab_size"] == 3007 and ckpt["config"]["d_hidn"] == 256 and ckpt["step"] == 6
    assert any(k.startswith("sbo.") for k in ckpt["model"]) and any(k.startswith("mlm.") for k in ckpt["model"])
    meta, *log = [json.loads(x) for x in open(work["pre"].replace(".pth", ".jsonl"))]
    assert meta["meta"]["args"]["batch"] == 8 and meta["meta"]["torch"] == torch.__version__
    assert "git" in meta["meta"] and ckpt["provenance"]["torch"] == torch.__version__
    assert [r["step"] for r in log] == [2, 4, 6]
    assert {"step", "epoch", "loss_mlm", "loss_sbo", "lr", "tokens_per_s", "time"} <= set(log[0])
    assert log[0]["loss_mlm"] < 8.5 and log[0]["loss_sbo"] < 8.5     # ~ln(3007) = 8.0 at init


def test_pretrain_loss_curve_is_reproducible(work, tmp_path):
    logs = []
    for name in ("a", "b"):
        run("pretrain.py", "--config", "config_tiny.json", "--vocab", work["vocab"], "--input", work["span"],
            "--save", str(tmp_path / f"{name}.pth"), "--batch", "4", "--max_steps", "3", "--log_every", "1")
        records = list(map(json.loads, open(tmp_path / f"{name}.jsonl")))[1:]
        logs.append([(r["loss_mlm"], r["loss_sbo"]) for r in records])
    assert logs[0] == logs[1]


@pytest.mark.parametrize("masking", ["word", "subword"])
def test_mlm_only_on_baseline_masking(work, tmp_path, masking):
    """The paper's ablation rows: data.py --masking word/subword, pretrain.py --sbo_weight 0. The SBO head is
    never run, so its weights stay at their (seeded) initial values, while the encoder and MLM head train;
    the log and --eval say which objectives ran."""
    from common import seed_all
    from model import Config, SpanBERT
    span, save = str(tmp_path / f"{masking}.json"), str(tmp_path / f"{masking}.pth")
    out = run("data.py", "--input", work["corpus"], "--vocab", work["vocab"], "--output", span, "--n_seq", "64",
              "--max_docs", "40", "--masking", masking).stdout
    assert f"({masking} masking)" in out
    r = run("pretrain.py", "--config", "config_tiny.json", "--vocab", work["vocab"], "--input", span, "--save", save,
            "--batch", "4", "--max_steps", "3", "--log_every", "1", "--sbo_weight", "0")
    assert "objectives: MLM only" in r.stdout
    meta, *log = [json.loads(x) for x in open(save.replace(".pth", ".jsonl"))]
    assert meta["meta"]["args"]["sbo_weight"] == 0 and all("loss_sbo" not in x and x["loss_mlm"] > 0 for x in log)
    ckpt = torch.load(save, weights_only=True)
    trained = ckpt["model"]
    seed_all(42)
    init = SpanBERT(Config.from_dict(ckpt["config"])).state_dict()
    for name, value in init.items():
        if name.startswith("sbo.") and not name.startswith("sbo.decoder.embedding"):
            assert torch.equal(trained[name], value), name
    assert not torch.equal(trained["mlm.dense.weight"], init["mlm.dense.weight"])
    table = run("pretrain.py", "--eval", "20", "--save", save, "--vocab", work["vocab"], "--input", span).stdout
    assert table.splitlines()[-2].split()[-2:] == ["-", "-"] and "--sbo_weight 0" in table


def test_pretrain_batches_grouped_by_length():
    """Every sequence once per epoch, in an order fixed by (seed, epoch); grouping cuts the padding of
    review-like lengths; without --group_by_length the order is the plain permutation earlier runs used."""
    from pretrain import epoch_batches, padding_share
    lengths = np.random.default_rng(0).integers(4, 33, size=5000)  # one short review per sequence
    for group in (False, True):
        batches = epoch_batches(lengths, 128, 42, 1, group)
        assert sorted(np.concatenate(batches).tolist()) == list(range(5000))
        assert sum(len(b) != 128 for b in batches) == 1  # only the remainder, 5000 % 128
        again = epoch_batches(lengths, 128, 42, 1, group)
        assert all(np.array_equal(a, b) for a, b in zip(batches, again))
        assert not np.array_equal(np.concatenate(batches), np.concatenate(epoch_batches(lengths, 128, 42, 2, group)))
    plain = np.concatenate(epoch_batches(lengths, 128, 42, 1))
    assert np.array_equal(plain, np.random.default_rng([42, 1]).permutation(5000))
    # lengths uniform on 4..32: a random batch of 128 pads to about 32 (mean 18, ~44% padding); a pool of 8 sorted
    # batches spans about 29/8 lengths each, so a grouped one pads about 2 of ~20 tokens
    assert padding_share(lengths, epoch_batches(lengths, 128, 42, 1)) > 0.4
    assert padding_share(lengths, epoch_batches(lengths, 128, 42, 1, True)) < 0.12
    assert padding_share(np.array([2, 4, 3]), [np.array([0, 1]), np.array([2])]) == pytest.approx(2 / 11)


def test_pretrain_steps_without_targets(work, tmp_path):
    """data.py --allow_unmasked leaves many 8-token sequences without a span; one per batch, so some steps have
    no target at all, and their loss must be 0 rather than 0/0."""
    span, save = str(tmp_path / "u.json"), str(tmp_path / "u.pth")
    run("data.py", "--input", work["corpus"], "--vocab", work["vocab"], "--output", span, "--n_seq", "8",
        "--max_docs", "20", "--allow_unmasked")
    records = [json.loads(x) for x in open(span, encoding="utf-8")]
    assert 0.2 < np.mean([not r["mask_idx"] for r in records]) < 0.9
    run("pretrain.py", "--config", "config_tiny.json", "--vocab", work["vocab"], "--input", span, "--save", save,
        "--batch", "1", "--max_steps", "20", "--log_every", "20")
    (log,) = [json.loads(x) for x in open(save.replace(".pth", ".jsonl"))][1:]
    assert 0 < log["loss_mlm"] < 9 and 0 < log["loss_sbo"] < 9


def test_pretrain_eval_matches_an_unbatched_reference(work):
    """--eval's table against a per-sequence reference: no padding, full-sequence MLM logits
    indexed afterwards, unigram frequencies counted from the JSON lines."""
    from model import Config, SpanBERT
    out = run("pretrain.py", "--eval", "40", "--save", work["pre"], "--vocab", work["vocab"],
              "--input", work["span"]).stdout.splitlines()
    table = {line.split()[0]: [float(x.replace(",", "")) for x in line.split()[1:]] for line in out[2:]}
    ckpt = torch.load(work["pre"], weights_only=True)
    model = SpanBERT(Config.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    model.eval()
    records = [json.loads(x) for x in open(work["span"], encoding="utf-8")]
    counts = np.bincount([t for r in records for t in r["mask_label"]], minlength=3007)
    pos, uni, mlm, sbo, hit = [], [], [], [], []
    with torch.no_grad():
        for r in records[:40]:
            h = model.encoder(torch.tensor([r["tokens"]]))[0]                     # (T, D)
            label = torch.tensor(r["mask_label"])
            logp_mlm = model.mlm(h).log_softmax(-1)[r["mask_idx"]]              # every position, then the targets
            logp_sbo = model.sbo(h[r["span_left"]], h[r["span_right"]], torch.tensor(r["span_pos"])).log_softmax(-1)
            pos += r["span_pos"]
            uni += list(-np.log(counts[r["mask_label"]] / counts.sum()))
            mlm += (-logp_mlm[torch.arange(len(label)), label]).tolist()
            sbo += (-logp_sbo[torch.arange(len(label)), label]).tolist()
            hit += (logp_mlm.argmax(-1) == label).tolist()
    pos, uni, mlm, sbo, hit = map(np.array, (pos, uni, mlm, sbo, hit))
    n, u, m, acc, s, _ = table["all"]
    assert n == len(pos) and abs(u - uni.mean()) < 2e-3 and abs(m - mlm.mean()) < 2e-3
    assert abs(s - sbo.mean()) < 2e-3 and abs(acc - hit.mean()) < 2e-3
    assert table["1"][0] == (pos == 0).sum() and abs(table["1"][2] - mlm[pos == 0].mean()) < 2e-3
    assert table["5+"][0] == (pos >= 4).sum()


def test_train_log_and_best_checkpoint(work):
    log = [json.loads(x) for x in open(work["best"].replace(".pth", ".jsonl"))][1:]
    assert [r["epoch"] for r in log] == [1, 2]
    assert all(0 <= r["val_acc"] <= 1 and 0 <= r["test_acc"] <= 1 for r in log)
    ckpt = torch.load(work["best"], weights_only=True)
    assert ckpt["val_acc"] == max(r["val_acc"] for r in log) and ckpt["pooling"] == "max"
    assert "NSMC test accuracy" in work["train_out"]


def test_freeze_trains_only_the_head(work, tmp_path):
    save = str(tmp_path / "probe.pth")
    out = run("train.py", "--config", "config_tiny.json", "--vocab", work["vocab"], "--train", NSMC_TRAIN, "--test",
              NSMC_TEST, "--save", save, "--pretrain", work["pre"], "--freeze", "--epoch", "1", "--max_train", "200",
              "--max_test", "50", "--batch", "32", "--lr", "1e-2").stdout
    assert "probing" in out
    pre, probe = torch.load(work["pre"], weights_only=True)["model"], torch.load(save, weights_only=True)["model"]
    enc = [k for k in probe if k.startswith("encoder.")]
    assert enc and all(torch.equal(probe[k], pre[k]) for k in enc)
    seed_all(42)  # train.py's default seed: the head as initialised before training
    init = Classifier(Config.from_dict(torch.load(save, weights_only=True)["config"]), "max")
    assert not torch.equal(probe["head.weight"], init.head.weight)


def test_predict_text_and_stdin(work):
    args = ["train.py", "--vocab", work["vocab"], "--save", work["best"]]
    one = run(*args, "--predict", "이 영화 정말 재밌다").stdout.strip().split("\t")
    assert one[0] in ("0", "1") and one[1] in ("negative", "positive") and 0.5 <= float(one[2]) <= 1
    assert one[3] == "이 영화 정말 재밌다"
    many = run(*args, "--predict", stdin="최고의 영화\n최악이다\n\n").stdout.splitlines()
    assert len(many) == 3 and many[0].endswith("최고의 영화")


def test_plot_writes_svgs(work):
    run("plot.py", work["best"].replace(".pth", ".jsonl"), work["pre"].replace(".pth", ".jsonl"),
        "--labels", "fine-tune", "pretrain", "--out", work["img"])
    for name in ("loss.svg", "accuracy.svg", "pretrain_loss.svg"):
        text = open(os.path.join(work["img"], name)).read()
        assert text.startswith("<?xml") and "</svg>" in text


def test_plot_table_picks_epoch_on_validation(tmp_path):
    log = tmp_path / "run.jsonl"
    rows = [{"meta": {"script": "train.py"}},
            {"epoch": 1, "loss": 0.5, "val_acc": 0.80, "test_acc": 0.79, "time": 60.0},
            {"epoch": 2, "loss": 0.4, "val_acc": 0.83, "test_acc": 0.81, "time": 120.0},
            {"epoch": 3, "loss": 0.3, "val_acc": 0.83, "test_acc": 0.84, "time": 180.0}]  # a tie: epoch 2 stays
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = run("plot.py", str(log), "--labels", "x", "--table", "--out", str(tmp_path / "img")).stdout.splitlines()
    assert out[2] == "| x | 2 of 3 | 0.4000 | 0.8300 | 0.8100 | 3.0 |"
    assert not os.path.exists(tmp_path / "img")  # a table only, no plots


@pytest.mark.parametrize("script", ["vocab.py", "data.py", "pretrain.py", "train.py", "plot.py"])
def test_help(script):
    r = run(script, "--help")
    assert "usage:" in r.stdout and "--" in r.stdout
