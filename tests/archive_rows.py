"""Reading an archive from a test, as an analyst would: read-only, never holding it open."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def rows(db: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(f"{Path(db).resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
