"""A local copy of the site's shape, served on 127.0.0.1, for the tests and benchmarks.

It answers the URLs of SITE.md (listing, feed, sitemaps, REST API, robots.txt, brief pages,
the legacy addresses it redirects) for whatever briefs it is given, with the articles of
other sections (analysis, investigations) and the index pages of sections and countries
beside them in its sitemaps, and can misbehave on purpose (`Fault`) the way a busy site
does: 429/503 with Retry-After, permanent 500s, responses cut short, bytes that are not
HTML, slow answers and oversized pages. Every request is logged (`LocalSite.requests`).

Brief pages are served as given, so their canonical links keep naming the live site: the
archive's identity of a brief is the same whether it was fetched here or there. Pass `origin`
to have every occurrence of that origin in a page replaced by this server's base URL.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html as htmllib
import json
import math
import re
import select
import socket
import sys
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from isal import igzip

from cleaning import clean
from tests.png import solid

__all__ = [
    "Fault",
    "LocalSite",
    "RequestLog",
    "Requisite",
    "RequisiteSite",
    "SiteBrief",
    "briefs_from_pages",
    "cdn_requisites",
    "slugify",
    "theme_requisites",
]


@dataclass
class SiteBrief:
    """One brief as the site holds it: where it lives, its bytes, and the metadata the
    discovery documents (listing, feed, sitemap, REST API) show about it. With another
    `kind` ("analysis", "investigation"), an article of another section: served, and in the
    sitemaps and the REST API as on the live site, but not in the brief listing or feed."""

    # "/news/brief/<slug>/", "/news/<slug>/", "/es/noticias/noticias-del-dia/<slug>/" or
    # "/es/noticias/<slug>/"; for another kind, e.g. "/news/analysis/<slug>/"
    path: str
    html: bytes
    title: str
    published: datetime  # aware, UTC
    modified: datetime | None = None
    language: str = "en"
    countries: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    summary: str = ""
    tags: list[str] = field(default_factory=list)
    post_id: int | None = None  # WordPress id; assigned by the site when None
    excerpt: str = ""  # the feed/API excerpt; the summary when empty
    kind: str = "brief"

    @property
    def slug(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def last_modified(self) -> datetime:
        return self.modified or self.published


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


@dataclass
class RequestLog:
    """One request as the server saw it. `status` is None until the answer is sent (a slow
    fault is logged as soon as the request arrives, so a client that timed out finds it)."""

    method: str
    path: str  # with the query string
    headers: dict[str, str]
    time: float  # time.monotonic() at arrival
    status: int | None = None
    fault: str | None = None  # the Fault kind applied, if any
    # What the server wrote before the body: status line and header lines, as bytes.
    response_head: bytes = b""
    body: bytes = b""  # the body it sent (the whole of it; a cut-short one as sent)


class Gate:
    """What `Fault.held` requests wait at: closed at first; `release(n)` lets n more requests
    through, `open()` every one from then on."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._passes = 0
        self._open = False

    def release(self, n: int) -> None:
        with self._condition:
            self._passes += n
            self._condition.notify_all()

    def open(self) -> None:
        with self._condition:
            self._open = True
            self._condition.notify_all()

    def pass_through(self, stopping: threading.Event, gone: Callable[[], bool]) -> bool:
        """Wait for a pass (or the gate's opening, or `stopping`); False, without taking a
        pass, once the client has `gone` (a crawler killed while its request waited must
        not use up a pass meant for the next one)."""
        with self._condition:
            while not (self._open or self._passes or stopping.is_set()):
                if gone():
                    return False
                self._condition.wait(0.05)
            if not self._open and self._passes:
                self._passes -= 1
            return True


@dataclass(frozen=True)
class Fault:
    """A misbehaviour for one path. Each request to the path consumes one of `times`
    (None: every request, for good); when they are used up the path is served normally.

    Build them with the class methods:

    - `Fault.status(code, times=1, retry_after=None)`: answer `code` (with a `Retry-After`
      header when `retry_after` is given: seconds, or an HTTP date string), e.g. 429 or 503
      for a while, or `times=None` for a URL that answers 500 for good.
    - `Fault.truncated(times=1)`: send the normal status and headers with the full
      Content-Length, then only half the body, then close the connection (IncompleteRead).
    - `Fault.body(data, content_type, times=None)`: a 200 with these bytes instead of the
      page (a PNG, random bytes labelled text/html, an empty body...).
    - `Fault.slow(seconds, times=None)`: wait before answering normally (timeout tests); the
      wait ends early when the site is stopped.
    - `Fault.held(gate, times=None)`: wait until the Gate `gate` lets the request through
      (or the site is stopped), then answer normally: requests held in flight until a test
      lets them go, all at once or a number at a time.
    - `Fault.oversized(n_bytes, times=None)`: a 200 text/html of exactly n bytes that looks
      like HTML (the page itself padded with paragraphs when the path is a brief), streamed.
    - `Fault.redirect(location, code=302, times=None)`: a redirect to `location` (a path on
      this server or any URL: another host, a loop back to the path itself...).
    - `Fault.encoded(data, encoding="gzip", times=None)`: a 200 text/html whose body is
      `data` sent as is with `Content-Encoding: <encoding>` (a decompression bomb, say).
    - `Fault.extra_headers(headers, times=None)`: the normal answer with these headers
      added, e.g. one of a megabyte.
    - `Fault.wire(reason, headers, times=None)`: the normal answer as a server of its own
      ways sends it: gzip-encoded (`Content-Encoding: gzip`), under the reason phrase
      `reason`, with `headers` added as written (any case, repeats).
    """

    kind: str
    times: int | None = 1
    code: int = 200
    retry_after: float | str | None = None
    data: bytes = b""
    content_type: str = "text/html; charset=UTF-8"
    seconds: float = 0.0
    size: int = 0
    location: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    gate: Gate | None = field(default=None, compare=False)

    @classmethod
    def status(
        cls, code: int, times: int | None = 1, retry_after: float | str | None = None
    ) -> Fault:
        return cls("status", times=times, code=code, retry_after=retry_after)

    @classmethod
    def truncated(cls, times: int | None = 1) -> Fault:
        return cls("truncated", times=times)

    @classmethod
    def body(cls, data: bytes, content_type: str, times: int | None = None) -> Fault:
        return cls("body", times=times, data=data, content_type=content_type)

    @classmethod
    def slow(cls, seconds: float, times: int | None = None) -> Fault:
        return cls("slow", times=times, seconds=seconds)

    @classmethod
    def held(cls, gate: Gate, times: int | None = None) -> Fault:
        return cls("held", times=times, gate=gate)

    @classmethod
    def oversized(cls, n_bytes: int, times: int | None = None) -> Fault:
        return cls("oversized", times=times, size=n_bytes)

    @classmethod
    def redirect(cls, location: str, code: int = 302, times: int | None = None) -> Fault:
        return cls("redirect", times=times, code=code, location=location)

    @classmethod
    def encoded(cls, data: bytes, encoding: str = "gzip", times: int | None = None) -> Fault:
        return cls("encoded", times=times, data=data, headers=(("Content-Encoding", encoding),))

    @classmethod
    def extra_headers(cls, headers: Iterable[tuple[str, str]], times: int | None = None) -> Fault:
        return cls("extra_headers", times=times, headers=tuple(headers))

    @classmethod
    def wire(
        cls, reason: str, headers: Iterable[tuple[str, str]], times: int | None = None
    ) -> Fault:
        return cls("wire", times=times, location=reason, headers=tuple(headers))


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=UTF-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str | None = None  # the standard one for the status when None


_REASONS = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
_SITEMAP_RE = re.compile(r"^/post-sitemap(\d*)\.xml$")
_LISTING_RE = re.compile(r"^/news/brief/page/(\d+)/$")
# Legacy brief addresses, which old articles still link to (SITE.md): the site answers them
# with a 301 to the brief's current address, whichever scheme that is.
_LEGACY_RE = re.compile(r"^/(?:news-briefs|news/briefs)/([^/]+)/?$")
# The index pages of sections that the page sitemap names: none of them is a brief.
_SECTION_INDEXES = (
    "/news/",
    "/news/brief/",
    "/news/analysis/",
    "/investigations/",
    "/es/noticias/",
    "/es/noticias/noticias-del-dia/",
    "/es/noticias/analisis/",
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Pages the sitemap index names besides the posts: real, reachable, and not briefs.
_SITE_PAGES = ("/about-us/", "/privacy-policy/")


def _esc(text: str) -> str:
    return htmllib.escape(text, quote=True)


def slugify(text: str) -> str:
    """WordPress's slug of a name: ASCII, lower case, words joined by hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _gmt(moment: datetime) -> str:
    # The REST API's *_gmt fields are naive ISO strings, as WordPress writes them.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _day(moment: datetime) -> str:
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def _html_page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="en-US"><head><meta charset="UTF-8"><title>{_esc(title)}'
        f" - InSight Crime</title></head><body>{body}</body></html>"
    ).encode()


def _error_page(status: int, reason: str) -> bytes:
    return _html_page(reason, f"<h1>{status} {_esc(reason)}</h1>")


@dataclass(frozen=True)
class _Views:
    """The site's briefs in the orders its documents show them. Kept until the briefs change:
    20,000 briefs must not be re-sorted for each of 2,000 listing pages."""

    newest: list[SiteBrief]  # briefs and other sections' articles, newest first
    by_slug: dict[str, SiteBrief]  # the briefs (not other sections'), for legacy addresses
    english: list[SiteBrief]  # the brief listing and feed: the English briefs, newest first
    by_lastmod: list[SiteBrief]  # the post sitemaps' order: oldest modification first
    indexes: list[str]  # index pages of sections and countries (the page sitemap's)

    @classmethod
    def of(cls, briefs: Iterable[SiteBrief]) -> _Views:
        newest = sorted(briefs, key=lambda b: (b.published, b.path), reverse=True)
        only_briefs = [b for b in newest if b.kind == "brief"]
        return cls(
            newest=newest,
            by_slug={b.slug: b for b in only_briefs},
            english=[b for b in only_briefs if b.language == "en"],
            by_lastmod=sorted(newest, key=lambda b: (b.last_modified, b.path)),
            indexes=_index_pages(newest),
        )


def _index_pages(briefs: list[SiteBrief]) -> list[str]:
    """The index pages of sections and of the briefs' countries (the page sitemap names
    them; the brief listing is answered on its own)."""
    countries = {f"/{slugify(c)}-organized-crime-news/" for b in briefs for c in b.countries}
    return [*(p for p in _SECTION_INDEXES if p != "/news/brief/"), *sorted(countries)]


class LocalSite:
    """The site of SITE.md for the given briefs, on http://127.0.0.1:<free port>.

    `listing_links_without_slash`: every third listing link lacks its trailing slash (the
    live site does this; the brief URL answers it with a 301). Listing and feed show the
    English briefs only (they are the English "Brief" category); the sitemaps and the REST
    API show every brief, Spanish included. `origin`: see the module docstring. `compress`:
    everything is sent gzip-encoded to a client that accepts it, as the live site does.
    `log_bodies`: each request's log keeps the body sent; a site of more pages than memory
    holds (the benchmarks') keeps only the heads.
    """

    def __init__(
        self,
        briefs: Iterable[SiteBrief] = (),
        *,
        listing_links_without_slash: bool = True,
        sitemap_page_size: int = 1000,
        listing_page_size: int = 10,
        feed_size: int = 10,
        origin: str | None = None,
        compress: bool = False,
        log_bodies: bool = True,
    ) -> None:
        self.compress = compress
        self.log_bodies = log_bodies
        self.listing_links_without_slash = listing_links_without_slash
        self.sitemap_page_size = sitemap_page_size
        self.listing_page_size = listing_page_size
        self.feed_size = feed_size
        self.origin = origin.rstrip("/") if origin else None
        self.base_url = ""
        # Exceptions raised while answering (not client disconnects): a test can assert
        # there are none, since the server itself must stay quiet on stderr.
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._briefs: dict[str, SiteBrief] = {}
        self._pages: dict[str, _Response] = {}
        self._faults: dict[str, list] = {}  # path -> [Fault, remaining or None]
        self._requests: list[RequestLog] = []
        self._etags: dict[str, tuple[int, str]] = {}  # path -> (id of bytes served, etag)
        self._cache: dict[tuple, _Response] = {}
        self._sorted: _Views | None = None
        self._version = 0
        self._next_id = 20001
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        for brief in briefs:
            self.add(brief)

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> str:
        """Bind 127.0.0.1 on a free port, serve in a daemon thread, return the base URL."""
        if self._server is not None:
            return self.base_url
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.site = self
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        with self._lock:
            self._cache.clear()
            self._etags.clear()
        # A short poll interval is what makes stop() fast (shutdown waits for one poll).
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="localsite",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and drop open connections; returns in well under a second."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a slow fault
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            # Keep-alive handlers block in recv(); shutting the socket down wakes them.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None

    def __enter__(self) -> LocalSite:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return self.base_url + path

    # --- content ------------------------------------------------------------------------

    def add(self, brief: SiteBrief) -> None:
        """Publish a brief (or replace the one at its path). Thread-safe."""
        if not brief.path.startswith("/") or not brief.path.endswith("/"):
            raise ValueError(f"a brief path starts and ends with '/': {brief.path!r}")
        with self._lock:
            if brief.post_id is None:
                old = self._briefs.get(brief.path)
                brief.post_id = old.post_id if old else self._take_id()
            else:
                self._next_id = max(self._next_id, brief.post_id + 1)
            self._briefs[brief.path] = brief
            self._changed(brief.path)

    def replace(self, path: str, html: bytes, modified: datetime) -> None:
        """An edit of a published brief: new bytes, so a new ETag and Last-Modified."""
        with self._lock:
            brief = self._briefs[path]
            brief.html = html
            brief.modified = modified
            self._changed(path)

    def remove(self, path: str) -> None:
        """Unpublish a brief: its URL answers 404 from now on."""
        with self._lock:
            del self._briefs[path]
            self._changed(path)

    def get(self, path: str) -> SiteBrief | None:
        with self._lock:
            return self._briefs.get(path)

    @property
    def briefs(self) -> list[SiteBrief]:
        with self._lock:
            return list(self._briefs.values())

    def set_page(self, path: str, body: bytes, content_type: str, status: int = 200) -> None:
        """Serve any extra resource at `path` (query ignored); it wins over generated pages."""
        with self._lock:
            self._pages[path] = _Response(status, body, content_type)

    def set_fault(self, path: str, fault: Fault) -> None:
        """Misbehave on `path` (the path part of the URL, exact); replaces an earlier fault."""
        with self._lock:
            self._faults[path] = [fault, fault.times]

    def clear_fault(self, path: str | None = None) -> None:
        """Remove the fault on `path`, or every fault."""
        with self._lock:
            if path is None:
                self._faults.clear()
            else:
                self._faults.pop(path, None)

    @property
    def requests(self) -> list[RequestLog]:
        """Every request so far, in arrival order (a snapshot)."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, path: str) -> list[RequestLog]:
        """The requests whose path (query ignored) is `path`."""
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def _take_id(self) -> int:
        post_id = self._next_id
        self._next_id += 1
        return post_id

    def _changed(self, path: str) -> None:
        self._version += 1
        self._etags.pop(path, None)
        self._cache.clear()
        self._sorted = None

    # --- answering ----------------------------------------------------------------------

    def _log(self, method: str, path: str, headers: dict[str, str]) -> RequestLog:
        entry = RequestLog(method, path, headers, time.monotonic())
        with self._lock:
            self._requests.append(entry)
        return entry

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            slot = self._faults.get(path)
            if slot is None:
                return None
            fault, remaining = slot
            if remaining is not None:
                if remaining <= 1:
                    del self._faults[path]
                else:
                    slot[1] = remaining - 1
            return fault

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _views(self) -> _Views:
        with self._lock:
            if self._sorted is None:
                self._sorted = _Views.of(self._briefs.values())
            return self._sorted

    def _encoded(self, response: _Response, headers: dict[str, str]) -> _Response:
        """`response` gzip-encoded when the site compresses and the client accepts it (at
        level 1, nginx's default: as fast as the site's thread can)."""
        accepted = headers.get("Accept-Encoding", "")
        if not (self.compress and response.body and "gzip" in accepted.lower()):
            return response
        return replace(
            response,
            body=igzip.compress(response.body, 1, mtime=0),
            headers=[*response.headers, ("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")],
        )

    def _respond(self, target: str, headers: dict[str, str]) -> _Response:
        """The normal answer to a request (no faults): routing of SITE.md's URLs."""
        parts = urlsplit(target)
        path, query = parts.path or "/", parts.query
        return (
            self._published(path, headers)
            or self._redirected(path, query)
            or self._document(path, query)
            or self._other_page(path)
            or _Response(404, _error_page(404, "Page not found"))
        )

    def _published(self, path: str, headers: dict[str, str]) -> _Response | None:
        """The resource set at `path` (`set_page`), else the brief published there."""
        with self._lock:
            page = self._pages.get(path)
            brief = self._briefs.get(path)
        if page is not None:
            return page
        return self._brief_response(brief, headers) if brief is not None else None

    def _redirected(self, path: str, query: str) -> _Response | None:
        """The 301 of an address without its trailing slash, or of a legacy address."""
        # WordPress's redirects keep the query string.
        suffix = f"?{query}" if query else ""
        if self._lacks_slash(path):
            return self._redirect(path + "/" + suffix)
        legacy = _LEGACY_RE.match(path)
        if legacy and (current := self._views().by_slug.get(legacy.group(1))):
            return self._redirect(current.path + suffix)
        return None

    def _lacks_slash(self, path: str) -> bool:
        """Whether `path` is a brief's, the listing's or the feed's without its final slash."""
        if path.endswith("/"):
            return False
        with self._lock:
            if path + "/" in self._briefs:
                return True
        return path in ("/news/brief", "/news/brief/feed") or bool(_LISTING_RE.match(path + "/"))

    def _document(self, path: str, query: str) -> _Response | None:
        """A discovery document: robots.txt, a sitemap, the feed, a listing page, the API."""
        builders = {
            "/robots.txt": self._robots,
            "/sitemap_index.xml": self._sitemap_index,
            "/page-sitemap.xml": self._page_sitemap,
            "/news/brief/feed/": self._feed,
            "/news/brief/": lambda: self._listing(1),
        }
        if path in builders:
            return self._cached((path,), builders[path])
        if path in ("/wp-json/wp/v2/posts", "/wp-json/wp/v2/posts/"):
            return self._rest_posts(parse_qs(query))
        return self._numbered_document(path)

    def _numbered_document(self, path: str) -> _Response | None:
        """A post sitemap after the first (post-sitemap2.xml...) or a listing page after the
        first (/news/brief/page/2/...; page 1 redirects to the listing's own address)."""
        sitemap = _SITEMAP_RE.match(path)
        if sitemap and sitemap.group(1) != "1":
            number = int(sitemap.group(1) or 1)
            return self._cached(("sitemap", number), lambda: self._post_sitemap(number))
        listing = _LISTING_RE.match(path)
        if listing is None:
            return None
        number = int(listing.group(1))
        if number == 1:
            return self._redirect("/news/brief/")
        return self._cached(("listing", number), lambda: self._listing(number))

    def _other_page(self, path: str) -> _Response | None:
        """A page of the site that is no brief: the staff area, a site page, an index page."""
        if path.startswith("/private/"):
            return _Response(200, _html_page("Staff notes", "<h1>Staff only</h1>"))
        if path in _SITE_PAGES or path in self._views().indexes:
            name = path.strip("/").replace("-", " ").title()
            return _Response(200, _html_page(name, f"<h1>{_esc(name)}</h1><p>Not a brief.</p>"))
        return None

    def _cached(self, key: tuple, build: Callable[[], _Response]) -> _Response:
        with self._lock:
            response = self._cache.get(key)
            version = self._version
        if response is None:
            response = build()  # outside the lock: a big listing must not stall the others
            with self._lock:
                if version == self._version:  # not built from briefs changed meanwhile
                    self._cache[key] = response
        return response

    def _redirect(self, location: str) -> _Response:
        target = self.base_url + location
        body = _html_page("Moved", f'<a href="{_esc(target)}">Moved Permanently</a>')
        return _Response(301, body, headers=[("Location", target)])

    def _served_html(self, brief: SiteBrief) -> bytes:
        if self.origin and self.base_url:
            return brief.html.replace(self.origin.encode(), self.base_url.encode())
        return brief.html

    def _brief_response(self, brief: SiteBrief, headers: dict[str, str]) -> _Response:
        body = self._served_html(brief)
        with self._lock:
            known = self._etags.get(brief.path)
            if known and known[0] == id(brief.html):
                etag = known[1]
            else:
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                self._etags[brief.path] = (id(brief.html), etag)
        modified = brief.last_modified.astimezone(UTC).replace(microsecond=0)
        validators = [("ETag", etag), ("Last-Modified", _http_date(modified))]
        if _not_modified(headers, etag, modified):
            return _Response(304, b"", "", validators)
        return _Response(200, body, "text/html; charset=UTF-8", validators)

    # --- discovery documents --------------------------------------------------------------

    def _robots(self) -> _Response:
        text = (
            "User-agent: *\nDisallow: /wp-admin/\nDisallow: /private/\n"
            "Allow: /wp-admin/admin-ajax.php\n\n"
            f"Sitemap: {self.base_url}/sitemap_index.xml\n"
        )
        return _Response(200, text.encode(), "text/plain; charset=UTF-8")

    def _sitemap_count(self) -> int:
        return max(1, math.ceil(len(self._briefs) / self.sitemap_page_size))

    def _sitemap_index(self) -> _Response:
        names = ["post-sitemap.xml"] + [
            f"post-sitemap{n}.xml" for n in range(2, self._sitemap_count() + 1)
        ]
        names.append("page-sitemap.xml")
        entries = "".join(f"<sitemap><loc>{self.base_url}/{name}</loc></sitemap>" for name in names)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
        )
        return _Response(200, xml.encode(), "application/xml; charset=UTF-8")

    def _urlset(self, rows: Iterable[tuple[str, datetime | None]]) -> _Response:
        entries = "".join(
            f"<url><loc>{_esc(loc)}</loc>"
            + (f"<lastmod>{_iso(lastmod)}</lastmod>" if lastmod else "")
            + "</url>"
            for loc, lastmod in rows
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><urlset '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        )
        return _Response(200, xml.encode(), "application/xml; charset=UTF-8")

    def _post_sitemap(self, number: int) -> _Response:
        # Yoast orders a post sitemap by modification, oldest first: an edit moves a brief
        # to the end, possibly into another file.
        with self._lock:
            if number > self._sitemap_count():
                return _Response(404, _error_page(404, "Page not found"))
            ordered = self._views().by_lastmod
        size = self.sitemap_page_size
        chunk = ordered[(number - 1) * size : number * size]
        return self._urlset((self.base_url + b.path, b.last_modified) for b in chunk)

    def _page_sitemap(self) -> _Response:
        # The site's pages, and the index pages of its sections and countries (the brief
        # listing among them): none is a brief.
        pages = [*_SITE_PAGES, "/news/brief/", *self._views().indexes]
        return self._urlset((self.base_url + path, None) for path in pages)

    def _excerpt(self, brief: SiteBrief, limit: int) -> str:
        text = brief.excerpt or brief.summary
        return text[:limit]

    def _feed(self) -> _Response:
        items = self._views().english[: self.feed_size]
        build = max((b.last_modified for b in items), default=datetime(2011, 1, 1, tzinfo=UTC))
        out = [
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            "<title>Brief Archives - InSight Crime</title>"
            f'<atom:link href="{self.base_url}/news/brief/feed/" rel="self" '
            'type="application/rss+xml" />'
            f"<link>{self.base_url}/news/brief/</link>"
            "<description>INVESTIGATION AND ANALYSIS OF ORGANIZED CRIME</description>"
            f"<lastBuildDate>{format_datetime(build.astimezone(UTC))}</lastBuildDate>"
            "<language>en-US</language>"
        ]
        for brief in items:
            link = (
                f"{self.base_url}{brief.path}?utm_source=rss&amp;utm_medium=rss"
                f"&amp;utm_campaign={brief.slug[:20]}"
            )
            categories = "".join(
                f"<category>{_cdata(name)}</category>"
                for name in ["Brief", *brief.countries, *brief.tags]
            )
            creator = ", ".join(brief.authors) or "InSight Crime"
            out.append(
                f"<item><title>{_esc(brief.title)}</title><link>{link}</link>"
                f"<dc:creator>{_cdata(creator)}</dc:creator>"
                f"<pubDate>{format_datetime(brief.published.astimezone(UTC))}</pubDate>"
                f'{categories}<guid isPermaLink="false">{self.base_url}/?p={brief.post_id}'
                "</guid><description>"
                f"{_cdata('<p>' + _esc(self._excerpt(brief, 200)) + '</p>')}"
                "</description></item>"
            )
        out.append("</channel></rss>")
        return _Response(200, "".join(out).encode(), "application/rss+xml; charset=UTF-8")

    def _listing(self, number: int) -> _Response:
        english = self._views().english
        size = self.listing_page_size
        last = max(1, math.ceil(len(english) / size))
        if number > last:
            return _Response(404, _error_page(404, "Page not found"))
        base = self.base_url
        start = (number - 1) * size
        articles = []
        for position, brief in enumerate(english[start : start + size], start):
            link = base + brief.path
            if self.listing_links_without_slash and position % 3 == 1:
                link = link.rstrip("/")
            excerpt = self._excerpt(brief, 140) + "…"
            articles.append(
                f'<article id="post-{brief.post_id}" class="post-{brief.post_id} post '
                'type-post status-publish category-brief"><div class="entry-wrapper">'
                f'<div class="cat-links">{_esc(", ".join(brief.countries))}</div>'
                f'<h2 class="entry-title"><a href="{_esc(link)}" rel="bookmark">'
                f"{_esc(brief.title)}</a></h2>"
                '<div class="entry-meta"><time class="entry-date published" '
                f'datetime="{_iso(brief.published)}">{_day(brief.published)}</time></div>'
                f"<p>{_esc(excerpt)}</p></div></article>"
            )

        def page_url(n: int) -> str:
            return f"{base}/news/brief/" if n == 1 else f"{base}/news/brief/page/{n}/"

        nav = []
        if number > 1:
            nav.append(f'<a class="prev page-numbers" href="{page_url(number - 1)}">Previous</a>')
        for n in range(max(1, number - 2), min(last, number + 2) + 1):
            if n == number:
                nav.append(f'<span aria-current="page" class="page-numbers current">{n}</span>')
            else:
                nav.append(f'<a class="page-numbers" href="{page_url(n)}">{n}</a>')
        if number < last:
            nav.append(f'<a class="next page-numbers" href="{page_url(number + 1)}">Next</a>')
        html = (
            '<!doctype html><html lang="en-US"><head><meta charset="UTF-8">'
            f"<title>Brief Archives - Page {number} - InSight Crime</title>"
            f'<link rel="canonical" href="{page_url(number)}" /></head>'
            f'<body class="archive category category-brief paged-{number}">'
            f'<div id="page" class="site">{_listing_header(base)}<main id="main" '
            'class="site-main"><header class="page-header"><h1 class="page-title">Brief</h1>'
            f"</header>{''.join(articles)}"
            '<nav class="navigation pagination" aria-label="Posts"><div class="nav-links">'
            f"{''.join(nav)}</div></nav></main>{_listing_footer(base)}</div></body></html>"
        )
        return _Response(200, html.encode())

    def _rest_posts(self, params: dict[str, list[str]]) -> _Response:
        try:
            query = _PostsQuery.read(params)
            posts = self._posts_matching(query)
            chunk = query.page_of(posts)
        except _RestError as error:
            return error.response()
        rows = [self._rest_post(brief) for brief in chunk]
        body = json.dumps(rows, indent=1, ensure_ascii=False).encode()
        headers = self._rest_headers(query, total=len(posts))
        return _Response(200, body, "application/json; charset=UTF-8", headers)

    def _posts_matching(self, query: _PostsQuery) -> list[SiteBrief]:
        posts = self._views().newest
        if query.modified_after is not None:
            posts = [b for b in posts if b.last_modified > query.modified_after]
        if query.lang:
            posts = [b for b in posts if b.language == query.lang]
        return posts

    def _rest_post(self, brief: SiteBrief) -> dict[str, Any]:
        return {
            "id": brief.post_id,
            "date_gmt": _gmt(brief.published),
            "modified_gmt": _gmt(brief.last_modified),
            "slug": brief.slug,
            "link": self.base_url + brief.path,
            "title": {"rendered": _esc(brief.title)},
            "excerpt": {"rendered": f"<p>{_esc(self._excerpt(brief, 200))}</p>"},
            "categories": [3],
            "lang": brief.language,
        }

    def _rest_headers(self, query: _PostsQuery, total: int) -> list[tuple[str, str]]:
        pages = query.page_count(total)
        headers = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
        if query.page < pages:
            link = f"{self.base_url}/wp-json/wp/v2/posts?{query.next_page()}"
            headers.append(("Link", f'<{link}>; rel="next"'))
        return headers


class _RestError(Exception):
    """A request the REST API answers with a 400 and WordPress's JSON error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def response(self) -> _Response:
        error = {"code": self.code, "message": str(self), "data": {"status": 400}}
        return _Response(400, json.dumps(error).encode(), "application/json; charset=UTF-8")


@dataclass(frozen=True)
class _PostsQuery:
    """What a request for the REST API's posts asks: a page of them, maybe filtered."""

    per_page: int
    page: int
    lang: str | None
    modified_after: datetime | None
    modified_after_given: str | None  # as written: the next page's link repeats it

    @classmethod
    def read(cls, params: dict[str, list[str]]) -> _PostsQuery:
        """The query of parse_qs's `params` (a parameter's last value counts); _RestError
        when a number or date is not one, or a number is out of range."""
        last = {name: values[-1] for name, values in params.items()}
        after = last.get("modified_after")
        try:
            per_page = int(last.get("per_page") or 10)
            page = int(last.get("page") or 1)
            modified_after = _aware(datetime.fromisoformat(after)) if after else None
        except ValueError:
            raise _RestError("rest_invalid_param", "Invalid parameter(s).") from None
        if not 1 <= per_page <= 100 or page < 1:
            raise _RestError("rest_invalid_param", "Invalid parameter(s): per_page, page")
        return cls(per_page, page, last.get("lang"), modified_after, after)

    def page_count(self, total: int) -> int:
        return math.ceil(total / self.per_page)

    def page_of(self, posts: list[SiteBrief]) -> list[SiteBrief]:
        """The posts of the page asked for; _RestError past the last page."""
        if self.page > max(self.page_count(len(posts)), 1):
            raise _RestError(
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        return posts[(self.page - 1) * self.per_page : self.page * self.per_page]

    def next_page(self) -> str:
        """The query string of the next page."""
        query = f"per_page={self.per_page}&page={self.page + 1}"
        if self.modified_after_given:
            query += f"&modified_after={self.modified_after_given}"
        return query


def _aware(moment: datetime) -> datetime:
    """A moment that names no time zone taken as UTC, as WordPress takes it."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _not_modified(headers: dict[str, str], etag: str, modified: datetime) -> bool:
    lowered = {k.lower(): v for k, v in headers.items()}
    if_none_match = lowered.get("if-none-match")
    if if_none_match is not None:
        # RFC 9110: If-None-Match wins over If-Modified-Since; weak comparison.
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag in tags
    since = lowered.get("if-modified-since")
    if since:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return modified <= moment
    return False


def _listing_header(base: str) -> str:
    return (
        '<header id="masthead" class="site-header"><div class="site-branding">'
        f'<a href="{base}/" rel="home">InSight Crime</a></div>'
        '<nav class="main-navigation" aria-label="Top Menu"><ul id="menu-primary" '
        'class="main-menu">'
        f'<li class="menu-item"><a href="{base}/investigations/">Investigations</a></li>'
        f'<li class="menu-item"><a href="{base}/news/">News</a></li>'
        f'<li class="menu-item"><a href="{base}/about-us/">About Us</a></li></ul></nav>'
        f'<div class="header-donate"><a class="button" href="{base}/donations/">DONATE</a>'
        "</div></header>"
    )


def _listing_footer(base: str) -> str:
    # The staff link is what a robots-obeying crawler must see and not follow.
    return (
        '<footer id="colophon" class="site-footer"><div class="footer-branding">InSight '
        "Crime – Investigation and Analysis of Organized Crime</div>"
        '<nav class="footer-navigation"><ul>'
        f'<li><a href="{base}/about-us/">About Us</a></li>'
        f'<li><a href="{base}/privacy-policy/">Privacy Policy</a></li>'
        f'<li><a href="{base}/private/staff-notes/">Staff</a></li></ul></nav>'
        '<div class="site-info">© 2023 InSight Crime. All rights reserved.</div></footer>'
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a client that keeps a socket open
    site: LocalSite

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return  # a client went away: expected, and not worth a line on stderr
        self.site.errors.append(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalSite/1.0"
    timeout = 30  # an idle keep-alive connection is dropped eventually even without stop()
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.site._lock:
            self.server.site._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.site._lock:
            self.server.site._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the request log is `LocalSite.requests`

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _other(self) -> None:
        site = self.server.site
        entry = site._log(self.command, self.path, dict(self.headers.items()))
        body = _error_page(405, "Method Not Allowed")
        self._send(_Response(405, body, headers=[("Allow", "GET, HEAD")]), entry, head=False)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other

    def _client_gone(self) -> bool:
        """Whether the client closed its end (its socket reads as ended)."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _answer(self, head: bool) -> None:
        site = self.server.site
        headers = dict(self.headers.items())
        entry = site._log(self.command, self.path, headers)
        fault = site._take_fault(urlsplit(self.path).path)
        if fault is not None:
            entry.fault = fault.kind
        if fault is not None and fault.kind in ("slow", "held"):
            if not self._waited(fault):
                self.close_connection = True
                return
            fault = None
        if fault is None:
            self._send(site._encoded(site._respond(self.path, headers), headers), entry, head)
        else:
            self._misbehave(fault, headers, entry, head)

    def _waited(self, fault: Fault) -> bool:
        """Wait as a slow or held fault says; False when the site stopped meanwhile, or the
        client went away while held: then nothing is answered."""
        site = self.server.site
        if fault.gate is not None:
            passed = fault.gate.pass_through(site._stopping, self._client_gone)
        else:
            site._sleep(fault.seconds)
            passed = True
        return passed and not site._stopping.is_set()

    def _misbehave(
        self, fault: Fault, headers: dict[str, str], entry: RequestLog, head: bool
    ) -> None:
        """Answer as `fault` says (any fault but slow and held, which only delay the answer)."""
        if fault.kind == "oversized":
            self._send_oversized(fault.size, urlsplit(self.path).path, entry, head)
        elif fault.kind == "truncated":
            self._send(self.server.site._respond(self.path, headers), entry, head, truncate=True)
        else:
            self._send(self._fault_response(fault, headers), entry, head)

    def _fault_response(self, fault: Fault, headers: dict[str, str]) -> _Response:
        """The answer of a status, body, redirect, encoded or extra_headers fault."""
        site = self.server.site
        if fault.kind == "status":
            reason = self.responses.get(fault.code, ("Error",))[0]
            body = _error_page(fault.code, reason)
            return _Response(fault.code, body, headers=_retry_after(fault))
        if fault.kind == "body":
            return _Response(200, fault.data, fault.content_type)
        if fault.kind == "redirect":
            location = fault.location
            if location.startswith("/"):
                location = site.base_url + location
            return _Response(fault.code, headers=[("Location", location)])
        if fault.kind == "encoded":
            return _Response(200, fault.data, headers=list(fault.headers))
        if fault.kind == "extra_headers":
            normal = site._respond(self.path, headers)
            return replace(normal, headers=[*normal.headers, *fault.headers])
        if fault.kind == "wire":
            normal = site._respond(self.path, headers)
            if normal.status != 200:
                return normal
            return replace(
                normal,
                body=gzip.compress(normal.body, mtime=0),
                headers=[*normal.headers, *fault.headers, ("Content-Encoding", "gzip")],
                reason=fault.location,
            )
        raise ValueError(f"no such fault: {fault.kind!r}")

    def _start(self, response: _Response, length: int, entry: RequestLog) -> None:
        entry.status = response.status
        self.send_response(response.status, response.reason)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(length))
        entry.response_head = b"".join(self._headers_buffer) + b"\r\n"
        self.end_headers()

    def _send(
        self, response: _Response, entry: RequestLog, head: bool, truncate: bool = False
    ) -> None:
        self._start(response, len(response.body), entry)
        if head or response.status == 304:
            return
        if truncate:
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            self.close_connection = True  # the client sees EOF short of Content-Length
        else:
            if self.server.site.log_bodies:
                entry.body = response.body
            self.wfile.write(response.body)

    def _send_oversized(self, size: int, path: str, entry: RequestLog, head: bool) -> None:
        site = self.server.site
        brief = site.get(path)
        page = site._served_html(brief) if brief else _html_page("Oversized", "<p>x</p>")
        cut = page.rfind(b"</body>")
        prefix, suffix = (page[:cut], page[cut:]) if cut >= 0 else (page, b"")
        self._start(_Response(200), size, entry)
        if head:
            return
        for chunk in _padded(prefix, suffix, size):
            self.wfile.write(chunk)


def _retry_after(fault: Fault) -> list[tuple[str, str]]:
    """The Retry-After header of a status fault, if it has one (whole seconds as integers)."""
    value = fault.retry_after
    if value is None:
        return []
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return [("Retry-After", str(value))]


def _padded(prefix: bytes, suffix: bytes, size: int) -> Iterator[bytes]:
    """Exactly `size` bytes: prefix, paragraphs of filler, suffix; in 64 KB pieces."""
    if len(prefix) + len(suffix) > size:
        whole = (prefix + suffix)[:size]
        yield whole
        return
    yield prefix
    unit = b"<p>Filler paragraph that makes this page far larger than any brief.</p>\n"
    filler = size - len(prefix) - len(suffix)
    block = unit * (65536 // len(unit))
    while filler >= len(block):
        yield block
        filler -= len(block)
    yield (unit * (filler // len(unit) + 1))[:filler]
    yield suffix


# --- page requisites ------------------------------------------------------------------------
# The stylesheets, scripts, images and fonts that brief pages name, for crawls that fetch them
# (`briefs crawl --with-requisites`). `RequisiteSite` is a LocalSite that serves them too, each
# with an ETag and a Last-Modified (and a 304 to a request that has them); every other path
# answers as a LocalSite's does, so one under /wp-content/ that it was not given is a 404. Run
# with no briefs, it is the image CDN's host.

THEME = "/wp-content/themes/newspack-theme"
STYLESHEET = f"{THEME}/style.css"
ICONS = "/wp-content/themes/ic"
SHARING_SCRIPT = "/wp-content/plugins/jetpack/_inc/build/sharedaddy/sharing.min.js"
CDN_UPLOADS = "/insightcrime.org/wp-content/uploads"
_REQUISITES_MODIFIED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Requisite:
    """A file a page loads: its bytes, as what, and when it last changed."""

    body: bytes
    content_type: str
    modified: datetime = _REQUISITES_MODIFIED


def _svg(colour: str) -> Requisite:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">'
        f'<rect width="16" height="16" fill="{colour}"/></svg>'
    )
    return Requisite(svg.encode(), "image/svg+xml")


def theme_requisites(cdn: str = "https://i0.wp.com") -> dict[str, Requisite]:
    """The site's own files (by path) that the sample and generated pages name (the theme's
    stylesheet, the sharing script, the share icons), and those the stylesheet names in turn:
    a stylesheet it imports, a web font, a background image on the site and one on the image
    CDN at `cdn` (an origin). The stylesheet's styles are visible: a coloured page behind a
    texture, a red headline, the web font."""
    stylesheet = (
        '@import url("print.css") print;\n'
        '/* A commented url("/wp-content/themes/newspack-theme/commented.png") is none. */\n'
        '@font-face { font-family: "Briefs Serif";'
        ' src: url("fonts/briefs-serif.woff2") format("woff2"),'
        ' url(data:font/woff2;base64,d09GMgABAAAAAA) format("woff2"); }\n'
        "body { background: #f4efe6 url('/wp-content/themes/ic/paper.png') repeat;"
        ' color: #1d1d1d; font-family: "Briefs Serif", Georgia, serif; }\n'
        ".entry-title { color: #b3261e; }\n"
        f".site-header {{ background-image: url({cdn}{CDN_UPLOADS}/2021/05/header.png?ssl=1); }}\n"
    )
    return {
        STYLESHEET: Requisite(stylesheet.encode(), "text/css; charset=UTF-8"),
        f"{THEME}/print.css": Requisite(
            b".sharedaddy { background: url(../ic/print-share.svg) no-repeat; }\n", "text/css"
        ),
        # Not a real font (a crawl only fetches it; a browser falls back to Georgia).
        f"{THEME}/fonts/briefs-serif.woff2": Requisite(b"wOF2\x00\x01\x00\x00", "font/woff2"),
        f"{ICONS}/paper.png": Requisite(solid(8, 8, (244, 239, 230)), "image/png"),
        f"{ICONS}/print-share.svg": _svg("#555555"),
        f"{ICONS}/share.svg": _svg("#1e5aa0"),
        f"{ICONS}/x.svg": _svg("#000000"),
        f"{ICONS}/fb.svg": _svg("#1877f2"),
        SHARING_SCRIPT: Requisite(
            b"(function () { document.documentElement.className += ' sharing-js'; })();\n",
            "application/javascript",
        ),
    }


def cdn_requisites(paths: Iterable[str]) -> dict[str, Requisite]:
    """An image at each of these paths of the image CDN (`/insightcrime.org/wp-content/...`:
    the CDN's path names the site whose upload it serves)."""
    return {path: Requisite(solid(4, 3, (90, 110, 70)), "image/png") for path in paths}


class RequisiteSite(LocalSite):
    """A LocalSite that also serves `requisites` (path: Requisite); see the section above."""

    def __init__(
        self,
        briefs: Iterable[SiteBrief] = (),
        *,
        requisites: dict[str, Requisite],
        **options: Any,
    ) -> None:
        super().__init__(briefs, **options)
        self.requisites = dict(requisites)

    def _respond(self, target: str, headers: dict[str, str]) -> _Response:
        requisite = self.requisites.get(urlsplit(target).path)
        if requisite is None:
            return super()._respond(target, headers)
        etag = '"' + hashlib.sha256(requisite.body).hexdigest()[:16] + '"'
        validators = [("ETag", etag), ("Last-Modified", _http_date(requisite.modified))]
        if _not_modified(headers, etag, requisite.modified):
            return _Response(304, b"", "", validators)
        return _Response(200, requisite.body, requisite.content_type, validators)
