"""Cron-grade crawls: incremental, conditional, one at a time, crash-safe, made for cron."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

import archive
from cleaning.urls import is_brief_path
from tests.archive_rows import archived, rows, wait_for_briefs
from tests.localsite import Fault, Gate, LocalSite
from tests.processes import children, running, shared_memory_of
from tests.sitegen import IDENTITY, revise, site_brief, site_specs
from tests.terminal import run_in_terminal

FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "RETRY_AFTER_DEFAULT=0.2", *IDENTITY]
SPECS = site_specs(40, seed=11)


def briefs(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def crawl_command(site: LocalSite, db: Path, *options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler",
        "crawl",
        "--site",
        site.base_url,
        "--db",
        str(db),
        *FAST,
        *options,
    ]


def brief_requests(site: LocalSite) -> list[str]:
    return sorted(r.path for r in site.requests if is_brief_path(r.path.split("?")[0]))


def new_site(specs=SPECS) -> tuple[LocalSite, list[dict]]:
    built = [site_brief(spec) for spec in specs]
    return LocalSite([brief for brief, _ in built]), [record for _, record in built]


def test_second_crawl_fetches_only_new_and_edited_briefs(tmp_path):
    db = tmp_path / "a.sqlite"
    site, _ = new_site(SPECS[:30])
    with site:
        assert briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST).returncode == 0
        first_requests = len(site.requests)
        site.clear_requests()
        # New briefs are the newest: they top the listing, as on the live site.
        added = [site_brief(replace(spec, published=datetime.now(UTC))) for spec in SPECS[30:32]]
        for brief, _ in added:
            site.add(brief)
        edited_spec = revise(SPECS[3], datetime.now(UTC))
        edited, edited_record = site_brief(edited_spec)
        site.replace(edited.path, edited.html, edited.modified)
        second = briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == "briefs: fetched 3, new 2, changed 1, unchanged 0, failed 0"
        assert brief_requests(site) == sorted([b.path for b, _ in added] + [edited.path])
        # The listing walk stops at the first page of briefs all archived (page 2 here).
        listing = sorted(r.path for r in site.requests if r.path.startswith("/news/brief/page/"))
        assert listing == ["/news/brief/page/2/"]
        assert len(site.requests) <= 0.35 * first_requests
        edited_request = next(r for r in site.requests if r.path == edited.path)
        assert "If-None-Match" in edited_request.headers
    assert rows(db, "SELECT revision FROM briefs WHERE url = ?", edited_record["url"]) == [(2,)]
    assert rows(db, "SELECT COUNT(*) FROM briefs") == [(32,)]


def test_lock_refuses_a_second_crawl_and_a_dead_holder_is_taken_over(tmp_path):
    db = tmp_path / "a.sqlite"
    site, _ = new_site(SPECS[:3])
    with site:
        with archive.ArchiveLock(db):
            started = time.monotonic()
            locked = briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST)
            assert locked.returncode == 75
            assert "another crawl holds" in locked.stderr and f"pid {os.getpid()}" in locked.stderr
            assert time.monotonic() - started < 10
            assert brief_requests(site) == []
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                (
                    "import sys, time, archive; archive.ArchiveLock(sys.argv[1]).acquire(); "
                    "print('held', flush=True); time.sleep(60)"
                ),
                str(db),
            ],
            stdout=subprocess.PIPE,
        )
        assert holder.stdout.readline() == b"held\n"
        holder.kill()
        holder.wait()
        assert Path(f"{db}.lock").exists()
        result = briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST)
        assert result.returncode == 0, result.stderr
        assert "new 3" in result.stdout


def test_killed_crawls_resume_without_loss_or_duplicates(tmp_path):
    db = tmp_path / "a.sqlite"
    site, records = new_site()
    # The site answers brief pages only as the test lets it, so that each kill lands with
    # the crawl where the test says, however fast or busy the machine.
    gate = Gate()
    with site:
        for brief in site.briefs:
            site.set_fault(brief.path, Fault.held(gate))
        # Killed at start-up, and then each after it has archived a few briefs of its own
        # (and holds requests for others in flight).
        for progress in (None, 3, 5, 5):
            before = archived(db)
            process = subprocess.Popen(
                crawl_command(site, db), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if progress is None:
                time.sleep(0.3)
            else:
                gate.release(progress)
                wait_for_briefs(db, before + progress, process)
            workers = children(process.pid)
            shared_memory = shared_memory_of([process.pid, *workers])
            process.send_signal(signal.SIGKILL)
            process.wait()
            # Its cleaning and writing processes do not outlive it.
            deadline = time.monotonic() + 10
            while any(map(running, workers)):
                assert time.monotonic() < deadline, "worker processes outlived the crawler"
                time.sleep(0.05)
            # Nor does the memory it shared with them (multiprocessing's resource tracker,
            # one of those processes, frees it).
            assert not shared_memory & set(os.listdir("/dev/shm"))
            if db.exists():
                assert rows(db, "PRAGMA integrity_check") == [("ok",)]
                assert_no_duplicates(db)
        done_before = rows(db, "SELECT COUNT(*) FROM briefs")[0][0]
        assert done_before == 3 + 5 + 5, "the kills should land mid-crawl"
        gate.open()
        final = briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST)
        assert final.returncode == 0, final.stderr
    assert_no_duplicates(db)
    assert rows(db, "SELECT COUNT(*) FROM briefs") == [(len(records),)]
    assert rows(db, "SELECT COUNT(*) FROM revisions") == [(len(records),)]
    assert rows(db, "SELECT COUNT(*) FROM frontier WHERE state = 'pending'") == [(0,)]
    statuses = [status for (status,) in rows(db, "SELECT status FROM runs ORDER BY id")]
    assert statuses[-1] == "ok" and set(statuses[:-1]) == {"interrupted"}
    assert len(statuses) >= 4  # the kill at start-up may come before its run is opened
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def assert_no_duplicates(db: Path) -> None:
    assert (
        rows(
            db,
            "SELECT url, revision, COUNT(*) FROM revisions GROUP BY url, revision "
            "HAVING COUNT(*) > 1",
        )
        == []
    )
    assert rows(
        db,
        "SELECT COUNT(*) FROM briefs b WHERE NOT EXISTS (SELECT 1 FROM revisions r "
        "WHERE r.url = b.url AND r.revision = b.revision)",
    ) == [(0,)]
    assert rows(
        db,
        "SELECT COUNT(*) FROM briefs b JOIN captures c ON c.id = b.capture_id "
        "WHERE c.brief_url != b.url",
    ) == [(0,)]


@pytest.mark.parametrize("how", ["SIGTERM to the crawler", "Ctrl-C (SIGINT to the process group)"])
def test_a_signal_stops_cleanly_keeping_what_was_done(tmp_path, how):
    db = tmp_path / "a.sqlite"
    site, records = new_site()
    with site:
        for brief in site.briefs:
            site.set_fault(brief.path, Fault.slow(0.05))
        process = subprocess.Popen(
            crawl_command(site, db),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        wait_for_briefs(db, 5, process)
        if how.startswith("SIGTERM"):
            process.send_signal(signal.SIGTERM)
        else:
            os.killpg(process.pid, signal.SIGINT)  # the crawler and its worker processes
        out, err = process.communicate(timeout=60)
        assert process.returncode == 130, err[-2000:]
        assert "interrupted" in out and "failed 0" in out, out
        kept = rows(db, "SELECT COUNT(*) FROM briefs")[0][0]
        assert 0 < kept < len(records)
        assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
        # The pages in hand when the signal came were cleaned and stored, none failed.
        assert rows(db, "SELECT COUNT(*) FROM captures WHERE outcome = 'failed'") == [(0,)]
        assert briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST).returncode == 0
    assert rows(db, "SELECT COUNT(*) FROM briefs") == [(len(records),)]


def test_max_pages_bounds_a_run_and_the_rest_waits(tmp_path):
    db = tmp_path / "a.sqlite"
    site, _ = new_site(SPECS[:12])
    with site:
        bounded = briefs(
            "crawl", "--site", site.base_url, "--db", str(db), "--max-pages", "5", *FAST
        )
        assert bounded.returncode == 0, bounded.stderr
        assert rows(db, "SELECT COUNT(*) FROM briefs") == [(5,)]
        assert rows(db, "SELECT COUNT(*) FROM frontier WHERE state = 'pending'") == [(7,)]
        # No more brief pages were asked for than the bound, however many were in flight.
        assert sum(bool(site.requests_for(spec.path)) for spec in SPECS[:12]) == 5
        rest = briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST)
        assert rest.returncode == 0
    assert rows(db, "SELECT COUNT(*) FROM briefs") == [(12,)]


def test_since_bounds_a_run_by_date(tmp_path):
    db = tmp_path / "a.sqlite"
    site, records = new_site(SPECS[:20])
    dates = sorted(r["published"] for r in records)
    since = dates[12]
    with site:
        result = briefs("crawl", "--site", site.base_url, "--db", str(db), "--since", since, *FAST)
        assert result.returncode == 0, result.stderr
    got = {url for (url,) in rows(db, "SELECT url FROM briefs")}
    assert got == {
        r["url"] for r in records if r["published"] >= since or (r["updated"] or "") >= since
    }
    assert len(got) < len(records)


def test_without_a_terminal_only_the_summary_and_a_log_file_on_request(tmp_path):
    db = tmp_path / "a.sqlite"
    log = tmp_path / "crawl.log"
    site, _ = new_site(SPECS[:4])
    with site:
        result = briefs(
            "crawl", "--site", site.base_url, "--db", str(db), "--log-file", str(log), *FAST
        )
    assert result.returncode == 0
    assert result.stdout == "briefs: fetched 4, new 4, changed 0, unchanged 0, failed 0\n"
    assert result.stderr == ""
    text = log.read_text()
    assert "Spider opened" in text and "briefs: fetched 4" in text


def test_a_terminal_gets_a_live_progress_line(tmp_path):
    db = tmp_path / "a.sqlite"
    site, _ = new_site(SPECS[:4])
    with site:
        status, text = run_in_terminal(crawl_command(site, db))
    assert status == 0
    assert "\r\x1b[Krequests" in text
    assert "| new 4 |" in text
    assert "briefs: fetched 4, new 4" in text


def test_runs_ledger_and_command(tmp_path):
    db = tmp_path / "a.sqlite"
    site, _ = new_site(SPECS[:5])
    with site:
        assert briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST).returncode == 0
        assert (
            briefs("crawl", "--site", site.base_url, "--db", str(db), "--full", *FAST).returncode
            == 0
        )
    result = briefs("runs", "--db", str(db), "--format", "json")
    assert result.returncode == 0
    latest, first = json.loads(result.stdout)
    assert first["status"] == latest["status"] == "ok"
    assert first["new"] == 5, first
    assert first["responses_2xx"] >= 5 and first["bytes"] > 5 * 100_000, first
    assert (latest["not_modified"], latest["unchanged"], latest["new"]) == (5, 5, 0), latest
    assert json.loads(first["options"])["BRIEFS_FULL"] in (False, "False")
    assert json.loads(latest["options"])["BRIEFS_FULL"] in (True, "True")
    assert latest["requests"] > 0 and latest["finished_at"] >= latest["started_at"]
    table = briefs("runs", "--db", str(db))
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split()[:4] == ["id", "started_at", "finished_at", "status"]
    assert len(table.stdout.splitlines()) == 4


def test_extraction_failures_over_the_threshold_alert(tmp_path):
    db = tmp_path / "a.sqlite"
    site, _ = new_site(SPECS[:5])
    with site:
        for brief in site.briefs[:2]:
            page = brief.html
            start = page.index(b'<header class="entry-header">')
            end = page.index(b'<footer class="entry-footer">')
            site.set_fault(
                brief.path, Fault.body(page[:start] + page[end:], "text/html; charset=UTF-8")
            )
        result = briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST)
        assert result.returncode == 1
        assert "alert: extraction failed on 2 of 5 brief pages (40%" in result.stderr
        assert rows(db, "SELECT status, extraction_failed, alert IS NOT NULL FROM runs") == [
            ("ok", 2, 1)
        ]
        relaxed = briefs(
            "crawl",
            "--site",
            site.base_url,
            "--db",
            str(tmp_path / "b.sqlite"),
            "-s",
            "BRIEFS_MAX_EXTRACTION_FAILURES=0.5",
            *FAST,
        )
        assert relaxed.returncode == 0, relaxed.stderr


@pytest.mark.parametrize("name", ["CONCURRENT_REQUESTS_PER_DOMAIN", "DOWNLOAD_TIMEOUT"])
def test_politeness_defaults_are_ordinary_overridable_settings(name):
    from crawler.run import crawl_settings

    defaults = crawl_settings("x.sqlite")
    assert defaults.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2
    assert defaults.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY") == 1.0
    assert defaults.getbool("AUTOTHROTTLE_ENABLED")
    assert defaults.getint("DOWNLOAD_MAXSIZE") == 10 * 1024 * 1024
    assert crawl_settings("x.sqlite", {name: "7"}).getint(name) == 7
