"""Archive writes: revisions, dedup by canonical URL, failed captures, schema versioning."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
import subprocess
from dataclasses import replace

import pytest

import archive
from archive import Capture, Outcome
from archive.schema import SCHEMA_VERSION
from cleaning.record import BriefRecord


def make_record(**changes: object) -> BriefRecord:
    record = BriefRecord(
        url="https://insightcrime.org/news/brief/a-brief/",
        title="A Brief",
        language="en",
        published="2021-02-08T02:27:00+00:00",
        summary="First sentence.",
        body="First sentence.\n\nSecond paragraph.",
        section="Prisons",
        countries=["Perú"],
        country_codes=["PE"],
        authors=["Ana"],
        tags=["Prisons"],
        related=[
            {
                "url": "https://insightcrime.org/x/",
                "title": None,
                "section": "PERU",
                "date": "2022-12-06",
            }
        ],
    )
    return replace(record, **changes)


def make_capture(
    url: str = "https://insightcrime.org/news/brief/a-brief/",
    at: str = "2026-01-01T00:00:00+00:00",
    body: bytes = b"<html>page</html>",
    **changes: object,
) -> Capture:
    capture = Capture(
        requested_url=url,
        final_url=url,
        status=200,
        fetched_at=at,
        headers=[
            ("Content-Type", "text/html; charset=UTF-8"),
            ("ETag", '"abc"'),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ],
        body=body,
    )
    return replace(capture, **changes)


@pytest.fixture
def db(tmp_path):
    database = archive.connect(tmp_path / "a.sqlite")
    yield database
    database.close()


def count(db, table: str, where: str = "1") -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}").fetchone()[0]


def test_new_archive_is_wal_and_versioned(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {"briefs", "revisions", "captures", "runs"} <= set(db.table_names())


def test_reopening_does_not_migrate_again(tmp_path):
    archive.connect(tmp_path / "a.sqlite").close()
    conn = sqlite3.connect(tmp_path / "a.sqlite", isolation_level=None)
    assert archive.schema.migrate(conn) == 0


def test_first_capture_is_new_with_revision_one(db):
    outcome = archive.store_capture(db, make_capture(), make_record(), cleaner_version="1")
    assert outcome is Outcome.NEW
    row = db.execute("SELECT revision, first_seen, last_seen, countries FROM briefs").fetchone()
    assert row == (1, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", '["Perú"]')
    assert count(db, "revisions") == 1


def test_unchanged_recapture_moves_last_seen_only(db):
    archive.store_capture(db, make_capture(), make_record())
    later = "2026-02-01T00:00:00+00:00"
    outcome = archive.store_capture(db, make_capture(at=later), make_record())
    assert outcome is Outcome.UNCHANGED
    assert db.execute("SELECT revision, first_seen, last_seen FROM briefs").fetchone() == (
        1,
        "2026-01-01T00:00:00+00:00",
        later,
    )
    assert count(db, "revisions") == 1
    assert count(db, "captures") == 2


def test_changed_content_adds_a_revision(db):
    archive.store_capture(db, make_capture(), make_record())
    edited = make_record(
        body="First sentence.\n\nSecond paragraph.\n\nUpdate: more.",
        updated="2026-02-01T10:00:00+00:00",
    )
    outcome = archive.store_capture(db, make_capture(at="2026-02-02T00:00:00+00:00"), edited)
    assert outcome is Outcome.CHANGED
    assert db.execute("SELECT revision, body, updated FROM briefs").fetchone() == (
        2,
        edited.body,
        edited.updated,
    )
    revisions = db.execute("SELECT revision, content_hash FROM revisions ORDER BY revision")
    assert [tuple(r) for r in revisions] == [
        (1, make_record().content_hash),
        (2, edited.content_hash),
    ]


def test_url_variants_of_one_brief_are_one_row(db):
    for url in (
        "https://insightcrime.org/news/brief/a-brief/?utm_source=rss",
        "http://insightcrime.org/news/brief/a-brief",
        "https://insightcrime.org/news/brief/a-brief/",
    ):
        archive.store_capture(db, make_capture(url=url), make_record())
    assert count(db, "briefs") == 1
    assert count(db, "captures", "brief_url = 'https://insightcrime.org/news/brief/a-brief/'") == 3


def test_capture_keeps_exact_bytes_and_headers(db):
    body = "<html>Perú \x00 bytes</html>".encode() + bytes(range(256))
    archive.store_capture(db, make_capture(body=body), make_record())
    row = db.execute(
        "SELECT body_gzip, body_sha256, body_length, headers, etag, status, "
        "requested_url, final_url FROM captures"
    ).fetchone()
    assert archive.decompress_body(row[0]) == body
    assert row[2] == len(body)
    assert row[1] == hashlib.sha256(body).hexdigest()
    assert json.loads(row[3])[-2:] == [["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]]
    assert row[4] == '"abc"' and row[5] == 200


def test_stored_pages_are_plain_gzip_the_same_bytes_every_time(db, tmp_path):
    body = "<html><p>Perú</p></html>".encode() * 5000
    blob = Capture("u", "t", body=body).body_gzip()
    assert blob == Capture("u", "t", body=body).body_gzip()  # no time stamp, no randomness
    assert gzip.decompress(blob) == body  # the standard library's gzip
    (tmp_path / "page.html.gz").write_bytes(blob)
    unpacked = subprocess.run(
        ["gzip", "-dc", str(tmp_path / "page.html.gz")], capture_output=True, check=True
    )
    assert unpacked.stdout == body  # and the gzip command
    assert len(blob) < len(body) / 20


def test_failed_capture_never_becomes_a_brief(db):
    outcome = archive.store_capture(
        db,
        make_capture(status=500, body=b"oops"),
        error="http_500: the server answered 500 for good",
    )
    assert outcome is Outcome.FAILED
    assert count(db, "briefs") == 0
    assert db.execute("SELECT outcome, error, brief_url FROM captures").fetchone() == (
        "failed",
        "http_500: the server answered 500 for good",
        None,
    )


def test_failed_capture_needs_a_reason(db):
    with pytest.raises(ValueError):
        archive.store_capture(db, make_capture())
    assert count(db, "captures") == 0


def test_a_failing_write_leaves_nothing_half_written(db, monkeypatch):
    archive.store_capture(db, make_capture(), make_record())

    def broken(*_args, **_kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    # The revision insert comes after the capture and brief writes: all must roll back.
    monkeypatch.setattr(archive.store, "canonical_json", broken)
    with pytest.raises(sqlite3.OperationalError):
        archive.store_capture(
            db, make_capture(at="2026-03-01T00:00:00+00:00"), make_record(title="Edited")
        )
    assert count(db, "captures") == 1
    assert db.execute("SELECT revision, title FROM briefs").fetchone() == (1, "A Brief")


def test_skipped_page_is_kept_without_body(db):
    outcome = archive.store_capture(db, make_capture(), error="not_a_brief: analysis", skipped=True)
    assert outcome is Outcome.SKIPPED
    assert db.execute("SELECT body_gzip, body_sha256 IS NOT NULL FROM captures").fetchone() == (
        None,
        1,
    )


def test_run_ledger(db):
    run_id = archive.start_run(db, "https://insightcrime.org", {"db": "x"})
    archive.store_capture(db, make_capture(), make_record(), run_id=run_id)
    archive.finish_run(db, run_id, status="ok", counts={"fetched": 1, "new": 1})
    row = db.execute(
        "SELECT status, fetched, new, failed, finished_at IS NOT NULL FROM runs"
    ).fetchone()
    assert row == ("ok", 1, 1, 0, 1)
    assert count(db, "captures", f"run_id = {run_id}") == 1


def test_export_jsonl_gives_record_fields(db):
    archive.store_capture(db, make_capture(), make_record())
    out = io.StringIO()
    assert archive.write_jsonl(db, out) == 1
    record = json.loads(out.getvalue())
    assert list(record) == list(archive.schema.RECORD_FIELDS)
    assert record["countries"] == ["Perú"] and record["related"][0]["section"] == "PERU"
    assert record["section"] == "Prisons" and record["country_codes"] == ["PE"]
    assert record["content_hash"] == make_record().content_hash
    assert record["revision"] == 1 and record["kind"] == "brief"


def test_readonly_open_refuses_missing_and_newer_archives(tmp_path):
    with pytest.raises(archive.ArchiveError, match="no archive"):
        archive.connect(tmp_path / "missing.sqlite", readonly=True)
    conn = sqlite3.connect(tmp_path / "new.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(archive.ArchiveError, match="schema version"):
        archive.connect(tmp_path / "new.sqlite")


def test_unwritable_location_is_a_clear_error(tmp_path):
    with pytest.raises(archive.ArchiveError, match="cannot open"):
        archive.connect(tmp_path / "no-such-dir" / "a.sqlite")


def test_a_page_older_than_the_briefs_current_one_is_stale_not_applied(db):
    archive.store_capture(
        db, make_capture(at="2026-03-01T00:00:00+00:00"), make_record(title="New")
    )
    # Fetched earlier, stored later (a distributed crawl's message that waited).
    older = make_capture(at="2026-02-01T00:00:00+00:00")
    assert archive.store_capture(db, older, make_record(title="Old")) is Outcome.STALE
    assert db.execute("SELECT title, revision, last_seen FROM briefs").fetchone() == (
        "New",
        1,
        "2026-03-01T00:00:00+00:00",
    )
    assert db.execute("SELECT outcome, brief_url FROM captures ORDER BY id").fetchall() == [
        ("new", make_record().url),
        ("stale", make_record().url),
    ]
    assert count(db, "revisions") == 1
    # Fetched in the same second as the current one: stored after it, so it is the newer.
    same = make_capture(at="2026-03-01T00:00:00+00:00")
    assert archive.store_capture(db, same, make_record(title="Newer")) is Outcome.CHANGED


def test_an_alias_is_kept_whole_and_writes_no_brief(db):
    canonical = make_record().url
    old_slug = make_capture(url="https://insightcrime.org/news/brief/old-slug/")
    outcome = archive.store_capture(db, old_slug, canonical_url=canonical, frontier_url=None)
    assert outcome is Outcome.ALIAS
    assert count(db, "briefs") == 0
    row = db.execute(
        "SELECT outcome, brief_url, canonical_url, body_gzip IS NOT NULL FROM captures"
    ).fetchone()
    assert row == ("alias", None, canonical, 1)
    # Asked for again conditionally, it answers 304: still an alias of the same URL.
    assert archive.frontier.validators(db, old_slug.requested_url) == ('"abc"', None)
    not_modified = make_capture(url=old_slug.requested_url, status=304, body=None)
    assert archive.store_capture(db, not_modified) is Outcome.ALIAS
    assert db.execute("SELECT canonical_url FROM captures WHERE status = 304").fetchone() == (
        canonical,
    )
    with pytest.raises(ValueError):
        archive.store_capture(db, make_capture(), make_record(), canonical_url=canonical)


def test_migration_5_remakes_captures_keeping_every_row_and_reference(tmp_path):
    from archive.schema import MIGRATIONS, _statements

    path = tmp_path / "v4.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:4]:
        for statement in _statements(migration):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.close()
    # Rows written by the release before: a brief, its capture and revision, a failed fetch.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "INSERT INTO captures (id, requested_url, fetched_at, brief_url, outcome, body_gzip,"
        " message_id, error) VALUES (7, 'u', '2020-01-01', 'u', 'new', x'00', 'm1', NULL),"
        " (9, 'v', '2020-01-02', NULL, 'failed', NULL, NULL, 'http_500')"
    )
    conn.execute(
        "INSERT INTO briefs (url, title, kind, language, countries, published, authors, tags,"
        " summary, body, related, translations, content_hash, revision, first_seen, last_seen,"
        " cleaner_version, capture_id) VALUES ('u', 'T', 'brief', 'en', '[]', '2020-01-01',"
        " '[]', '[]', '', 'b', '[]', '{}', 'h', 1, '2020-01-01', '2020-01-01', '1', 7)"
    )
    conn.execute(
        "INSERT INTO revisions (url, revision, content_hash, record, cleaner_version,"
        " capture_id, seen_at) VALUES ('u', 1, 'h', '{}', '1', 7, '2020-01-01')"
    )
    conn.close()
    db = archive.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT id, outcome, message_id, canonical_url FROM captures").fetchall() == [
        (7, "new", "m1", None),
        (9, "failed", None, None),
    ]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert {row[1] for row in db.execute("PRAGMA index_list(captures)")} >= {
        "captures_brief_url",
        "captures_requested_url",
        "captures_run_id",
        "captures_message_id",
    }
    # The new outcomes are accepted, an alias needs the URL it names.
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO captures (requested_url, fetched_at, outcome) VALUES ('w', 'x', 'alias')"
        )


def test_every_write_of_a_record_stores_section_and_country_codes(db):
    archive.store_capture(db, make_capture(), make_record())
    moved = make_record(section="Peru", countries=["Perú", "Chile"], country_codes=["PE", "CL"])
    archive.store_capture(db, make_capture(at="2026-02-01T00:00:00+00:00"), moved)
    assert db.execute("SELECT section, countries, country_codes FROM briefs").fetchone() == (
        "Peru",
        '["Perú","Chile"]',
        '["PE","CL"]',
    )
    # Each revision keeps the whole record it was: the section (a content field: a new
    # section is a new revision) and the codes its countries had.
    records = [
        json.loads(record)
        for (record,) in db.execute("SELECT record FROM revisions ORDER BY revision")
    ]
    assert [(r["section"], r["countries"], r["country_codes"]) for r in records] == [
        ("Prisons", ["Perú"], ["PE"]),
        ("Peru", ["Perú", "Chile"], ["PE", "CL"]),
    ]
    unsectioned = replace(moved, section=None)
    later = make_capture(at="2026-03-01T00:00:00+00:00")
    assert archive.store_capture(db, later, unsectioned) is Outcome.CHANGED
    assert db.execute("SELECT section, revision FROM briefs").fetchone() == (None, 3)


def test_codes_a_cleaner_gives_anew_for_the_same_content_need_no_revision(db):
    archive.store_capture(db, make_capture(), make_record(country_codes=[]))
    # The same content (country_codes is not in the hash), codes a newer gazetteer knows.
    later = make_capture(at="2026-02-01T00:00:00+00:00")
    assert archive.store_capture(db, later, make_record()) is Outcome.UNCHANGED
    assert db.execute("SELECT country_codes, revision FROM briefs").fetchone() == ('["PE"]', 1)
    assert count(db, "revisions") == 1
    assert db.execute(
        "SELECT country_code FROM brief_countries WHERE name = 'Perú'"
    ).fetchone() == ("PE",)


def v5_archive(path) -> None:
    """An archive as the release before section and country_codes left it: schema version
    5, a brief, its capture and its revision (a record without the new fields)."""
    from archive.schema import MIGRATIONS, _statements

    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:5]:
        for statement in _statements(migration):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 5")
    conn.execute(
        "INSERT INTO captures (id, requested_url, fetched_at, brief_url, outcome, body_gzip)"
        " VALUES (7, 'u', '2020-01-01', 'u', 'new', x'00')"
    )
    conn.execute(
        "INSERT INTO briefs (url, title, kind, language, countries, published, authors, tags,"
        " summary, body, related, translations, content_hash, revision, first_seen, last_seen,"
        " cleaner_version, capture_id) VALUES ('u', 'T', 'brief', 'es', '[\"México\"]',"
        " '2020-01-01', '[]', '[]', '', 'archived before codes', '[]', '{}', 'h', 1,"
        " '2020-01-01', '2020-01-01', '1', 7)"
    )
    conn.execute(
        "INSERT INTO revisions (url, revision, content_hash, record, cleaner_version,"
        " capture_id, seen_at) VALUES ('u', 1, 'h', '{}', '1', 7, '2020-01-01')"
    )
    conn.close()


def test_migration_6_adds_section_and_country_codes_and_keeps_every_row(tmp_path):
    path = tmp_path / "v5.sqlite"
    v5_archive(path)
    db = archive.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = {row[1]: row for row in db.execute("PRAGMA table_xinfo(briefs)")}
    assert columns["section"][2:4] == ("TEXT", 0)
    assert columns["country_codes"][2:5] == ("TEXT", 1, "'[]'")
    # The brief archived before is whole, with no section and no codes until a re-clean.
    assert db.execute(
        "SELECT url, title, countries, section, country_codes, revision, capture_id FROM briefs"
    ).fetchall() == [("u", "T", '["México"]', None, "[]", 1, 7)]
    assert db.execute("SELECT name, country_code FROM brief_countries").fetchall() == [
        ("México", None)
    ]
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    # The full-text index, made anew, holds the brief archived before.
    db.execute("INSERT INTO briefs_fts (briefs_fts, rank) VALUES ('integrity-check', 1)")
    assert [hit.url for hit in archive.search.search(db, "archived codes")] == ["u"]
    # And the archive takes records with the new fields.
    archive.store_capture(db, make_capture(), make_record())
    assert [hit.url for hit in archive.search.search(db, "sentence", country="PE")] == [
        make_record().url
    ]


def test_migration_6_asks_again_for_pages_the_cleaner_before_found_no_brief_in(tmp_path):
    path = tmp_path / "v5.sqlite"
    v5_archive(path)
    conn = sqlite3.connect(path, isolation_level=None)
    skipped = {
        # A News brief the cleaner before did not recognise (its kicker says NEWS).
        "/news/news-brief/": "not_a_brief: no brief signal (JSON-LD section, category class,"
        " kicker, breadcrumb)",
        "/news/a-listing/": "not_a_brief: a listing: 12 articles and no main one",
        "/news/forbidden/": "robots: forbidden by robots.txt",
    }
    for number, (page, error) in enumerate(skipped.items()):
        url = "https://insightcrime.org" + page
        conn.execute(
            "INSERT INTO captures (requested_url, fetched_at, outcome, error)"
            " VALUES (?, '2020-01-01', 'skipped', ?)",
            [url, error],
        )
        conn.execute(
            "INSERT INTO frontier (url, state, seq, updated_at) VALUES (?, 'skipped', ?, '2020')",
            [url, number + 1],
        )
    conn.close()
    db = archive.connect(path)
    states = dict(db.execute("SELECT url, state FROM frontier").fetchall())
    assert states == {
        "https://insightcrime.org/news/news-brief/": "pending",
        "https://insightcrime.org/news/a-listing/": "skipped",
        "https://insightcrime.org/news/forbidden/": "skipped",
    }
    assert archive.frontier.next_pending(db, 0).url == "https://insightcrime.org/news/news-brief/"
