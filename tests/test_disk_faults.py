"""A full disk or a damaged archive: the command stops at once with one error line and exit
status 3, the run is closed as failed, what was stored stays whole, and the next run resumes.

The full disk is a small tmpfs mounted for the test (skipped, saying why, where this process
may not mount one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import archive
from cleaning import clean
from tests.archive_rows import rows
from tests.localsite import LocalSite
from tests.sitegen import IDENTITY, site_brief, site_specs

FAST = ["-s", "AUTOTHROTTLE_START_DELAY=0", *IDENTITY]
SPECS = site_specs(30, seed=59)


def briefs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a 1 MiB tmpfs, and a function that grows the tmpfs to 64 MiB."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=64m", str(folder)], check=True)

    yield folder, grow
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_stops_the_crawl_and_the_next_one_resumes(small_disk):
    folder, grow = small_disk
    db = folder / "a.sqlite"
    with LocalSite(site_brief(spec)[0] for spec in SPECS) as site:
        full = briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST)
        assert full.returncode == 3, full.stderr
        assert full.stdout.strip().endswith("-- stopped: the archive cannot be written")
        assert full.stderr == (
            f"error: cannot write the archive at {db}: database or disk is full\n"
        )
        ((status, error),) = rows(db, "SELECT status, error FROM runs")
        assert status == "failed" and error.endswith("database or disk is full")
        assert rows(db, "PRAGMA integrity_check") == [("ok",)]
        stored = rows(db, "SELECT COUNT(*) FROM briefs")[0][0]
        assert stored < len(SPECS)
        # Every brief not stored is still pending; none is marked done without its capture.
        assert rows(
            db,
            "SELECT COUNT(*) FROM frontier f WHERE state = 'done' AND NOT EXISTS"
            " (SELECT 1 FROM captures c WHERE c.requested_url = f.url)",
        ) == [(0,)]
        grow()
        resumed = briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST)
        assert resumed.returncode == 0, resumed.stderr
    assert rows(db, "SELECT COUNT(*) FROM briefs") == [(len(SPECS),)]
    assert rows(db, "SELECT COUNT(*) FROM revisions") == [(len(SPECS),)]
    assert rows(db, "SELECT status FROM runs ORDER BY id") == [("failed",), ("ok",)]


def archive_of(db: Path, count: int) -> None:
    """An archive of `count` briefs, as a crawl of them at their own URLs leaves it."""
    target = archive.connect(db)
    for spec in SPECS[:count]:
        brief, _ = site_brief(spec)
        url = "http://127.0.0.1:1" + brief.path
        capture = archive.Capture(requested_url=url, final_url=url, status=200, body=brief.html,
                                  fetched_at="2026-01-01T00:00:00+00:00")  # fmt: skip
        archive.store_capture(target, capture, clean(brief.html, url))
    target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    target.close()


def test_a_full_disk_stops_a_reclean_with_one_line(small_disk):
    folder, _ = small_disk
    db = folder / "a.sqlite"
    # Built off the small disk (a new archive's migrations fill the WAL a checkpoint needs
    # room beside), then copied onto it whole.
    built = folder.parent / "built.sqlite"
    archive_of(built, 6)
    shutil.copyfile(built, db)
    # Leave the disk room to open the archive, not to write six new revisions.
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    filler.write_bytes(b"\0" * (free - 96 * 1024))
    result = reclean_with_a_changed_cleaner(db)
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(f"error: cannot re-clean the archive at {db}: ")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    filler.unlink()
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def reclean_with_a_changed_cleaner(db: Path) -> subprocess.CompletedProcess:
    """`briefs reclean` with a cleaner that changes every record, so that each page is a
    write."""
    return subprocess.run(
        [sys.executable, "-c", RECLEAN_WITH_A_CHANGED_CLEANER, str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )


RECLEAN_WITH_A_CHANGED_CLEANER = """
import sys
from dataclasses import replace
import cleaning
from crawler.cli import main

clean = cleaning.clean
cleaning.clean = lambda *a, **k: replace(clean(*a, **k), summary="changed")
main(["reclean", "--db", sys.argv[1]])
"""


def damage(db: Path, table: str) -> None:
    """Overwrite the first page of `table` (which every read of it goes through) with junk."""
    conn = archive.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()
    conn.close()
    with db.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xde\xad" * (page_size // 2))


@pytest.mark.parametrize("command", ["crawl", "reclean"])
def test_a_damaged_archive_is_one_line_and_exit_3(tmp_path, command):
    db = tmp_path / "a.sqlite"
    archive_of(db, 8)
    damage(db, "frontier" if command == "crawl" else "briefs")
    if command == "crawl":
        with LocalSite(site_brief(spec)[0] for spec in SPECS[:8]) as site:
            result = briefs("crawl", "--site", site.base_url, "--db", str(db), *FAST)
    else:
        result = reclean_with_a_changed_cleaner(db)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "malformed" in lines[0]
