"""Snapshots of the archive: a consistent SQLite copy, written aside and renamed into place.

`snapshot_sqlite` copies the archive while a crawl may be writing to it: the copy is one
read transaction of the source (SQLite's backup API, or for an incremental snapshot an ATTACH
and INSERT … SELECT), so it never holds half a crawl's write, and the crawl is never blocked (WAL).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from archive.connection import ArchiveError, connect

# What an incremental snapshot (since DATE) of the SQLite archive keeps of each table: every
# run, the briefs new or changed since DATE (export.since_clause), their revisions seen since
# DATE, and the captures fetched since DATE (with any capture a kept row refers to).
SINCE_FILTERS = {
    "runs": "1",
    "captures": "fetched_at >= :since OR id IN (SELECT capture_id FROM kept_captures)",
    "briefs": "EXISTS (SELECT 1 FROM src.revisions AS r WHERE r.url = briefs.url"
    " AND r.revision = briefs.revision AND r.seen_at >= :since)",
    "revisions": "seen_at >= :since",
}


class TargetExists(ArchiveError):
    """The export's target exists and --force was not given."""


def parse_since(value: str, name: str = "since") -> str:
    """An ISO date stays a date; a date and time becomes ISO 8601 UTC, as the archive's are.

    Comparing the archive's timestamps with either as text is then a comparison of moments.
    """
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--{name} takes a date (2021-03-01) or an ISO 8601 date and time, not {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def atomic_target(target: Path, *, force: bool = False) -> Iterator[Path]:
    """A path beside `target` to write to; renamed to `target` if the block succeeds.

    A reader never sees half an export, and an existing target is kept unless `force`.
    """
    if target.exists() and not force:
        raise TargetExists(f"{target} exists; use --force to replace it")
    partial = target.with_name(target.name + ".partial")
    _remove(partial)
    try:
        yield partial
    except BaseException:
        _remove(partial)
        raise
    if partial.is_dir():
        # A directory cannot replace another in one step: move the old one aside first.
        old = target.with_name(target.name + ".old")
        _remove(old)
        if target.exists():
            os.replace(target, old)
        os.replace(partial, target)
        _remove(old)
    else:
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(partial, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def snapshot_sqlite(source: str | Path, target: str | Path, since: str | None = None) -> None:
    """Write a consistent copy of the archive at `source` to the new file `target`.

    The copy is a rollback-journal database (one file, no -wal), of the same schema version,
    passing `PRAGMA integrity_check`. With `since`, it holds what changed since then (see
    SINCE_FILTERS) and a full-text index of those briefs.
    """
    source, target = Path(source), Path(target)
    connect(source, readonly=True).close()  # a clear error for a missing or foreign file
    try:
        if since is None:
            _full_copy(source, target)
        else:
            _incremental_copy(source, target, since)
    except sqlite3.Error as error:
        raise ArchiveError(f"cannot copy the archive {source}: {error}") from error


def _full_copy(source: Path, target: Path) -> None:
    # SQLite's online backup in one step: the pages of one read transaction of the source.
    # (Not VACUUM INTO: SQLite 3.40 refuses it on a read-only connection to a table with a
    # generated column, as briefs.year is.)
    conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        conn.backup(copy)
        # One self-contained file: no -wal beside it, readable read-only anywhere.
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()
        conn.close()


def _incremental_copy(source: Path, target: Path, since: str) -> None:
    connect(target).close()  # the schema, by the same migrations
    conn = sqlite3.connect(target.resolve().as_uri(), uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("ATTACH ? AS src", [f"{source.resolve().as_uri()}?mode=ro"])
        # One transaction: every read of src sees the same moment of the archive.
        conn.execute("BEGIN")
        conn.execute(
            "CREATE TEMP TABLE kept_captures AS"
            f" SELECT capture_id FROM src.briefs WHERE {SINCE_FILTERS['briefs']}"
            f" UNION SELECT capture_id FROM src.revisions WHERE {SINCE_FILTERS['revisions']}",
            {"since": since},
        )
        for table, condition in SINCE_FILTERS.items():
            # table_info leaves generated columns out: they cannot be inserted. A table without
            # an INTEGER PRIMARY KEY (briefs) keeps its rowids too: the full-text index uses them.
            info = conn.execute(f"PRAGMA main.table_info({table})").fetchall()
            names = [row[1] for row in info]
            if not any(row[5] and row[2].upper() == "INTEGER" for row in info):
                names.insert(0, "rowid")
            columns = ", ".join(names)
            conn.execute(
                f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM src.{table}"
                f" AS {table} WHERE {condition} ORDER BY rowid",
                {"since": since},
            )
        conn.execute("COMMIT")
        conn.execute("DETACH src")
        conn.execute("VACUUM")
    finally:
        conn.close()
