"""Every example of the README that reads an archive runs, as written, against a small one.

The fenced blocks of README.md are read in order: each `sh` block runs in bash (`set -e -o
pipefail`: a command that fails, or a failing command in a pipe, fails the block), in a
folder of its own holding `briefs.sqlite` (tests/test_search.py's analyst_archive: two
crawls, a brief changed by the second) and the saved pages its `briefs clean` examples
name; each `python` block runs in such a folder; each `sql` block runs in sqlite3 against
the archive. `briefs` is crawler.cli, started by tests/fast_briefs.py. The commands listed
in NOT_RUN are left out, each for its reason; every other command of a block runs. Output
blocks (no language) and the crontab line are not commands.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import archive
from archive.formats import Export, write_to_stream
from tests.fast_briefs import fast_briefs
from tests.gold import SAMPLES
from tests.test_search import analyst_archive, brief, build_archive, capture_for

REPO = Path(__file__).resolve().parent.parent
# The README's commands this test does not run (a regular expression on the command), and
# why. Each must match a command of the README (test_every_command_left_out_is_in_the_readme).
NOT_RUN = {
    r"^(briefs|scrapy) crawl\b": "it crawls a site (tests/test_crawl.py and test_cli.py crawl"
    " one on 127.0.0.1)",
    r"^briefs serve\b": "it serves until stopped (tests/test_serve.py serves the archive)",
    r"^briefs demo\b": "it crawls the demo site (tests/test_demo_next_steps.py runs it and what"
    " it suggests)",
    r"^(apt-get|pip) install\b": "it installs software",
    r"^(wacz validate|bagit\.py --validate)\b": "it runs an archive tool on an export"
    " (tests/test_wacz.py and test_snapshots.py do, marked realtool)",
    r"^(redis-server|export BRIEFS_REDIS_URL=|briefs ingest\b)": "it needs a Redis server"
    " (tests/test_distributed.py starts one)",
}
LANGUAGES = ("sh", "python", "sql")


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int  # of its opening fence in README.md

    @property
    def id(self) -> str:
        return f"{self.language}-line-{self.line}"


def readme_blocks() -> list[Block]:
    text = (REPO / "README.md").read_text()
    return [
        Block(match[1], match[2], text.count("\n", 0, match.start()) + 1)
        for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
        if match[1] in LANGUAGES
    ]


def shell_commands(text: str) -> list[str]:
    """The commands of a shell block: a line, or the lines a trailing backslash or an open
    quote joins; comment lines are not commands."""
    commands, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line + "\n"
        if pending.rstrip().endswith("\\"):
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # a quote still open
            continue
        commands.append(pending.strip())
        pending = ""
    assert not pending, f"an unfinished command: {pending!r}"
    return commands


def left_out(command: str) -> str | None:
    """Why `command` is not run (NOT_RUN), or None."""
    return next((why for pattern, why in NOT_RUN.items() if re.search(pattern, command)), None)


@pytest.fixture(scope="module")
def archive_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("readme")
    analyst_archive(folder).close()
    return folder / "a.sqlite"


@pytest.fixture(scope="module")
def briefs_env(tmp_path_factory):
    with fast_briefs(tmp_path_factory.mktemp("fast")) as env:
        yield env


@pytest.fixture
def folder(tmp_path, archive_file) -> Path:
    """A folder of the examples' own: the archive as briefs.sqlite, the saved pages."""
    shutil.copy(archive_file, tmp_path / "briefs.sqlite")
    pages = sorted(SAMPLES.glob("*.html"))
    shutil.copy(pages[0], tmp_path / "saved-page.html")
    (tmp_path / "saved-pages").mkdir()
    for page in pages:
        shutil.copy(page, tmp_path / "saved-pages" / page.name)
    return tmp_path


BLOCKS = readme_blocks()


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_the_readme_example_runs(block, folder, briefs_env):
    if block.language == "sql":
        result = subprocess.run(
            ["sqlite3", "-bail", "briefs.sqlite"],
            input=block.text,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=60,
        )
    elif block.language == "python":
        result = subprocess.run(
            [sys.executable, "-c", block.text],
            cwd=folder,
            env=briefs_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    else:
        commands = [command for command in shell_commands(block.text) if not left_out(command)]
        if not commands:
            reasons = sorted({left_out(command) for command in shell_commands(block.text)})
            pytest.skip(f"README line {block.line}: not run, " + "; ".join(reasons))
        script = "set -e -o pipefail\n" + "\n".join(commands)
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=folder,
            env=briefs_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    problems = [
        line for line in result.stderr.splitlines() if line.startswith(("error:", "Traceback"))
    ]
    assert result.returncode == 0 and not problems, (
        f"README line {block.line}: exit status {result.returncode}\n{result.stderr[-3000:]}"
    )


def test_every_command_left_out_is_in_the_readme():
    commands = [
        command
        for block in BLOCKS
        if block.language == "sh"
        for command in shell_commands(block.text)
    ]
    for pattern in NOT_RUN:
        assert any(re.search(pattern, command) for command in commands), pattern
    # What is run is most of it: the archive's readers, the exports, sqlite3.
    run = [command for command in commands if not left_out(command)]
    assert len(run) > 2 * (len(commands) - len(run))


def test_shell_commands_are_whole_commands():
    text = 'a "x\ny"\n# b\nc \\\n  d\n\ne\n'
    assert shell_commands(text) == ['a "x\ny"', "c \\\n  d", "e"]


@pytest.fixture(scope="module")
def large_archive(tmp_path_factory) -> Path:
    """An archive whose exports are many times a pipe's buffer (64 KiB), so that `| head`
    closes the pipe while they write (pages that do not compress: the WARC's too)."""
    path = tmp_path_factory.mktemp("large") / "briefs.sqlite"
    words = " ".join(f"word{i}" for i in range(500))
    db = build_archive(path, [])
    for i in range(120):
        record = brief(f"brief-{i}", body=words)
        page = f"<html><h1>{record.title}</h1><p>{os.urandom(3000).hex()}</p></html>".encode()
        archive.store_capture(db, capture_for(record, "2026-01-01T00:00:00+00:00", page), record)
    db.close()
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "warc"])
def test_a_reader_that_goes_away_mid_export_ends_it_quietly(large_archive, fmt):
    # The README's `briefs export --format jsonl | head -n 1`, as the console script runs it.
    with archive.connect(large_archive, readonly=True) as db:
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
        write_to_stream(fmt, Export(large_archive, db), out)
        out.flush()
        assert out.buffer.tell() > 4 * 65536
    command = f"{shlex.quote(sys.executable)} -m crawler export --db {large_archive} --format {fmt}"
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -n 1 > /dev/null"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
