"""Reading the archive out: the records of RECORD.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TextIO

import sqlite_utils

from archive.schema import JSON_FIELDS, RECORD_FIELDS


def iter_records(db: sqlite_utils.Database) -> Iterator[dict[str, object]]:
    """Each brief's latest record, oldest publication first (then by URL, so output is stable)."""
    cursor = db.execute(
        "SELECT " + ", ".join(RECORD_FIELDS) + " FROM briefs ORDER BY published, url"
    )
    for row in cursor:
        yield {
            name: json.loads(value) if name in JSON_FIELDS else value
            for name, value in zip(RECORD_FIELDS, row, strict=True)
        }


def write_jsonl(db: sqlite_utils.Database, out: TextIO) -> int:
    """Write one JSON object a line; returns the number of records written."""
    count = 0
    for record in iter_records(db):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
