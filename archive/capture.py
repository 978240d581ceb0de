"""One fetch of one URL, exactly as received: what the crawler hands the archive."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from w3lib.encoding import http_content_type_encoding


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

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header names, if any."""
        return charset_of(self.headers)

    @property
    def body_sha256(self) -> str | None:
        return None if self.body is None else hashlib.sha256(self.body).hexdigest()

    def body_gzip(self) -> bytes | None:
        # mtime=0: the same bytes always compress to the same blob.
        return None if self.body is None else gzip.compress(self.body, mtime=0)


def header_value(headers: Iterable[Sequence[str]], name: str) -> str | None:
    """The first value of header `name` (any case) among (name, value) pairs."""
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


def charset_of(headers: Iterable[Sequence[str]]) -> str | None:
    return http_content_type_encoding(header_value(headers, "Content-Type") or "")


def decompress_body(blob: bytes | None) -> bytes | None:
    return None if blob is None else gzip.decompress(blob)
