"""`briefs demo` ends by suggesting what to run on the archive it made: a search, Datasette,
an export, sqlite3, a crawl of the live site. Each suggestion runs as printed (but the crawl
and the server, tests/test_readme_examples.NOT_RUN)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

from crawler.demo_server import serve_demo_site
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


def test_the_demo_site_closes_each_connection_saying_so():
    # An HTTP/1.0 answer that does not say it closes leaves Scrapy's HTTP/1.1 client keeping
    # the connection, and the request it sends next on it waits out the download timeout.
    with serve_demo_site() as site:
        for path in ("/robots.txt", "/news/brief/", "/post-sitemap.xml"):
            with urllib.request.urlopen(site + path, timeout=10) as response:
                assert response.headers["Connection"] == "close", path
