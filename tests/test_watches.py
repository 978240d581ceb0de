"""Saved searches (`briefs watch`): kept in the archive, each run printing the briefs first
seen since the last, once each, whatever fails or runs beside it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest
from click.testing import CliRunner

import archive
from archive.schema import SCHEMA_VERSION
from archive.watches import (
    CHUNK,
    WatchError,
    add_watch,
    get_watch,
    list_watches,
    run_watches,
)
from crawler.cli import main
from tests.test_reading_commands import one_line
from tests.test_search import MEXICO_ES, SAMPLE, SITE, brief, build_archive, capture_for

LATER = "2026-02-01T00:00:00+00:00"
# Briefs that arrive after the watches are made: two about Mexican cocaine (one of each
# edition), one about Peru, and one first seen in 2020 but stored only now (a re-clean that
# finds a brief in a page it could not read before).
ARRIVALS = [
    brief(
        "mexico-cocaine-labs",
        title="Mexico Finds Cocaine Labs",
        published="2026-01-20T09:00:00+00:00",
        countries=["Mexico"],
        country_codes=["MX"],
        tags=["Cocaine"],
        body="Soldiers found three cocaine labs in Sinaloa.",
    ),
    replace(MEXICO_ES, tags=["Cocaine"], body="La policía halló cocaína en Manzanillo."),
    brief("peru-elections", countries=["Peru"], country_codes=["PE"], body="Peru votes."),
]
LATE_OLD = brief(
    "old-mexico-cocaine-route",
    countries=["Mexico"],
    country_codes=["MX"],
    body="An old cocaine route.",
)


def briefs(*args: object, **kwargs):
    return CliRunner().invoke(main, [str(arg) for arg in args], **kwargs)


def arrive(db, records, at: str = LATER) -> None:
    for record in records:
        archive.store_capture(db, capture_for(record, at), record)


@pytest.fixture
def path(tmp_path):
    build_archive(tmp_path / "a.sqlite").close()
    return tmp_path / "a.sqlite"


@pytest.fixture
def db(path):
    database = archive.connect(path)
    yield database
    database.close()


def slugs(hits) -> list[str]:
    return [hit.url.rsplit("/", 2)[1] for hit in hits]


# The new briefs searched apart all at once, and one at a time.
@pytest.mark.parametrize("chunk", [CHUNK, 1])
def test_a_run_reports_what_arrived_since_the_last_once(db, chunk):
    add_watch(db, "mx-cocaine", "cocaine", {"country": ["Mexico"]})
    add_watch(db, "peru", "peru")
    # Made now: what the archive held before is not news.
    assert [(run.watch.name, run.hits) for run in run_watches(db, chunk=chunk)] == [
        ("mx-cocaine", []),
        ("peru", []),
    ]
    arrive(db, ARRIVALS)
    arrive(db, [LATE_OLD], at="2020-05-01T00:00:00+00:00")
    arrive(db, [replace(SAMPLE[1], body="Cocaine again, in Mexico.")])  # changed, not new
    runs = {run.watch.name: slugs(run.hits) for run in run_watches(db, chunk=chunk)}
    # Newest first, both editions of Mexico; the late brief whatever its first_seen says.
    assert runs == {
        "mx-cocaine": [
            "mexico-cocaine-labs",
            "mexico-purga-a-la-policia-estatal",
            "old-mexico-cocaine-route",
        ],
        "peru": ["peru-elections"],
    }
    assert [run.hits for run in run_watches(db, chunk=chunk)] == [[], []]
    watch = get_watch(db, "peru")
    assert watch.last_run is not None and watch.cursor == len(SAMPLE) + len(ARRIVALS) + 1


def test_one_watch_runs_alone(db):
    add_watch(db, "mx-cocaine", "cocaine", {"country": "MX"})
    add_watch(db, "peru", "peru")
    arrive(db, ARRIVALS)
    assert [slugs(run.hits) for run in run_watches(db, ["peru", "peru"])] == [["peru-elections"]]
    assert slugs(run_watches(db, ["mx-cocaine", "peru"])[0].hits)[0] == "mexico-cocaine-labs"


def test_a_run_that_fails_moves_nothing_on(db):
    add_watch(db, "cocaine", "cocaine")
    arrive(db, ARRIVALS[:1])

    def fails(_run):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        run_watches(db, deliver=fails)
    assert slugs(run_watches(db)[0].hits) == ["mexico-cocaine-labs"]
    assert run_watches(db)[0].hits == []


def test_two_runs_at_once_report_each_brief_once(path):
    with archive.connect(path) as first:
        add_watch(first, "cocaine", "cocaine")
        arrive(first, ARRIVALS)
    delivered = {}
    delivering = threading.Event()
    release = threading.Event()

    def slow(run):
        delivering.set()
        assert release.wait(10)

    def run(name, deliver):
        with archive.connect(path) as db:
            delivered[name] = slugs(run_watches(db, deliver=deliver)[0].hits)

    one = threading.Thread(target=run, args=("one", slow))
    other = threading.Thread(target=run, args=("other", lambda _run: None))
    one.start()
    assert delivering.wait(10)
    other.start()
    time.sleep(0.3)  # the other run waits for the archive, its cursor not read yet
    assert "other" not in delivered
    release.set()
    one.join(10)
    other.join(10)
    assert delivered == {"one": ["mexico-cocaine-labs", "mexico-purga-a-la-policia-estatal"],
                         "other": []}  # fmt: skip


def test_what_is_not_a_watch_is_refused(db):
    add_watch(db, "cocaine", "cocaine", {"tag": "Cocaine", "language": "en", "since": "2020"})
    for name, query, filters, words in (
        ("cocaine", "cocaine", {}, "there is a watch called 'cocaine' already"),
        ("two words", "x", {}, "a watch's name is letters"),
        ("../x", "x", {}, "a watch's name is letters"),
        ("new", "police AND", {}, "not a valid search query"),
        ("new", "x", {"country": ["Narnia"]}, "no country is called 'Narnia'"),
        ("new", "x", {"colour": ["red"]}, "a watch has no filter 'colour'"),
    ):
        with pytest.raises(WatchError, match=words):
            add_watch(db, name, query, filters)
    with pytest.raises(WatchError, match=r"no watch called 'nope' \(the watches are cocaine\)"):
        run_watches(db, ["nope"])
    assert [watch.filters for watch in list_watches(db)] == [
        {"tag": ["Cocaine"], "language": ["en"], "since": "2020"}
    ]


def test_the_watch_commands(path):
    db = str(path)
    added = briefs(
        "watch", "add", "mx", "cocaine port*", "--country", "México", "--country", "Peru",
        "--tag", "Cocaine", "--lang", "es", "--db", db,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "watch mx saved: 'cocaine port*' --country MX --country PE" in added.stderr
    assert briefs("watch", "add", "all", "cocaine", "--db", db).exit_code == 0
    listed = briefs("watch", "list", "--db", db)
    assert listed.stdout.splitlines()[0].split() == ["name", "search", "created", "last_run"]
    assert "'cocaine port*' --country MX --country PE --tag Cocaine --lang es" in listed.stdout
    as_json = json.loads(briefs("watch", "list", "--db", db, "--format", "json").stdout)
    assert [watch["name"] for watch in as_json] == ["all", "mx"]
    assert as_json[1]["filters"] == {
        "country": ["MX", "PE"],
        "tag": ["Cocaine"],
        "language": ["es"],
    }
    assert as_json[1]["last_run"] is None
    quiet = briefs("watch", "run", "--db", db)
    assert (quiet.exit_code, quiet.stdout) == (0, "")  # nothing new: nothing for cron to mail
    with archive.connect(path) as target:
        arrive(target, ARRIVALS)
    table = briefs("watch", "run", "--db", db)
    assert table.exit_code == 0, table.output
    assert table.stdout.startswith("watch all: 2 new briefs (cocaine)\n\n  1. Mexico Finds")
    assert "watch mx" not in table.stdout  # a Spanish brief about a port, but no Cocaine tag
    assert briefs("watch", "run", "--db", db).stdout == ""
    assert briefs("watch", "rm", "all", "--db", db).exit_code == 0
    assert [watch.name for watch in list_watches(archive.connect(path))] == ["mx"]


def test_watch_run_as_json_lines(path):
    briefs("watch", "add", "cocaine", "cocaine", "--db", path)
    with archive.connect(path) as target:
        arrive(target, ARRIVALS)
    lines = briefs("watch", "run", "--db", path, "--format", "jsonl").stdout.splitlines()
    hits = [json.loads(line) for line in lines]
    assert [hit["watch"] for hit in hits] == ["cocaine", "cocaine"]
    assert hits[0]["url"] == f"{SITE}/news/brief/mexico-cocaine-labs/"
    assert "[cocaine]" in hits[0]["snippet"] and hits[0]["first_seen"] == LATER


def test_wrong_usage_is_one_line_and_exit_2(path):
    for args, words in (
        (("add", "x", "police AND"), "not a valid search query"),
        (("add", "x", "y", "--country", "Narnia"), "no country is called"),
        (("add", "x y", "y"), "a watch's name is letters"),
        (("rm", "nope"), "there is no watch called 'nope' (there is no watch yet)"),
        (("run", "nope"), "there is no watch called 'nope'"),
    ):
        one_line(briefs("watch", *args, "--db", path), 2, *words)
    one_line(briefs("watch", "run", "--db", path.parent / "none.sqlite"), 2, "no archive")
    assert not (path.parent / "none.sqlite").exists()


def test_output_that_cannot_be_written_reports_the_same_briefs_next_time(path):
    briefs("watch", "add", "cocaine", "cocaine", "--db", path)
    with archive.connect(path) as target:
        arrive(target, ARRIVALS[:1])
    command = [sys.executable, "-m", "crawler", "watch", "run", "--db", str(path)]
    with open("/dev/full", "w") as full:
        failed = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert (failed.returncode, failed.stderr) == (
        3,
        "error: cannot write the output: No space left on device\n",
    )
    assert "Mexico Finds Cocaine Labs" in briefs("watch", "run", "--db", path).stdout


def test_an_archive_made_before_watches_gains_them(tmp_path):
    path = tmp_path / "old.sqlite"
    build_archive(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE watches")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    one_line(briefs("watch", "list", "--db", path), 3, "run `briefs reclean`")  # read-only
    assert briefs("watch", "add", "x", "cocaine", "--db", path).exit_code == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [watch.name for watch in list_watches(archive.connect(path))] == ["x"]
