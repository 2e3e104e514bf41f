"""Train the SentencePiece BPE vocab on the Korean Wikipedia text, as the original repo did:
8000 pieces + 7 specials, [PAD]=0 [UNK]=1 [BOS]=2 [EOS]=3, then [SEP] [CLS] [MASK] (ids 4, 5, 6).

    python vocab.py --input data/kowiki.txt --prefix data/kowiki   # writes data/kowiki.model/.vocab
"""
import glob
import os
import re
import shutil
import tempfile

import sentencepiece as spm

from cli import (disk_full, ensure_folder, load_vocab, output_lock, Parser, positive, require_file, run_main, SPECIALS,
                 UserError)
from corpus import check_decodable, describe_skips, new_stats, read_documents


def train_vocab(sentences, prefix, vocab_size=8000, max_sentences=1_000_000, threads=None, seed=42, check=None):
    """Train on an iterator of lines into a temporary folder (PREFIX.vocab-*.tmp), call check() (which may
    refuse the result), then move both files into place (never half-written)."""
    folder = ensure_folder(prefix)
    spm.set_random_generator_seed(seed)
    with tempfile.TemporaryDirectory(dir=folder, prefix=os.path.basename(prefix) + ".vocab-", suffix=".tmp") as tmp:
        spm.SentencePieceTrainer.train(
            sentence_iterator=sentences, model_prefix=os.path.join(tmp, "vocab"), model_type="bpe",
            vocab_size=vocab_size + len(SPECIALS),
            pad_id=0, pad_piece="[PAD]", unk_id=1, unk_piece="[UNK]",
            bos_id=2, bos_piece="[BOS]", eos_id=3, eos_piece="[EOS]",
            user_defined_symbols=list(SPECIALS[4:]),
            # NFKC + case folding: the original lowercased its corpus; here the model itself
            # lowercases, so every text encoded with it later is lowercased the same way
            normalization_rule_name="nmt_nfkc_cf",
            input_sentence_size=max_sentences, shuffle_input_sentence=True,
            max_sentence_length=1 << 16, num_threads=threads or os.cpu_count(), minloglevel=2)
        if check:
            check()
        for ext in ("model", "vocab"):
            shutil.move(os.path.join(tmp, f"vocab.{ext}"), f"{prefix}.{ext}")
    return f"{prefix}.model"


def main():
    p = Parser(__doc__)
    p.add_argument("--input", default="data/kowiki.txt",
                   help="corpus: plain text (.gz/.bz2 too), kowiki.csv or a WikiExtractor folder (default: %(default)s)")
    p.add_argument("--prefix", default="data/kowiki", help="output prefix: writes PREFIX.model and PREFIX.vocab (default: %(default)s)")
    p.add_argument("--vocab_size", type=positive(), default=8000, help="pieces to learn, not counting the 7 specials (default: %(default)s)")
    p.add_argument("--max_sentences", type=positive(), default=1_000_000,
                   help="lines sampled from the corpus for training; lower it to train in seconds on a slice (default: %(default)s)")
    p.add_argument("--threads", type=positive(), default=os.cpu_count(), help="trainer threads (default: all cores, %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="seed for sampling lines (default: %(default)s)")
    p.add_argument("--format", choices=("auto", "text", "csv", "wikiextractor"), default="auto",
                   help="corpus format, as in data.py (default: %(default)s)")
    args = p.parse_args()

    if not os.path.isdir(args.input):
        require_file(args.input, "kowiki")
    skipped, n_lines = new_stats(), [0]

    def lines():
        for doc in read_documents(args.input, args.format, skipped):
            n_lines[0] += len(doc)
            yield from doc
    try:
        with output_lock(args.prefix + ".model", [glob.escape(args.prefix) + ".vocab-*.tmp"]):
            model = train_vocab(lines(), args.prefix, args.vocab_size, args.max_sentences, args.threads, args.seed,
                                check=lambda: check_decodable(args.input, skipped))
    except (RuntimeError, OSError) as e:  # the trainer's own complaints, e.g. too few distinct pieces for the size
        folder = os.path.dirname(os.path.abspath(args.prefix))
        if disk_full(e) or ("Write" in str(e) and os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize < 1 << 20):
            # the trainer reports a failed write without saying why: a folder with under 1 MB free is why
            raise UserError(f"{args.prefix}.model: no space left on the device (disk full); nothing was written")
        if isinstance(e, OSError):
            raise
        check_decodable(args.input, skipped)
        if n_lines[0] == 0:
            raise UserError(f"{args.input}: no text to train on (the corpus holds only blank lines)")
        too_high = re.search(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)", str(e))
        if too_high:  # the trainer counts the 7 specials, --vocab_size does not
            raise UserError(f"{args.input}: too little text for --vocab_size {args.vocab_size}: it yields at most "
                            f"{max(int(too_high.group(2)) - len(SPECIALS), 0)} pieces; lower --vocab_size or give more text")
        raise UserError(f"{args.input}: sentencepiece could not train a vocab ({str(e).strip().splitlines()[-1]})")
    sp = load_vocab(model)
    note = describe_skips(skipped)
    print(f"wrote {model} and {args.prefix}.vocab: {sp.get_piece_size()} pieces from {n_lines[0]:,} lines"
          + (f"; {note}" if note else ""))


if __name__ == "__main__":
    run_main(main)
