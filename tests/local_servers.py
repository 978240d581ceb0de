"""Servers the tests and benchmarks start on 127.0.0.1: a free port, Debian's redis-server."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(
    folder: Path, timeout: float = 10, *, port: int | None = None, persist: bool = False
) -> tuple[subprocess.Popen, str]:
    """A redis-server (its files in `folder`) answering on `port` (a free one by default),
    and its URL; RuntimeError when it does not answer within `timeout` seconds. With
    `persist`, every write is on disk before it is acknowledged, and a server started again
    on the same folder has it all (a Redis restarted after a crash)."""
    port = port or free_port()
    appendonly = ["yes", "--appendfsync", "always"] if persist else ["no"]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--dir", str(folder), "--appendonly", *appendonly],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return server, f"redis://127.0.0.1:{port}/0"
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
    finally:
        client.close()
