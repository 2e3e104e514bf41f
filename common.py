"""Training plumbing shared by pretrain.py and train.py: seeding and RNG state, device and
torchrun/DDP setup, optimizer and LR schedule, atomic checkpoints that resume exactly, and the
JSON-lines metrics log."""
import atexit
import errno
import glob
import json
import os
import random
import re
import subprocess
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

from cli import atomic_open, check_vocab, load_vocab, output_lock, require_file, UserError, vocab_fingerprint

def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state():
    """Every RNG this process draws from, in types that torch.load(weights_only=True) accepts."""
    np_state = np.random.get_state(legacy=False)
    np_state["state"]["key"] = np_state["state"]["key"].tolist()
    return {"python": random.getstate(), "numpy": np_state, "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state):
    random.setstate(state["python"])
    np_state = dict(state["numpy"])
    np_state["state"] = {**np_state["state"], "key": np.array(np_state["state"]["key"], dtype=np.uint32)}
    np.random.set_state(np_state)
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def pick_device(name, local_rank=0):
    """'auto' → cuda when available; asking for cuda without one is a user error. Under torchrun
    each process takes the GPU of its local rank."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name}: unknown device (use auto, cpu, cuda or cuda:N)")
    if device.type == "cuda":
        device = torch.device("cuda", local_rank if "LOCAL_RANK" in os.environ else (device.index or 0))
        torch.cuda.set_device(device)
    else:
        torch.set_flush_denormal(True)  # a saturated softmax's denormal floats slow CPU matmuls up to 10x
    return device


def setup_distributed(device_flag):
    """Single process, or one process per GPU/CPU rank when started by torchrun (which sets RANK,
    WORLD_SIZE, LOCAL_RANK and the rendezvous address: no port is chosen here).
    Returns (rank, world_size, device)."""
    if "RANK" not in os.environ:
        return 0, 1, pick_device(device_flag)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    device = pick_device(device_flag, int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def start_run(args):
    """The opening every training script shares: processes and device, the lock on --save, the same
    initial weights on every rank, the vocab and the model config sized to it.
    Returns (rank, world_size, device, vocab, config)."""
    from model import Config
    rank, world, device = setup_distributed(args.device)
    if rank == 0:
        hold(run_lock(args.save))  # one run per --save: a second refuses instead of mixing logs and states
    seed_all(args.seed)
    sp = load_vocab(args.vocab)
    try:
        config = Config.load(args.config, n_enc_vocab=sp.get_piece_size())
    except ValueError as e:
        raise UserError(str(e))
    return rank, world, device, sp, config


def finish_distributed():
    """Wait for every rank, then tear the process group down before exit: left to the interpreter's
    shutdown, gloo's threads were sometimes destroyed still running (SIGABRT, "terminate called
    without an active exception") after a run that had finished its work."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_reduce(values, device, op="sum"):
    """Sum (or min) a list of numbers over all ranks; a no-op in a single process."""
    if not dist.is_initialized():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MIN)
    return t.tolist()


def all_gather(obj):
    """[obj of rank 0, obj of rank 1, …] on every rank."""
    if not dist.is_initialized():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def shard(global_batches, rank, world):
    """Each global batch (rows for all ranks) → (this rank's rows, the global batch). Ranks split
    every global batch evenly, so `world` processes with batch B step exactly like one process
    with batch world×B; a last batch too small to give every rank a row is dropped."""
    for rows in global_batches:
        if len(rows) >= world:
            yield np.array_split(rows, world)[rank], rows


def autocast(device):
    """bf16 autocast on CUDA; full fp32 on CPU, where bf16 matmuls are not reliably faster."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def make_optimizer(model, lr, weight_decay):
    """AdamW with decoupled weight decay on matrices only (not on biases, LayerNorm or embeddings'
    LayerNorm), as in BERT."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # fused: one kernel for all parameters, on CPU (torch >= 2.4) as on CUDA: 6x faster on CPU here
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-6, fused=True)


def optimizer_step(loss, model, optimizer, schedule):
    """Fresh gradients of loss, clipped to norm 1.0, then one AdamW step and one schedule step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()


def make_schedule(optimizer, total_steps, warmup_ratio):
    """Linear warmup to the peak LR over warmup_ratio of the steps, then linear decay to zero."""
    warmup = max(1, int(total_steps * warmup_ratio))

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def provenance():
    """Package versions and the git commit, recorded in every checkpoint and metrics log."""
    import sentencepiece
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"git": commit, "python": sys.version.split()[0], "torch": str(torch.__version__),
            "numpy": np.__version__, "sentencepiece": sentencepiece.__version__}


def save_checkpoint(path, **items):
    """torch.save through a temporary file, fsync, rename: a crash or kill at any moment leaves
    either the old file or the new one under `path`, never a truncated one."""
    with atomic_open(path, "wb") as f:
        torch.save(items, f)
        if os.environ.get("SPANBERT_TEST_SAVE_DELAY"):  # test hook: widen the window for a kill mid-save
            f.flush()
            time.sleep(float(os.environ["SPANBERT_TEST_SAVE_DELAY"]))


def save_root(save):
    """runs/x.pth → runs/x, the stem of every companion file; only a .pth is cut, so runs/mask0.3 and
    runs/mask0.4 keep apart."""
    return save[:-len(".pth")] if save.endswith(".pth") else save


def hold(lock):
    """Enter a lock for the rest of the process (released at exit, also after SIGINT/SIGTERM), so a
    script's loop stays flat instead of living inside a `with` block."""
    lock.__enter__()
    atexit.register(lock.__exit__, None, None, None)


def run_lock(save):
    """The lock of a training run: one run per --save at a time. Its sweep takes only this run's own
    temporary files (final checkpoint, states, log, predictions), never another --save's."""
    root = glob.escape(save_root(save))
    return output_lock(save, [glob.escape(save) + ".*.tmp", root + ".step[0-9]*.pth.*.tmp", root + ".jsonl.*.tmp",
                              root + ".*_predictions.json.*.tmp"])


def state_path(save, step):
    """Resumable states live beside the final checkpoint: runs/x.pth → runs/x.step00000120.pth."""
    return f"{save_root(save)}.step{step:08d}.pth"


def saved_states(save):
    """Paths of the resumable states written for `save`, oldest first."""
    root = save_root(save)
    found = [(int(m.group(1)), p) for p in glob.glob(glob.escape(root) + ".step*.pth")
             if (m := re.fullmatch(re.escape(root) + r"\.step(\d+)\.pth", p))]
    return [p for _, p in sorted(found)]


def save_state(save, keep, **items):
    """Write the resumable state for items["step"], then delete all but the newest `keep` states."""
    save_checkpoint(state_path(save, items["step"]), **items)
    for old in saved_states(save)[:-keep]:
        os.remove(old)


def save_training_state(args, rank, model, optimizer, schedule, config, vocab_size, **extra):
    """Collective: gather every rank's RNG state; rank 0 writes the resumable state for extra["step"]."""
    check_weights(model, args.save, extra["step"])
    rngs = all_gather(rng_state())  # each rank's own dropout stream, restored per rank on resume
    if rank == 0:
        save_state(args.save, args.keep, model=model.state_dict(), optimizer=optimizer.state_dict(),
                   schedule=schedule.state_dict(), rng=rngs, config=config.to_dict(), vocab_size=vocab_size,
                   **vocab_fingerprint(args.vocab), args=vars(args), provenance=provenance(), **extra)


RESUME_MUST_MATCH = ("batch", "epoch", "max_steps", "seed", "lr", "warmup", "max_train", "val_ratio", "n_seq", "pooling",
                     "freeze", "group_by_length", "sbo_weight", "doc_stride")


def resume_training_state(args, rank, model, optimizer, schedule, config, vocab_size):
    """Load the newest resumable state of args.save into model, optimizer, schedule and this rank's
    RNGs and return it (its "path" added), or None when --resume is off or nothing was saved yet."""
    states = saved_states(args.save) if args.resume else []
    if not states:
        return None
    state = load_checkpoint(states[-1])
    check_compatible(states[-1], state, config, vocab_size, args.vocab)
    saved = state.get("args", {})
    for key in RESUME_MUST_MATCH:  # these fix the data order and the schedule: a change would silently desync them
        if key in saved and saved[key] != getattr(args, key, saved[key]):
            raise UserError(f"{states[-1]}: saved with --{key} {saved[key]}, this run has {getattr(args, key)}; "
                            f"resume with the same value or start without --resume")
    if len(state["rng"]) != (dist.get_world_size() if dist.is_initialized() else 1):
        raise UserError(f"{states[-1]}: saved by {len(state['rng'])} processes; resume with the same number")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    set_rng_state(state["rng"][rank])
    return {**state, "path": states[-1]}


def check_finite(first_bad, device, save):
    """first_bad: a device scalar, the first step whose loss was not finite (inf if none). Collective,
    so every rank stops together; called before every save, so no bad weights are ever written."""
    bad, = all_reduce([first_bad.item()], device, op="min")
    if bad != float("inf"):
        raise UserError(f"loss is not finite at step {int(bad)}; stopping without saving ({last_good(save)})")


def check_weights(model, save, step):
    """The last optimizer step can turn weights non-finite after the loss that the step logged was
    fine (--lr inf, say): checked before every save. Every rank holds the same weights."""
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise UserError(f"the weights are not finite after step {step}; stopping without saving ({last_good(save)})")


def last_good(save):
    """What a stop leaves to resume from, truly."""
    states = saved_states(save)
    return f"the newest good state is {states[-1]}" if states else f"no resumable state of {save} was written yet"


def load_checkpoint(path, source=None):
    """Load with weights_only=True, so a checkpoint cannot run code."""
    require_file(path, source)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle refusals and corrupt files alike
        refused = re.search(r"GLOBAL ([\w.]+)", str(e))
        if refused:
            raise UserError(f"{path}: refused: the file holds a Python object ({refused.group(1)}) that could "
                            "run code when loaded; only tensors and plain data are accepted")
        raise UserError(f"{path}: not a loadable checkpoint (corrupt, truncated, or not written by this repo)")


def check_compatible(path, ckpt, config, vocab_size, vocab_path=None):
    """The checkpoint must match the run's model config and vocab (its size, and its bytes where the
    checkpoint recorded them); name the first field that differs."""
    if ckpt.get("vocab_size") != vocab_size:
        raise UserError(f"{path}: vocab size {ckpt.get('vocab_size')} differs from the vocab's {vocab_size}")
    if vocab_path:
        check_vocab(path, ckpt, vocab_path)
    theirs = ckpt.get("config", {})
    for key, value in config.to_dict().items():
        if key not in ("n_enc_vocab", "dropout", "n_output") and theirs.get(key) != value:  # fields that shape the weights
            raise UserError(f"{path}: config field {key} is {theirs.get(key)!r}, the run's config has {value!r}")


class MetricsLog:
    """JSON-lines log: a first line {"meta": …} with the run's arguments and versions, then one
    record per log point with the wall time since the run started. Resuming at step N keeps the
    records up to N and continues the clock, so a resumed log reads like an uninterrupted one."""

    def __init__(self, path, meta, resume_step=None):
        self.path, self.start = path, time.time()
        kept = []
        if resume_step is not None and os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            for line in filter(None, lines):
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a kill mid-write: drop it
                    continue
                if "meta" not in r and r["step"] <= resume_step:
                    kept.append(r)
            self.start -= kept[-1]["time"] if kept else 0
        with atomic_open(path) as f:
            for record in [{"meta": meta}] + kept:
                f.write(json.dumps(record) + "\n")

    def write(self, **record):
        record["time"] = round(time.time() - self.start, 3)
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise UserError(f"{self.path}: no space left on the device (disk full); the log ends at the line "
                                "before this one") from None
            raise


def metrics_path(checkpoint):
    """The metrics log lives next to its checkpoint: runs/x.pth → runs/x.jsonl."""
    return save_root(checkpoint) + ".jsonl"


def total_steps(n_batches, epochs, max_steps):
    """Total optimizer steps: all epochs, or max_steps when that is smaller (0 = no cap)."""
    total = n_batches * epochs
    return min(total, max_steps) if max_steps > 0 else total

