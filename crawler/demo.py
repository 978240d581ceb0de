"""`briefs demo`: the whole job on a machine without the network.

The bundled brief pages are served on 127.0.0.1 in the site's shape (crawler.demo_server:
listing, feed, sitemaps, REST API, robots.txt) and crawled with the same spider and
pipelines as a real crawl: the sample pages (demo_site/) and pages in the shape public
copies of the live site show (demo_site/live-shape/: a theme-primary brief with an
organization byline, its Spanish "Noticias del día" edition, a News brief, a brief with an
embedded tweet).
"""

from __future__ import annotations

from pathlib import Path

from crawler.demo_server import PAGES_ORIGIN, serve_demo_site
from crawler.report import CrawlReport
from crawler.run import crawl

# A local server answers in milliseconds: no need for the live site's politeness delays.
DEMO_SETTINGS = {
    "AUTOTHROTTLE_START_DELAY": 0.0,
    "DOWNLOAD_DELAY": 0.0,
    "LOG_ENABLED": False,
    "BRIEFS_IDENTITY_ORIGIN": PAGES_ORIGIN,
}


def next_steps(db: str | Path) -> str:
    """What `briefs demo` suggests running on the archive it made, once it made it."""
    return (
        "Next:\n"
        f"  briefs search ms13 --db {db}                         # full-text search, best first\n"
        f"  briefs serve --db {db}                               # browse it in Datasette\n"
        f"  briefs export --db {db} --format jsonl | head -n 1    # the records\n"
        f"  sqlite3 {db} 'SELECT published, title FROM briefs ORDER BY published'\n"
        "  briefs crawl                                # the live site, into briefs.sqlite"
    )


def run_demo(db: str | Path) -> tuple[str, CrawlReport]:
    """Serve the bundled site, crawl it into `db`; returns the site's URL and the report."""
    with serve_demo_site() as site_url:
        return site_url, crawl(site_url, db, DEMO_SETTINGS)
