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
from functools import partial
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from archive.capture import Capture, Exchange, pack_transferred
from archive.connection import utc_now
from crawler.archive_writer import ArchiveWriter
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


def response_exchange(request: Request, response: Response, fetched_at: str) -> Exchange:
    """The exchange of `response` as the download handler recorded it, its body as
    transferred (the middlewares that decode it come after)."""
    capture = Capture(
        requested_url=request.url,
        fetched_at=fetched_at,
        status=response.status,
        body=response.body,
    )
    return Exchange(purpose_of(request), with_wire(capture, response, request.meta.get(WIRE)))


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
            self._send(earlier())
        request.meta[_DOWNLOADING] = True

    def process_response(self, request: Request, response: Response) -> Response:
        request.meta.pop(_DOWNLOADING, None)
        # A brief page's own response is its capture: made into an exchange only if another
        # attempt follows (seldom), not for every page.
        attempt = partial(response_exchange, request, response, utc_now())
        if request.meta.get(BRIEF) and not _redirect(request, response):
            request.meta[_ATTEMPT] = attempt
        else:
            self._send(attempt())
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        # (Called for a middleware's refusal too, before any download: not an exchange.)
        if not request.meta.pop(_DOWNLOADING, None):
            return
        attempt = partial(failed_exchange, request, exception, utc_now())
        if request.meta.get(BRIEF):
            request.meta[_ATTEMPT] = attempt
        else:
            self._send(attempt())

    def _send(self, exchange: Exchange) -> None:
        capture = exchange.capture
        if capture.body is not None:
            # The body is as transferred (capture.transferred is None): stored as sent when
            # the server gzipped it, its own gzip otherwise.
            capture.packed = pack_transferred(capture.body, capture.header("Content-Encoding"))
            capture.body = None
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
