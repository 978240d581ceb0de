"""The download handler: Scrapy's HTTP/1.1 handler, with a bound on a response's headers.

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

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
)
from scrapy.crawler import Crawler
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress
from twisted.web.iweb import IResponse

# Far larger than any header section a page should send (a brief page's is ~1 KB).
MAX_HEADER_BYTES = 256 * 1024


class HeadersTooLarge(Exception):
    """The response's header section (or one header line) is larger than allowed."""


class _BoundedHeaderParser(_LenientHTTPClientParser):
    def lineReceived(self, line: bytes) -> None:
        # Only the status line and the headers come as lines: the body is read raw. (No
        # __init__ of its own: Scrapy's protocol swaps the class of a parser already made.)
        self._header_bytes = getattr(self, "_header_bytes", 0) + len(line) + 2
        if self._header_bytes > MAX_HEADER_BYTES:
            raise HeadersTooLarge(f"over {MAX_HEADER_BYTES} bytes of headers")
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        # (Twisted's own answer is to close the connection, which the download then calls
        # "closed cleanly".) Raised here, the request fails with this reason.
        raise HeadersTooLarge(f"a header line over {self.MAX_LENGTH} bytes")


class _BoundedHeaderProtocol(_LenientHTTP11ClientProtocol):
    def request(self, request: object) -> Deferred[IResponse]:
        answer = super().request(request)
        # As Scrapy's own protocol does for its lenient parser (see there why it is safe).
        self._parser.__class__ = _BoundedHeaderParser
        return answer


class _BoundedHeaderFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: IAddress | None) -> _BoundedHeaderProtocol:
        return _BoundedHeaderProtocol(self._quiescentCallback)


class BoundedHeadersDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler; response headers bounded (see the module)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool._factory = _BoundedHeaderFactory
