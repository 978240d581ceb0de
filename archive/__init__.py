"""The SQLite archive: schema, migrations and every write."""

from archive.capture import Capture, decompress_body
from archive.export import iter_records, write_jsonl
from archive.schema import SCHEMA_VERSION, SchemaTooNew
from archive.store import (
    ArchiveError,
    Outcome,
    connect,
    finish_run,
    start_run,
    store_capture,
    transaction,
)

__all__ = [
    "SCHEMA_VERSION",
    "ArchiveError",
    "Capture",
    "Outcome",
    "SchemaTooNew",
    "connect",
    "decompress_body",
    "finish_run",
    "iter_records",
    "start_run",
    "store_capture",
    "transaction",
    "write_jsonl",
]
