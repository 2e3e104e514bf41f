"""Corpus formats, bad input, downloads (against a local server: nothing here reaches the
internet) and Wikipedia dump extraction from a synthetic dump the test writes."""
import bz2
import gzip
import hashlib
import http.server
import os
import subprocess
import threading
from xml.sax.saxutils import escape

import pytest

from cli import UserError
from conftest import needs_data, one_line_error, run_script
from corpus import MAX_DOC, download, download_kowiki, extract_wiki_dump, new_stats, read_documents, wikitext_paragraphs

DOCS = [["제목 하나", "첫 문단입니다.", "둘째 문단."], ["Title Two", "Only paragraph."]]
PLAIN = "\n\n".join("\n".join(d) for d in DOCS) + "\n"


def test_plain_gzip_bz2_csv_and_wikiextractor_give_the_same_documents(tmp_path):
    (tmp_path / "c.txt").write_text(PLAIN, encoding="utf-8")
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(PLAIN.encode()))
    (tmp_path / "c.txt.bz2").write_bytes(bz2.compress(PLAIN.encode()))
    sep = "\u241d"
    rows = [f"id{sep}url{sep}title{sep}text"] + [f'{i}{sep}http://x/{i}{sep}{d[0]}{sep}"' + "\n".join(d[1:]) + '"'
                                                  for i, d in enumerate(DOCS)]
    (tmp_path / "kowiki.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    wiki = tmp_path / "extracted" / "AA"
    wiki.mkdir(parents=True)
    (wiki / "wiki_00").write_text("".join(f'<doc id="{i}" url="u" title="{d[0]}">\n' + "\n\n".join(d) + "\n</doc>\n"
                                          for i, d in enumerate(DOCS)), encoding="utf-8")
    for path in ("c.txt", "c.txt.gz", "c.txt.bz2", "kowiki.csv", "extracted"):
        assert list(read_documents(str(tmp_path / path))) == DOCS, path


def test_undecodable_and_absurd_lines_are_skipped_and_counted(tmp_path):
    f = tmp_path / "c.txt"
    f.write_bytes("좋은 줄\n".encode() + b"\xff\xfe broken\n" + b"x" * 200_000 + b"\n" + "다음 줄\n".encode())
    stats = new_stats()
    assert list(read_documents(str(f), stats=stats)) == [["좋은 줄", "다음 줄"]]
    assert stats["undecodable"] == 1 and stats["too_long"] == 1 and stats["first_bad"].endswith("c.txt:2")


def test_a_document_without_blank_lines_is_cut_not_held_whole(tmp_path):
    f = tmp_path / "c.txt"
    line = "가" * 1000
    f.write_text("\n".join([line] * 2500) + "\n", encoding="utf-8")   # 2.5M characters, no blank line
    stats = new_stats()
    docs = list(read_documents(str(f), stats=stats))
    assert stats["cut_docs"] == 1 and len(docs) == 3 and sum(map(len, docs)) == 2500
    assert all(sum(map(len, d)) <= MAX_DOC for d in docs)


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support, like the real hosts; counts bytes sent."""
    sent = 0

    def do_GET(self):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            return self.send_error(404)
        data = open(path, "rb").read()
        start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])
        RangeHandler.sent += len(data) - start

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: RangeHandler(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_download_resumes_and_verifies_checksum(tmp_path, server):
    root, url = server
    payload = os.urandom(3_000_000)
    (root / "f.bin").write_bytes(payload)
    target = tmp_path / "out" / "f.bin"
    target.parent.mkdir()
    (tmp_path / "out" / "f.bin.part").write_bytes(payload[:1_000_000])   # an interrupted earlier try
    RangeHandler.sent = 0
    download(url + "f.bin", str(target), hashlib.sha256(payload).hexdigest())
    assert target.read_bytes() == payload and RangeHandler.sent == 2_000_000   # only the rest was fetched
    assert not (tmp_path / "out" / "f.bin.part").exists()
    with pytest.raises(UserError, match="checksum mismatch"):
        download(url + "f.bin", str(tmp_path / "out" / "g.bin"), "0" * 64)
    assert not (tmp_path / "out" / "g.bin").exists() and not (tmp_path / "out" / "g.bin.part").exists()


def test_offline_is_one_clear_line(tmp_path):
    with pytest.raises(UserError, match=r"cannot reach 127\.0\.0\.1:9 \(offline\?"):
        download("http://127.0.0.1:9/ratings_train.txt", str(tmp_path / "r.txt"))
    # the real command, on a machine without internet: one line naming the host, no traceback
    r = run_script("data.py", "--download", "nsmc", "--data_dir", str(tmp_path), ok=False)
    if r.returncode != 0:
        one_line_error(r, "raw.githubusercontent.com")


PAGES = [  # (title, namespace, redirect, wikitext)
    ("서울", 0, False, "'''서울'''은 [[대한민국]]의 [[수도 (도시)|수도]]이다.{{각주|x}}<ref>출처</ref>\n"
                     "[[파일:Seoul.jpg|thumb|서울 [[야경]]]]\n== 역사 ==\n* 조선의 [[한양]]이었다.\n"
                     "{| class=\"wikitable\"\n| 표 || 내용\n|}\n[[분류:도시]]"),
    ("서울특별시", 0, True, "#넘겨주기 [[서울]]"),
    ("틀:정보상자", 10, False, "{{틀}}"),
    ("부산", 0, False, "부산은 [https://busan.go.kr 항구] 도시이다.<br />"),
]
# as in a real dump, the wikitext is XML-escaped inside <text>
DUMP = '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">\n' + "".join(
    f"<page><title>{escape(title)}</title><ns>{ns}</ns>" + ('<redirect title="x"/>' if redirect else "")
    + f"<revision><text>{escape(text)}</text></revision></page>\n" for title, ns, redirect, text in PAGES) + "</mediawiki>"


def test_extract_synthetic_dump(tmp_path):
    dump = tmp_path / "kowiki-latest-pages-articles.xml.bz2"
    dump.write_bytes(bz2.compress(DUMP.encode()))
    out = tmp_path / "kowiki.txt"
    assert extract_wiki_dump(str(dump), str(out)) == 2          # the redirect and the template page are skipped
    assert out.read_text(encoding="utf-8") == ("서울\n서울은 대한민국의 수도이다.\n역사.\n조선의 한양이었다.\n\n"
                                               "부산\n부산은 항구 도시이다.\n\n")
    assert list(read_documents(str(out)))[1] == ["부산", "부산은 항구 도시이다."]


def test_download_kowiki_end_to_end_from_local_server(tmp_path, server):
    root, url = server
    (root / "kowiki-latest-pages-articles.xml.bz2").write_bytes(bz2.compress(DUMP.encode()))
    download_kowiki(str(tmp_path), url + "kowiki-latest-pages-articles.xml.bz2")
    assert (tmp_path / "kowiki.txt").read_text(encoding="utf-8").startswith("서울\n")


def test_download_korquad_checks_sha256_and_git_blob_id(tmp_path, server, monkeypatch):
    """The dev file by its SHA-256, the train file by its git blob id (SHA-1 of "blob <size>\\0" + bytes, as
    `git hash-object` gives); a file that fails its check is removed and never gets its name."""
    import corpus
    root, url = server
    dev, train = b'{"data": [], "version": "dev"}', b'{"data": [], "version": "train"}'
    (root / "KorQuAD_v1.0_dev.json").write_bytes(dev)
    (root / "KorQuAD_v1.0_train.json").write_bytes(train)
    blob = hashlib.sha1(b"blob %d\0" % len(train) + train).hexdigest()
    assert subprocess.run(["git", "hash-object", "--stdin"], input=train, capture_output=True).stdout.decode().strip() == blob
    monkeypatch.setattr(corpus, "KORQUAD", {"KorQuAD_v1.0_train.json": (None, blob),
                                            "KorQuAD_v1.0_dev.json": (hashlib.sha256(dev).hexdigest(), None)})
    corpus.download_korquad(str(tmp_path / "ok"), url)
    assert (tmp_path / "ok" / "KorQuAD_v1.0_train.json").read_bytes() == train
    monkeypatch.setattr(corpus, "KORQUAD", {"KorQuAD_v1.0_train.json": (None, "0" * 40)})
    with pytest.raises(UserError, match="checksum mismatch"):
        corpus.download_korquad(str(tmp_path / "bad"), url)
    assert os.listdir(tmp_path / "bad") == []


def test_korquad_download_offline_is_one_line(tmp_path):
    r = run_script("data.py", "--download", "korquad", "--data_dir", str(tmp_path), ok=False)
    if r.returncode != 0:   # offline, as here: one line naming the host
        one_line_error(r, "korquad.github.io")
    else:                   # online: the official files, verified
        assert sorted(os.listdir(tmp_path)) == ["KorQuAD_v1.0_dev.json", "KorQuAD_v1.0_train.json"]


def test_nested_templates_and_tables():
    assert wikitext_paragraphs("a {{x|{{y}}}} b\n{|\n| {| nested |}\n|}\nc") == ["a b", "c"]


def test_not_a_dump_is_one_line(tmp_path):
    bad = tmp_path / "d.xml.bz2"
    bad.write_bytes(bz2.compress(b"<mediawiki><page>"))
    with pytest.raises(UserError, match="not a readable .xml.bz2 Wikipedia dump"):
        extract_wiki_dump(str(bad), str(tmp_path / "o.txt"))
    assert not (tmp_path / "o.txt").exists()


@needs_data
def test_output_does_not_depend_on_workers_and_reports_skips(artifacts, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(open(artifacts["corpus"], "rb").read()[:400_000].rsplit(b"\n", 1)[0] + b"\n\xff bad line\n")
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        r = run_script("data.py", "--input", str(corpus), "--vocab", artifacts["vocab"], "--output", str(out),
                       "--n_seq", "128", "--workers", workers, "--dupe", "2")
        assert "1 undecodable lines skipped" in r.stdout and "c.txt:" in r.stdout
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    r = run_script("vocab.py", "--input", str(corpus), "--prefix", str(tmp_path / "v"), "--vocab_size", "2000")
    assert "1 undecodable lines skipped" in r.stdout
