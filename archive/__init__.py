"""The SQLite archive: the public names of its modules (connection, ledger, frontier, store,
search, exports), each module one job. `archive.search` is the search module: its
`archive.search.search(db, query, ...)` searches, `archive.search.count` counts."""

from archive import frontier, search
from archive.capture import Capture, decompress_body
from archive.connection import ArchiveError, NotAnArchive, connect, transaction
from archive.export import write_csv, write_jsonl
from archive.ledger import (
    close_stale_runs,
    crawled_sites,
    finish_run,
    last_finished_run_start,
    latest_runs,
    start_run,
)
from archive.lock import ArchiveLock, ArchiveLocked
from archive.schema import SCHEMA_VERSION, SchemaTooNew
from archive.search import SearchQueryError
from archive.snapshots import snapshot_sqlite
from archive.store import Outcome, store_capture, store_exchange

__all__ = [
    "SCHEMA_VERSION",
    "ArchiveError",
    "ArchiveLock",
    "ArchiveLocked",
    "Capture",
    "NotAnArchive",
    "Outcome",
    "SchemaTooNew",
    "SearchQueryError",
    "close_stale_runs",
    "connect",
    "crawled_sites",
    "decompress_body",
    "finish_run",
    "frontier",
    "last_finished_run_start",
    "latest_runs",
    "search",
    "snapshot_sqlite",
    "start_run",
    "store_capture",
    "store_exchange",
    "transaction",
    "write_csv",
    "write_jsonl",
]
