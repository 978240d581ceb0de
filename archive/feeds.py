"""Atom 1.0 feeds (RFC 4287) of briefs: the newest of the archive, or the newest a saved
search (archive.watches) finds, for a feed reader to follow.

An entry is a brief: its URL is its id and its link, with its title, published date,
`updated` (the date the page says it was revised, else its publication), authors, summary,
and its countries and tags as categories. The feed's own author is the archive (RFC 4287
wants one on every entry, and some briefs have no byline).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version

import sqlite_utils

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50  # entries a feed holds: the newest
# A feed with no entry is dated by the archive's latest crawl, or else by this.
_EPOCH = "1970-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class Entry:
    url: str
    title: str
    published: str
    updated: str
    authors: tuple[str, ...]
    summary: str
    categories: tuple[str, ...]


_ENTRY_COLUMNS = "url, title, published, updated, authors, summary, countries, tags"


def _entry(row: Sequence[object]) -> Entry:
    url, title, published, updated, authors, summary, countries, tags = row
    return Entry(
        url=str(url),
        title=str(title),
        published=_datetime(str(published)),
        updated=_datetime(str(updated or published)),
        authors=tuple(json.loads(str(authors))),
        summary=str(summary),
        categories=tuple(dict.fromkeys([*json.loads(str(countries)), *json.loads(str(tags))])),
    )


def newest_entries(db: sqlite_utils.Database, limit: int = FEED_SIZE) -> list[Entry]:
    """The `limit` briefs published last, newest first."""
    rows = db.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM briefs ORDER BY published DESC, url LIMIT ?", [limit]
    )
    return [_entry(row) for row in rows]


def entries_of(db: sqlite_utils.Database, urls: Sequence[str]) -> list[Entry]:
    """The briefs at `urls` (a search's hits), in that order."""
    if not urls:
        return []
    rows = db.execute(
        f"SELECT {_ENTRY_COLUMNS} FROM briefs WHERE url IN ({', '.join('?' * len(urls))})",
        list(urls),
    )
    by_url = {entry.url: entry for entry in map(_entry, rows)}
    return [by_url[url] for url in urls if url in by_url]


def last_crawl(db: sqlite_utils.Database) -> str:
    """When the archive's latest crawl began (what dates a feed with no entry)."""
    row = db.execute("SELECT MAX(started_at) FROM runs").fetchone()
    return _datetime(row[0]) if row and row[0] else _EPOCH


def atom_feed(
    *,
    feed_id: str,
    title: str,
    self_url: str,
    alternate_url: str,
    entries: Sequence[Entry],
    empty_updated: str,
    subtitle: str | None = None,
) -> bytes:
    """The feed as an Atom 1.0 document (UTF-8). `feed_id` is a permanent IRI of it (its
    URL); it is `updated` when its newest entry was, `empty_updated` when it has none."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    if subtitle:
        _text(feed, "subtitle", subtitle)
    _text(feed, "updated", max((entry.updated for entry in entries), default=empty_updated))
    _link(feed, "self", self_url, "application/atom+xml")
    _link(feed, "alternate", alternate_url, "text/html")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "briefs archive")
    generator = _text(feed, "generator", "briefs")
    generator.set("version", version("briefs"))
    for entry in entries:
        element = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(element, "id", entry.url)
        _text(element, "title", entry.title)
        _link(element, "alternate", entry.url, "text/html")
        _text(element, "published", entry.published)
        _text(element, "updated", entry.updated)
        for name in entry.authors:
            _text(ET.SubElement(element, f"{{{ATOM}}}author"), "name", name)
        for term in entry.categories:
            ET.SubElement(element, f"{{{ATOM}}}category", {"term": term})
        if entry.summary:
            _text(element, "summary", entry.summary)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, name: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}")
    element.text = text
    return element


def _link(parent: ET.Element, rel: str, href: str, media_type: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"rel": rel, "type": media_type, "href": href})


def _datetime(value: str) -> str:
    """An archive date as RFC 3339 wants it: a date alone is its midnight, UTC."""
    return f"{value}T00:00:00+00:00" if len(value) == 10 else value
