"""`briefs serve`: Datasette on the archive, checked through real HTTP requests: the metadata,
facets and views, a brief's page, the canned queries, the chart, the options passed through
to Datasette (and the plugins it loads), and that nothing can write to the archive."""

from __future__ import annotations

import contextlib
import hashlib
import http.cookiejar
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from datasette.utils import tilde_encode

import archive
from crawler.cli import main
from tests.local_servers import free_port
from tests.processes import stop
from tests.test_search import MEXICO_ES, SAMPLE, SITE, build_archive, capture_for, readme_queries

# SAMPLE's Mexico brief with what a brief page shows besides: a translation the archive
# holds, a related brief it holds and one it does not, and three blocks of body.
MEXICO = replace(
    SAMPLE[1],
    translations={"es": MEXICO_ES.url},
    related=[
        {"url": SAMPLE[2].url, "title": SAMPLE[2].title, "section": "Drug Trafficking",
         "date": "2020-07-01"},
        {"url": f"{SITE}/investigations/elsewhere/", "title": "An Investigation Elsewhere",
         "section": "Investigations", "date": "2019-01-10"},
    ],
    body="Hundreds of police officers were dismissed in Jalisco.\n\nCocaine seizures rose."
    "\n\nThe governor said more would follow.",
)  # fmt: skip
# Its next revision, seen by the second crawl.
MEXICO_EDITED = replace(MEXICO, body=MEXICO.body + "\n\nUpdate: forty more were dismissed.")
# The sites' edition of a brief that names the country "México".
FIRST_CRAWL = [SAMPLE[0], MEXICO, SAMPLE[2], MEXICO_ES]
SECOND_CRAWL = [SAMPLE[0], MEXICO_EDITED, SAMPLE[3]]


def build_served_archive(path: Path) -> None:
    """Two crawls: the first finds four briefs (both editions of the Mexico brief), the
    second one unchanged, the Mexico brief changed (revision 2) and the Colombia brief new."""
    db = build_archive(path, FIRST_CRAWL, at="2026-01-01T00:00:00+00:00")
    run_id = archive.start_run(db, SITE, {})
    for record in SECOND_CRAWL:
        capture = capture_for(record, "2026-02-01T00:00:00+00:00")
        archive.store_capture(db, capture, record, run_id=run_id)
    archive.finish_run(db, run_id, status="ok", counts={})
    db.close()


@contextlib.contextmanager
def served(db: Path, *options: str) -> Iterator[str]:
    """`briefs serve` (with `options` passed to Datasette) on a free port; yields its base
    URL."""
    port = free_port()
    command = [sys.executable, "-m", "crawler", "serve", "--db", str(db), "--port", str(port)]
    # Its log in a file, not a pipe no one reads: a pipe that fills up would stop the server.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([*command, *options], stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(base + "/-/versions.json", timeout=2).close()
                    break
                except (urllib.error.URLError, ConnectionError):
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        output = log.read().decode()[-3000:]
                        pytest.fail(f"briefs serve did not start: {output}")
                    time.sleep(0.1)
            yield base
        finally:
            stop(process)


# What the user's own --metadata says: merged over briefs' (its description of the briefs
# table wins, the rest of the table's metadata stays), with a canned query that would write.
USER_METADATA = {
    "databases": {
        "archive": {
            "tables": {"briefs": {"description": "Briefs, as our desk reads them"}},
            "queries": {"purge": {"sql": "DELETE FROM briefs", "write": True}},
        }
    }
}
# A plugin of the user's own (--plugins-dir): a script on every page.
USER_PLUGIN = """
from datasette import hookimpl

@hookimpl
def extra_body_script():
    return "window.deskPlugin = true;"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, str, Path]]:
    """(base URL, the database's URL, its file) of a served small archive, with options
    of Datasette's own passed through: --cors, --setting, --metadata, --plugins-dir."""
    folder = tmp_path_factory.mktemp("serve")
    db = folder / "archive.sqlite"
    build_served_archive(db)
    (folder / "metadata.json").write_text(json.dumps(USER_METADATA))
    (folder / "plugins").mkdir()
    (folder / "plugins" / "desk.py").write_text(USER_PLUGIN)
    options = [
        *("--cors", "--setting", "max_returned_rows", "500"),
        *("--metadata", str(folder / "metadata.json"), "--plugins-dir", str(folder / "plugins")),
    ]
    with served(db, *options) as base:
        yield base, f"{base}/archive", db


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def get_json(url: str) -> dict:
    return json.loads(get(url))


def brief_url(db: str, url: str) -> str:
    return f"{db}/briefs/{tilde_encode(url)}"


def test_search_finds_the_peru_brief(server):
    _, db, _ = server
    found = get_json(f"{db}/briefs.json?_search=peru&_shape=objects")
    titles = {row["title"] for row in found["rows"]}
    assert SAMPLE[0].title in titles  # "Perú …": diacritics folded
    assert SAMPLE[1].title not in titles


def test_facets_on_lists_language_and_year(server):
    _, db, _ = server
    data = get_json(f"{db}/briefs.json")
    facets = data["facet_results"]
    assert {"country_codes", "section", "authors", "tags", "language", "year"} <= set(facets)
    # By code: one count per country whichever language its briefs name it in.
    codes = {item["value"]: item["count"] for item in facets["country_codes"]["results"]}
    assert codes == {"MX": 3, "PE": 1, "PG": 1, "CO": 1}
    sections = {item["value"]: item["count"] for item in facets["section"]["results"]}
    assert sections == {"Mexico": 1, "México": 1, "Perú": 1, "Drug Trafficking": 1}
    years = {item["value"] for item in facets["year"]["results"]}
    assert years == {"2019", "2020", "2021", "2022"}
    languages = {item["value"]: item["count"] for item in facets["language"]["results"]}
    assert languages == {"en": 3, "es": 2}


def test_the_facets_name_countries_and_put_years_in_order(server):
    _, db, _ = server
    page = get(f"{db}/briefs")
    years = re.search(r'id="facet-year".*?</ul>', page, re.S).group()
    assert re.findall(r">(\d{4})</a>", years) == ["2019", "2020", "2021", "2022"]  # not by count
    codes = re.search(r'id="facet-country_codes".*?</ul>', page, re.S).group()
    assert re.findall(r'title="([A-Z]{2})">([^<]+)</a> (\d)', codes) == [
        ("MX", "Mexico", "3"),
        ("CO", "Colombia", "1"),
        ("PE", "Peru", "1"),
        ("PG", "Papua New Guinea", "1"),
    ]


def test_the_views_show_codes_sections_and_the_brief(server):
    _, db, _ = server
    countries = get_json(f"{db}/brief_countries.json?_shape=objects&name=Per%C3%BA")
    assert [(row["name"], row["country_code"]) for row in countries["rows"]] == [("Perú", "PE")]
    assert [(row["title"], row["published"]) for row in countries["rows"]] == [
        (SAMPLE[0].title, SAMPLE[0].published)
    ]
    by_code = get_json(f"{db}/brief_countries.json")["facet_results"]["country_code"]
    assert {item["value"]: item["count"] for item in by_code["results"]}["MX"] == 3
    sections = get_json(f"{db}/brief_sections.json?_shape=objects&_sort=published")
    assert [(row["section"], row["country_code"]) for row in sections["rows"]] == [
        ("Perú", "PE"),
        ("Drug Trafficking", None),
        ("Mexico", "MX"),
        ("México", "MX"),
    ]
    for view in ("brief_countries", "brief_authors", "brief_tags", "brief_sections"):
        columns = get_json(f"{db}/{view}.json")["columns"]
        assert {"url", "title", "published", "year", "language"} <= set(columns), view
    # In the browser, a view's title links to the brief's page.
    tags = get(f"{db}/brief_tags?name=Corruption")
    assert f'<a href="/archive/briefs/{tilde_encode(MEXICO.url)}">{MEXICO.title}</a>' in tags


def test_raw_bodies_are_hidden_from_table_views_only(server):
    _, db, _ = server
    captures = get_json(f"{db}/captures.json")
    assert "body_gzip" not in captures["columns"] and "body_sha256" in captures["columns"]
    briefs = get_json(f"{db}/briefs.json")
    assert "body" not in briefs["columns"] and "related" in briefs["columns"]
    assert "body" in get_json(f"{db}/briefs.json?_col=body")["columns"]
    assert "body_gzip" in get_json(f"{db}/captures/1.json")["columns"]


def folded_columns(page: str) -> set[str]:
    """The columns a table page's style hides."""
    found = re.search(r"((?:\.rows-and-columns \.col-\w+,? )+)\{ display: none; \}", page)
    return set(re.findall(r"\.col-(\w+)", found.group(1))) if found else set()


def test_a_table_of_briefs_reads_as_a_list_of_briefs(server):
    _, db, _ = server
    page = get(f"{db}/briefs")
    # The columns besides title, date, section, countries, authors and language are in the
    # page (and its JSON and CSV) but folded away, one link from view.
    folded = folded_columns(page)
    assert {"url", "related", "content_hash", "capture_id", "translations", "kind"} <= folded
    assert folded.isdisjoint({"title", "published", "section", "countries", "authors"})
    assert "language" not in folded
    assert 'class="briefs-all-columns" href="/archive/briefs?_nocol=body"' in page
    assert folded_columns(get(f"{db}/briefs?_nocol=body")) == set()
    assert folded_columns(get(f"{db}/briefs?_col=title&_col=related")) == set()
    # Lists as text, a day as the date, the title as the link to the brief's page.
    link = f'<a href="/archive/briefs/{tilde_encode(MEXICO.url)}">{MEXICO.title}</a>'
    mexico = page.split(link, 1)[1].split("</tr>", 1)[0]
    assert '<td class="col-authors type-str">Steven Dudley</td>' in mexico
    assert '<td class="col-tags type-str">Police Reform, Corruption</td>' in mexico
    assert f"{SAMPLE[2].title}; An Investigation Elsewhere</td>" in mexico
    assert '<time datetime="2021-03-01T09:00:00+00:00"' in mexico and ">2021-03-01</time>" in mexico
    assert "[" not in re.sub(r"<[^>]+>", "", mexico)  # no JSON
    # The column descriptions folded away; the feed linked.
    assert '<details class="briefs-columns">' in page
    assert (
        '<link rel="alternate" type="application/atom+xml" title="The newest briefs"'
        ' href="/archive/-/feeds/newest.atom">' in page
    )


def test_a_brief_page_reads_as_a_brief(server):
    _, db, _ = server
    page = get(brief_url(db, MEXICO.url))
    article = page.split('<article class="brief">', 1)[1].split("</article>", 1)[0]
    assert f"<h1>{MEXICO.title}</h1>" in article
    assert f"<title>{MEXICO.title}</title>" in page
    assert '<time datetime="2021-03-01T09:00:00+00:00">1 March 2021</time>' in article
    assert '<a class="brief-section" href="/archive/briefs?section=Mexico">Mexico</a>' in article
    assert 'href="/archive/briefs?country_codes__arraycontains=MX">Mexico</a>' in article
    assert 'href="/archive/briefs?authors__arraycontains=Steven+Dudley">Steven Dudley</a>' in (
        article
    )
    assert f'<a class="brief-original" href="{MEXICO.url}">' in article
    translation = (
        f'<a class="brief-translation" href="/archive/briefs/{tilde_encode(MEXICO_ES.url)}"'
    )
    assert translation in article
    # The body as its blocks, each a paragraph (the latest revision's).
    body = article.split('<div class="brief-body">', 1)[1].split("</div>", 1)[0]
    assert re.findall(r"<p>(.*?)</p>", body) == MEXICO_EDITED.body.split("\n\n")
    related = article.split('<section class="brief-related">', 1)[1].split("</section>", 1)[0]
    assert f'<a href="/archive/briefs/{tilde_encode(SAMPLE[2].url)}">{SAMPLE[2].title}</a>' in (
        related
    )
    assert '<a href="https://insightcrime.org/investigations/elsewhere/">An Investigation' in (
        related
    )
    revisions = article.split('<section class="brief-revisions">', 1)[1]
    rows = re.findall(r"<tr><td><a href=\"/archive/revisions/(\d+)\">(\d)</a>", revisions)
    assert [number for _, number in rows] == ["1", "2"]
    diff = f"/archive/-/diff?{urllib.parse.urlencode({'url': MEXICO.url, 'from': 1, 'to': 2})}"
    assert f'<a class="brief-diff" href="{diff.replace("&", "&amp;")}">' in revisions
    assert revisions.count('class="brief-diff"') == 1  # the first revision changed nothing
    assert ">2</a> (current)" in revisions
    # Every field as stored stays one click away; another table's row page is Datasette's.
    assert '<details class="brief-fields">' in page
    assert "<h1" in get(f"{db}/runs/1") and '<article class="brief">' not in get(f"{db}/runs/1")


def test_the_database_page_links_the_briefs_the_chart_and_the_feed(server):
    _, db, _ = server
    page = get(db)
    assert 'href="/archive/-/chart"' in page and 'href="/archive/briefs"' in page
    assert 'type="application/atom+xml"' in page and "/archive/-/feeds/newest.atom" in page


def test_the_readme_analyst_queries_are_canned_queries(server):
    _, db, path = server
    from archive.datasette.metadata import QUERIES

    # The README hard-codes a name where the canned query asks for it.
    params = {"author": "Steven Dudley", "tag": "Cocaine", "query": "peru"}
    by_title = {query["title"]: name for name, query in QUERIES.items()}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    for title, sql in readme_queries().items():
        name = by_title[title]
        wanted = {key: value for key, value in params.items() if f":{key}" in QUERIES[name]["sql"]}
        answer = get_json(f"{db}/{name}.json?_shape=arrays&{urllib.parse.urlencode(wanted)}")
        expected = [list(row) for row in conn.execute(sql)]
        assert answer["rows"] == expected and expected, title
    conn.close()
    # Their page asks for the parameter, and links a title to the brief's page.
    page = get(f"{db}/author_briefs?author=Steven+Dudley")
    assert 'name="author"' in page
    assert f'<a href="/archive/briefs/{tilde_encode(MEXICO.url)}">{MEXICO.title}</a>' in page


def test_the_chart_counts_briefs_a_month_with_filters(server):
    _, db, _ = server
    page = get(f"{db}/-/chart?country=M%C3%A9xico&tag=corruption")
    bars = re.findall(r'data-month="([\d-]+)" data-briefs="(\d+)"', page)
    assert bars == [("2021-03", "1")]  # the English Mexico brief: the Spanish one has no tags
    assert 'value="México"' in page and 'value="corruption"' in page
    # A bar links to its month's briefs in the table (the country by its code there).
    page = get(f"{db}/-/chart?country=M%C3%A9xico&tag=Corruption")
    href = re.search(r'<a href="(/archive/briefs\?published__startswith=2021-03[^"]+)">', page)
    assert "country_codes__arraycontains=MX" in href.group(1)
    table = get_json(f"{db}/briefs.json?{href.group(1).split('?')[1].replace('&amp;', '&')}")
    assert [row[0] for row in table["rows"]] == [MEXICO.url]
    with pytest.raises(urllib.error.HTTPError) as refused:
        get(f"{db}/-/chart?country=Atlantis")
    assert refused.value.code == 400 and "no country is called" in refused.value.read().decode()


def test_options_pass_through_to_datasette(server):
    base, db, _ = server
    assert get_json(f"{base}/-/settings.json")["max_returned_rows"] == 500  # --setting
    with urllib.request.urlopen(f"{db}/briefs.json", timeout=10) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"  # --cors
    assert "window.deskPlugin = true;" in get(f"{db}/briefs")  # --plugins-dir
    # --metadata, merged over briefs': its description wins, the rest of the table stays.
    metadata = get_json(f"{base}/-/metadata.json")
    briefs = metadata["databases"]["archive"]["tables"]["briefs"]
    assert briefs["description"] == "Briefs, as our desk reads them"
    assert "ISO 3166-1" in briefs["columns"]["country_codes"] and briefs["facets"]
    queries = metadata["databases"]["archive"]["queries"]
    assert {"purge", "author_briefs", "full_text_search"} <= set(queries)
    assert metadata["title"] == "briefs archive" and metadata["source"] == SITE


def test_nothing_writes_to_the_archive(server):
    base, db, path = server
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    # A canned query that writes (the user's metadata has one): Datasette refuses it.
    jar = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    cookies = urllib.request.build_opener(jar)
    with cookies.open(f"{db}/purge", timeout=10) as form:
        token = re.search(r'name="csrftoken" value="([^"]+)"', form.read().decode()).group(1)
    with pytest.raises(urllib.error.HTTPError) as refused:
        cookies.open(f"{db}/purge", data=urllib.parse.urlencode({"csrftoken": token}).encode())
    assert refused.value.code == 403 and "Database is immutable" in refused.value.read().decode()
    # Nor does SQL that is not a SELECT.
    for statement in ("DELETE FROM briefs", "UPDATE briefs SET title = 'x'", "VACUUM"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(f"{db}.json?{urllib.parse.urlencode({'sql': statement})}")
        assert refused.value.code == 400, statement
    assert len(get_json(f"{db}/briefs.json")["rows"]) == 5
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert [(d["name"], d["is_mutable"]) for d in get_json(f"{base}/-/databases.json")] == [
        ("archive", False)
    ]


def test_a_plugin_analysts_install_is_loaded(server):
    pytest.importorskip("datasette_vega", reason="datasette-vega is not installed (test extra)")
    base, db, _ = server
    plugins = {plugin["name"] for plugin in get_json(f"{base}/-/plugins.json")}
    assert {"datasette-vega", "archive.datasette"} <= plugins
    script = re.search(r'src="(/-/static-plugins/datasette_vega/[^"]+\.js)"', get(f"{db}/briefs"))
    assert script is not None and "vega" in get(base + script.group(1))  # bundled, not a CDN


def test_metadata_describes_the_archive(server):
    base, db, _ = server
    metadata = get_json(f"{base}/-/metadata.json")
    tables = metadata["databases"]["archive"]["tables"]
    table = tables["briefs"]
    assert table["fts_table"] == "briefs_fts" and "published" in table["columns"]
    assert "ISO 3166-1" in table["columns"]["country_codes"] and table["columns"]["section"]
    assert "country_code" in tables["brief_countries"]["columns"]
    assert "section" in tables["brief_sections"]["facets"]
    assert "A briefs archive" in get(db)


def briefs(*args: str | Path):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_serve_refuses_a_missing_archive(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "serve", "--db", str(tmp_path / "none.sqlite")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "no archive" in result.stderr


def test_serve_refuses_options_datasette_cannot_take_before_it_starts(tmp_path):
    db = tmp_path / "archive.sqlite"
    build_archive(db).close()
    (tmp_path / "bad.json").write_text("{not json")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).close()
    for options, words in (
        (["--no-such-option"], "no such option: --no-such-option"),
        (["--setting", "no_such_setting", "1"], "no_such_setting"),
        ([str(other)], "serves the archive at --db alone"),
        (["-i", str(other)], "serves the archive at --db alone"),
        (["--reload"], "--reload restarts Datasette"),
        (["--metadata", str(tmp_path / "bad.json")], "--metadata"),
    ):
        result = briefs("serve", "--db", db, *options)
        assert result.exit_code == 2, (options, result.output)
        assert words in result.output and "serving" not in result.output, options


def test_the_column_descriptions_name_real_columns_and_every_outcome(tmp_path):
    from archive.datasette.metadata import TABLES

    db = archive.connect(tmp_path / "a.sqlite")
    for table, described in TABLES.items():
        columns = {row[1] for row in db.execute(f"PRAGMA table_xinfo({table})")}
        assert set(described.get("columns", {})) <= columns, table
    outcomes = TABLES["captures"]["columns"]["outcome"]
    assert all(outcome.value in outcomes for outcome in archive.Outcome)
    db.close()


def test_a_plain_datasette_serves_the_archive_too(tmp_path):
    """Without briefs' plugin or metadata: the archive's own views and columns are enough."""
    db = tmp_path / "archive.sqlite"
    build_served_archive(db)
    script = textwrap.dedent(
        """
        import sys
        from datasette.cli import cli
        cli.main(["serve", "-i", sys.argv[1], "--get", sys.argv[2]], standalone_mode=False)
        """
    )
    answer = subprocess.run(
        [sys.executable, "-c", script, str(db), "/archive/brief_tags.json?_shape=objects"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert answer.returncode == 0, answer.stderr
    rows = json.loads(answer.stdout)["rows"]
    assert {(row["name"], row["title"]) for row in rows} >= {("Corruption", MEXICO.title)}
