"""Worker processes beside the crawler's event loop, spoken to over socket pairs.

The event loop fetches; the CPU work of each page (cleaning, compressing, writing to SQLite)
is done in worker processes, so a crawl uses more than one core and the loop is never held
up. A call sends `(function, args)` to a worker as one pickled frame and awaits its answer;
the loop reads and writes the sockets like any other connection (no threads in the
crawler's process, so nothing competes with the loop for the GIL).

- A worker runs its calls one after the other, in the order sent: a pool of one is a queue.
- Workers ignore SIGINT (Ctrl-C reaches the whole process group; the crawler decides how to
  stop) and exit when their socket closes: when the crawler closes them, or dies, even by
  SIGKILL.
- A worker that dies (killed, out of memory, a crash in a C library) fails the calls it
  held with `WorkerDied`; the next call starts a new one.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import signal
import socket
import struct
from collections import deque
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

FRAME = struct.Struct("!I")


class WorkerDied(Exception):
    """The worker process running the call died before answering."""


# Calls written to a worker ahead of its answers: one it runs, one waiting in its socket.
# More would sit in the socket's buffer, written a few KB at a time as the worker reads.
IN_FLIGHT = 2


# A socket buffer that holds the calls in flight whole: a page that does not fit is written
# a piece at a time, each when the event loop next gets round to it, and the worker waits.
# (The kernel caps it at net.core.wmem_max.)
SOCKET_BUFFER = 4 * 1024 * 1024


class Worker:
    def __init__(self, process: BaseProcess, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, done: Callable[[Worker], None]) -> None:  # fmt: skip
        self.process = process
        self.reader = reader
        self.writer = writer
        self.done = done
        self.waiting: deque[asyncio.Future] = deque()
        self.alive = True
        self.closing = False
        self.answers = asyncio.ensure_future(self._read_answers())

    def send(self, function: Callable, args: tuple, kwargs: dict, future: asyncio.Future) -> None:
        data = pickle.dumps((function, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(FRAME.pack(len(data)) + data)
        self.waiting.append(future)

    async def _read_answers(self) -> None:
        try:
            while True:
                size = FRAME.unpack(await self.reader.readexactly(FRAME.size))[0]
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
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
        # spawn, not fork: the crawler has threads (Twisted's), and a fork of a threaded
        # process may inherit a lock that another thread held.
        process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(theirs,), daemon=True
        )
        process.start()
        theirs.close()
        self.started += 1
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        return Worker(process, reader, writer, self._dispatch)


def _serve(sock: socket.socket) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stream = sock.makefile("rwb")
    try:
        while header := stream.read(FRAME.size):
            if len(header) < FRAME.size:
                break
            function, args, kwargs = pickle.loads(stream.read(FRAME.unpack(header)[0]))
            try:
                answer = (False, function(*args, **kwargs))
            except Exception as error:
                answer = (True, error)
            try:
                data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as error:
                data = pickle.dumps((True, RuntimeError(f"unpicklable answer: {error!r}")))
            stream.write(FRAME.pack(len(data)))
            stream.write(data)
            stream.flush()
    except (ConnectionError, OSError):
        pass  # the crawler is gone
