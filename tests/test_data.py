"""Corpus reading, packing, the span-JSON loader, NSMC parsing and length batching."""
import json

import numpy as np
import pytest

from cli import UserError
from conftest import NSMC_TEST, NSMC_TRAIN, needs_data
from corpus import read_documents
from data import PAD, SpanData, length_batches, pack, pad_batch, read_nsmc


@needs_data
def test_read_nsmc_real_files():
    """Counts from the official release: rows, labels, empty and quoted documents."""
    docs, labels = read_nsmc(NSMC_TRAIN)
    assert len(docs) == 150_000 and np.bincount(labels).tolist() == [75_173, 74_827]
    assert sum(d == "" for d in docs) == 5
    assert sum('"' in d for d in docs) == 623   # CSV-quoted fields come back unquoted
    docs, labels = read_nsmc(NSMC_TEST)
    assert len(docs) == 50_000 and np.bincount(labels).tolist() == [24_827, 25_173]
    assert sum(d == "" for d in docs) == 3 and sum('"' in d for d in docs) == 233


def test_read_nsmc_quoting_and_errors(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text('id\tdocument\tlabel\n1\t"say ""hi"" now"\t1\n2\t\t0\n', encoding="utf-8")
    docs, labels = read_nsmc(str(f))
    assert docs == ['say "hi" now', ""] and labels.tolist() == [1, 0]
    for body, message in [("1\tgood\t1\n2\tbad\n", r"r.txt:3: expected 3 tab-separated columns, got 2"),
                          ("1\tgood\t5\n", r"r.txt:2: label must be 0 or 1, got '5'"),
                          ("", "no reviews after the header")]:
        f.write_text("id\tdocument\tlabel\n" + body, encoding="utf-8")
        with pytest.raises(UserError, match=message):
            read_nsmc(str(f))
    f.write_text("a,b,c\n1,x,0\n")
    with pytest.raises(UserError, match="r.txt:1: expected the header"):
        read_nsmc(str(f))
    with pytest.raises(UserError, match="file not found; get it with `python data.py --download nsmc`"):
        read_nsmc(str(tmp_path / "missing.txt"))


def test_read_documents_blank_line_separated(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("title a\npara 1\n  \npara 2\n\n\ntitle b\nx\n", encoding="utf-8")
    assert list(read_documents(str(f))) == [["title a", "para 1"], ["para 2"], ["title b", "x"]]


def test_pack_keeps_every_token_in_order():
    rng = np.random.default_rng(0)
    lines = [list(rng.integers(7, 100, size=n)) for n in [3, 10, 2, 25, 1, 8]]
    chunks = list(pack(lines, 10))
    assert all(0 < len(c) <= 10 for c in chunks)
    assert sum(chunks, []) == sum(lines, [])
    assert chunks[0] == lines[0]            # 3 + 10 > 10: the second line starts a new chunk
    assert chunks[1] == lines[1]


def test_span_data_loader(tmp_path):
    f = tmp_path / "s.json"
    recs = [{"tokens": [5, 6, 6, 20, 4], "mask_idx": [1, 2], "mask_label": [30, 31], "span_left": [0, 0],
             "span_right": [3, 3], "span_pos": [0, 1]},
            {"tokens": [5, 21, 6, 4], "mask_idx": [2], "mask_label": [40], "span_left": [1], "span_right": [3],
             "span_pos": [0]}]
    f.write_text("".join(json.dumps(r) + "\n" for r in recs))
    data = SpanData(str(f))
    assert len(data) == 2 and data.tokens.dtype == np.int32
    b = data.batch(np.array([1, 0]))
    assert b["tokens"].tolist() == [[5, 21, 6, 4, PAD], [5, 6, 6, 20, 4]]
    assert b["row"].tolist() == [0, 1, 1] and b["mask_idx"].tolist() == [2, 1, 2]
    assert b["mask_label"].tolist() == [40, 30, 31] and b["span_right"].tolist() == [3, 3, 3]
    assert b["tokens"][b["row"], b["mask_idx"]].tolist() == [6, 6, 6]
    with pytest.raises(UserError, match="longer than the model's n_enc_seq=4"):
        SpanData(str(f), max_len=4)
    f.write_text(json.dumps(recs[0]) + "\n{not json\n")
    with pytest.raises(UserError, match=r"s.json:2: not a span-masked JSON line"):
        SpanData(str(f))


def test_length_batches_cover_everything_once_with_little_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 100, size=1000)
    batches = length_batches(lengths, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    pad = sum(len(b) * lengths[b].max() - lengths[b].sum() for b in batches)
    naive = sum(len(b) * lengths[b].max() - lengths[b].sum() for b in np.array_split(rng.permutation(1000), 32))
    assert pad < 0.2 * naive
    evals = length_batches(lengths, 32)
    assert np.all(np.diff(lengths[np.concatenate(evals)]) >= 0)


def test_pad_batch():
    assert pad_batch([[5, 7, 4], [5, 4]]).tolist() == [[5, 7, 4], [5, 4, PAD]]
    assert pad_batch([[5, 4]]).dtype == np.int64
