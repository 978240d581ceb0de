"""One fetch of one URL, exactly as received: what the crawler hands the archive."""

from __future__ import annotations

import hashlib
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


@dataclass
class Capture:
    requested_url: str
    fetched_at: str
    final_url: str | None = None
    status: int | None = None
    # As received: names keep their case, repeated headers stay repeated, order is kept.
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    # Why the fetch gave no usable page (download error, HTTP error, size cap), if it did not.
    error: str | None = None
    # The body's digest and compressed form, worked out once: by a cleaning process beside
    # the crawler, from a distributed crawl's message, or on first use.
    packed: PackedBody | None = field(default=None, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header names, if any."""
        return charset_of(self.headers)

    @property
    def body_sha256(self) -> str | None:
        packed = self._packed()
        return None if packed is None else packed.sha256

    @property
    def body_length(self) -> int | None:
        packed = self._packed()
        return None if packed is None else packed.length

    def body_gzip(self) -> bytes | None:
        packed = self._packed()
        return None if packed is None else packed.gzip

    def without_body(self) -> Capture:
        """This capture as the archive stores it: digest, length and gzip blob, without the
        raw bytes (a sixth of what goes to another process)."""
        return replace(self, body=None, packed=self._packed())

    def _packed(self) -> PackedBody | None:
        if self.packed is None and self.body is not None:
            self.packed = pack_body(self.body)
        return self.packed


@dataclass(frozen=True)
class PackedBody:
    sha256: str
    length: int
    gzip: bytes


def pack_body(body: bytes) -> PackedBody:
    """The SHA-256 of `body`, its length and its gzip blob (mtime 0: the same bytes always
    give the same blob)."""
    return PackedBody(
        hashlib.sha256(body).hexdigest(),
        len(body),
        igzip.compress(body, BODY_GZIP_LEVEL, mtime=0),
    )


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
