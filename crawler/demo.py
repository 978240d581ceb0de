"""`briefs demo`: the whole job on a machine without the network.

The bundled brief pages are served on 127.0.0.1 in the site's shape (listing, feed,
sitemaps, robots.txt) and crawled with the same spider and pipelines as a real crawl: the
sample pages (demo_site/) and pages in the shape public copies of the live site show
(demo_site/live-shape/: a theme-primary brief with an organization byline, its Spanish
"Noticias del día" edition, a News brief, a brief with an embedded tweet).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from cleaning import clean
from crawler.localsite import LocalSite, SiteBrief
from crawler.report import CrawlReport
from crawler.run import crawl

# A local server answers in milliseconds: no need for the live site's politeness delays.
DEMO_SETTINGS = {
    "AUTOTHROTTLE_START_DELAY": 0.0,
    "DOWNLOAD_DELAY": 0.0,
    "LOG_ENABLED": False,
    # The bundled pages are the live site's: their canonical URLs name its origin.
    "BRIEFS_IDENTITY_ORIGIN": "https://insightcrime.org",
}


def briefs_from_pages(pages: Iterable[bytes]) -> Iterator[SiteBrief]:
    """Brief pages placed at their canonical paths, with the metadata the site's indexes show."""
    for html in pages:
        record = clean(html, "https://insightcrime.org/")
        yield SiteBrief(
            path=urlsplit(record.url).path,
            html=html,
            title=record.title,
            published=datetime.fromisoformat(record.published),
            modified=datetime.fromisoformat(record.updated) if record.updated else None,
            language=record.language,
            countries=record.countries,
            authors=record.authors,
            tags=record.tags,
            summary=record.summary,
        )


def bundled_briefs() -> Iterator[SiteBrief]:
    """The brief pages shipped with briefs."""
    site = resources.files("crawler") / "demo_site"
    pages = [
        page
        for folder in (site, site / "live-shape")
        for page in sorted(folder.iterdir(), key=lambda p: p.name)
        if page.name.endswith(".html")
    ]
    return briefs_from_pages(page.read_bytes() for page in pages)


def run_demo(db: str | Path) -> tuple[str, CrawlReport]:
    """Serve the bundled site, crawl it into `db`; returns the site's URL and the report."""
    with LocalSite(bundled_briefs()) as site:
        return site.base_url, crawl(site.base_url, db, DEMO_SETTINGS)
