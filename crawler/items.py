"""What the spider yields: one fetch of a brief page, and what cleaning made of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archive.capture import Capture, head_headers
from archive.connection import utc_now
from cleaning.record import BriefRecord

if TYPE_CHECKING:  # (the writer of a distributed crawl reads these items and loads no Scrapy)
    from scrapy import Request
    from scrapy.http import Response
    from scrapy.http.headers import Headers

    from crawler.download import Wire


# The request.meta key of an exchange as it crossed the wire (crawler.download.Wire).
WIRE = "briefs_wire"
# The request.meta key of what a request fetches, when it is neither a brief page nor a
# discovery document: "requisite" (a stylesheet, script, image or font a brief page uses).
PURPOSE = "briefs_purpose"


@dataclass
class FetchedPage:
    capture: Capture
    record: BriefRecord | None = None
    # Why there is no record: a download or HTTP failure, or what the cleaner said.
    error: str | None = None
    # Fetched fine but not a brief (an analysis page found in a sitemap): kept out of `briefs`.
    skipped: bool = False
    # The cleaner could not read a page that is a brief (counted for the health alert).
    extraction_failed: bool = False
    # The request this page answers (its meta says how it was found); None when unknown.
    request: Request | None = None
    # The canonical URL the page names when it is not its own (the page is an alias: kept,
    # and only the canonical URL's own page writes the brief); None otherwise.
    canonical: str | None = None


def first_url(request: Request) -> str:
    """The URL first asked for, before any redirect: the frontier URL of a brief request."""
    redirects = request.meta.get("redirect_urls")
    return redirects[0] if redirects else request.url


def capture_from_response(response: Response, *, fetched_at: str | None = None) -> Capture:
    """The fetch as received: the URL first asked for (before redirects), the final URL,
    status, headers and body; and, when the download handler recorded it, the exchange as
    it crossed the wire (see `with_wire`)."""
    wire = response.meta.get(WIRE) if response.request is not None else None
    capture = Capture(
        requested_url=first_url(response.request) if response.request else response.url,
        final_url=response.url,
        status=response.status,
        fetched_at=fetched_at or utc_now(),
        body=response.body,
    )
    return with_wire(capture, wire, response.headers, response.ip_address)


def with_wire(capture: Capture, wire: Wire | None, headers: Headers, ip_address: Any) -> Capture:
    """`capture` with the exchange as it crossed the wire, when the download handler
    recorded it: its header fields then the ones received (names in their case, order and
    repeats kept), the peer's `ip_address`, and the body as transferred when it is not
    `capture.body`; else the `headers` as Scrapy read them."""
    if wire is None:
        capture.headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in headers.items()
            for value in values
        ]
        return capture
    capture.request_head = wire.request_head
    capture.response_head = wire.response_head
    capture.ip_address = None if ip_address is None else str(ip_address)
    capture.requested_at = wire.requested_at
    capture.headers = head_headers(wire.response_head)
    if wire.body is not None and wire.body != capture.body:
        capture.transferred = wire.body
    return capture
