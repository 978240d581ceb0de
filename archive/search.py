"""Full-text search of the archive's briefs: FTS5 (briefs_fts), ranked by bm25.

The query is FTS5's own syntax (https://sqlite.org/fts5.html#full_text_query_syntax): words
(all must appear), "a phrase", OR, NOT, NEAR(a b), prefix*, and `title:word` for one column.
Case and diacritics are folded on both sides, so `peru` finds "Perú".
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import sqlite_utils
from sqlite_utils.utils import chunks

from archive.connection import ArchiveError
from archive.snapshots import parse_since
from cleaning.countries import resolve_country

# bm25 weights of title, summary and body: a word in the headline says more than one deep in
# the text.
TEXT_COLUMNS = ("title", "summary", "body")
WEIGHTS = (10.0, 4.0, 1.0)
# Indexed only so that filters on them are index lookups; they weigh nothing in the rank.
# (In the index's order, after the text columns.)
FILTER_COLUMNS = ("countries", "authors", "tags", "country_codes")
# The row columns a hit is made of (after its rowid), in the order a hit is printed.
HIT_COLUMNS = (
    "url",
    "title",
    "published",
    "language",
    "section",
    "countries",
    "country_codes",
    "authors",
    "tags",
)
# What a hit gives its reader (json, csv), in order: its columns, its snippet and score.
HIT_FIELDS = (*HIT_COLUMNS, "snippet", "score")
_LIST_COLUMNS = frozenset({"countries", "country_codes", "authors", "tags"})
SNIPPET_TOKENS = 24
# The most candidates read, or rowids bound as parameters, at a time: so that a limit of any
# size stays within what SQLite takes (a C int of rows, its limit on parameters).
BATCH = 4096
PLAIN_HIGHLIGHT = ("[", "]")


class SearchQueryError(ValueError):
    """The query is not valid FTS5 syntax, or a filter is malformed."""


@dataclass(frozen=True)
class Hit:
    url: str
    title: str
    published: str
    language: str
    section: str | None
    countries: list[str]
    country_codes: list[str]
    authors: list[str]
    tags: list[str]
    snippet: str
    score: float
    rowid: int = field(default=0, repr=False, compare=False)

    def as_dict(self) -> dict[str, object]:
        """The hit as printed (json, csv): its columns, snippet and score; not its rowid."""
        return {name: getattr(self, name) for name in HIT_FIELDS}


def search(
    db: sqlite_utils.Database,
    query: str,
    *,
    country: str | None = None,
    author: str | None = None,
    tag: str | None = None,
    language: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 20,
    highlight: tuple[str, str] = PLAIN_HIGHLIGHT,
) -> list[Hit]:
    """The briefs matching `query` in their title, summary or body, best first (bm25), with a
    snippet around the match.

    `country` is a country's ISO 3166-1 alpha-2 code in any case ("mx") or its name in
    English or Spanish ("Mexico", "méxico"), and keeps the briefs filed under it in either
    edition (by `country_codes`); SearchQueryError if it names no country (`country_filter`).
    `author` and `tag` are whole names as the page writes them, compared without regard to
    case or diacritics. `since` and `until` bound `published`; a date is a whole day
    (`until="2021-12-31"` keeps that day).
    """
    check_query(query)
    if limit < 1:
        raise SearchQueryError("the limit must be at least 1")
    scoped = f"{{{' '.join(TEXT_COLUMNS)}}} : ({query})"
    wanted = _wanted_names(author, tag, country)
    checks = _row_checks(language, since, until)
    try:
        hits = _best_hits(db, _with_filters(scoped, wanted), limit, wanted, checks)
        snippets = _snippets(db, scoped, [hit.rowid for hit in hits], highlight)
    except sqlite3.DatabaseError as error:
        raise ArchiveError(f"cannot search the archive: {error}") from error
    return [replace(hit, snippet=snippets.get(hit.rowid, "")) for hit in hits]


def _wanted_names(author: str | None, tag: str | None, country: str | None) -> dict[str, str]:
    """The name each filter wants in its column of the index, folded as the index folds it."""
    wanted = {
        column: _fold(value)
        for column, value in (("authors", author), ("tags", tag))
        if value is not None
    }
    if country is not None:
        wanted["country_codes"] = _fold(country_filter(country))
    return wanted


def _with_filters(scoped: str, wanted: dict[str, str]) -> str:
    """The MATCH expression of the query and the filters: each wanted name is a phrase in its
    own column of the index, so the index intersects them with the query before anything is
    ranked (an exact test of the lists follows: a phrase also matches a name inside a longer
    one)."""
    return scoped + "".join(
        f' AND {column} : "{name.replace(chr(34), chr(34) * 2)}"' for column, name in wanted.items()
    )


# The candidates, best first: ranked by the index alone, with the text columns' weights (the
# filter columns weigh nothing), constants written into the statement once.
_RANK_WEIGHTS = ", ".join(str(weight) for weight in (*WEIGHTS, *(0.0 for _ in FILTER_COLUMNS)))
_RANKED = (
    f"SELECT rowid, bm25(briefs_fts, {_RANK_WEIGHTS}) AS score FROM briefs_fts"
    " WHERE briefs_fts MATCH ? ORDER BY score, rowid"
)


def _best_hits(
    db: sqlite_utils.Database,
    match: str,
    limit: int,
    wanted: dict[str, str],
    checks: list[Callable[[str, str], bool]],
) -> list[Hit]:
    """The best `limit` candidates of `match` that pass the exact checks. Rows are read only
    for the best candidates, in growing batches, until `limit` of them pass."""
    cursor = db.execute(_RANKED, [match])
    hits: list[Hit] = []
    size = min(max(limit, 16), BATCH)
    while len(hits) < limit and (batch := cursor.fetchmany(size)):
        hits.extend(_exact(db, batch, wanted, checks))
        size = min(size * 2, BATCH)
    return hits[:limit]


def country_filter(value: str) -> str:
    """The ISO 3166-1 alpha-2 code `value` names (a code in any case, or a country's name in
    English or Spanish); SearchQueryError, saying what is accepted, if it names none."""
    code = resolve_country(value)
    if code is None:
        raise SearchQueryError(
            f"no country is called {value!r}; give a country's name in English or Spanish"
            " (Mexico, México) or its ISO 3166-1 alpha-2 code (MX)"
        )
    return code


def _row_checks(
    language: str | None, since: str | None, until: str | None
) -> list[Callable[[str, str], bool]]:
    """Tests of (language, published) for the filters that are not in the index."""
    checks: list[Callable[[str, str], bool]] = []
    if language is not None:
        wanted = language.casefold()
        checks.append(lambda lang, _published: lang.casefold() == wanted)
    if since is not None:
        low = parse_bound(since, "since")
        checks.append(lambda _lang, published: published >= low)
    if until is not None:
        high = parse_bound(until, "until")
        if len(high) == 10:  # a date keeps the whole day
            checks.append(lambda _lang, published: published[:10] <= high)
        else:
            checks.append(lambda _lang, published: published <= high)
    return checks


def _exact(
    db: sqlite_utils.Database,
    batch: list[tuple[int, float]],
    wanted: dict[str, str],
    checks: list[Callable[[str, str], bool]],
) -> list[Hit]:
    """The candidates (rowid, score), in order, that hold each wanted name and pass the
    checks."""
    scores = dict(batch)
    rows = db.execute(
        f"SELECT rowid, {', '.join(HIT_COLUMNS)} FROM briefs"
        f" WHERE rowid IN ({', '.join('?' * len(batch))})",
        list(scores),
    ).fetchall()
    by_rowid = {row[0]: row for row in rows}
    hits = []
    for rowid, score in batch:
        row = by_rowid.get(rowid)
        if row is None:
            continue
        fields = {
            name: json.loads(value) if name in _LIST_COLUMNS else value
            for name, value in zip(HIT_COLUMNS, row[1:], strict=True)
        }
        if not all(check(fields["language"], fields["published"]) for check in checks):
            continue
        if all(name in map(_fold, fields[column]) for column, name in wanted.items()):
            hits.append(Hit(**fields, snippet="", score=round(score, 6), rowid=rowid))
    return hits


def _snippets(
    db: sqlite_utils.Database, scoped: str, rowids: list[int], highlight: tuple[str, str]
) -> dict[int, str]:
    snippets: dict[int, str] = {}
    for batch in map(list, chunks(rowids, BATCH)):
        rows = db.execute(
            f"SELECT rowid, snippet(briefs_fts, -1, ?, ?, '…', {SNIPPET_TOKENS}) FROM briefs_fts"
            f" WHERE briefs_fts MATCH ? AND rowid IN ({', '.join('?' * len(batch))})",
            [*highlight, scoped, *batch],
        )
        snippets.update(rows)
    return snippets


def _fold(name: str) -> str:
    """A name without case or diacritics, as the index's tokenizer sees it."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


_checker: sqlite3.Connection | None = None


def check_query(query: str) -> None:
    """Raise SearchQueryError with FTS5's reason if `query` is not a valid FTS5 query.

    The query is tried on an empty index of the same columns, so a bad query is told apart
    from any other failure of the archive itself.
    """
    global _checker
    if not query.strip():
        raise SearchQueryError("the search query is empty")
    if _checker is None:
        _checker = sqlite3.connect(":memory:", check_same_thread=False)
        _checker.execute(
            "CREATE VIRTUAL TABLE q USING fts5(title, summary, body,"
            " tokenize='unicode61 remove_diacritics 2')"
        )
    try:
        _checker.execute("SELECT rowid FROM q WHERE q MATCH ?", [query]).fetchall()
    except sqlite3.Error as error:
        raise SearchQueryError(
            f'not a valid search query: {query!r} ({error}). Words are ANDed; use "double'
            ' quotes" around a phrase or a word with punctuation (e.g. "MS-13"), OR, NOT,'
            " NEAR(a b), prefix*, or title:/summary:/body: for one column"
        ) from None


def parse_bound(value: str, name: str) -> str:
    """An ISO date stays a date; a date and time becomes ISO 8601 UTC, as `published` is."""
    try:
        return parse_since(value, name)
    except ValueError as error:
        raise SearchQueryError(str(error)) from None
