"""Re-cleaning stored pages: a revision only where the record changes, no fetch."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
from archive_rows import rows, wait_for_briefs
from gold import sample_pages
from sitegen import IDENTITY, site_brief, site_specs
from terminal import run_in_terminal

import archive
from archive.reclean import pages_to_reclean, reclean
from cleaning import CLEANER_VERSION, BriefRecord, clean
from cleaning.urls import url_path
from crawler.localsite import Fault, LocalSite


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
        # One page that does not answer keeps the crawl running until it times out.
        site.set_fault(site.briefs[0].path, Fault.slow(60))
        crawl = subprocess.Popen(
            [sys.executable, "-m", "crawler", "crawl", "--site", site.base_url, "--db", str(db),
             "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "DOWNLOAD_TIMEOUT=2",
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
