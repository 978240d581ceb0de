"""The demo site: the bundled brief pages, served on 127.0.0.1 in the live site's shape.

A crawl finds briefs through the site's own indexes, so besides the pages (served as they
are, at the paths their canonical URLs name) the server answers every entry point a crawl
asks for: robots.txt, the brief listing and its RSS feed, the sitemap index and its post
sitemap, and the REST API's posts. All of it is built from the pages once, when the server
starts: nothing changes while it runs, and nothing misbehaves (the tests' fixture site,
tests/localsite.py, is the one that does).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from cleaning import clean

# The bundled pages are copies of the live site's: their canonical URLs name its origin.
PAGES_ORIGIN = "https://insightcrime.org"
_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_HTML = "text/html; charset=UTF-8"
_TEXT = "text/plain; charset=UTF-8"
_XML = "application/xml; charset=UTF-8"
_RSS = "application/rss+xml; charset=UTF-8"
_JSON = "application/json; charset=UTF-8"


@dataclass(frozen=True)
class BundledPage:
    """A bundled brief page, and what the site's indexes show of it."""

    path: str  # its canonical URL's path
    html: bytes
    title: str
    language: str
    published: datetime  # aware
    modified: datetime  # the publication date when the page was never edited


@dataclass(frozen=True)
class _Document:
    """What the server answers at one path."""

    content_type: str
    body: bytes
    status: int = 200


_NOT_FOUND = _Document(_TEXT, b"Not found\n", 404)


def bundled_pages() -> list[BundledPage]:
    """The brief pages shipped with briefs: crawler/demo_site/ and its live-shape/ folder."""
    folder = resources.files("crawler") / "demo_site"
    files = [
        file
        for subfolder in (folder, folder / "live-shape")
        for file in sorted(subfolder.iterdir(), key=lambda file: file.name)
        if file.name.endswith(".html")
    ]
    return [_bundled_page(file.read_bytes()) for file in files]


def _bundled_page(html: bytes) -> BundledPage:
    record = clean(html, PAGES_ORIGIN + "/")
    published = datetime.fromisoformat(record.published)
    return BundledPage(
        path=urlsplit(record.url).path,
        html=html,
        title=record.title,
        language=record.language,
        published=published,
        modified=datetime.fromisoformat(record.updated) if record.updated else published,
    )


def _site_documents(base_url: str, pages: list[BundledPage]) -> dict[str, _Document]:
    """The demo site at `base_url`: a document for each path it answers."""
    newest = sorted(pages, key=lambda page: page.published, reverse=True)
    # The listing and the feed are the English "Brief" category's; sitemaps and API show all.
    english = [page for page in newest if page.language == "en"]
    return {
        **{page.path: _Document(_HTML, page.html) for page in pages},
        "/robots.txt": _Document(_TEXT, _robots(base_url)),
        "/news/brief/": _Document(_HTML, _listing(base_url, english)),
        "/news/brief/feed/": _Document(_RSS, _feed(base_url, english)),
        "/sitemap_index.xml": _Document(_XML, _sitemap_index(base_url)),
        "/post-sitemap.xml": _Document(_XML, _post_sitemap(base_url, newest)),
        "/wp-json/wp/v2/posts": _Document(_JSON, _api_posts(base_url, newest)),
    }


def _robots(base_url: str) -> bytes:
    return (
        f"User-agent: *\nDisallow: /wp-admin/\n\nSitemap: {base_url}/sitemap_index.xml\n".encode()
    )


def _listing(base_url: str, pages: list[BundledPage]) -> bytes:
    articles = "".join(
        f'<article><h2 class="entry-title"><a href="{base_url}{page.path}" rel="bookmark">'
        f'{escape(page.title)}</a></h2><time datetime="{page.published.isoformat()}">'
        f"{page.published:%d %B %Y}</time></article>"
        for page in pages
    )
    return (
        '<!doctype html><html lang="en-US"><head><meta charset="UTF-8">'
        "<title>Brief Archives - InSight Crime</title></head>"
        f"<body><main><h1>Brief</h1>{articles}</main></body></html>"
    ).encode()


def _feed(base_url: str, pages: list[BundledPage]) -> bytes:
    items = "".join(
        f"<item><title>{escape(page.title)}</title><link>{base_url}{page.path}</link>"
        f"<pubDate>{format_datetime(page.published)}</pubDate></item>"
        for page in pages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Brief Archives - InSight Crime</title><link>{base_url}/news/brief/</link>"
        f"{items}</channel></rss>"
    ).encode()


def _sitemap_index(base_url: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="{_SITEMAP_NS}">'
        f"<sitemap><loc>{base_url}/post-sitemap.xml</loc></sitemap></sitemapindex>"
    ).encode()


def _post_sitemap(base_url: str, pages: list[BundledPage]) -> bytes:
    urls = "".join(
        f"<url><loc>{base_url}{page.path}</loc><lastmod>{page.modified.isoformat()}</lastmod></url>"
        for page in pages
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{_SITEMAP_NS}">{urls}</urlset>'
    ).encode()


def _api_posts(base_url: str, pages: list[BundledPage]) -> bytes:
    # One page holds every post: without an X-WP-TotalPages header, a crawl asks for no next.
    posts = [
        {
            "link": base_url + page.path,
            "date_gmt": _wordpress_gmt(page.published),
            "modified_gmt": _wordpress_gmt(page.modified),
            "title": {"rendered": escape(page.title)},
        }
        for page in pages
    ]
    return json.dumps(posts, ensure_ascii=False).encode()


def _wordpress_gmt(moment: datetime) -> str:
    # WordPress writes the *_gmt fields as naive ISO strings.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    documents: dict[str, _Document]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        document = self.server.documents.get(urlsplit(self.path).path, _NOT_FOUND)
        self.send_response(document.status)
        self.send_header("Content-Type", document.content_type)
        self.send_header("Content-Length", str(len(document.body)))
        # The server answers once a connection (HTTP/1.0); said outright, or Scrapy's
        # HTTP/1.1 client keeps the connection for its next request, which, sent as the
        # server closes it, waits out the download timeout (10-30 s, in a demo in three).
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(document.body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: `briefs demo` reports the crawl itself


@contextmanager
def serve_demo_site() -> Iterator[str]:
    """Serve the bundled pages on a free port of 127.0.0.1, from a thread, while in the `with`
    block; yields the site's base URL."""
    with _Server(("127.0.0.1", 0), _Handler) as server:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        server.documents = _site_documents(base_url, bundled_pages())
        # A short poll: shutdown() waits for the current one to end.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield base_url
        finally:
            server.shutdown()
            thread.join()
