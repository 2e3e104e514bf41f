"""Command-line basics shared by every script, with no torch import (data.py's worker processes
stay small): one-line user errors, argparse, input checks, atomic file writes, vocab loading."""
import argparse
import os
import sys
import tempfile
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
    """argparse type for a strictly positive number."""
    def parse(s):
        v = kind(s)
        if v <= 0:
            raise ValueError
        return v
    parse.__name__ = f"positive {kind.__name__}"
    return parse


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
    so a crash never leaves a half-written file under the final name."""
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
