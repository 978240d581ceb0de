"""One writer at a time: an exclusive lock on the archive, held for a whole crawl.

The lock is an flock(2) on `<archive>.lock`. The kernel drops it when its process ends,
however it ends, so a lock left by a killed crawl is never in the way: the file may remain,
but the next crawl takes it over at once. The file records who holds it, for the message a
second crawl prints.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from types import TracebackType

from archive.connection import ArchiveError, utc_now


class ArchiveLocked(RuntimeError):
    """Another live process holds the archive's lock."""


class ArchiveLock:
    def __init__(self, archive_path: str | Path) -> None:
        self.path = Path(f"{archive_path}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ArchiveError(f"cannot lock the archive: {self.path}: {error.strerror}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise ArchiveLocked(
                f"another crawl holds {self.path}" + (f" ({holder})" if holder else "")
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "since": utc_now()}).encode())
        except OSError:
            pass  # (a full disk) who holds it is for the message of a second crawl only
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return ""
    if not holder:
        return ""
    return f"pid {holder.get('pid')}, since {holder.get('since')}"
