"""`briefs export`: csv, sqlite (during a crawl), warc, bagit (BagIt 1.0, the institution's
bag-info fields, --with-wacz), --since, determinism, --force, the progress bar, flat memory.
(wacz: tests/test_wacz.py.)"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import tracemalloc
import zipfile
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

import bagit
import pytest
from warcio.archiveiterator import ArchiveIterator

import archive
from archive import Capture
from archive.schema import RECORD_FIELDS
from archive.search import search
from archive.snapshots import snapshot_sqlite
from archive.warc import write_warc
from crawler import settings
from tests.terminal import run_in_terminal
from tests.test_search import SAMPLE, SITE, brief, build_archive, capture_for

BIN = Path(sys.executable).parent
RAW = b"<html><body>Per\xc3\xba \x00\xff raw bytes</body></html>\r\n"
FIRST, LATER = "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"


def briefs_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], capture_output=True, timeout=120
    )


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(BIN))
    assert found, f"{name} is installed with briefs' dependencies"
    return found


def two_crawls(path: Path) -> Path:
    """Run 1 (FIRST): SAMPLE[0..2], one page with content-encoding headers, a failed fetch
    with a body, a download error, a skipped page. Run 2 (LATER): SAMPLE[1] changed,
    SAMPLE[3] new, SAMPLE[0] unchanged."""
    db = build_archive(path, [SAMPLE[1], SAMPLE[2]], at=FIRST)
    run_id = archive.start_run(db, SITE, {})
    encoded = Capture(
        requested_url=SAMPLE[0].url + "?utm_source=feed",
        final_url=SAMPLE[0].url,
        status=200,
        fetched_at=FIRST,
        headers=[
            ("Content-Type", "text/html; charset=UTF-8"),
            ("Content-Encoding", "gzip"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "17"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ],
        body=RAW,
    )
    archive.store_capture(db, encoded, SAMPLE[0], run_id=run_id)
    broken = capture_for(SAMPLE[0], FIRST, b"oops")
    archive.store_capture(
        db, replace(broken, requested_url=SITE + "/news/brief/broken/", status=500),
        error="http_500: the server answered 500", run_id=run_id,
    )  # fmt: skip
    archive.store_capture(
        db,
        Capture(requested_url=SITE + "/news/brief/gone/", fetched_at=FIRST, error="timeout"),
        run_id=run_id,
    )
    archive.store_capture(
        db, capture_for(SAMPLE[0], FIRST), error="not_a_brief: analysis", skipped=True,
        run_id=run_id,
    )  # fmt: skip
    archive.finish_run(db, run_id, status="ok", counts={})
    run_id = archive.start_run(db, SITE, {})
    changed = replace(SAMPLE[1], title="Mexico Disbands State Police")
    for record in (SAMPLE[0], changed, SAMPLE[3]):
        archive.store_capture(db, capture_for(record, LATER), record, run_id=run_id)
    archive.finish_run(db, run_id, status="ok", counts={})
    db.close()
    return path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Path:
    return two_crawls(tmp_path_factory.mktemp("snap") / "archive.sqlite")


def export(db: Path, fmt: str, out: Path, *extra: str) -> subprocess.CompletedProcess:
    out.parent.mkdir(parents=True, exist_ok=True)
    result = briefs_command("export", "--db", str(db), "--format", fmt, "-o", str(out), *extra)
    assert result.returncode == 0, result.stderr.decode()
    return result


def test_csv_is_rfc4180_with_record_fields_and_json_lists(crawled, tmp_path):
    export(crawled, "csv", tmp_path / "b.csv")
    export(crawled, "jsonl", tmp_path / "b.jsonl")
    raw = (tmp_path / "b.csv").read_bytes()
    assert raw.startswith(",".join(RECORD_FIELDS).encode() + b"\r\n")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    records = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert len(rows) == len(records) == 4
    for row, record in zip(rows, records, strict=True):
        assert row["url"] == record["url"] and row["body"] == record["body"]  # "\n\n" kept
        for name in ("countries", "country_codes", "authors", "tags", "related", "translations"):
            assert json.loads(row[name]) == record[name]
        assert row["updated"] == (record["updated"] or "")
        assert row["section"] == (record["section"] or "")
        assert int(row["revision"]) == record["revision"]
    assert "\n\n" in rows[0]["body"]
    # The fields RECORD.md added, in its order: section after language, the codes after
    # the countries they are of.
    assert RECORD_FIELDS[3:7] == ("language", "section", "countries", "country_codes")
    peru = next(record for record in records if record["url"] == SAMPLE[0].url)
    assert (peru["section"], peru["countries"], peru["country_codes"]) == ("Perú", ["Perú"], ["PE"])
    colombia = next(row for row in rows if row["url"] == SAMPLE[3].url)
    assert (colombia["section"], colombia["country_codes"]) == ("", '["CO"]')


def test_sqlite_snapshot_is_consistent_while_a_crawl_writes(tmp_path):
    source = tmp_path / "live.sqlite"
    build_archive(source, [brief(f"seed-{i}", body="x " * 5000) for i in range(200)]).close()
    stop = threading.Event()
    written = []

    def crawl() -> None:
        db = archive.connect(source)
        number = 0
        while not stop.is_set():
            record = brief(f"during-{number}", body="police " * 300)
            archive.store_capture(db, capture_for(record, LATER), record)
            written.append(number)
            number += 1
        db.close()

    writer = threading.Thread(target=crawl)
    writer.start()
    try:
        copies = []
        for number in range(8):
            while len(written) < 5 * (number + 1):  # the crawl writes between the copies
                stop.wait(0.001)
            copies.append(tmp_path / f"copy-{number}.sqlite")
            snapshot_sqlite(source, copies[-1])
    finally:
        stop.set()
        writer.join()
    seen = set()
    for copy in copies:
        assert not Path(f"{copy}-wal").exists()
        conn = sqlite3.connect(copy)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO briefs_fts (briefs_fts, rank) VALUES ('integrity-check', 1)")
        captures, briefs, revisions = conn.execute(
            "SELECT (SELECT COUNT(*) FROM captures), (SELECT COUNT(*) FROM briefs),"
            " (SELECT COUNT(*) FROM revisions)"
        ).fetchone()
        # Each write is a capture, a brief and a revision: a copy never holds part of one.
        assert captures == briefs == revisions
        assert conn.execute("SELECT COUNT(*) FROM briefs_fts WHERE briefs_fts MATCH 'police'")
        seen.add(briefs)
        conn.close()
    assert len(seen) > 1, "the crawl wrote while the copies were taken"


def test_incremental_snapshots_hold_what_changed_since(crawled, tmp_path):
    since = "2026-01-15"
    export(crawled, "jsonl", tmp_path / "new.jsonl", "--since", since)
    records = [json.loads(line) for line in (tmp_path / "new.jsonl").read_text().splitlines()]
    assert {r["url"] for r in records} == {SAMPLE[1].url, SAMPLE[3].url}
    export(crawled, "sqlite", tmp_path / "new.sqlite", "--since", since)
    db = archive.connect(tmp_path / "new.sqlite", readonly=True)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute("SELECT url, revision FROM briefs ORDER BY url").fetchall() == sorted(
        [(SAMPLE[1].url, 2), (SAMPLE[3].url, 1)]
    )
    assert db.execute("SELECT COUNT(*) FROM revisions").fetchone() == (2,)
    assert db.execute("SELECT COUNT(*) FROM captures").fetchone() == (3,)
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (3,)  # every run
    assert [hit.url for hit in search(db, "disbands")] == [SAMPLE[1].url]
    db.close()
    export(crawled, "warc", tmp_path / "new.warc.gz", "--since", since)
    with (tmp_path / "new.warc.gz").open("rb") as stream:
        dates = [
            r.rec_headers.get_header("WARC-Date")
            for r in ArchiveIterator(stream)
            if r.rec_type == "response"
        ]
    assert dates == ["2026-02-01T00:00:00Z"] * 3


def warc_records(path: Path) -> list[tuple[str, object, bytes]]:
    with path.open("rb") as stream:
        return [(r.rec_type, r, r.raw_stream.read()) for r in ArchiveIterator(stream)]


def test_warc_holds_exact_bytes_and_verifies(crawled, tmp_path):
    out = tmp_path / "captures.warc.gz"
    export(crawled, "warc", out)
    records = warc_records(out)
    assert records[0][0] == "warcinfo"
    assert [kind for kind, _, _ in records[1:4]] == ["request", "response", "metadata"]
    responses = [(r, payload) for kind, r, payload in records if kind == "response"]
    assert len(responses) == 2 + 2 + 3  # the failed 500 keeps its body; the others have none
    encoded = next(
        (r, p) for r, p in responses if r.rec_headers.get_header("WARC-Target-URI") == SAMPLE[0].url
        and r.rec_headers.get_header("WARC-Date") == "2026-01-01T00:00:00Z"
        and p == RAW
    )  # fmt: skip
    record, _ = encoded
    assert record.http_headers.protocol == "HTTP/1.1"
    assert record.http_headers.statusline == "200 OK"
    names = [name.lower() for name, _ in record.http_headers.headers]
    assert "content-encoding" not in names and "transfer-encoding" not in names
    assert record.http_headers.get_header("Content-Length") == str(len(RAW))
    assert [v for n, v in record.http_headers.headers if n == "Set-Cookie"] == ["a=1", "b=2"]
    statuses = sorted(r.http_headers.statusline for r, _ in responses)
    assert statuses.count("500 Internal Server Error") == 1
    metadata = [payload.decode() for kind, _, payload in records if kind == "metadata"]
    assert len(metadata) == 9
    assert any(
        "original-header: Content-Encoding: gzip" in text and "outcome: new" in text
        for text in metadata
    )
    assert any("error: timeout" in text and "outcome: failed" in text for text in metadata)
    assert any("outcome: skipped" in text and "not_a_brief" in text for text in metadata)
    check = subprocess.run([tool("warcio"), "check", "-v", str(out)], capture_output=True)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    assert check.stdout.decode().count("digest pass") == len(records)
    # And a damaged file is caught: the check is real.
    damaged = tmp_path / "damaged.warc"
    plain = tmp_path / "plain.warc"
    export(crawled, "warc", plain)
    damaged.write_bytes(plain.read_bytes().replace(b"raw bytes", b"RAW BYTES"))
    assert subprocess.run([tool("warcio"), "check", str(damaged)]).returncode != 0


def bag_info(bag: Path) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in (bag / "bag-info.txt").read_text().splitlines())


@pytest.mark.realtool
def test_bag_validates_and_names_its_source(crawled, tmp_path):
    bag = tmp_path / "bag"
    export(crawled, "bagit", bag, "--with-warc", "--with-wacz", "--title", "Bagged briefs")
    payload = sorted(p.name for p in (bag / "data").iterdir())
    assert payload == [
        "briefs.csv", "briefs.jsonl", "briefs.sqlite", "briefs.wacz", "captures.warc.gz"
    ]  # fmt: skip
    info = bag_info(bag)
    assert info["Source-Site"] == SITE
    assert info["Capture-Date-Range"] == f"{FIRST}/{LATER}"
    assert info["Record-Count"] == "4"
    assert f"briefs {version('briefs')}" in info["Bag-Software-Agent"]
    assert "as WARC and as WACZ" in info["External-Description"]
    assert len((bag / "data" / "briefs.jsonl").read_text().splitlines()) == 4
    # RFC 8493's BagIt 1.0, which bagit.py itself reads back and validates as such.
    assert (bag / "bagit.txt").read_bytes() == (
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    )
    made = bagit.Bag(str(bag))
    assert made.version_info == (1, 0)
    made.validate()
    for algorithm in ("sha256", "sha512"):
        listed = (bag / f"manifest-{algorithm}.txt").read_text().split()
        assert "data/briefs.wacz" in listed and "data/captures.warc.gz" in listed
        assert "bagit.txt" in (bag / f"tagmanifest-{algorithm}.txt").read_text().split()
    validate = subprocess.run([tool("bagit.py"), "--validate", str(bag)], capture_output=True)
    assert validate.returncode == 0, validate.stderr.decode()[-2000:]
    # The WACZ in it is the one `--format wacz` makes, of the bag's own snapshot.
    wacz = subprocess.run(
        [tool("wacz"), "validate", "-f", str(bag / "data" / "briefs.wacz")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert wacz.returncode == 0, wacz.stdout
    with zipfile.ZipFile(bag / "data" / "briefs.wacz") as package:
        assert json.loads(package.read("datapackage.json"))["title"] == "Bagged briefs"
        assert len(package.read("pages/pages.jsonl").splitlines()) == 1 + 4
    (bag / "data" / "briefs.csv").write_text("tampered")
    assert subprocess.run(
        [tool("bagit.py"), "--validate", str(bag)], capture_output=True
    ).returncode
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag)).validate()


INSTITUTION = {
    "--source-organization": ("Source-Organization", "Biblioteca Nacional"),
    "--organization-address": ("Organization-Address", "Calle 24 # 5-60, Bogotá, Colombia"),
    "--contact-name": ("Contact-Name", "Ana Gómez"),
    "--contact-phone": ("Contact-Phone", "+57 601 381 6464"),
    "--contact-email": ("Contact-Email", "ana.gomez@example.org"),
    "--external-identifier": ("External-Identifier", "ark:/12345/briefs-2026"),
    "--external-description": ("External-Description", "Briefs of 2026, as deposited."),
    "--bagit-profile-identifier": (
        "BagIt-Profile-Identifier", "https://example.org/profiles/web-archive.json"
    ),
}  # fmt: skip


def test_bag_info_carries_the_institutions_fields_from_options_or_settings(crawled, tmp_path):
    bag = tmp_path / "bag"
    options = [part for option, (_, value) in INSTITUTION.items() for part in (option, value)]
    export(crawled, "bagit", bag, *options)
    info = bag_info(bag)
    for label, value in INSTITUTION.values():
        assert info[label] == value, label
    assert info["Source-Site"] == SITE and info["Record-Count"] == "4"  # briefs' own, still
    bagit.Bag(str(bag)).validate()
    # From the environment (crawler/settings.py names each), an option overriding it.
    env = {
        **os.environ,
        "BRIEFS_BAG_SOURCE_ORGANIZATION": "Archivo General",
        "BRIEFS_BAG_CONTACT_EMAIL": "archivo@example.org",
    }
    from_env = tmp_path / "from-env"
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "export", "--db", str(crawled), "--format", "bagit",
         "-o", str(from_env), "--contact-email", "desk@example.org"],
        env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    info = bag_info(from_env)
    assert info["Source-Organization"] == "Archivo General"
    assert info["Contact-Email"] == "desk@example.org"
    assert "Contact-Name" not in info  # no value, no field
    assert all(
        getattr(settings, f"BRIEFS_BAG_{label.upper().replace('-', '_')}") == ""
        for label, _ in INSTITUTION.values()
    )


def test_exports_are_deterministic(crawled, tmp_path):
    for fmt, name in (("jsonl", "x.jsonl"), ("csv", "x.csv"), ("sqlite", "x.sqlite"),
                      ("warc", "x.warc.gz")):  # fmt: skip
        export(crawled, fmt, tmp_path / "1" / name)
        export(crawled, fmt, tmp_path / "2" / name)
        first, second = ((tmp_path / n / name).read_bytes() for n in "12")
        assert first == second, fmt
    export(crawled, "bagit", tmp_path / "1" / "bag", "--with-warc")
    export(crawled, "bagit", tmp_path / "2" / "bag", "--with-warc")
    files = sorted(p.relative_to(tmp_path / "1") for p in (tmp_path / "1").rglob("*"))
    assert files == sorted(p.relative_to(tmp_path / "2") for p in (tmp_path / "2").rglob("*"))
    for file in files:
        if (tmp_path / "1" / file).is_file() and not file.name.startswith("tagmanifest"):
            lines = [
                [line for line in (tmp_path / n / file).read_bytes().splitlines()
                 if not line.startswith(b"Bagging-Date")]
                for n in "12"
            ]  # fmt: skip
            assert lines[0] == lines[1], file


@pytest.mark.parametrize("fmt", ["sqlite", "warc", "bagit", "csv"])
def test_existing_target_is_kept_unless_forced(crawled, tmp_path, fmt):
    target = tmp_path / f"out.{fmt}"
    target.write_text("keep me")
    refused = briefs_command("export", "--db", str(crawled), "--format", fmt, "-o", str(target))
    assert refused.returncode == 1 and b"--force" in refused.stderr
    assert target.read_text() == "keep me"
    export(crawled, fmt, target, "--force")
    assert target.exists() and not target.with_name(target.name + ".partial").exists()
    assert target.is_dir() if fmt == "bagit" else target.read_bytes() != b"keep me"


def test_progress_bar_on_a_terminal_only(crawled, tmp_path):
    command = ["--db", str(crawled), "--format", "jsonl", "-o", str(tmp_path / "t.jsonl")]
    status, output = run_in_terminal([sys.executable, "-m", "crawler", "export", *command])
    assert status == 0 and "100%" in output and "wrote 4 records" in output
    piped = briefs_command("export", *command, "--force")
    assert piped.returncode == 0 and b"%" not in piped.stderr
    assert piped.stderr.decode().strip() == f"wrote 4 records to {tmp_path / 't.jsonl'}"


class Sink:
    """Takes what is written and keeps none of it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def test_exports_stream_in_flat_memory(tmp_path):
    def peaks(count: int) -> dict[str, int]:
        path = tmp_path / f"{count}.sqlite"
        build_archive(path, [brief(f"b-{i}", body="word " * 2000) for i in range(count)]).close()
        db = archive.connect(path, readonly=True)
        found = {}
        for name, write in (
            ("jsonl", lambda out: archive.write_jsonl(db, out)),
            ("csv", lambda out: archive.write_csv(db, out)),
            ("warc", lambda out: write_warc(db, out)),
        ):
            tracemalloc.start()
            assert write(Sink()) == count
            found[name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        db.close()
        return found

    # 20 times the briefs (4 MB of bodies more), about the same memory.
    small, large = peaks(20), peaks(400)
    for name in small:
        assert large[name] < 2 * small[name] + 500_000, (name, small[name], large[name])
