"""Running a command on a pseudo-terminal, as a person at a shell would."""

from __future__ import annotations

import os
import pty
import subprocess


def run_in_terminal(command: list[str], timeout: float = 120) -> tuple[int, str]:
    """The exit status and everything the command wrote to its terminal."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        command, stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the command closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return process.wait(timeout=timeout), output.decode(errors="replace")
