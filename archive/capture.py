"""One fetch of one URL, exactly as received: what the crawler hands the archive."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from gzip import BadGzipFile

from isal import igzip, isal_zlib
from w3lib.encoding import http_content_type_encoding

# Stored pages are gzip written by ISA-L (Intel's deflate, the `isal` package): a ~160 KB
# brief page in ~0.14 ms to ~23 KiB. zlib took ~0.9 ms at level 4 (~18 KiB) and ~5 ms at
# level 9 (~17.4 KiB); compressing was the largest share of a crawl's CPU after cleaning.
# The blobs are plain gzip: `gzip -d`, Python's gzip module, any WARC tool reads them.
BODY_GZIP_LEVEL = 2  # ISA-L's levels are 0-3; 1 and 2 give the same size here

# How a stored blob (captures.body_gzip) holds a body, captures.body_form:
# - "gzip": the gzip of the body as transferred (de-chunked, still content-encoded where the
#   server encoded it in anything but gzip);
# - "as-sent": the body as transferred itself, a gzip stream the server sent with
#   `Content-Encoding: gzip` (compressed once, by the server: stored as sent);
# - "decoded": captures made before the archive kept the bytes transferred (schema 7): the
#   gzip of the body after Scrapy's content-decoding.
BODY_FORMS = ("gzip", "as-sent", "decoded")


@dataclass
class Capture:
    requested_url: str
    fetched_at: str
    final_url: str | None = None
    status: int | None = None
    # As received: names keep their case, repeated headers stay repeated, order is kept.
    headers: list[tuple[str, str]] = field(default_factory=list)
    # The page, content-decoded: what the cleaner reads.
    body: bytes | None = None
    # The exchange as it crossed the connection (crawler.download.Wire), when recorded: the
    # request line and headers as sent, the status line and headers as received, the peer,
    # when the request went out, and the body as transferred when it is not `body` (the
    # server content-encoded it).
    request_head: bytes | None = None
    response_head: bytes | None = None
    ip_address: str | None = None
    requested_at: str | None = None
    transferred: bytes | None = field(default=None, repr=False)
    # Why the fetch gave no usable page (download error, HTTP error, size cap), if it did not.
    error: str | None = None
    # The body's digest and compressed form, worked out once: by a cleaning process beside
    # the crawler, from a distributed crawl's message, or on first use.
    packed: PackedBody | None = field(default=None, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @property
    def protocol(self) -> str | None:
        return None if self.response_head is None else status_line(self.response_head)[0]

    @property
    def reason(self) -> str | None:
        return None if self.response_head is None else status_line(self.response_head)[2]

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header names, if any."""
        return charset_of(self.headers)

    @property
    def body_sha256(self) -> str | None:
        packed = self.packed_body()
        return None if packed is None else packed.sha256

    @property
    def body_length(self) -> int | None:
        packed = self.packed_body()
        return None if packed is None else packed.length

    def body_gzip(self) -> bytes | None:
        packed = self.packed_body()
        return None if packed is None else packed.gzip

    @property
    def body_form(self) -> str | None:
        packed = self.packed_body()
        return None if packed is None else packed.form

    def without_body(self) -> Capture:
        """This capture as the archive stores it: digest, length and blob, without the
        page's bytes (a sixth of what goes to another process)."""
        return replace(self, body=None, transferred=None, packed=self.packed_body())

    def packed_body(self) -> PackedBody | None:
        """The body's digest, length and stored blob (worked out on first use)."""
        if self.packed is None and self.body is not None:
            self.packed = pack_body(self.body, self.transferred, self.header("Content-Encoding"))
        return self.packed


@dataclass
class Exchange:
    """One HTTP exchange of a crawl that is not a brief page's capture: robots.txt, a
    discovery document, a page requisite, or a brief URL's redirect or attempt before a
    retry (`purpose`: "robots", "discovery", "requisite" or "brief"). `capture` holds it as a
    capture holds a page: `requested_url` is the URL of this request, `packed` its body as
    transferred, `error` why it got no response."""

    purpose: str
    capture: Capture
    # A distributed crawl's message id (None in a local crawl): stored once.
    id: str | None = None


@dataclass(frozen=True)
class PackedBody:
    sha256: str  # of the body as transferred
    length: int  # of the body as transferred
    gzip: bytes  # the stored blob, in `form`
    form: str = "gzip"


def pack_body(
    body: bytes, transferred: bytes | None = None, content_encoding: str | None = None
) -> PackedBody:
    """The stored form of a body: the SHA-256 and length of the bytes transferred
    (`transferred`, when the server content-encoded `body`), and its blob: those bytes as
    sent when they are a gzip stream of the page, else their gzip (mtime 0: the same bytes
    always give the same blob)."""
    sent = body if transferred is None else transferred
    # Read back, a stream stored as sent must give the page the crawler read, whatever
    # leniency its decompression had.
    as_sent = transferred is not None and _is_gzip(content_encoding) and _gunzipped(sent) == body
    return _packed(sent, as_sent)


def pack_transferred(sent: bytes, content_encoding: str | None) -> PackedBody:
    """`pack_body` for a body as transferred whose decoded page is not at hand (an exchange
    recorded before Scrapy's decompression): a gzip stream the server sent as such is
    stored as sent, anything else as its gzip."""
    return _packed(sent, _is_gzip(content_encoding) and _gunzipped(sent) is not None)


def _packed(sent: bytes, as_sent: bool) -> PackedBody:
    digest = hashlib.sha256(sent).hexdigest()
    if as_sent:
        return PackedBody(digest, len(sent), sent, "as-sent")
    return PackedBody(digest, len(sent), igzip.compress(sent, BODY_GZIP_LEVEL, mtime=0))


def _gunzipped(blob: bytes) -> bytes | None:
    """What `blob` holds when it is gzip; None when it is not."""
    try:
        return igzip.decompress(blob)
    except (OSError, EOFError, zlib.error):
        return None


def _is_gzip(content_encoding: str | None) -> bool:
    return (content_encoding or "").strip().lower() in ("gzip", "x-gzip")


def transferred_body(blob: bytes, form: str) -> bytes | None:
    """The body as transferred, from a stored blob; None for a "decoded" one, which kept
    only the page after content-decoding."""
    if form == "as-sent":
        return blob
    return igzip.decompress(blob) if form == "gzip" else None


def stored_page(blob: bytes, form: str, headers: Iterable[Sequence[str]]) -> bytes:
    """The page a stored blob holds, content-decoded as the crawler read it. OSError (or
    zlib.error, EOFError) when the blob or its content-encoding cannot be read."""
    data = igzip.decompress(blob)
    if form != "gzip":
        return data  # "as-sent": the page is the blob's gzip; "decoded": the page itself
    for coding in reversed(_codings(header_value(headers, "Content-Encoding"))):
        data = _decoded(data, coding)
    return data


def _codings(value: str | None) -> list[str]:
    return [c.strip().lower() for c in (value or "").split(",") if c.strip()]


def _decoded(data: bytes, coding: str) -> bytes:
    if _is_gzip(coding):
        return gzip.decompress(data)
    if coding == "deflate":
        try:
            return zlib.decompress(data)
        except zlib.error:  # raw deflate, as some servers send it
            return zlib.decompress(data, -zlib.MAX_WBITS)
    if coding == "br":
        import brotli  # Scrapy asks for br only when it is installed

        return brotli.decompress(data)
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompress(data)
    if coding == "identity":
        return data
    raise OSError(f"unknown content-encoding {coding!r}")


def status_line(head: bytes) -> tuple[str, int | None, str]:
    """The protocol, status code and reason phrase of a response head's first line, as
    written (a reason phrase may be empty, or not the standard one)."""
    first = head.split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")
    protocol, _, rest = first.partition(" ")
    code, _, reason = rest.partition(" ")
    return protocol, int(code) if code.isdigit() else None, reason


def head_headers(head: bytes) -> list[tuple[str, str]]:
    """The header fields of a response head as received: names in their case, in their
    order, repeats kept; a folded line joined to its field, a line without a colon skipped
    (as Scrapy's lenient parser reads them)."""
    fields: list[tuple[str, str]] = []
    for line in head.decode("latin-1").split("\n")[1:]:
        line = line.removesuffix("\r")
        if not line:
            break
        if line[0] in " \t" and fields:
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip()}".strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            fields.append((name, value.strip()))
    return fields


def header_value(headers: Iterable[Sequence[str]], name: str) -> str | None:
    """The first value of header `name` (any case) among (name, value) pairs."""
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def charset_of(headers: Iterable[Sequence[str]]) -> str | None:
    return http_content_type_encoding(header_value(headers, "Content-Type") or "")


def decompress_body(blob: bytes | None, length: int | None = None) -> bytes | None:
    """The body stored as `blob` (None for None).

    `length`, the body's recorded length when the caller has it, sizes the output at once:
    ISA-L otherwise starts small and grows it, which costs a 160 KB page ~10 % more (88
    against 79 us), and in a process whose allocator hands each grown buffer back to the
    kernel, twice as much (160 us, 70 page faults a page). The blob is then read as what the
    archive writes, one gzip member with nothing after it; a wrong `length` costs only that
    growing again.
    """
    if blob is None:
        return None
    if length is None or not 0 <= length <= _LARGEST_HINT:
        return igzip.decompress(blob)
    # One byte more than the body: room for the end of the stream to be found without
    # growing the buffer once more.
    body = isal_zlib.decompress(blob, 31, length + 1)
    # The member's trailer holds its length: unless it ends the blob, bytes follow it.
    if int.from_bytes(blob[-4:], "little") != len(body) & 0xFFFFFFFF:
        raise BadGzipFile("bytes after the end of the gzip member")
    return body


# A recorded length beyond any body a crawl keeps (DOWNLOAD_MAXSIZE is 10 MB) is not trusted
# to size a buffer.
_LARGEST_HINT = 1 << 26
