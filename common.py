"""Run plumbing shared by vocab.py, data.py, pretrain.py and train.py: user errors,
input checks, vocab loading, seeding, device choice, optimizer and LR schedule,
atomic checkpoint I/O and the JSON-lines metrics log."""
import json
import os
import random
import sys
import tempfile
import time
from contextlib import contextmanager

import numpy as np
import torch

SOURCES = {  # where to get each kind of input, for "file not found" messages
    "kowiki": "get it from a Korean Wikipedia dump (https://dumps.wikimedia.org/kowiki/) as plain text: "
              "one paragraph per line, blank line between articles",
    "nsmc": "get it from https://github.com/e9t/nsmc (ratings_train.txt, ratings_test.txt)",
    "vocab": "make it with vocab.py",
    "span": "make it with data.py",
    "pretrain": "make it with pretrain.py",
    "finetune": "make it with train.py",
}
SPECIALS = ("[PAD]", "[UNK]", "[BOS]", "[EOS]", "[SEP]", "[CLS]", "[MASK]")


class UserError(Exception):
    """An error the user can fix (bad path, bad file, bad flag): printed as one line, no traceback."""


def run_main(main):
    """Call main(); a UserError becomes one line on stderr and exit status 2."""
    try:
        main()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def require_file(path, source=None):
    """Fail with one line naming the missing or empty file and where to get it."""
    hint = f"; {SOURCES[source]}" if source else ""
    if not os.path.isfile(path):
        raise UserError(f"{path}: file not found{hint}")
    if os.path.getsize(path) == 0:
        raise UserError(f"{path}: file is empty{hint}")


def positive(kind=int):
    """argparse type for a strictly positive number."""
    def parse(s):
        v = kind(s)
        if v <= 0:
            raise ValueError
        return v
    parse.__name__ = f"positive {kind.__name__}"
    return parse


@contextmanager
def atomic_open(path, mode="w"):
    """Write to a temporary file beside `path`, rename over it only when the block succeeds,
    so a crash never leaves a half-written file under the final name."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the mode open() would
    except OSError as e:
        raise UserError(f"{path}: cannot write ({e.strerror})")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_vocab(path):
    """Load a SentencePiece model and check it carries the special pieces at the ids the code expects."""
    import sentencepiece as spm
    require_file(path, "vocab")
    sp = spm.SentencePieceProcessor()
    try:
        sp.load(path)
    except (OSError, RuntimeError):
        raise UserError(f"{path}: not a SentencePiece model (train one with vocab.py)")
    for i, piece in enumerate(SPECIALS):
        if i >= sp.get_piece_size() or sp.id_to_piece(i) != piece:
            raise UserError(f"{path}: vocab lacks {piece} at id {i} (train it with vocab.py)")
    return sp


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name):
    """'auto' → cuda when available; asking for cuda without one is a user error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name}: unknown device (use auto, cpu, cuda or cuda:N)")


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
    fused = all(p.is_cuda for p in decay + no_decay)
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-6, fused=fused or None)


def make_schedule(optimizer, total_steps, warmup_ratio):
    """Linear warmup to the peak LR over warmup_ratio of the steps, then linear decay to zero."""
    warmup = max(1, int(total_steps * warmup_ratio))

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def save_checkpoint(path, **items):
    """torch.save through a temporary file: the old checkpoint survives a crash mid-write."""
    with atomic_open(path, "wb") as f:
        torch.save(items, f)


def load_checkpoint(path, source=None):
    """Load with weights_only=True, so a checkpoint cannot run code."""
    require_file(path, source)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle refusals and corrupt files alike
        raise UserError(f"{path}: not a loadable checkpoint ({str(e).splitlines()[0][:200]})")


def check_compatible(path, ckpt, config, vocab_size):
    """The checkpoint must match the run's model config and vocab size; name the first field that differs."""
    if ckpt.get("vocab_size") != vocab_size:
        raise UserError(f"{path}: vocab size {ckpt.get('vocab_size')} differs from the vocab's {vocab_size}")
    theirs = ckpt.get("config", {})
    for key, value in config.to_dict().items():
        if key not in ("n_enc_vocab", "dropout", "n_output") and theirs.get(key) != value:  # fields that shape the weights
            raise UserError(f"{path}: config field {key} is {theirs.get(key)!r}, the run's config has {value!r}")


class MetricsLog:
    """Append-only JSON-lines log; each record gets the wall time since the run started."""

    def __init__(self, path):
        self.path, self.start = path, time.time()
        with atomic_open(path):  # a fresh run starts a fresh, empty log
            pass

    def write(self, **record):
        record["time"] = round(time.time() - self.start, 3)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def metrics_path(checkpoint):
    """The metrics log lives next to its checkpoint: runs/x.pth → runs/x.jsonl."""
    root, _ = os.path.splitext(checkpoint)
    return root + ".jsonl"


def total_steps(n_batches, epochs, max_steps):
    """Total optimizer steps: all epochs, or max_steps when that is smaller (0 = no cap)."""
    total = n_batches * epochs
    return min(total, max_steps) if max_steps > 0 else total

