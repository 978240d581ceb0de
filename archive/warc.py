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
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import sqlite_utils
from warcio.recordloader import ArcWarcRecord
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
    writer.write_record(_warcinfo_record(writer, db, since, filename, software))
    count = 0
    where, params = captures_clause(since)
    captures = db.query(f"SELECT {', '.join(COLUMNS)} FROM captures{where} ORDER BY id", params)
    for capture in captures:
        for record in _capture_records(writer, capture):
            writer.write_record(record)
        count += 1
        if progress is not None:
            progress(1)
    return count


def _warcinfo_record(
    writer: WARCWriter,
    db: sqlite_utils.Database,
    since: str | None,
    filename: str | None,
    software: str,
) -> ArcWarcRecord:
    """The file's first record: what made it, and which captures of which sites it holds."""
    first, last, captures = capture_span(db, since)
    sites = crawled_sites(db)
    payload = _warc_fields(
        [
            ("software", software),
            ("format", "WARC File Format 1.1"),
            (
                "conformsTo",
                "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            ),
            (
                "description",
                "captures of the briefs archive"
                + (f" of {', '.join(sites)}" if sites else "")
                + (f", fetched at or after {since}" if since else ""),
            ),
            ("captures", captures),
        ]
    )
    headers = {
        "WARC-Record-ID": _record_id("warcinfo", filename or "", first or "", last or ""),
        # Dated by the latest capture it describes, so that equal archives give equal bytes.
        "WARC-Date": _warc_date(last) if last else "1970-01-01T00:00:00Z",
        "Content-Type": "application/warc-fields",
    }
    if filename:
        headers["WARC-Filename"] = filename
    return writer.create_warc_record(
        "", "warcinfo", payload=BytesIO(payload), length=len(payload), warc_headers_dict=headers
    )


def _capture_records(writer: WARCWriter, capture: dict[str, Any]) -> Iterator[ArcWarcRecord]:
    """The request, response (when the capture kept a body) and metadata records of a
    capture, each naming the others it goes with."""
    uri = capture["final_url"] or capture["requested_url"]
    date = _warc_date(capture["fetched_at"])
    key = (str(capture["id"]), capture["requested_url"], capture["fetched_at"])
    ids = {kind: _record_id(kind, *key) for kind in ("request", "response", "metadata")}
    body = decompress_body(capture["body_gzip"])
    has_response = body is not None and capture["status"] is not None
    kept, dropped = _split_headers(capture["headers"])

    request_headers = {"WARC-Record-ID": ids["request"], "WARC-Date": date}
    if has_response:
        request_headers["WARC-Concurrent-To"] = ids["response"]
    yield writer.create_warc_record(
        uri, "request", http_headers=_request(uri), warc_headers_dict=request_headers
    )
    if has_response:
        yield writer.create_warc_record(
            uri,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=_response(capture["status"], [*kept, ("Content-Length", str(len(body)))]),
            warc_headers_dict={"WARC-Record-ID": ids["response"], "WARC-Date": date},
        )
    text = _warc_fields(_metadata_fields(capture, body, dropped if has_response else None))
    yield writer.create_warc_record(
        uri,
        "metadata",
        payload=BytesIO(text),
        length=len(text),
        warc_content_type="application/warc-fields",
        warc_headers_dict={
            "WARC-Record-ID": ids["metadata"],
            "WARC-Date": date,
            "WARC-Concurrent-To": ids["response" if has_response else "request"],
        },
    )


def _request(uri: str) -> StatusAndHeaders:
    """The GET of `uri`: its request line and Host (the archive keeps no request headers)."""
    parts = urlsplit(uri)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return StatusAndHeaders(
        f"GET {target} HTTP/1.1", [("Host", parts.netloc)], is_http_request=True
    )


def _response(status: int, headers: list[tuple[str, str]]) -> StatusAndHeaders:
    """The status line (with the standard reason phrase of the code: the archive keeps the
    code only) and `headers`."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol="HTTP/1.1")


def _split_headers(headers: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The stored headers (JSON) a response record keeps, and those it drops (DROPPED_HEADERS:
    the body is stored decoded)."""
    kept, dropped = [], []
    for name, value in json.loads(headers):
        (dropped if name.lower() in DROPPED_HEADERS else kept).append((name, value))
    return kept, dropped


def _metadata_fields(
    capture: dict[str, Any], body: bytes | None, dropped: list[tuple[str, str]] | None
) -> list[tuple[str, object]]:
    """What the metadata record says of a capture: its outcome, brief, error, URL and ids;
    then the headers its response record dropped, or (`dropped` None: it has no response
    record) its status and, for a body not kept, the body's digest."""
    fields: list[tuple[str, object]] = [
        ("outcome", capture["outcome"]),
        ("brief-url", capture["brief_url"]),
        ("error", capture["error"]),
        ("requested-url", capture["requested_url"]),
        ("capture-id", capture["id"]),
        ("run-id", capture["run_id"]),
    ]
    if dropped is not None:
        fields.extend(("original-header", f"{name}: {value}") for name, value in dropped)
        return fields
    fields.append(("status", capture["status"]))
    if capture["body_sha256"] and body is None:
        fields.append(("body-sha256", capture["body_sha256"]))
    return fields


def _warc_fields(fields: list[tuple[str, object]]) -> bytes:
    """application/warc-fields: a `name: value` line for each field with a value."""
    return "".join(
        f"{name}: {_field(value)}\r\n" for name, value in fields if value is not None
    ).encode("utf-8")


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
