"""The raw captures as a WARC/1.1 file (warcio), for web-archive tools (pywb, warcio, replay).

Each capture gives, in the order they were fetched:

- a `request` record: the GET of the URL the response came from (the archive keeps no request
  headers, so it holds the request line and Host only);
- a `response` record: the status line (the reason phrase is the standard one for the code:
  the archive keeps the code only), the response headers in their order, and the exact body
  bytes the crawler received. The stored body is after HTTP content-decoding, so
  Content-Encoding and Transfer-Encoding are dropped and Content-Length is set to the body's
  length, which keeps the record self-consistent; the dropped values are in the metadata
  record. A capture without a stored body (a download error, a page skipped as not a brief)
  has no response record;
- a `metadata` record (application/warc-fields): `outcome`, `brief-url`, `error`,
  `requested-url`, `capture-id`, `run-id`, and the `original-header`s dropped.

Record IDs are derived from the captures (uuid5) and dates are the capture times, so the same
archive always gives the same bytes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from typing import BinaryIO
from urllib.parse import urlsplit

import sqlite_utils
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.capture import decompress_body
from archive.export import Progress
from archive.ledger import crawled_sites

RECORD_NAMESPACE = uuid.UUID("0f0c8a4e-5b1e-4c55-9d0e-6b7269656673")
DROPPED_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
COLUMNS = (
    "id",
    "run_id",
    "requested_url",
    "final_url",
    "status",
    "fetched_at",
    "headers",
    "body_sha256",
    "body_gzip",
    "brief_url",
    "outcome",
    "error",
)


def captures_clause(since: str | None) -> tuple[str, list[str]]:
    return ("", []) if since is None else (" WHERE fetched_at >= ?", [since])


def count_captures(db: sqlite_utils.Database, since: str | None = None) -> int:
    where, params = captures_clause(since)
    return db.execute("SELECT COUNT(*) FROM captures" + where, params).fetchone()[0]


def capture_span(
    db: sqlite_utils.Database, since: str | None = None
) -> tuple[str | None, str | None, int]:
    """When the first and the last capture (since `since`) were fetched, and how many."""
    where, params = captures_clause(since)
    return db.execute(
        "SELECT MIN(fetched_at), MAX(fetched_at), COUNT(*) FROM captures" + where, params
    ).fetchone()


def write_warc(
    db: sqlite_utils.Database,
    out: BinaryIO,
    *,
    since: str | None = None,
    gzip: bool = True,
    filename: str | None = None,
    software: str = "briefs",
    progress: Progress = None,
) -> int:
    """Write the captures (fetched at or after `since`) as WARC/1.1; returns how many."""
    writer = WARCWriter(out, gzip=gzip, warc_version="1.1")
    span = capture_span(db, since)
    sites = crawled_sites(db)
    info = {
        "software": software,
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "description": "captures of the briefs archive"
        + (f" of {', '.join(sites)}" if sites else "")
        + (f", fetched at or after {since}" if since else ""),
        "captures": str(span[2]),
    }
    payload = "".join(f"{name}: {value}\r\n" for name, value in info.items()).encode()
    headers = {
        "WARC-Record-ID": _record_id("warcinfo", filename or "", span[0] or "", span[1] or ""),
        # Dated by the latest capture it describes, so that equal archives give equal bytes.
        "WARC-Date": _warc_date(span[1]) if span[1] else "1970-01-01T00:00:00Z",
        "Content-Type": "application/warc-fields",
    }
    if filename:
        headers["WARC-Filename"] = filename
    writer.write_record(
        writer.create_warc_record(
            "", "warcinfo", payload=BytesIO(payload), length=len(payload), warc_headers_dict=headers
        )
    )
    count = 0
    where, params = captures_clause(since)
    cursor = db.execute(
        "SELECT " + ", ".join(COLUMNS) + " FROM captures" + where + " ORDER BY id", params
    )
    for row in cursor:
        for record in _capture_records(writer, dict(zip(COLUMNS, row, strict=True))):
            writer.write_record(record)
        count += 1
        if progress is not None:
            progress(1)
    return count


def _capture_records(writer: WARCWriter, capture: dict) -> Iterator[object]:
    uri = capture["final_url"] or capture["requested_url"]
    date = _warc_date(capture["fetched_at"])
    key = (str(capture["id"]), capture["requested_url"], capture["fetched_at"])
    ids = {kind: _record_id(kind, *key) for kind in ("request", "response", "metadata")}
    body = decompress_body(capture["body_gzip"])
    has_response = body is not None and capture["status"] is not None
    main_id = ids["response"] if has_response else ids["request"]

    parts = urlsplit(uri)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = StatusAndHeaders(
        f"GET {target} HTTP/1.1", [("Host", parts.netloc)], is_http_request=True
    )
    request_headers = {"WARC-Record-ID": ids["request"], "WARC-Date": date}
    if has_response:
        request_headers["WARC-Concurrent-To"] = ids["response"]
    yield writer.create_warc_record(
        uri, "request", http_headers=request, warc_headers_dict=request_headers
    )

    kept, dropped = [], []
    for name, value in json.loads(capture["headers"]):
        (dropped if name.lower() in DROPPED_HEADERS else kept).append((name, value))
    if has_response:
        kept.append(("Content-Length", str(len(body))))
        status = capture["status"]
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        http_headers = StatusAndHeaders(f"{status} {reason}".strip(), kept, protocol="HTTP/1.1")
        yield writer.create_warc_record(
            uri,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=http_headers,
            warc_headers_dict={"WARC-Record-ID": ids["response"], "WARC-Date": date},
        )

    fields = [
        ("outcome", capture["outcome"]),
        ("brief-url", capture["brief_url"]),
        ("error", capture["error"]),
        ("requested-url", capture["requested_url"]),
        ("capture-id", capture["id"]),
        ("run-id", capture["run_id"]),
    ]
    if not has_response:
        fields.append(("status", capture["status"]))
        if capture["body_sha256"] and body is None:
            fields.append(("body-sha256", capture["body_sha256"]))
    if has_response:
        fields.extend(("original-header", f"{name}: {value}") for name, value in dropped)
    text = "".join(
        f"{name}: {_field(value)}\r\n" for name, value in fields if value is not None
    ).encode("utf-8")
    yield writer.create_warc_record(
        uri,
        "metadata",
        payload=BytesIO(text),
        length=len(text),
        warc_content_type="application/warc-fields",
        warc_headers_dict={
            "WARC-Record-ID": ids["metadata"],
            "WARC-Date": date,
            "WARC-Concurrent-To": main_id,
        },
    )


def _field(value: object) -> str:
    # A warc-fields value is one line.
    return " ".join(str(value).split())


def _record_id(kind: str, *parts: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(RECORD_NAMESPACE, '|'.join((kind, *parts)))}>"


def _warc_date(moment: str) -> str:
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat().replace("+00:00", "Z")
