"""Crash safety and scale-out: exact resume after SIGKILL (even mid-save), safe checkpoint loading,
stopping on a non-finite loss, and torchrun/DDP equivalence (2 ranks × B = 1 process × 2B)."""
import glob
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
import torch

from conftest import NSMC_TEST, NSMC_TRAIN, REPO, needs_data, run_script

pytestmark = needs_data


def pretrain_args(artifacts, save, *extra):
    return ["pretrain.py", "--config", "config_tiny.json", "--vocab", artifacts["vocab"], "--input", artifacts["span"],
            "--save", save, "--batch", "4", "--max_steps", "8", "--save_every", "2", "--log_every", "1", *extra]


def train_args(artifacts, save, *extra):
    return ["train.py", "--config", "config_tiny.json", "--vocab", artifacts["vocab"], "--train", NSMC_TRAIN,
            "--test", NSMC_TEST, "--save", save, "--max_train", "300", "--max_test", "100", "--epoch", "2",
            "--batch", "32", "--lr", "1e-3", "--save_every", "4", *extra]


def kill_during_second_save(args, save):
    """Run with a test hook that sleeps inside each save (after the data is written, before the
    rename) and SIGKILL the process while its second resumable state is being written."""
    root = os.path.splitext(save)[0]
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "SPANBERT_TEST_SAVE_DELAY": "1.0"})
    deadline = time.time() + 180
    while time.time() < deadline:
        states, temps = glob.glob(root + ".step*.pth"), glob.glob(root + ".step*.pth.*.tmp")
        if states and temps:
            break
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    return states, temps


def weights(path):
    return torch.load(path, weights_only=True)["model"]


def losses(path, keys):
    records = [json.loads(x) for x in open(os.path.splitext(path)[0] + ".jsonl")][1:]
    return [tuple(r[k] for k in keys) for r in records]


@pytest.mark.parametrize("script", ["pretrain", "train"])
def test_sigkill_mid_save_then_resume_is_exact(artifacts, tmp_path, script):
    make = pretrain_args if script == "pretrain" else train_args
    keys = ("step", "loss_mlm", "loss_sbo") if script == "pretrain" else ("epoch", "loss", "val_acc", "test_acc")
    straight, killed = str(tmp_path / "straight.pth"), str(tmp_path / "killed.pth")
    run_script(*make(artifacts, straight))

    states, temps = kill_during_second_save(make(artifacts, killed), killed)
    assert len(states) == 1 and len(temps) == 1       # the first state is complete, the second never got its name
    torch.load(states[0], weights_only=True)         # whatever carries a final name loads
    assert not os.path.exists(killed)                # no final checkpoint yet

    out = run_script(*make(artifacts, killed, "--resume")).stdout
    assert f"resuming from {states[0]}" in out
    assert not glob.glob(os.path.splitext(killed)[0] + "*.tmp")          # the stale temporary file is gone
    assert len(glob.glob(os.path.splitext(killed)[0] + ".step*.pth")) == 2  # --keep 2
    a, b = weights(straight), weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # bitwise, on CPU
    assert losses(straight, keys) == losses(killed, keys)


def test_pickle_payload_is_refused(artifacts, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pth"
    torch.save({"model": {}, "config": {}, "vocab_size": 3007, "x": Payload()}, evil)
    r = run_script("train.py", "--config", "config_tiny.json", "--vocab", artifacts["vocab"], "--pretrain", str(evil),
                   "--train", NSMC_TRAIN, "--test", NSMC_TEST, "--max_train", "50", ok=False)
    assert r.returncode == 2 and "evil.pth: refused" in r.stderr and "Traceback" not in r.stderr
    assert not marker.exists()


def test_non_finite_loss_stops_without_saving_it(artifacts, tmp_path):
    save = str(tmp_path / "p.pth")
    r = run_script(*pretrain_args(artifacts, save, "--lr", "1e30", "--warmup", "0", "--save_every", "1"), ok=False)
    assert r.returncode == 2 and "loss is not finite at step 2" in r.stderr and "Traceback" not in r.stderr
    states = glob.glob(str(tmp_path / "p.step*.pth"))
    assert [os.path.basename(s) for s in states] == ["p.step00000001.pth"] and not os.path.exists(save)
    assert all(torch.isfinite(v).all() for v in weights(states[0]).values())


def torchrun(*args):
    """Two CPU processes over gloo; --standalone picks a free rendezvous port (none is hard-coded)."""
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args],
                       cwd=REPO, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope="module")
def no_dropout(tmp_path_factory):
    """config_tiny without dropout: then the two runs differ only by float summation order."""
    c = json.load(open(os.path.join(REPO, "config_tiny.json")))
    path = tmp_path_factory.mktemp("cfg") / "tiny_nodrop.json"
    path.write_text(json.dumps({**c, "dropout": 0.0}))
    return str(path)


@pytest.mark.parametrize("script", ["pretrain", "train"])
def test_two_ranks_match_one_process_with_double_batch(artifacts, tmp_path, no_dropout, script):
    one, two = str(tmp_path / "one.pth"), str(tmp_path / "two.pth")
    if script == "pretrain":
        common = lambda save, batch: ["pretrain.py", "--config", no_dropout, "--vocab", artifacts["vocab"],  # noqa: E731
                                      "--input", artifacts["span"], "--save", save, "--batch", batch,
                                      "--max_steps", "5", "--log_every", "1"]
        keys = ("step", "loss_mlm", "loss_sbo")
    else:
        common = lambda save, batch: ["train.py", "--config", no_dropout, "--vocab", artifacts["vocab"],  # noqa: E731
                                      "--train", NSMC_TRAIN, "--test", NSMC_TEST, "--save", save, "--batch", batch,
                                      "--max_train", "250", "--max_test", "100", "--epoch", "1", "--lr", "1e-3"]
        keys = ("epoch", "loss")
    run_script(*common(one, "16"), "--device", "cpu")
    out = torchrun(*common(two, "8"), "--device", "cpu").stdout
    assert "on 2 × cpu" in out and out.count("saved") == 1   # only rank 0 reports and writes
    a, b = weights(one), weights(two)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4), k
    for x, y in zip(losses(one, keys), losses(two, keys)):
        assert x == pytest.approx(y, abs=2e-4)
    meta = json.loads(open(os.path.splitext(two)[0] + ".jsonl").readline())["meta"]
    assert meta["world_size"] == 2


def test_two_ranks_resume_mid_epoch_logs_the_uninterrupted_loss(artifacts, tmp_path):
    """Under torchrun each rank sums its own training loss; a mid-epoch state must carry the sum of all
    ranks, or the resumed epoch's logged loss counts one rank's share twice."""
    straight, resumed = str(tmp_path / "straight.pth"), str(tmp_path / "resumed.pth")
    args = lambda save: ["train.py", "--config", "config_tiny.json", "--vocab", artifacts["vocab"],  # noqa: E731
                         "--train", NSMC_TRAIN, "--test", NSMC_TEST, "--save", save, "--batch", "8", "--max_train",
                         "250", "--max_test", "100", "--epoch", "1", "--lr", "1e-3", "--save_every", "8",
                         "--keep", "10", "--device", "cpu", "--resume"]
    torchrun(*args(straight))
    shutil.copy(str(tmp_path / "straight.step00000008.pth"), str(tmp_path / "resumed.step00000008.pth"))
    out = torchrun(*args(resumed)).stdout
    assert "resuming from" in out and "resumed.step00000008.pth" in out
    a, b = weights(straight), weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)  # every rank's RNG and the data order come back
    (e1, x), = losses(straight, ("epoch", "loss"))
    (e2, y), = losses(resumed, ("epoch", "loss"))
    assert e1 == e2 == 1 and x == pytest.approx(y, abs=2e-4)


def test_metrics_log_drops_a_line_cut_short(tmp_path):
    from common import MetricsLog
    path = tmp_path / "run.jsonl"
    path.write_text('{"meta": {}}\n{"step": 1, "time": 1.0}\n{"step": 2, "time": 2.0}\n{"step": 3, "ti', encoding="utf-8")
    MetricsLog(str(path), {"x": 1}, resume_step=2)
    assert [json.loads(x) for x in path.read_text().splitlines()] == [
        {"meta": {"x": 1}}, {"step": 1, "time": 1.0}, {"step": 2, "time": 2.0}]
