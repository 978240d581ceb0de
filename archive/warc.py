"""The raw captures as a WARC/1.1 file (warcio), for web-archive tools (pywb, warcio, replay).

The captures and the crawls' other exchanges (robots.txt, discovery documents, requisites, a
brief URL's redirects and retried attempts: the `exchanges` table) are written in the order
they were fetched. An exchange gives the records of a wire capture, below, its metadata
record naming its `purpose`; one that got no response, a metadata record alone (its URL and
`error`). Each capture gives:

- a `request` record: for a capture made since the archive keeps the exchange as it crossed
  the wire (schema 7), the request line and headers exactly as sent, dated when it went
  out; for an older one, the GET of the URL the response came from (request line and Host
  only: the archive kept no request headers then);
- a `response` record, when the capture kept a body: for a wire capture, the status line and
  header lines exactly as received (reason phrase, name case, order, repeats) and the body
  exactly as transferred (still content-encoded where the server encoded it), with the
  peer's address (`WARC-IP-Address`); the body is stored de-chunked, so a
  `Transfer-Encoding` line is left out of the block (and named in the metadata record).
  A 304, and a body already written for an earlier capture (the same SHA-256), give a
  `revisit` record of that earlier response instead (profiles server-not-modified and
  identical-payload-digest): the bytes are not written twice. A 304's revisit has no
  HTTP block (pywb replays a revisit whose head says 3xx as an empty page); its status
  line and headers go to the metadata record.
  For an older capture, whose stored body is after HTTP content-decoding: the status line
  with the standard reason phrase for the code, the headers in their order less
  Content-Encoding and Transfer-Encoding, Content-Length set to the body's length (the
  record stays self-consistent; the dropped values are in the metadata record), and a 304
  after a response of its URL a revisit of it, as above;
- a `metadata` record (application/warc-fields): `outcome`, `brief-url`, `error`,
  `requested-url`, `capture-id`, `run-id`, and the `original-header`s dropped.

Record IDs are derived from the captures (uuid5) and dates are the capture times, so the same
archive always gives the same bytes.
"""

from __future__ import annotations

import heapq
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import sqlite_utils
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from archive.capture import decompress_body, transferred_body
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
    "brief_url",
    "outcome",
    "error",
    "request_head",
    "response_head",
    "body_form",
    "ip_address",
    "requested_at",
)
# A row's body, in its own row or (`body_ref`) the earlier one that holds the same bytes.
_CAPTURES = (
    f"SELECT {', '.join(f'c.{name}' for name in COLUMNS)},"
    " COALESCE(c.body_gzip, o.body_gzip) AS body_gzip"
    " FROM captures AS c LEFT JOIN captures AS o ON o.id = c.body_ref{where} ORDER BY c.id"
)
# An exchange in the shape of a capture's row (it gives no brief; `outcome` is its purpose).
_EXCHANGES = (
    "SELECT e.id, e.run_id, e.url AS requested_url, NULL AS final_url, e.status, e.fetched_at,"
    " e.headers, e.body_sha256, NULL AS brief_url, e.purpose AS outcome, e.error,"
    " e.request_head, e.response_head, e.body_form, e.ip_address, e.requested_at,"
    " COALESCE(e.body_gzip, o.body_gzip) AS body_gzip, 'exchange' AS kind"
    " FROM exchanges AS e LEFT JOIN exchanges AS o ON o.id = e.body_ref{where} ORDER BY e.id"
)
# A header line of a wire capture's response that its stored, de-chunked body makes untrue.
_TRANSFER_ENCODING = re.compile(rb"^transfer-encoding[ \t]*:.*\n", re.IGNORECASE | re.MULTILINE)


def captures_clause(since: str | None, table: str = "") -> tuple[str, list[str]]:
    column = f"{table}.fetched_at" if table else "fetched_at"
    return ("", []) if since is None else (f" WHERE {column} >= ?", [since])


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


@dataclass(frozen=True)
class WarcInfo:
    """What the warcinfo record says that the archive does not know: who made the capture
    (`operator`, e.g. "Jane Doe, Example Library <jd@example.org>"), what it is
    (`description`, else one made from the sites and dates), and the collection it belongs to
    (`is_part_of`)."""

    operator: str | None = None
    description: str | None = None
    is_part_of: str | None = None


NO_WARC_INFO = WarcInfo()


def write_warc(
    db: sqlite_utils.Database,
    out: BinaryIO,
    *,
    since: str | None = None,
    gzip: bool = True,
    filename: str | None = None,
    software: str = "briefs",
    info: WarcInfo = NO_WARC_INFO,
    progress: Progress = None,
) -> int:
    """Write the captures and the crawls' other exchanges (fetched at or after `since`) as
    WARC/1.1, in the order they were fetched; returns how many captures."""
    writer = WARCWriter(out, gzip=gzip, warc_version="1.1")
    writer.write_record(_warcinfo_record(writer, db, since, filename, software, info))
    count = 0
    where, params = captures_clause(since, "c")
    captures = db.query(_CAPTURES.format(where=where), params)
    where, params = captures_clause(since, "e")
    exchanges = db.query(_EXCHANGES.format(where=where), params)
    originals = _Originals()
    for row in heapq.merge(captures, exchanges, key=_fetched):
        if row.get("kind") == "exchange":
            records = _exchange_records(row, originals)
        else:
            records = _capture_records(writer, row, originals)
            count += 1
            if progress is not None:
                progress(1)
        for record in records:
            writer.write_record(record)
    return count


def _fetched(row: dict[str, Any]) -> str:
    # When the response came: a redirect before the page it led to, robots.txt first. (Both
    # tables are in id order, which is the order they were stored, near enough to time's.)
    return _warc_date(row["fetched_at"])


def _warcinfo_record(
    writer: WARCWriter,
    db: sqlite_utils.Database,
    since: str | None,
    filename: str | None,
    software: str,
    info: WarcInfo,
) -> ArcWarcRecord:
    """The file's first record: what made it, and which captures of which sites it holds,
    fetched how (the User-Agent and robots.txt policy of the latest crawl that says)."""
    first, last, captures = capture_span(db, since)
    sites = crawled_sites(db)
    user_agent, obeys_robots = _crawl_policy(db)
    description = info.description or (
        "captures of the briefs archive"
        + (f" of {', '.join(sites)}" if sites else "")
        + (f", fetched at or after {since}" if since else "")
    )
    payload = _warc_fields(
        [
            ("software", software),
            ("format", "WARC File Format 1.1"),
            (
                "conformsTo",
                "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            ),
            ("operator", info.operator),
            ("description", description),
            ("isPartOf", info.is_part_of),
            ("http-header-user-agent", user_agent),
            ("robots", None if obeys_robots is None else "obey" if obeys_robots else "ignore"),
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


def _crawl_policy(db: sqlite_utils.Database) -> tuple[str | None, bool | None]:
    """The User-Agent and ROBOTSTXT_OBEY the latest run that recorded them crawled with."""
    row = db.execute(
        "SELECT json_extract(options, '$.USER_AGENT'), json_extract(options, '$.ROBOTSTXT_OBEY')"
        " FROM runs WHERE json_extract(options, '$.USER_AGENT') IS NOT NULL"
        " ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return (None, None) if row is None else (row[0], None if row[1] is None else bool(row[1]))


def _capture_records(
    writer: WARCWriter, capture: dict[str, Any], originals: _Originals
) -> Iterator[ArcWarcRecord]:
    """The request, response (when the capture kept a body) and metadata records of a
    capture, each naming the others it goes with."""
    if capture["response_head"] is not None:
        yield from _wire_records(capture, originals)
        return
    uri = capture["final_url"] or capture["requested_url"]
    date = _warc_date(capture["fetched_at"])
    ids = _record_ids(capture)
    # A 304 after a response of its URL is a revisit of it, as a wire capture's 304 is.
    original = originals.by_uri.get(uri) if capture["status"] == 304 else None
    body = None if original is not None else decompress_body(capture["body_gzip"])
    has_response = capture["status"] is not None and (body is not None or original is not None)
    kept, dropped = _split_headers(capture["headers"])

    request_headers = {"WARC-Record-ID": ids["request"], "WARC-Date": date}
    if has_response:
        request_headers["WARC-Concurrent-To"] = ids["response"]
    yield writer.create_warc_record(
        uri, "request", http_headers=_request(uri), warc_headers_dict=request_headers
    )
    if original is not None:
        yield _revisit_record(uri, date, b"", {"WARC-Record-ID": ids["response"]}, original, 304)
        # No HTTP block (see _revisit_block): its headers go to the metadata record.
        dropped = [("status-line", "304 Not Modified"), *kept, *dropped]
    elif has_response:
        record = writer.create_warc_record(
            uri,
            "response",
            payload=BytesIO(body),
            length=len(body),
            http_headers=_response(capture["status"], [*kept, ("Content-Length", str(len(body)))]),
            warc_headers_dict={"WARC-Record-ID": ids["response"], "WARC-Date": date},
        )
        _remember(originals, capture, uri, date, ids["response"], record)
        yield record
    text = _warc_fields(_metadata_fields(capture, body, dropped if has_response else None))
    yield _metadata_record(uri, capture, ids, text, ids["response" if has_response else "request"])


@dataclass
class _Original:
    """A response record a later revisit record refers to."""

    record_id: str
    uri: str
    date: str
    payload_digest: str


@dataclass
class _Originals:
    """The response records written so far: the first of each payload (by the SHA-256 of the
    body as transferred), and the latest of each URL."""

    by_payload: dict[str, _Original] = field(default_factory=dict)
    by_uri: dict[str, _Original] = field(default_factory=dict)


def _exchange_records(row: dict[str, Any], originals: _Originals) -> Iterator[ArcWarcRecord]:
    """An exchange's records: request, response (or revisit) and metadata as a wire
    capture's; one that got no response, its metadata record alone (what was asked, and why
    nothing came)."""
    if row["response_head"] is not None:
        yield from _wire_records(row, originals, _exchange_fields)
        return
    text = _warc_fields(_exchange_fields(row, None, None))
    yield _metadata_record(row["requested_url"], row, _record_ids(row), text, None)


def _exchange_fields(
    row: dict[str, Any], body: bytes | None, dropped: list[tuple[str, str]] | None
) -> list[tuple[str, object]]:
    """What the metadata record says of an exchange: what it was fetched for, why it got no
    response, its ids, and the headers its response record dropped."""
    fields: list[tuple[str, object]] = [
        ("purpose", row["outcome"]),
        ("error", row["error"]),
        ("exchange-id", row["id"]),
        ("run-id", row["run_id"]),
    ]
    fields.extend(("original-header", f"{name}: {value}") for name, value in dropped or ())
    return fields


def _wire_records(
    capture: dict[str, Any],
    originals: _Originals,
    describe: Callable[..., list[tuple[str, object]]] | None = None,
) -> Iterator[ArcWarcRecord]:
    """The records of a capture kept as it crossed the wire: its blocks are the bytes sent
    and received, written as they are (warcio would rewrite a parsed head). A 304, and a
    body already written for another capture, are a `revisit` of that earlier response."""
    uri = capture["final_url"] or capture["requested_url"]
    ids = _record_ids(capture)
    common = {"WARC-IP-Address": capture["ip_address"]} if capture["ip_address"] else {}
    original = _revisited(capture, uri, originals)
    body = None
    if original is None and capture["body_gzip"] is not None:
        body = transferred_body(capture["body_gzip"], capture["body_form"])
    has_response = capture["status"] is not None and (body is not None or original is not None)
    request = {"WARC-Record-ID": ids["request"], **common}
    if has_response:
        request["WARC-Concurrent-To"] = ids["response"]
    requested_at = capture["requested_at"] or capture["fetched_at"]
    head = capture["request_head"]
    # (A GET has no body: its payload is empty, which warcio would take for the whole block.)
    yield _exact_record("request", uri, _warc_date(requested_at), head, request, len(head))
    dropped: list[tuple[str, str]] = []
    if has_response:
        head = capture["response_head"]
        dropped = [_field_of(line) for line in _TRANSFER_ENCODING.findall(head)]
        head = _TRANSFER_ENCODING.sub(b"", head)
        response = {"WARC-Record-ID": ids["response"], **common}
        date = _warc_date(capture["fetched_at"])
        if original is not None:
            block, dropped = _revisit_block(capture, head, dropped)
            yield _revisit_record(uri, date, block, response, original, capture["status"])
        else:
            record = _exact_record("response", uri, date, head + body, response, len(head))
            _remember(originals, capture, uri, date, ids["response"], record)
            yield record
    describe = describe or _metadata_fields
    text = _warc_fields(describe(capture, body, dropped if has_response else None))
    yield _metadata_record(uri, capture, ids, text, ids["response" if has_response else "request"])


def _revisited(capture: dict[str, Any], uri: str, originals: _Originals) -> _Original | None:
    """The earlier response a capture revisits: the URL's last one for a 304, the first
    with the same payload for a body written before; None for a capture written whole."""
    if capture["status"] == 304:
        return originals.by_uri.get(uri)
    if capture["body_gzip"] is None or not capture["body_sha256"]:
        return None
    return originals.by_payload.get(capture["body_sha256"])


def _remember(
    originals: _Originals,
    capture: dict[str, Any],
    uri: str,
    date: str,
    record_id: str,
    record: ArcWarcRecord,
) -> None:
    if capture["status"] != 200:
        return
    digest = record.rec_headers.get_header("WARC-Payload-Digest")
    original = _Original(record_id, uri, date, digest)
    originals.by_payload.setdefault(capture["body_sha256"], original)
    originals.by_uri[uri] = original


def _revisit_block(
    capture: dict[str, Any], head: bytes, dropped: list[tuple[str, str]]
) -> tuple[bytes, list[tuple[str, str]]]:
    """A revisit's block and the header fields its metadata record names: a 304 keeps no
    HTTP header block (a replay tool would show its empty answer, not the page it says is
    unchanged), its status line and headers go to the metadata record; a response whose body
    was written before keeps its head."""
    if capture["status"] != 304:
        return head, dropped
    lines = head.decode("latin-1").split("\n")
    fields = [("status-line", lines[0].removesuffix("\r"))]
    fields += [_field_of(line.encode("latin-1")) for line in lines[1:] if ":" in line]
    return b"", fields


def _revisit_record(
    uri: str,
    date: str,
    block: bytes,
    headers: dict[str, str],
    original: _Original,
    status: int,
) -> ArcWarcRecord:
    profile = "server-not-modified" if status == 304 else "identical-payload-digest"
    fields = {
        **headers,
        "WARC-Profile": f"http://netpreserve.org/warc/1.1/revisit/{profile}",
        "WARC-Refers-To": original.record_id,
        "WARC-Refers-To-Target-URI": original.uri,
        "WARC-Refers-To-Date": original.date,
        "WARC-Payload-Digest": original.payload_digest,
    }
    return _exact_record("revisit", uri, date, block, fields)


def _field_of(line: bytes) -> tuple[str, str]:
    name, _, value = line.decode("latin-1").partition(":")
    return name.strip(), value.strip()


def _exact_record(
    kind: str,
    uri: str,
    date: str,
    block: bytes,
    headers: dict[str, str],
    payload_at: int | None = None,
) -> ArcWarcRecord:
    """A request, response or revisit record whose block is `block`, byte for byte; its
    payload (the body) starts at `payload_at`."""
    fields = [
        ("WARC-Type", kind),
        ("WARC-Record-ID", headers["WARC-Record-ID"]),
        ("WARC-Target-URI", uri),
        ("WARC-Date", date),
        *((name, value) for name, value in headers.items() if name != "WARC-Record-ID"),
        ("WARC-Block-Digest", _digest(block)),
    ]
    if payload_at is not None:
        fields.append(("WARC-Payload-Digest", _digest(block[payload_at:])))
    content_type = f"application/http; msgtype={'response' if kind == 'revisit' else kind}"
    if block:
        fields.append(("Content-Type", content_type))
    fields.append(("Content-Length", str(len(block))))
    record_headers = StatusAndHeaders("", fields, protocol="WARC/1.1")
    if kind != "revisit":
        return ArcWarcRecord(
            "warc", kind, record_headers, BytesIO(block), None, content_type, len(block)
        )
    # warcio writes a revisit's HTTP head alone, from its headers object: one that keeps
    # the bytes it was given.
    record = ArcWarcRecord(
        "warc",
        kind,
        record_headers,
        BytesIO(b""),
        _ExactHead(block),
        content_type if block else None,
        0,
    )
    record.payload_length = 0
    return record


class _ExactHead(StatusAndHeaders):
    """An HTTP head that warcio writes as the bytes received, not re-serialised."""

    def __init__(self, raw: bytes) -> None:
        super().__init__("", [])
        self.headers_buff = raw

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        pass

    def __bool__(self) -> bool:
        return bool(self.headers_buff)


def _digest(data: bytes) -> str:
    digester = Digester("sha1")  # warcio's own (base32), as its other records have
    digester.update(data)
    return str(digester)


def _record_ids(capture: dict[str, Any]) -> dict[str, str]:
    key = (str(capture["id"]), capture["requested_url"], capture["fetched_at"])
    if capture.get("kind") == "exchange":  # (ids of their own: a capture's may be the same)
        key = ("exchange", *key)
    return {kind: _record_id(kind, *key) for kind in ("request", "response", "metadata")}


def _metadata_record(
    uri: str,
    capture: dict[str, Any],
    ids: dict[str, str],
    text: bytes,
    concurrent_to: str | None,
) -> ArcWarcRecord:
    """The metadata record of a capture (or an exchange), naming the record it goes with."""
    fields = [
        ("WARC-Type", "metadata"),
        ("WARC-Record-ID", ids["metadata"]),
        ("WARC-Target-URI", uri),
        ("WARC-Date", _warc_date(capture["fetched_at"])),
        *([("WARC-Concurrent-To", concurrent_to)] if concurrent_to else []),
        ("WARC-Block-Digest", _digest(text)),
        ("Content-Type", "application/warc-fields"),
        ("Content-Length", str(len(text))),
    ]
    record_headers = StatusAndHeaders("", fields, protocol="WARC/1.1")
    return ArcWarcRecord(
        "warc",
        "metadata",
        record_headers,
        BytesIO(text),
        None,
        "application/warc-fields",
        len(text),
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
