"""How many briefs, by year, month, country or section, of all or of those a filter keeps:
what `briefs stats` prints and `briefs serve`'s chart draws (one query for both).

The filters are a search's: a country by its name in either language or its code (both
editions of it), a section (a country section by its code too: Peru is Perú), a tag, an
author (whole names, in any case, with or without accents), a language, published
bounds, and when it was first seen. Each filter may name several values, any of which keeps
a brief; different filters must all keep it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import sqlite_utils

from archive.search import country_filter, parse_bound
from cleaning.countries import country_code, country_name, name_key, resolve_country

BY = ("year", "month", "country", "section")


@dataclass(frozen=True)
class Filters:
    countries: Sequence[str] = ()
    sections: Sequence[str] = ()
    tags: Sequence[str] = ()
    authors: Sequence[str] = ()
    languages: Sequence[str] = ()
    since: str | None = None
    until: str | None = None
    seen_since: str | None = None  # first seen (archived) on or after


@dataclass(frozen=True)
class Count:
    """One group: its key (2021, 2021-03, MX, or a section), what to call it (the country's
    name, a section's spellings), and its number of briefs."""

    key: str
    label: str
    briefs: int

    def as_dict(self, by: str) -> dict[str, object]:
        if by == "country":
            return {"country_code": self.key, "country": self.label, "briefs": self.briefs}
        if by == "section":
            return {"section": self.label, "briefs": self.briefs}
        return {by: self.key, "briefs": self.briefs}


# The fields of each grouping's records (as_dict), in order.
FIELDS = {
    "year": ("year", "briefs"),
    "month": ("month", "briefs"),
    "country": ("country_code", "country", "briefs"),
    "section": ("section", "briefs"),
}

# What each grouping groups on; a country is one row per code of a brief (a brief of two
# countries counts in both).
_GROUPS = {
    "year": ("substr(b.published, 1, 4)", "briefs AS b"),
    "month": ("substr(b.published, 1, 7)", "briefs AS b"),
    "country": ("code.value", "briefs AS b, json_each(b.country_codes) AS code"),
    "section": ("b.section", "briefs AS b"),
}
_FOLD = "briefs_fold"


def count_briefs(
    db: sqlite_utils.Database | sqlite3.Connection, by: str, filters: Filters = Filters()
) -> list[Count]:
    """The briefs `filters` keeps, counted by `by` (one of BY): years and months in order,
    from the first to the last that has a brief (those between with none count 0);
    countries and sections most briefs first. A section that is a country is counted with
    its other edition's (Mexico and México, by code); briefs with no section are not counted
    by section. SearchQueryError for a country that names no country or a malformed date."""
    if by not in BY:
        raise ValueError(f"count by one of {', '.join(BY)}, not {by!r}")
    conn = db.conn if isinstance(db, sqlite_utils.Database) else db
    conn.create_function(_FOLD, 1, name_key, deterministic=True)
    key, source = _GROUPS[by]
    where, params = _where(conn, filters)
    rows = conn.execute(
        f"SELECT {key}, COUNT(*) FROM {source}"
        f" WHERE {' AND '.join([f'{key} IS NOT NULL', *where])} GROUP BY 1 ORDER BY 1",
        params,
    ).fetchall()
    if by in ("year", "month"):
        return _in_order(rows, by)
    if by == "country":
        counts = [Count(code, country_name(code, "en") or code, n) for code, n in rows]
    else:
        counts = _sections(rows)
    return sorted(counts, key=lambda count: (-count.briefs, count.key))


def _where(conn: sqlite3.Connection, filters: Filters) -> tuple[list[str], list[object]]:
    """The conditions on `b` (briefs) that make the filters, and their parameters."""
    where: list[str] = []
    params: list[object] = []
    # The lists are looked up in the full-text index, which holds each one's names as
    # words: a phrase there finds the candidates without reading every brief; the exact
    # test of the whole name follows (a phrase also matches inside a longer name).
    phrases = [
        " OR ".join(f"{column} : {_phrase(name)}" for name in names)
        for column, names in (
            ("country_codes", [country_filter(value) for value in filters.countries]),
            ("tags", filters.tags),
            ("authors", filters.authors),
        )
        if names
    ]
    if phrases:
        where.append("b.rowid IN (SELECT rowid FROM briefs_fts WHERE briefs_fts MATCH ?)")
        params.append(" AND ".join(f"({phrase})" for phrase in phrases))
    for column, names in (("tags", filters.tags), ("authors", filters.authors)):
        if names:
            where.append(
                f"EXISTS (SELECT 1 FROM json_each(b.{column}) WHERE {_FOLD}(value)"
                f" IN ({', '.join('?' * len(names))}))"
            )
            params.extend(name_key(name) for name in names)
    if filters.sections:
        spellings = _section_spellings(conn, filters.sections)
        where.append(f"b.section IN ({', '.join('?' * len(spellings)) or 'NULL'})")
        params.extend(spellings)
    if filters.languages:
        where.append(f"b.language IN ({', '.join('?' * len(filters.languages))})")
        params.extend(language.casefold() for language in filters.languages)
    if filters.since is not None:
        where.append("b.published >= ?")
        params.append(parse_bound(filters.since, "since"))
    if filters.until is not None:
        # A date keeps the whole day: the timestamps are compared to its length.
        high = parse_bound(filters.until, "until")
        where.append("substr(b.published, 1, ?) <= ?")
        params.extend([len(high), high])
    if filters.seen_since is not None:
        where.append("b.first_seen >= ?")
        params.append(parse_bound(filters.seen_since, "seen_since"))
    return where, params


def _phrase(name: str) -> str:
    """A name as an FTS5 phrase (the index folds its case and accents itself)."""
    return '"' + name.replace('"', '""') + '"'


def _section_key(section: str) -> str:
    """What a section is counted and filtered by: a country's code, else its name folded."""
    return country_code(section) or name_key(section)


def _section_spellings(conn: sqlite3.Connection, wanted: Sequence[str]) -> list[str]:
    """The sections, as the archive writes them, that the wanted names name (Peru, Perú or
    PE: Peru and Perú). Read from the index on section: a few values, not a row a brief."""
    keys = {resolve_country(name) or name_key(name) for name in wanted}
    sections = conn.execute("SELECT DISTINCT section FROM briefs WHERE section IS NOT NULL")
    return [section for (section,) in sections if _section_key(section) in keys]


def _sections(rows: list[tuple[str, int]]) -> list[Count]:
    """A count a section, the spellings of one country's section in one (by its code)."""
    groups: dict[str, tuple[list[str], int]] = {}
    for section, briefs in rows:
        spellings, count = groups.get(_section_key(section), ([], 0))
        groups[_section_key(section)] = ([*spellings, section], count + briefs)
    return [
        Count(country_code(spellings[0]) or spellings[0], ", ".join(spellings), count)
        for spellings, count in groups.values()
    ]


def _in_order(rows: list[tuple[str, int]], by: str) -> list[Count]:
    """Years or months from the first to the last, each with its count (0 if none)."""
    if not rows:
        return []
    counts = dict(rows)
    periods = _years(rows[0][0], rows[-1][0]) if by == "year" else _months(rows[0][0], rows[-1][0])
    return [Count(period, period, counts.get(period, 0)) for period in periods]


def _years(first: str, last: str) -> list[str]:
    return [f"{year:04d}" for year in range(int(first), int(last) + 1)]


def _months(first: str, last: str) -> list[str]:
    (year, month), end = map(int, first.split("-")), tuple(map(int, last.split("-")))
    months = []
    while (year, month) <= end:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
