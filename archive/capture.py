"""One fetch of one URL, exactly as received: what the crawler hands the archive."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field


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
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def body_sha256(self) -> str | None:
        return None if self.body is None else hashlib.sha256(self.body).hexdigest()

    def body_gzip(self) -> bytes | None:
        # mtime=0: the same bytes always compress to the same blob.
        return None if self.body is None else gzip.compress(self.body, mtime=0)


def decompress_body(blob: bytes | None) -> bytes | None:
    return None if blob is None else gzip.decompress(blob)
