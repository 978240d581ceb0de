"""Full-text search of the archive's briefs: FTS5 (briefs_fts), ranked by bm25.

The query is FTS5's own syntax (https://sqlite.org/fts5.html#full_text_query_syntax): words
(all must appear), "a phrase", OR, NOT, NEAR(a b), prefix*, and `title:word` for one column.
Case and diacritics are folded on both sides, so `peru` finds "Perú". A query matches any
column of the index: the text (title, summary, body) and the filing (countries, authors,
tags, country codes, section), as `sqlite-utils search` and Datasette's `?_search=` match it.
The ranking is the index's own (`ORDER BY rank`, its weights kept in the index by the
schema), so every tool ranks alike.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import sqlite_utils
from sqlite_utils.utils import chunks

from archive.connection import ArchiveError
from archive.snapshots import parse_since
from cleaning.countries import resolve_country

# The index's columns, in its order, and the bm25 weight of each: the schema keeps the same
# weights as the index's `rank` (migration 10), so that `ORDER BY rank` anywhere ranks as
# search() does. A country code matches, but weighs nothing.
WEIGHTS = {
    "title": 10.0,
    "summary": 4.0,
    "body": 1.0,
    "countries": 2.0,
    "authors": 2.0,
    "tags": 4.0,
    "country_codes": 0.0,
    "section": 2.0,
}
INDEX_COLUMNS = tuple(WEIGHTS)
# The row columns a hit is made of (after its rowid), in the order a hit is printed.
HIT_COLUMNS = (
    "url",
    "title",
    "published",
    "first_seen",
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
LANGUAGES = ("en", "es")
SORTS = ("rank", "newest", "oldest")
SNIPPET_TOKENS = 24
# The most candidates read, or rowids bound as parameters, at a time: so that a limit of any
# size stays within what SQLite takes (a C int of rows, its limit on parameters).
BATCH = 4096
PLAIN_HIGHLIGHT = ("[", "]")
# What marks a match while a snippet is made (characters no brief's text holds), for a caller
# that marks matches itself (HTML escapes the text, then marks).
RAW_HIGHLIGHT = ("\x02", "\x03")
# Where a snippet comes from when the text does not hold the match: the filing fields, as a
# reader names them.
_FILING_LABELS = {
    "tags": "Tags",
    "countries": "Countries",
    "authors": "Authors",
    "section": "Section",
    "country_codes": "Country codes",
}

Filter = str | Sequence[str] | None


class SearchQueryError(ValueError):
    """The query is not valid FTS5 syntax, or a filter is malformed."""


@dataclass(frozen=True)
class Hit:
    url: str
    title: str
    published: str
    first_seen: str
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


@dataclass(frozen=True)
class _Plan:
    """A search made ready: its MATCH expressions, its weights and its tests of a row."""

    query: str  # the query alone: what snippets highlight
    match: str  # the query and the index's filters
    weights: tuple[float, ...]
    conditions: str  # SQL on `briefs`, "" for none
    params: tuple[str, ...]
    names: dict[str, frozenset[str]]  # list or section column -> folded names, any of

    def passes(self, fields: dict[str, object]) -> bool:
        """Whether a row holds a wanted name of each name filter (the index matched a phrase,
        which may be part of a longer name)."""
        for column, wanted in self.names.items():
            value = fields[column]
            names = value if isinstance(value, list) else [value or ""]
            if wanted.isdisjoint(map(_fold, names)):
                return False
        return True


def search(
    db: sqlite_utils.Database | sqlite3.Connection,
    query: str,
    *,
    country: Filter = None,
    author: Filter = None,
    tag: Filter = None,
    section: Filter = None,
    language: Filter = None,
    since: str | None = None,
    until: str | None = None,
    seen_since: str | None = None,
    sort: str = "rank",
    limit: int | None = 20,
    offset: int = 0,
    highlight: tuple[str, str] = PLAIN_HIGHLIGHT,
) -> list[Hit]:
    """The briefs matching `query`, best first (bm25; `sort="newest"` or `"oldest"` by
    publication instead), from the `offset`-th on, at most `limit` (None: all), each with a
    snippet around the match marked by `highlight`.

    Each filter takes one value or a sequence of them (any of which keeps a brief); the
    filters together keep the briefs that pass all of them. `country` is a country's ISO
    3166-1 alpha-2 code in any case ("mx") or its name in English or Spanish ("Mexico",
    "méxico"), and keeps the briefs filed under it in either edition (by `country_codes`).
    `author`, `tag` and `section` are whole names as the page writes them, compared without
    regard to case or diacritics. `language` is "en" or "es". `since` and `until` bound
    `published`, `seen_since` bounds `first_seen` (the briefs new since then): a year
    ("2020"), a month ("2021-06"), a date or an ISO 8601 date and time; `until` a year,
    month or day keeps all of it. A filter's own column weighs nothing in that search's rank
    (so that filtering does not reorder). SearchQueryError for a malformed query or filter.
    """
    plan = _plan(query, country, author, tag, section, language, since, until, seen_since)
    if sort not in SORTS:
        raise SearchQueryError(f"sort by one of {', '.join(SORTS)}, not {sort!r}")
    if limit is not None and limit < 1:
        raise SearchQueryError("the limit must be at least 1")
    if offset < 0:
        raise SearchQueryError("the offset must be at least 0")
    try:
        hits = _hits(db, plan, sort, limit, offset)
        rowids = [hit.rowid for hit in hits]
        snippets = _snippets(db, plan, rowids, highlight)
        # Ranked, each candidate came with its score; by date, only the hits get one.
        scores = {} if sort == "rank" else _scores(db, plan, rowids)
    except sqlite3.DatabaseError as error:
        raise ArchiveError(f"cannot search the archive: {error}") from error
    return [
        replace(hit, snippet=snippets.get(hit.rowid, ""), score=scores.get(hit.rowid, hit.score))
        for hit in hits
    ]


def count(
    db: sqlite_utils.Database | sqlite3.Connection,
    query: str,
    *,
    country: Filter = None,
    author: Filter = None,
    tag: Filter = None,
    section: Filter = None,
    language: Filter = None,
    since: str | None = None,
    until: str | None = None,
    seen_since: str | None = None,
) -> int:
    """How many briefs search() finds for the same query and filters, all of them."""
    plan = _plan(query, country, author, tag, section, language, since, until, seen_since)
    try:
        if not plan.conditions and not plan.names:
            return db.execute(
                "SELECT count(*) FROM briefs_fts WHERE briefs_fts MATCH ?", [plan.match]
            ).fetchone()[0]
        if not plan.names:
            return db.execute(
                f"SELECT count(*) FROM briefs WHERE {_MATCHING} AND {plan.conditions}",
                [plan.match, *plan.params],
            ).fetchone()[0]
        columns = list(plan.names)
        rows = db.execute(
            f"SELECT {', '.join(columns)} FROM briefs WHERE {_MATCHING}"
            + (f" AND {plan.conditions}" if plan.conditions else ""),
            [plan.match, *plan.params],
        )
        return sum(
            plan.passes(
                {
                    name: json.loads(value) if name in _LIST_COLUMNS else value
                    for name, value in zip(columns, row, strict=True)
                }
            )
            for row in rows
        )
    except sqlite3.DatabaseError as error:
        raise ArchiveError(f"cannot search the archive: {error}") from error


# The rows of `briefs` the index matches, for a statement over `briefs`.
_MATCHING = "rowid IN (SELECT rowid FROM briefs_fts WHERE briefs_fts MATCH ?)"


def _plan(
    query: str,
    country: Filter,
    author: Filter,
    tag: Filter,
    section: Filter,
    language: Filter,
    since: str | None,
    until: str | None,
    seen_since: str | None,
) -> _Plan:
    check_query(query)
    # Each name filter becomes phrases in its own column of the index, so that the index
    # intersects them with the query before anything is ranked; an exact test of the row
    # follows (a phrase also matches a name inside a longer one), but for the codes, each a
    # token of its own.
    names = {
        column: frozenset(_name(value, label) for value in values)
        for column, label, values in (
            ("authors", "author", _values(author)),
            ("tags", "tag", _values(tag)),
            ("section", "section", _values(section)),
        )
        if values
    }
    codes = frozenset(_fold(country_filter(value)) for value in _values(country))
    phrases = {**names, **({"country_codes": codes} if codes else {})}
    match = f"({query})" + "".join(
        f" AND {column} : ({' OR '.join(_quoted(name) for name in sorted(wanted))})"
        for column, wanted in phrases.items()
    )
    weights = tuple(0.0 if column in phrases else WEIGHTS[column] for column in INDEX_COLUMNS)
    conditions, params = _row_conditions(language, since, until, seen_since)
    return _Plan(query, match, weights, conditions, params, names)


def _values(value: Filter) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _name(value: str, label: str) -> str:
    folded = _fold(value)
    if not folded:
        raise SearchQueryError(f"the {label} to keep is empty")
    return folded


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _row_conditions(
    language: Filter, since: str | None, until: str | None, seen_since: str | None
) -> tuple[str, tuple[str, ...]]:
    """The filters the index does not hold, as SQL on `briefs` and its parameters."""
    conditions: list[str] = []
    params: list[str] = []
    languages = [check_language(value) for value in _values(language)]
    if languages:
        conditions.append(f"language IN ({', '.join('?' * len(languages))})")
        params.extend(languages)
    if since is not None:
        conditions.append("published >= ?")
        params.append(parse_bound(since, "since"))
    if until is not None:
        high = parse_bound(until, "until")
        if "T" in high:
            conditions.append("published <= ?")
        else:  # a year, month or day keeps all of it
            conditions.append(f"substr(published, 1, {len(high)}) <= ?")
        params.append(high)
    if seen_since is not None:
        conditions.append("first_seen >= ?")
        params.append(parse_bound(seen_since, "seen-since"))
    return " AND ".join(conditions), tuple(params)


def check_language(value: str) -> str:
    """`value` as the archive writes a language ("en", "es"); SearchQueryError if it is
    neither."""
    language = value.strip().lower()
    if language not in LANGUAGES:
        raise SearchQueryError(
            f"briefs are in {' or '.join(LANGUAGES)}: no language is called {value!r}"
        )
    return language


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


def _hits(
    db: sqlite_utils.Database | sqlite3.Connection,
    plan: _Plan,
    sort: str,
    limit: int | None,
    offset: int,
) -> list[Hit]:
    """The hits from the `offset`-th to the `offset + limit`-th, without their snippets.

    Rows are read only for the best candidates, in growing batches, until enough of them
    pass the row's tests. Ranked, the candidates come from the index alone (bm25 over the
    rows it matched); by date, from `briefs` in the order of its `published` index.
    """
    if sort == "rank":
        weights = ", ".join(str(weight) for weight in plan.weights)
        candidates = db.execute(
            f"SELECT rowid, bm25(briefs_fts, {weights}) AS score FROM briefs_fts"
            " WHERE briefs_fts MATCH ? ORDER BY score, rowid",
            [plan.match],
        )
    else:
        direction = "DESC" if sort == "newest" else "ASC"
        # Down the date index, each row tested against the index's matches, stopping once
        # enough pass: left to itself, SQLite sorts every match first (70 ms for "police").
        candidates = db.execute(
            f"SELECT rowid, 0.0 FROM briefs INDEXED BY briefs_published WHERE {_MATCHING}"
            + (f" AND {plan.conditions}" if plan.conditions else "")
            + f" ORDER BY published {direction}, rowid {direction}",
            [plan.match, *plan.params],
        )
    wanted = None if limit is None else offset + limit
    hits: list[Hit] = []
    size = min(max(wanted or BATCH, 16), BATCH)
    while (wanted is None or len(hits) < wanted) and (batch := candidates.fetchmany(size)):
        hits.extend(_passing(db, batch, plan))
        size = min(size * 2, BATCH)
    return hits[offset:wanted]


def _passing(
    db: sqlite_utils.Database | sqlite3.Connection,
    batch: list[tuple[int, float]],
    plan: _Plan,
) -> Iterator[Hit]:
    """The candidates (rowid, score), in order, whose rows pass the plan's tests."""
    rows = db.execute(
        f"SELECT rowid, {', '.join(HIT_COLUMNS)} FROM briefs"
        f" WHERE rowid IN ({', '.join('?' * len(batch))})"
        + (f" AND {plan.conditions}" if plan.conditions else ""),
        [rowid for rowid, _ in batch] + list(plan.params),
    ).fetchall()
    by_rowid = {row[0]: row for row in rows}
    for rowid, score in batch:
        row = by_rowid.get(rowid)
        if row is None:
            continue
        fields = {
            name: json.loads(value) if name in _LIST_COLUMNS else value
            for name, value in zip(HIT_COLUMNS, row[1:], strict=True)
        }
        if plan.passes(fields):
            yield Hit(**fields, snippet="", score=_rounded(score), rowid=rowid)


def _snippets(
    db: sqlite_utils.Database | sqlite3.Connection,
    plan: _Plan,
    rowids: list[int],
    highlight: tuple[str, str],
) -> dict[int, str]:
    """Each hit's snippet, around the query's own matches (not the filters')."""
    snippets: dict[int, str] = {}
    # The marks are written into the statement: a batch's rowids are all its parameters.
    marks = ", ".join(f"char({ord(mark)})" for mark in RAW_HIGHLIGHT)
    texts = ", ".join(
        f"snippet(briefs_fts, {index}, {marks}, '…', {SNIPPET_TOKENS})"
        if column in ("body", "summary")
        else f"highlight(briefs_fts, {index}, {marks})"
        for index, column in enumerate(INDEX_COLUMNS)
    )
    for batch in map(list, chunks(rowids, BATCH)):
        rows = db.execute(
            f"SELECT rowid, {texts} FROM briefs_fts WHERE briefs_fts MATCH ?"
            f" AND rowid IN ({', '.join('?' * len(batch))})",
            [plan.query, *batch],
        )
        for rowid, *columns in rows:
            snippet = _snippet(dict(zip(INDEX_COLUMNS, columns, strict=True)))
            snippets[rowid] = _marked(snippet, highlight)
    return snippets


def _scores(
    db: sqlite_utils.Database | sqlite3.Connection, plan: _Plan, rowids: list[int]
) -> dict[int, float]:
    """Each hit's bm25, as the ranked search gives it. The query alone is matched: a filter's
    phrase, in a column that weighs nothing, adds nothing to a score, and bm25 reads the whole
    index once for each phrase (a common word's, 30 ms on 100,000 briefs)."""
    weights = ", ".join(str(weight) for weight in plan.weights)
    scores: dict[int, float] = {}
    for batch in map(list, chunks(rowids, BATCH)):
        rows = db.execute(
            f"SELECT rowid, bm25(briefs_fts, {weights}) FROM briefs_fts"
            f" WHERE briefs_fts MATCH ? AND rowid IN ({', '.join('?' * len(batch))})",
            [plan.query, *batch],
        )
        scores.update((rowid, _rounded(score)) for rowid, score in rows)
    return scores


def _snippet(marked: dict[str, str | None]) -> str:
    """A hit's snippet from its index columns as FTS5 marked them (RAW_HIGHLIGHT): from the
    body where the match is there, else the summary, else the title, else the filing field
    that holds it ("Tags: …"); one block of the body (a paragraph, a heading) at a time, two
    joined by "…", never run together."""
    start = RAW_HIGHLIGHT[0]
    for column in ("body", "summary"):
        text = marked.get(column) or ""
        if start in text:
            return _blocks(text)
    if start in (marked.get("title") or ""):
        return " ".join(marked["title"].split())
    for column, label in _FILING_LABELS.items():
        text = marked.get(column) or ""
        if start in text:
            # (strict=False: the marks are control characters inside its strings)
            names = json.loads(text, strict=False) if column in _LIST_COLUMNS else [text]
            return f"{label}: {', '.join(names)}"
    return _blocks(marked.get("body") or "")


def _blocks(text: str) -> str:
    """The blocks of a snippet that hold a match (all of them when none does), joined by
    "…", each on one line."""
    blocks = [" ".join(block.split()) for block in re.split(r"\n\s*\n", text)]
    keep = [i for i, block in enumerate(blocks) if RAW_HIGHLIGHT[0] in block] or range(len(blocks))
    kept = [blocks[i] for i in keep if blocks[i]]
    snippet = " … ".join(kept)
    if keep and keep[0] > 0 and not snippet.startswith("…"):
        snippet = "…" + snippet
    if keep and keep[-1] < len(blocks) - 1 and not snippet.endswith("…"):
        snippet += "…"
    return snippet


def _rounded(score: float) -> float:
    """A score to six significant digits: bm25 of a word most briefs hold is near zero."""
    return float(f"{score:.6g}")


def _marked(snippet: str, highlight: tuple[str, str]) -> str:
    return snippet.replace(RAW_HIGHLIGHT[0], highlight[0]).replace(RAW_HIGHLIGHT[1], highlight[1])


def _fold(name: str) -> str:
    """A name without case or diacritics, as the index's tokenizer sees it."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


# An empty index of the same columns for each thread (Datasette searches from several), on
# which a query is tried.
_checkers = threading.local()


def check_query(query: str) -> None:
    """Raise SearchQueryError with FTS5's reason if `query` is not a valid FTS5 query.

    The query is tried on an empty index of the same columns, so a bad query is told apart
    from any other failure of the archive itself.
    """
    if not query.strip():
        raise SearchQueryError("the search query is empty")
    checker = getattr(_checkers, "connection", None)
    if checker is None:
        checker = _checkers.connection = sqlite3.connect(":memory:")
        checker.execute(
            f"CREATE VIRTUAL TABLE q USING fts5({', '.join(INDEX_COLUMNS)},"
            " tokenize='unicode61 remove_diacritics 2')"
        )
    try:
        checker.execute("SELECT rowid FROM q WHERE q MATCH ?", [query]).fetchall()
    except sqlite3.Error as error:
        raise SearchQueryError(
            f'not a valid search query: {query!r} ({error}). Words are ANDed; use "double'
            ' quotes" around a phrase or a word with punctuation (e.g. "MS-13"), OR, NOT,'
            " NEAR(a b), prefix*, or a column: title:word (also summary, body, countries,"
            " authors, tags, section)"
        ) from None


_YEAR = re.compile(r"\d{4}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_bound(value: str, name: str) -> str:
    """A date bound as `published` and `first_seen` compare with it: a year ("2020") or a
    month ("2021-06") stays as it is, an ISO date stays a date, a date and time becomes ISO
    8601 UTC, as the archive's are."""
    text = value.strip()
    month = _MONTH.fullmatch(text)
    if _YEAR.fullmatch(text) or (month and 1 <= int(month.group(2)) <= 12):
        return text
    if not _DAY.match(text):
        raise SearchQueryError(
            f"--{name} takes a year (2020), a month (2021-06), a date (2021-06-30) or an ISO"
            f" 8601 date and time, not {value!r}"
        )
    try:
        return parse_since(text, name)
    except ValueError as error:
        raise SearchQueryError(str(error)) from None
