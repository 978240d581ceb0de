"""Full-text search (migration, triggers, ranking, filters, CLI), the list views, and the
README's analyst queries, each run on a small archive."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

import archive
from archive import Capture
from archive.schema import MIGRATIONS, SCHEMA_VERSION, _statements
from archive.search import WEIGHTS, SearchQueryError, search
from cleaning.record import BriefRecord
from crawler.cli import main

REPO = Path(__file__).resolve().parent.parent
SITE = "https://insightcrime.org"


def brief(slug: str, **fields: object) -> BriefRecord:
    record = BriefRecord(
        url=f"{SITE}/news/brief/{slug}/",
        title=slug.replace("-", " ").title(),
        language="en",
        published="2021-02-08T02:27:00+00:00",
        summary="A summary.",
        body="A body.",
    )
    return replace(record, **fields)


SAMPLE = [
    brief(
        "peru-cocaine-ports",
        title="Perú Cocaine Moves Through Callao Ports",
        language="es",
        published="2019-05-01T10:00:00+00:00",
        section="Perú",
        countries=["Perú"],
        country_codes=["PE"],
        authors=["Ana Gómez"],
        tags=["Cocaine"],
        summary="Los puertos de Callao.",
        body="La cocaína sale por el puerto de Callao.\n\nLa policía incautó dos toneladas.",
    ),
    brief(
        "mexico-police-purge",
        title="Mexico Purges State Police",
        published="2021-03-01T09:00:00+00:00",
        section="Mexico",
        countries=["Mexico"],
        country_codes=["MX"],
        authors=["Steven Dudley"],
        tags=["Police Reform", "Corruption"],
        summary="Police officers dismissed.",
        body="Hundreds of police officers were dismissed in Jalisco.\n\nCocaine seizures rose.",
    ),
    brief(
        "guinea-cocaine-hub",
        title="Guinea Cocaine Hub",
        published="2020-07-01T09:00:00+00:00",
        section="Drug Trafficking",  # a theme: not one of its countries
        countries=["Papua New Guinea", "Mexico"],
        country_codes=["PG", "MX"],
        authors=["Ana Gómez", "Steven Dudley"],
        tags=["Cocaine"],
        summary="A new route.",
        body="Cocaine from Mexico reaches Port Moresby, police say.",
    ),
    brief(
        "colombia-peace-talks",
        title="Colombia Peace Talks Stall",
        published="2022-11-20T09:00:00+00:00",
        countries=["Colombia"],
        country_codes=["CO"],
        authors=[],
        tags=["Peace"],
        summary="Talks with the ELN stall.",
        body="Negotiators left Caracas without a deal. Peru offered to host the next round.",
    ),
]


def capture_for(record: BriefRecord, at: str, body: bytes | None = None) -> Capture:
    return Capture(
        requested_url=record.url,
        final_url=record.url,
        status=200,
        fetched_at=at,
        headers=[("Content-Type", "text/html; charset=UTF-8")],
        body=body if body is not None else f"<html><h1>{record.title}</h1></html>".encode(),
    )


def build_archive(path: Path, records=SAMPLE, at: str = "2026-01-01T00:00:00+00:00"):
    """An archive holding `records`, captured in one run at `at`; returns the open archive."""
    db = archive.connect(path)
    run_id = archive.start_run(db, SITE, {})
    for record in records:
        archive.store_capture(db, capture_for(record, at), record, run_id=run_id)
    archive.finish_run(db, run_id, status="ok", counts={"fetched": len(records)})
    return db


@pytest.fixture
def db(tmp_path):
    database = build_archive(tmp_path / "a.sqlite")
    yield database
    database.close()


def urls(hits) -> list[str]:
    return [hit.url.rsplit("/", 2)[1] for hit in hits]


def fts_ok(db) -> None:
    # rank = 1: also compare the index with the briefs table it indexes.
    db.execute("INSERT INTO briefs_fts (briefs_fts, rank) VALUES ('integrity-check', 1)")


def test_diacritics_and_case_are_folded(db):
    assert urls(search(db, "peru")) == ["peru-cocaine-ports", "colombia-peace-talks"]
    assert urls(search(db, "PERÚ")) == ["peru-cocaine-ports", "colombia-peace-talks"]
    assert urls(search(db, "policia")) == ["peru-cocaine-ports"]


def test_ranked_by_bm25_title_first_with_a_highlighted_snippet(db):
    hits = search(db, "police")
    assert urls(hits)[0] == "mexico-police-purge"  # in its title, summary and body
    assert set(urls(hits)) == {"mexico-police-purge", "guinea-cocaine-hub"}
    assert hits[0].score < hits[1].score
    # From the body, the one block that holds the match ("Cocaine seizures rose." does not).
    assert hits[0].snippet == "Hundreds of [police] officers were dismissed in Jalisco.…"
    assert "[police]" in search(db, "moresby police")[0].snippet


def test_filters(db):
    assert urls(search(db, "cocaine", country="peru")) == ["peru-cocaine-ports"]  # Perú
    assert set(urls(search(db, "cocaine", country="MEXICO"))) == {
        "mexico-police-purge",
        "guinea-cocaine-hub",
    }
    # A whole country: Guinea (GN) is not Papua New Guinea (PG).
    assert search(db, "cocaine", country="Guinea") == []
    assert urls(search(db, "cocaine", country="Papua New Guinea")) == ["guinea-cocaine-hub"]
    assert urls(search(db, "cocaine", country="pg")) == ["guinea-cocaine-hub"]
    assert set(urls(search(db, "cocaine", author="ana gomez"))) == {
        "peru-cocaine-ports",
        "guinea-cocaine-hub",
    }
    assert urls(search(db, "cocaine", tag="corruption")) == ["mexico-police-purge"]
    assert urls(search(db, "cocaine", language="es")) == ["peru-cocaine-ports"]
    assert set(urls(search(db, "cocaine", since="2020-07-01", until="2021-03-01"))) == {
        "guinea-cocaine-hub",
        "mexico-police-purge",
    }
    assert urls(search(db, "cocaine", until="2020-06-30")) == ["peru-cocaine-ports"]
    assert urls(search(db, "cocaine", since="2021-03-01T09:00:01Z")) == []
    assert len(search(db, "cocaine", limit=2)) == 2


def test_filters_do_not_lose_results_to_the_limit(db):
    # Many briefs match the index's phrase ("ana") but not the whole name: the search keeps
    # reading ranked candidates until it has `limit` exact matches.
    records = [
        brief(f"ana-gomez-{i}", authors=["Ana Gómez"], body="cocaine cocaine cocaine")
        for i in range(30)
    ]
    records.append(brief("ana", authors=["Ana"], body="cocaine"))
    for record in records:
        archive.store_capture(db, capture_for(record, "2026-01-02T00:00:00+00:00"), record)
    assert urls(search(db, "cocaine", author="Ana", limit=1)) == ["ana"]


def test_the_query_matches_the_filing_too(db):
    # A tag, an author, a country, a section: names a researcher searches for.
    corruption = search(db, "corruption")
    assert urls(corruption) == ["mexico-police-purge"]
    assert corruption[0].snippet == "Tags: Police Reform, [Corruption]"  # only the tag holds it
    assert set(urls(search(db, "dudley"))) == {"mexico-police-purge", "guinea-cocaine-hub"}
    assert urls(search(db, '"drug trafficking"')) == ["guinea-cocaine-hub"]  # its section
    assert urls(search(db, "tags:peace")) == ["colombia-peace-talks"]
    # The text still weighs most: "peru" in a title beats "Peru" deep in a body.
    assert urls(search(db, "peru")) == ["peru-cocaine-ports", "colombia-peace-talks"]


def test_the_index_ranks_as_search_does(db):
    # The weights are kept in the index, so that `ORDER BY rank` (sqlite-utils, SQL) agrees.
    (config,) = db.execute("SELECT v FROM briefs_fts_config WHERE k = 'rank'").fetchone()
    assert config == f"bm25({', '.join(str(weight) for weight in WEIGHTS.values())})"
    assert [row[1] for row in db.execute("PRAGMA table_info(briefs_fts)")] == list(WEIGHTS)
    for query in ("cocaine", "police", "peru OR mexico", "mexico"):
        ranked = db.execute(
            "SELECT b.url FROM briefs_fts JOIN briefs AS b ON b.rowid = briefs_fts.rowid"
            " WHERE briefs_fts MATCH ? ORDER BY rank",
            [query],
        ).fetchall()
        assert [url for (url,) in ranked] == [hit.url for hit in search(db, query)], query


def test_snippets_keep_to_one_block_and_show_the_title_only_when_only_it_matches(db):
    record = brief(
        "heading-brief",
        title="Port Raids Widen",
        summary="A summary.",
        body="Raids at the Port\n\nThe navy seized a shipment.\n\nOfficials blamed the Gulf"
        " Clan.\n\nA new navy unit patrols the coast.",
    )
    archive.store_capture(db, capture_for(record, "2026-01-02T00:00:00+00:00"), record)
    # A heading does not run into the next sentence.
    assert search(db, "seized")[0].snippet == "…The navy [seized] a shipment.…"
    # Two blocks that match are two parts, joined by "…".
    assert search(db, "navy")[0].snippet == (
        "…The [navy] seized a shipment. … A new [navy] unit patrols the coast."
    )
    # The title is the snippet only when the match is there alone.
    assert search(db, "widen")[0].snippet == "Port Raids [Widen]"
    assert search(db, "raids")[0].snippet == "[Raids] at the Port…"


def test_repeated_filters_keep_either_and_sections_are_names(db):
    assert set(urls(search(db, "cocaine", country=["Peru", "Mexico"]))) == {
        "peru-cocaine-ports",
        "mexico-police-purge",
        "guinea-cocaine-hub",
    }
    assert urls(search(db, "cocaine", country=("pe", "co"))) == ["peru-cocaine-ports"]
    assert set(urls(search(db, "cocaine OR peace", tag=["Peace", "Corruption"]))) == {
        "colombia-peace-talks",
        "mexico-police-purge",
    }
    # Different filters keep what passes all of them.
    assert urls(search(db, "cocaine", country="Mexico", author=["Ana Gómez", "Nobody"])) == [
        "guinea-cocaine-hub"
    ]
    # A section is a whole name, without regard to case or accents ("Perú").
    assert urls(search(db, "cocaine", section="peru")) == ["peru-cocaine-ports"]
    assert urls(search(db, "cocaine", section="Drug Trafficking")) == ["guinea-cocaine-hub"]
    assert search(db, "cocaine", section="Drug") == []
    assert set(urls(search(db, "cocaine", section=["Mexico", "Perú"]))) == {
        "peru-cocaine-ports",
        "mexico-police-purge",
    }
    with pytest.raises(SearchQueryError, match="no country is called 'Narnia'"):
        search(db, "cocaine", country=["Peru", "Narnia"])
    with pytest.raises(SearchQueryError, match="author"):
        search(db, "cocaine", author=" ")


def test_a_filter_does_not_reorder_what_it_keeps(db):
    # bm25 favours short briefs: were the tag filter's own phrase ranked (its column weighed),
    # the short brief would come first, whatever its text says.
    records = [
        brief("long", tags=["Gangs"], body=" ".join(["extortion"] * 8 + ["words"] * 60)),
        brief("short", tags=["Gangs"], body="extortion here"),
    ]
    for record in records:
        archive.store_capture(db, capture_for(record, "2026-01-02T00:00:00+00:00"), record)
    assert urls(search(db, "extortion")) == ["long", "short"]
    assert urls(search(db, "extortion", tag="gangs")) == ["long", "short"]


def test_language_is_checked_everywhere(db):
    for value in ("fr", "english", ""):
        with pytest.raises(SearchQueryError, match="briefs are in en or es"):
            search(db, "cocaine", language=value)
        with pytest.raises(SearchQueryError, match="briefs are in en or es"):
            archive.search.count(db, "cocaine", language=value)
    assert urls(search(db, "cocaine", language="ES")) == ["peru-cocaine-ports"]
    assert len(search(db, "cocaine", language=["en", "es"])) == 3


def test_dates_are_a_year_a_month_or_a_day_and_until_keeps_all_of_it(db):
    def found(**bounds) -> set[str]:
        return set(urls(search(db, "cocaine OR peace", **bounds)))

    assert found(since="2020") == {"guinea-cocaine-hub", "mexico-police-purge",
                                   "colombia-peace-talks"}  # fmt: skip
    assert found(until="2020") == {"peru-cocaine-ports", "guinea-cocaine-hub"}
    assert found(since="2020-07", until="2021-03") == {"guinea-cocaine-hub", "mexico-police-purge"}
    assert found(until="2021-02") == {"peru-cocaine-ports", "guinea-cocaine-hub"}
    assert found(since="2021-03-01", until="2021-03-01") == {"mexico-police-purge"}
    assert found(until="2021-03-01T08:59:59Z") == {"peru-cocaine-ports", "guinea-cocaine-hub"}
    for bad in ("2021-13", "20", "last year", "2021-02-30"):
        with pytest.raises(SearchQueryError, match="--until"):
            search(db, "cocaine", until=bad)


def test_seen_since_keeps_what_is_new(db):
    later = brief("new-cocaine-route", body="A cocaine route.")
    archive.store_capture(db, capture_for(later, "2026-03-01T12:00:00+00:00"), later)
    assert urls(search(db, "cocaine", seen_since="2026-03")) == ["new-cocaine-route"]
    assert urls(search(db, "cocaine", seen_since="2026-03-01T12:00:00Z")) == ["new-cocaine-route"]
    assert search(db, "cocaine", seen_since="2026-03-01T12:00:01Z") == []
    assert len(search(db, "cocaine", seen_since="2026")) == 4
    assert search(db, "cocaine", seen_since="2026")[0].first_seen.startswith("2026-")


def test_sorts_pages_and_counts(db):
    newest = search(db, "cocaine", sort="newest")
    assert urls(newest) == ["mexico-police-purge", "guinea-cocaine-hub", "peru-cocaine-ports"]
    assert urls(search(db, "cocaine", sort="oldest")) == urls(newest)[::-1]
    by_rank = {hit.url: hit.score for hit in search(db, "cocaine")}
    assert {hit.url: hit.score for hit in newest} == by_rank  # each with its own score
    filtered = {hit.url: hit.score for hit in search(db, "cocaine", tag="cocaine")}
    assert {hit.url: hit.score for hit in search(db, "cocaine", tag="cocaine", sort="oldest")} == (
        filtered
    )
    ranked = urls(search(db, "cocaine", limit=None))
    assert [urls(search(db, "cocaine", limit=1, offset=i))[0] for i in range(3)] == ranked
    assert search(db, "cocaine", offset=3) == []
    assert archive.search.count(db, "cocaine") == 3
    assert archive.search.count(db, "cocaine", country="Mexico", since="2021") == 1
    assert archive.search.count(db, "cocaine", author="ana gomez", language="es") == 1
    with pytest.raises(SearchQueryError, match="sort by one of rank, newest, oldest"):
        search(db, "cocaine", sort="date")


def test_the_readme_calls_work(db):
    # archive.search is the module; the README's call is its search().
    import archive.search as module

    assert archive.search is module
    assert urls(archive.search.search(db, "peru", country="Perú")) == ["peru-cocaine-ports"]


EDITIONS = [
    brief(
        "brazil-prison-gangs",
        countries=["Brazil", "Paraguay"],
        country_codes=["BR", "PY"],
        body="The PCC runs the prisons of São Paulo.",
    ),
    brief(
        "brasil-pandillas-carcelarias",
        language="es",
        countries=["Brasil", "Paraguay"],
        country_codes=["BR", "PY"],
        body="El PCC controla las cárceles de São Paulo.",
    ),
]


def test_a_country_by_either_name_or_its_code_finds_both_editions(db):
    for record in EDITIONS:
        archive.store_capture(db, capture_for(record, "2026-01-02T00:00:00+00:00"), record)
    both = {"brazil-prison-gangs", "brasil-pandillas-carcelarias"}
    for country in ("Brazil", "Brasil", "BRASIL", "br", "BR", " Brazil "):
        assert set(urls(search(db, "pcc", country=country))) == both, country
    assert urls(search(db, "pcc", country="Brasil", language="es")) == [
        "brasil-pandillas-carcelarias"
    ]
    hit = search(db, "pcc", country="py", language="en")[0]
    assert (hit.countries, hit.country_codes) == (["Brazil", "Paraguay"], ["BR", "PY"])
    assert hit.as_dict()["country_codes"] == ["BR", "PY"] and hit.as_dict()["section"] is None


def test_a_country_that_names_no_country_is_a_search_error(db):
    for value in ("Narnia", "Caribbean", "Elites and Crime", "ZZ", ""):
        with pytest.raises(SearchQueryError, match="no country is called"):
            search(db, "cocaine", country=value)


def test_malformed_queries_are_search_errors(db):
    for query in ("police AND", '"unclosed', "nosuchcolumn:x", "", "NEAR("):
        with pytest.raises(SearchQueryError):
            search(db, query)
    with pytest.raises(SearchQueryError, match="--since"):
        search(db, "police", since="last week")


def test_index_follows_every_write(db):
    edited = replace(SAMPLE[1], title="Mexico Disbands Municipal Force", body="Gone.")
    archive.store_capture(db, capture_for(edited, "2026-02-01T00:00:00+00:00"), edited)
    assert "mexico-police-purge" in urls(search(db, "disbands"))
    assert "mexico-police-purge" not in urls(search(db, "jalisco"))
    with archive.transaction(db):
        db.execute("DELETE FROM revisions WHERE url = ?", [SAMPLE[3].url])
        db.execute("DELETE FROM briefs WHERE url = ?", [SAMPLE[3].url])
    assert search(db, "negotiators") == []
    fts_ok(db)


def test_migration_indexes_briefs_already_archived(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    fts_version = next(i for i, m in enumerate(MIGRATIONS, 1) if "briefs_fts" in m)
    for version in range(1, fts_version):
        for statement in _statements(MIGRATIONS[version - 1]):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {fts_version - 1}")
    conn.execute(
        "INSERT INTO captures (requested_url, fetched_at, brief_url, outcome)"
        " VALUES ('u', '2020-01-01', 'u', 'new')"
    )
    conn.execute(
        "INSERT INTO briefs (url, title, kind, language, countries, published, authors, tags,"
        " summary, body, related, translations, content_hash, revision, first_seen, last_seen,"
        " cleaner_version, capture_id) VALUES ('u', 'Old Perú Brief', 'brief', 'es', '[]',"
        " '2020-01-01', '[]', '[]', '', 'archived before search', '[]', '{}', 'h', 1,"
        " '2020-01-01', '2020-01-01', '1', 1)"
    )
    conn.close()
    db = archive.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [hit.title for hit in search(db, "peru archived")] == ["Old Perú Brief"]
    fts_ok(db)


def test_an_archive_from_before_one_search_is_indexed_anew(tmp_path):
    # The index sqlite-utils and Datasette recognise came with a migration of its own: an
    # archive made before it has the old index, which they do not find.
    version = next(i for i, m in enumerate(MIGRATIONS, 1) if 'content="briefs"' in m)
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in (s for m in MIGRATIONS[: version - 1] for s in _statements(m)):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version - 1}")
    conn.execute(
        "INSERT INTO captures (requested_url, fetched_at, brief_url, outcome)"
        " VALUES ('u', '2020-01-01', 'u', 'new')"
    )
    conn.execute(
        "INSERT INTO briefs (url, title, kind, language, section, countries, country_codes,"
        " published, authors, tags, summary, body, related, translations, content_hash,"
        " revision, first_seen, last_seen, cleaner_version, capture_id) VALUES ('u',"
        " 'Old Brief', 'brief', 'en', 'Mexico', '[\"Mexico\"]', '[\"MX\"]', '2020-01-01', '[]',"
        " '[\"Corruption\"]', '', 'archived before', '[]', '{}', 'h', 1, '2020-01-01',"
        " '2020-01-01', '1', 1)"
    )
    conn.close()
    before = sqlite_utils.Database(path)
    assert before["briefs"].detect_fts() is None
    before.close()
    db = archive.connect(path)  # the rest of the migrations
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db["briefs"].detect_fts() == "briefs_fts"
    assert {t.name for t in db["briefs"].triggers} == {"briefs_ai", "briefs_ad", "briefs_au"}
    assert [hit.title for hit in search(db, "corruption", section="mexico")] == ["Old Brief"]
    fts_ok(db)


def test_list_views_need_no_json_functions(db):
    assert db.execute(
        "SELECT name, COUNT(*) FROM brief_countries GROUP BY name ORDER BY name"
    ).fetchall() == [("Colombia", 1), ("Mexico", 2), ("Papua New Guinea", 1), ("Perú", 1)]
    assert db.execute(
        "SELECT country_code, COUNT(*) FROM brief_countries GROUP BY country_code"
        " ORDER BY country_code"
    ).fetchall() == [("CO", 1), ("MX", 2), ("PE", 1), ("PG", 1)]
    assert db.execute(
        "SELECT name, country_code FROM brief_countries WHERE url = ?", [SAMPLE[2].url]
    ).fetchall() == [("Papua New Guinea", "PG"), ("Mexico", "MX")]
    # One row per brief with a section; its code when the section is one of its countries.
    assert db.execute(
        "SELECT url, section, country_code, title, published, year, language"
        " FROM brief_sections ORDER BY published"
    ).fetchall() == [
        (r.url, r.section, code, r.title, r.published, r.published[:4], r.language)
        for r, code in ((SAMPLE[0], "PE"), (SAMPLE[2], None), (SAMPLE[1], "MX"))
    ]
    assert db.execute(
        "SELECT url FROM brief_authors WHERE name = 'Steven Dudley' ORDER BY url"
    ).fetchall() == [(SAMPLE[2].url,), (SAMPLE[1].url,)]
    assert db.execute("SELECT COUNT(*) FROM brief_tags WHERE name = 'Cocaine'").fetchone() == (2,)
    assert db.execute("SELECT year FROM briefs ORDER BY published").fetchall() == [
        ("2019",),
        ("2020",),
        ("2021",),
        ("2022",),
    ]


def readme_queries() -> dict[str, str]:
    """The SQL blocks of the README's Analysts section, by the heading above each."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Analysts", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"\n#### ([^\n]+)\n.*?```sql\n(.*?)```", section, re.S))


def test_readme_has_the_six_analyst_queries():
    assert len(readme_queries()) == 6


# The Spanish edition of SAMPLE[1].
MEXICO_ES = brief(
    "mexico-purga-a-la-policia-estatal",
    title="México purga a la policía estatal",
    language="es",
    published="2021-03-01T10:00:00+00:00",
    section="México",
    countries=["México"],
    country_codes=["MX"],
    body="Cientos de policías fueron destituidos en Jalisco.",
)


def analyst_archive(tmp_path: Path):
    first = [*SAMPLE[:3], MEXICO_ES]
    db = build_archive(tmp_path / "a.sqlite", first, at="2026-01-01T00:00:00+00:00")
    run_id = archive.start_run(db, SITE, {})
    edited = replace(SAMPLE[1], body="Hundreds of officers were dismissed. Update: more.")
    later = "2026-02-01T00:00:00+00:00"
    for record in (SAMPLE[0], edited, SAMPLE[3]):
        archive.store_capture(db, capture_for(record, later), record, run_id=run_id)
    archive.finish_run(db, run_id, status="ok", counts={})
    return db


def test_readme_analyst_queries_run_and_answer(tmp_path):
    db = analyst_archive(tmp_path)
    answers = {title: db.execute(sql).fetchall() for title, sql in readme_queries().items()}
    per_year, per_section, by_author, timeline, last_crawl, fts = answers.values()
    # Counted by code: both editions of the Mexico brief in one row, named both ways.
    names = {row[0]: set(row[1].split(",")) for row in per_year}
    assert names["MX"] == {"Mexico", "México"} and names["PE"] == {"Perú"}
    counts = [(code, year, briefs) for code, _, year, briefs in per_year]
    assert counts == [("CO", "2022", 1), ("MX", "2020", 1), ("MX", "2021", 2),
                      ("PE", "2019", 1), ("PG", "2020", 1)]  # fmt: skip
    sections = [(row[0], set(row[1].split(",")), row[2]) for row in per_section]
    assert sections == [
        ("MX", {"Mexico", "México"}, 2),
        ("Drug Trafficking", {"Drug Trafficking"}, 1),
        ("PE", {"Perú"}, 1),
    ]
    assert [row[-1] for row in by_author] == [SAMPLE[1].url, SAMPLE[2].url]
    assert timeline == [("2019-05", 1), ("2020-07", 1)]
    changed = {(row[0], row[1]) for row in last_crawl}
    assert changed == {(SAMPLE[1].url, "changed"), (SAMPLE[3].url, "new")}
    assert {row[0] for row in fts} == {SAMPLE[0].url, SAMPLE[3].url}


def run_cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_search_formats(tmp_path):
    build_archive(tmp_path / "a.sqlite").close()
    db = str(tmp_path / "a.sqlite")
    as_json = run_cli("search", "cocaine", "--db", db, "--country", "Mexico", "--format", "json")
    assert as_json.exit_code == 0
    hits = json.loads(as_json.stdout)
    assert {hit["url"] for hit in hits} == {SAMPLE[1].url, SAMPLE[2].url}
    assert set(hits[0]) >= {"url", "title", "published", "snippet", "score", "countries"}
    assert set(hits[0]) >= {"section", "country_codes"}
    by_code = run_cli("search", "cocaine", "--db", db, "--country", "mx", "--format", "json")
    assert json.loads(by_code.stdout) == hits
    as_csv = run_cli("search", "peru", "--db", db, "--format", "csv", "--limit", "1")
    lines = as_csv.stdout_bytes.decode().split("\r\n")
    assert lines[0] == (
        "url,title,published,first_seen,language,section,countries,country_codes,authors,tags,"
        "snippet,score"
    )
    assert lines[1].startswith(SAMPLE[0].url) and ',Perú,"[""Perú""]","[""PE""]",' in lines[1]
    assert lines[2] == ""
    table = run_cli("search", "peru", "--db", db, "--lang", "es")
    assert table.exit_code == 0
    assert SAMPLE[0].title in table.stdout and "[Perú]" in table.stdout
    assert SAMPLE[3].title not in table.stdout


def test_cli_bad_query_is_a_clear_error_not_a_traceback(tmp_path):
    build_archive(tmp_path / "a.sqlite").close()
    result = CliRunner().invoke(main, ["search", "police AND", "--db", str(tmp_path / "a.sqlite")])
    assert result.exit_code == 2
    assert "not a valid search query" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["search", "x", "--db", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 2 and "no archive" in missing.output


def test_cli_country_that_names_no_country_is_one_line_exit_2(tmp_path):
    build_archive(tmp_path / "a.sqlite").close()
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "search", "cocaine", "--country", "Narnia",
         "--db", str(tmp_path / "a.sqlite")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "no country is called 'Narnia'" in result.stderr and "(MX)" in result.stderr
