"""Every exchange of a crawl is kept as it crossed the wire, not only the brief pages: robots.txt,
the discovery documents, a brief URL's redirects and the attempts a retry followed; a body
already stored is not stored again."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from dataclasses import replace

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive import connect, fixity, snapshot_sqlite
from archive.capture import Capture, Exchange, transferred_body
from archive.store import store_exchange
from archive.warc import write_warc
from crawler import messages
from tests.gold import sample_pages
from tests.localsite import Fault, LocalSite, briefs_from_pages
from tests.test_crawl import crawl
from tests.test_raw_capture import ODD_HEADERS, warc_blocks
from tests.test_wacz import PYWB_COLLECTION, pywb_python

FEED = "/news/brief/feed/"
MOVED = "/news/brief/moved-here/"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """Two crawls of four sample briefs: the first meets a 503 once (retried), a 301 to
    where a brief moved, a server of its own ways (gzip, reason phrase, header case), and a
    brief page and the feed that time out once; the second (--full) asks again."""
    db = tmp_path_factory.mktemp("exchanges") / "archive.sqlite"
    samples = list(briefs_from_pages(page for _, page, _ in sample_pages()))[:4]
    retried, moved, odd, slow = samples
    site = LocalSite(samples)
    with site:
        site.set_fault(retried.path, Fault.status(503, times=1, retry_after=0))
        site.set_fault(moved.path, Fault.redirect(MOVED, code=301, times=1))
        site.set_fault(MOVED, Fault.body(moved.html, "text/html; charset=UTF-8", times=1))
        site.set_fault(odd.path, Fault.wire("Fine Thanks", ODD_HEADERS, times=1))
        site.set_fault(FEED, Fault.slow(3, times=1))
        site.set_fault(slow.path, Fault.slow(3, times=1))
        first = crawl(
            site.base_url, db, "-s", "BRIEFS_ENTRY_TIMEOUT=0.5", "-s", "DOWNLOAD_TIMEOUT=1"
        )
        logged = list(site.requests)
        site.clear_requests()
        second = crawl(site.base_url, db, "--full")
        logged_again = list(site.requests)
    for run in (first, second):
        assert run.returncode == 0, run.stderr
    return {
        "db": db,
        "site": site.base_url,
        "retried": retried,
        "moved": moved,
        "slow": slow,
        "logged": logged,
        "logged_again": logged_again,
    }


def rows(db, sql: str, *params) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def answered(db, run_id: int) -> list[tuple[bytes, bytes]]:
    """(response head, body as transferred) of every response a run's rows keep."""
    found = []
    for table in ("captures", "exchanges"):
        for row in rows(
            db,
            f"SELECT r.response_head, COALESCE(r.body_gzip, o.body_gzip) AS blob, r.body_form"
            f" FROM {table} AS r LEFT JOIN {table} AS o ON o.id = r.body_ref"
            " WHERE r.run_id = ? AND r.response_head IS NOT NULL",
            run_id,
        ):
            body = b"" if row["blob"] is None else transferred_body(row["blob"], row["body_form"])
            found.append((row["response_head"], body))
    return found


def test_every_response_of_a_crawl_is_kept_byte_for_byte_once(crawled):
    for run_id, logged in ((1, crawled["logged"]), (2, crawled["logged_again"])):
        # (The feed's slow answer came after the crawler had given up on it.)
        sent = [(e.response_head, e.body) for e in logged if e.status and e.fault != "slow"]
        assert len(sent) > 10
        assert sorted(answered(crawled["db"], run_id)) == sorted(sent)


def test_each_exchange_says_what_it_was_fetched_for(crawled):
    found = {
        (row["purpose"], row["url"].removeprefix(crawled["site"]), row["status"])
        for row in rows(
            crawled["db"], "SELECT purpose, url, status FROM exchanges WHERE run_id = 1"
        )
    }
    assert ("robots", "/robots.txt", 200) in found
    assert ("discovery", "/news/brief/", 200) in found
    assert ("discovery", FEED, 200) in found
    assert ("discovery", "/sitemap_index.xml", 200) in found
    assert any(purpose == "discovery" and url.startswith("/wp-json/") for purpose, url, _ in found)
    assert ("brief", crawled["retried"].path, 503) in found
    assert ("brief", crawled["moved"].path, 301) in found
    # The pages themselves are captures, not exchanges.
    assert not any(status == 200 and purpose == "brief" for purpose, _, status in found)


def test_an_attempt_that_got_no_response_is_kept_with_why(crawled):
    timed_out = rows(
        crawled["db"], "SELECT * FROM exchanges WHERE status IS NULL AND run_id = 1 ORDER BY url"
    )
    site = crawled["site"]
    expected = sorted([(site + FEED, "discovery"), (site + crawled["slow"].path, "brief")])
    assert sorted((row["url"], row["purpose"]) for row in timed_out) == expected
    for row in timed_out:
        assert row["error"].startswith("timeout: ")
        assert row["response_head"] is None and row["body_sha256"] is None
    # The brief's next attempt was its capture.
    (capture,) = rows(
        crawled["db"], "SELECT outcome FROM captures WHERE requested_url = ? AND run_id = 1",
        site + crawled["slow"].path,
    )  # fmt: skip
    assert capture["outcome"] == "new"


def test_a_retried_attempt_and_a_redirect_keep_their_request_as_sent(crawled):
    db = crawled["db"]
    for path, status in ((crawled["retried"].path, 503), (crawled["moved"].path, 301)):
        (row,) = rows(
            db, "SELECT * FROM exchanges WHERE url LIKE ? AND status = ?", f"%{path}", status
        )
        server = next(e for e in crawled["logged"] if e.path == path and e.status == status)
        assert row["response_head"] == server.response_head
        line, _, rest = row["request_head"].partition(b"\r\n")
        assert line == f"GET {path} HTTP/1.1".encode()
        sent = [tuple(f.split(": ", 1)) for f in rest.decode("latin-1").split("\r\n") if f]
        assert sent == list(server.headers.items())
        assert row["ip_address"] == "127.0.0.1" and row["requested_at"] <= row["fetched_at"]
        assert (row["protocol"], row["status"]) == ("HTTP/1.1", status)
    # The brief the redirect led to is captured where it was found.
    (capture,) = rows(db, "SELECT * FROM captures WHERE final_url LIKE ?", f"%{MOVED}")
    assert capture["requested_url"].endswith(crawled["moved"].path) and capture["status"] == 200


def test_a_body_stored_before_is_referenced_not_stored_again(crawled):
    db = crawled["db"]
    robots = rows(db, "SELECT * FROM exchanges WHERE purpose = 'robots' ORDER BY id")
    assert len(robots) == 2 and robots[0]["body_sha256"] == robots[1]["body_sha256"]
    assert robots[0]["body_gzip"] is not None and robots[0]["body_ref"] is None
    assert robots[1]["body_gzip"] is None and robots[1]["body_ref"] == robots[0]["id"]
    # Of every table, each stored body is there once.
    for table in ("captures", "exchanges"):
        (dupes,) = rows(
            db,
            f"SELECT COUNT(*) - COUNT(DISTINCT body_sha256 || body_form) FROM {table}"
            " WHERE body_gzip IS NOT NULL AND body_form != 'decoded'",
        )
        assert dupes[0] == 0, table


def test_an_unchanged_page_fetched_whole_again_refers_to_its_first_body(tmp_path):
    db = tmp_path / "archive.sqlite"
    (brief,) = list(briefs_from_pages(page for _, page, _ in sample_pages()))[:1]
    site = LocalSite([brief])
    with site:
        assert crawl(site.base_url, db).returncode == 0
        # A server that ignores the validators: the same bytes again, whole.
        site.set_fault(brief.path, Fault.body(brief.html, "text/html; charset=UTF-8"))
        assert crawl(site.base_url, db, "--full").returncode == 0
    first, again = rows(db, "SELECT * FROM captures WHERE status = 200 ORDER BY id")
    assert again["body_sha256"] == first["body_sha256"] and again["outcome"] == "unchanged"
    assert (again["body_gzip"], again["body_ref"]) == (None, first["id"])
    report = fixity.verify(connect(db, readonly=True), record=False)
    assert report.problems == [] and report.bodies_checked >= 2


def test_verify_finds_a_reference_to_a_body_that_is_not_there(crawled, tmp_path):
    copy = tmp_path / "copy.sqlite"
    conn = sqlite3.connect(crawled["db"])
    conn.execute("VACUUM INTO ?", [str(copy)])
    conn.close()
    conn = sqlite3.connect(copy)
    (ref_id, target) = conn.execute(
        "SELECT id, body_ref FROM exchanges WHERE body_ref IS NOT NULL LIMIT 1"
    ).fetchone()
    with conn:
        conn.execute(
            "UPDATE exchanges SET body_gzip = NULL, body_form = NULL WHERE id = ?", [target]
        )
    conn.close()
    report = fixity.verify(connect(copy, readonly=True), record=False)
    lines = [problem.line for problem in report.problems]
    assert any(
        line.startswith(f"exchange {ref_id} ") and "names a row without a body" in line
        for line in lines
    ), lines


def test_the_warc_holds_every_exchange_byte_for_byte(crawled, tmp_path):
    out = tmp_path / "crawl.warc.gz"
    with out.open("wb") as handle:
        write_warc(connect(crawled["db"], readonly=True), handle)
    blocks = warc_blocks(out)
    responses = [block for kind, _, block, _ in blocks if kind == "response"]
    for entry in crawled["logged"]:
        if entry.status in (301, 503) or entry.path == "/robots.txt":
            assert entry.response_head + entry.body in responses, entry.path
    # robots.txt fetched again, the same bytes: a revisit of the first.
    robots = [(kind, fields) for kind, uri, _, fields in blocks if uri.endswith("/robots.txt")]
    assert [kind for kind, _ in robots if kind in ("response", "revisit")] == [
        "response",
        "revisit",
    ]
    # The feed's attempt that timed out: a metadata record saying so.
    said = [block for kind, uri, block, _ in blocks if kind == "metadata" and uri.endswith(FEED)]
    assert any(b"error: timeout: " in block and b"purpose: discovery" in block for block in said)
    with out.open("rb") as handle:
        for record in ArchiveIterator(handle, check_digests=True):
            assert not record.digest_checker.problems
    indexes = {}
    fields = "warc-type,warc-target-uri,http:status"
    for tool in (["warcio", "check"], ["warcio", "index", "-f", fields], ["cdxj-indexer"]):
        done = subprocess.run([*tool, str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        indexes[tool[-1]] = done.stdout
    # Both indexes name the redirect, the retried 503 and robots.txt's revisit.
    for index in (indexes[fields], indexes["cdxj-indexer"]):
        for path in (crawled["moved"].path, crawled["retried"].path, "/robots.txt"):
            assert path in index, path
    statuses = [json.loads(line) for line in indexes[fields].splitlines()]
    assert {"warc-type": "response", "http:status": "503"} in [
        {key: entry.get(key) for key in ("warc-type", "http:status")} for entry in statuses
    ]


def test_a_distributed_crawls_exchange_is_carried_to_the_writer(tmp_path):
    capture = Capture(
        requested_url="https://insightcrime.org/robots.txt",
        fetched_at="2026-12-01T00:00:00+00:00",
        status=200,
        headers=[("Content-Type", "text/plain")],
        body=b"User-agent: *\n",
        response_head=b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
        request_head=b"GET /robots.txt HTTP/1.1\r\n\r\n",
    )
    data = messages.encode_exchange(Exchange("robots", capture))
    decoded = messages.decode(data)
    assert isinstance(decoded, Exchange) and decoded.purpose == "robots" and decoded.id
    assert replace(decoded.capture, packed=None) == replace(capture, body=None)
    assert decoded.capture.body_sha256 == hashlib.sha256(capture.body).hexdigest()
    db = connect(tmp_path / "a.sqlite")
    assert store_exchange(db, decoded) is not None
    assert store_exchange(db, messages.decode(data)) is None  # at-least-once: stored once
    (row,) = db.execute("SELECT response_head, body_gzip, body_form FROM exchanges").fetchall()
    assert row[0] == capture.response_head
    assert transferred_body(row[1], row[2]) == capture.body


# Run by pywb's Python in a fresh folder: the WARC in a collection, the URL asked for at its
# timestamp (id_: the archived answer as it is), then where its answer sends it, as a browser
# replaying it would.
REPLAY_REDIRECT = (
    PYWB_COLLECTION
    + """
wb_manager(["add", "coll", sys.argv[1]])
client = Client(FrontEndApp())
ts, url = sys.argv[2], sys.argv[3]
first = client.get(f"/coll/{ts}id_/{url}")
location = first.headers.get("Location")
then = client.get(f"/coll/{ts}id_/{location}")
print(json.dumps([first.status_code, location, then.status_code, then.get_data().hex()]))
"""
)


@pytest.mark.realtool
def test_pywb_resolves_a_redirecting_url_to_the_page_it_led_to(crawled, tmp_path):
    python = pywb_python()
    out = tmp_path / "crawl.warc.gz"
    with out.open("wb") as handle:
        write_warc(connect(crawled["db"], readonly=True), handle)
    (redirect,) = rows(
        crawled["db"], "SELECT url, fetched_at FROM exchanges WHERE status = 301 AND run_id = 1"
    )
    stamp = "".join(ch for ch in redirect["fetched_at"][:19] if ch.isdigit())
    folder = tmp_path / "pywb"
    folder.mkdir()
    done = subprocess.run(
        [python, "-c", REPLAY_REDIRECT, str(out), stamp, redirect["url"]],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    code, location, then, body = json.loads(done.stdout.splitlines()[-1])
    # Without the redirect's own exchange, pywb has nothing for the URL: a 404.
    assert (code, location) == (301, crawled["site"] + MOVED)
    assert then == 200 and bytes.fromhex(body) == crawled["moved"].html


def test_an_incremental_snapshot_keeps_the_rows_that_hold_its_bodies(crawled, tmp_path):
    (second,) = rows(crawled["db"], "SELECT MIN(fetched_at) FROM exchanges WHERE run_id = 2")
    copy = tmp_path / "since.sqlite"
    snapshot_sqlite(crawled["db"], copy, since=second[0])
    kept = rows(copy, "SELECT id, run_id, body_ref FROM exchanges WHERE purpose = 'robots'")
    # The second crawl's robots.txt, and the first's, which holds its body.
    assert [(row["run_id"], row["body_ref"]) for row in kept] == [(1, None), (2, kept[0]["id"])]
    report = fixity.verify(connect(copy, readonly=True), record=False)
    assert report.problems == []


def test_a_site_that_compresses_what_it_sends_has_it_stored_as_sent(tmp_path):
    db = tmp_path / "archive.sqlite"
    samples = list(briefs_from_pages(page for _, page, _ in sample_pages()))[:3]
    site = LocalSite(samples, compress=True)
    with site:
        assert crawl(site.base_url, db).returncode == 0
        sent = {entry.body for entry in site.requests if entry.status == 200}
    for table in ("captures", "exchanges"):
        stored = rows(db, f"SELECT body_gzip, body_form FROM {table} WHERE status = 200")
        assert stored and {row["body_form"] for row in stored} == {"as-sent"}, table
        # The server's own gzip streams, not compressed a second time.
        assert {row["body_gzip"] for row in stored} <= sent
