"""`briefs export --format wacz`: py-wacz's zip of the WARC, its index and a page per brief;
`wacz validate` accepts it; --since; the pages at the URLs the WARC carries; no standard
output; and pywb replays the briefs' archived bytes from it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

import archive
from archive import Capture
from archive.wacz_export import write_wacz
from tests.test_reading_commands import briefs, one_line
from tests.test_search import SAMPLE, SITE, brief, build_archive, capture_for
from tests.test_snapshots import FIRST, LATER, RAW, export, tool, two_crawls

WACZ_FILES = [
    "archive/captures.warc.gz",
    "datapackage-digest.json",
    "datapackage.json",
    "indexes/index.cdx.gz",
    "indexes/index.idx",
    "pages/pages.jsonl",
]
# pywb pins redis 2.10 (==2.10.6), which briefs' own Redis client (redis>=5) cannot share an
# environment with: it is run from a virtualenv of its own, which .ci/run makes.
PYWB_VENV = Path(os.environ.get("BRIEFS_PYWB_VENV", Path.home() / ".cache" / "briefs" / "pywb"))


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Path:
    return two_crawls(tmp_path_factory.mktemp("wacz") / "archive.sqlite")


def pages(wacz: Path) -> list[dict]:
    with zipfile.ZipFile(wacz) as package, package.open("pages/pages.jsonl") as stream:
        header, *lines = (json.loads(line) for line in stream)
    assert header["format"] == "json-pages-1.0" and header["id"] == "pages"
    return lines


def warc_of(wacz: Path) -> bytes:
    with zipfile.ZipFile(wacz) as package:
        return package.read("archive/captures.warc.gz")


def responses(warc: Path) -> dict[tuple[str, str], bytes]:
    """The payload of each response record of `warc`, by its URI and 14-digit timestamp."""
    found = {}
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                key = (
                    record.rec_headers.get_header("WARC-Target-URI"),
                    iso_date_to_timestamp(record.rec_headers.get_header("WARC-Date")),
                )
                found.setdefault(key, record.content_stream().read())
    return found


def validate(wacz: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True, timeout=120
    )


@pytest.mark.realtool
def test_wacz_validates_with_the_warc_its_index_and_a_page_per_brief(crawled, tmp_path):
    out = tmp_path / "briefs.wacz"
    result = export(crawled, "wacz", out, "--title", "Our briefs", "--description", "For tests.")
    assert result.stderr.decode() == f"wrote 4 pages to {out}\n"
    assert result.stdout == b""  # py-wacz's account of its work is not printed
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == WACZ_FILES
        datapackage = json.loads(package.read("datapackage.json"))
        index = package.read("indexes/index.cdx.gz")
    assert datapackage["title"] == "Our briefs" and datapackage["description"] == "For tests."
    assert datapackage["wacz_version"] == "1.1.1"
    # The WARC is archive.warc's, byte for byte (an export of it under the same name).
    export(crawled, "warc", tmp_path / "warc" / "captures.warc.gz")
    assert warc_of(out) == (tmp_path / "warc" / "captures.warc.gz").read_bytes()
    # A page for each brief, titled as its latest revision, at the latest capture of it.
    lines = pages(out)
    assert [(page["url"], page["title"], page["ts"]) for page in lines] == [
        (SAMPLE[2].url, SAMPLE[2].title, "2026-01-01T00:00:00Z"),  # captured in run 1 only
        (SAMPLE[0].url, SAMPLE[0].title, "2026-02-01T00:00:00Z"),
        (SAMPLE[1].url, "Mexico Disbands State Police", "2026-02-01T00:00:00Z"),  # changed
        (SAMPLE[3].url, SAMPLE[3].title, "2026-02-01T00:00:00Z"),
    ]
    assert len({page["id"] for page in lines}) == 4
    held = responses(tmp_path / "warc" / "captures.warc.gz")
    for page in lines:
        assert (page["url"], iso_date_to_timestamp(page["ts"])) in held
    assert index.startswith(b"\x1f\x8b")  # py-wacz's compressed CDXJ (index.idx its blocks)
    check = validate(out)
    assert check.returncode == 0 and "the passed WACZ is valid" in check.stdout, check.stdout
    # And a damaged one is caught: the check is real.
    damaged = tmp_path / "damaged.wacz"
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(damaged, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            copy.writestr(item, data + b"\n" if item.filename == "pages/pages.jsonl" else data)
    assert validate(damaged).returncode != 0


def test_wacz_since_holds_what_changed_since(crawled, tmp_path):
    out = tmp_path / "new.wacz"
    export(crawled, "wacz", out, "--since", "2026-01-15")
    lines = pages(out)
    # The briefs new or changed since (SAMPLE[0] was seen again, unchanged: not among them).
    assert [page["url"] for page in lines] == [SAMPLE[1].url, SAMPLE[3].url]
    warc = tmp_path / "new.warc.gz"
    warc.write_bytes(warc_of(out))
    with warc.open("rb") as stream:
        dates = {
            r.rec_headers.get_header("WARC-Date")
            for r in ArchiveIterator(stream)
            if r.rec_type != "warcinfo"
        }
    assert dates == {"2026-02-01T00:00:00Z"}
    # Nothing since: a valid WACZ with no page (its pages.jsonl its header alone).
    empty = tmp_path / "empty.wacz"
    result = export(crawled, "wacz", empty, "--since", "2099-01-01")
    assert b"wrote 0 pages" in result.stderr and pages(empty) == []
    assert validate(empty).returncode == 0


def test_pages_are_at_the_url_and_capture_the_warc_holds(tmp_path):
    """A brief served elsewhere than its identity (the demo, a mirror) has its page at the URL
    its response record carries; a brief last seen by a 304 has it at its last whole capture."""
    db = archive.connect(tmp_path / "a.sqlite")
    run = archive.start_run(db, SITE, {})
    mirrored = brief("mirrored")
    served = "http://127.0.0.1:8080/news/brief/mirrored/"
    capture = capture_for(mirrored, FIRST)
    archive.store_capture(
        db, Capture(**{**capture.__dict__, "requested_url": served, "final_url": served}),
        mirrored, run_id=run,
    )  # fmt: skip
    revalidated = brief("revalidated")
    archive.store_capture(db, capture_for(revalidated, FIRST), revalidated, run_id=run)
    not_modified = Capture(
        requested_url=revalidated.url, final_url=revalidated.url, status=304,
        fetched_at=LATER, body=b"",
    )  # fmt: skip
    assert archive.store_capture(db, not_modified, run_id=run) == archive.Outcome.UNCHANGED
    bodiless = brief("bodiless")  # its body was not kept: no response, no page
    archive.store_capture(db, capture_for(bodiless, FIRST), bodiless, run_id=run)
    db.execute("UPDATE captures SET body_gzip = NULL WHERE brief_url = ?", [bodiless.url])
    archive.finish_run(db, run, status="ok", counts={})
    out = tmp_path / "a.wacz"
    assert write_wacz(db, out) == 2
    db.close()
    assert sorted((page["url"], page["ts"]) for page in pages(out)) == [
        (served, "2026-01-01T00:00:00Z"),
        (revalidated.url, "2026-01-01T00:00:00Z"),
    ]


def test_a_wacz_needs_a_path_of_its_own(crawled, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = briefs("export", "--db", crawled, "--format", "wacz", "-o", "-")
    one_line(result, 2, "-o PATH", "standard output")
    one_line(briefs("export", "--db", crawled, "--format", "wacz"), 2, "-o PATH")
    assert list(tmp_path.iterdir()) == []  # no file named "-"
    for option in ("--title", "--description"):
        result = briefs("export", "--db", crawled, "--format", "warc", option, "x")
        one_line(result, 2, option, "goes with --format wacz")
    # From the environment, they are defaults: used by a WACZ, and no error for another format.
    env = {**os.environ, "BRIEFS_WACZ_TITLE": "From the environment"}
    out = tmp_path / "env.wacz"
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "export", "--db", str(crawled), "--format", "wacz",
         "-o", str(out)], env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as package:
        assert json.loads(package.read("datapackage.json"))["title"] == "From the environment"
    other = subprocess.run(
        [sys.executable, "-m", "crawler", "export", "--db", str(crawled), "--format", "jsonl"],
        env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert other.returncode == 0 and len(other.stdout.splitlines()) == 4


def pywb_python() -> str:
    """A Python that has pywb: this one, or the one of its own virtualenv (PYWB_VENV); the
    test is skipped, saying why, when there is none."""
    if importlib.util.find_spec("pywb") is not None:
        return sys.executable
    python = PYWB_VENV / "bin" / "python"
    if python.exists():
        found = subprocess.run([str(python), "-c", "import pywb"], capture_output=True)
        if found.returncode == 0:
            return str(python)
    pytest.skip(
        f"pywb is not installed: it pins redis 2.10, which briefs' environment cannot"
        f" share; .ci/run makes a virtualenv of its own for it at {PYWB_VENV}"
        " (BRIEFS_PYWB_VENV)"
    )


# The start of a script run by pywb's Python in a fresh folder: a collection `coll`, and
# pywb's WSGI app in this process (`client`) to ask it.
PYWB_COLLECTION = """
import json, sys
from pywb.manager.manager import main as wb_manager
from pywb.apps.frontendapp import FrontEndApp
from werkzeug.test import Client
wb_manager(["init", "coll"])
"""


# Run by pywb's Python in a fresh folder: a collection made with wb-manager, the WACZ added
# to it (pywb 2.10 unpacks it: its WARC and its CDXJ index), then pywb's WSGI app, in this
# process, asked for each URL at its timestamp (id_: the archived bytes, not rewritten).
REPLAY = (
    PYWB_COLLECTION
    + """
wb_manager(["add", "--unpack-wacz", "coll", sys.argv[1]])
client = Client(FrontEndApp())
answers = []
for ts, url in json.loads(sys.argv[2]):
    got = client.get(f"/coll/{ts}id_/{url}")
    answers.append([got.status_code, got.headers.get("Content-Type"), got.get_data().hex()])
print(json.dumps(answers))
"""
)


@pytest.mark.realtool
def test_pywb_replays_the_briefs_archived_bytes_from_the_wacz(tmp_path):
    python = pywb_python()
    records = [SAMPLE[0], SAMPLE[3]]
    bodies = [RAW, b"<html><body>Colombia \xe2\x80\x94 peace</body></html>"]
    db = build_archive(tmp_path / "a.sqlite", [])
    for record, body in zip(records, bodies, strict=True):
        archive.store_capture(db, capture_for(record, LATER, body), record)
    out = tmp_path / "replay.wacz"
    assert write_wacz(db, out) == 2
    db.close()
    asked = [[iso_date_to_timestamp(page["ts"]), page["url"]] for page in pages(out)]
    assert sorted(url for _, url in asked) == sorted(record.url for record in records)
    folder = tmp_path / "pywb"
    folder.mkdir()
    done = subprocess.run(
        [python, "-c", REPLAY, str(out), json.dumps(asked)],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.splitlines()[-1])
    by_url = dict(zip((record.url for record in records), bodies, strict=True))
    for (_, url), (status, content_type, body) in zip(asked, answers, strict=True):
        assert status == 200, (url, bytes.fromhex(body)[:500])
        assert content_type == "text/html; charset=UTF-8"
        assert bytes.fromhex(body) == by_url[url]
    # And a URL the WACZ does not hold is not found: the answers above came from it.
    missing = subprocess.run(
        [python, "-c", REPLAY, str(out), json.dumps([[asked[0][0], SITE + "/news/brief/no/"]])],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert json.loads(missing.stdout.splitlines()[-1])[0][0] == 404
