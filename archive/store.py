"""Every write to the archive: captures, briefs, revisions and runs, each in a transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import sqlite_utils

from archive.capture import Capture
from archive.schema import (
    CONTENT_COLUMNS,
    JSON_FIELDS,
    SCHEMA_VERSION,
    migrate,
    schema_version,
)
from cleaning.record import BriefRecord, canonical_json


class ArchiveError(RuntimeError):
    """The archive cannot be opened, created or written."""


class Outcome(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: str | Path, *, readonly: bool = False) -> sqlite_utils.Database:
    """Open (and, unless read-only, create and migrate) the archive at `path`.

    The connection is in autocommit mode: `transaction()` is the only way writes are grouped.
    """
    path = Path(path)
    try:
        if readonly:
            if not path.exists():
                raise ArchiveError(f"no archive at {path}")
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=30
            )
            version = schema_version(conn)
            if version != SCHEMA_VERSION:
                conn.close()
                raise ArchiveError(
                    f"{path} has schema version {version}, this briefs reads {SCHEMA_VERSION}"
                    + (
                        ": run `briefs crawl` on it once to upgrade"
                        if version < SCHEMA_VERSION
                        else ": upgrade briefs"
                    )
                )
        else:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            migrate(conn)
        conn.execute("PRAGMA foreign_keys = ON")
    except ArchiveError:
        raise
    except (sqlite3.Error, OSError, RuntimeError) as error:
        raise ArchiveError(f"cannot open the archive at {path}: {error}") from error
    return sqlite_utils.Database(conn)


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def start_run(db: sqlite_utils.Database, site: str, options: dict[str, object]) -> int:
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO runs (started_at, site, options) VALUES (?, ?, ?)",
            [utc_now(), site, canonical_json(options)],
        )
    return cursor.lastrowid


def finish_run(
    db: sqlite_utils.Database,
    run_id: int,
    *,
    status: str,
    counts: dict[str, int],
    error: str | None = None,
) -> None:
    columns = ("fetched", "new", "changed", "unchanged", "failed", "skipped")
    with transaction(db):
        db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, error = ?, "
            + ", ".join(f"{name} = ?" for name in columns)
            + " WHERE id = ?",
            [utc_now(), status, error, *(counts.get(name, 0) for name in columns), run_id],
        )


def store_capture(
    db: sqlite_utils.Database,
    capture: Capture,
    record: BriefRecord | None = None,
    *,
    error: str | None = None,
    skipped: bool = False,
    cleaner_version: str = "",
    run_id: int | None = None,
) -> Outcome:
    """Write one fetch and what it gave, atomically.

    A capture with a record updates its brief: a new brief gets revision 1, a change of content
    (a different content_hash) a new revision, the same content only moves `last_seen`.
    A capture without a record is kept as `failed` (with its reason) or `skipped` (not a brief,
    kept without its body) and touches no brief.
    """
    if record is None and not (error or capture.error):
        raise ValueError("a capture without a record needs the reason it has none")
    with transaction(db):
        if record is None:
            outcome = Outcome.SKIPPED if skipped else Outcome.FAILED
            _insert_capture(
                db, capture, outcome, None, error or capture.error, run_id, keep_body=not skipped
            )
            return outcome
        current = db.execute(
            "SELECT content_hash, revision FROM briefs WHERE url = ?", [record.url]
        ).fetchone()
        if current is None:
            outcome = Outcome.NEW
        elif current[0] == record.content_hash:
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.CHANGED
        capture_id = _insert_capture(db, capture, outcome, record.url, None, run_id)
        if outcome is Outcome.UNCHANGED:
            db.execute(
                "UPDATE briefs SET last_seen = MAX(last_seen, ?), capture_id = ? WHERE url = ?",
                [capture.fetched_at, capture_id, record.url],
            )
            return outcome
        revision = 1 if current is None else current[1] + 1
        fields = _brief_columns(record)
        if current is None:
            db.execute(
                "INSERT INTO briefs (" + ", ".join(fields) + ", revision, first_seen, last_seen,"
                " cleaner_version, capture_id) VALUES ("
                + ", ".join("?" * len(fields))
                + ", ?, ?, ?, ?, ?)",
                [
                    *fields.values(),
                    revision,
                    capture.fetched_at,
                    capture.fetched_at,
                    cleaner_version,
                    capture_id,
                ],
            )
        else:
            db.execute(
                "UPDATE briefs SET "
                + ", ".join(f"{name} = ?" for name in fields)
                + ", revision = ?, last_seen = MAX(last_seen, ?), cleaner_version = ?,"
                " capture_id = ? WHERE url = ?",
                [
                    *fields.values(),
                    revision,
                    capture.fetched_at,
                    cleaner_version,
                    capture_id,
                    record.url,
                ],
            )
        db.execute(
            "INSERT INTO revisions (url, revision, content_hash, record, cleaner_version,"
            " capture_id, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                record.url,
                revision,
                record.content_hash,
                canonical_json(record.content()),
                cleaner_version,
                capture_id,
                capture.fetched_at,
            ],
        )
        return outcome


def _brief_columns(record: BriefRecord) -> dict[str, object]:
    values = record.as_dict()
    return {
        name: canonical_json(values[name]) if name in JSON_FIELDS else values[name]
        for name in CONTENT_COLUMNS
    }


def _insert_capture(
    db: sqlite_utils.Database,
    capture: Capture,
    outcome: Outcome,
    brief_url: str | None,
    error: str | None,
    run_id: int | None,
    *,
    keep_body: bool = True,
) -> int:
    cursor = db.execute(
        "INSERT INTO captures (run_id, requested_url, final_url, status, fetched_at, headers,"
        " etag, last_modified, content_type, body_sha256, body_length, body_gzip, brief_url,"
        " outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            capture.requested_url,
            capture.final_url,
            capture.status,
            capture.fetched_at,
            json.dumps(capture.headers, ensure_ascii=False),
            capture.header("ETag"),
            capture.header("Last-Modified"),
            capture.header("Content-Type"),
            capture.body_sha256,
            None if capture.body is None else len(capture.body),
            capture.body_gzip() if keep_body else None,
            brief_url,
            outcome.value,
            error,
        ],
    )
    return cursor.lastrowid
