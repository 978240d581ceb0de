"""`briefs verify` (archive.fixity): every stored body against its recorded SHA-256 and length,
SQLite's integrity_check, the full-text index's integrity-check, the `checks` ledger; what it
prints, its exit statuses, and that it leaves the archive (and a crawl writing to it) alone."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from isal import igzip

import archive
from archive import Capture, fixity
from crawler.cli import main
from tests.terminal import run_in_terminal
from tests.test_reading_commands import not_archives, read_only, state  # noqa: F401 (fixture)
from tests.test_search import SAMPLE, SITE, build_archive

AT = "2026-01-01T00:00:00+00:00"


def make_archive(path: Path) -> Path:
    """SAMPLE's four briefs (captures 1-4, a body each), then a fetch that failed without a
    body (5), a page that is not a brief, kept without its body (6), and a failed page kept
    with its body (7)."""
    db = build_archive(path)
    archive.store_capture(
        db, Capture(requested_url=f"{SITE}/down/", fetched_at=AT, error="timeout"), error="timeout"
    )
    page = Capture(
        requested_url=f"{SITE}/about/", fetched_at=AT, status=200, body=b"<html>about</html>"
    )
    archive.store_capture(db, page, error="not_a_brief: an about page", skipped=True)
    broken = Capture(
        requested_url=f"{SITE}/news/brief/broken/", fetched_at=AT, status=200, body=b"<html>"
    )
    archive.store_capture(db, broken, error="extraction_failed: no title")
    db.close()
    return path


@pytest.fixture
def db(tmp_path) -> Path:
    return make_archive(tmp_path / "a.sqlite")


def briefs(*args: str | Path):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def command(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(path: Path, sql: str, *params: object) -> None:
    """A change made behind the archive's back (a failing disk, a stray program)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(sql, params)
        conn.commit()


def checks(path: Path) -> list[dict]:
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as c:
        c.row_factory = sqlite3.Row
        return [dict(row) for row in c.execute("SELECT * FROM checks ORDER BY id")]


def url_of(path: Path, capture_id: int) -> str:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        sql = "SELECT requested_url FROM captures WHERE id = ?"
        return conn.execute(sql, [capture_id]).fetchone()[0]


# -- A clean archive -------------------------------------------------------------------------


def test_a_clean_archive_is_exit_0_one_summary_line_and_a_ledger_row(db):
    result = command("verify", "--db", db)
    assert result.returncode == 0, result.stderr
    # 7 captures, 5 stored bodies (the timeout has none; the skipped page's is not kept).
    assert result.stdout == "verify: captures 7, exchanges 0, bodies 5, problems 0\n"
    assert result.stderr == ""  # nothing but the summary when piped: no progress bar
    (row,) = checks(db)
    assert row["kind"] == "verify" and row["status"] == "ok" and row["error"] is None
    assert (row["captures_checked"], row["bodies_checked"], row["problems"]) == (7, 5, 0)
    assert row["started_at"] <= row["finished_at"] and json.loads(row["details"]) == []
    assert command("verify", "--db", db).returncode == 0 and len(checks(db)) == 2


def test_progress_shows_on_a_terminal(db):
    status, text = run_in_terminal([sys.executable, "-m", "crawler", "verify", "--db", str(db)])
    assert status == 0, text
    assert "bodies" in text and "100%" in text and "integrity_check" in text
    assert "verify: captures 7, exchanges 0, bodies 5, problems 0" in text


# -- Bodies ------------------------------------------------------------------------------------


def page_of(capture_id: int) -> bytes:
    """The page stored in capture 1-4: SAMPLE's brief of that order (test_search.capture_for)."""
    return f"<html><h1>{SAMPLE[capture_id - 1].title}</h1></html>".encode()


def test_each_damaged_body_is_one_line_naming_its_capture_and_url_and_exit_1(db):
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (blob,) = conn.execute("SELECT body_gzip FROM captures WHERE id = 2").fetchone()
    flipped = blob[:12] + bytes(byte ^ 0xFF for byte in blob[12:24]) + blob[24:]
    # (|| makes text of the blob, not UTF-8: read as the bytes it holds all the same.)
    write(db, "UPDATE captures SET body_gzip = body_gzip || x'00ff' WHERE id = 1")
    write(db, "UPDATE captures SET body_gzip = ? WHERE id = 2", flipped)  # no longer gzip
    other = b"<html>another page</html>"
    write(db, "UPDATE captures SET body_gzip = ? WHERE id = 3", igzip.compress(other))
    write(db, "UPDATE captures SET body_length = body_length + 1 WHERE id = 4")
    write(db, "UPDATE captures SET body_gzip = NULL WHERE id = 7")
    result = command("verify", "--db", db)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""  # no traceback, no note
    *problems, summary = result.stdout.splitlines()
    assert summary == "verify: captures 7, exchanges 0, bodies 5, problems 5"
    ids = (1, 2, 3, 4, 7)
    heads = [f"capture {capture_id} {url_of(db, capture_id)}: " for capture_id in ids]
    assert [line[: len(head)] for line, head in zip(problems, heads, strict=True)] == heads
    whats = [line[len(head) :] for line, head in zip(problems, heads, strict=True)]
    # Bytes after the gzip member: the body is whole, but the blob is not what was stored.
    assert whats.pop(0) == "body unreadable (bad gzip: bytes after the end of the gzip member)"
    assert whats[0].startswith("body unreadable (bad gzip: ")
    recorded, actual = hashlib.sha256(page_of(3)).hexdigest(), hashlib.sha256(other).hexdigest()
    assert whats[1] == (
        f"digest mismatch (recorded {recorded}, body {actual});"
        f" length mismatch (recorded {len(page_of(3))} bytes, body {len(other)})"
    )
    assert whats[2] == (
        f"length mismatch (recorded {len(page_of(4)) + 1} bytes, body {len(page_of(4))})"
    )
    assert whats[3] == "body missing (a digest is recorded, no body is stored)"
    (row,) = checks(db)
    assert (row["status"], row["problems"], row["error"]) == ("problems", 5, None)
    assert json.loads(row["details"]) == problems


def test_what_is_wrong_with_a_body_in_words():
    body = b"<html>a page</html>"
    blob, digest = igzip.compress(body), hashlib.sha256(body).hexdigest()
    assert fixity.body_problem(digest, len(body), blob) is None
    assert fixity.body_problem(digest, None, blob) is None  # no length recorded: none compared
    assert fixity.body_problem(None, len(body), blob) == "no digest recorded"
    assert fixity.body_problem(digest, 2**40, blob) == (
        f"length mismatch (recorded {2**40} bytes, body {len(body)})"  # (no buffer of 2**40)
    )
    assert fixity.body_problem(digest, b"many", blob) == (
        f"length mismatch (recorded b'many' bytes, body {len(body)})"
    )
    assert (
        fixity.body_problem(digest, len(body), b"") == "body unreadable (bad gzip: an empty blob)"
    )
    for damaged in (blob[:-3], blob[:-8] + bytes(4) + blob[-4:], b"\x1f\x8c" + blob[2:]):
        assert fixity.body_problem(digest, len(body), damaged).startswith(
            "body unreadable (bad gzip: "
        )


def test_threads_report_in_id_order_whatever_range_finishes_first(tmp_path, monkeypatch):
    path = tmp_path / "many.sqlite"
    db = build_archive(path, SAMPLE * 1)
    for number in range(40):
        page = Capture(
            requested_url=f"{SITE}/page/{number}/",
            fetched_at=AT,
            status=200,
            body=f"<html>{number}</html>".encode() * (number + 1),
        )
        archive.store_capture(db, page, error="extraction_failed: no title")
    db.close()
    damaged = [5, 6, 17, 30, 44]
    for capture_id in damaged:
        write(path, "UPDATE captures SET body_sha256 = ? WHERE id = ?", "0" * 64, capture_id)
    monkeypatch.setattr(fixity, "CHUNK", 3)  # 15 ranges over 4 threads
    with contextlib.closing(archive.connect(path, readonly=True)) as source:
        report = fixity.verify(source, workers=4, record=False)
    assert [problem.capture_id for problem in report.problems] == damaged
    assert all("digest mismatch (recorded 000" in problem.what for problem in report.problems)
    assert (report.captures_checked, report.bodies_checked) == (44, 44)
    with contextlib.closing(archive.connect(path, readonly=True)) as source:
        one = fixity.verify(source, workers=1, record=False)
    assert one.problems == report.problems
    assert checks(path) == []  # record=False


# -- The file ----------------------------------------------------------------------------------


def test_a_damaged_full_text_index_is_a_problem(db):
    # The index forgets brief 2 (its entries deleted, the brief kept): it no longer matches.
    write(
        db,
        "INSERT INTO briefs_fts (briefs_fts, rowid, title, summary, body, countries, authors,"
        " tags, country_codes) SELECT 'delete', rowid, title, summary, body, countries, authors,"
        " tags, country_codes FROM briefs WHERE rowid = 2",
    )
    result = command("verify", "--db", db)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "full-text index briefs_fts: integrity-check failed (database disk image is malformed)",
        "verify: captures 7, exchanges 0, bodies 5, problems 1",
    ]
    assert checks(db)[0]["status"] == "problems"


def test_a_page_no_table_uses_is_found_when_a_view_comes_first(tmp_path):
    # SQLite 3.40's integrity_check does not look for unused pages when the schema's first
    # table (the last made, here) is a view: verify counts them itself.
    path = tmp_path / "views.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE a (x); CREATE VIEW v AS SELECT x FROM a;")
    conn.close()
    data = bytearray(path.read_bytes())
    (page_size,) = struct.unpack(">H", data[16:18])
    data[28:32] = struct.pack(">I", 3)
    path.write_bytes(bytes(data) + bytes(page_size))
    conn = sqlite3.connect(path)
    try:
        problems = [problem.line for problem in fixity._integrity_problems(conn)]
    finally:
        conn.close()
    assert problems == ["integrity_check: Page 3 is never used"]


def test_a_page_the_file_does_not_use_is_found_by_integrity_check(db):
    # One more page than the b-trees hold, as a file cut or written in the wrong place leaves.
    data = bytearray(db.read_bytes())
    (page_size,) = struct.unpack(">H", data[16:18])
    (pages,) = struct.unpack(">I", data[28:32])
    data[28:32] = struct.pack(">I", pages + 1)
    db.write_bytes(bytes(data) + bytes(page_size))
    result = command("verify", "--db", db)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"integrity_check: Page {pages + 1} is never used",
        "verify: captures 7, exchanges 0, bodies 5, problems 1",
    ]


def test_a_damaged_table_is_reported_and_the_rest_still_checked(db, monkeypatch):
    from tests.test_reading_commands import damage

    damage(db, "captures")
    result = command("verify", "--db", db)
    assert result.returncode == 1, result.stderr
    *problems, summary = result.stdout.splitlines()
    unreadable = "captures 1-7: unreadable (database disk image is malformed)"
    assert problems[0] == unreadable
    assert problems[1].startswith("integrity_check: ") and len(problems) == 2
    assert summary == "verify: captures 0, exchanges 0, bodies 0, problems 2"
    assert "Traceback" not in result.stderr
    # Ranges that cannot be read one after another are one line, whatever their size.
    monkeypatch.setattr(fixity, "CHUNK", 2)
    with contextlib.closing(archive.connect(db, readonly=True)) as source:
        report = fixity.verify(source, workers=3, record=False)
    assert report.problems[0].line == unreadable and len(report.problems) == 2


# -- What cannot be verified -------------------------------------------------------------------


def test_no_archive_or_not_an_archive_is_one_line_exit_2_and_changes_nothing(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    files = not_archives(folder)
    before = state(folder)
    for path in [*files.values(), folder / "missing.sqlite"]:
        result = command("verify", "--db", path)
        assert result.returncode == 2, (path, result.stderr)
        assert result.stdout == "" and result.stderr.count("\n") == 1
        assert result.stderr.startswith("error: ") and str(path) in result.stderr
        assert ("no archive at" if path.name == "missing.sqlite" else "not a briefs archive") in (
            result.stderr
        )
    assert state(folder) == before


def test_an_archive_that_cannot_be_opened_is_one_line_exit_3(db, tmp_path):
    schema = tmp_path / "schema.sqlite"
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * 3996  # the first page's b-tree: sqlite_master
    schema.write_bytes(bytes(data))
    write(db, f"PRAGMA user_version = {archive.SCHEMA_VERSION + 1}")
    for path, words in ((db, "upgrade briefs"), (schema, "malformed")):
        result = command("verify", "--db", path)
        assert result.returncode == 3 and result.stdout == "", result.stderr
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert words in result.stderr


def test_read_only_media_are_verified_and_the_ledger_note_says_why_it_was_not_written(
    read_only,  # noqa: F811 (the fixture)
):
    writable, view = read_only
    make_archive(writable / "a.sqlite")
    before = state(writable)
    result = command("verify", "--db", view / "a.sqlite")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "verify: captures 7, exchanges 0, bodies 5, problems 0\n"
    notes = result.stderr.splitlines()
    assert [note.split(":")[0] for note in notes] == ["note", "note"], notes
    assert "full-text index was not checked" in notes[0]
    assert "could not be recorded in the archive's ledger" in notes[1]
    assert state(writable) == before
    write(writable / "a.sqlite", "UPDATE captures SET body_sha256 = ? WHERE id = 1", "0" * 64)
    damaged = command("verify", "--db", view / "a.sqlite")
    assert damaged.returncode == 1 and "capture 1 " in damaged.stdout  # its exit: what it found


# -- What it leaves alone ----------------------------------------------------------------------


def test_no_ledger_leaves_the_file_byte_for_byte(db):
    before = state(db.parent)
    result = command("verify", "--db", db, "--no-ledger")
    assert result.returncode == 0
    assert result.stdout == "verify: captures 7, exchanges 0, bodies 5, problems 0\n"
    after = state(db.parent)
    assert after[db.name] == before[db.name]  # its bytes and its mtime
    # What any reader of a WAL archive leaves beside it (the read-only connection cannot
    # remove them): an empty -wal and the -shm.
    assert set(after) - set(before) <= {f"{db.name}-wal", f"{db.name}-shm"}
    assert not after.get(f"{db.name}-wal", (0, b""))[1]


def test_a_snapshot_stays_one_rollback_journal_file_with_its_check_recorded(db, tmp_path):
    copy = tmp_path / "copy.sqlite"
    assert briefs("export", "--db", db, "--format", "sqlite", "-o", copy).exit_code == 0
    result = command("verify", "--db", copy)
    assert result.returncode == 0, result.stderr
    with contextlib.closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert [row["status"] for row in checks(copy)] == ["ok"]
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("copy")) == [
        "copy.sqlite"
    ]


def test_a_crawl_writing_meanwhile_is_not_held_up_and_its_new_captures_wait(db):
    """While the bodies are read, another connection stores a capture at once (no busy wait):
    the check reads, it takes no lock a writer waits for; it counts what was there when it
    began."""
    stored = []

    def progress(stage: str, length: int):
        def advance(done: int) -> None:
            if stage == "bodies" and not stored:
                writer = archive.connect(db)
                writer.conn.execute("PRAGMA busy_timeout = 0")
                page = Capture(requested_url=f"{SITE}/later/", fetched_at=AT, error="timeout")
                archive.store_capture(writer, page, error="timeout")
                writer.close()
                stored.append(page)

        return advance

    with contextlib.closing(archive.connect(db, readonly=True)) as source:
        report = fixity.verify(source, progress, workers=2)
    assert stored and (report.captures_checked, report.problems) == (7, [])
    assert [row["captures_checked"] for row in checks(db)] == [7]


def test_an_interrupted_check_is_recorded_as_interrupted(db):
    def progress(stage: str, length: int):
        def advance(done: int) -> None:
            raise KeyboardInterrupt

        return advance

    source = archive.connect(db, readonly=True)
    with contextlib.closing(source), pytest.raises(KeyboardInterrupt):
        fixity.verify(source, progress)
    (row,) = checks(db)
    assert row["status"] == "interrupted" and row["error"] == "KeyboardInterrupt"
    assert row["finished_at"] is not None


def test_the_checks_table_is_described_for_datasette(db):
    from archive.datasette.metadata import TABLES

    assert "checks" in TABLES and set(TABLES["checks"]["columns"]) <= set(checks_columns(db))


def checks_columns(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [row[1] for row in conn.execute("PRAGMA table_info(checks)")]


def test_the_benchmark_archive_verifies_clean(tmp_path):
    from benchmarks.verify_speed import build

    path = tmp_path / "bench.sqlite"
    build(path, 12)
    with contextlib.closing(archive.connect(path, readonly=True)) as source:
        report = fixity.verify(source, record=False)
    assert (report.captures_checked, report.bodies_checked, report.problems) == (12, 12, [])
