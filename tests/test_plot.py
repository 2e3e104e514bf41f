"""plot.py renders every kind of figure and table from small synthetic logs: a question's dot chart and
table (one task and two), the headline figures, the results index, and curves of one's own runs."""
import json
import os

import pytest

import plot
from conftest import run_script


def log(path, records, script="train.py"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"meta": {"script": script}}) + "\n")
        for r in records:
            f.write(json.dumps(r) + "\n")


def nsmc(val, test, epochs=2):
    """Epoch records whose best validation epoch is the last, with these scores."""
    return [{"epoch": e, "step": 10 * e, "loss": 0.5 / e, "val_acc": val - 0.01 * (epochs - e),
             "test_acc": test - 0.01 * (epochs - e), "time": 60.0 * e} for e in range(1, epochs + 1)]


def qa(val_f1, test_f1):
    return [{"epoch": 1, "step": 10, "loss": 3.0, "val_em": val_f1 / 2, "val_f1": val_f1, "test_em": test_f1 / 2,
             "test_f1": test_f1, "time": 100.0}]


@pytest.fixture
def results(tmp_path):
    r = tmp_path / "results"
    for seed, (val, test) in zip((42, 1, 2), ((0.86, 0.85), (0.87, 0.86), (0.88, 0.84))):
        log(r / f"vocab/nsmc-scratch-rv16-s{seed}.jsonl", nsmc(val, test))
        log(r / f"masking/nsmc-rv16-whole-m30-s{seed}.jsonl", nsmc(val + 0.02, test + 0.02))
    log(r / "seqlen/nsmc-rv16-whole-seq64-s42.jsonl", nsmc(0.5, 0.5))   # another row's name: must not be taken
    for seed in (42, 1):
        log(r / f"qa/qa-scratch-wiki8-lr1e-3-s{seed}.jsonl", qa(10.0 + seed % 5, 9.0))
        log(r / f"ablation/nsmc-scratch-wiki8-s{seed}.jsonl", nsmc(0.84, 0.83))
        log(r / f"qa/qa-wiki8-span-sbo-lr1e-3-s{seed}.jsonl", qa(30.0, 28.0 + seed % 5))
        log(r / f"ablation/nsmc-wiki8-span-sbo-s{seed}.jsonl", nsmc(0.85, 0.845))
    best = r / "best"
    log(best / "pretrain-rv16-whole-m40.jsonl", [{"step": s, "epoch": 1, "loss_mlm": 9 - s / 100, "loss_sbo": 9.5 - s / 100,
                                                  "lr": 1e-3, "tokens_per_s": 1000, "time": s} for s in (50, 100, 150)],
        "pretrain.py")
    (best / "heldout32-rv16-whole-m40.txt").write_text("x\nposition in span   targets   unigram   MLM loss   MLM acc   SBO loss"
                                                      "   SBO acc\n             all    25,838     7.250      6.016     "
                                                      "0.165      6.700     0.063\n")
    (best / "tfidf.jsonl").write_text(json.dumps({"val_acc": 0.87, "test_acc": 0.871}) + "\n")
    for seed in (42, 1, 2):
        log(best / f"nsmc-scratch-rv16-lr1e-4-s{seed}.jsonl", nsmc(0.86, 0.855, 3))
        log(best / f"nsmc-rv16-whole-m40-ep3-s{seed}.jsonl", nsmc(0.879, 0.872, 3))
    return str(r)


def test_question_table_means_ranges_and_seed_globs(results):
    table = plot.table("masking", results).splitlines()
    assert table[2] == "| from scratch | 3 | 2 of 2, 2 of 2, 2 of 2 | 0.8700 (0.8600–0.8800) | 0.8500 (0.8400–0.8600) |"
    assert table[3] == "| --mask_prob 0.3 | 3 | 2 of 2, 2 of 2, 2 of 2 | 0.8900 (0.8800–0.9000) | 0.8700 (0.8600–0.8800) |"
    assert len(table) == 4   # rows without logs are left out; the seq64 log is no seed of the 0.15 row


def test_two_task_table_and_figure(results, tmp_path):
    table = plot.table("ablation", results).splitlines()
    assert 0 < table[0].find("KorQuAD val F1") < table[0].find("NSMC test accuracy")   # the span task first, as in the spec
    assert table[2].startswith("| from scratch | 2 | 1 of 1, 1 of 1 | 11.50 (11.00–12.00) | 9.00 (9.00–9.00) |")
    assert table[2].endswith("| 0.8400 (0.8400–0.8400) | 0.8300 (0.8300–0.8300) |")
    plot.dot_figure("ablation", results, str(tmp_path / "img"), "svg")
    assert open(tmp_path / "img" / "ablation.svg").read().count("</svg>") == 1


def test_every_figure_kind_renders(results, tmp_path):
    img = str(tmp_path / "img")
    run_script("plot.py", "--question", "masking", "--results", results, "--out", img)
    run_script("plot.py", "--headline", "--results", results, "--out", img)
    own = run_script("plot.py", os.path.join(results, "best", "nsmc-rv16-whole-m40-ep3-s42.jsonl"),
                     os.path.join(results, "qa", "qa-scratch-wiki8-lr1e-3-s42.jsonl"),
                     os.path.join(results, "best", "pretrain-rv16-whole-m40.jsonl"), "--out", img).stdout
    assert "pretrain_loss.svg" in own
    for name in ("masking", "headline_pretrain", "headline_finetune", "loss", "accuracy", "pretrain_loss"):
        assert open(os.path.join(img, name + ".svg")).read().startswith("<?xml"), name


def test_index_names_every_file_and_its_row(results):
    index = run_script("plot.py", "--index", "--results", results).stdout
    assert "| `nsmc-rv16-whole-m30-s1.jsonl` | masking: --mask_prob 0.3 |" in index
    assert "| `nsmc-rv16-whole-seq64-s42.jsonl` | fine-tuning log outside the RESULTS.md tables |" in index
    assert "| `heldout32-rv16-whole-m40.txt` | `pretrain.py --eval` of `rv16-whole-m40`" in index
