"""Processes as Linux's /proc shows them: who started whom, who is still running; and a
process the tests started, ended.

Used by the tests (worker processes must not outlive a killed crawler) and the benchmarks
(the memory and CPU of a crawler's worker processes)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def stat_fields(pid: int) -> list[str]:
    """State, parent pid, ... of process `pid` (the fields after its command name)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(stat_fields(int(entry.name))[1]) == pid:
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def running(pid: int) -> bool:
    """Process `pid` exists and is not a zombie."""
    try:
        return stat_fields(pid)[0] != "Z"
    except OSError:
        return False


def shared_memory_of(pids: list[int]) -> set[str]:
    """The names of the POSIX shared memory segments (in /dev/shm) the processes map."""
    names = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        for line in maps.splitlines():
            _, found, name = line.partition("/dev/shm/")
            if found:
                names.add(name.split(" ")[0])
    return names


def stop(process: subprocess.Popen) -> None:
    """End `process`: asked to (SIGTERM), then made to (SIGKILL) if it has not within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
