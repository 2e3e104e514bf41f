"""Corpus input for vocab.py and data.py: read documents from any supported format as a stream,
and download NSMC and Korean Wikipedia.

Formats (detected, or --format): plain text, one paragraph per line and a blank line between
documents, optionally .gz or .bz2 compressed; the original repo's kowiki.csv (id,url,title,text
separated by U+241D); a WikiExtractor output folder (AA/wiki_00 … with <doc …> … </doc> blocks).
"""
import bz2
import csv
import gzip
import hashlib
import html
import os
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

from cli import atomic_open, ensure_folder, UserError

MAX_LINE = 100_000        # characters: longer "lines" are binary junk or a broken file; skipped
MAX_DOC = 1_000_000       # characters: a longer document (say, a corpus without blank lines) is cut
NSMC_SHA256 = {  # the official e9t/nsmc files (../shared/data/nsmc/SHA256SUMS)
    "ratings_train.txt": "e03b7d14e9e41be8d464a28057cd25d7396c53e67aa7fd5f7e552c59b0ee2940",
    "ratings_test.txt": "8ac9f64052f11dbf6ae0acb5e038f03d90a76f0eda7820cfb3a92d02edfcebda",
}
NSMC_URL = "https://raw.githubusercontent.com/e9t/nsmc/master/"
KOWIKI_URL = "https://dumps.wikimedia.org/kowiki/latest/kowiki-latest-pages-articles.xml.bz2"


def new_stats():
    """Counters of what reading skipped or cut, for the summary line."""
    return {"undecodable": 0, "too_long": 0, "cut_docs": 0, "first_bad": None}


def text_lines(path, stats):
    """Yield the lines of a (possibly .gz/.bz2) UTF-8 file without their newline. A line that does
    not decode, or is absurdly long, is skipped and counted with its position (file:line)."""
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(os.path.splitext(path)[1], open)
    try:
        with opener(path, "rb") as f:
            for line_no, raw in enumerate(f, 1):
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


# ---- downloads ----

def download(url, path, sha256=None):
    """Fetch url to path with a progress bar. The bytes go to path + '.part' first, so an
    interrupted download resumes where it stopped; the file gets its name only when complete
    (and, given sha256, verified)."""
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
    if sha256:
        digest = hashlib.sha256()
        with open(part, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            os.remove(part)
            raise UserError(f"{url}: checksum mismatch (got {digest.hexdigest()[:16]}…, expected {sha256[:16]}…); "
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
