"""Command-line basics shared by every script, with no torch import (data.py's worker processes
stay small): one-line user errors (also for a full disk and SIGTERM), argparse and its number types,
input checks, atomic file writes, a lock per output, vocab loading and fingerprints."""
import argparse
import errno
import glob
import hashlib
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from contextlib import contextmanager

SOURCES = {  # where to get each kind of input, for "file not found" messages
    "kowiki": "get it with `python data.py --download kowiki` (the Korean Wikipedia dump from "
              "https://dumps.wikimedia.org/kowiki/, turned into plain text)",
    "nsmc": "get it with `python data.py --download nsmc` (https://github.com/e9t/nsmc)",
    "vocab": "make it with vocab.py",
    "span": "make it with data.py",
    "pretrain": "make it with pretrain.py",
    "finetune": "make it with train.py",
    "qa": "make it with qa.py",
    "korquad": "get it with `python data.py --download korquad` (https://korquad.github.io/KorQuad%201.0/)",
}
SPECIALS = ("[PAD]", "[UNK]", "[BOS]", "[EOS]", "[SEP]", "[CLS]", "[MASK]")


class UserError(Exception):
    """An error the user can fix (bad path, bad file, bad flag): printed as one line, no traceback."""


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt so that every `with` block cleans up on the way out."""


def _terminate(signum, frame):
    raise Terminated()


def run_main(main):
    """Call main(); a UserError (or a full disk) becomes one line on stderr and exit status 2; SIGINT
    and SIGTERM end with 130 and 143 after the temporary files of unfinished writes are removed."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        main()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except BrokenPipeError:  # the reader of stdout left (`| head`): as quiet as any Unix filter
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"error: {e.filename or 'a file being written'}: no space left on the device (disk full)", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Terminated:
        print("terminated", file=sys.stderr)
        sys.exit(143)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors, like every other user error here."""

    def __init__(self, doc):
        super().__init__(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)

    def error(self, message):
        print(f"error: {self.prog}: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def require_file(path, source=None):
    """Fail with one line naming the missing or empty file and where to get it."""
    hint = f"; {SOURCES[source]}" if source else ""
    if not os.path.isfile(path):
        raise UserError(f"{path}: file not found{hint}")
    if os.path.getsize(path) == 0:
        raise UserError(f"{path}: file is empty{hint}")


def positive(kind=int):
    """argparse type for a strictly positive, finite number."""
    def parse(s):
        v = kind(s)
        if not v > 0 or not math.isfinite(v):
            raise ValueError
        return v
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def non_negative(s):
    """argparse type for a finite number >= 0."""
    v = float(s)
    if not v >= 0 or not math.isfinite(v):
        raise ValueError
    return v


non_negative.__name__ = "finite number >= 0"


def ensure_folder(path):
    """Create the folder that will hold `path`; a user error if that cannot be done."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        existing = folder
        while not os.path.exists(existing):  # the nearest part of the path that exists
            existing = os.path.dirname(existing)
        why = f"{existing} is a file, not a folder" if os.path.isfile(existing) else f"{folder}: {e.strerror}"
        raise UserError(f"{path}: cannot write there ({why})")
    if not os.access(folder, os.W_OK):
        raise UserError(f"{path}: cannot write there ({folder} is not writable)")
    return folder


@contextmanager
def atomic_open(path, mode="w"):
    """Write to a temporary file beside `path`, rename over it only when the block succeeds,
    so a crash never leaves a half-written file under the final name; a full disk is one line."""
    folder = ensure_folder(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the mode open() would
    except OSError as e:
        raise UserError(f"{path}: cannot write there ({folder}: {e.strerror})")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        os.unlink(tmp)
        if disk_full(e):
            raise UserError(f"{path}: no space left on the device (disk full); nothing was written there") from None
        raise


def disk_full(e):
    """Is this error (or the one it wraps: torch.save turns OSError into RuntimeError) a full disk?"""
    while e is not None:
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(e) or "file write failed" in str(e):
            return True
        e = e.__cause__ or e.__context__
    return False


@contextmanager
def output_lock(path, tmp_globs=None):
    """Only one run at a time writes `path` and its companions: an exclusive PATH.lock holding the
    owner's host and pid. A second run refuses in one line naming the owner; a lock whose process is
    gone (a kill -9, a crash) is taken over. While the lock is held, the temporary files (by default
    PATH.*.tmp) that a killed run left are removed: no live run can own them."""
    ensure_folder(path)
    lock, me = path + ".lock", f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                host, pid = open(lock, encoding="utf-8").read().split()[:2]
            except (OSError, ValueError):
                host, pid = "", "0"  # unreadable or half-written by a run killed at this very moment
            if host == socket.gethostname() and pid.isdigit() and alive(int(pid)):
                raise UserError(f"{path}: in use by process {pid} (lock file {lock}); wait for it to finish, "
                                "or choose another output")
            if host and host != socket.gethostname() and time.time() - os.path.getmtime(lock) < 24 * 3600:
                raise UserError(f"{path}: in use by process {pid} on {host} (lock file {lock}); remove the lock "
                                "file if that run is gone")
            os.remove(lock)  # stale: its process is gone
    else:
        raise UserError(f"{path}: could not take the lock file {lock}")
    try:
        os.write(fd, (me + "\n").encode())
        os.close(fd)
        for pattern in tmp_globs or [glob.escape(path) + ".*.tmp"]:
            for tmp in glob.glob(pattern):
                shutil.rmtree(tmp) if os.path.isdir(tmp) else os.remove(tmp)
        yield
    finally:
        try:
            if open(lock, encoding="utf-8").read().split()[:2] == me.split():
                os.remove(lock)
        except OSError:
            pass


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def vocab_fingerprint(path):
    """{"vocab_path", "vocab_sha256"}: what checkpoints, span files and logs record of their vocab. Two
    vocabs of the same size cut text differently; only the bytes tell them apart."""
    with open(path, "rb") as f:
        return {"vocab_path": path, "vocab_sha256": hashlib.sha256(f.read()).hexdigest()}


def check_vocab(what, recorded, vocab_path):
    """Refuse a file made with another vocab than the run's, naming both (silent if none was recorded)."""
    theirs, mine = recorded.get("vocab_sha256"), vocab_fingerprint(vocab_path)["vocab_sha256"]
    if theirs and theirs != mine:
        raise UserError(f"{what}: made with the vocab {recorded.get('vocab_path')} (sha256 {theirs[:12]}…), not "
                        f"{vocab_path} (sha256 {mine[:12]}…): another vocab, even of the same size, gives other tokens")


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
