"""Every input a user can get wrong ends in one line naming the file (and line or field) and exit
status 2, never a traceback: one subprocess test per case."""
import json
import os

import pytest
import torch

from conftest import NSMC_TEST, NSMC_TRAIN, REPO, needs_data, one_line_error, run_script

pytestmark = needs_data
TINY = json.load(open(os.path.join(REPO, "config_tiny.json")))


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def pretrain(a, *extra):
    return ["pretrain.py", "--config", "config_tiny.json", "--vocab", a["vocab"], "--input", a["span"], *extra]


def train(a, *extra):
    return ["train.py", "--config", "config_tiny.json", "--vocab", a["vocab"], "--train", NSMC_TRAIN,
            "--test", NSMC_TEST, "--max_train", "50", "--max_test", "50", *extra]


def nsmc(tmp, body):
    return write(tmp / "ratings.txt", "id\tdocument\tlabel\n" + body)


CASES = {
    # missing or empty inputs, with where to get them
    "missing corpus": (lambda a, t: ["data.py", "--input", str(t / "kowiki.txt"), "--vocab", a["vocab"]],
                       ["kowiki.txt: file not found", "data.py --download kowiki"]),
    "empty corpus": (lambda a, t: ["vocab.py", "--input", write(t / "c.txt", "")], ["c.txt: file is empty"]),
    "blank corpus": (lambda a, t: ["data.py", "--input", write(t / "c.txt", "\n \n"), "--vocab", a["vocab"],
                                   "--output", str(t / "o.json")], ["c.txt: no text to mask"]),
    "missing nsmc": (lambda a, t: train(a, "--train", str(t / "ratings_train.txt")),
                     ["ratings_train.txt: file not found", "data.py --download nsmc"]),
    "missing vocab": (lambda a, t: pretrain(a, "--vocab", str(t / "k.model")), ["k.model: file not found", "vocab.py"]),
    "missing span data": (lambda a, t: pretrain(a, "--input", str(t / "s.json")), ["s.json: file not found", "data.py"]),
    "missing pretrain checkpoint": (lambda a, t: train(a, "--pretrain", str(t / "p.pth")), ["p.pth: file not found"]),
    # malformed files, with the line number
    "malformed span line": (lambda a, t: pretrain(a, "--input", write(t / "s.json", open(a["span"]).readline() + "{oops\n")),
                            ["s.json:2: not a span-masked JSON line"]),
    "nsmc wrong columns": (lambda a, t: train(a, "--train", nsmc(t, "1\tgood\t1\n2\tbad 0\n")),
                           ["ratings.txt:3: expected 3 tab-separated columns, got 2"]),
    "nsmc bad label": (lambda a, t: train(a, "--train", nsmc(t, "1\tgood\t1\n2\tbad\t2\n")),
                       ["ratings.txt:3: label must be 0 or 1, got '2'"]),
    "not a vocab": (lambda a, t: pretrain(a, "--vocab", a["corpus"]), ["kowiki.txt: not a SentencePiece model"]),
    "vocab without specials": (lambda a, t: pretrain(a, "--vocab", plain_vocab(a, t)), ["plain.model: vocab lacks [PAD] at id 0"]),
    "corrupt checkpoint": (lambda a, t: train(a, "--pretrain", write(t / "p.pth", "garbage")), ["p.pth: not a loadable checkpoint"]),
    # configs: missing, unknown, wrong type, not JSON
    "config missing key": (lambda a, t: pretrain(a, "--config", config(t, drop="d_ff")), ["c.json: missing key 'd_ff'"]),
    "config unknown key": (lambda a, t: pretrain(a, "--config", config(t, n_layers=3)), ["c.json: unknown key 'n_layers'"]),
    "config wrong type": (lambda a, t: train(a, "--config", config(t, n_head="4")), ["c.json: key 'n_head' must be int"]),
    "config not json": (lambda a, t: pretrain(a, "--config", write(t / "c.json", "{")), ["c.json: not valid JSON"]),
    "config pad id not 0": (lambda a, t: pretrain(a, "--config", config(t, i_pad=1)),
                            ["c.json: i_pad is 1, but the vocab's [PAD] id is 0"]),
    # sizes that do not fit the model or the checkpoint
    "span data longer than positions": (lambda a, t: pretrain(a, "--config", config(t, n_enc_seq=32)),
                                        ["span.json:", "tokens is longer than the model's n_enc_seq=32"]),
    "n_seq longer than positions": (lambda a, t: train(a, "--n_seq", "600"), ["--n_seq 600: longer than", "n_enc_seq=512"]),
    "predict n_seq longer than positions": (lambda a, t: train(a, "--save", checkpoint(a, t, pooling="max"), "--predict",
                                                               "좋아요", "--n_seq", "600"),
                                            ["--n_seq 600: longer than", "p.pth's n_enc_seq=512"]),
    "resume with another batch": (lambda a, t: resumed(a, t, "--batch", "8"),
                                  ["p.step00000002.pth: saved with --batch 4, this run has 8"]),
    "resume with batches grouped by length": (lambda a, t: resumed(a, t, "--batch", "4", "--group_by_length"),
                                              ["p.step00000002.pth: saved with --group_by_length False, this run has True"]),
    "resume a probe without --freeze": (lambda a, t: probe_resumed(a, t),
                                        ["p.step00000002.pth: saved with --freeze True, this run has False"]),
    "eval of a fine-tuned checkpoint": (lambda a, t: pretrain(a, "--eval", "10", "--save", checkpoint(a, t, pooling="max")),
                                        ["p.pth: not a pretrain.py checkpoint (no SBO head)"]),
    "checkpoint config differs": (lambda a, t: train(a, "--config", "config_half.json", "--pretrain", checkpoint(a, t)),
                                  ["p.pth: config field n_layer is 4"]),
    "checkpoint vocab differs": (lambda a, t: train(a, "--pretrain", checkpoint(a, t, vocab_size=8007)),
                                 ["p.pth: vocab size 8007 differs from the vocab's 3007"]),
    # flags
    "cuda without cuda": (lambda a, t: pretrain(a, "--device", "cuda"), ["--device cuda: CUDA is not available"]),
    "output folder not writable": (lambda a, t: pretrain(a, "--save", os.path.join(a["corpus"], "p.pth")),
                                   ["p.pth: cannot write there", "kowiki.txt is a file, not a folder"]),
    "zero batch": (lambda a, t: pretrain(a, "--batch", "0"), ["argument --batch: invalid positive int value: '0'"]),
    "negative epochs": (lambda a, t: train(a, "--epoch", "-1"), ["argument --epoch: invalid positive int value: '-1'"]),
    "negative max_steps": (lambda a, t: pretrain(a, "--max_steps", "-5"), ["--max_steps -5: must be 0 or positive"]),
    "mask_prob out of range": (lambda a, t: ["data.py", "--mask_prob", "1.5"], ["--mask_prob 1.5: must be between 0 and 1"]),
    "baseline C not positive": (lambda a, t: ["baseline.py", "--C", "3", "0"], ["--C 0.0: must be positive"]),
    # logs
    "table of a log without epochs": (lambda a, t: ["plot.py", "--table", write(t / "x.jsonl", '{"test_acc": 0.8}\n')],
                                      ["x.jsonl: not a metrics log of pretrain.py, train.py or qa.py"]),
}


def config(tmp, drop=None, **changes):
    c = {k: v for k, v in {**TINY, **changes}.items() if k != drop}
    return write(tmp / "c.json", json.dumps(c))


def checkpoint(a, tmp, vocab_size=3007, **extra):
    path = tmp / "p.pth"
    torch.save({"model": {}, "config": TINY, "vocab_size": vocab_size, **extra}, path)
    return str(path)


def resumed(a, tmp, *changed):
    """Save a resumable state with --batch 4, then resume it with other flags."""
    common = ("--save", str(tmp / "p.pth"), "--max_steps", "2", "--save_every", "2", "--resume")
    run_script(*pretrain(a, "--batch", "4", *common))
    os.remove(tmp / "p.pth")
    return pretrain(a, *common, *changed)


def probe_resumed(a, tmp):
    """Save a linear probe's resumable state, then resume it as full fine-tuning (its optimizer has other parameters)."""
    common = ("--save", str(tmp / "p.pth"), "--epoch", "1", "--batch", "24", "--resume")  # 47 reviews: 2 steps
    run_script(*train(a, "--freeze", *common))
    return train(a, *common)


def plain_vocab(a, tmp):
    import sentencepiece as spm
    spm.SentencePieceTrainer.train(input=a["corpus"], model_prefix=str(tmp / "plain"), vocab_size=3000, minloglevel=2)
    return str(tmp / "plain.model")


@pytest.mark.parametrize("case", CASES)
def test_user_error(artifacts, tmp_path, case):
    args, needles = CASES[case]
    one_line_error(run_script(*args(artifacts, tmp_path), ok=False), *needles)
