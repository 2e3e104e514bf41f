"""Masking invariants, checked against hand-computed references and independent simulations
(no files needed): SpanBERT's geometric spans, whole words and BERT's single tokens."""
import random

import numpy as np
import pytest

from data import CLS, MASK, N_SPECIAL, SEP, span_length_probs, span_mask, subword_mask, word_mask

V = 8007


def make_sequence(rng, n_words, max_pieces=3):
    """[CLS] + words of 1..max_pieces tokens + [SEP]; word_start marks each word's first token."""
    pieces = rng.integers(1, max_pieces + 1, size=n_words)
    tokens = [CLS] + list(rng.integers(N_SPECIAL, V, size=int(pieces.sum()))) + [SEP]
    start = [False] + [i == 0 for p in pieces for i in range(p)] + [False]
    return np.array(tokens), np.array(start)


def spans_of(t):
    """Group targets into spans: {(left, right): [positions]}."""
    spans = {}
    for i, l, r in zip(t["idx"], t["left"], t["right"]):
        spans.setdefault((int(l), int(r)), []).append(int(i))
    return spans


def masked_many(n_seq=300, n_words=120, seed=0, **kw):
    rng = np.random.default_rng(seed)
    probs = span_length_probs(kw.pop("dist", "geometric"))
    for _ in range(n_seq):
        tokens, start = make_sequence(rng, n_words)
        out, t = span_mask(tokens, start, rng, probs, vocab_size=V, **kw)
        yield tokens, start, np.array(out), {k: np.array(v, dtype=np.int64) for k, v in t.items()}


def test_length_probs_match_formulas():
    lens = np.arange(1, 11)
    geo = 0.2 * 0.8 ** (lens - 1)
    assert np.allclose(span_length_probs("geometric"), geo / geo.sum())
    # the paper's mean span length for Geo(0.2) clipped at 10: 3.8 words
    assert abs((lens * span_length_probs("geometric")).sum() - 3.8) < 0.05
    harm = 1 / lens
    assert np.allclose(span_length_probs("harmonic"), harm / harm.sum())


def test_structural_invariants():
    for tokens, start, out, t in masked_many():
        n = len(tokens)
        idx = t["idx"]
        assert len(idx) > 0 and np.all(np.diff(idx) > 0)       # sorted, no position twice
        assert idx.min() >= 1 and idx.max() <= n - 2          # never [CLS] / [SEP]
        assert np.array_equal(t["label"], tokens[idx])        # labels are the original tokens
        keep = np.setdiff1d(np.arange(n), idx)
        assert np.array_equal(out[keep], tokens[keep])        # nothing else changed
        masked = set(idx.tolist())
        for (l, r), pos in spans_of(t).items():
            assert pos == list(range(l + 1, r))               # contiguous, boundaries just outside
            assert 0 <= l and r <= n - 1                      # both boundaries inside the sequence
            assert l not in masked and r not in masked        # boundaries unmasked: no overlap or touching
            assert start[l + 1]                               # starts at a word start
            assert r == n - 1 or start[r]                     # ends at a word end
        for (l, r), pos in spans_of(t).items():
            assert list(t["pos"][np.isin(idx, pos)]) == list(range(len(pos)))


def test_mask_ratio_within_one_span_and_unbiased():
    ratios = []
    for tokens, start, out, t in masked_many(n_seq=400):
        real = len(tokens) - 2
        budget = round(0.15 * real)
        longest = max(len(p) for p in spans_of(t).values())
        n = len(t["idx"])
        assert n - budget < longest              # overshoot: less than the last span
        assert budget - n < 10 * 3               # undershoot: less than the longest possible span
        ratios.append(n / real)
    assert abs(np.mean(ratios) - 0.15) < 0.004   # overshoots and undershoots cancel on average


def test_80_10_10_per_span():
    kinds = {"mask": 0, "random": 0, "same": 0}
    for tokens, start, out, t in masked_many(n_seq=400, seed=1):
        for (l, r), pos in spans_of(t).items():
            new, old = out[pos], tokens[pos]
            if np.all(new == MASK):
                kinds["mask"] += 1
            elif np.array_equal(new, old):
                kinds["same"] += 1
            else:
                assert not np.any(new == MASK), "one decision per span: no mixed spans"
                assert np.all(new >= N_SPECIAL), "random replacements are never special tokens"
                kinds["random"] += 1
    total = sum(kinds.values())
    for kind, p in (("mask", 0.8), ("random", 0.1), ("same", 0.1)):
        sigma = np.sqrt(p * (1 - p) / total)
        assert abs(kinds[kind] / total - p) < 4 * sigma, (kinds, total)


@pytest.mark.parametrize("dist", ["geometric", "harmonic"])
def test_span_length_histogram(dist):
    # long sequences, so the length-preserving choice of spans rarely runs out of room
    counts = np.zeros(11)
    lens = np.arange(1, 11)
    expected = (0.2 * 0.8 ** (lens - 1)) if dist == "geometric" else 1 / lens
    expected = expected / expected.sum()
    for tokens, start, out, t in masked_many(n_seq=150, n_words=1500, seed=2, dist=dist):
        for (l, r), pos in spans_of(t).items():
            counts[int(start[l + 1:r].sum())] += 1     # span length in words
    assert counts[0] == 0
    hist = counts[1:] / counts.sum()
    n = counts.sum()
    assert n > 5000
    tol = 4 * np.sqrt(expected * (1 - expected) / n) + 0.003
    assert np.all(np.abs(hist - expected) < tol), (hist.round(4), expected.round(4))


def test_deterministic_by_seed():
    rng0 = np.random.default_rng(5)
    tokens, start = make_sequence(rng0, 200)
    probs = span_length_probs()
    a = span_mask(tokens, start, np.random.default_rng(7), probs)
    b = span_mask(tokens, start, np.random.default_rng(7), probs)
    c = span_mask(tokens, start, np.random.default_rng(8), probs)
    assert a == b and a[1]["idx"] != c[1]["idx"]


def test_short_sequence_and_chunk_cut_mid_word():
    probs = span_length_probs()
    # [CLS] a b c [SEP], the chunk cut inside a word: words are [1] and [2, 3]
    tokens = np.array([CLS, 100, 101, 102, SEP])
    start = np.array([False, False, True, False, False])
    seen = set()
    for seed in range(100):
        out, t = span_mask(tokens, start, np.random.default_rng(seed), probs)
        seen.add(tuple(t["idx"]))
        assert out[0] == CLS and out[-1] == SEP
    # a short sequence always gets a span (whole words only), never an empty target list
    assert seen == {(1,), (2, 3), (1, 2, 3)}


def test_spans_are_placed_evenly_along_the_sequence():
    """Positions are uniform over where a span fits: every third of a long sequence is masked alike."""
    thirds = np.zeros(3)
    for tokens, start, out, t in masked_many(n_seq=100, n_words=600, seed=3):
        thirds += np.bincount(t["idx"] * 3 // len(tokens), minlength=3)
    share = thirds / thirds.sum()
    assert np.all(np.abs(share - 1 / 3) < 0.02), share


@pytest.mark.parametrize("n_words", [7, 14])
def test_allow_unmasked_keeps_the_share_in_short_sequences(n_words):
    """About 14 and 28 tokens: the one-span minimum masks well over 15%; allow_unmasked gives 15% on average."""
    def ratios(**kw):
        return np.array([len(t["idx"]) / (len(tokens) - 2)
                         for tokens, start, out, t in masked_many(n_seq=3000, n_words=n_words, seed=4, **kw)])
    assert ratios().mean() > 0.2
    r = ratios(allow_unmasked=True)
    assert abs(r.mean() - 0.15) < 4 * r.std() / np.sqrt(len(r)), r.mean()
    assert 0.2 < np.mean(r == 0) < 0.8   # some sequences get no span at all


def test_allow_unmasked_hand_computed_case():
    """[CLS] a b c [SEP], words [1] and [2, 3], budget 0.15 × 3 = 0.45. Lengths 1 and 2 words (Geo(0.2):
    5/9 and 4/9; longer ones are redrawn). One word: either of the two, kept with p = 0.45 / its tokens
    (1 or 2); two words: 3 tokens, kept with p = 0.15. So P(no span) = 5/9 (0.55 + 0.775) / 2 + 4/9 × 0.85
    and the expected number of masked tokens is the budget, 0.45."""
    tokens = np.array([CLS, 100, 101, 102, SEP])
    start = np.array([False, True, True, False, False])
    probs = span_length_probs()
    counts = np.array([len(span_mask(tokens, start, np.random.default_rng(seed), probs, allow_unmasked=True)[1]["idx"])
                       for seed in range(6000)])
    p_empty = 5 / 9 * (0.55 + 0.775) / 2 + 4 / 9 * 0.85
    assert abs(np.mean(counts == 0) - p_empty) < 4 * np.sqrt(p_empty * (1 - p_empty) / len(counts))
    assert abs(counts.mean() - 0.45) < 4 * counts.std() / np.sqrt(len(counts))
    assert set(counts) == {0, 1, 2, 3}


# ---- the paper's baselines at the same budget: whole words and single tokens (BERT) ----

def baseline_masked(scheme, n_seq=3000, n_words=60, seed=11, **kw):
    rng = np.random.default_rng(seed)
    for _ in range(n_seq):
        tokens, start = make_sequence(rng, n_words)
        if scheme == "word":
            out, t = word_mask(tokens, start, rng, vocab_size=V, **kw)
        else:
            out, t = subword_mask(tokens, rng, vocab_size=V, **kw)
        yield tokens, start, np.array(out), {k: np.array(v, dtype=np.int64) for k, v in t.items()}


def run_lengths(positions):
    """Lengths of the maximal runs of consecutive positions."""
    runs, last = [], None
    for p in sorted(positions):
        if last is not None and p == last + 1:
            runs[-1] += 1
        else:
            runs.append(1)
        last = p
    return runs


@pytest.mark.parametrize("scheme", ["word", "subword"])
def test_schema_runs_and_boundaries(scheme):
    """The same targets schema as span masking: each maximal run of masked tokens is a "span" whose
    boundaries are the unmasked tokens just outside it."""
    for tokens, start, out, t in baseline_masked(scheme, n_seq=300):
        n, idx = len(tokens), t["idx"]
        assert len(idx) > 0 and np.all(np.diff(idx) > 0) and idx.min() >= 1 and idx.max() <= n - 2
        assert np.array_equal(t["label"], tokens[idx])
        keep = np.setdiff1d(np.arange(n), idx)
        assert np.array_equal(out[keep], tokens[keep])
        masked = set(idx.tolist())
        for (l, r), pos in spans_of(t).items():
            assert pos == list(range(l + 1, r)) and l not in masked and r not in masked
            assert list(t["pos"][np.isin(idx, pos)]) == list(range(len(pos)))
        if scheme == "word":  # whole words: a masked token's word is masked entirely
            word_of = np.cumsum(start) * (np.arange(n) > 0)
            for w in set(word_of[idx].tolist()):
                assert set(np.flatnonzero(word_of == w)[(np.flatnonzero(word_of == w) < n - 1)].tolist()) <= masked


def test_subword_masks_exactly_the_budget_uniformly_and_runs_match_random_subsets():
    """BERT: round(15%) of the tokens, every position alike; the run lengths are those of a uniformly
    random subset of that size, simulated here with Python's own random.sample."""
    counts, runs, ref_runs, where = [], np.zeros(8), np.zeros(8), np.zeros(3)
    ref = random.Random(0)
    for tokens, start, out, t in baseline_masked("subword"):
        n = len(tokens) - 2
        assert len(t["idx"]) == max(1, round(0.15 * n))
        counts.append(len(t["idx"]) / n)
        for length in run_lengths(t["idx"].tolist()):
            runs[min(length, 7)] += 1
        for length in run_lengths(ref.sample(range(n), len(t["idx"]))):
            ref_runs[min(length, 7)] += 1
        where += np.bincount((t["idx"] - 1) * 3 // n, minlength=3)
    assert abs(np.mean(counts) - 0.15) < 0.005
    assert np.all(np.abs(where / where.sum() - 1 / 3) < 0.01)
    p, q = runs / runs.sum(), ref_runs / ref_runs.sum()
    assert p[1] > 0.7 and np.all(np.abs(p - q) < 4 * np.sqrt(q * (1 - q) / runs.sum()) + 0.002), (p.round(4), q.round(4))


def test_word_masking_budget_and_words_drawn_independently():
    """Whole words to the budget in expectation (an overshooting word kept with p = left/len); which words
    are drawn does not depend on their neighbours: the share of masked words followed by a masked word
    matches the share of masked words among the rest of the sequence."""
    shares, after, total_after, rate = [], 0, 0, []
    for tokens, start, out, t in baseline_masked("word"):
        shares.append(len(t["idx"]) / (len(tokens) - 2))
        word_of = np.cumsum(start)
        words = sorted(set(word_of[t["idx"]].tolist()))
        n_words = word_of[-2]
        chosen = set(words)
        after += sum(w + 1 in chosen for w in words if w < n_words)
        total_after += sum(1 for w in words if w < n_words)
        rate.append((len(words) - 1) / (n_words - 1))
    assert abs(np.mean(shares) - 0.15) < 0.004, np.mean(shares)
    assert abs(after / total_after - np.mean(rate)) < 0.01, (after / total_after, np.mean(rate))


@pytest.mark.parametrize("scheme, unit", [("word", "word"), ("subword", "token")])
def test_80_10_10_per_unit(scheme, unit):
    """One decision per word (word masking) or per token (subword masking)."""
    kinds = {"mask": 0, "random": 0, "same": 0}
    for tokens, start, out, t in baseline_masked(scheme, n_seq=1500, seed=12):
        word_of = np.cumsum(start)
        groups = {}
        for i in t["idx"].tolist():
            groups.setdefault(word_of[i] if unit == "word" else i, []).append(i)
        for pos in groups.values():
            new, old = out[pos], tokens[pos]
            if np.all(new == MASK):
                kinds["mask"] += 1
            elif np.array_equal(new, old):
                kinds["same"] += 1
            else:
                assert not np.any(new == MASK) and np.all(new >= N_SPECIAL)
                kinds["random"] += 1
    total = sum(kinds.values())
    for kind, p in (("mask", 0.8), ("random", 0.1), ("same", 0.1)):
        assert abs(kinds[kind] / total - p) < 4 * np.sqrt(p * (1 - p) / total), (kinds, total)


@pytest.mark.parametrize("scheme, n_words", [("word", 7), ("subword", 3)])
def test_baselines_allow_unmasked_keep_the_expected_share(scheme, n_words):
    """Short sequences (about 14 and 6 tokens): with allow_unmasked the expected masked share is the
    budget, not more, and some sequences get no target."""
    r = np.array([len(t["idx"]) / (len(tokens) - 2)
                  for tokens, start, out, t in baseline_masked(scheme, n_words=n_words, allow_unmasked=True)])
    assert abs(r.mean() - 0.15) < 4 * r.std() / np.sqrt(len(r)) and np.mean(r == 0) > 0.05
