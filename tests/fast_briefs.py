"""A `briefs` command for a shell that runs many of them (the README's examples): each starts
in milliseconds rather than the half second its imports take.

One process (`python -m tests.fast_briefs SOCKET`) imports crawler.cli once, then forks a
child for each command a client sends it. The client (CLIENT, a few lines of Python run
with -I -S) passes its standard input, output and error themselves (SCM_RIGHTS), its folder,
environment and arguments; the child takes them and runs `briefs` as the console script does
(crawler.cli:main), and ends as Python would end it (its exit status, standard output
flushed, 120 when that fails), so that a closed pipe or a full disk meets the command as it
would the real one. The exit status goes back to the client, which exits with it.
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
import traceback
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


def _run_as_python_runs_it() -> None:
    """Run `briefs` (crawler.cli:main) and end as Python ends a program: its exit status, a
    traceback and 1 for an exception, standard output flushed (120, said on standard error,
    when it cannot be). But without the interpreter's teardown, which costs a forked child
    0.2 s: it writes to every page of memory it shares with the server."""
    from crawler.cli import main

    try:
        main()
        code = 0
    except SystemExit as end:
        if end.code is None or isinstance(end.code, int):
            code = end.code or 0
        else:
            print(end.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
    except OSError as error:
        print(f"Exception ignored in: {sys.stdout!r}\n{error!r}", file=sys.stderr)
        code = 120
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.argv = ["briefs", *_serve(sys.argv[1])]
    _run_as_python_runs_it()
