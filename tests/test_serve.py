"""`briefs serve`: Datasette on the archive, checked through real HTTP requests."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local_servers import free_port
from tests.processes import stop
from tests.test_search import SAMPLE, SITE, build_archive


@contextlib.contextmanager
def served(db: Path) -> Iterator[str]:
    """`briefs serve` on a free port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "serve", "--db", str(db), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"briefs serve did not start: {output[-3000:]}")
                time.sleep(0.1)
        yield base
    finally:
        stop(process)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(base URL, database path in URLs) of a served small archive."""
    db = tmp_path_factory.mktemp("serve") / "archive.sqlite"
    build_archive(db).close()
    with served(db) as base:
        yield base, f"{base}/archive"


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_search_finds_the_peru_brief(server):
    _, db = server
    found = get_json(f"{db}/briefs.json?_search=peru&_shape=objects")
    titles = {row["title"] for row in found["rows"]}
    assert SAMPLE[0].title in titles  # "Perú …": diacritics folded
    assert SAMPLE[1].title not in titles


def test_facets_on_lists_language_and_year(server):
    _, db = server
    data = get_json(f"{db}/briefs.json")
    facets = data["facet_results"]
    assert {"country_codes", "section", "authors", "tags", "language", "year"} <= set(facets)
    # By code: one count per country whichever language its briefs name it in.
    codes = {item["value"]: item["count"] for item in facets["country_codes"]["results"]}
    assert codes == {"MX": 2, "PE": 1, "PG": 1, "CO": 1}
    sections = {item["value"]: item["count"] for item in facets["section"]["results"]}
    assert sections == {"Mexico": 1, "Perú": 1, "Drug Trafficking": 1}
    years = {item["value"] for item in facets["year"]["results"]}
    assert years == {"2019", "2020", "2021", "2022"}
    languages = {item["value"]: item["count"] for item in facets["language"]["results"]}
    assert languages == {"en": 3, "es": 1}


def test_the_views_show_codes_and_sections(server):
    _, db = server
    countries = get_json(f"{db}/brief_countries.json?_shape=objects&name=Per%C3%BA")
    assert [(row["name"], row["country_code"]) for row in countries["rows"]] == [("Perú", "PE")]
    by_code = get_json(f"{db}/brief_countries.json")["facet_results"]["country_code"]
    assert {item["value"]: item["count"] for item in by_code["results"]}["MX"] == 2
    sections = get_json(f"{db}/brief_sections.json?_shape=objects&_sort=published")
    assert [(row["section"], row["country_code"]) for row in sections["rows"]] == [
        ("Perú", "PE"),
        ("Drug Trafficking", None),
        ("Mexico", "MX"),
    ]


def test_raw_bodies_are_hidden_from_table_views_only(server):
    _, db = server
    captures = get_json(f"{db}/captures.json")
    assert "body_gzip" not in captures["columns"] and "body_sha256" in captures["columns"]
    briefs = get_json(f"{db}/briefs.json")
    assert "body" not in briefs["columns"] and "title" in briefs["columns"]
    assert "body" in get_json(f"{db}/briefs.json?_col=body")["columns"]
    assert "body_gzip" in get_json(f"{db}/captures/1.json")["columns"]


def test_metadata_describes_the_archive_and_is_read_only(server):
    base, db = server
    metadata = get_json(f"{base}/-/metadata.json")
    assert metadata["title"] == "briefs archive" and metadata["source"] == SITE
    tables = metadata["databases"]["archive"]["tables"]
    table = tables["briefs"]
    assert table["fts_table"] == "briefs_fts" and "published" in table["columns"]
    assert "ISO 3166-1" in table["columns"]["country_codes"] and table["columns"]["section"]
    assert "country_code" in tables["brief_countries"]["columns"]
    assert "section" in tables["brief_sections"]["facets"]
    databases = get_json(f"{base}/-/databases.json")
    assert [(d["name"], d["is_mutable"]) for d in databases] == [("archive", False)]
    with urllib.request.urlopen(f"{db}", timeout=10) as page:
        assert "A briefs archive" in page.read().decode()


def test_serve_refuses_a_missing_archive(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "serve", "--db", str(tmp_path / "none.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "no archive" in result.stderr


def test_the_column_descriptions_name_real_columns_and_every_outcome(tmp_path):
    import archive
    from archive.datasette_metadata import TABLES

    db = archive.connect(tmp_path / "a.sqlite")
    for table, described in TABLES.items():
        columns = {row[1] for row in db.execute(f"PRAGMA table_xinfo({table})")}
        assert set(described.get("columns", {})) <= columns, table
    outcomes = TABLES["captures"]["columns"]["outcome"]
    assert all(outcome.value in outcomes for outcome in archive.Outcome)
    db.close()
