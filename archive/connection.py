"""The archive's connection: opening (and migrating) it, transactions, and its clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from archive.schema import SCHEMA_VERSION, migrate, schema_version


class ArchiveError(RuntimeError):
    """The archive cannot be opened, created or written."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def utc_now_precise() -> str:
    """For ordering events within a second (the frontier's `updated_at`): always with
    microseconds, so that these strings compare as the instants they name."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


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
    """All the writes in the block, or none. Inside another transaction, a savepoint: the
    block's writes are undone alone if it raises, and committed with the outer one."""
    if db.conn.in_transaction:
        db.execute("SAVEPOINT nested")
        try:
            yield
        except BaseException:
            if db.conn.in_transaction:  # (some errors, disk full among them, end it whole)
                db.execute("ROLLBACK TO nested")
                db.execute("RELEASE nested")
            raise
        db.execute("RELEASE nested")
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
