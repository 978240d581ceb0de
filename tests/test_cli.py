"""The `briefs` command: exit codes, demo, export, clean, and Scrapy's own CLI."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.demo_server import bundled_pages, serve_demo_site
from tests.gold import SAMPLES, gold_view, live_shape_pages, sample_pages
from tests.sitegen import IDENTITY

REPO = Path(__file__).resolve().parent.parent
FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "RETRY_TIMES=0", *IDENTITY]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def count_briefs(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM briefs").fetchone()[0]


def test_console_script_is_installed():
    assert shutil.which("briefs"), "pip install should put `briefs` on PATH"


def test_unwritable_archive_cannot_run(tmp_path):
    result = run(
        "crawl", "--site", "http://127.0.0.1:9", "--db", str(tmp_path / "missing-dir" / "a.sqlite")
    )
    assert result.returncode == 3
    assert "cannot open the archive" in result.stderr


BAD_CRAWLS = {
    "a date that is none": ["--since", "bogus"],
    "a date out of range in UTC": ["--since", "0001-01-01T00:00:00+01:00"],
    "another scheme": ["--site", "ftp://insightcrime.org"],
    "credentials": ["--site", "http://user:secret@127.0.0.1:9"],
    "a path": ["--site", "http://127.0.0.1:9/news/"],
    "a query": ["--site", "http://127.0.0.1:9/?p=1"],
    "a port out of range": ["--site", "http://127.0.0.1:99999"],
    "no time at all": ["--max-time", "0"],
    "a setting of ours out of range": ["-s", "BRIEFS_CLEANING_PROCESSES=0"],
    "a number that is none": ["-s", "DOWNLOAD_TIMEOUT=soon"],
    "an unknown discoverer": ["-s", "BRIEFS_DISCOVERY=listing,rumours"],
    "an identity that is no origin": ["-s", "BRIEFS_IDENTITY_ORIGIN=ftp://x"],
    "a setting without its value": ["-s", "NOEQUALS"],
}


@pytest.mark.parametrize("case", BAD_CRAWLS)
def test_a_bad_value_is_one_line_and_exit_2_before_anything_starts(tmp_path, case):
    db = tmp_path / "a.sqlite"
    options = ["--site", "http://127.0.0.1:9", "--db", str(db), *BAD_CRAWLS[case]]
    result = CliRunner().invoke(main, ["crawl", *options])
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert result.stdout == "" and "secret" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no archive, no lock file


BUNDLED = len(bundled_pages())
DEMO_LIVE_SHAPE = REPO / "crawler" / "demo_site" / "live-shape"


def bundled_gold() -> list[dict]:
    """The gold records of the bundled pages: the sample pages and some of the live shape's."""
    bundled = {page.stem for page in DEMO_LIVE_SHAPE.glob("*.html")}
    live = [gold for name, _, gold in live_shape_pages() if name in bundled]
    return [gold for _, _, gold in sample_pages()] + live


def test_demo_archives_the_bundled_pages(tmp_path):
    db = tmp_path / "demo.sqlite"
    result = run("demo", "--db", str(db))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        f"briefs: fetched {BUNDLED}, new {BUNDLED}, changed 0, unchanged 0, failed 0"
        in result.stdout
    )
    assert "briefs export" in result.stdout and "sqlite3" in result.stdout
    assert count_briefs(db) == BUNDLED == len(bundled_gold())
    with sqlite3.connect(db) as conn:  # a plain SQLite file any tool reads
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_scrapy_crawl_does_the_same(tmp_path):
    db = tmp_path / "scrapy.sqlite"
    with serve_demo_site() as site_url:
        result = subprocess.run(
            [
                "scrapy",
                "crawl",
                "briefs",
                "-a",
                f"site={site_url}",
                "-s",
                f"BRIEFS_DB={db}",
                "-s",
                "AUTOTHROTTLE_START_DELAY=0",
                *IDENTITY,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"briefs: fetched {BUNDLED}, new {BUNDLED}" in result.stderr
    assert count_briefs(db) == BUNDLED


def test_export_writes_jsonl_and_refuses_to_overwrite(tmp_path):
    db = tmp_path / "demo.sqlite"
    assert run("demo", "--db", str(db)).returncode == 0
    out = tmp_path / "briefs.jsonl"
    assert run("export", "--db", str(db), "--format", "jsonl", "-o", str(out)).returncode == 0
    records = {r["url"]: r for r in map(json.loads, out.read_text().splitlines())}
    for gold in bundled_gold():
        assert gold_view(records[gold["url"]]) == gold
    out.write_text("keep me")
    refused = run("export", "--db", str(db), "--format", "jsonl", "-o", str(out))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert out.read_text() == "keep me"
    forced = run("export", "--db", str(db), "--format", "jsonl", "-o", str(out), "--force")
    assert forced.returncode == 0 and len(out.read_text().splitlines()) == BUNDLED


def test_export_of_a_missing_archive_is_a_clear_error(tmp_path):
    result = run("export", "--db", str(tmp_path / "none.sqlite"), "--format", "jsonl")
    assert result.returncode == 2 and "no archive" in result.stderr
    assert not (tmp_path / "none.sqlite").exists()


def test_clean_prints_records_and_reports_bad_files(tmp_path):
    folder = tmp_path / "pages"
    # The sample pages alone (the folder, the demo's, also holds the live-shape pages).
    shutil.copytree(SAMPLES, folder, ignore=shutil.ignore_patterns("live-shape"))
    (folder / "zz-broken.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = run("clean", str(folder))
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [gold_view(r) for r in records] == [gold for _, _, gold in sample_pages()]
    assert (
        result.stderr.strip().splitlines()
        == [
            line
            for line in result.stderr.strip().splitlines()
            if "zz-broken.html: not_html" in line
        ]
        and result.stderr.count("\n") == 1
    )


def test_clean_takes_the_url_when_given(tmp_path):
    page = next(SAMPLES.glob("haiti*.html"))
    result = run("clean", str(page), "--url", "https://example.org/news/brief/x/")
    assert result.returncode == 0
    record = json.loads(result.stdout)
    assert record["url"] == "https://example.org/news/brief/x/"
    assert record["title"] == "Haiti Targets MS13 Network"


@pytest.mark.parametrize("command", [["clean", str(SAMPLES)], ["--help"], ["crawl", "--help"]])
def test_a_reader_that_went_away_ends_the_command_quietly(command):
    reader, writer = os.pipe()
    os.close(reader)  # gone before the first line: every write to the pipe fails
    try:
        result = subprocess.run(
            [sys.executable, "-m", "crawler", *command],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(writer)
    assert (result.returncode, result.stderr) == (0, "")


def test_output_that_cannot_be_written_is_one_line_and_exit_3():
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "crawler", "clean", str(SAMPLES)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert result.returncode == 3
    assert result.stderr == "error: cannot write the output: No space left on device\n"
