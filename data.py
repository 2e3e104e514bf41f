"""Data for SpanBERT (Joshi et al. 2019, https://arxiv.org/abs/1907.10529): span masking of the
pretraining corpus, loading of the span-masked JSON lines, and the NSMC sentiment files.

    python data.py --input data/kowiki.txt --vocab data/kowiki.model --output data/kowiki_span.json

Masking follows the paper: spans of whole words with lengths from a geometric distribution
(p=0.2, clipped to 1..10 words), chosen until 15% of the tokens are masked, 80/10/10
[MASK]/random/unchanged decided once per span. Each target records its span's boundary tokens
(the last unmasked token before and the first after the span) and its position inside the span,
which is what the span boundary objective (SBO) predicts from. --masking word and subword give the
paper's baselines at the same budget (whole words, BERT's single tokens), with the same schema: a
"span" is then each contiguous run of masked tokens.
"""
import array
import bisect
import collections
import csv
import io
import itertools
import json
import multiprocessing
import os
import shutil
import signal
import tempfile
import time

import numpy as np
from tqdm import tqdm

from cli import (atomic_open, check_vocab, load_vocab, output_lock, Parser, positive, require_file, run_main, SPECIALS,
                 UserError, vocab_fingerprint)

PAD, SEP, CLS, MASK = (SPECIALS.index(p) for p in ("[PAD]", "[SEP]", "[CLS]", "[MASK]"))
N_SPECIAL = len(SPECIALS)  # ids below this are specials; random replacements never draw them
MAX_FIELD = 100_000  # characters in an NSMC field: reviews are under 140, so more is a broken file


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


def span_mask(tokens, word_start, rng, len_probs, mask_prob=0.15, vocab_size=8007, allow_unmasked=False):
    """Mask whole-word spans of one [CLS] … [SEP] sequence.

    tokens: int array (T,), tokens[0] = [CLS], tokens[-1] = [SEP]; word_start: bool array (T,),
    True where a token begins a word. Spans never include [CLS]/[SEP] and never overlap or touch
    another span, so both boundary tokens of every span exist and are unmasked. Spans are added
    until the mask budget is met; the last one may overshoot it by less than its own length.
    Returns the masked tokens and a dict of equal-length int lists, sorted by position: idx
    (position), label (original token), left/right (boundary positions), pos (offset in span).
    Every sequence of at least 3 tokens gets at least one span, so short sequences mask more than
    mask_prob; with allow_unmasked the budget stays fractional and a sequence may get none, so the
    expected masked share is mask_prob at any length.
    """
    n = len(tokens)
    starts, ends = word_bounds(word_start, n)  # ends: inclusive last token of each word
    n_words = len(starts)
    budget = mask_prob * (n - 2) if allow_unmasked else max(1, round(mask_prob * (n - 2)))
    cdf = np.cumsum(len_probs).tolist()
    u = uniforms(rng)
    # taken[j + 1] = 1 when word j is masked; taken[0] and taken[-1] stand for [CLS] and [SEP]. Words
    # w-1 .. w+L all free <=> the span's tokens and both boundary tokens are unmasked (spans are words).
    taken = bytearray(n_words + 2)
    out, spans, n_masked = tokens.tolist(), [], 0
    while n_masked < budget:
        n_span = min(bisect.bisect_right(cdf, next(u) * cdf[-1]), len(cdf) - 1) + 1
        if n_span > n_words:
            continue
        last = n_words - n_span  # last start word with room for the span
        for _ in range(20):  # rejection sampling: uniform over the free positions, usually at once
            w = int(next(u) * (last + 1))
            if taken.find(1, w, w + n_span + 2) < 0:
                break
        else:
            free = [w for w in range(last + 1) if taken.find(1, w, w + n_span + 2) < 0]
            if not free:
                if n_span == 1:
                    break  # not even a single word fits any more
                continue  # redraw the length rather than shorten it: keeps the length distribution
            w = free[int(next(u) * len(free))]
        a, b = starts[w], ends[w + n_span - 1] + 1
        left = budget - n_masked
        if b - a > left and next(u) >= left / (b - a):
            # an overshooting span is kept with p = left/len, so the expected count is the budget;
            # a short sequence redraws until it has at least one span rather than being dropped,
            # unless allow_unmasked (then the expectation is the budget here too)
            if spans or allow_unmasked:
                break
            continue
        taken[w + 1:w + n_span + 1] = b"\x01" * n_span
        n_masked += b - a
        replace(out, a, b, next(u), rng, vocab_size)  # one decision per span, as in the paper
        spans.append((a, b))
    return out, run_targets(tokens, sorted(spans))


def word_mask(tokens, word_start, rng, mask_prob=0.15, vocab_size=8007, allow_unmasked=False):
    """Whole-word masking (BERT's later variant): words drawn independently, in random order, until
    the budget is met (an overshooting word is kept with p = left/len, as in span_mask), 80/10/10
    decided once per word. Neighbouring words may both be drawn: their tokens form one run."""
    n = len(tokens)
    starts, ends = word_bounds(word_start, n)
    budget = mask_prob * (n - 2) if allow_unmasked else max(1, round(mask_prob * (n - 2)))
    out, words, n_masked = tokens.tolist(), [], 0
    for w in rng.permutation(len(starts)).tolist():
        if n_masked >= budget:
            break
        a, b = starts[w], ends[w] + 1
        left = budget - n_masked
        if b - a > left and rng.random() >= left / (b - a):
            if words or allow_unmasked:
                break
            continue
        n_masked += b - a
        replace(out, a, b, rng.random(), rng, vocab_size)
        words.append((a, b))
    return out, run_targets(tokens, merge_runs(sorted(words)))


def subword_mask(tokens, rng, mask_prob=0.15, vocab_size=8007, allow_unmasked=False):
    """BERT's masking: round(mask_prob × tokens) single tokens drawn without replacement (at least
    one; with allow_unmasked a fractional count is rounded at random, so the expectation is exact),
    80/10/10 decided per token. Adjacent picks form one run for the SBO targets."""
    n = len(tokens) - 2  # [CLS] and [SEP] are never picked
    k = int(mask_prob * n + rng.random()) if allow_unmasked else max(1, round(mask_prob * n))
    out = tokens.tolist()
    picked = np.sort(rng.permutation(n)[:k] + 1).tolist()
    for i, r in zip(picked, rng.random(len(picked)).tolist()):
        replace(out, i, i + 1, r, rng, vocab_size)
    return out, run_targets(tokens, merge_runs([(i, i + 1) for i in picked]))


def word_bounds(word_start, n):
    """(first token, last token) of every word between [CLS] and [SEP]."""
    starts = (np.flatnonzero(word_start[1:n - 1]) + 1).tolist()
    if not starts or starts[0] != 1:  # a chunk cut mid-word still starts a word at 1
        starts.insert(0, 1)
    return starts, [s - 1 for s in starts[1:]] + [n - 2]


def replace(out, a, b, r, rng, vocab_size):
    """BERT's 80/10/10 for out[a:b], with one uniform draw r: [MASK], random tokens, or unchanged."""
    if r < 0.8:
        out[a:b] = [MASK] * (b - a)
    elif r < 0.9:
        out[a:b] = rng.integers(N_SPECIAL, vocab_size, size=b - a).tolist()


def merge_runs(pieces):
    """Sorted [a, b) ranges → maximal contiguous runs."""
    runs = []
    for a, b in pieces:
        if runs and runs[-1][1] == a:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((a, b))
    return runs


def run_targets(tokens, runs):
    """The targets of sorted, non-touching masked runs [a, b): position, original token, the run's
    boundary positions (a-1 and b: unmasked, inside the sequence) and the offset in the run."""
    t = {"idx": [], "label": [], "left": [], "right": [], "pos": []}
    original = tokens.tolist()
    for a, b in runs:
        t["idx"] += range(a, b)
        t["label"] += original[a:b]
        t["left"] += [a - 1] * (b - a)
        t["right"] += [b] * (b - a)
        t["pos"] += range(b - a)
    return t


def uniforms(rng, size=256):
    """An endless stream of U[0, 1) floats drawn from rng in blocks (one numpy call per block)."""
    while True:
        yield from rng.random(size).tolist()


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


def mask_documents(task, sp, word_start, len_probs, args):
    """Tokenize, pack and mask a batch of documents → (JSON lines, counts). A seeded generator per
    (document, copy) makes the output independent of how documents are batched or which worker
    runs them, so the file is identical for a given --seed whatever --workers is."""
    first, docs = task
    ids = sp.encode([line for doc in docs for line in doc])
    out, counts, k = [], {"seqs": 0, "tokens": 0, "targets": 0, "spans": 0}, 0
    for doc_idx, doc in enumerate(docs, first):
        lines, k = ids[k:k + len(doc)], k + len(doc)
        chunks = [np.array([CLS] + c + [SEP], dtype=np.int64) for c in pack(lines, args.n_seq - 2)]
        for copy in range(args.dupe):
            rng = np.random.default_rng([args.seed, doc_idx, copy])
            for tokens in chunks:
                if args.masking == "span":
                    masked, t = span_mask(tokens, word_start[tokens], rng, len_probs, args.mask_prob, len(word_start),
                                          args.allow_unmasked)
                elif args.masking == "word":
                    masked, t = word_mask(tokens, word_start[tokens], rng, args.mask_prob, len(word_start),
                                          args.allow_unmasked)
                else:
                    masked, t = subword_mask(tokens, rng, args.mask_prob, len(word_start), args.allow_unmasked)
                out.append(json.dumps({"tokens": masked, "mask_idx": t["idx"], "mask_label": t["label"],
                                       "span_left": t["left"], "span_right": t["right"], "span_pos": t["pos"]},
                                      separators=(",", ":")) + "\n")
                counts["seqs"] += 1
                counts["tokens"] += len(tokens) - 2
                counts["targets"] += len(t["idx"])
                counts["spans"] += t["pos"].count(0)
    return "".join(out), counts


_worker = {}


def _init_worker(vocab, args):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent alone cleans up
    sp = load_vocab(vocab)
    word_start = np.array([sp.id_to_piece(i).startswith("\u2581") for i in range(sp.get_piece_size())])
    word_start[:N_SPECIAL] = False
    _worker.update(sp=sp, word_start=word_start, args=args,
                   len_probs=span_length_probs(args.span_dist, args.geometric_p, args.max_span))


def _run_task(task):
    w = _worker
    return mask_documents(task, w["sp"], w["word_start"], w["len_probs"], w["args"])


def make_span_data(args):
    """Stream documents in, span-masked JSON lines out, in document order. Worker processes take
    batches of documents; at most two batches per worker are in flight, so memory stays flat
    however large the corpus."""
    from corpus import check_decodable, describe_skips, new_stats, read_documents
    load_vocab(args.vocab)  # fail here, in one line, rather than inside a worker
    skipped, totals, t0 = new_stats(), {"docs": 0, "seqs": 0, "tokens": 0, "targets": 0, "spans": 0}, time.time()
    docs = read_documents(args.input, args.format, skipped)
    if args.max_docs > 0:
        docs = itertools.islice(docs, args.max_docs)
    tasks = ((i * 64, batch) for i, batch in enumerate(iter(lambda: list(itertools.islice(docs, 64)), [])))

    def write(result, out, bar):
        text, counts = result
        out.write(text)
        for key, value in counts.items():
            totals[key] += value
        bar.update(counts["tokens"])

    with atomic_open(args.output) as out, tqdm(unit=" tokens", unit_scale=True, desc="span-masking") as bar:
        if args.workers == 1:
            _init_worker(args.vocab, args)
            for task in tasks:
                totals["docs"] += len(task[1])
                write(_run_task(task), out, bar)
        else:
            with multiprocessing.get_context("spawn").Pool(args.workers, _init_worker, (args.vocab, args)) as pool:
                pending = collections.deque()
                for task in tasks:
                    totals["docs"] += len(task[1])
                    pending.append(pool.apply_async(_run_task, (task,)))
                    if len(pending) >= 2 * args.workers:
                        write(pending.popleft().get(), out, bar)
                while pending:
                    write(pending.popleft().get(), out, bar)
        check_decodable(args.input, skipped)  # raised inside the block: no output file is left behind
        if totals["seqs"] == 0:
            raise UserError(f"{args.input}: no text to mask (is the corpus empty?)")
    with atomic_open(args.output + ".meta.json") as f:  # which vocab and masking made it: checked on loading
        json.dump({**vocab_fingerprint(args.vocab), "size": os.path.getsize(args.output), "masking": args.masking,
                   "mask_prob": args.mask_prob, "n_seq": args.n_seq, "dupe": args.dupe, "seed": args.seed, **totals}, f)
    secs = time.time() - t0
    note = describe_skips(skipped)
    print(f"wrote {args.output}: {totals['seqs']:,} sequences from {totals['docs']:,} documents, "
          f"{totals['tokens']:,} tokens, {totals['targets'] / totals['tokens']:.3f} of them masked, "
          f"{totals['targets'] / totals['spans']:.2f} tokens per masked run ({args.masking} masking), "
          f"{totals['tokens'] / secs:,.0f} tokens/s"
          + (f"; {note}" if note else ""))
    return totals


# ---- loading the span-masked JSON for pretraining ----

def read_json(path):
    """A small JSON file's content, or None when it is missing or unreadable (caches, sidecars)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class SpanData:
    """All sequences and targets of a span JSON file as flat int32 arrays plus offsets. The first
    load parses the JSON (about 6 bytes of RAM per token at peak) and saves the arrays beside it
    as .npy files; later loads memory-map them and start at once."""
    FIELDS = ("mask_idx", "mask_label", "span_left", "span_right", "span_pos")
    ARRAYS = ("tokens", "offsets", "tgt_offsets") + FIELDS

    def __init__(self, path, max_len=None, vocab=None):
        require_file(path, "span")
        if vocab:  # data.py's record of the vocab that made it (when the file is its output, unchanged)
            made = read_json(path + ".meta.json")
            if made and made.get("size") == os.path.getsize(path):
                check_vocab(path, made, vocab)
        cache = path + ".cache"
        stat = os.stat(path)
        stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "version": 2}
        info = read_json(os.path.join(cache, "meta.json"))
        if info and info.get("stamp") == stamp:
            arrays = {k: np.load(os.path.join(cache, k + ".npy"), mmap_mode="r") for k in self.ARRAYS}
        else:
            arrays, info = self.parse(path), {"stamp": stamp}
            self.validate(path, arrays)
            info["max_len"] = int(np.diff(arrays["offsets"]).max())
            info["max_token"] = int(arrays["tokens"].max(initial=0))
            info["max_label"] = int(arrays["mask_label"].max(initial=0))
            self.save_cache(cache, arrays, info)
        if max_len and info["max_len"] > max_len:
            lens = np.diff(arrays["offsets"])
            line = int(np.argmax(lens > max_len)) + 1
            raise UserError(f"{path}:{line}: sequence of {lens[line - 1]} tokens is longer than the model's "
                            f"n_enc_seq={max_len} (remake the data with a smaller --n_seq)")
        self.tokens, self.offsets, self.tgt_offsets = arrays["tokens"], arrays["offsets"], arrays["tgt_offsets"]
        self.targets = {k: arrays[k] for k in self.FIELDS}
        self.max_token = max(info["max_token"], info["max_label"])  # the largest id the vocab must hold

    def parse(self, path):
        """JSON lines → compact arrays; array.array grows in place, with no Python int per token."""
        cols = {k: array.array("i") for k in ("tokens",) + self.FIELDS}
        lens, n_tgt = array.array("q", [0]), array.array("q", [0])
        with open(path, "rb") as f:  # json.loads decodes each line: a line that is not UTF-8 is named
            for line_no, line in enumerate(f, 1):
                try:
                    rec = json.loads(line)
                    seq, targets = rec["tokens"], [rec[k] for k in self.FIELDS]
                    if len({len(c) for c in targets}) != 1:
                        raise ValueError("target lists have different lengths")
                    cols["tokens"].extend(seq)
                    for k, c in zip(self.FIELDS, targets):
                        cols[k].extend(c)
                except (ValueError, KeyError, TypeError, OverflowError) as e:
                    raise UserError(f"{path}:{line_no}: not a span-masked JSON line ({e.__class__.__name__}: {e})")
                lens.append(lens[-1] + len(seq))
                n_tgt.append(n_tgt[-1] + len(targets[0]))
        if len(lens) == 1:
            raise UserError(f"{path}: file has no sequences")
        arrays = {k: np.frombuffer(v, dtype=np.int32) for k, v in cols.items()}
        arrays["offsets"], arrays["tgt_offsets"] = np.frombuffer(lens, dtype=np.int64), np.frombuffer(n_tgt, dtype=np.int64)
        return arrays

    @staticmethod
    def validate(path, a):
        """Every target inside its sequence, left boundary < target < right boundary, no negative id: a
        bad record would otherwise train silently (or crash mid-run). Names the first bad line."""
        lens = np.diff(a["offsets"])
        if (lens < 1).any():
            raise UserError(f"{path}:{int(np.argmax(lens < 1)) + 1}: empty sequence (no tokens)")
        if (a["tokens"] < 0).any():
            row = int(np.searchsorted(a["offsets"], np.argmax(a["tokens"] < 0), "right")) - 1
            raise UserError(f"{path}:{row + 1}: negative token id")
        row_len = np.repeat(lens, np.diff(a["tgt_offsets"]))  # each target's sequence length
        idx, left, right = a["mask_idx"], a["span_left"], a["span_right"]
        bad = ((left < 0) | (left >= idx) | (right <= idx) | (right >= row_len) | (a["span_pos"] < 0)
               | (a["mask_label"] < 0))
        if bad.any():
            i = int(np.argmax(bad))
            row = int(np.searchsorted(a["tgt_offsets"], i, "right")) - 1
            raise UserError(f"{path}:{row + 1}: target {i - int(a['tgt_offsets'][row])} (position {idx[i]}, span_left "
                            f"{left[i]}, span_right {right[i]}, span_pos {a['span_pos'][i]}, label {a['mask_label'][i]}) "
                            f"breaks 0 <= span_left < position < span_right < {row_len[i]} (the sequence's length), "
                            "or a negative field")

    @staticmethod
    def save_cache(cache, arrays, info):
        """Best effort (a read-only folder just means parsing again next time); the folder appears
        complete or not at all."""
        try:
            tmp = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(cache)), prefix=".spancache")
            for k, v in arrays.items():
                np.save(os.path.join(tmp, k + ".npy"), v)
            with open(os.path.join(tmp, "meta.json"), "w") as f:
                json.dump(info, f)
            shutil.rmtree(cache, ignore_errors=True)
            os.replace(tmp, cache)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)

    def __len__(self):
        return len(self.offsets) - 1

    def batch(self, rows):
        """Pad the given sequences to the longest; targets are flattened with their row index.
        numpy int64 arrays (data.py never imports torch, so its worker processes stay small)."""
        lens = self.offsets[rows + 1] - self.offsets[rows]
        tokens = np.full((len(rows), lens.max()), PAD, dtype=np.int64)
        cols = {k: [] for k in ("row",) + self.FIELDS}
        for i, r in enumerate(rows):
            tokens[i, :lens[i]] = self.tokens[self.offsets[r]:self.offsets[r + 1]]
            a, b = self.tgt_offsets[r], self.tgt_offsets[r + 1]
            cols["row"].append(np.full(b - a, i))
            for k in self.FIELDS:
                cols[k].append(self.targets[k][a:b])
        out = {k: np.concatenate(v).astype(np.int64) for k, v in cols.items()}
        out["tokens"] = tokens
        return out


# ---- NSMC ----

def read_nsmc(path):
    """Read an NSMC file (tab-separated id, document, label with CSV quoting, as the official files)
    → (documents, labels). Empty documents are kept as empty strings. A quote that opens a field and
    never closes would merge the following rows into one document: every row must stay on its own
    line, so that is an error naming the line, as are non-UTF-8 bytes and fields of absurd size."""
    require_file(path, "nsmc")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not UTF-8 text ({e.reason})")
    docs, labels = [], []
    csv.field_size_limit(MAX_FIELD)  # a global setting: corpus.py's reader sets its own
    rows = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    try:
        header = next(rows, None)
        if header != ["id", "document", "label"]:
            raise UserError(f"{path}:1: expected the header 'id<TAB>document<TAB>label', got {header!r}")
        last = rows.line_num
        for row in rows:
            line = rows.line_num
            if line != last + 1 or any("\n" in x or "\t" in x for x in row):
                raise UserError(f"{path}:{last + 1}: a quoted field runs over {line - last} lines or takes in a tab "
                                "(an unbalanced \" in a review?); double the quote inside a quoted field, or remove it")
            last = line
            if len(row) != 3:
                raise UserError(f"{path}:{line}: expected 3 tab-separated columns, got {len(row)}")
            if row[2] not in ("0", "1"):
                raise UserError(f"{path}:{line}: label must be 0 or 1, got {row[2][:20]!r}")
            docs.append(row[1])
            labels.append(int(row[2]))
    except csv.Error as e:  # e.g. a field over csv's size limit
        raise UserError(f"{path}:{rows.line_num}: not a readable NSMC line ({e})")
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
    """List of token-id lists → (B, T_max) int64 array padded with [PAD]."""
    out = np.full((len(seqs), max(map(len, seqs))), PAD, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out


def main():
    p = Parser(__doc__)
    p.add_argument("--input", default="data/kowiki.txt", help="plain-text corpus (default: %(default)s)")
    p.add_argument("--output", default="data/kowiki_span.json", help="span-masked JSON lines (default: %(default)s)")
    p.add_argument("--vocab", default="data/kowiki.model", help="SentencePiece model from vocab.py (default: %(default)s)")
    p.add_argument("--n_seq", type=positive(), default=512, help="tokens per sequence incl. [CLS] and [SEP] (default: %(default)s)")
    p.add_argument("--mask_prob", type=float, default=0.15, help="fraction of tokens to mask (default: %(default)s)")
    p.add_argument("--allow_unmasked", action="store_true",
                   help="let a sequence get no span, so short sequences mask --mask_prob of their tokens on "
                        "average (default: at least one span each, which masks more in short sequences)")
    p.add_argument("--masking", choices=("span", "word", "subword"), default="span",
                   help="what is masked: geometric spans of whole words (SpanBERT), whole words drawn one by one, or "
                        "single tokens (BERT); the same budget and JSON schema for all (default: %(default)s)")
    p.add_argument("--span_dist", choices=("geometric", "harmonic"), default="geometric",
                   help="span length distribution: the paper's geometric, or the original repo's 1/length (default: %(default)s)")
    p.add_argument("--geometric_p", type=float, default=0.2, help="p of the geometric distribution (default: %(default)s)")
    p.add_argument("--max_span", type=positive(), default=10, help="longest span in words (default: %(default)s)")
    p.add_argument("--dupe", type=positive(), default=3,
                   help="differently masked copies of each sequence: one pretraining epoch then sees every "
                        "sequence N times, each with a fresh mask, as SpanBERT masks anew each pass (default: %(default)s)")
    p.add_argument("--max_docs", type=int, default=0, help="stop after this many documents, 0 = all (default: %(default)s)")
    p.add_argument("--seed", type=int, default=42, help="masking seed (default: %(default)s)")
    p.add_argument("--format", choices=("auto", "text", "csv", "wikiextractor"), default="auto",
                   help="corpus format: plain text (.gz/.bz2 too), the original kowiki.csv, or a WikiExtractor "
                        "folder; auto = by file name (default: %(default)s)")
    p.add_argument("--workers", type=positive(), default=os.cpu_count(),
                   help="processes tokenizing and masking; the output does not depend on it (default: %(default)s)")
    p.add_argument("--download", choices=("nsmc", "korquad", "kowiki"),
                   help="fetch NSMC or KorQuAD 1.0 (checksums verified), or the latest Korean Wikipedia dump "
                        "(extracted to kowiki.txt), into --data_dir, then exit")
    p.add_argument("--data_dir", default="data", help="where --download puts files (default: %(default)s)")
    args = p.parse_args()
    if args.download:
        from corpus import download_korquad, download_kowiki, download_nsmc
        return {"nsmc": download_nsmc, "korquad": download_korquad, "kowiki": download_kowiki}[args.download](args.data_dir)
    if not 0 < args.mask_prob < 1:
        raise UserError(f"--mask_prob {args.mask_prob}: must be between 0 and 1")
    if not 0 < args.geometric_p <= 1:
        raise UserError(f"--geometric_p {args.geometric_p}: must be in (0, 1]")
    if args.n_seq < 3:
        raise UserError(f"--n_seq {args.n_seq}: must leave room for [CLS], [SEP] and one token")
    if not os.path.isdir(args.input):
        require_file(args.input, "kowiki")
    with output_lock(args.output):  # one writer per output; removes the .tmp a killed run left
        make_span_data(args)


if __name__ == "__main__":
    run_main(main)
