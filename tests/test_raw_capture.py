"""The archive keeps each brief exchange as it crossed the wire: the request as sent, the
status line and headers as received, the peer, and the body as transferred."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import sqlite3
import subprocess
import zipfile
import zlib
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive import Capture, connect, fixity
from archive import store_capture as archive_store
from archive.capture import head_headers, pack_body, status_line, stored_page, transferred_body
from archive.reclean import reclean
from archive.wacz_export import write_wacz
from archive.warc import WarcInfo, write_warc
from cleaning import CLEANER_VERSION, clean
from crawler import messages
from crawler.items import FetchedPage
from tests.gold import sample_pages
from tests.localsite import Fault, LocalSite, briefs_from_pages
from tests.test_crawl import crawl
from tests.test_wacz import PYWB_COLLECTION, pywb_python, warc_of

# Header names as a server of its own ways writes them: case, order and repeats to be kept.
ODD_HEADERS = [("x-odd-CASE", "1"), ("X-Dup", "first"), ("X-Dup", "second")]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Two crawls of two sample briefs, one sent gzip-encoded under its own reason phrase and
    header case; the second crawl asks again conditionally (--full): 304s."""
    db = tmp_path_factory.mktemp("raw") / "archive.sqlite"
    samples = list(briefs_from_pages(page for _, page, _ in sample_pages()))[:2]
    encoded, plain = samples
    site = LocalSite(samples)
    with site:
        site.set_fault(encoded.path, Fault.wire("Fine Thanks", ODD_HEADERS, times=1))
        first = crawl(site.base_url, db)
        sent = {entry.path: entry for entry in site.requests if entry.status == 200}
        site.clear_requests()
        second = crawl(site.base_url, db, "--full")
        resent = {entry.path: entry for entry in site.requests}
        # A server that ignores the validators: the same bytes again, whole.
        site.set_fault(plain.path, Fault.body(plain.html, "text/html; charset=UTF-8"))
        third = crawl(site.base_url, db, "--full")
    for run in (first, second, third):
        assert run.returncode == 0, run.stderr
    return {"db": db, "encoded": encoded, "plain": plain, "sent": sent, "resent": resent}


def capture_of(db, path: str, status: int) -> sqlite3.Row:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        found = conn.execute(
            "SELECT * FROM captures WHERE requested_url LIKE ? AND status = ? ORDER BY id",
            [f"%{path}", status],
        ).fetchone()
    finally:
        conn.close()
    assert found is not None, f"no {status} capture of {path}"
    return found


def test_the_response_head_is_kept_as_the_server_wrote_it(crawled):
    path = crawled["encoded"].path
    capture = capture_of(crawled["db"], path, 200)
    server = crawled["sent"][path]
    assert capture["response_head"] == server.response_head
    assert capture["response_head"].startswith(b"HTTP/1.1 200 Fine Thanks\r\n")
    assert (capture["protocol"], capture["reason"]) == ("HTTP/1.1", "Fine Thanks")
    assert capture["ip_address"] == "127.0.0.1"
    headers = [tuple(pair) for pair in json.loads(capture["headers"])]
    assert headers == head_headers(server.response_head)
    # Names in their case, repeats in their order: not Scrapy's `X-Odd-Case`, one `X-Dup`.
    assert [pair for pair in headers if pair in ODD_HEADERS] == ODD_HEADERS


def test_the_request_is_kept_as_sent(crawled):
    path = crawled["encoded"].path
    capture = capture_of(crawled["db"], path, 200)
    line, _, rest = capture["request_head"].partition(b"\r\n")
    assert line == f"GET {path} HTTP/1.1".encode()
    assert capture["request_head"].endswith(b"\r\n\r\n")
    sent = [tuple(field.split(": ", 1)) for field in rest.decode("latin-1").split("\r\n") if field]
    # Every header the server received, in the order and case it received them.
    assert sent == list(crawled["sent"][path].headers.items())
    names = {name.lower() for name, _ in sent}
    assert {"user-agent", "accept", "accept-encoding", "host"} <= names
    assert capture["requested_at"] <= capture["fetched_at"]


def test_a_gzip_body_is_stored_as_sent_and_read_back_as_the_page(crawled):
    db, encoded = crawled["db"], crawled["encoded"]
    capture = capture_of(db, encoded.path, 200)
    sent = crawled["sent"][encoded.path].body
    assert sent[:2] == b"\x1f\x8b"  # the server's gzip stream
    assert capture["body_form"] == "as-sent"
    assert capture["body_gzip"] == sent  # not compressed a second time
    assert capture["body_sha256"] == hashlib.sha256(sent).hexdigest()
    assert capture["body_length"] == len(sent)
    headers = json.loads(capture["headers"])
    assert stored_page(capture["body_gzip"], capture["body_form"], headers) == encoded.html
    assert transferred_body(capture["body_gzip"], capture["body_form"]) == sent


def test_an_identity_body_is_stored_gzip_of_the_bytes_sent(crawled):
    db, plain = crawled["db"], crawled["plain"]
    capture = capture_of(db, plain.path, 200)
    assert capture["body_form"] == "gzip"
    assert gzip.decompress(capture["body_gzip"]) == crawled["sent"][plain.path].body == plain.html
    assert capture["body_sha256"] == hashlib.sha256(plain.html).hexdigest()
    assert capture["response_head"] == crawled["sent"][plain.path].response_head


def test_a_304_keeps_its_own_headers_and_the_validator_sent(crawled):
    db, plain = crawled["db"], crawled["plain"]
    capture = capture_of(db, plain.path, 304)
    server = crawled["resent"][plain.path]
    assert capture["response_head"] == server.response_head
    headers = [name.lower() for name, _ in json.loads(capture["headers"])]
    assert "content-length" not in headers  # Scrapy's response made up "Content-Length: 0"
    assert (
        b"If-None-Match: " in capture["request_head"]
        or b"If-Modified-Since: " in (capture["request_head"])
    )


def test_the_pages_stored_as_sent_are_cleaned_again_from_the_archive(crawled, tmp_path):
    copy = tmp_path / "copy.sqlite"
    source = sqlite3.connect(crawled["db"])
    with sqlite3.connect(copy) as target:
        source.backup(target)
    ids = [row[0] for row in source.execute("SELECT id FROM captures WHERE status = 200")]
    source.close()
    writable = connect(copy)
    report = reclean(writable, clean, CLEANER_VERSION, capture_ids=ids)
    assert (report.pages, report.failed) == (len(ids), 0)


def test_a_body_that_does_not_gunzip_to_the_page_is_stored_gzip_of_it():
    page = b"<html><body><p>Text.</p></body></html>"
    sent = gzip.compress(page, mtime=0)
    assert pack_body(page, sent, "gzip").form == "as-sent"
    wrong = pack_body(page, gzip.compress(b"another page", mtime=0), "gzip")
    assert wrong.form == "gzip" and gzip.decompress(wrong.gzip) != page
    assert pack_body(page, sent, "br").form == "gzip"  # only a gzip stream is kept as sent
    assert pack_body(page).form == "gzip" and gzip.decompress(pack_body(page).gzip) == page


def test_a_status_line_and_a_head_are_read_as_written():
    head = b'HTTP/1.0 200 Fine  Thanks\r\nETag: "a"\r\nX-Long: one\r\n two\r\nno colon\r\n\r\n'
    assert status_line(head) == ("HTTP/1.0", 200, "Fine  Thanks")
    assert head_headers(head) == [("ETag", '"a"'), ("X-Long", "one two")]
    assert status_line(b"HTTP/1.1 204\r\n\r\n") == ("HTTP/1.1", 204, "")


def warc_blocks(path) -> list[tuple[str, str, bytes, dict]]:
    """(type, target URI, block, WARC headers) of each record of a gzipped WARC, its block
    read from the file's bytes (not from warcio's parse, which rewrites a head)."""
    data = path.read_bytes()
    found = []
    while data:
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        record = member.decompress(data)
        data = member.unused_data
        head, _, rest = record.partition(b"\r\n\r\n")
        fields = dict(
            line.split(": ", 1) for line in head.decode("utf-8").split("\r\n")[1:] if line
        )
        block = rest[: int(fields["Content-Length"])]
        found.append((fields["WARC-Type"], fields.get("WARC-Target-URI", ""), block, fields))
    return found


def test_the_warc_holds_the_exchanges_byte_for_byte(crawled, tmp_path):
    out = tmp_path / "captures.warc.gz"
    with out.open("wb") as handle:
        write_warc(connect(crawled["db"], readonly=True), handle)
    path = crawled["encoded"].path
    server = crawled["sent"][path]
    capture = capture_of(crawled["db"], path, 200)
    records = [r for r in warc_blocks(out) if r[1].endswith(path)]
    responses = [block for kind, _, block, _ in records if kind == "response"]
    assert server.response_head + server.body in responses
    requests = [block for kind, _, block, _ in records if kind == "request"]
    assert capture["request_head"] in requests
    for kind, _, _, fields in records:
        if kind in ("request", "response"):
            assert fields["WARC-IP-Address"] == "127.0.0.1"
    with out.open("rb") as handle:
        for record in ArchiveIterator(handle, check_digests=True):
            assert not record.digest_checker.problems
    check = subprocess.run(["warcio", "check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_distributed_crawls_message_carries_the_exchange_to_the_writer():
    page = sample_pages()[0][1]
    sent = gzip.compress(page, mtime=0)
    capture = Capture(
        requested_url="https://insightcrime.org/news/brief/x/",
        fetched_at="2026-01-01T00:00:01+00:00",
        status=200,
        headers=[("Content-Encoding", "gzip"), ("ETag", '"a"')],
        body=page,
        request_head=b"GET /news/brief/x/ HTTP/1.1\r\nHost: insightcrime.org\r\n\r\n",
        response_head=b'HTTP/1.1 200 Fine\r\nContent-Encoding: gzip\r\nETag: "a"\r\n\r\n',
        ip_address="203.0.113.7",
        requested_at="2026-01-01T00:00:00+00:00",
        transferred=sent,
    )
    decoded = messages.decode(messages.encode(FetchedPage(capture=capture), "c1", "9")).capture
    for name in ("request_head", "response_head", "ip_address", "requested_at", "headers"):
        assert getattr(decoded, name) == getattr(capture, name), name
    assert (decoded.body_form, decoded.body_gzip()) == ("as-sent", sent)
    assert decoded.body_sha256 == hashlib.sha256(sent).hexdigest()


def test_a_304_and_an_identical_body_are_revisits_of_the_first_response(crawled, tmp_path):
    out = tmp_path / "captures.warc.gz"
    with out.open("wb") as handle:
        write_warc(connect(crawled["db"], readonly=True), handle)
    path = crawled["plain"].path
    records = [r for r in warc_blocks(out) if r[1].endswith(path)]
    (first,) = [fields for kind, _, _, fields in records if kind == "response"]
    revisits = {
        fields["WARC-Profile"].rsplit("/", 1)[1]: (block, fields)
        for kind, _, block, fields in records
        if kind == "revisit"
    }
    assert set(revisits) == {"server-not-modified", "identical-payload-digest"}
    for _, fields in revisits.values():
        assert fields["WARC-Refers-To"] == first["WARC-Record-ID"]
        assert fields["WARC-Refers-To-Target-URI"] == first["WARC-Target-URI"]
        assert fields["WARC-Refers-To-Date"] == first["WARC-Date"]
        assert fields["WARC-Payload-Digest"] == first["WARC-Payload-Digest"]
    # A 304 keeps no HTTP header block (replayed, it would be an empty page): its status
    # line and headers are in its metadata record.
    block, _ = revisits["server-not-modified"]
    assert block == b""
    metadata = [b for kind, _, b, _ in records if kind == "metadata"]
    assert any(b"status-line: HTTP/1.1 304 Not Modified" in text for text in metadata)
    block, _ = revisits["identical-payload-digest"]
    conn = sqlite3.connect(crawled["db"])
    (last_head,) = conn.execute(
        "SELECT response_head FROM captures WHERE requested_url LIKE ? AND status = 200"
        " ORDER BY id DESC LIMIT 1",
        [f"%{path}"],
    ).fetchone()
    conn.close()
    assert block == last_head and block.startswith(b"HTTP/1.1 200 ")  # its head, as received
    check = subprocess.run(["warcio", "check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_warcinfo_says_who_crawled_how_and_for_what(crawled, tmp_path):
    out = tmp_path / "captures.warc.gz"
    info = WarcInfo(operator="Jane Doe <jd@example.org>", is_part_of="ic-briefs-2026")
    with out.open("wb") as handle:
        write_warc(connect(crawled["db"], readonly=True), handle, info=info)
    kind, _, block, _ = warc_blocks(out)[0]
    fields = dict(line.split(": ", 1) for line in block.decode().split("\r\n") if line)
    assert kind == "warcinfo"
    capture = capture_of(crawled["db"], crawled["plain"].path, 200)
    agent = next(
        line.split(": ", 1)[1]
        for line in capture["request_head"].decode().split("\r\n")
        if line.lower().startswith("user-agent:")
    )
    assert fields["http-header-user-agent"] == agent  # the one the requests were sent with
    assert fields["robots"] == "obey"
    assert fields["operator"] == info.operator and fields["isPartOf"] == info.is_part_of
    assert fields["format"] == "WARC File Format 1.1" and fields["software"] == "briefs"


# Run by pywb's Python in a fresh folder: a collection with the WARC added, then pywb's WSGI
# app asked for each URL at each timestamp (id_: the archived bytes, not rewritten).
REPLAY_WARC = (
    PYWB_COLLECTION
    + """
wb_manager(["add", "coll", sys.argv[1]])
client = Client(FrontEndApp())
answers = []
for ts, url in json.loads(sys.argv[2]):
    got = client.get(f"/coll/{ts}id_/{url}")
    headers = got.headers
    answers.append([got.status_code, headers.get("Content-Encoding"), got.get_data().hex(),
                    headers.get("Memento-Datetime")])
print(json.dumps(answers))
"""
)


@pytest.mark.realtool
def test_pywb_replays_every_capture_of_a_brief_with_its_page(crawled, tmp_path):
    python = pywb_python()
    out = tmp_path / "captures.warc.gz"
    with out.open("wb") as handle:
        write_warc(connect(crawled["db"], readonly=True), handle)
    conn = sqlite3.connect(crawled["db"])
    asked = conn.execute(
        "SELECT requested_url, fetched_at, status FROM captures ORDER BY id"
    ).fetchall()
    conn.close()
    # Each capture: the first responses, the 304s, the identical body fetched again whole.
    assert sorted({status for *_, status in asked}) == [200, 304]
    stamps = [[re.sub(r"\D", "", fetched[:19]), url] for url, fetched, _ in asked]
    folder = tmp_path / "pywb"
    folder.mkdir()
    done = subprocess.run(
        [python, "-c", REPLAY_WARC, str(out), json.dumps(stamps)],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    pages = {crawled["encoded"].path: crawled["encoded"].html}
    pages[crawled["plain"].path] = crawled["plain"].html
    answers = json.loads(done.stdout.splitlines()[-1])
    for (url, fetched, status), (code, encoding, body, moment) in zip(asked, answers, strict=True):
        data = bytes.fromhex(body)
        page = gzip.decompress(data) if encoding == "gzip" else data
        assert code == 200, (url, status, data[:300])
        # This capture's own record answered (a revisit resolved to its original's body),
        # not the nearest whole response.
        assert parsedate_to_datetime(moment) == datetime.fromisoformat(fetched), (url, status)
        assert page == next(html for path, html in pages.items() if url.endswith(path))


def test_verify_checks_a_body_stored_as_sent_against_the_bytes_sent(crawled):
    report = fixity.verify(connect(crawled["db"], readonly=True), record=False)
    assert report.problems == [] and report.bodies_checked >= 3
    path = crawled["encoded"].path
    capture = capture_of(crawled["db"], path, 200)
    blob, digest = capture["body_gzip"], capture["body_sha256"]
    assert fixity.body_problem(digest, len(blob), blob, "as-sent") is None
    # Read as the gzip of the bytes sent, the same blob would be a mismatch.
    assert "digest mismatch" in fixity.body_problem(digest, None, blob, "gzip")
    damaged = blob[:-9] + bytes([blob[-9] ^ 0xFF]) + blob[-8:]
    assert fixity.body_problem(digest, len(blob), damaged, "as-sent").startswith("body unreadable")


def test_verify_reads_a_body_stored_as_sent_by_its_digest_alone(crawled, monkeypatch):
    # The bytes sent were checked to be a gzip stream of the page when they were stored:
    # bytes with their digest still are, so they are not decompressed again (the pages of a
    # site that gzips are checked at the speed of hashing them).
    capture = capture_of(crawled["db"], crawled["encoded"].path, 200)
    decompressed = []
    monkeypatch.setattr(fixity, "decompress_body", lambda *args: decompressed.append(args))
    blob, digest = capture["body_gzip"], capture["body_sha256"]
    assert fixity.body_problem(digest, len(blob), blob, "as-sent") is None
    assert decompressed == []


def test_a_brief_last_captured_as_a_revisit_has_its_page_in_the_wacz(crawled, tmp_path):
    out = tmp_path / "briefs.wacz"
    assert write_wacz(connect(crawled["db"], readonly=True), out) == 2  # both briefs
    with zipfile.ZipFile(out) as wacz:
        lines = wacz.read("pages/pages.jsonl").decode().splitlines()[1:]
    pages = {json.loads(line)["url"]: json.loads(line)["ts"] for line in lines}
    # The plain brief's latest capture is the same body again (a revisit record): its page
    # is the response that holds that body.
    warc = tmp_path / "captures.warc.gz"
    warc.write_bytes(warc_of(out))
    (first,) = [
        fields
        for kind, uri, _, fields in warc_blocks(warc)
        if kind == "response" and uri.endswith(crawled["plain"].path)
    ]
    assert pages[first["WARC-Target-URI"]] == first["WARC-Date"]


def test_a_304_of_a_capture_made_before_the_wire_was_kept_is_a_revisit_too(tmp_path):
    db = connect(tmp_path / "old.sqlite")
    record = clean(sample_pages()[0][1], "https://insightcrime.org/")
    url = record.url
    page = Capture(url, "2026-01-01T00:00:00+00:00", url, 200, [("ETag", '"a"')], b"<p>x</p>")
    archive_store(db, page, record)
    again = Capture(url, "2026-01-02T00:00:00+00:00", url, 304, [("ETag", '"a"')], b"")
    archive_store(db, again)
    out = tmp_path / "old.warc.gz"
    with out.open("wb") as handle:
        write_warc(db, handle)
    records = warc_blocks(out)
    (response,) = [fields for kind, _, _, fields in records if kind == "response"]
    (revisit,) = [(block, fields) for kind, _, block, fields in records if kind == "revisit"]
    assert revisit[0] == b""  # no 304 head: replayed, the page, not an empty answer
    assert revisit[1]["WARC-Refers-To"] == response["WARC-Record-ID"]
    assert revisit[1]["WARC-Profile"].endswith("/server-not-modified")
    metadata = [block for kind, _, block, _ in records if kind == "metadata"]
    assert any(b'ETag: "a"' in text and b"status-line: 304" in text for text in metadata)
