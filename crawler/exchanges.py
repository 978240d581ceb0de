"""Every HTTP exchange of a crawl that is not a brief page's capture, to the archive.

A brief page's fetch becomes its capture (crawler.pipelines), with the exchange as it crossed
the wire. The rest of a crawl's traffic is kept too (an archive of the crawl, not only of its
briefs: README, "What the archive keeps byte for byte"): robots.txt, the listing, feed,
sitemaps and REST API pages, page requisites, and, of a brief URL, each redirect and each
attempt a retry followed. Each is an `archive.capture.Exchange`, sent to the archive's one
writer as a message of its own and stored in `exchanges`.

`ExchangeRecorder` sits next to the download handler (DOWNLOADER_MIDDLEWARES 650): it sees
every attempt's response before the redirect, decompression and retry middlewares act on it,
and every download error before the retry middleware does. Of a brief request, an attempt
is known not to be its capture when it is a redirect, or when another attempt follows it
(a retry is a copy of the request, meta and all: the attempt waits there, in
`meta[_ATTEMPT]`, and is sent when the copy comes to be downloaded).
"""

from __future__ import annotations

import logging
from asyncio import Future
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.http.headers import Headers
from twisted.python.failure import Failure

from archive.capture import Capture, Exchange, pack_transferred
from archive.connection import utc_now
from crawler.archive_writer import ArchiveWriter
from crawler.download import Wire
from crawler.failures import failure_reason
from crawler.items import PURPOSE, WIRE, with_wire
from crawler.middlewares import is_robots_txt
from crawler.selection import BRIEF

logger = logging.getLogger(__name__)

STORED = "briefs/exchanges"
NOT_STORED = "briefs/exchanges_not_stored"

# request.meta keys: this attempt reached the download (so an error is the download's), and
# a brief request's attempt that is its capture unless another follows.
_DOWNLOADING = "briefs_downloading"
_ATTEMPT = "briefs_attempt"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def purpose_of(request: Request) -> str:
    """What a request fetches: "brief", "requisite" (meta[PURPOSE] says), "robots" or
    "discovery" (every other request a crawl makes)."""
    if request.meta.get(BRIEF):
        return "brief"
    if purpose := request.meta.get(PURPOSE):
        return purpose
    if is_robots_txt(request):
        return "robots"
    return "discovery"


@dataclass(frozen=True)
class _Answer:
    """A response as its exchange is made of, its body as transferred (the middlewares that
    decode it come after); kept in a brief request's meta until it is known not to be the
    page's capture. It refers to neither the request nor the response:
    the request's meta holds it, and a cycle would leave the page to the garbage collector
    (crawler.gc_tuning)."""

    url: str
    purpose: str
    status: int
    body: bytes
    headers: Headers
    ip_address: Any
    wire: Wire | None
    fetched_at: str

    @classmethod
    def of(cls, request: Request, response: Response, fetched_at: str) -> _Answer:
        return cls(
            request.url,
            purpose_of(request),
            response.status,
            response.body,
            response.headers,
            response.ip_address,
            request.meta.get(WIRE),
            fetched_at,
        )

    def exchange(self) -> Exchange:
        capture = Capture(
            requested_url=self.url, fetched_at=self.fetched_at, status=self.status, body=self.body
        )
        with_wire(capture, self.wire, self.headers, self.ip_address)
        # The body is as transferred: stored as sent when the server gzipped it, its own
        # gzip otherwise; the writer is sent the blob alone.
        capture.packed = pack_transferred(self.body, capture.header("Content-Encoding"))
        return Exchange(self.purpose, capture.without_body())


def failed_exchange(request: Request, exception: BaseException, fetched_at: str) -> Exchange:
    """An attempt that got no response: its URL, when it was given up, and why."""
    capture = Capture(requested_url=request.url, fetched_at=fetched_at)
    capture.error = failure_reason(Failure(exception))
    return Exchange(purpose_of(request), capture)


class ExchangeRecorder:
    """The downloader middleware of the module's docstring; `send` is the local crawl's
    (the archive's writer, crawler.archive_writer), the distributed crawl's pushes to Redis."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExchangeRecorder:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        earlier = request.meta.pop(_ATTEMPT, None)
        if earlier is not None:  # a brief request's attempt another one follows
            self.send(earlier if isinstance(earlier, Exchange) else earlier.exchange())
        request.meta[_DOWNLOADING] = True

    def process_response(self, request: Request, response: Response) -> Response:
        request.meta.pop(_DOWNLOADING, None)
        answer = _Answer.of(request, response, utc_now())
        if request.meta.get(BRIEF) and not _redirect(request, response):
            # Its capture, unless another attempt follows (seldom): made into an exchange
            # then, not for every page.
            request.meta[_ATTEMPT] = answer
        else:
            self.send(answer.exchange())
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        # (Called for a middleware's refusal too, before any download: not an exchange.)
        if not request.meta.pop(_DOWNLOADING, None):
            return
        exchange = failed_exchange(request, exception, utc_now())
        if request.meta.get(BRIEF):
            request.meta[_ATTEMPT] = exchange
        else:
            self.send(exchange)

    def send(self, exchange: Exchange) -> None:
        stored = self.crawler.get_extension(ArchiveWriter).write(exchange)
        stored.add_done_callback(lambda done: self._stored(exchange, done))

    def _stored(self, exchange: Exchange, stored: Future[Any]) -> None:
        if stored.cancelled() or stored.exception() is not None:
            error = "cancelled" if stored.cancelled() else stored.exception()
            self.not_stored(exchange, error)
        else:
            self.crawler.stats.inc_value(STORED)

    def not_stored(self, exchange: Exchange, error: object) -> None:
        # Not a failure of the crawl: its pages are stored or not on their own.
        self.crawler.stats.inc_value(NOT_STORED)
        url = exchange.capture.requested_url
        logger.warning("the exchange of %s was not stored: %s", url, error)


def _redirect(request: Request, response: Response) -> bool:
    """Whether the redirect middleware takes `response` for a redirect to follow (it is then
    not the page's capture, whatever comes of the redirect)."""
    return (
        response.status in _REDIRECTS
        and b"Location" in response.headers
        and not request.meta.get("dont_redirect")
        and response.status not in request.meta.get("handle_httpstatus_list", ())
    )
