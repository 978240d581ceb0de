"""What the crawl sends the archive's one writer: a fetched page, a frontier entry, a lastmod.

A local crawl hands these to its writer process (crawler.archive_writer); a distributed
crawl's crawlers push pages and lastmod notes to Redis, encoded as below, for `briefs
ingest` (crawler.distributed.ingest). Both writers store them with crawler.storing.


A message is self-contained JSON (UTF-8): the capture (requested and final URL, status, time,
headers in order, the body gzip-compressed and base64-encoded with its SHA-256 and length,
the fetch error), the cleaned
record or why there is none, the cleaner's version, how the URL was found, and its id. The
crawler compresses the body (as the archive keeps it, `Capture.body_gzip`), so the one writer
only decodes and stores: the costly work stays with the crawlers, which scale out.

The id is derived from the crawl and the URL first requested, so a page fetched twice in one
crawl (a crawler stopped after pushing it and before its lease was released, a lease taken
over from a crawler thought dead) gives one id: the archive stores the first and ignores the
others. A message is never stored twice (`store_capture(message_id=...)`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from archive.capture import Capture, Exchange, PackedBody, decompress_body
from cleaning.record import CONTENT_FIELDS, BriefRecord, canonical_json
from crawler.items import FetchedPage

FORMAT = 1


@dataclass
class Message:
    """One fetched page. `id` and `crawl` name a distributed crawl's message (None, "" in a
    local crawl, whose writer is told each page once)."""

    id: str | None
    crawl: str
    capture: Capture
    record: BriefRecord | None
    error: str | None
    skipped: bool
    extraction_failed: bool
    cleaner_version: str
    frontier_url: str
    discovered_via: str | None = None
    lastmod: str | None = None
    canonical: str | None = None  # the page is an alias of this URL


@dataclass
class LastmodNote:
    """A brief URL found again, by an index that declares its lastmod, after it was queued
    (the dupefilter dropped the request): the writer records the lastmod in the frontier,
    as a local crawl does, so that a later crawl does not take the brief for changed."""

    url: str
    lastmod: str
    discovered_via: str | None = None


@dataclass(frozen=True)
class Queued:
    """A brief URL queued for fetching (the scheduler's), after every one with a smaller
    `seq`."""

    url: str
    seq: int
    discovered_via: str | None = None
    lastmod: str | None = None


def encode_note(url: str, lastmod: str, discovered_via: str | None) -> bytes:
    note = {"format": FORMAT, "kind": "lastmod", "url": url, "lastmod": lastmod}
    note["discovered_via"] = discovered_via
    return json.dumps(note, separators=(",", ":")).encode()


def message_id(crawl: str, url: str) -> str:
    return hashlib.sha256(f"{crawl}\n{url}".encode()).hexdigest()[:32]


def page_message(page: FetchedPage, cleaner_version: str, crawl: str = "") -> Message:
    """What the writer is sent of a fetched page: its capture (the body as the cleaning
    process packed it), what it gave, and its frontier URL, the URL first asked for, before
    any redirect. With `crawl` (a distributed crawl's), the message has its id."""
    capture = page.capture
    url = capture.requested_url
    meta = page.request.meta if page.request is not None else {}
    return Message(
        id=message_id(crawl, url) if crawl else None,
        crawl=crawl,
        capture=capture.without_body(),
        record=page.record,
        error=page.error,
        skipped=page.skipped,
        extraction_failed=page.extraction_failed,
        cleaner_version=cleaner_version,
        frontier_url=url,
        discovered_via=meta.get("discovered_via"),
        lastmod=meta.get("lastmod"),
        canonical=page.canonical,
    )


def encode(page: FetchedPage, crawl: str, cleaner_version: str) -> bytes:
    message = page_message(page, cleaner_version, crawl)
    encoded: dict[str, Any] = {
        "format": FORMAT,
        "id": message.id,
        "crawl": crawl,
        "url": message.frontier_url,
        "discovered_via": message.discovered_via,
        "lastmod": message.lastmod,
        "capture": _capture_fields(message.capture),
        "record": None if message.record is None else message.record.as_dict(),
        "canonical": message.canonical,
        "error": message.error,
        "skipped": message.skipped,
        "extraction_failed": message.extraction_failed,
        "cleaner_version": cleaner_version,
    }
    return json.dumps(encoded, ensure_ascii=False, separators=(",", ":")).encode()


def encode_exchange(exchange: Exchange) -> bytes:
    """A crawl's exchange (archive.capture.Exchange, its body packed) as a message; its id
    is its own (one attempt is pushed once, and stored once however often it is read)."""
    encoded = {
        "format": FORMAT,
        "kind": "exchange",
        "id": exchange.id or uuid.uuid4().hex,
        "purpose": exchange.purpose,
        "capture": _capture_fields(exchange.capture),
    }
    return json.dumps(encoded, ensure_ascii=False, separators=(",", ":")).encode()


def _capture_fields(capture: Capture) -> dict[str, Any]:
    return {
        "requested_url": capture.requested_url,
        "final_url": capture.final_url,
        "status": capture.status,
        "fetched_at": capture.fetched_at,
        "headers": capture.headers,
        "body_gzip": _b64(capture.body_gzip()),
        # So that the writer stores the blob as it is, without decompressing it.
        "body_sha256": capture.body_sha256,
        "body_length": capture.body_length,
        "body_form": capture.body_form,
        "request_head": _b64(capture.request_head),
        "response_head": _b64(capture.response_head),
        "ip_address": capture.ip_address,
        "requested_at": capture.requested_at,
        "error": capture.error,
    }


def _capture_of(raw: dict[str, Any]) -> Capture:
    blob = _unb64(raw["body_gzip"])
    body = packed = None
    if blob is not None and raw.get("body_sha256") and raw.get("body_length") is not None:
        # A crawler of an earlier release names no form: it sent the decoded page's gzip.
        form = raw.get("body_form") or "decoded"
        packed = PackedBody(raw["body_sha256"], raw["body_length"], blob, form)
    elif blob is not None:  # from a crawler of an earlier release, which did not say
        body = decompress_body(blob)
        packed = PackedBody(hashlib.sha256(body).hexdigest(), len(body), blob, "decoded")
    return Capture(
        requested_url=raw["requested_url"],
        fetched_at=raw["fetched_at"],
        final_url=raw["final_url"],
        status=raw["status"],
        headers=[tuple(pair) for pair in raw["headers"]],
        body=body,
        error=raw["error"],
        packed=packed,
        request_head=_unb64(raw.get("request_head")),
        response_head=_unb64(raw.get("response_head")),
        ip_address=raw.get("ip_address"),
        requested_at=raw.get("requested_at"),
    )


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _hash_as_sent(record: BriefRecord, sent: dict[str, Any]) -> str:
    """The content_hash of `record` over the content fields its sender knew: a crawler of an
    earlier release (a message waiting in Redis across an upgrade) sends no `section` and
    hashed without it. Its record is stored with the new fields empty, under its own
    cleaner version, until `briefs reclean` derives them."""
    if all(name in sent for name in CONTENT_FIELDS):
        return record.content_hash
    known = {name: value for name, value in record.content().items() if name in sent}
    return hashlib.sha256(canonical_json(known).encode("utf-8")).hexdigest()


def decode(data: bytes) -> Message | Exchange | LastmodNote:
    """The message in `data`; ValueError when it is not one this release can read."""
    try:
        message = json.loads(data)
        if message.get("format") != FORMAT:
            raise ValueError(f"unknown message format {message.get('format')!r}")
        if message.get("kind") == "lastmod":
            return LastmodNote(message["url"], message["lastmod"], message["discovered_via"])
        if message.get("kind") == "exchange":
            capture = _capture_of(message["capture"])
            return Exchange(str(message["purpose"]), capture, id=str(message["id"]))
        capture = _capture_of(message["capture"])
        record = None
        if message["record"] is not None:
            fields = dict(message["record"])
            declared = fields.pop("content_hash", None)
            record = BriefRecord(**fields)
            if declared is not None and declared != _hash_as_sent(record, fields):
                raise ValueError("the record does not match its content_hash")
        return Message(
            id=message["id"],
            crawl=message["crawl"],
            capture=capture,
            record=record,
            error=message["error"],
            skipped=bool(message["skipped"]),
            extraction_failed=bool(message["extraction_failed"]),
            cleaner_version=message["cleaner_version"],
            frontier_url=message["url"],
            discovered_via=message.get("discovered_via"),
            lastmod=message.get("lastmod"),
            canonical=message.get("canonical"),
        )
    except (KeyError, TypeError, ValueError, OSError, EOFError) as error:
        raise ValueError(f"not a briefs message: {error}") from error
