"""Fixity: whether the archive still holds what it stored.

`verify` re-reads every stored body and checks it against the SHA-256 (and the length)
recorded when it was stored, runs SQLite's `PRAGMA integrity_check` and the full-text index's
own integrity-check, and records the check in the ledger (`checks`). It changes nothing else:
the captures are read through read-only connections, so a crawl writing meanwhile is not
disturbed (it only waits while the full-text check runs: see `_check_full_text`).

The bodies are checked by a thread a core, each reading its own range of captures through
its own read-only connection: decompressing (ISA-L) and hashing (OpenSSL's SHA-256) a body
release the GIL, and a 160 KB page costs ~185 us of the two alone, ~5,400 a second a core
(benchmarks/README.md). integrity_check runs beside them, in a thread of its own. Ranges of
ids read at different moments agree with each other because a capture is never changed once
written: the archive only appends them (ids up to the largest one at the start are checked;
a crawl's new captures wait for the next check).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils
from isal.igzip_lib import IsalError

from archive.capture import BODY_FORMS, decompress_body
from archive.connection import reader_uri, utc_now
from archive.ledger import record_check

# The archive's full-text index (schema migrations 3 and 6).
FTS_TABLE = "briefs_fts"
# Captures a thread reads and checks at a time (~6 MB of gzip), and how many ranges may be
# read ahead of the one being reported, per thread.
CHUNK = 256
AHEAD = 2
# The problem lines the ledger keeps of one check (its `problems` counts them all).
LEDGER_DETAILS = 1000

ProgressFor = Callable[[str, int], Callable[[int], object]] | None

# Text comes back as bytes (the thread's connections have text_factory bytes), and the body
# as a blob whatever its type: a value a stray write left in another type, or text that is
# not UTF-8, is then what it holds, not an error that would hide the rest of its range.
_ROWS = (
    "SELECT r.id, {url}, {outcome}, r.body_sha256, r.body_length, CAST(r.body_gzip AS BLOB),"
    " r.body_form, r.body_ref, o.id, o.body_sha256, o.body_length, o.body_form,"
    " o.body_gzip IS NOT NULL"
    " FROM {table} AS r LEFT JOIN {table} AS o ON o.id = r.body_ref"
    " WHERE r.id >= ? AND r.id < ? ORDER BY r.id"
)
# The tables whose rows keep bodies, and what a problem line calls a row of each.
_TABLES = {
    "captures": _ROWS.format(table="captures", url="r.requested_url", outcome="r.outcome"),
    "exchanges": _ROWS.format(table="exchanges", url="r.url", outcome="NULL"),
}
_ROW_NAMES = {"captures": "capture", "exchanges": "exchange"}
# The heading integrity_check puts before what it finds in the main database: not a problem.
_MAIN_HEADING = "*** in database main ***"
# SQLite's result codes that say a check could not be made here (the archive cannot be
# written from this process, or a writer held it too long), not that the archive is damaged.
_CANNOT_CHECK = frozenset(
    {
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_PERM,
    }
)


@dataclass(frozen=True)
class Problem:
    """One thing found wrong: with a capture (its id and requested URL) or with the file."""

    what: str
    capture_id: int | None = None
    url: str | None = None
    row: str = "capture"  # or "exchange": capture_id is then an exchange's id

    @property
    def line(self) -> str:
        if self.capture_id is None:
            return self.what
        return f"{self.row} {self.capture_id} {self.url}: {self.what}"


@dataclass
class Report:
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    captures_checked: int = 0
    exchanges_checked: int = 0
    bodies_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Checks that could not be made, and why (a read-only archive has its full-text index
    # unchecked): not problems of the archive.
    not_checked: list[str] = field(default_factory=list)
    # The ledger's row of this check, or why it could not be written.
    check_id: int | None = None
    ledger_error: str | None = None

    @property
    def status(self) -> str:
        return "problems" if self.problems else "ok"

    def summary_line(self) -> str:
        return (
            f"verify: captures {self.captures_checked}, exchanges {self.exchanges_checked},"
            f" bodies {self.bodies_checked},"
            f" problems {len(self.problems)}"
        )


def verify(
    db: sqlite_utils.Database,
    progress: ProgressFor = None,
    *,
    record: bool = True,
    workers: int | None = None,
) -> Report:
    """Check the archive `db` is open on (read-only will do); the report of what was found.

    `progress(stage, length)`, when given, is called as each stage starts ("bodies", the
    number of captures; "integrity_check" and "full-text index", 1) and gives the callback
    to call with the amount done. With `record`, the check is a row of `checks`, written in
    one short transaction at the end (also when the check is interrupted or fails); when it
    cannot be written (read-only media), `ledger_error` says why and nothing else changes.
    """
    report = Report()
    path = database_path(db)
    try:
        with _integrity_check_beside(path) as integrity:
            _check_bodies(path, db, report, progress, workers or default_workers())
            advance = _stage(progress, "integrity_check", 1)
            report.problems.extend(integrity.result())
            if advance is not None:
                advance(1)
        _check_full_text(path, report, _stage(progress, "full-text index", 1))
    except BaseException as error:
        if record:
            status = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
            _record(path, report, status, f"{type(error).__name__}: {error}".rstrip(": "))
        raise
    if record:
        _record(path, report, report.status, "; ".join(report.not_checked) or None)
    else:
        report.finished_at = utc_now()
    return report


def database_path(db: sqlite_utils.Database) -> Path:
    """The file of the archive `db` is open on."""
    return Path(next(row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"))


def default_workers() -> int:
    """One thread of body checks a core this process may use (up to 4)."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


def _stage(progress: ProgressFor, name: str, length: int) -> Callable[[int], object] | None:
    return None if progress is None else progress(name, length)


# -- The bodies ------------------------------------------------------------------------------


def _check_bodies(
    path: Path,
    db: sqlite_utils.Database,
    report: Report,
    progress: ProgressFor,
    workers: int,
) -> None:
    connections: list[sqlite3.Connection] = []
    local = _ThreadConnections(reader_uri(path), connections)
    try:
        for table, stage in (("captures", "bodies"), ("exchanges", "exchange bodies")):
            _check_table(db, table, local, report, (progress, stage), workers)
    finally:
        for conn in connections:
            conn.close()


def _check_table(
    db: sqlite_utils.Database,
    table: str,
    local: _ThreadConnections,
    report: Report,
    stage: tuple[ProgressFor, str],
    workers: int,
) -> None:
    try:
        with _read_transaction(db):
            (count, first, last) = db.execute(
                f"SELECT COUNT(*), MIN(id), MAX(id) FROM {table}"
            ).fetchone()
    except sqlite3.DatabaseError as error:
        report.problems.append(Problem(f"{table}: unreadable ({error})"))
        return
    advance = _stage(*stage, count)
    if first is None:
        return
    taken = _Taken(report, advance, table)
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="verify") as pool:
        try:
            for low in range(first, last + 1, CHUNK):
                high = min(low + CHUNK, last + 1)
                pending.append(pool.submit(_check_range, local, table, low, high))
                if len(pending) >= workers * AHEAD:
                    taken.add(pending.popleft().result())
            while pending:
                taken.add(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()


class _ThreadConnections:
    """A read-only connection to the archive for each thread that asks (closed by the caller
    once the threads are done)."""

    def __init__(self, uri: str, opened: list[sqlite3.Connection]) -> None:
        self.uri = uri
        self.opened = opened
        self.by_thread: dict[int, sqlite3.Connection] = {}

    def get(self) -> sqlite3.Connection:
        ident = threading.get_ident()
        conn = self.by_thread.get(ident)
        if conn is None:
            conn = sqlite3.connect(
                self.uri, uri=True, isolation_level=None, timeout=30, check_same_thread=False
            )
            conn.text_factory = bytes
            self.by_thread[ident] = conn
            self.opened.append(conn)
        return conn


@dataclass
class _Range:
    """What the check of a range of rows (captures or exchanges) found."""

    rows: int = 0
    bodies: int = 0
    problems: list[Problem] = field(default_factory=list)
    # The ids from the first that could not be read to the range's end, and SQLite's error.
    unreadable: tuple[int, int, str] | None = None


class _Taken:
    """The ranges checked, added to the report in the order of their ids; ranges that could
    not be read one after another, for the same reason, make one problem."""

    def __init__(self, report: Report, advance: Callable[[int], object] | None, table: str) -> None:
        self.report = report
        self.advance = advance
        self.table = table
        self.unreadable: tuple[int, int, str] | None = None  # the last problem, if one

    def add(self, done: _Range) -> None:
        report = self.report
        if self.table == "captures":
            report.captures_checked += done.rows
        else:
            report.exchanges_checked += done.rows
        report.bodies_checked += done.bodies
        if done.problems:
            self.unreadable = None
        report.problems.extend(done.problems)
        if done.unreadable is not None:
            first, last, error = done.unreadable
            before = self.unreadable
            if before is not None and before[1] + 1 == first and before[2] == error:
                first = before[0]
                report.problems.pop()
            row = _ROW_NAMES[self.table]
            span = f"{row} {first}" if first == last else f"{row}s {first}-{last}"
            report.problems.append(Problem(f"{span}: unreadable ({error})"))
            self.unreadable = (first, last, error)
        elif done.rows:
            self.unreadable = None
        if self.advance is not None:
            self.advance(done.rows)


def _check_range(local: _ThreadConnections, table: str, low: int, high: int) -> _Range:
    """Check the bodies of the rows of `table` with ids in [low, high)."""
    done = _Range()
    reached = low
    try:
        for row_id, url, outcome, digest, length, blob, form, ref, *original in local.get().execute(
            _TABLES[table], (low, high)
        ):
            reached = row_id + 1
            done.rows += 1
            if blob is None and ref is None and (digest is None or outcome == b"skipped"):
                # No body to check: none came (a download error, a 304), or it was not kept
                # (a page that is not a brief is kept without its body, by design).
                continue
            done.bodies += 1
            if ref is not None:
                what = reference_problem(ref, (_text(digest), length, _text(form)), original)
            else:
                what = body_problem(_text(digest), length, blob, _text(form))
            if what is not None:
                done.problems.append(Problem(what, row_id, _text(url), _ROW_NAMES[table]))
    except sqlite3.DatabaseError as error:
        # A damaged page of the table: the rest of the range cannot be read.
        done.unreadable = (reached, high - 1, str(error))
    return done


def reference_problem(
    ref: object, recorded: tuple[str | None, object, str | None], original: list[object]
) -> str | None:
    """What is wrong with a body stored as a reference to an earlier row (`body_ref`), whose
    own body is checked in its row: that row must exist and hold a body of the same digest,
    length and form as this row records (`recorded`)."""
    found_id, digest, length, form, has_body = original
    if found_id is None:
        return f"body missing (body_ref {ref!r} names no row)"
    if not has_body:
        return f"body missing (body_ref {ref!r} names a row without a body)"
    if (_text(digest), length, _text(form)) != recorded:
        return f"body_ref {ref!r} holds another body (digest, length or form differ)"
    return None


def _text(value: object) -> str | None:
    """A column's value as text, whatever a stray write left there."""
    if value is None or isinstance(value, str):
        return value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def body_problem(
    digest: str | None, length: object, blob: bytes | None, form: str | None = "gzip"
) -> str | None:
    """What is wrong with a stored body (its blob, in `form`: archive.capture.BODY_FORMS)
    against its recorded digest and length (an int, or whatever else a stray write left);
    None when nothing is. The digest and length are of the body as transferred: for an
    "as-sent" blob the blob itself, checked was a gzip stream of the page when it was
    stored, so that bytes with its digest still are."""
    if blob is None:
        return "body missing (a digest is recorded, no body is stored)"
    if not blob:
        return "body unreadable (bad gzip: an empty blob)"
    if form not in BODY_FORMS:
        return f"unknown body form {form!r}"
    try:
        if form == "as-sent":
            # The bytes the server sent, a gzip stream of the page when they were stored:
            # their digest says whether they are still those bytes. (The stream is read
            # only to say why when they are not.)
            body = blob
            actual = hashlib.sha256(body).hexdigest()
            if actual != digest:
                decompress_body(blob)
        else:
            body = decompress_body(blob, length if isinstance(length, int) else None)
            actual = hashlib.sha256(body).hexdigest()
    except (OSError, EOFError, IsalError) as error:
        return f"body unreadable (bad gzip: {error})"
    found = []
    if digest is None:
        found.append("no digest recorded")
    elif actual != digest:
        found.append(f"digest mismatch (recorded {digest}, body {actual})")
    if length is not None and length != len(body):
        found.append(f"length mismatch (recorded {length!r} bytes, body {len(body)})")
    return "; ".join(found) or None


# -- The file --------------------------------------------------------------------------------


@contextlib.contextmanager
def _integrity_check_beside(path: Path) -> Iterator[Future[list[Problem]]]:
    """SQLite's integrity_check of the archive at `path`, run for the block in a thread of
    its own, with its own read-only connection: one SQLite call, which holds no GIL, so it
    runs beside the bodies' threads rather than after them on one core while the other
    idles (20,000 captures: 2.5 s against 2.8 s on 2 cores, benchmarks/README.md). Stopped
    (interrupted) if the block raises."""
    try:
        conn = sqlite3.connect(
            reader_uri(path), uri=True, isolation_level=None, timeout=30, check_same_thread=False
        )
    except sqlite3.Error as error:
        failed: Future[list[Problem]] = Future()
        failed.set_result([Problem(f"integrity_check: cannot be run ({error})")])
        yield failed
        return
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="verify-integrity") as pool:
            try:
                yield pool.submit(_integrity_problems, conn)
            except BaseException:
                conn.interrupt()
                raise
    finally:
        conn.close()


def _integrity_problems(conn: sqlite3.Connection) -> list[Problem]:
    """SQLite's own check of every page, table and index; each line it finds, a problem."""
    try:
        found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        found += _pages_never_used(conn, found)
    except sqlite3.DatabaseError as error:
        found = [f"cannot be run ({error})"]
    return [
        Problem(f"integrity_check: {line}")
        for message in found
        for line in message.splitlines()
        if line not in ("ok", _MAIN_HEADING)
    ]


# SQLite's lock-byte page, which no b-tree uses: the page holding byte 2**30 of the file.
_PENDING_BYTE = 0x40000000


def _pages_never_used(conn: sqlite3.Connection, found: list[str]) -> list[str]:
    """The pages of the file that no b-tree and not the freelist holds, as integrity_check
    names them ("Page 32 is never used"), when it did not look for them itself.

    SQLite 3.40's integrity_check takes itself for a check of some tables only, and skips
    this part, when the first table of the schema in its own (hash) order is a view or a
    virtual table, which tables and views created by migrations make so or not. The pages
    are counted here instead (dbstat's aggregate counts, a tenth of integrity_check's time),
    and named from dbstat's pages only when the counts disagree."""
    if any("is never used" in line for message in found for line in message.splitlines()):
        return []
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0]:
        return []  # its pointer-map pages are in no b-tree either; an archive has none
    total = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pending = {_PENDING_BYTE // page_size + 1} & set(range(1, total + 1))
    try:
        in_trees = conn.execute("SELECT sum(pageno) FROM dbstat('main', 1)").fetchone()[0] or 0
    except sqlite3.OperationalError:
        return []  # a SQLite without dbstat: integrity_check's own look is all there is
    unused = total - in_trees - free - len(pending)
    if unused <= 0:
        return []
    if free:  # the freelist's pages are not in dbstat: how many, not which
        return [f"{unused} pages are never used"]
    held = {page for (page,) in conn.execute("SELECT pageno FROM dbstat('main')")} | pending
    return [f"Page {page} is never used" for page in range(1, total + 1) if page not in held]


def _check_full_text(path: Path, report: Report, advance: Callable[[int], object] | None) -> None:
    """The full-text index's integrity-check, which also compares it with the briefs it
    indexes (rank 1).

    FTS5 runs it as a write (an INSERT of the command), though it writes nothing: it needs a
    connection that may write, and holds the archive's write lock while it runs (about 0.3 s
    for 20,000 briefs), which a crawl's writer waits for. Where the archive cannot be written
    (read-only media), it is not checked, and the report says so.
    """
    try:
        conn = _writer(path)
    except sqlite3.Error as error:
        report.not_checked.append(f"the full-text index was not checked: {error}")
        return
    try:
        conn.execute(f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError as error:
        if (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF in _CANNOT_CHECK:
            report.not_checked.append(f"the full-text index was not checked: {error}")
        else:
            report.problems.append(
                Problem(f"full-text index {FTS_TABLE}: integrity-check failed ({error})")
            )
    finally:
        conn.close()
    if advance is not None:
        advance(1)


# -- The ledger ------------------------------------------------------------------------------


def _record(path: Path, report: Report, status: str, error: str | None) -> None:
    """Write the check's row of `checks`; on failure, say why in the report."""
    report.finished_at = utc_now()
    row = {
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "kind": "verify",
        "captures_checked": report.captures_checked,
        "exchanges_checked": report.exchanges_checked,
        "bodies_checked": report.bodies_checked,
        "problems": len(report.problems),
        "status": status,
        "error": error,
        "details": json.dumps(
            [problem.line for problem in report.problems[:LEDGER_DETAILS]], ensure_ascii=False
        ),
    }
    try:
        conn = _writer(path)
        try:
            report.check_id = record_check(sqlite_utils.Database(conn), row)
        finally:
            conn.close()
    except sqlite3.Error as failure:
        report.ledger_error = str(failure)


def _writer(path: Path) -> sqlite3.Connection:
    """A connection that may write to the existing archive at `path`, changing nothing about
    the file itself (its journal mode is left as it is: a snapshot stays one file)."""
    return sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None, timeout=30
    )


@contextlib.contextmanager
def _read_transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """The block's reads see one moment of the archive."""
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")
