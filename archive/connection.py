"""The archive's connection: opening (and migrating) it, transactions, its clock, and the errors
that say the archive cannot be used."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from archive.schema import SCHEMA_VERSION, migrate, schema_version

# Every schema version of the archive has these tables: a SQLite file without them is not one.
ARCHIVE_TABLES = frozenset({"briefs", "captures", "runs"})


class ArchiveError(RuntimeError):
    """The archive cannot be opened, created or written."""


class NotAnArchive(ArchiveError):
    """There is no archive at the path, or what is there is not a briefs archive."""


# SQLite's primary result codes that say the archive itself cannot go on taking writes (the
# disk is full, reading or writing it failed, it is damaged or not a database, it became
# read-only), as opposed to one write that was refused (a constraint, a bad value).
_UNWRITABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PERM,
    }
)
_UNWRITABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EROFS, errno.EDQUOT})


class ArchiveUnwritable(ArchiveError):
    """The archive cannot take writes any more (full disk, I/O error, damaged file): a crawl,
    a re-clean or an ingest stops at once, keeping what it committed."""


def unwritable(error: BaseException) -> bool:
    """Whether `error` says the archive cannot go on taking writes (see ArchiveUnwritable)."""
    if isinstance(error, ArchiveUnwritable):
        return True
    if isinstance(error, ArchiveError) and error.__cause__ is not None:
        return unwritable(error.__cause__)  # connect()'s, naming the archive
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _UNWRITABLE_CODES
    return isinstance(error, OSError) and error.errno in _UNWRITABLE_ERRNOS


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def utc_now_precise() -> str:
    """For ordering events within a second (the frontier's `updated_at`): always with
    microseconds, so that these strings compare as the instants they name."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def connect(
    path: str | Path, *, readonly: bool = False, create: bool = True
) -> sqlite_utils.Database:
    """Open the archive at `path`: read-only, or to write (created unless `create` is false,
    and migrated).

    NotAnArchive, and nothing changed, for a path without an archive (unless a writing
    connection may create one there: a new path or an empty file) and for a file that is
    not a briefs archive, another program's SQLite database among them.
    The connection is in autocommit mode: `transaction()` is the only way writes are grouped.
    """
    path = Path(path)
    try:
        conn = _open_reader(path) if readonly else _open_writer(path, create)
    except ArchiveError:
        raise
    except (sqlite3.Error, OSError, RuntimeError) as error:
        raise ArchiveError(f"cannot open the archive at {path}: {error}") from error
    return sqlite_utils.Database(conn)


def reader_uri(path: str | Path) -> str:
    """The URI that opens the archive at `path` read-only.

    `mode=ro`, unless no -wal is beside the file and its folder cannot be written (read-only
    media, a mounted snapshot): then `immutable=1`, since a WAL reader would have to create
    the -shm there, and no writer is at work (a writer makes a -wal first).
    """
    path = Path(path)
    immutable = not _wal(path).exists() and not os.access(path.parent, os.W_OK)
    return f"{path.resolve().as_uri()}?{'immutable=1' if immutable else 'mode=ro'}"


def _open_reader(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise NotAnArchive(f"no archive at {path}")
    _refuse_foreign(path, empty_ok=False)
    conn = sqlite3.connect(reader_uri(path), uri=True, isolation_level=None, timeout=30)
    try:
        version = schema_version(conn)
        if version != SCHEMA_VERSION:
            raise ArchiveError(
                f"{path} has schema version {version}, this briefs reads {SCHEMA_VERSION}"
                + (
                    ": run `briefs reclean` (or `briefs crawl`) on it once to upgrade"
                    if version < SCHEMA_VERSION
                    else ": upgrade briefs"
                )
            )
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _open_writer(path: Path, create: bool) -> sqlite3.Connection:
    if not path.exists():
        if not create:
            raise NotAnArchive(f"no archive at {path}")
    elif not path.is_file() or path.stat().st_size:
        _refuse_foreign(path, empty_ok=True)  # before anything writes to it
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn)
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _refuse_foreign(path: Path, *, empty_ok: bool) -> None:
    """Raise NotAnArchive unless `path` is a briefs archive (or, `empty_ok`, an empty
    database, which a writer makes one), reading it without writing anything beside it.
    """
    if not path.is_file():
        raise NotAnArchive(f"{path} is not a briefs archive: it is not a file")
    # Without a -wal beside it no connection has it open in WAL mode, and an immutable
    # read creates none (mode=ro would leave a -wal and a -shm behind, in a stranger's folder).
    mode = "mode=ro" if _wal(path).exists() else "immutable=1"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, timeout=30)
    try:
        version = schema_version(conn)
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite!_%' ESCAPE '!'"
            )
        }
    except sqlite3.DatabaseError as error:
        if error.sqlite_errorcode == sqlite3.SQLITE_NOTADB:
            raise NotAnArchive(f"{path} is not a briefs archive: {error}") from None
        raise
    finally:
        conn.close()
    if version == 0 and tables:
        reason = f"a database of another program (tables {', '.join(sorted(tables))})"
    elif version and (missing := ARCHIVE_TABLES - tables):
        reason = f"schema version {version} without the tables {', '.join(sorted(missing))}"
    elif version == 0 and not empty_ok:
        reason = "it is empty"
    else:
        return
    raise NotAnArchive(f"{path} is not a briefs archive: {reason}")


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


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
