"""Saved searches ("watches"): a query and its filters kept in the archive (`watches`), and
what each has reported so far.

A watch's `cursor` is the largest rowid of `briefs` when it last ran, or when it was made: a
run reports the briefs inserted since (first seen by a crawl or a re-clean since, whatever
their dates say) that match the watch's search, then moves the cursor on. The first run of
a new watch reports what arrived since it was made (`briefs search` shows what was there
before). A run finds each watch's new matches first, then delivers them in one transaction
per watch, which reads the watch's cursor again, delivers the matches after it and moves it
on: a run that fails or is killed before a watch's delivery has ended moves that watch
nothing, so the next run reports the same briefs again (never fewer), and two runs at once
take turns at each watch, the second reporting only what the first did not.
"""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sqlite_utils

from archive.connection import transaction, utc_now
from archive.schema import migrate
from archive.search import PLAIN_HIGHLIGHT, Hit, SearchQueryError, search
from cleaning.record import canonical_json

# The filters a watch keeps: archive.search.search's keyword arguments of the same names.
LIST_FILTERS = ("country", "author", "tag", "section", "language")
DATE_FILTERS = ("since", "until", "seen_since")
# A name is a path segment of its feed's URL (/<db>/-/feeds/watch/<name>.atom).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class WatchError(ValueError):
    """No such watch, a name that is taken or is not one, or a query or filter that is not
    one (SearchQueryError's reason)."""


@dataclass(frozen=True)
class Watch:
    name: str
    query: str
    filters: dict[str, object]
    created: str
    last_run: str | None
    cursor: int
    id: int = 0

    def describe(self) -> str:
        """The watch's search as `briefs search` is given it: its query, then its filters as
        options."""
        options = []
        for name in (*LIST_FILTERS, *DATE_FILTERS):
            value = self.filters.get(name)
            option = "--lang" if name == "language" else "--" + name.replace("_", "-")
            for item in value if isinstance(value, list) else [value] if value else []:
                options.append(f"{option} {shlex.quote(str(item))}")
        return " ".join([shlex.quote(self.query), *options])

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "query": self.query,
            "filters": self.filters,
            "created": self.created,
            "last_run": self.last_run,
        }


@dataclass(frozen=True)
class WatchRun:
    """What a run of `watch` reported: the briefs new since its previous run."""

    watch: Watch
    hits: list[Hit]


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise WatchError(
            f"a watch's name is letters, digits, '.', '_' and '-' (64 at most, the first a"
            f" letter or digit), not {name!r}"
        )
    return name


def filters_of(filters: Mapping[str, object]) -> dict[str, object]:
    """The filters as a watch keeps them: the name filters as lists, the dates as text,
    those without a value left out."""
    kept: dict[str, object] = {}
    for name, value in filters.items():
        if name not in LIST_FILTERS + DATE_FILTERS:
            raise WatchError(f"a watch has no filter {name!r}")
        if value is None or (not isinstance(value, str) and not list(value)):
            continue
        if name in LIST_FILTERS:
            kept[name] = [value] if isinstance(value, str) else [str(item) for item in value]
        else:
            kept[name] = str(value)
    return kept


def add_watch(
    db: sqlite_utils.Database,
    name: str,
    query: str,
    filters: Mapping[str, object] | None = None,
) -> Watch:
    """Save the search `query` with `filters` (archive.search.search's keyword arguments) as
    the watch `name`; its first run reports the briefs that arrive from now on."""
    check_name(name)
    kept = filters_of(filters or {})
    try:  # the search's own checks of the query and of each filter
        search(db, query, limit=1, **kept)
    except SearchQueryError as error:
        raise WatchError(str(error)) from None
    with transaction(db):
        if _find(db, name) is not None:
            raise WatchError(f"there is a watch called {name!r} already")
        db.execute(
            "INSERT INTO watches (name, query, filters, created, cursor) VALUES (?, ?, ?, ?, ?)",
            [name, query, canonical_json(kept), utc_now(), _top(db)],
        )
    return get_watch(db, name)


def remove_watch(db: sqlite_utils.Database, name: str) -> None:
    with transaction(db):
        if db.execute("DELETE FROM watches WHERE name = ?", [name]).rowcount == 0:
            raise WatchError(_no_such(db, name))


def list_watches(db: sqlite_utils.Database) -> list[Watch]:
    return [_watch(row) for row in db.execute(f"SELECT {_COLUMNS} FROM watches ORDER BY name")]


def get_watch(db: sqlite_utils.Database, name: str) -> Watch:
    watch = _find(db, name)
    if watch is None:
        raise WatchError(_no_such(db, name))
    return watch


# A run searches the new briefs apart: copied (rowids kept) into an in-memory archive of the
# same schema, whose full-text index holds them alone, so that a search costs what the new
# briefs are, not what the archive holds (a word most briefs have would be matched, and its
# hits scored and given a snippet, in all of them). This many at a time, for a memory that
# stays flat however many arrived since a watch last ran.
CHUNK = 2_000


def run_watches(
    db: sqlite_utils.Database,
    names: Sequence[str] = (),
    deliver: Callable[[WatchRun], object] = lambda _run: None,
    *,
    highlight: tuple[str, str] = PLAIN_HIGHLIGHT,
    chunk: int = CHUNK,
) -> list[WatchRun]:
    """Run the watches `names` (every watch, by name, when none is named): for each, the
    briefs new since its previous run that match its search (newest first), handed to
    `deliver` before the watch moves on past them, in the same transaction (see the
    module's docstring). WatchError, before anything runs, for a name no watch has.

    The matches are found before the watches' transactions, from the cursors they had
    then; in each transaction, those after the watch's cursor as it is now are delivered
    (another run may have moved it meanwhile), so that the archive's write lock is held
    only to deliver them."""
    named = dict.fromkeys(names)  # a name given twice is run once
    watches = [get_watch(db, name) for name in named] if named else list_watches(db)
    top = _top(db)
    found = new_matches(db, watches, top, highlight, chunk)
    runs = []
    for listed in watches:
        with transaction(db):
            watch = _find(db, listed.name)
            if watch is None or watch.id != listed.id:
                continue  # removed (or made anew) meanwhile
            run = WatchRun(watch, [hit for hit in found[listed.id] if hit.rowid > watch.cursor])
            deliver(run)
            db.execute(
                "UPDATE watches SET cursor = MAX(cursor, ?), last_run = ? WHERE id = ?",
                [top, utc_now(), watch.id],
            )
        runs.append(run)
    return runs


def new_matches(
    db: sqlite_utils.Database,
    watches: Sequence[Watch],
    top: int,
    highlight: tuple[str, str] = PLAIN_HIGHLIGHT,
    chunk: int = CHUNK,
) -> dict[int, list[Hit]]:
    """For each watch (by id), the briefs after its cursor, up to the rowid `top`, that
    match its search, newest first. The new briefs are searched `chunk` at a time, each
    chunk for every watch whose cursor it passes."""
    found: dict[int, list[Hit]] = {watch.id: [] for watch in watches}
    low = min((watch.cursor for watch in watches), default=top)
    for after, last in _chunks(db, low, top, chunk):
        scratch = _scratch(db, after, last)
        try:
            for watch in watches:
                if last > watch.cursor:
                    found[watch.id] += search(
                        scratch,
                        watch.query,
                        **watch.filters,
                        sort="newest",
                        limit=None,
                        highlight=highlight,
                    )
        finally:
            scratch.close()
    return {
        watch.id: sorted(
            (hit for hit in found[watch.id] if hit.rowid > watch.cursor),
            key=lambda hit: (hit.published, hit.rowid),
            reverse=True,
        )
        for watch in watches
    }


def _chunks(db: sqlite_utils.Database, low: int, top: int, size: int) -> list[tuple[int, int]]:
    """The briefs after the rowid `low` up to `top`, `size` at a time: each chunk as the
    rowid before its first brief, and its last brief's."""
    rowids = [
        rowid
        for (rowid,) in db.execute(
            "SELECT rowid FROM briefs WHERE rowid > ? AND rowid <= ? ORDER BY rowid", [low, top]
        )
    ]
    return [
        (low if start == 0 else rowids[start - 1], rowids[min(start + size, len(rowids)) - 1])
        for start in range(0, len(rowids), size)
    ]


def _scratch(db: sqlite_utils.Database, after: int, last: int) -> sqlite_utils.Database:
    """An in-memory archive of the briefs after the rowid `after` up to `last` (rowids
    kept), its full-text index of them alone."""
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    migrate(scratch)
    # Every stored column (a generated one is made again).
    columns = [
        name
        for (name,) in db.execute("SELECT name FROM pragma_table_xinfo('briefs') WHERE hidden = 0")
    ]
    rows = db.execute(
        f"SELECT rowid, {', '.join(columns)} FROM briefs WHERE rowid > ? AND rowid <= ?",
        [after, last],
    )
    insert = (
        f"INSERT INTO briefs (rowid, {', '.join(columns)})"
        f" VALUES ({', '.join('?' * (len(columns) + 1))})"
    )
    scratch.execute("BEGIN")
    scratch.executemany(insert, rows)
    scratch.execute("COMMIT")
    return sqlite_utils.Database(scratch, execute_plugins=False)


def latest_matches(
    db: sqlite_utils.Database, watch: Watch, limit: int, highlight: tuple[str, str]
) -> list[Hit]:
    """The newest `limit` briefs the watch's search finds, whatever it has reported (its
    feed: a reader of the archive may not move the cursor)."""
    return search(db, watch.query, **watch.filters, sort="newest", limit=limit, highlight=highlight)


_COLUMNS = "id, name, query, filters, created, last_run, cursor"


def _watch(row: Sequence[object]) -> Watch:
    row_id, name, query, filters, created, last_run, cursor = row
    return Watch(
        str(name), str(query), json.loads(str(filters)), str(created), last_run, int(cursor), row_id
    )


def _find(db: sqlite_utils.Database, name: str) -> Watch | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM watches WHERE name = ?", [name]).fetchone()
    return None if row is None else _watch(row)


def _top(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COALESCE(MAX(rowid), 0) FROM briefs").fetchone()[0]


def _no_such(db: sqlite_utils.Database, name: str) -> str:
    names = [watch.name for watch in list_watches(db)]
    known = f"the watches are {', '.join(names)}" if names else "there is no watch yet"
    return f"there is no watch called {name!r} ({known})"
