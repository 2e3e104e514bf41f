"""Corpus input for vocab.py and data.py: read documents from any supported format as a stream,
download NSMC, KorQuAD and Korean Wikipedia, and write a corpus without the articles a test set uses.

    python corpus.py --input data/kowiki.txt --exclude data/KorQuAD_v1.0_dev.json \
        --output data/kowiki_noqa.txt --heldout 1000 --heldout_output data/kowiki_heldout.txt

Formats (detected, or --format): plain text, one paragraph per line and a blank line between
documents, optionally .gz or .bz2 compressed; the original repo's kowiki.csv (id,url,title,text
separated by U+241D); a WikiExtractor output folder (AA/wiki_00 … with <doc …> … </doc> blocks).
"""
import bz2
import collections
import contextlib
import csv
import gzip
import hashlib
import html
import json
import os
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import numpy as np

from cli import atomic_open, ensure_folder, Parser, require_file, run_main, UserError

MAX_LINE = 100_000        # characters: longer "lines" are binary junk or a broken file; skipped
MAX_DOC = 1_000_000       # characters: a longer document (say, a corpus without blank lines) is cut
NSMC_SHA256 = {  # the official e9t/nsmc files (../shared/data/nsmc/SHA256SUMS)
    "ratings_train.txt": "e03b7d14e9e41be8d464a28057cd25d7396c53e67aa7fd5f7e552c59b0ee2940",
    "ratings_test.txt": "8ac9f64052f11dbf6ae0acb5e038f03d90a76f0eda7820cfb3a92d02edfcebda",
}
NSMC_URL = "https://raw.githubusercontent.com/e9t/nsmc/master/"
KOWIKI_URL = "https://dumps.wikimedia.org/kowiki/latest/kowiki-latest-pages-articles.xml.bz2"
KORQUAD_URL = "https://korquad.github.io/dataset/"
KORQUAD = {  # file → (SHA-256, or None; git blob id: SHA-1 of b"blob <size>\0" + bytes, as the site's repository has it)
    "KorQuAD_v1.0_train.json": (None, "82e3c5939e5e61a1c4ae94e42676800e88ec52a6"),
    "KorQuAD_v1.0_dev.json": ("25ffeb51e6c51ec02c071b60a10188e10005c144110f0d876b26079d80a35bdf", None),
}


def new_stats():
    """Counters of what reading skipped or cut, for the summary line."""
    return {"lines": 0, "undecodable": 0, "too_long": 0, "cut_docs": 0, "first_bad": None}


def check_decodable(path, stats):
    """A corpus that is mostly not UTF-8 (a binary file, another encoding) is an error, not a tiny run."""
    if stats["undecodable"] > max(10, stats["lines"] // 2):
        raise UserError(f"{path}: {stats['undecodable']:,} of {stats['lines']:,} lines are not UTF-8 text (first: "
                        f"{stats['first_bad']}); is it a binary file or in another encoding?")


def text_lines(path, stats):
    """Yield the lines of a (possibly .gz/.bz2) UTF-8 file without their newline. A line that does
    not decode, or is absurdly long, is skipped and counted with its position (file:line)."""
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(os.path.splitext(path)[1], open)
    try:
        with opener(path, "rb") as f:
            for line_no, raw in enumerate(f, 1):
                stats["lines"] += 1
                try:
                    line = raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    stats["undecodable"] += 1
                    stats["first_bad"] = stats["first_bad"] or f"{path}:{line_no}"
                    continue
                if len(line) > MAX_LINE:
                    stats["too_long"] += 1
                    stats["first_bad"] = stats["first_bad"] or f"{path}:{line_no}"
                    continue
                yield line
    except (OSError, EOFError) as e:  # e.g. a truncated .gz, or not gzip data at all
        raise UserError(f"{path}: cannot read ({e})")


def detect_format(path):
    if os.path.isdir(path):
        return "wikiextractor"
    return "csv" if path.endswith(".csv") else "text"


def read_documents(path, fmt="auto", stats=None):
    """Yield documents as lists of non-empty, stripped lines (title first where the format has one)."""
    stats = stats if stats is not None else new_stats()
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "text":
        docs = _blank_line_docs(text_lines(path, stats))
    elif fmt == "csv":
        docs = _csv_docs(path, stats)
    elif fmt == "wikiextractor":
        docs = _wikiextractor_docs(path, stats)
    else:
        raise ValueError(f"unknown corpus format {fmt!r}")
    for doc in docs:
        yield from _cut(doc, stats)


def _blank_line_docs(lines):
    doc = []
    for line in lines:
        line = line.strip()
        if line:
            doc.append(line)
        elif doc:
            yield doc
            doc = []
    if doc:
        yield doc


def _csv_docs(path, stats):
    """The original repo's crawler output: columns id,url,title,text separated by U+241D."""
    csv.field_size_limit(MAX_DOC)
    rows = csv.reader((line + "\n" for line in text_lines(path, stats)), delimiter="\u241d")
    header = next(rows, None)
    if not header or [h.strip() for h in header[:4]] != ["id", "url", "title", "text"]:
        raise UserError(f"{path}:1: expected the kowiki.csv header id,url,title,text (separated by U+241D)")
    for row in rows:
        if len(row) >= 4:
            yield [x.strip() for x in [row[2]] + row[3].split("\n") if x.strip()]


def _wikiextractor_docs(folder, stats):
    """<doc id=… url=… title=…> title, paragraphs </doc>, in files AA/wiki_00 … (maybe compressed)."""
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f.startswith("wiki_"))
    if not files:
        raise UserError(f"{folder}: no WikiExtractor files (AA/wiki_00, …) in this folder")
    for path in files:
        doc = None
        for line in text_lines(path, stats):
            if line.startswith("<doc "):
                doc = []
            elif line.startswith("</doc>"):
                if doc:
                    yield doc
                doc = None
            elif doc is not None and line.strip():
                doc.append(line.strip())


def _cut(doc, stats):
    """Yield the document, cut into pieces of at most MAX_DOC characters (memory stays flat even
    for a corpus without a single blank line)."""
    if sum(map(len, doc)) <= MAX_DOC:
        yield doc
        return
    stats["cut_docs"] += 1
    piece, size = [], 0
    for line in doc:
        if piece and size + len(line) > MAX_DOC:
            yield piece
            piece, size = [], 0
        piece.append(line)
        size += len(line)
    yield piece


def describe_skips(stats):
    """The summary's note on skipped or cut input, or ''."""
    notes = []
    if stats["undecodable"]:
        notes.append(f"{stats['undecodable']:,} undecodable lines skipped")
    if stats["too_long"]:
        notes.append(f"{stats['too_long']:,} lines over {MAX_LINE:,} characters skipped")
    if stats["cut_docs"]:
        notes.append(f"{stats['cut_docs']:,} documents over {MAX_DOC:,} characters cut into pieces")
    if stats["first_bad"]:
        notes.append(f"first skipped line: {stats['first_bad']}")
    return "; ".join(notes)


# ---- a corpus without a test set's articles ----

def normalize_title(title):
    """KorQuAD writes titles with underscores (MediaWiki URLs), kowiki.txt with spaces."""
    return " ".join(title.replace("_", " ").split())


def squad_articles(path):
    """(normalized titles, paragraph contexts) of a SQuAD-format JSON file such as KorQuAD 1.0."""
    require_file(path, "korquad")
    try:
        with open(path, encoding="utf-8") as f:
            articles = json.load(f)["data"]
        return ({normalize_title(a["title"]) for a in articles},
                [p["context"] for a in articles for p in a["paragraphs"]])
    except (ValueError, KeyError, TypeError) as e:  # UnicodeDecodeError is a ValueError
        raise UserError(f"{path}: not a SQuAD-format JSON file with data[].title and paragraphs[].context "
                        f"({e.__class__.__name__})")


class Passages:
    """Every PASSAGE-character window of some texts, as 64-bit rolling hashes: does a document
    share a passage with them? Finds text an article quotes from another (the same paragraph under
    another title, an election result copied into a party's article) that a title match misses."""
    LEN, BASE = 40, 1000003

    def __init__(self, texts):
        self.hashes = np.unique(np.concatenate([self.windows(t) for t in texts] + [np.zeros(0, np.uint64)]))

    @classmethod
    def windows(cls, text):
        """h_i = sum_k c[i+k] B^k (mod 2^64) for each window, from prefix sums: O(len(text))."""
        c = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        if len(c) < cls.LEN:
            return np.zeros(0, np.uint64)
        with np.errstate(over="ignore"):  # arithmetic mod 2^64 is the point
            power = np.cumprod(np.r_[1, np.full(len(c), cls.BASE)].astype(np.uint64), dtype=np.uint64)
            inverse = np.cumprod(np.r_[1, np.full(len(c) - cls.LEN, pow(cls.BASE, -1, 1 << 64))].astype(np.uint64),
                                 dtype=np.uint64)
            prefix = np.r_[np.uint64(0), np.cumsum(c * power[:-1], dtype=np.uint64)]
            return (prefix[cls.LEN:] - prefix[:-cls.LEN]) * inverse

    def shared(self, text):
        """How many of the text's windows are among the passages."""
        h = self.windows(text)
        i = np.minimum(np.searchsorted(self.hashes, h), len(self.hashes) - 1)
        return int((self.hashes[i] == h).sum()) if len(self.hashes) else 0


def write_without(path, titles, passages, out, heldout=0, heldout_out=None, fmt="auto"):
    """Copy the corpus as plain text (title line, paragraphs, blank line), leaving out every document
    whose title (first line) is in `titles` or that shares a passage with `passages`; the last
    `heldout` kept documents go to heldout_out instead, text that pretraining never sees.
    Returns (documents written, held out, dropped by title, dropped by passage)."""
    by_title = by_passage = n_main = 0
    kept, stats = collections.deque(), new_stats()
    with atomic_open(out) as w, (atomic_open(heldout_out) if heldout else contextlib.nullcontext()) as h:
        for doc in read_documents(path, fmt, stats):
            if normalize_title(doc[0]) in titles:
                by_title += 1
                continue
            if passages.shared("\n".join(doc)):
                by_passage += 1
                continue
            kept.append(doc)
            if len(kept) > heldout:  # only a window of the last `heldout` documents stays in memory
                w.write("\n".join(kept.popleft()) + "\n\n")
                n_main += 1
        if n_main == 0:
            raise UserError(f"{path}: no documents left for {out} (the corpus has {len(kept) + by_title + by_passage})")
        for doc in kept:
            h.write("\n".join(doc) + "\n\n")
    return n_main, len(kept), by_title, by_passage


# ---- downloads ----

def download(url, path, sha256=None, git_blob=None):
    """Fetch url to path with a progress bar. The bytes go to path + '.part' first, so an
    interrupted download resumes where it stopped; the file gets its name only when complete
    (and, given sha256 or a git blob id, verified)."""
    from tqdm import tqdm
    ensure_folder(path)
    part = path + ".part"
    have = os.path.getsize(part) if os.path.exists(part) else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to fetch: the .part file is complete
            response = None
        else:
            raise UserError(f"{url}: download failed (HTTP {e.code} {e.reason})")
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise UserError(f"{url}: cannot reach {urllib.request.urlparse(url).netloc} (offline? {reason}); "
                        f"download it elsewhere and put it at {path}")
    if response is not None:
        with response:
            if have and response.status != 206:  # the server ignored the range: start over
                have = 0
            total = int(response.headers.get("Content-Length") or 0) + have
            with open(part, "ab" if have else "wb") as f, tqdm(total=total or None, initial=have, unit="B",
                                                               unit_scale=True, desc=os.path.basename(path)) as bar:
                while chunk := response.read(1 << 20):
                    f.write(chunk)
                    bar.update(len(chunk))
    for expected, digest in ((sha256, _sha256), (git_blob, _git_blob)):
        if expected and digest(part) != expected:
            got = digest(part)
            os.remove(part)
            raise UserError(f"{url}: checksum mismatch (got {got[:16]}…, expected {expected[:16]}…); "
                            "the partial file was removed, try again")
    os.replace(part, path)
    return path


def download_nsmc(folder):
    for name, sha in NSMC_SHA256.items():
        path = os.path.join(folder, name)
        if os.path.exists(path) and _sha256(path) == sha:
            print(f"{path}: already there, checksum ok")
            continue
        download(NSMC_URL + name, path, sha)
        print(f"{path}: downloaded, checksum ok")


def download_korquad(folder, url=KORQUAD_URL):
    """KorQuAD 1.0 (LG CNS, CC BY-ND 2.0 KR: use the files unmodified): train and dev, verified."""
    for name, (sha, blob) in KORQUAD.items():
        path = os.path.join(folder, name)
        if os.path.exists(path) and (_sha256(path) == sha if sha else _git_blob(path) == blob):
            print(f"{path}: already there, checksum ok")
            continue
        download(url + name, path, sha, blob)
        print(f"{path}: downloaded, checksum ok")


def download_kowiki(folder, url=KOWIKI_URL):
    dump = download(url, os.path.join(folder, os.path.basename(url)))
    out = os.path.join(folder, "kowiki.txt")
    n = extract_wiki_dump(dump, out)
    print(f"wrote {out}: {n:,} articles")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _git_blob(path):
    """git's object id of a file: SHA-1 of b"blob <size>\0" followed by its bytes."""
    digest = hashlib.sha1(b"blob %d\0" % os.path.getsize(path))
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---- Wikipedia dump → plain text ----

def extract_wiki_dump(dump, out):
    """Stream a pages-articles .xml.bz2 dump into the plain-text format: for every article (main
    namespace, not a redirect) its title, then one paragraph per line, then a blank line."""
    from tqdm import tqdm
    n = 0
    try:
        with bz2.open(dump, "rb") as f, atomic_open(out) as w, tqdm(unit=" articles", desc="extracting") as bar:
            title = ns = text = None
            redirect = False
            for event, el in ET.iterparse(f, events=("end",)):
                tag = el.tag.rsplit("}", 1)[-1]
                if tag == "title":
                    title = el.text
                elif tag == "ns":
                    ns = el.text
                elif tag == "redirect":
                    redirect = True
                elif tag == "text":
                    text = el.text or ""
                elif tag == "page":
                    if ns == "0" and not redirect and title:
                        paragraphs = wikitext_paragraphs(text)
                        if paragraphs:
                            w.write("\n".join([title] + paragraphs) + "\n\n")
                            n += 1
                            bar.update()
                    title = ns = text = None
                    redirect = False
                    el.clear()  # keep memory flat on a multi-GB dump
    except (ET.ParseError, OSError, EOFError) as e:
        raise UserError(f"{dump}: not a readable .xml.bz2 Wikipedia dump ({e})")
    return n


_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_TABLE = re.compile(r"\{\|.*?\|\}", re.S)
_DROP_LINK = re.compile(r"\[\[(?:파일|그림|File|Image|분류|Category):[^\[\]]*(?:\[\[[^\[\]]*\]\][^\[\]]*)*\]\]", re.I)
_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
_EXT_LINK = re.compile(r"\[(?:https?|ftp)://[^\s\]]+\s*([^\]]*)\]")
_REF = re.compile(r"<ref[^>/]*/>|<ref[^>]*>.*?</ref>", re.S | re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_HEADING = re.compile(r"^(=+)\s*(.*?)\s*\1\s*$")


def wikitext_paragraphs(text):
    """A small wikitext → paragraphs cleaner: drops templates, tables, references, files and
    categories; keeps link labels; headings become lines ending in '.' (as in the shared sample)."""
    text = _COMMENT.sub("", text)
    text = _REF.sub("", text)
    for pattern in (_TEMPLATE, _TABLE):
        while True:  # innermost first, until nested ones are gone
            text, n = pattern.subn("", text)
            if not n:
                break
    text = _DROP_LINK.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _EXT_LINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("'''", "").replace("''", "")
    paragraphs = []
    for line in text.split("\n"):
        line = line.strip()
        heading = _HEADING.match(line)
        if heading:
            line = heading.group(2).strip() + "." if heading.group(2).strip() else ""
        else:
            line = line.lstrip("*#:;").strip()
        if line and not line.startswith(("{|", "|", "!", "__")):
            paragraphs.append(re.sub(r"\s+", " ", line))
    return paragraphs


def main():
    p = Parser(__doc__)
    p.add_argument("--input", default="data/kowiki.txt", help="corpus, any format vocab.py reads (default: %(default)s)")
    p.add_argument("--exclude", nargs="+", required=True, metavar="JSON",
                   help="SQuAD-format files (KorQuAD): an article with the title of one of theirs, or sharing a "
                        "40-character passage with one of their paragraphs, is left out")
    p.add_argument("--output", required=True, help="the corpus without those articles, as plain text")
    p.add_argument("--heldout", type=int, default=0, help="the last N remaining articles go to --heldout_output instead")
    p.add_argument("--heldout_output", help="plain text of the held-out articles (for pretrain.py --eval)")
    p.add_argument("--format", choices=("auto", "text", "csv", "wikiextractor"), default="auto",
                   help="corpus format, as in vocab.py (default: %(default)s)")
    args = p.parse_args()
    if args.heldout < 0 or bool(args.heldout) != bool(args.heldout_output):
        raise UserError("--heldout N (N > 0) and --heldout_output go together")
    if not os.path.isdir(args.input):
        require_file(args.input, "kowiki")
    titles, contexts = set(), []
    for path in args.exclude:
        t, c = squad_articles(path)
        titles |= t
        contexts += c
    n, held, by_title, by_passage = write_without(args.input, titles, Passages(contexts), args.output, args.heldout,
                                                  args.heldout_output, args.format)
    print(f"wrote {args.output}: {n:,} articles" + (f", {args.heldout_output}: {held:,}" if held else "")
          + f"; left out {by_title:,} articles with the title of one of the {len(titles):,} in {', '.join(args.exclude)} "
          f"and {by_passage:,} more that share a {Passages.LEN}-character passage with one of their {len(contexts):,} "
          "paragraphs")


if __name__ == "__main__":
    run_main(main)
