"""Worker processes beside the event loop: calls, errors, deaths, signals, and the way out;
the cleaning pool built on them."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import signal
import time
from multiprocessing.shared_memory import SharedMemory

import pytest

from archive.capture import pack_body
from cleaning import NotHTML, clean
from crawler import workers as workers_module
from crawler.cleaning_pool import CleanedPage, CleanerCrashed, CleaningPool, clean_page
from crawler.gc_tuning import THRESHOLDS, collect_less
from crawler.workers import HEADER, SLOT, WorkerDied, Workers
from tests.gold import sample_pages
from tests.processes import running

# What the workers run: functions of a module they can import (this one).


def worker_pid() -> int:
    return os.getpid()


def refuse(message: str) -> None:
    raise LookupError(message)


def die() -> None:
    os._exit(3)


def unpicklable() -> object:
    return lambda: None


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def digests(*args: object) -> list[str | None]:
    return [hashlib.sha256(a).hexdigest() if isinstance(a, bytes) else None for a in args]


def crash_on_marker(body: bytes, url: str, *page: object) -> CleanedPage:
    """A cleaner that dies, as a crash in a C library would, on one page."""
    if body == b"crash":
        os._exit(3)
    return clean_page(body, url, *page)


def test_a_call_runs_in_a_worker_process_and_its_exception_comes_back():
    async def main() -> int:
        workers = Workers(1)
        try:
            pid = await workers.call(worker_pid)
            with pytest.raises(LookupError, match="no such brief"):
                await workers.call(refuse, "no such brief")
            assert await workers.call(worker_pid) == pid  # an exception does not end a worker
            with pytest.raises(RuntimeError, match="unpicklable answer"):
                await workers.call(unpicklable)
            assert await workers.call(worker_pid) == pid
            return pid
        finally:
            workers.close()

    pid = asyncio.run(main())
    assert pid != os.getpid()
    assert not running(pid)  # close() ends it


def test_calls_are_spread_over_the_workers():
    async def main() -> list[int]:
        workers = Workers(2)
        try:
            return await asyncio.gather(*(workers.call(pid_after, 0.05) for _ in range(8)))
        finally:
            workers.close()

    pids = asyncio.run(main())
    assert len(set(pids)) == 2 and os.getpid() not in pids


@pytest.fixture
def shared_memory_made(monkeypatch) -> set[str]:
    """The names of the shared memory segments the pools of the test make (other processes
    of the machine have theirs, which come and go)."""
    made: set[str] = set()

    class Recorded(SharedMemory):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.add(self.name.lstrip("/"))

    monkeypatch.setattr(workers_module, "SharedMemory", Recorded)
    return made


def test_a_worker_that_dies_fails_its_calls_and_the_next_call_gets_a_new_one(
    shared_memory_made,
):
    async def main() -> tuple[int, int, int]:
        workers = Workers(1)
        try:
            first = await workers.call(worker_pid)
            with pytest.raises(WorkerDied):
                await workers.call(die)
            return first, await workers.call(worker_pid), workers.deaths
        finally:
            workers.close()

    first, second, deaths = asyncio.run(main())
    assert first != second and deaths == 1
    made = shared_memory_made
    assert len(made) == 2 and not made & set(os.listdir("/dev/shm"))  # the dead one's too


def test_workers_ignore_ctrl_c():
    async def main() -> None:
        workers = Workers(1)
        try:
            pid = await workers.call(worker_pid)
            os.kill(pid, signal.SIGINT)  # as Ctrl-C sends it to the whole process group
            await asyncio.sleep(0.2)
            assert await workers.call(worker_pid) == pid
        finally:
            workers.close()

    asyncio.run(main())


def test_calls_and_answers_go_through_shared_memory_whole(shared_memory_made):
    pages = [os.urandom(160_000 + n) for n in range(12)]

    async def main() -> tuple[list, int, list, bytes]:
        workers = Workers(1)
        try:
            # Many calls at once: each in its slot while the ones before it are in flight.
            answers = await asyncio.gather(
                *(workers.call(digests, "url", page, b"small", page[:20_000]) for page in pages)
            )
            echoed = await workers.call(bytes, pages[0])  # a large answer
            (worker,) = workers.workers
            through_socket = worker.socket_bytes
            # Too large for a slot, either way: through the socket, whole.
            big = os.urandom(SLOT + 1)
            return answers, through_socket, echoed, await workers.call(bytes, big), big
        finally:
            workers.close()

    answers, through_socket, echoed, big_echoed, big = asyncio.run(main())
    assert answers == [digests("url", page, b"small", page[:20_000]) for page in pages]
    assert echoed == pages[0] and big_echoed == big
    assert through_socket == 13 * HEADER.size  # only the headers went through the socket
    made = shared_memory_made
    assert made and not made & set(os.listdir("/dev/shm"))  # closed: the memory is freed


def gc_state() -> tuple[tuple[int, int, int], int]:
    return gc.get_threshold(), gc.get_freeze_count()


def test_workers_and_the_crawler_collect_garbage_less_often():
    async def main() -> tuple[tuple[int, int, int], int]:
        workers = Workers(1)
        try:
            return await workers.call(gc_state)
        finally:
            workers.close()

    thresholds, frozen = asyncio.run(main())
    assert thresholds == THRESHOLDS != gc.get_threshold() and frozen > 1000
    # The crawler's own process calls the same function (crawler.run).
    saved = gc.get_threshold()
    try:
        collect_less()
        assert gc.get_threshold() == THRESHOLDS and gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)


def test_a_pool_needs_a_process():
    with pytest.raises(ValueError, match="at least one process"):
        Workers(0)


def samples() -> list[tuple[str, bytes]]:
    return [(gold["url"], html) for _, html, gold in sample_pages()]


def test_the_cleaning_pool_gives_what_cleaning_in_process_gives():
    pages = samples()

    async def main() -> list[CleanedPage]:
        pool = CleaningPool(2)
        try:
            return await asyncio.gather(
                *(pool.clean(html, url, "utf-8") for url, html in pages),
                pool.clean(b"\x89PNG\r\n\x1a\n\x00", pages[0][0], None),
            )
        finally:
            pool.close()

    *cleaned, png = asyncio.run(main())
    for (url, html), page in zip(pages, cleaned, strict=True):
        assert page.record == clean(html, url, encoding="utf-8") and page.error is None
        assert page.packed == pack_body(html)
    assert png.record is None and isinstance(png.error, NotHTML)
    assert str(png.error).startswith("not_html: ")


def test_a_page_the_cleaner_dies_on_fails_alone_and_the_others_are_cleaned():
    url, html = samples()[0]

    async def main() -> tuple[list[CleanedPage], CleanedPage, int]:
        pool = CleaningPool(1, work=crash_on_marker)
        try:
            # The crash comes first: the pages behind it die with the worker, unread.
            pages = await asyncio.gather(
                pool.clean(b"crash", url, None),
                pool.clean(html, url, "utf-8"),
                pool.clean(html, url, "utf-8"),
            )
            return pages, await pool.clean(html, url, "utf-8"), pool.deaths
        finally:
            pool.close()

    (crashed, *others), after, deaths = asyncio.run(main())
    assert isinstance(crashed.error, CleanerCrashed) and crashed.record is None
    assert crashed.packed == pack_body(b"crash")  # the page is still archived, as failed
    expected = clean(html, url, encoding="utf-8")
    assert [page.record for page in [*others, after]] == [expected] * 3
    assert deaths == 2  # the pool's worker, then the one that had the crash page alone
