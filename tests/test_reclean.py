"""Re-cleaning stored pages: a revision only where the record changes, no fetch."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from dataclasses import replace

import pytest

import archive
from archive.reclean import pages_to_reclean, reclean
from archive.schema import JSON_FIELDS, MIGRATIONS, RECORD_FIELDS, _statements
from cleaning import CLEANER_VERSION, BriefRecord, clean
from cleaning.record import CONTENT_FIELDS, canonical_json
from cleaning.urls import url_path
from tests.archive_rows import rows, wait_for_briefs
from tests.gold import sample_pages
from tests.localsite import Fault, LocalSite
from tests.sitegen import IDENTITY, site_brief, site_specs
from tests.terminal import run_in_terminal


def capture_of(page: bytes, at: str, path: str | None = None) -> archive.Capture:
    """A capture of `page` fetched at its own URL (its canonical's path on a local copy of
    the site), or at `path`."""
    url = "http://127.0.0.1:1" + (path or url_path(clean(page, "http://x/").url))
    return archive.Capture(
        requested_url=url,
        final_url=url,
        status=200,
        fetched_at=at,
        body=page,
        headers=[("Content-Type", "text/html; charset=UTF-8")],
    )


@pytest.fixture
def db(tmp_path):
    database = archive.connect(tmp_path / "a.sqlite")
    for _, page, _ in sample_pages():
        archive.store_capture(
            database,
            capture_of(page, "2026-01-01T00:00:00+00:00"),
            clean(page, "http://x/"),
            cleaner_version=CLEANER_VERSION,
        )
    yield database
    database.close()


def count(db, sql: str, parameters: list | None = None) -> int:
    return db.execute(sql, parameters or []).fetchone()[0]


# The version of a cleaner that improves on this one.
IMPROVED = f"{CLEANER_VERSION}-improved"


def test_same_cleaner_changes_nothing(db):
    report = reclean(db, clean, CLEANER_VERSION)
    assert (report.pages, report.unchanged, report.changed, report.new) == (7, 7, 0, 0)
    assert count(db, "SELECT COUNT(*) FROM revisions") == 7


def test_a_better_cleaner_adds_one_revision_per_changed_brief(db):
    def improved(body: bytes, url: str, **kwargs) -> BriefRecord:
        record = clean(body, url, **kwargs)
        if record.language == "es":
            return record
        return replace(record, summary=record.summary + " (improved)")

    report = reclean(db, improved, IMPROVED)
    assert (report.changed, report.unchanged) == (6, 1)
    assert count(db, "SELECT COUNT(*) FROM revisions WHERE made_by = 'reclean'") == 6
    assert count(db, "SELECT COUNT(*) FROM briefs WHERE revision = 2") == 6
    assert count(db, "SELECT COUNT(*) FROM briefs WHERE cleaner_version = ?", [IMPROVED]) == 7
    assert count(db, "SELECT COUNT(*) FROM revisions WHERE cleaner_version = ?", [IMPROVED]) == 6
    again = reclean(db, improved, IMPROVED)
    assert (again.changed, again.unchanged) == (0, 7)
    assert count(db, "SELECT COUNT(*) FROM revisions") == 13


def test_a_page_that_failed_extraction_before_becomes_a_brief(db):
    _, page, gold = sample_pages()[0]
    db.execute("DELETE FROM revisions WHERE url = ?", [gold["url"]])
    db.execute("DELETE FROM briefs WHERE url = ?", [gold["url"]])
    failed = capture_of(page, "2026-02-01T00:00:00+00:00")
    archive.store_capture(db, failed, error="extraction_failed: an older cleaner")
    report = reclean(db, clean, CLEANER_VERSION)
    assert report.new == 1
    assert db.execute("SELECT revision FROM briefs WHERE url = ?", [gold["url"]]).fetchone() == (1,)


def test_only_the_latest_page_of_a_brief_is_read(db):
    _, page, gold = sample_pages()[1]
    record = clean(page, "http://x/")
    edited = replace(record, body=record.body + "\n\nAn update.")
    archive.store_capture(
        db,
        capture_of(page + b"<!-- v2 -->", "2026-03-01T00:00:00+00:00"),
        edited,
        cleaner_version=CLEANER_VERSION,
    )
    assert len(pages_to_reclean(db)) == 7
    # The newer page cleans to the stored (older) text, which is what it says: one change,
    # and the older page of the brief is not read (it would flip the record back and forth).
    report = reclean(db, clean, CLEANER_VERSION)
    assert (report.pages, report.changed) == (7, 1)
    assert db.execute("SELECT revision FROM briefs WHERE url = ?", [gold["url"]]).fetchone() == (3,)


def test_reclean_command_reports_and_keeps_quiet_without_a_terminal(db, tmp_path):
    path = tmp_path / "a.sqlite"
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "reclean", "--db", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"reclean: pages 7, new 0, changed 0, unchanged 7, failed 0 (cleaner {CLEANER_VERSION})\n"
    )
    assert result.stderr == ""


def test_reclean_shows_progress_on_a_terminal(db, tmp_path):
    status, text = run_in_terminal(
        [sys.executable, "-m", "crawler", "reclean", "--db", str(tmp_path / "a.sqlite")]
    )
    assert status == 0
    assert "re-cleaning" in text and "100%" in text
    assert "reclean: pages 7" in text


def test_a_page_that_names_another_canonical_is_not_applied(db):
    _, page, gold = sample_pages()[2]
    before = db.execute("SELECT revision, body FROM briefs WHERE url = ?", [gold["url"]]).fetchone()
    # The brief's page served at an old slug, with a text of its own, failed by an older cleaner.
    altered = page.replace(b"<p>", b"<p>ALTERED ", 1)
    alias = capture_of(altered, "2026-02-01T00:00:00+00:00", path="/news/brief/old-slug/")
    archive.store_capture(db, alias, error="extraction_failed: an older cleaner")
    report = reclean(db, clean, CLEANER_VERSION)
    assert (report.alias, report.changed, report.new) == (1, 0, 0)
    assert (
        db.execute("SELECT revision, body FROM briefs WHERE url = ?", [gold["url"]]).fetchone()
        == before
    )


def test_a_page_older_than_the_current_revision_never_rolls_a_brief_back(db):
    _, page, gold = sample_pages()[3]
    (old_capture,) = db.execute(
        "SELECT capture_id FROM briefs WHERE url = ?", [gold["url"]]
    ).fetchone()
    edited = replace(clean(page, "http://x/"), body="Edited later.")
    archive.store_capture(db, capture_of(page, "2026-05-01T00:00:00+00:00"), edited)
    # A cleaner that would change the old page's record, applied to the old page.
    report = reclean(db, improved_cleaner, "2", capture_ids=[old_capture])
    assert (report.stale, report.changed) == (1, 0)
    assert db.execute(
        "SELECT body, revision FROM briefs WHERE url = ?", [gold["url"]]
    ).fetchone() == (
        "Edited later.",
        2,
    )


def improved_cleaner(body: bytes, url: str, **kwargs) -> BriefRecord:
    record = clean(body, url, **kwargs)
    return replace(record, summary=record.summary + " (improved)")


def test_reclean_waits_its_turn_while_a_crawl_runs(tmp_path):
    db = tmp_path / "a.sqlite"
    site = LocalSite(site_brief(spec)[0] for spec in site_specs(8, seed=3))
    with site:
        # One page that does not answer keeps the crawl running until it times out (long
        # enough for the re-clean to start on a loaded machine).
        site.set_fault(site.briefs[0].path, Fault.slow(60))
        crawl = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", "--site", site.base_url, "--db", str(db),
             "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "DOWNLOAD_TIMEOUT=8",
             "-s", "RETRY_TIMES=0", *IDENTITY],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for_briefs(db, 7, crawl)
        during = reclean_command(db)
        assert crawl.poll() is None, "the crawl ended before the re-clean tried"
        assert crawl.wait(timeout=60) == 0, crawl.stderr.read()
    assert during.returncode == 75
    assert during.stderr.startswith("error: another crawl holds") and "re-cleaning" in during.stderr
    assert rows(db, "SELECT COUNT(*) FROM revisions WHERE made_by = 'reclean'") == [(0,)]
    after = reclean_command(db)
    assert after.returncode == 0 and "unchanged 7" in after.stdout


def test_reclean_of_a_missing_archive_creates_nothing(tmp_path):
    result = reclean_command(tmp_path / "none.sqlite")
    assert (
        result.returncode == 2
        and result.stderr == f"error: no archive at {tmp_path / 'none.sqlite'}\n"
    )
    assert list(tmp_path.iterdir()) == []


def reclean_command(db) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler", "reclean", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def v5_archive(path, pages: list[tuple[str, bytes, dict]]) -> None:
    """An archive as the release before section and country_codes left it (schema version
    5): each page stored raw with the record of that release (no section, no codes, its
    content hashed without section; the Mexico brief's meta-line theme taken for its
    country and its byline's footnote mark kept, as that release did on the live site)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:5]:
        for statement in _statements(migration):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 5")
    for capture_id, (name, page, _) in enumerate(pages, 1):
        capture = capture_of(page, "2026-01-01T00:00:00+00:00")
        old = clean(page, "http://x/").as_dict()
        del old["section"], old["country_codes"]
        if name.startswith("mexico"):
            old["countries"], old["authors"] = ["Extortion"], ["Lara Loaiza", "Steven Dudley*"]
        content = {name: old[name] for name in CONTENT_FIELDS if name != "section"}
        old["content_hash"] = hashlib.sha256(canonical_json(content).encode()).hexdigest()
        conn.execute(
            "INSERT INTO captures (id, requested_url, final_url, status, fetched_at, headers,"
            " body_sha256, body_length, body_gzip, brief_url, outcome)"
            " VALUES (?, ?, ?, 200, ?, ?, ?, ?, ?, ?, 'new')",
            [capture_id, capture.requested_url, capture.final_url, capture.fetched_at,
             json.dumps(capture.headers), capture.body_sha256, capture.body_length,
             capture.body_gzip(), old["url"]],
        )  # fmt: skip
        columns = [c for c in RECORD_FIELDS if c not in ("section", "country_codes")]
        values = {**old, "revision": 1, "first_seen": capture.fetched_at}
        values["last_seen"] = capture.fetched_at
        conn.execute(
            f"INSERT INTO briefs ({', '.join(columns)}, cleaner_version, capture_id)"
            f" VALUES ({', '.join('?' * len(columns))}, '1', ?)",
            [canonical_json(values[c]) if c in JSON_FIELDS else values[c] for c in columns]
            + [capture_id],
        )
        conn.execute(
            "INSERT INTO revisions (url, revision, content_hash, record, cleaner_version,"
            " capture_id, seen_at) VALUES (?, 1, ?, ?, '1', ?, ?)",
            [old["url"], old["content_hash"], canonical_json(content), capture_id,
             capture.fetched_at],
        )  # fmt: skip
    conn.close()


def test_an_archive_of_the_release_before_migrates_and_reclean_fills_the_new_fields(tmp_path):
    path = tmp_path / "v5.sqlite"
    pages = sample_pages()
    v5_archive(path, pages)
    # Upgraded by the re-clean itself, which fetches nothing: it has no site to ask.
    result = reclean_command(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("reclean: pages 7, new 0, changed 7, unchanged 0, failed 0")
    db = archive.connect(path, readonly=True)
    assert db.execute("PRAGMA user_version").fetchone()[0] == archive.SCHEMA_VERSION
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert count(db, "SELECT COUNT(*) FROM captures") == 7
    for name, _, gold in pages:
        section, codes = gold["section"], gold["country_codes"]
        row = db.execute(
            "SELECT section, countries, country_codes, authors, revision, cleaner_version"
            " FROM briefs WHERE url = ?",
            [gold["url"]],
        ).fetchone()
        assert row == (
            section,
            canonical_json(gold["countries"]),
            canonical_json(codes),
            canonical_json(gold["authors"]),
            2,
            CLEANER_VERSION,
        ), name
        made_by, record = db.execute(
            "SELECT made_by, record FROM revisions WHERE url = ? AND revision = 2", [gold["url"]]
        ).fetchone()
        record = json.loads(record)
        assert made_by == "reclean", name
        assert (record["section"], record["country_codes"]) == (section, codes), name
    assert db.execute(
        "SELECT country_code, COUNT(*) FROM brief_countries GROUP BY country_code"
        " ORDER BY country_code"
    ).fetchall() == [("CR", 2), ("EC", 1), ("HT", 1), ("MX", 1), ("PA", 2), ("PE", 2), ("PY", 1)]
    db.close()


def test_reclean_gives_codes_a_cleaner_knows_anew_without_a_revision(db):
    known = {"Costa Rica": "CR", "Panama": "PA", "Paraguay": "PY", "Haiti": "HT", "Peru": "PE"}

    def more_codes(body: bytes, url: str, **kwargs) -> BriefRecord:
        record = clean(body, url, **kwargs)
        codes = [known.get(name, "MX") for name in record.countries]
        return replace(record, country_codes=codes)

    report = reclean(db, more_codes, CLEANER_VERSION)
    assert (report.unchanged, report.changed) == (7, 0)
    assert count(db, "SELECT COUNT(*) FROM revisions") == 7
    assert count(db, "SELECT COUNT(*) FROM brief_countries WHERE country_code IS NULL") == 0
