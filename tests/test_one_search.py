"""One search everywhere: `briefs search` (a process of its own), the Python API, Datasette's
search box and its JSON API under `briefs serve` find the same briefs in the same order for
the same query; and the index is one that sqlite-utils and a plain Datasette recognise."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

import archive
from archive.search import search
from crawler.cli import main
from tests.test_search import SAMPLE, brief, build_archive, capture_for
from tests.test_serve import served

RECORDS = [
    *SAMPLE,
    brief(
        "mexico-purga-a-la-policia-estatal",
        title="México purga a la policía estatal",
        language="es",
        published="2021-03-01T10:00:00+00:00",
        section="México",
        countries=["México"],
        country_codes=["MX"],
        tags=["Policía"],
        body="Cientos de policías fueron destituidos en Jalisco.\n\nLa cocaína sigue llegando.",
    ),
    brief(
        "honduras-bus-drivers",
        title="Honduras Bus Drivers Strike",
        published="2022-01-10T09:00:00+00:00",
        section="Honduras",
        countries=["Honduras"],
        country_codes=["HN"],
        authors=["Steven Dudley"],
        tags=["Extortion", "Gangs"],  # the word is in its tags only
        summary="Drivers stop work after another killing.",
        body="Gangs charge a weekly fee to every bus route in Tegucigalpa.\n\nState police"
        " patrol the terminals.",
    ),
    brief(
        "ecuador-port-violence",
        title="Ecuador Port Violence Spreads",
        published="2023-06-01T09:00:00+00:00",
        countries=["Ecuador"],
        country_codes=["EC"],
        tags=["Cocaine", "Prisons"],
        summary="Guayaquil's port is a cocaine hub.",
        body="Cocaine leaves the port of Guayaquil in banana containers; the police say"
        " exporters pay gangs.\n\nPortable scanners arrived in May.",
    ),
]
# Words, a phrase, OR, NOT, prefixes, accents and case, a tag, an author, a column, NEAR, a
# country code, a section.
QUERIES = [
    "cocaine",
    "police",
    '"state police"',
    "peru OR honduras",
    "cocaine NOT peru",
    "port*",
    "PERÚ",
    "policia",
    "extortion",
    "dudley",
    "title:cocaine",
    "NEAR(cocaine police, 8)",
    "mx",
    '"drug trafficking"',
]


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("one-search") / "archive.sqlite"
    build_archive(path, RECORDS).close()
    return path


@pytest.fixture(scope="module")
def library(db_path) -> Iterator[sqlite_utils.Database]:
    db = archive.connect(db_path, readonly=True)
    yield db
    db.close()


@pytest.fixture(scope="module")
def server(db_path) -> Iterator[str]:
    """The base URL of the archive's database under `briefs serve`."""
    with served(db_path) as base:
        yield f"{base}/archive"


def cli_urls(db_path: Path, queries: list[str]) -> dict[str, list[str]]:
    """Each query's hits from `briefs search --format json`, each a process of its own (run
    side by side)."""
    processes = {
        query: subprocess.Popen(
            [sys.executable, "-m", "crawler", "search", query, "--db", str(db_path),
             "--format", "json", "--limit", "100"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for query in queries
    }  # fmt: skip
    found = {}
    for query, process in processes.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        found[query] = [hit["url"] for hit in json.loads(out)]
    return found


def runner_urls(db_path: Path, query: str) -> list[str]:
    """The same command run in this process (a process each for every query is slow)."""
    result = CliRunner().invoke(
        main, ["search", query, "--db", str(db_path), "--format", "json", "--limit", "100"]
    )
    assert result.exit_code == 0, result.output
    return [hit["url"] for hit in json.loads(result.stdout)]


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def box_fields(server: str) -> list[tuple[str, str]]:
    """What Datasette's search box sends, as the briefs table's page gives its form (the
    query left to type in)."""
    page = get(f"{server}/briefs")
    form = page[page.index('<form class="filters"') :]
    form = form[: form.index("</form>")]
    fields = []
    for tag in re.findall(r"<(?:input|select)[^>]*>", form):
        if (named := re.search(r'name="([^"]+)"', tag)) is None:
            continue  # a button
        if 'type="checkbox"' in tag and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields.append((named.group(1), html.unescape(value.group(1)) if value else ""))
    # A <select> sends the option it shows selected.
    selected = re.search(r'<option value="([^"]+)" selected>', form)
    return [(n, selected.group(1) if n == "_sort" and selected else v) for n, v in fields]


def box_urls(server: str, fields: list[tuple[str, str]], query: str) -> list[str]:
    """The hits Datasette's page shows when its search box is sent with `query` typed in."""
    sent = [(name, query if name == "_search" else value) for name, value in fields]
    return page_urls(get(f"{server}/briefs?{urllib.parse.urlencode(sent)}"))


def page_urls(page: str) -> list[str]:
    return [html.unescape(url) for url in re.findall(r'<li data-url="([^"]+)"', page)]


def json_urls(server: str, query: str) -> list[str]:
    found = json.loads(get(f"{server}/briefs.json?{urllib.parse.urlencode({'_search': query})}"))
    url = found["columns"].index("url")
    return [row[url] for row in found["rows"]]


def test_every_search_finds_the_same_briefs_in_the_same_order(db_path, library, server):
    in_processes = cli_urls(db_path, ["cocaine", "peru OR honduras", "extortion", "PERÚ"])
    fields = box_fields(server)
    assert {name for name, _ in fields} >= {"_search", "_sort", "_filter_column"}
    for query in QUERIES:
        expected = [hit.url for hit in search(library, query, limit=None)]
        assert expected, query  # each query finds something
        assert in_processes.get(query, expected) == expected, query
        assert runner_urls(db_path, query) == expected, query
        assert box_urls(server, fields, query) == expected, query
        assert json_urls(server, query) == expected, query
    # A tag's name finds what it tags, though no text says it.
    assert in_processes["extortion"] == [RECORDS[5].url]


def test_datasette_counts_and_pages_as_the_library(library, server):
    query = "cocaine OR police"
    expected = [hit.url for hit in search(library, query, limit=None)]
    found = json.loads(get(f"{server}/briefs.json?_search={urllib.parse.quote(query)}&_size=2"))
    assert found["total"] == archive.search.count(library, query) == len(expected)
    paged = []
    while True:
        paged += [row[0] for row in found["rows"]]
        if found["next_url"] is None:
            break
        found = json.loads(get(found["next_url"]))
    assert paged == expected
    page = get(f"{server}/briefs?_search={urllib.parse.quote(query)}")
    assert f"{len(expected)} briefs match" in page
    objects = json.loads(get(f"{server}/briefs.json?_search=extortion&_shape=objects"))["rows"]
    assert objects[0]["snippet"] == "Tags: [Extortion], Gangs" and objects[0]["tags"] == [
        "Extortion",
        "Gangs",
    ]


def test_datasette_tells_a_bad_query_and_leaves_sorted_searches_to_the_table(server):
    with pytest.raises(urllib.error.HTTPError) as bad:
        get(f"{server}/briefs.json?_search=police%20AND")
    assert bad.value.code == 400
    assert "not a valid search query" in json.load(bad.value)["error"]
    # By date, with facets: Datasette's own table view, on the same index and syntax.
    table = json.loads(
        get(f"{server}/briefs.json?_search=peru%20OR%20honduras&_sort_desc=published")
    )
    assert "facet_results" in table
    newest = [RECORDS[3].url, RECORDS[5].url, RECORDS[0].url]  # Colombia's body names Peru
    assert [row[0] for row in table["rows"]] == newest


def test_sqlite_utils_search_ranks_as_briefs_search(db_path, library):
    for query in ("cocaine", "police", "peru OR honduras", "extortion", "port*"):
        ranked = subprocess.run(
            [shutil.which("sqlite-utils") or "sqlite-utils", "search", str(db_path), "briefs",
             query, "-c", "url"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        expected = [hit.url for hit in search(library, query, limit=None)]
        assert [row["url"] for row in json.loads(ranked.stdout)] == expected, query
    table = sqlite_utils.Database(db_path)["briefs"]
    assert [row["url"] for row in table.search("peru")] == [
        hit.url for hit in search(library, "peru")
    ]


def test_the_index_follows_sqlite_utils_conventions(db_path, tmp_path):
    copy = tmp_path / "copy.sqlite"
    shutil.copy(db_path, copy)
    db = sqlite_utils.Database(copy)
    table = db["briefs"]
    assert table.detect_fts() == "briefs_fts"
    assert {t.name for t in table.triggers} == {"briefs_ai", "briefs_ad", "briefs_au"}
    table.rebuild_fts()
    db.execute("INSERT INTO briefs_fts (briefs_fts, rank) VALUES ('integrity-check', 1)")
    # sqlite-utils finds the index's triggers by what they write to: it removes them all.
    table.disable_fts()
    assert table.detect_fts() is None and table.triggers == []
    assert not db["briefs_fts"].exists()
    db.close()


def test_a_plain_datasette_offers_the_search(db_path):
    from datasette.app import Datasette
    from datasette.plugins import pm

    # No metadata, no plugin of briefs: what `datasette briefs.sqlite` shows.
    from archive.datasette.server import PLUGINS

    ours = [pm.get_plugin(name) for name in PLUGINS]
    for plugin in ours:
        if plugin is not None:
            pm.unregister(plugin)
    try:

        async def fetch() -> tuple[str, dict]:
            plain = Datasette([str(db_path)])
            page = await plain.client.get("/archive/briefs")
            found = await plain.client.get("/archive/briefs.json?_search=peru&_shape=objects")
            return page.text, found.json()

        page, found = asyncio.run(fetch())
    finally:
        for name, plugin in zip(PLUGINS, ours, strict=True):
            if plugin is not None:
                pm.register(plugin, name=name)
    assert 'name="_search"' in page
    assert {row["url"] for row in found["rows"]} == {RECORDS[0].url, RECORDS[3].url}


def test_an_edited_brief_is_found_by_its_new_words_everywhere(tmp_path):
    # The triggers keep the recognised index in step, as sqlite-utils' own would.
    path = tmp_path / "a.sqlite"
    db = build_archive(path, SAMPLE[:2])
    edited = replace(SAMPLE[1], tags=["Extortion"], section="Jalisco")
    archive.store_capture(db, capture_for(edited, "2026-02-01T00:00:00+00:00"), edited)
    assert [hit.url for hit in search(db, "extortion jalisco")] == [SAMPLE[1].url]
    assert [row["url"] for row in db["briefs"].search("extortion")] == [SAMPLE[1].url]
    db.close()
