"""Data for SpanBERT (Joshi et al. 2019, https://arxiv.org/abs/1907.10529): span masking of the
pretraining corpus, loading of the span-masked JSON lines, and the NSMC sentiment files.

    python data.py --input data/kowiki.txt --vocab data/kowiki.model --output data/kowiki_span.json

Masking follows the paper: spans of whole words with lengths from a geometric distribution
(p=0.2, clipped to 1..10 words), chosen until 15% of the tokens are masked, 80/10/10
[MASK]/random/unchanged decided once per span. Each target records its span's boundary tokens
(the last unmasked token before and the first after the span) and its position inside the span,
which is what the span boundary objective (SBO) predicts from.
"""
import csv
import itertools
import json
import time

import numpy as np
import torch
from tqdm import tqdm

from common import Parser, SPECIALS, UserError, atomic_open, load_vocab, positive, require_file, run_main

PAD, SEP, CLS, MASK = (SPECIALS.index(p) for p in ("[PAD]", "[SEP]", "[CLS]", "[MASK]"))
N_SPECIAL = len(SPECIALS)  # ids below this are specials; random replacements never draw them


def span_length_probs(dist="geometric", p=0.2, max_len=10):
    """P(span length = 1..max_len words). 'geometric' is the paper's Geo(p) renormalized to the
    clipped range (mean 3.8 for p=0.2); 'harmonic' is the original repo's 1/length weighting."""
    lens = np.arange(1, max_len + 1)
    if dist == "geometric":
        w = p * (1 - p) ** (lens - 1)
    elif dist == "harmonic":
        w = 1.0 / lens
    else:
        raise ValueError(f"unknown span distribution {dist!r}")
    return w / w.sum()


def span_mask(tokens, word_start, rng, len_probs, mask_prob=0.15, vocab_size=8007):
    """Mask whole-word spans of one [CLS] … [SEP] sequence.

    tokens: int array (T,), tokens[0] = [CLS], tokens[-1] = [SEP]; word_start: bool array (T,),
    True where a token begins a word. Spans never include [CLS]/[SEP] and never overlap or touch
    another span, so both boundary tokens of every span exist and are unmasked. Spans are added
    until the mask budget is met; the last one may overshoot it by less than its own length.
    Returns the masked copy of tokens and a dict of equal-length int arrays, sorted by position:
    idx (position), label (original token), left/right (boundary positions), pos (offset in span).
    Every sequence of at least 3 tokens gets at least one span.
    """
    n = len(tokens)
    starts = np.flatnonzero(word_start[1:n - 1]) + 1
    if len(starts) == 0 or starts[0] != 1:  # a chunk cut mid-word still starts a word at 1
        starts = np.concatenate([[1], starts]).astype(np.int64)
    ends = np.append(starts[1:] - 1, n - 2)  # inclusive last token of each word
    n_words = len(starts)
    budget = max(1, int(round(mask_prob * (n - 2))))
    masked = np.zeros(n, dtype=bool)
    out = tokens.copy()
    spans = []
    n_masked = 0
    while n_masked < budget:
        n_span = rng.choice(len(len_probs), p=len_probs) + 1
        if n_span > n_words:
            continue
        s, e = starts[:n_words - n_span + 1], ends[n_span - 1:]  # token range of each candidate span
        taken = np.concatenate([[0], np.cumsum(masked)])
        free = np.flatnonzero(taken[e + 2] == taken[s - 1])  # nothing masked in s-1 .. e+1
        if len(free) == 0:
            if n_span == 1:
                break  # not even a single word fits any more
            continue  # redraw the length rather than shorten it: keeps the length distribution
        w = free[rng.integers(len(free))]
        a, b = starts[w], ends[w + n_span - 1] + 1
        left = budget - n_masked
        if b - a > left and rng.random() >= left / (b - a):
            # an overshooting span is kept with p = left/len, so the expected count is the budget;
            # a short sequence redraws until it has at least one span rather than being dropped
            if spans:
                break
            continue
        masked[a:b] = True
        n_masked += b - a
        u = rng.random()  # one decision per span, as in the paper
        if u < 0.8:
            out[a:b] = MASK
        elif u < 0.9:
            out[a:b] = rng.integers(N_SPECIAL, vocab_size, size=b - a)
        spans.append((a, b))
    spans.sort()
    idx = np.concatenate([np.arange(a, b) for a, b in spans])
    return out, {
        "idx": idx,
        "label": tokens[idx],
        "left": np.concatenate([np.full(b - a, a - 1) for a, b in spans]),
        "right": np.concatenate([np.full(b - a, b) for a, b in spans]),
        "pos": np.concatenate([np.arange(b - a) for a, b in spans]),
    }


def read_documents(path):
    """Yield each document of a plain-text corpus as a list of non-empty lines (blank line = new document)."""
    doc = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line:
                doc.append(line)
            elif doc:
                yield doc
                doc = []
    if doc:
        yield doc


def pack(lines, max_len):
    """Greedily pack a document's tokenized lines into chunks of at most max_len tokens;
    a line longer than max_len is cut into pieces."""
    chunk = []
    for ids in lines:
        if chunk and len(chunk) + len(ids) > max_len:
            yield chunk
            chunk = []
        while len(ids) > max_len:
            yield ids[:max_len]
            ids = ids[max_len:]
        chunk = chunk + ids
    if chunk:
        yield chunk


def make_span_data(args):
    """Stream documents in, span-masked JSON lines out; a seeded generator per (document, copy)
    keeps the output identical for a given --seed whatever order documents are processed in."""
    sp = load_vocab(args.vocab)
    vocab_size = sp.get_piece_size()
    word_start = np.array([sp.id_to_piece(i).startswith("\u2581") for i in range(vocab_size)])
    word_start[:N_SPECIAL] = False
    len_probs = span_length_probs(args.span_dist, args.geometric_p, args.max_span)
    stats = dict(docs=0, seqs=0, tokens=0, targets=0, spans=0)
    t0 = time.time()

    def encoded(batch_size=512):
        """Tokenize documents in batches (one sentencepiece call per batch), yield them one by one."""
        docs = read_documents(args.input)
        if args.max_docs > 0:
            docs = itertools.islice(docs, args.max_docs)
        while batch := list(itertools.islice(docs, batch_size)):
            ids = sp.encode([line for doc in batch for line in doc])
            k = 0
            for doc in batch:
                stats["docs"] += 1
                yield ids[k:k + len(doc)]
                k += len(doc)

    with atomic_open(args.output) as out, tqdm(unit=" docs", desc="span-masking", mininterval=1) as bar:
        for doc_idx, lines in enumerate(encoded()):
            bar.update()
            chunks = [np.array([CLS] + c + [SEP], dtype=np.int64) for c in pack(lines, args.n_seq - 2)]
            for copy in range(args.dupe):
                rng = np.random.default_rng([args.seed, doc_idx, copy])
                for tokens in chunks:
                    masked, t = span_mask(tokens, word_start[tokens], rng, len_probs, args.mask_prob, vocab_size)
                    out.write(json.dumps({
                        "tokens": masked.tolist(), "mask_idx": t["idx"].tolist(), "mask_label": t["label"].tolist(),
                        "span_left": t["left"].tolist(), "span_right": t["right"].tolist(), "span_pos": t["pos"].tolist(),
                    }, separators=(",", ":")) + "\n")
                    stats["seqs"] += 1
                    stats["tokens"] += len(tokens) - 2
                    stats["targets"] += len(t["idx"])
                    stats["spans"] += int((t["pos"] == 0).sum())
        if stats["seqs"] == 0:  # raised inside the block: no output file is left behind
            raise UserError(f"{args.input}: no text to mask (is the corpus empty?)")
    secs = time.time() - t0
    print(f"wrote {args.output}: {stats['seqs']:,} sequences from {stats['docs']:,} documents, "
          f"{stats['tokens']:,} tokens, {stats['targets'] / stats['tokens']:.3f} of them masked, "
          f"{stats['targets'] / stats['spans']:.2f} tokens per span, {stats['tokens'] / secs:,.0f} tokens/s")
    return stats


# ---- loading the span-masked JSON for pretraining ----

class SpanData:
    """All sequences and targets of a span JSON file as flat int32 arrays plus offsets
    (a few bytes per token instead of Python lists)."""
    FIELDS = ("mask_idx", "mask_label", "span_left", "span_right", "span_pos")

    def __init__(self, path, max_len=None):
        require_file(path, "span")
        tokens, targets, lens, n_tgt = [], {k: [] for k in self.FIELDS}, [], []
        with open(path, encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                try:
                    rec = json.loads(line)
                    seq = rec["tokens"]
                    cols = [rec[k] for k in self.FIELDS]
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise UserError(f"{path}:{line_no}: not a span-masked JSON line ({e.__class__.__name__}: {e})")
                if max_len and len(seq) > max_len:
                    raise UserError(f"{path}:{line_no}: sequence of {len(seq)} tokens is longer than the "
                                    f"model's n_enc_seq={max_len} (remake the data with a smaller --n_seq)")
                if len({len(c) for c in cols}) != 1:
                    raise UserError(f"{path}:{line_no}: target lists have different lengths")
                tokens.append(np.asarray(seq, dtype=np.int32))
                for k, c in zip(self.FIELDS, cols):
                    targets[k].append(np.asarray(c, dtype=np.int32))
                lens.append(len(seq))
                n_tgt.append(len(cols[0]))
        if not tokens:
            raise UserError(f"{path}: file has no sequences")
        self.tokens = np.concatenate(tokens)
        self.targets = {k: np.concatenate(v) for k, v in targets.items()}
        self.offsets = np.concatenate([[0], np.cumsum(lens)])
        self.tgt_offsets = np.concatenate([[0], np.cumsum(n_tgt)])
        self.max_token = int(self.tokens.max())

    def __len__(self):
        return len(self.offsets) - 1

    def batch(self, rows):
        """Pad the given sequences to the longest; targets are flattened with their row index."""
        lens = self.offsets[rows + 1] - self.offsets[rows]
        tokens = np.full((len(rows), lens.max()), PAD, dtype=np.int64)
        cols = {k: [] for k in ("row",) + self.FIELDS}
        for i, r in enumerate(rows):
            tokens[i, :lens[i]] = self.tokens[self.offsets[r]:self.offsets[r + 1]]
            a, b = self.tgt_offsets[r], self.tgt_offsets[r + 1]
            cols["row"].append(np.full(b - a, i))
            for k in self.FIELDS:
                cols[k].append(self.targets[k][a:b])
        out = {k: torch.from_numpy(np.concatenate(v).astype(np.int64)) for k, v in cols.items()}
        out["tokens"] = torch.from_numpy(tokens)
        return out


# ---- NSMC ----

def read_nsmc(path):
    """Read an NSMC file (tab-separated id, document, label with CSV quoting) → (documents, labels).
    Empty documents are kept as empty strings."""
    require_file(path, "nsmc")
    docs, labels = [], []
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        header = next(rows, None)
        if header != ["id", "document", "label"]:
            raise UserError(f"{path}:1: expected the header 'id<TAB>document<TAB>label', got {header!r}")
        for row in rows:
            line = rows.line_num
            if len(row) != 3:
                raise UserError(f"{path}:{line}: expected 3 tab-separated columns, got {len(row)}")
            if row[2] not in ("0", "1"):
                raise UserError(f"{path}:{line}: label must be 0 or 1, got {row[2]!r}")
            docs.append(row[1])
            labels.append(int(row[2]))
    if not docs:
        raise UserError(f"{path}: no reviews after the header")
    return docs, np.array(labels)


def encode_reviews(sp, docs, max_len):
    """Token ids [CLS] … [SEP] per review, cut to max_len tokens."""
    return [[CLS] + ids[:max_len - 2] + [SEP] for ids in sp.encode(docs)]


def length_batches(lengths, batch_size, rng=None, pool=8):
    """Group indices into batches of similar length so padding stays small. With rng: shuffle,
    sort within pools of `pool` batches, shuffle the batches (random order, little padding).
    Without: sorted by length (evaluation). Bigger pools pad less but make batches so uniform in
    length that accuracy suffers: on NSMC, pool=64 cut padding to 4% but cost a point of accuracy
    after one epoch; pool=8 kept it within seed noise of random batches (BENCHMARKS.md)."""
    lengths = np.asarray(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:
        order = rng.permutation(len(lengths))
        size = batch_size * pool
        order = np.concatenate([c[np.argsort(lengths[c], kind="stable")]
                                for c in np.split(order, range(size, len(order), size))])
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def pad_batch(seqs):
    """List of token-id lists → (B, T_max) int64 tensor padded with [PAD]."""
    out = torch.full((len(seqs), max(map(len, seqs))), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s)
    return out


def main():
    p = Parser(__doc__)
    p.add_argument("--input", default="data/kowiki.txt", help="plain-text corpus (default: %(default)s)")
    p.add_argument("--output", default="data/kowiki_span.json", help="span-masked JSON lines (default: %(default)s)")
    p.add_argument("--vocab", default="data/kowiki.model", help="SentencePiece model from vocab.py (default: %(default)s)")
    p.add_argument("--n_seq", type=positive(), default=512, help="tokens per sequence incl. [CLS] and [SEP] (default: %(default)s)")
    p.add_argument("--mask_prob", type=float, default=0.15, help="fraction of tokens to mask (default: %(default)s)")
    p.add_argument("--span_dist", choices=("geometric", "harmonic"), default="geometric",
                   help="span length distribution: the paper's geometric, or the original repo's 1/length (default: %(default)s)")
    p.add_argument("--geometric_p", type=float, default=0.2, help="p of the geometric distribution (default: %(default)s)")
    p.add_argument("--max_span", type=positive(), default=10, help="longest span in words (default: %(default)s)")
    p.add_argument("--dupe", type=positive(), default=1, help="differently masked copies of each sequence (default: %(default)s)")
    p.add_argument("--max_docs", type=int, default=0, help="stop after this many documents, 0 = all (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="masking seed (default: %(default)s)")
    args = p.parse_args()
    if not 0 < args.mask_prob < 1:
        raise UserError(f"--mask_prob {args.mask_prob}: must be between 0 and 1")
    if not 0 < args.geometric_p <= 1:
        raise UserError(f"--geometric_p {args.geometric_p}: must be in (0, 1]")
    if args.n_seq < 3:
        raise UserError(f"--n_seq {args.n_seq}: must leave room for [CLS], [SEP] and one token")
    require_file(args.input, "kowiki")
    make_span_data(args)


if __name__ == "__main__":
    run_main(main)
