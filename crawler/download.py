"""The download handler: Scrapy's HTTP/1.1 handler, recording each exchange as it crossed
the wire, with a bound on a response's headers.

An archive keeps an exchange as it was (README, "What the archive keeps byte for byte"):
Scrapy's response has its headers re-cased (`ETag` → `Etag`), regrouped by name, a
`Content-Length` made up where the server sent none, and no reason phrase. Here each
download records, in `request.meta[WIRE]` (a `Wire`): the request line and headers
exactly as written to the connection, the status line and header lines exactly as read
from it (line ends included), when the request went out, and the body as transferred
(de-chunked, still content-encoded where the server encoded it; Scrapy's decompression
middleware decodes `response.body` after this, for the spider). The peer's address is
Scrapy's own (`Response.ip_address`).

DOWNLOAD_MAXSIZE bounds a body, nothing bounds the headers: Twisted's parser keeps every
header line in memory, and drops the connection, saying only "closed cleanly", on a line
over 16 KB. Here a header section over MAX_HEADER_BYTES, or a line over Twisted's limit,
fails the download with `HeadersTooLarge`, which the capture's error names
(`headers_too_large: ...`) instead of a connection closed for no reason given.

It leans on Scrapy's own parser, protocol and factory (the lenient ones of
scrapy.core.downloader.handlers.http11): a release that renames them fails at start-up,
not mid-crawl.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
    _ScrapyAgent,
)
from scrapy.crawler import Crawler
from scrapy.exceptions import ResponseDataLossError
from scrapy.http import Response
from scrapy.utils._download_handlers import get_dataloss_msg, wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress
from twisted.web.iweb import IResponse

from archive.connection import utc_now
from crawler.items import WIRE

logger = logging.getLogger(__name__)

# Far larger than any header section a page should send (a brief page's is ~1 KB).
MAX_HEADER_BYTES = 256 * 1024


class HeadersTooLarge(Exception):
    """The response's header section (or one header line) is larger than allowed."""


@dataclass
class Wire:
    """One HTTP exchange as it crossed the connection."""

    request_head: bytes  # the request line and header lines, as written
    response_head: bytes  # the status line and header lines, as read, up to the blank line
    requested_at: str  # when the request was written (UTC, ISO 8601)
    body: bytes | None = None  # as transferred: de-chunked, not content-decoded


class _Recording:
    """A transport that keeps a copy of what is written through it."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)
        self._transport.write(data)

    def writeSequence(self, data: list[bytes]) -> None:
        self.written.extend(data)
        self._transport.writeSequence(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _BoundedHeaderParser(_LenientHTTPClientParser):
    def lineReceived(self, line: bytes) -> None:
        # Only the status line and the headers come as lines: the body is read raw. (No
        # __init__ of its own: Scrapy's protocol swaps the class of a parser already made.)
        self._header_bytes = getattr(self, "_header_bytes", 0) + len(line) + 2
        if self._header_bytes > MAX_HEADER_BYTES:
            raise HeadersTooLarge(f"over {MAX_HEADER_BYTES} bytes of headers")
        # A line comes without its "\n" (the parser's delimiter), a "\r" before it kept.
        self.__dict__.setdefault("head_lines", []).append(line)
        super().lineReceived(line)

    def head(self) -> bytes:
        lines = self.__dict__.get("head_lines", [])
        return b"".join(line + b"\n" for line in lines)

    def lineLengthExceeded(self, line: bytes) -> None:
        # (Twisted's own answer is to close the connection, which the download then calls
        # "closed cleanly".) Raised here, the request fails with this reason.
        raise HeadersTooLarge(f"a header line over {self.MAX_LENGTH} bytes")


class _BoundedHeaderProtocol(_LenientHTTP11ClientProtocol):
    def request(self, request: Any) -> Deferred[IResponse]:
        # The request is written at once (a GET has no body to stream): what goes through
        # the recording is its request line and headers.
        write_to = request.writeTo
        recording: list[_Recording] = []

        def write_recorded(transport: Any) -> Deferred[None]:
            recording.append(_Recording(transport))
            return write_to(recording[0])

        request.writeTo = write_recorded
        requested_at = utc_now()
        answer = super().request(request)
        # As Scrapy's own protocol does for its lenient parser (see there why it is safe).
        parser = self._parser
        parser.__class__ = _BoundedHeaderParser

        def attach_wire(response: IResponse) -> IResponse:
            # (The peer's address Scrapy's own protocol attaches: Response.ip_address.)
            response.briefs_wire = Wire(
                request_head=b"".join(recording[0].written) if recording else b"",
                response_head=parser.head(),
                requested_at=requested_at,
            )
            return response

        answer.addCallback(attach_wire)
        return answer


class _BoundedHeaderFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: IAddress | None) -> _BoundedHeaderProtocol:
        return _BoundedHeaderProtocol(self._quiescentCallback)


class _WireAgent(_ScrapyAgent):
    def _cb_latency(self, result: Any, request: Request, start_time: float) -> Any:
        # The one place that holds both Twisted's response and Scrapy's request.
        wire = getattr(result, "briefs_wire", None)
        if wire is not None:
            request.meta[WIRE] = wire
        return super()._cb_latency(result, request, start_time)


class BoundedHeadersDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler; each exchange recorded, response headers
    bounded (see the module)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool._factory = _BoundedHeaderFactory

    async def download_request(self, request: Request) -> Response:
        # A retry is a copy of the request, meta and all: its Wire is its own or none.
        request.meta.pop(WIRE, None)
        agent = _WireAgent(
            contextFactory=self._contextFactory,
            bindAddress=self._bind_address,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with wrap_twisted_exceptions():
                response = await maybe_deferred_to_future(agent.download_request(request))
        except ResponseDataLossError:
            if not self._fail_on_dataloss_warned:  # as Scrapy's handler does
                logger.warning(get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise
        wire = request.meta.get(WIRE)
        if wire is not None:
            wire.body = response.body
        return response
