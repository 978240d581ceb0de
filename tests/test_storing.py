"""What the archive's one writer does with the messages it is sent (crawler.storing)."""

from __future__ import annotations

import pytest

import archive
from archive import Outcome
from crawler.messages import LastmodNote, Message, Queued
from crawler.storing import store_group
from tests.test_archive import count, make_capture, make_record

OTHER = "https://insightcrime.org/news/brief/another-brief/"


@pytest.fixture
def db(tmp_path):
    database = archive.connect(tmp_path / "a.sqlite")
    yield database
    database.close()


def page(capture: archive.Capture, record=None, frontier_url: str | None = None) -> Message:
    return Message(
        id=None,
        crawl="",
        capture=capture,
        record=record,
        error=None,
        skipped=False,
        extraction_failed=False,
        cleaner_version="1",
        frontier_url=frontier_url,
    )


def test_a_group_of_messages_is_one_commit_and_a_failing_one_is_undone_alone(db):
    results = store_group(
        db,
        [
            Queued(OTHER, 1, "sitemap", "2026-01-01"),
            page(make_capture(), make_record()),
            # No record and no reason: refused, and undone alone.
            page(make_capture(url=OTHER)),
            page(make_capture(url=OTHER), make_record(url=OTHER), frontier_url=OTHER),
            LastmodNote(OTHER, "2026-02-02"),
        ],
        run_id=None,
    )
    assert results[0] is None and results[-1] is None
    assert results[1] is Outcome.NEW and results[3] is Outcome.NEW
    assert isinstance(results[2], ValueError)
    assert not db.conn.in_transaction  # committed
    assert count(db, "captures") == 2 and count(db, "briefs") == 2
    assert db.execute("SELECT state, lastmod FROM frontier").fetchall() == [("done", "2026-02-02")]


def test_a_group_that_raises_whole_leaves_nothing(db):
    with pytest.raises(RuntimeError), archive.transaction(db):
        store_group(db, [Queued(OTHER, 1), page(make_capture(), make_record())], run_id=None)
        raise RuntimeError("after the group, inside the same transaction")
    assert count(db, "captures") == 0 and count(db, "briefs") == 0 and count(db, "frontier") == 0
