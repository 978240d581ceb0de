"""Reading an archive from a test, as an analyst would: read-only, never holding it open."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(f"{Path(db).resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def archived(db: Path) -> int:
    """The briefs in the archive at `db`; 0 while it is not made yet (a crawl starting)."""
    try:
        return rows(db, "SELECT COUNT(*) FROM briefs")[0][0]
    except sqlite3.Error:
        return 0


def wait_for_briefs(db: Path, count: int, process: subprocess.Popen) -> None:
    """Until `process` (a crawl) has archived `count` briefs."""
    deadline = time.monotonic() + 60
    while archived(db) < count:
        assert process.poll() is None, "the crawl ended before the moment to stop it"
        assert time.monotonic() < deadline
        time.sleep(0.02)
