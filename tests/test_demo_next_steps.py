"""`briefs demo` ends by suggesting what to run on the archive it made: a search, Datasette,
an export, sqlite3, a crawl of the live site. Each suggestion runs as printed (but the crawl
and the server, tests/test_readme_examples.NOT_RUN)."""

from __future__ import annotations

import os
import subprocess
import sys

from crawler.demo_server import _Handler, _Server
from tests.fast_briefs import fast_briefs
from tests.test_readme_examples import REPO, left_out


def test_the_demo_suggests_a_search_and_datasette_and_each_suggestion_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "demo", "--db", "demo.sqlite"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, "")
    suggestions = result.stdout.split("\nNext:\n", 1)[1].splitlines()
    commands = [line.split("#", 1)[0].strip() for line in suggestions]
    assert [command.split()[:2] for command in commands] == [
        ["briefs", "search"],
        ["briefs", "serve"],
        ["briefs", "export"],
        ["sqlite3", "demo.sqlite"],
        ["briefs", "crawl"],
    ]
    assert "--db demo.sqlite" in commands[1]
    with fast_briefs(tmp_path) as env:
        for command in commands:
            if left_out(command):
                continue
            ran = subprocess.run(
                ["bash", "-c", f"set -o pipefail; {command}"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert ran.returncode == 0 and ran.stdout.strip(), (command, ran.stderr)
            # (briefs search says on standard error how many match.)
            assert ran.stderr in ("", "5 briefs match\n"), (command, ran.stderr)
            if command.startswith("briefs search"):
                assert "MS13" in ran.stdout


def test_a_connection_the_crawler_resets_is_no_error_of_the_demo_site(capsys):
    with _Server(("127.0.0.1", 0), _Handler) as server:
        for error in (ConnectionResetError(104, "Connection reset by peer"), ValueError("bug")):
            try:
                raise error
            except Exception:
                server.handle_error(None, ("127.0.0.1", 1))
    printed = capsys.readouterr().err
    assert "ValueError: bug" in printed and "ConnectionResetError" not in printed
