"""Re-cleaning stored pages: a revision only where the record changes, no fetch."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest
from gold import sample_pages
from terminal import run_in_terminal

import archive
from archive.reclean import pages_to_reclean, reclean
from cleaning import CLEANER_VERSION, BriefRecord, clean


def capture_of(name: str, page: bytes, at: str) -> archive.Capture:
    url = f"http://127.0.0.1:1/news/brief/{name}/"
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
    for name, page, _ in sample_pages():
        archive.store_capture(
            database,
            capture_of(name, page, "2026-01-01T00:00:00+00:00"),
            clean(page, "http://x/"),
            cleaner_version=CLEANER_VERSION,
        )
    yield database
    database.close()


def count(db, sql: str) -> int:
    return db.execute(sql).fetchone()[0]


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

    report = reclean(db, improved, "2")
    assert (report.changed, report.unchanged) == (6, 1)
    assert count(db, "SELECT COUNT(*) FROM revisions WHERE made_by = 'reclean'") == 6
    assert count(db, "SELECT COUNT(*) FROM briefs WHERE revision = 2") == 6
    assert count(db, "SELECT COUNT(*) FROM briefs WHERE cleaner_version = '2'") == 7
    assert count(db, "SELECT COUNT(*) FROM revisions WHERE cleaner_version = '2'") == 6
    again = reclean(db, improved, "2")
    assert (again.changed, again.unchanged) == (0, 7)
    assert count(db, "SELECT COUNT(*) FROM revisions") == 13


def test_a_page_that_failed_extraction_before_becomes_a_brief(db):
    name, page, gold = sample_pages()[0]
    db.execute("DELETE FROM revisions WHERE url = ?", [gold["url"]])
    db.execute("DELETE FROM briefs WHERE url = ?", [gold["url"]])
    failed = replace(capture_of(name + "-x", page, "2026-02-01T00:00:00+00:00"))
    archive.store_capture(db, failed, error="extraction_failed: an older cleaner")
    report = reclean(db, clean, CLEANER_VERSION)
    assert report.new == 1
    assert db.execute("SELECT revision FROM briefs WHERE url = ?", [gold["url"]]).fetchone() == (1,)


def test_only_the_latest_page_of_a_brief_is_read(db):
    name, page, gold = sample_pages()[1]
    record = clean(page, "http://x/")
    edited = replace(record, body=record.body + "\n\nAn update.")
    archive.store_capture(
        db,
        capture_of(name, page + b"<!-- v2 -->", "2026-03-01T00:00:00+00:00"),
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
