"""Snapshots of the archive: a consistent SQLite copy, written aside and renamed into place.

`snapshot_sqlite` copies the archive while a crawl may be writing to it: the copy is one
read transaction of the source (SQLite's backup API, or for an incremental snapshot an ATTACH
and INSERT … SELECT), so it never holds half a crawl's write, and the crawl is never blocked (WAL).

`atomic_target` is how every export reaches its path: written beside it, renamed into place,
and never over anything briefs did not make (`check_target`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

from archive.connection import ArchiveError, connect, reader_uri

# What an incremental snapshot (since DATE) of the SQLite archive keeps of each table: every
# run and every check, the briefs new or changed since DATE (export.since_clause), their
# revisions seen since DATE, and the captures and other exchanges fetched since DATE (with
# any row a kept row refers to: a capture a brief came from, the row that holds a body).
SINCE_FILTERS = {
    "runs": "1",
    "checks": "1",
    "captures": "fetched_at >= :since OR id IN (SELECT capture_id FROM kept_captures)",
    "exchanges": "fetched_at >= :since OR id IN (SELECT body_ref FROM src.exchanges"
    " WHERE fetched_at >= :since)",
    "briefs": "EXISTS (SELECT 1 FROM src.revisions AS r WHERE r.url = briefs.url"
    " AND r.revision = briefs.revision AND r.seen_at >= :since)",
    "revisions": "seen_at >= :since",
}
# The first word of the Bag-Software-Agent in the bag-info.txt of a bag briefs made: how an
# export tells its own bag, which --force may replace, from a folder of someone else's.
BAG_SOFTWARE_AGENT = "briefs"


class TargetRefused(ValueError):
    """The export's target is not a path an export may write (a folder it did not make, a
    link, a device), or its folder does not exist."""


class TargetExists(TargetRefused):
    """The export's target exists and --force was not given."""


class PathKind(StrEnum):
    """What is at a path, not following a symbolic link, as a message names it."""

    MISSING = "nothing"
    FILE = "a file"
    BRIEFS_BAG = "a bag briefs made"
    DIRECTORY = "a directory"
    SYMLINK = "a symbolic link"
    FIFO = "a FIFO"
    SOCKET = "a socket"
    DEVICE = "a device"


# What an export may replace (with --force) or remove (a NAME.partial left by an earlier one).
REPLACEABLE = (PathKind.FILE, PathKind.BRIEFS_BAG)


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
    try:
        return moment.astimezone(UTC).isoformat(timespec="seconds")
    except OverflowError:
        raise ValueError(
            f"--{name} {value!r} is out of range: in UTC it falls before year 1 or after 9999"
        ) from None


def path_kind(path: Path) -> PathKind:
    try:
        mode = path.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return PathKind.MISSING
    if stat.S_ISLNK(mode):
        return PathKind.SYMLINK
    if stat.S_ISREG(mode):
        return PathKind.FILE
    if stat.S_ISDIR(mode):
        return PathKind.BRIEFS_BAG if is_briefs_bag(path) else PathKind.DIRECTORY
    if stat.S_ISFIFO(mode):
        return PathKind.FIFO
    if stat.S_ISSOCK(mode):
        return PathKind.SOCKET
    return PathKind.DEVICE


def is_briefs_bag(folder: Path) -> bool:
    """Whether `folder` is a bag `briefs export --format bagit` made: its bag-info.txt (a
    file, not a link) names briefs as its Bag-Software-Agent."""
    info = folder / "bag-info.txt"
    if info.is_symlink() or not info.is_file():
        return False
    with info.open("rb") as stream:
        head = stream.read(1 << 16).decode("utf-8", "replace")
    for line in head.splitlines():
        label, _, value = line.partition(":")
        if label == "Bag-Software-Agent" and value.split()[:1] == [BAG_SOFTWARE_AGENT]:
            return True
    return False


def check_target(target: Path, *, force: bool = False) -> None:
    """Raise TargetRefused unless an export may write `target`: a new name in an existing
    folder or, with `force`, a file or a bag briefs made. Anything else there (a folder, a
    link, a device, a FIFO, a socket) is never written over, `force` or not."""
    # ".", ".." and "/" name a folder by where it is, not by a name of its own.
    kind = PathKind.DIRECTORY if target.name in ("", "..") else path_kind(target)
    if kind is PathKind.MISSING:
        if not target.parent.is_dir():
            raise TargetRefused(f"cannot write {target}: there is no folder {target.parent}")
        return
    if kind not in REPLACEABLE:
        raise TargetRefused(
            f"{target} is {kind}: an export replaces only a file or a bag briefs made"
        )
    if not force:
        raise TargetExists(f"{target} exists; use --force to replace it")


@contextlib.contextmanager
def atomic_target(target: Path, *, force: bool = False) -> Iterator[Path]:
    """A path beside `target` (NAME.partial) to write to; renamed to `target` if the block
    succeeds, removed if it fails.

    A reader never sees half an export. Nothing is written unless `check_target` allows
    `target`, and nothing is removed that briefs did not make: the old target only with
    `force`, a NAME.partial left by an earlier export only if it is a file or a bag.
    """
    check_target(target, force=force)
    partial = target.with_name(target.name + ".partial")
    kind = path_kind(partial)
    if kind not in (PathKind.MISSING, *REPLACEABLE):
        raise TargetRefused(
            f"{partial} is in the way: it is {kind}, not one an export left; remove it or"
            " write elsewhere"
        )
    _remove(partial)
    try:
        yield partial
        check_target(target, force=force)  # again: the target may have changed meanwhile
        _replace(partial, target)
    except BaseException:
        _remove(partial)
        raise


def _replace(partial: Path, target: Path) -> None:
    if not partial.is_dir() and not target.is_dir():
        os.replace(partial, target)
        return
    # A directory cannot replace, or be replaced by, anything in one step: the old target
    # is moved aside first, into a folder of its own that nothing else uses.
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    old = aside / target.name
    try:
        if path_kind(target) is not PathKind.MISSING:
            os.replace(target, old)
        os.replace(partial, target)
    except BaseException:
        if path_kind(old) is not PathKind.MISSING:
            os.replace(old, target)  # the old target is kept
        aside.rmdir()
        raise
    shutil.rmtree(aside)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def snapshot_sqlite(source: str | Path, target: str | Path, since: str | None = None) -> None:
    """Write a consistent copy of the archive at `source` to the new file `target`.

    The copy is a rollback-journal database (one file, no -wal), of the same schema version,
    passing `PRAGMA integrity_check` and `foreign_key_check`: a source that would give one
    that does not is damaged, an ArchiveError, and no copy is left. With `since`, it holds
    what changed since then (see SINCE_FILTERS) and a full-text index of those briefs.
    """
    source, target = Path(source), Path(target)
    reader = connect(source, readonly=True)  # a clear error for a missing or foreign file
    try:
        _checked_copy(reader.conn, source, target, since)
    except BaseException:
        # A copy that failed leaves nothing: neither itself nor the rollback journal that a
        # full disk can leave beside it.
        for made in (target, target.with_name(target.name + "-journal")):
            made.unlink(missing_ok=True)
        raise
    finally:
        reader.close()


def _checked_copy(
    reader: sqlite3.Connection, source: Path, target: Path, since: str | None
) -> None:
    try:
        if since is None:
            _full_copy(reader, target)
        else:
            _incremental_copy(source, target, since)
        _check_copy(target, source)
    except sqlite3.Error as error:
        raise ArchiveError(f"cannot copy the archive {source} to {target}: {error}") from error


def _full_copy(reader: sqlite3.Connection, target: Path) -> None:
    # SQLite's online backup in one step: the pages of one read transaction of the source.
    # (Not VACUUM INTO: SQLite 3.40 refuses it on a read-only connection to a table with a
    # generated column, as briefs.year is.)
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        reader.backup(copy)
        # One self-contained file: no -wal beside it, readable read-only anywhere.
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()


def _incremental_copy(source: Path, target: Path, since: str) -> None:
    connect(target).close()  # the schema, by the same migrations
    conn = sqlite3.connect(target.resolve().as_uri(), uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("ATTACH ? AS src", [reader_uri(source)])
        # One transaction: every read of src sees the same moment of the archive.
        conn.execute("BEGIN")
        conn.execute(
            "CREATE TEMP TABLE kept_captures AS"
            f" SELECT capture_id FROM src.briefs WHERE {SINCE_FILTERS['briefs']}"
            f" UNION SELECT capture_id FROM src.revisions WHERE {SINCE_FILTERS['revisions']}",
            {"since": since},
        )
        # (A body is held by a row with its own blob: one step of body_ref reaches it.)
        conn.execute(
            "INSERT INTO kept_captures SELECT body_ref FROM src.captures"
            " WHERE body_ref IS NOT NULL"
            " AND (fetched_at >= :since OR id IN (SELECT capture_id FROM kept_captures))",
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


def _check_copy(copy: Path, source: Path) -> None:
    """Raise ArchiveError if the copy fails SQLite's own checks: the pages or rows it was
    copied from are damaged in the source."""
    conn = sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)
    try:
        (verdict,) = conn.execute("PRAGMA integrity_check(1)").fetchone()
        if verdict != "ok":
            # Its last line names the problem (the first may only say "in database main").
            raise ArchiveError(
                f"the archive {source} is damaged: PRAGMA integrity_check finds"
                f" {verdict.splitlines()[-1]!r}"
            )
        orphan = conn.execute("PRAGMA foreign_key_check").fetchone()
        if orphan is not None:
            raise ArchiveError(
                f"the archive {source} is damaged: PRAGMA foreign_key_check finds a row of"
                f" {orphan[0]} (rowid {orphan[1]}) that refers to a missing row of {orphan[2]}"
            )
    finally:
        conn.close()
