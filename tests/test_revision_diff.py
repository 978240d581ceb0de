"""What changed between two revisions of a brief (`briefs diff`) and a brief as a reader
reads it (`briefs show`), on a small archive whose briefs were crawled again and changed."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import archive
from archive.revision_diff import (
    DELETE,
    EQUAL,
    INSERT,
    PILCROW,
    NoSuchRevision,
    Piece,
    brief_at,
    diff,
    word_diff,
)
from crawler.cli import main
from tests.terminal import run_in_terminal
from tests.test_reading_commands import one_line
from tests.test_search import SAMPLE, SITE, build_archive, capture_for

MEXICO, COLOMBIA = SAMPLE[1], SAMPLE[3]
FEBRUARY, MARCH = "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"
# Revision 2 of the Mexico brief: a new title word, an author and a paragraph more, a tag
# less, an update date, a related brief and a translation.
SECOND = replace(
    MEXICO,
    title="Mexico Disbands State Police",
    authors=["Steven Dudley", "Ana Gómez"],
    tags=["Police Reform"],
    updated="2021-03-05T00:00:00+00:00",
    body="Hundreds of officers were dismissed in Jalisco on Monday.\n\nA paragraph more."
    "\n\nCocaine seizures rose.",
    related=[{"url": f"{SITE}/news/brief/x/", "title": "X Brief", "section": None, "date": None}],
    translations={"es": f"{SITE}/es/noticias/mexico-purga/"},
)
# Revision 3: the new paragraph merged into the first.
THIRD = replace(
    SECOND,
    body="Hundreds of officers were dismissed in Jalisco on Monday. A paragraph more."
    "\n\nCocaine seizures rose.",
)
# Markup in a brief's text is text: the diff page escapes it.
HOSTILE = replace(COLOMBIA, body=COLOMBIA.body + " <script>alert(1)</script> & <b>co</b>")


def revised_archive(path: Path) -> Path:
    """SAMPLE archived at `path`, then the Mexico brief's revisions 2 and 3 and the
    Colombia brief's 2 (HOSTILE)."""
    db = build_archive(path)
    for record, at in ((SECOND, FEBRUARY), (THIRD, MARCH), (HOSTILE, MARCH)):
        archive.store_capture(db, capture_for(record, at), record)
    db.close()
    return path


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return revised_archive(tmp_path_factory.mktemp("revisions") / "archive.sqlite")


@pytest.fixture
def db(db_path):
    source = archive.connect(db_path, readonly=True)
    yield source
    source.close()


def briefs(*args: object):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_word_diff_marks_words_and_paragraphs():
    assert word_diff("a b c", "a x c") == (
        (Piece(EQUAL, "a"), Piece(DELETE, "b"), Piece(INSERT, "x"), Piece(EQUAL, "c")),
    )
    # A paragraph added between two: a paragraph of its own, all inserted.
    assert word_diff("one.\n\ntwo.", "one.\n\nnew here.\n\ntwo.") == (
        (Piece(EQUAL, "one."),),
        (Piece(INSERT, "new here."),),
        (Piece(EQUAL, "two."),),
    )
    # Two paragraphs merged, and split again: the break alone is what changed.
    assert word_diff("one.\n\ntwo.", "one. two.") == (
        (Piece(EQUAL, "one."), Piece(DELETE, PILCROW), Piece(EQUAL, "two.")),
    )
    assert word_diff("one. two.", "one.\n\ntwo.") == (
        (Piece(EQUAL, "one."), Piece(INSERT, PILCROW)),
        (Piece(EQUAL, "two."),),
    )
    # Whitespace within a paragraph is not a change.
    assert word_diff("a  b\nc", "a b c") == ((Piece(EQUAL, "a b c"),),)


def test_the_latest_change_by_default_each_field_that_changed_and_the_body(db):
    first = diff(db, MEXICO.url, 1)
    assert (first.old.number, first.new.number) == (1, 3)
    assert (first.old.seen_at, first.new.seen_at) == ("2026-01-01T00:00:00+00:00", MARCH)
    changes = {change.name: change for change in first.fields}
    assert list(changes) == ["title", "updated", "authors", "tags", "translations", "related"]
    assert changes["title"].pieces == (
        Piece(EQUAL, "Mexico"),
        Piece(DELETE, "Purges"),
        Piece(INSERT, "Disbands"),
        Piece(EQUAL, "State Police"),
    )
    assert changes["authors"].pieces == (Piece(EQUAL, "Steven Dudley"), Piece(INSERT, "Ana Gómez"))
    assert changes["tags"].pieces == (Piece(EQUAL, "Police Reform"), Piece(DELETE, "Corruption"))
    assert changes["related"].pieces == (Piece(INSERT, f"X Brief <{SITE}/news/brief/x/>"),)
    assert (changes["updated"].old, changes["updated"].new) == (None, SECOND.updated)
    assert first.body[0] == (
        Piece(EQUAL, "Hundreds of"),
        Piece(DELETE, "police"),
        Piece(EQUAL, "officers were dismissed in"),
        Piece(DELETE, "Jalisco."),
        Piece(INSERT, "Jalisco on Monday. A paragraph more."),
    )
    assert first.body[1] == (Piece(EQUAL, "Cocaine seizures rose."),)
    latest = diff(db, MEXICO.url)
    assert (latest.old.number, latest.new.number, latest.fields) == (2, 3, ())
    assert diff(db, MEXICO.url, new=2).old.number == 1
    backwards = diff(db, MEXICO.url, 3, 1)
    assert backwards.fields[0].pieces[1:3] == (Piece(DELETE, "Disbands"), Piece(INSERT, "Purges"))


def test_what_cannot_be_compared_says_why(db):
    for args, words in (
        ((SAMPLE[0].url,), "has one revision (first seen 2026-01-01T00:00:00+00:00)"),
        ((f"{SITE}/news/brief/nothing-here/",), "the archive has no brief at"),
        ((MEXICO.url, 4), "has no revision 4 (it has revisions 1 to 3)"),
        ((MEXICO.url, None, 9), "has no revision 9"),
        ((MEXICO.url, None, 1), "revision 1 is the first of"),
        ((MEXICO.url, 2, 2), "revision 2 against itself"),
    ):
        with pytest.raises(NoSuchRevision, match=re.escape(words)):
            diff(db, *args)


def test_a_url_as_a_browser_shows_it_finds_the_brief(db):
    pasted = MEXICO.url.replace("https://", "http://").rstrip("/") + "?utm_source=feed"
    assert brief_at(db, pasted).revision.url == MEXICO.url
    assert diff(db, pasted).url == MEXICO.url


def test_briefs_diff_prints_a_word_diff(db_path):
    result = briefs("diff", MEXICO.url, "--db", db_path, "--from", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        f"diff {MEXICO.url}",
        "--- revision 1, first seen 2026-01-01T00:00:00+00:00 (crawl): Mexico Purges State Police",
        f"+++ revision 3, first seen {MARCH} (crawl): Mexico Disbands State Police",
    ]
    assert "title:        Mexico [-Purges-]{+Disbands+} State Police" in lines
    assert "authors:      Steven Dudley, {+Ana Gómez+}" in lines
    assert "tags:         Police Reform, [-Corruption-]" in lines
    assert "updated:      {+2021-03-05T00:00:00+00:00+}" in lines
    body = lines[lines.index("body:") + 1 :]
    assert body == [
        "Hundreds of [-police-] officers were dismissed in [-Jalisco.-]"
        "{+Jalisco on Monday. A paragraph more.+}",
        "  … 1 unchanged paragraph",
    ]
    assert "\x1b[" not in result.stdout  # no colour but on a terminal
    merged = briefs("diff", MEXICO.url, "--db", db_path).stdout
    assert "Monday. [-¶-] A paragraph more." in merged


def test_briefs_diff_is_coloured_on_a_terminal(db_path):
    status, output = run_in_terminal(
        [sys.executable, "-m", "crawler", "diff", MEXICO.url, "--db", str(db_path), "--from", "1"]
    )
    assert status == 0, output
    assert "\x1b[31m[-Purges-]\x1b[0m\x1b[32m{+Disbands+}\x1b[0m" in output


def test_briefs_diff_as_json(db_path):
    result = briefs("diff", MEXICO.url, "--db", db_path, "--to", "2", "--format", "json")
    changes = json.loads(result.stdout)
    assert changes["url"] == MEXICO.url
    assert (changes["from"]["revision"], changes["to"]["revision"]) == (1, 2)
    assert changes["to"]["seen_at"] == FEBRUARY and changes["to"]["made_by"] == "crawl"
    title = changes["fields"][0]
    assert (title["field"], title["from"], title["to"]) == ("title", MEXICO.title, SECOND.title)
    assert {"change": "insert", "text": "Disbands"} in title["changes"]
    assert (changes["body"]["from"], changes["body"]["to"]) == (MEXICO.body, SECOND.body)
    assert changes["body"]["paragraphs"][1] == [{"change": "insert", "text": "A paragraph more."}]


def test_what_cannot_be_compared_is_one_line_and_exit_2(db_path):
    for args, words in (
        ((SAMPLE[0].url,), "nothing to compare"),
        ((f"{SITE}/news/brief/nothing-here/",), "no brief at"),
        ((MEXICO.url, "--from", "7"), "has no revision 7"),
        ((MEXICO.url, "--to", "0"), "--to"),
    ):
        one_line(briefs("diff", *args, "--db", db_path), 2, *words)
    one_line(briefs("show", MEXICO.url, "--revision", "4", "--db", db_path), 2, "no revision 4")
    one_line(briefs("show", MEXICO.url, "--db", db_path.parent / "none.sqlite"), 2, "no archive")


def test_briefs_show_prints_the_brief_as_a_reader_reads_it(db_path):
    result = briefs("show", MEXICO.url, "--db", db_path, "--width", "40")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        THIRD.title,
        "=" * len(THIRD.title),
        "2021-03-01 (updated 2021-03-05) · Mexico",
        "en",
    ]
    assert "Countries:   Mexico (MX)" in lines and "Tags:        Police Reform" in lines
    assert "Authors:     Steven Dudley, Ana Gómez" in lines
    assert f"URL:         {MEXICO.url}" in lines  # a URL is never broken
    assert "Revision:    3 of 3, first seen" in lines
    text = "\n".join(lines)
    assert f"es {SITE}/es/noticias/mexico-purga/" in " ".join(text.split())
    assert (
        "\n\nHundreds of officers were dismissed in\nJalisco on Monday. A paragraph more.\n\n"
        in text
    )
    assert text.endswith(f"Related:\n  - X Brief\n    {SITE}/news/brief/x/")
    assert max(len(line) for line in lines if "://" not in line) <= 40
    first = briefs("show", MEXICO.url, "--db", db_path, "--revision", "1").stdout
    assert first.startswith(MEXICO.title) and "Revision:    1 of 3" in first


def test_briefs_show_wraps_to_the_terminal(db_path):
    result = CliRunner().invoke(
        main, ["show", COLOMBIA.url, "--db", str(db_path)], env={"COLUMNS": "30"}
    )
    body = result.stdout.split("\n\n")[1]
    assert body.splitlines()[0] == "Negotiators left Caracas" and "Related" not in result.stdout


def test_briefs_show_as_json_is_the_exported_record(db_path):
    exported = briefs("export", "--db", db_path, "--format", "jsonl").stdout.splitlines()
    record = next(json.loads(line) for line in exported if MEXICO.url in line)
    shown = json.loads(briefs("show", MEXICO.url, "--db", db_path, "--format", "json").stdout)
    assert shown == {**record, "revision_seen_at": MARCH, "revisions": 3}
    assert list(shown)[: len(record)] == list(record)
    old = json.loads(
        briefs("show", MEXICO.url, "--db", db_path, "--revision", "1", "--format", "json").stdout
    )
    assert (old["title"], old["body"], old["revision"]) == (MEXICO.title, MEXICO.body, 1)
    assert old["content_hash"] == MEXICO.content_hash and old["revision_seen_at"] < MARCH
