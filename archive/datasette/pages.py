"""What briefs' own pages in Datasette show, made from the archive: a brief as a reader reads
it (brief_page), and the bars of the chart of briefs a month (chart). The plugin
(archive.datasette) runs these on Datasette's connections and renders them with the
templates beside it; nothing here writes."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from datasette.utils import tilde_encode

from archive.stats import Count, Filters
from cleaning.countries import resolve_country

LANGUAGES = {"en": "English", "es": "Español"}
# The table filters that keep what each chart filter keeps (Datasette's ?column__op=value).
TABLE_FILTERS = {
    "country": "country_codes__arraycontains",
    "section": "section",
    "tag": "tags__arraycontains",
    "author": "authors__arraycontains",
    "lang": "language",
}
# The chart's drawing, in SVG user units: bars side by side across WIDTH, the tallest HEIGHT.
WIDTH = 960
HEIGHT = 240


@dataclass(frozen=True)
class Links:
    """The URLs of one database's pages (Datasette's `urls`: its base_url kept)."""

    urls: object
    database: str

    def brief(self, url: str) -> str:
        return self.urls.row(self.database, "briefs", tilde_encode(url))

    def briefs(self, args: list[tuple[str, str]] | None = None) -> str:
        return _with_query(self.urls.table(self.database, "briefs"), args)

    def chart(self, args: list[tuple[str, str]] | None = None) -> str:
        return _with_query(self.urls.database(self.database) + "/-/chart", args)

    def diff(self, url: str, before: int, after: int) -> str:
        return _with_query(
            self.urls.database(self.database) + "/-/diff",
            [("url", url), ("from", str(before)), ("to", str(after))],
        )

    def newest_feed(self) -> str:
        return self.urls.database(self.database) + "/-/feeds/newest.atom"


def _with_query(path: str, args: list[tuple[str, str]] | None) -> str:
    return f"{path}?{urlencode(args)}" if args else path


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Related:
    title: str
    url: str
    href: str | None  # its page in the archive, if the archive has it
    section: str | None
    date: str | None


@dataclass(frozen=True)
class Revision:
    number: int
    href: str  # its row of `revisions`
    seen_at: str
    content_hash: str
    diff_href: str | None  # what changed from the revision before (none before the first)
    current: bool


@dataclass(frozen=True)
class BriefPage:
    url: str
    title: str
    language: str
    published: str
    updated: str | None
    first_seen: str
    last_seen: str
    section: Link | None
    countries: list[Link]
    authors: list[Link]
    tags: list[Link]
    summary: str | None  # only when the body does not begin with it
    paragraphs: list[str]
    translations: list[Related]
    related: list[Related]
    revisions: list[Revision]
    chart_href: str


_BRIEF = (
    "SELECT url, title, language, section, countries, country_codes, published, updated,"
    " authors, tags, summary, body, related, translations, revision, first_seen, last_seen"
    " FROM briefs WHERE url = ?"
)
_LISTS = ("countries", "country_codes", "authors", "tags", "related", "translations")


def brief_page(conn: sqlite3.Connection, url: str, links: Links) -> BriefPage | None:
    """The brief at `url` as its page shows it, or None if the archive has no such brief."""
    cursor = conn.execute(_BRIEF, [url])
    row = cursor.fetchone()
    if row is None:
        return None
    brief = dict(zip((column[0] for column in cursor.description), row, strict=True))
    lists = {name: json.loads(brief[name]) for name in _LISTS}
    codes = dict(zip(lists["countries"], lists["country_codes"], strict=False))
    related = lists["related"]
    translations = lists["translations"]
    archived = _archived(conn, [item["url"] for item in related] + list(translations.values()))

    def other(
        title: str | None, other_url: str, section: str | None = None, date: str | None = None
    ) -> Related:
        href = links.brief(other_url) if other_url in archived else None
        return Related(title or other_url, other_url, href, section, date)

    def filtered(column: str, value: str) -> str:
        return links.briefs([(TABLE_FILTERS[column], value)])

    revisions = conn.execute(
        "SELECT id, revision, seen_at, content_hash FROM revisions WHERE url = ? ORDER BY revision",
        [url],
    ).fetchall()
    body = brief["body"]
    return BriefPage(
        url=url,
        title=brief["title"],
        language=LANGUAGES.get(brief["language"], brief["language"]),
        published=brief["published"],
        updated=brief["updated"],
        first_seen=brief["first_seen"],
        last_seen=brief["last_seen"],
        section=Link(brief["section"], filtered("section", brief["section"]))
        if brief["section"]
        else None,
        countries=[
            Link(name, filtered("country", codes[name]) if codes.get(name) else "")
            for name in lists["countries"]
        ],
        authors=[Link(name, filtered("author", name)) for name in lists["authors"]],
        tags=[Link(name, filtered("tag", name)) for name in lists["tags"]],
        summary=None if body.startswith(brief["summary"]) else brief["summary"],
        paragraphs=[block.strip() for block in body.split("\n\n") if block.strip()],
        translations=[
            other(LANGUAGES.get(language, language), other_url)
            for language, other_url in translations.items()
        ],
        related=[
            other(item.get("title"), item["url"], item.get("section"), item.get("date"))
            for item in related
        ],
        revisions=[
            Revision(
                number,
                links.urls.row(links.database, "revisions", str(revision_id)),
                seen_at,
                content_hash[:12],
                links.diff(url, number - 1, number) if number > 1 else None,
                number == brief["revision"],
            )
            for revision_id, number, seen_at, content_hash in revisions
        ],
        chart_href=links.chart([("country", code) for code in lists["country_codes"] if code]),
    )


def _archived(conn: sqlite3.Connection, urls: list[str]) -> set[str]:
    """Those of `urls` the archive holds a brief at."""
    if not urls:
        return set()
    found = conn.execute(
        f"SELECT url FROM briefs WHERE url IN ({', '.join('?' * len(urls))})", urls
    )
    return {found_url for (found_url,) in found}


@dataclass(frozen=True)
class Bar:
    month: str
    briefs: int
    x: float
    y: float
    width: float
    height: float
    href: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    years: list[tuple[float, str]]  # (x, year) where each year's first bar is
    most: int  # the tallest bar's count
    total: int
    width: int = WIDTH
    height: int = HEIGHT


def chart(counts: list[Count], filters: dict[str, list[str]], links: Links) -> Chart:
    """The bars of `counts` (a count a month, in order) across WIDTH, the tallest HEIGHT
    high; each links to the table of its month's briefs, with the chart's `filters`."""
    most = max((count.briefs for count in counts), default=0)
    slot = WIDTH / max(len(counts), 1)
    # The table's country filter is on the codes: a name (México) is given as its code.
    table_filters = [
        (TABLE_FILTERS[name], (resolve_country(value) or value) if name == "country" else value)
        for name, values in filters.items()
        for value in values
    ]
    bars = []
    for index, count in enumerate(counts):
        height = HEIGHT * count.briefs / most if most else 0
        bars.append(
            Bar(
                month=count.key,
                briefs=count.briefs,
                x=round(index * slot + slot * 0.1, 2),
                y=round(HEIGHT - height, 2),
                width=round(slot * 0.8, 2),
                height=round(height, 2),
                href=links.briefs([("published__startswith", count.key), *table_filters]),
            )
        )
    years = [
        (round(index * slot, 2), bar.month[:4])
        for index, bar in enumerate(bars)
        if index == 0 or bar.month.endswith("-01")
    ]
    return Chart(bars, years, most, sum(count.briefs for count in counts))


def chart_filters(args: dict[str, list[str]]) -> tuple[dict[str, list[str]], Filters]:
    """The chart's filters in a request's arguments (each may repeat; blanks are none), and
    the counts' Filters of them."""
    given = {
        name: [value.strip() for value in args.get(name, []) if value.strip()]
        for name in TABLE_FILTERS
    }
    given = {name: values for name, values in given.items() if values}
    return given, Filters(
        countries=given.get("country", ()),
        sections=given.get("section", ()),
        tags=given.get("tag", ()),
        authors=given.get("author", ()),
        languages=given.get("lang", ()),
    )


def day(moment: str | None) -> str:
    """An ISO 8601 date as a reader writes it: 1 March 2021."""
    if not moment:
        return ""
    parsed = datetime.fromisoformat(moment)
    return f"{parsed.day} {parsed:%B %Y}"


def month_name(month: str) -> str:
    """2021-03 as March 2021."""
    return f"{datetime.strptime(month, '%Y-%m'):%B %Y}"
