"""Worker processes beside the crawler's event loop: memory they share, and a socket pair.

The event loop fetches; the CPU work of each page (cleaning, compressing, writing to SQLite)
is done in worker processes, so a crawl uses more than one core and the loop is never held
up. A call is `(function, args, kwargs)` pickled into a slot of memory the loop and the
worker share; a short header on the socket says where, and the worker's answer comes back
the same way, in the same slot. The loop reads and writes the sockets like any other
connection (no threads in the crawler's process, so nothing competes with the loop for
the GIL).

- Shared memory, not the socket, carries the pages: writing a 160 KB page (or even the
  ~30 KB of a record and its compressed page) through a socket cost the event loop more
  than the rest of the hand-over, and the worker as much again to read it. A call or an
  answer too large for its slot goes through the socket instead.
- A worker runs its calls one after the other, in the order sent: a pool of one is a queue.
- Workers ignore SIGINT (Ctrl-C reaches the whole process group; the crawler decides how to
  stop) and exit when their socket closes: when the crawler closes them, or dies, even by
  SIGKILL (multiprocessing's resource tracker then frees the shared memory).
- A worker that dies (killed, out of memory, a crash in a C library) fails the calls it
  held with `WorkerDied`; the next call starts a new one.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import pickle
import signal
import socket
import struct
from collections import deque
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from multiprocessing.shared_memory import SharedMemory
from typing import Any

from crawler.gc_tuning import collect_less

# Calls sent to a worker ahead of its answers: one it runs, the others waiting for it, so
# it has work while the event loop is held up (on 2 cores, four busy processes take turns):
# a local crawl went 8 % faster with 4 than with 2 (three paired runs), no faster with 8.
# Each call has a slot of the shared memory from its sending until its answer is read, so
# the slot of the call IN_FLIGHT before is free when the next is sent (answers come in the
# order of the calls).
IN_FLIGHT = 4
SLOT = 1024 * 1024  # a brief page is ~160 KB

# Before each call and each answer: its slot, whether it is in the slot (else it follows
# on the socket), and its length.
HEADER = struct.Struct("!I?I")


class WorkerDied(Exception):
    """The worker process running the call died before answering."""


def _pickled(value: object) -> memoryview:
    # Through a file: pickle writes a large bytes object to it in one piece, where
    # pickle.dumps grows its buffer a piece at a time (~0.1 ms for a 160 KB page).
    buffer = io.BytesIO()
    pickle.dump(value, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getbuffer()


def _frame(value: object, slot: int, shared: memoryview) -> list[bytes | memoryview]:
    """What to write on the socket for `value`: a header, after it is put in its slot; or a
    header and the pickle itself, when it is too large for the slot."""
    data = _pickled(value)
    if len(data) <= SLOT:
        shared[slot : slot + len(data)] = data
        return [HEADER.pack(slot, True, len(data))]
    return [HEADER.pack(slot, False, len(data)), data]


class Worker:
    def __init__(self, process: BaseProcess, shared: SharedMemory, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, done: Callable[[Worker], None]) -> None:  # fmt: skip
        self.process = process
        self.shared = shared
        self.reader = reader
        self.writer = writer
        self.done = done
        self.waiting: deque[asyncio.Future] = deque()
        self.shared_freed = False
        self.sent = 0
        self.socket_bytes = 0  # written on the socket: headers, and what did not fit a slot
        self.alive = True
        self.closing = False
        self.answers = asyncio.ensure_future(self._read_answers())

    def send(self, function: Callable, args: tuple, kwargs: dict, future: asyncio.Future) -> None:
        slot = (self.sent % IN_FLIGHT) * SLOT
        for data in _frame((function, args, kwargs), slot, self.shared.buf):
            self.writer.write(data)
            self.socket_bytes += len(data)
        self.sent += 1
        self.waiting.append(future)

    async def _read_answers(self) -> None:
        try:
            while True:
                slot, in_slot, size = HEADER.unpack(await self.reader.readexactly(HEADER.size))
                if in_slot:
                    with self.shared.buf[slot : slot + size] as data:
                        raised, value = pickle.loads(data)
                else:
                    raised, value = pickle.loads(await self.reader.readexactly(size))
                future = self.waiting.popleft()
                if not future.done():
                    if raised:
                        future.set_exception(value)
                    else:
                        future.set_result(value)
                self.done(self)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass  # the worker is gone
        finally:
            self.alive = False
            if not self.closing:
                # Gone, or answering what cannot be read: either way it is done with (and
                # reaped, not left a zombie).
                self.process.kill()
                self.process.join()
            while self.waiting:
                future = self.waiting.popleft()
                if not future.done():
                    future.set_exception(WorkerDied(f"worker {self.process.pid} died"))
            if not self.closing:
                self._free_shared()
            self.done(self)

    def close(self, timeout: float) -> None:
        self.closing = True
        # Now, not when the event loop next runs (it waits on the join): the worker reads
        # the end of its input and exits.
        self.writer.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self.writer.close()
        self.answers.cancel()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self._free_shared()

    def _free_shared(self) -> None:
        if self.shared_freed:
            return  # a worker that died, then was closed
        self.shared_freed = True
        self.shared.close()
        self.shared.unlink()


class Workers:
    """`processes` worker processes. Calls wait in order for a free worker."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"a pool needs at least one process, not {processes}")
        self.processes = processes
        self.workers: list[Worker] = []
        self.queue: deque[tuple[Callable, tuple, dict, asyncio.Future]] = deque()
        self.started = 0
        self.deaths = 0
        self.starting: asyncio.Future | None = None

    async def call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`function(*args, **kwargs)` in a worker (a function of a module the worker can
        import): its value, or the exception it raised (pickled across), or WorkerDied."""
        await self._start_missing()
        future = asyncio.get_running_loop().create_future()
        self.queue.append((function, args, kwargs, future))
        self._dispatch()
        return await future

    async def start(self) -> None:
        """Start the processes now, rather than for the first call (a process takes a few
        tenths of a second to start: Python, and the modules it imports)."""
        await self._start_missing()

    def close(self, timeout: float = 10.0) -> None:
        workers, self.workers = self.workers, []
        for worker in workers:
            worker.close(timeout)

    def _dispatch(self, _: Worker | None = None) -> None:
        alive = [worker for worker in self.workers if worker.alive]
        self.deaths += len(self.workers) - len(alive)
        self.workers = alive
        for worker in sorted(self.workers, key=lambda w: len(w.waiting)):
            while self.queue and len(worker.waiting) < IN_FLIGHT:
                worker.send(*self.queue.popleft())
        if self.queue and len(self.workers) < self.processes:
            asyncio.ensure_future(self._start_missing()).add_done_callback(
                lambda _: self._dispatch()
            )

    async def _start_missing(self) -> None:
        # One start at a time: the calls that arrive meanwhile wait for it.
        while self.starting is not None:
            await self.starting
        missing = self.processes - len([w for w in self.workers if w.alive])
        if missing <= 0:
            return
        self.starting = asyncio.get_running_loop().create_future()
        try:
            for _ in range(missing):
                self.workers.append(await self._start())
        finally:
            self.starting.set_result(None)
            self.starting = None

    async def _start(self) -> Worker:
        ours, theirs = socket.socketpair()
        shared = SharedMemory(create=True, size=IN_FLIGHT * SLOT)
        # spawn, not fork: the crawler has threads (Twisted's), and a fork of a threaded
        # process may inherit a lock that another thread held.
        process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(theirs, shared.name), daemon=True
        )
        process.start()
        theirs.close()
        self.started += 1
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        return Worker(process, shared, reader, writer, self._dispatch)


def _serve(sock: socket.socket, shared_name: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    collect_less()
    stream = sock.makefile("rwb")
    shared = SharedMemory(shared_name)
    try:
        while header := stream.read(HEADER.size):
            if len(header) < HEADER.size:
                break
            slot, in_slot, size = HEADER.unpack(header)
            if in_slot:
                with shared.buf[slot : slot + size] as data:
                    function, args, kwargs = pickle.loads(data)
            else:
                function, args, kwargs = pickle.loads(stream.read(size))
            try:
                answer = (False, function(*args, **kwargs))
            except Exception as error:
                answer = (True, error)
            try:
                frame = _frame(answer, slot, shared.buf)
            except Exception as error:
                frame = _frame(
                    (True, RuntimeError(f"unpicklable answer: {error!r}")), slot, shared.buf
                )
            for data in frame:
                stream.write(data)
            stream.flush()
    except (ConnectionError, OSError):
        pass  # the crawler is gone
    finally:
        shared.close()
