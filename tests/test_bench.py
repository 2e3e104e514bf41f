"""bench.py runs end to end at tiny dimensions with one repeat (a smoke test, not a timing test)."""
import importlib.util
import json

import pytest

from conftest import NSMC_TEST, NSMC_TRAIN, needs_data, run_script

pytestmark = [needs_data, pytest.mark.skipif(importlib.util.find_spec("transformers") is None,
                                             reason="bench.py compares against transformers")]


def test_bench_smoke(artifacts, tmp_path):
    out = tmp_path / "bench.json"
    log = run_script("bench.py", "--smoke", "--device", "cpu", "--vocab", artifacts["vocab"], "--train", NSMC_TRAIN,
                     "--test", NSMC_TEST, "--spans", artifacts["span"], "--json", str(out)).stdout
    r = json.load(open(out))
    assert r["peak_flops"] > 0 and "ratio" in log
    (row,) = r["pretrain"]
    assert row["ours_tokens_per_s"] > 0 and row["hf_tokens_per_s"] > 0
    assert 0 < row["ours_utilization"] < 1 and 0 < row["hf_utilization"] < 1
    assert row["ours_flops_per_token"] < row["hf_flops_per_token"]   # heads on 15% of tokens, not all
    assert r["memory"]["ours_bytes"] > 0 and r["memory"]["hf_bytes"] > 0
    ft = r["finetune"]
    assert ft["ours"]["padding"] < ft["naive"]["padding"]             # length grouping pads less
    assert 0 <= ft["ours"]["test_acc"] <= 1 and ft["inference_reviews_per_s"] > 0
    b = r["batching"]                                                 # pretrain.py --group_by_length pads less
    assert b["grouped"]["padding"] < b["random"]["padding"] and b["grouped"]["tokens_per_s"] > 0
