"""A `briefs` command for a shell that runs many of them (the README's examples): each starts
in milliseconds rather than the half second its imports take.

One process (`python -m tests.fast_briefs SOCKET`) imports crawler.cli once, then forks a
child for each command a client sends it. The client (CLIENT, a few lines of Python run
with -I -S) passes its standard input, output and error themselves (SCM_RIGHTS), its folder,
environment and arguments; the child takes them and runs `briefs` as the console script does
(crawler.cli:main), to its exit: Python's own flush of standard output at exit included, so
that a closed pipe or a full disk meets the command exactly as it would the real one. The
exit status goes back to the client, which exits with it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

PRELOADED = (
    "crawler.cli",
    "archive.fixity",
    "archive.reclean",
    "crawler.saved",
    "cleaning",
    "wacz.main",
)
CLIENT = """
import json, os, socket, sys
conn = socket.socket(socket.AF_UNIX)
conn.connect(os.environ["FAST_BRIEFS_SOCKET"])
request = {"args": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}
socket.send_fds(conn, [json.dumps(request).encode() + b"\\n"], [0, 1, 2])
status = conn.makefile().readline()
sys.exit(int(status or 70))
"""


def _serve(path: str) -> list[str]:
    """Answer clients at `path`, one command at a time; returns only in a child, with the
    arguments of the command it is to run."""
    # Imported once, for every child: the program, and what its commands import as they run.
    for module in PRELOADED:
        importlib.import_module(module)

    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    while True:
        conn, _ = listener.accept()
        message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
        request = json.loads(message)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            listener.close()
            conn.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            return request["args"]
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        conn.sendall(f"{code if code >= 0 else 128 - code}\n".encode())
        conn.close()


@contextlib.contextmanager
def fast_briefs(folder: Path) -> Iterator[dict[str, str]]:
    """The server, at a socket in `folder`, for the block; yields the environment a shell
    needs to call it (FAST_BRIEFS_SOCKET, and BASH_ENV defining the `briefs` function)."""
    path = folder / "briefs.socket"
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo)}
    server = subprocess.Popen([sys.executable, "-m", "tests.fast_briefs", str(path)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not path.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the fast briefs server did not start")
            time.sleep(0.01)
        client = folder / "briefs-client.py"
        client.write_text(CLIENT)
        functions = folder / "briefs-functions.sh"
        functions.write_text(f'briefs() {{ "{sys.executable}" -I -S "{client}" "$@"; }}\n')
        yield {**env, "FAST_BRIEFS_SOCKET": str(path), "BASH_ENV": str(functions)}
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    sys.argv = ["briefs", *_serve(sys.argv[1])]
    from crawler.cli import main

    main()
