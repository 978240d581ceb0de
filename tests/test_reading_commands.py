"""The reading commands (export, search, serve, runs) against what a hostile path or a fault
gives them: targets an export did not make, read-only media, files that are not archives,
damaged archives, full disks, closed pipes, options out of range. Each ends in one line and
a documented exit status, and changes nothing it does not own."""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner

import archive
from archive import formats
from archive.connection import NotAnArchive
from archive.schema import SCHEMA_VERSION
from archive.snapshots import parse_since
from crawler.cli import main
from crawler.cli.reading import export, search_command
from tests.test_search import SAMPLE, brief, build_archive, capture_for

TARGETS = {"jsonl": "out.jsonl", "csv": "out.csv", "warc": "out.warc", "sqlite": "out.sqlite",
           "wacz": "out.wacz", "bagit": "out-bag"}  # fmt: skip
LATER = "2026-02-01T00:00:00+00:00"
search_module = importlib.import_module("archive.search")  # (archive.search is the function)


def briefs(*args: str | Path):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def one_line(result, code: int, *words: str) -> None:
    """The command ended with exit status `code` and one line of error naming `words`."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert all(word in result.output for word in words), result.output


def state(folder: Path) -> dict[str, tuple]:
    """Each path under `folder` (links not followed): its kind, its bytes and its mtime."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        found[str(path.relative_to(folder))] = (
            stat.S_IFMT(info.st_mode),
            content,
            info.st_mtime_ns,
        )
    return found


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("source") / "archive.sqlite"
    build_archive(path).close()
    return path


def mount(*args: str) -> None:
    if shutil.which("mount") is None:
        pytest.skip("no mount(8)")
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")


@contextlib.contextmanager
def mounted(folder: Path, *args: str) -> Iterator[Path]:
    mount(*args, str(folder))
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode:
            subprocess.run(["umount", "--lazy", str(folder)], check=True)
            pytest.fail(f"{folder} was still in use: something left a file under it open")


@pytest.fixture
def read_only(tmp_path) -> Iterator[tuple[Path, Path]]:
    """A folder, and the same folder mounted read-only: what is put in the first is read in
    the second, where nothing can be written (by root either, unlike chmod)."""
    writable, view = tmp_path / "writable", tmp_path / "read-only"
    writable.mkdir()
    view.mkdir()
    with mounted(view, "--bind", str(writable)):
        mount("-o", "remount,bind,ro", str(view))
        with pytest.raises(OSError) as refused:
            (view / "probe").touch()
        assert refused.value.errno == errno.EROFS
        yield writable, view


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A file system small enough for every export to fill (a tmpfs)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    with mounted(folder, "-t", "tmpfs", "-o", "size=64k", "tmpfs"):
        yield folder


# -- A. Exports never destroy what they did not make ---------------------------------------


def test_an_export_writes_over_nothing_it_did_not_make_force_or_not(db, tmp_path, monkeypatch):
    folder = tmp_path / "user"
    (folder / "notes").mkdir(parents=True)
    (folder / "notes" / "mine.txt").write_text("mine")
    (folder / "kept.txt").write_text("mine")
    (folder / "link").symlink_to(folder / "kept.txt")
    os.mkfifo(folder / "fifo")
    (folder / "other-bag").mkdir()  # a bag, not briefs'
    (folder / "other-bag" / "bag-info.txt").write_text("Bag-Software-Agent: bagit.py v1.9\n")
    (folder / "disguised").mkdir()  # its bag-info.txt a link to a bag briefs made
    assert briefs("export", "--db", db, "--format", "bagit", "-o", tmp_path / "bag").exit_code == 0
    (folder / "disguised" / "bag-info.txt").symlink_to(tmp_path / "bag" / "bag-info.txt")
    kinds = {
        "notes": "a directory",
        "link": "a symbolic link",
        "fifo": "a FIFO",
        "socket": "a socket",
        "other-bag": "a directory",
        "disguised": "a directory",
    }
    with contextlib.suppress(PermissionError):
        os.mknod(folder / "device", stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's
        kinds["device"] = "a device"
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(folder / "socket"))
    before = state(folder)
    monkeypatch.chdir(folder / "notes")  # so that "." and ".." are folders of the user's
    kinds.update({".": "a directory", "..": "a directory", "/": "a directory"})
    try:
        for name, kind in kinds.items():
            target = name if name in (".", "..", "/") else folder / name
            for fmt in ("jsonl", "bagit"):
                for force in ((), ("--force",)):
                    result = briefs("export", "--db", db, "--format", fmt, "-o", target, *force)
                    one_line(result, 2, f"is {kind}")
        nowhere = folder / "missing" / "out.jsonl"
        one_line(briefs("export", "--db", db, "--format", "jsonl", "-o", nowhere), 2, "no folder")
        assert state(folder) == before
    finally:
        listening.close()


def test_force_replaces_a_file_or_a_bag_briefs_made(db, tmp_path, monkeypatch):
    bag = tmp_path / "bag"
    assert briefs("export", "--db", db, "--format", "bagit", "-o", bag).exit_code == 0
    (bag / "added.txt").write_text("gone with the bag it is in")
    one_line(briefs("export", "--db", db, "--format", "bagit", "-o", bag), 1, "--force")
    assert (bag / "added.txt").exists()
    assert briefs("export", "--db", db, "--format", "bagit", "-o", bag, "--force").exit_code == 0
    assert not (bag / "added.txt").exists() and bagit.Bag(str(bag)).is_valid()
    assert briefs("export", "--db", db, "--format", "jsonl", "-o", bag, "--force").exit_code == 0
    assert bag.is_file() and len(bag.read_text().splitlines()) == 4
    assert briefs("export", "--db", db, "--format", "bagit", "-o", bag, "--force").exit_code == 0
    assert bag.is_dir()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bag"]  # nothing set aside left
    monkeypatch.chdir(bag)  # "." is a bag briefs made, but has no name to write beside
    one_line(briefs("export", "--db", db, "--format", "bagit", "-o", ".", "--force"), 2, "is a")


def test_a_partial_that_no_export_left_is_left_alone(db, tmp_path):
    target = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    (partial / "notes.txt").parent.mkdir()
    (partial / "notes.txt").write_text("mine")
    result = briefs("export", "--db", db, "--format", "jsonl", "-o", target)
    one_line(result, 2, str(partial), "a directory")
    assert (partial / "notes.txt").read_text() == "mine" and not target.exists()
    shutil.rmtree(partial)
    partial.write_text("what an export that was killed left")
    assert briefs("export", "--db", db, "--format", "jsonl", "-o", target).exit_code == 0
    assert not partial.exists() and len(target.read_text().splitlines()) == 4


def test_a_target_that_turns_into_a_folder_during_the_export_is_left_alone(
    db, tmp_path, monkeypatch
):
    target = tmp_path / "out.jsonl"
    write_jsonl = formats.write_jsonl

    def someone_makes_a_folder_there(*args, **kwargs):
        (target / "notes.txt").parent.mkdir()
        (target / "notes.txt").write_text("mine")
        return write_jsonl(*args, **kwargs)

    monkeypatch.setattr(formats, "write_jsonl", someone_makes_a_folder_there)
    result = briefs("export", "--db", db, "--format", "jsonl", "-o", target, "--force")
    one_line(result, 2, "is a directory")
    assert (target / "notes.txt").read_text() == "mine"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.jsonl"]


def test_a_bag_that_cannot_be_put_in_place_leaves_the_old_one(db, tmp_path, monkeypatch):
    bag = tmp_path / "bag"
    assert briefs("export", "--db", db, "--format", "bagit", "-o", bag).exit_code == 0
    before = state(bag)
    replace = os.replace

    def the_second_fails(source, destination):  # the old bag moves aside, the new one cannot
        if Path(source).name == "bag.partial":
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        replace(source, destination)

    monkeypatch.setattr(os, "replace", the_second_fails)
    result = briefs("export", "--db", db, "--format", "bagit", "-o", bag, "--force")
    one_line(result, 3, "Input/output error")
    assert state(bag) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bag"]


def test_a_full_disk_is_one_line_and_the_old_target_is_kept(small_disk, tmp_path):
    source = tmp_path / "big.sqlite"
    # More than the disk in every format, and more than SQLite's page cache holds: its copy
    # writes (and leaves) a rollback journal when the disk fills.
    records = [brief(f"b-{i}", body=f"word{i} " * 20_000) for i in range(20)]
    db = archive.connect(source)
    for record in records:
        archive.store_capture(db, capture_for(record, LATER, record.body.encode()), record)
    db.close()
    for fmt, name in TARGETS.items():
        target = small_disk / name
        target.write_text("old")
        result = briefs("export", "--db", source, "--format", fmt, "-o", target, "--force")
        one_line(result, 3, "cannot", str(target))
        assert target.read_text() == "old"
        assert os.listdir(small_disk) == [name]  # no .partial, no -journal
        target.unlink()


def test_a_bag_that_cannot_be_finished_is_one_line(db, tmp_path):
    # In a process of its own: pytest's log capture would hide what bagit.py logs.
    disk_fills_as_the_bag_is_made = (
        "import bagit, errno, os\n"
        "def full(*_args, **_kwargs):\n"
        "    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
        "bagit._make_tagmanifest_file = full\n"
        "from crawler.cli import main\n"
        "main(prog_name='briefs')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", disk_fills_as_the_bag_is_made,
         "export", "--db", str(db), "--format", "bagit", "-o", str(tmp_path / "bag")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stderr == f"error: cannot write {tmp_path / 'bag'}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_a_wacz_that_cannot_be_finished_is_one_line(db, tmp_path):
    # py-wacz fails with its zip half written (it copies the WARC in with copyfileobj); in a
    # process of its own, which must say nothing more of it as it exits.
    disk_fills_as_py_wacz_writes = (
        "import errno, os, shutil\n"
        "def full(*_args, **_kwargs):\n"
        "    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
        "shutil.copyfileobj = full\n"
        "from crawler.cli import main\n"
        "main(prog_name='briefs')\n"
    )
    target = tmp_path / "briefs.wacz"
    result = subprocess.run(
        [sys.executable, "-c", disk_fills_as_py_wacz_writes,
         "export", "--db", str(db), "--format", "wacz", "-o", str(target)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 3
    assert result.stderr == f"error: cannot write {target}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_a_wacz_py_wacz_cannot_make_is_one_line(db, tmp_path, monkeypatch):
    def refuses(_options):
        print("Unable to create WACZ without valid pages.jsonl file, quitting")
        return 1

    monkeypatch.setattr("wacz.main.create_wacz", refuses)
    target = tmp_path / "briefs.wacz"
    result = briefs("export", "--db", db, "--format", "wacz", "-o", target)
    one_line(result, 3, f"cannot write {target}: py-wacz failed: Unable to create WACZ without")
    assert list(tmp_path.iterdir()) == []


def test_errors_of_standard_output_are_left_to_the_briefs_command(db, monkeypatch):
    read_end, write_end = os.pipe()
    os.close(read_end)
    closed_pipe = open(write_end, "w", encoding="utf-8")  # noqa: SIM115 (closed below)
    full_disk = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115
    filters = {name: None for name in ("country", "author", "tag", "language", "since", "until")}
    try:
        for stream, error in ((closed_pipe, BrokenPipeError), (full_disk, OSError)):
            monkeypatch.setattr(sys, "stdout", stream)
            for fmt in ("jsonl", "csv", "warc"):
                with pytest.raises(error):
                    export.callback(
                        db=str(db), fmt=fmt, since=None, output=None, force=False, with_warc=False
                    )
            with pytest.raises(error):
                search_command.callback(
                    query="cocaine", db=str(db), **filters, sort="rank", limit=20, fmt="csv"
                )
    finally:
        monkeypatch.undo()
        for stream in (closed_pipe, full_disk):
            with contextlib.suppress(OSError):
                stream.close()


def test_a_bag_info_value_that_is_not_one_is_one_line_and_nothing_is_made(db, tmp_path):
    bag = tmp_path / "bag"
    for option, value, words in (
        ("--contact-email", "ana.gomez", ["--contact-email", "email address", "'ana.gomez'"]),
        ("--contact-email", "ana gomez@example.org", ["email address"]),
        ("--contact-email", "ana@localhost", ["email address"]),
        ("--contact-name", "Ana\nGómez", ["--contact-name", "one line"]),
        ("--source-organization", "Biblioteca\tNacional", ["one line", "tab"]),
        ("--bagit-profile-identifier", "profile.json", ["URI"]),
    ):
        result = briefs("export", "--db", db, "--format", "bagit", "-o", bag, option, value)
        one_line(result, 2, *words)
    from_env = CliRunner().invoke(
        main, ["export", "--db", str(db), "--format", "bagit", "-o", str(bag)],
        env={"BRIEFS_BAG_CONTACT_EMAIL": "nobody"},
    )  # fmt: skip
    one_line(from_env, 2, "--contact-email (from BRIEFS_BAG_CONTACT_EMAIL)", "'nobody'")
    assert list(tmp_path.iterdir()) == []
    # An option of a bag given to another format is wrong usage; a setting is not.
    for option in ("--source-organization", "--contact-email", "--with-wacz"):
        args = [option] if option.startswith("--with") else [option, "a@example.org"]
        result = briefs("export", "--db", db, "--format", "jsonl", *args)
        one_line(result, 2, option, "goes with --format bagit")
    quiet = CliRunner().invoke(
        main, ["export", "--db", str(db), "--format", "jsonl"],
        env={"BRIEFS_BAG_CONTACT_EMAIL": "nobody"},
    )  # fmt: skip
    assert quiet.exit_code == 0 and len(quiet.stdout.splitlines()) == 4


# -- B. Reading commands never write; archives that are not ours are refused ----------------


def test_reading_commands_work_on_read_only_media(read_only, tmp_path):
    writable, view = read_only
    build_archive(writable / "closed.sqlite").close()  # the file alone, as a clean close leaves
    # A copy taken while a crawl wrote: the file, its -wal and its -shm; a brief is only in
    # the -wal.
    live = build_archive(tmp_path / "crawled.sqlite")
    live.execute("PRAGMA wal_autocheckpoint = 0")
    record = brief("only-in-the-wal", body="Cocaine, in the write-ahead log only.")
    archive.store_capture(live, capture_for(record, LATER), record)
    for suffix in ("", "-wal", "-shm"):
        shutil.copy(f"{tmp_path / 'crawled.sqlite'}{suffix}", writable / f"live.sqlite{suffix}")
    live.close()
    for name, count in (("closed.sqlite", 4), ("live.sqlite", 5)):
        source = view / name
        found = briefs("search", "cocaine", "--db", source, "--format", "json")
        assert found.exit_code == 0, found.output
        assert len(json.loads(found.stdout)) == count - 1  # one brief says nothing of cocaine
        for fmt, target in TARGETS.items():
            out = tmp_path / name / target
            out.parent.mkdir(exist_ok=True)
            result = briefs("export", "--db", source, "--format", fmt, "-o", out)
            what = {"warc": "captures", "wacz": "pages"}.get(fmt, "records")
            assert result.exit_code == 0 and f"wrote {count} {what}" in result.output, fmt
        assert len((tmp_path / name / "out.jsonl").read_text().splitlines()) == count
        since = briefs("export", "--db", source, "--format", "sqlite", "--since", "2026-01-02",
                       "-o", tmp_path / name / "since.sqlite")  # fmt: skip
        assert since.exit_code == 0 and f"wrote {count - 4} records" in since.output
    # (In a process of its own: `runs` leaves its connection to close at exit.)
    runs = subprocess.run(
        [sys.executable, "-m", "crawler", "runs", "--db", str(view / "live.sqlite"), "--format",
         "json"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert runs.returncode == 0 and len(json.loads(runs.stdout)) == 1, runs.stderr


def not_archives(folder: Path) -> dict[str, Path]:
    """Files a reading command finds at --db that are not briefs archives, by what they are."""
    files = {name: folder / f"{name}.sqlite" for name in ("junk", "empty", "blank", "foreign",
                                                          "versioned")}  # fmt: skip
    files["junk"].write_bytes(b"not a database\n" * 100)
    files["empty"].write_bytes(b"")
    with contextlib.closing(sqlite3.connect(files["blank"])) as conn:
        conn.execute("VACUUM")  # a SQLite file: no tables, user_version 0
    with contextlib.closing(sqlite3.connect(files["foreign"])) as conn:
        conn.execute("PRAGMA journal_mode = WAL")  # which a reader would leave a -shm of
        conn.execute("CREATE TABLE notes (text)")
    with contextlib.closing(sqlite3.connect(files["versioned"])) as conn:
        conn.execute("PRAGMA user_version = 7")
        conn.execute("CREATE TABLE runs (id)")
    return files


def test_reading_commands_refuse_what_is_not_an_archive_and_change_nothing(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    files = not_archives(folder)
    before = state(folder)
    for path in [*files.values(), folder / "missing.sqlite"]:
        words = ["no archive at"] if path.name == "missing.sqlite" else [str(path), "not a briefs"]
        for command in (
            ("search", "cocaine"),
            ("export", "--format", "jsonl"),
            ("export", "--format", "sqlite", "-o", tmp_path / "copy.sqlite"),
            ("serve",),
        ):
            one_line(briefs(*command, "--db", path), 2, *words)
        with pytest.raises(NotAnArchive):
            archive.connect(path, readonly=True)
    assert state(folder) == before and not (tmp_path / "copy.sqlite").exists()


def test_writers_refuse_another_programs_database_and_create_only_when_asked(tmp_path):
    files = not_archives(tmp_path)
    for name in ("junk", "foreign", "versioned"):
        before = state(tmp_path)
        with pytest.raises(NotAnArchive, match="is not a briefs archive"):
            archive.connect(files[name])
        assert state(tmp_path) == before, name
    for readonly in (False, True):
        with pytest.raises(NotAnArchive, match="is not a briefs archive: it is not a file"):
            archive.connect(tmp_path, readonly=readonly)
    missing = tmp_path / "missing.sqlite"
    with pytest.raises(NotAnArchive, match="no archive at"):
        archive.connect(missing, create=False)
    assert not missing.exists()
    for path in (files["empty"], files["blank"], missing):  # a writer makes these archives
        archive.connect(path).close()
        db = archive.connect(path, readonly=True)
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        db.close()


# -- C. Damaged archives -------------------------------------------------------------------


def damage(path: Path, *names: str) -> None:
    """Overwrite the root page of each table named with junk, as a failing disk might."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        roots = [
            conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [name]).fetchone()[0]
            for name in names
        ]
    with path.open("r+b") as file:
        for root in roots:
            file.seek((root - 1) * page_size)
            file.write(b"\xff" * page_size)


def test_a_damaged_archive_is_one_line_exit_3_and_writes_nothing(tmp_path):
    source = tmp_path / "damaged.sqlite"
    build_archive(source).close()
    damage(source, "briefs", "captures", "briefs_fts_idx")
    out = tmp_path / "out"
    out.mkdir()
    for fmt, name in TARGETS.items():
        target = out / name
        target.write_text("old")
        result = briefs("export", "--db", source, "--format", fmt, "-o", target, "--force")
        one_line(result, 3, str(source), "damaged" if fmt in ("sqlite", "bagit") else "malformed")
        assert target.read_text() == "old" and os.listdir(out) == [name]
        target.unlink()
    one_line(briefs("export", "--db", source, "--format", "jsonl"), 3, "malformed")
    one_line(briefs("search", "cocaine", "--db", source), 3, "malformed")


def test_a_copy_that_fails_foreign_key_check_is_not_written(tmp_path):
    source = build_archive(tmp_path / "a.sqlite")
    source.execute("PRAGMA foreign_keys = OFF")
    source.execute("DELETE FROM captures WHERE id = 1")  # which a brief and a revision cite
    source.close()
    target = tmp_path / "copy.sqlite"
    result = briefs("export", "--db", tmp_path / "a.sqlite", "--format", "sqlite", "-o", target)
    one_line(result, 3, "damaged", "foreign_key_check")
    assert not list(tmp_path.glob("copy.sqlite*"))


# -- D. Usage errors are usage errors ------------------------------------------------------


def test_dates_beyond_utcs_range_are_usage_errors(db):
    for value in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        with pytest.raises(ValueError, match="out of range"):
            parse_since(value, "since")
        for command in (("search", "x", "--since"), ("search", "x", "--until"),
                        ("export", "--format", "jsonl", "--since")):  # fmt: skip
            result = briefs(*command, value, "--db", db)
            assert result.exit_code == 2 and "out of range" in result.output, result.output
    assert parse_since("0001-01-01T00:00:00-01:00") == "0001-01-01T01:00:00+00:00"


def test_any_positive_limit_is_taken_and_anything_else_is_a_usage_error(db, monkeypatch):
    found = briefs("search", "cocaine", "--db", db, "--limit", "99999999999", "--format", "json")
    assert found.exit_code == 0 and len(json.loads(found.stdout)) == 3
    for limit in ("0", "-1", "abc", "1.5"):
        result = briefs("search", "cocaine", "--db", db, "--limit", limit)
        assert result.exit_code == 2 and "--limit" in result.output
    # However many are asked for, candidates and snippets are read a batch at a time: within
    # SQLite's limit on parameters, here the fewest a batch of two needs.
    monkeypatch.setattr(search_module, "BATCH", 2)
    with contextlib.closing(archive.connect(db, readonly=True)) as source:
        source.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 5)
        hits = search_module.search(source, "cocaine", limit=10**11)
    assert len(hits) == 3 and all("[Cocaine]" in hit.snippet for hit in hits)


def test_lang_is_en_or_es(db):
    result = briefs("search", "cocaine", "--db", db, "--lang", "fr")
    assert result.exit_code == 2 and "'fr' is not one of 'en', 'es'" in result.output
    spanish = briefs("search", "cocaine", "--db", db, "--lang", "ES", "--format", "json")
    assert [hit["language"] for hit in json.loads(spanish.stdout)] == ["es"]


def test_export_warc_says_who_made_it_and_for_what(tmp_path):
    db = tmp_path / "a.sqlite"
    build_archive(db, [SAMPLE[0]]).close()
    out = tmp_path / "x.warc"
    done = briefs(
        "export", "--db", str(db), "--format", "warc", "-o", str(out),
        "--operator", "Jane Doe <jd@example.org>", "--is-part-of", "ic-briefs",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    info = out.read_bytes().split(b"\r\n\r\n", 2)[1]
    assert b"operator: Jane Doe <jd@example.org>\r\n" in info
    assert b"isPartOf: ic-briefs\r\n" in info
    wrong = briefs("export", "--db", str(db), "--format", "jsonl", "--operator", "x")
    assert wrong.exit_code == 2 and "--operator goes with --format warc" in wrong.output


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "warc"])
def test_output_dash_is_standard_output(db, tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    to_stdout = briefs("export", "--db", db, "--format", fmt)
    dashed = briefs("export", "--db", db, "--format", fmt, "-o", "-")
    assert dashed.exit_code == 0, dashed.output
    assert dashed.stdout_bytes == to_stdout.stdout_bytes and dashed.stdout_bytes
    assert list(tmp_path.iterdir()) == []  # no file called "-"
