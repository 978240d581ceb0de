"""Counts of briefs (archive.stats, `briefs stats`): by year, month, country and section, with
a search's filters, on a small archive; and the schema they lean on (migration 10)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

import archive
from archive.schema import MIGRATIONS, SCHEMA_VERSION, _statements
from archive.search import SearchQueryError
from archive.stats import Filters, count_briefs
from crawler.cli import main
from tests.test_serve import build_served_archive


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    # Mexico (en, 2021-03), México (es, 2021-03), Perú (es, 2019-05), Papua New Guinea and
    # Mexico (en, 2020-07, section Drug Trafficking), Colombia (en, 2022-11, no section).
    path = tmp_path_factory.mktemp("stats") / "archive.sqlite"
    build_served_archive(path)
    return path


@pytest.fixture
def db(path):
    source = archive.connect(path, readonly=True)
    yield source
    source.close()


def counted(db, by: str, **filters) -> list[tuple[str, str, int]]:
    return [(c.key, c.label, c.briefs) for c in count_briefs(db, by, Filters(**filters))]


def test_counts_by_year_and_month_in_order_with_the_empty_ones(db):
    assert counted(db, "year") == [
        ("2019", "2019", 1),
        ("2020", "2020", 1),
        ("2021", "2021", 2),
        ("2022", "2022", 1),
    ]
    months = counted(db, "month")
    assert [key for key, _, _ in months][:3] == ["2019-05", "2019-06", "2019-07"]
    assert len(months) == 43 and months[-1] == ("2022-11", "2022-11", 1)  # May 2019 - Nov 2022
    assert sum(briefs for _, _, briefs in months) == 5
    assert dict((key, briefs) for key, _, briefs in months)["2021-03"] == 2
    assert counted(db, "year", countries=["CO"]) == [("2022", "2022", 1)]


def test_counts_by_country_and_section_join_the_two_editions(db):
    assert counted(db, "country") == [
        ("MX", "Mexico", 3),  # Mexico and México, and a brief filed under two countries
        ("CO", "Colombia", 1),
        ("PE", "Peru", 1),
        ("PG", "Papua New Guinea", 1),
    ]
    # A country section by its code, whichever edition names it; a theme as written; none
    # for a brief with no section.
    assert counted(db, "section") == [
        ("MX", "Mexico, México", 2),
        ("Drug Trafficking", "Drug Trafficking", 1),
        ("PE", "Perú", 1),
    ]


def test_filters_are_a_searchs(db):
    def years(**filters) -> dict[str, int]:
        return {key: briefs for key, _, briefs in counted(db, "year", **filters) if briefs}

    # A country by either name or its code; a section that is a country by either name.
    for country in ("Mexico", "méxico", "MX"):
        assert years(countries=[country]) == {"2020": 1, "2021": 2}
    assert years(sections=["Peru"]) == years(sections=["PERÚ"]) == {"2019": 1}
    assert years(sections=["drug trafficking"]) == {"2020": 1}
    # Whole names, in any case and with or without accents; a part of a name is not one.
    assert years(authors=["ana gomez"]) == {"2019": 1, "2020": 1}
    assert years(authors=["Ana"]) == {} and years(tags=["Police"]) == {}
    assert years(tags=["POLICE REFORM"]) == {"2021": 1}
    # A filter given twice keeps either; two filters must both keep a brief.
    assert years(countries=["Peru", "Colombia"]) == {"2019": 1, "2022": 1}
    assert years(countries=["Mexico"], tags=["Cocaine"]) == {"2020": 1}
    assert years(countries=["Mexico"], languages=["es"]) == {"2021": 1}
    assert years(since="2020-07-01", until="2021-03-01") == {"2020": 1, "2021": 2}
    assert years(until="2020-06-30T23:59:59Z") == {"2019": 1}
    assert counted(db, "month", sections=["Atlantis"]) == []
    with pytest.raises(SearchQueryError, match="no country is called 'Atlantis'"):
        count_briefs(db, "year", Filters(countries=["Atlantis"]))
    with pytest.raises(SearchQueryError):
        count_briefs(db, "year", Filters(since="2020-13-01"))


def test_the_chart_draws_the_same_counts(path, db):
    """briefs serve's chart and briefs stats share the query: the same filters, the same
    months."""
    from archive.datasette.pages import chart_filters

    given, filters = chart_filters({"country": ["México"], "tag": ["", "cocaine"], "x": ["1"]})
    assert given == {"country": ["México"], "tag": ["cocaine"]}
    assert filters == Filters(countries=["México"], tags=["cocaine"])
    assert counted(db, "month", countries=["México"], tags=["cocaine"]) == [
        ("2020-07", "2020-07", 1)
    ]


def briefs(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_cli_prints_the_counts_as_a_table_json_or_csv(path):
    table = briefs("stats", "--db", path)
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[0].split()[:2] == ["2019", "1"] and lines[2].endswith("█" * 40)
    assert lines[-1].split() == ["total", "5"]
    by_country = briefs("stats", "--db", path, "--by", "country", "--format", "json")
    assert json.loads(by_country.output)[0] == {
        "country_code": "MX",
        "country": "Mexico",
        "briefs": 3,
    }
    csv = briefs("stats", "--db", path, "--by", "section", "--lang", "es", "--format", "csv")
    assert csv.output.splitlines() == ["section,briefs", "México,1", "Perú,1"]
    months = briefs("stats", "--db", path, "--by", "month", "--country", "Mexico", "--country",
                    "PE", "--author", "Steven Dudley", "--format", "json")  # fmt: skip
    assert [(m["month"], m["briefs"]) for m in json.loads(months.output)][::8] == [
        ("2020-07", 1),
        ("2021-03", 1),
    ]
    none = briefs("stats", "--db", path, "--tag", "nothing like it")
    assert none.exit_code == 0 and none.output == "no brief matches\n"


def test_cli_bad_usage_is_one_line_exit_2(path, tmp_path):
    for args, words in (
        (["--country", "Atlantis"], "no country is called 'Atlantis'"),
        (["--lang", "fr"], "'fr' is not one of 'en', 'es'"),
        (["--by", "week"], "'week' is not one of"),
        (["--since", "2020-13-01"], "--since"),
        (["--db", tmp_path / "none.sqlite"], "no archive at"),
    ):
        result = briefs("stats", "--db", path, *args)
        assert result.exit_code == 2, args
        assert result.output.startswith("error: ") and words in result.output, args
        assert len(result.output.splitlines()) == 1, args


def test_migration_10_gives_the_views_the_brief_and_indexes_what_stats_count(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    views = next(i for i, m in enumerate(MIGRATIONS, 1) if "briefs_language_published" in m)
    for version in range(1, views):
        for statement in _statements(MIGRATIONS[version - 1]):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {views - 1}")
    conn.execute(
        "INSERT INTO captures (requested_url, fetched_at, brief_url, outcome)"
        " VALUES ('u', '2020-01-01', 'u', 'new')"
    )
    conn.execute(
        "INSERT INTO briefs (url, title, kind, language, countries, country_codes, published,"
        " authors, tags, summary, body, related, translations, content_hash, revision,"
        " first_seen, last_seen, cleaner_version, capture_id) VALUES ('u', 'Old Brief',"
        " 'brief', 'es', '[\"Perú\"]', '[\"PE\"]', '2020-01-01', '[\"Ana\"]', '[\"Cocaine\"]',"
        " '', '', '[]', '{}', 'h', 1, '2020-01-01', '2020-01-01', '1', 1)"
    )
    conn.close()
    db = archive.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    for view in ("brief_countries", "brief_authors", "brief_tags"):
        rows = db.execute(f"SELECT url, title, published, year, language FROM {view}")
        assert rows.fetchall() == [("u", "Old Brief", "2020-01-01", "2020", "es")], view
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT DISTINCT section FROM briefs WHERE section IS NOT NULL"
    ).fetchall()
    assert "briefs_section" in str(plan)
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT substr(published, 1, 7), COUNT(*) FROM briefs"
        " WHERE language IN ('en') GROUP BY 1"
    ).fetchall()
    assert "briefs_language_published" in str(plan)
    db.close()


def test_a_brief_of_two_countries_counts_in_both(db):
    codes = {key: briefs for key, _, briefs in counted(db, "country", tags=["Cocaine"])}
    assert codes == {"MX": 1, "PE": 1, "PG": 1}


def test_the_cli_takes_a_searchs_filters_years_months_and_seen_since(path, db):
    def years(*options: str) -> dict[str, int]:
        result = briefs("stats", "--db", str(path), "--format", "json", *options)
        assert result.exit_code == 0, result.output
        return {row["year"]: row["briefs"] for row in json.loads(result.output) if row["briefs"]}

    # The dates of briefs search: a year or a month is all of it.
    assert years("--until", "2020") == {"2019": 1, "2020": 1}
    assert years("--since", "2021-03", "--until", "2021-03") == {"2021": 2}
    # First seen: what was archived from then on, as the briefs table says.
    latest = db.execute("SELECT MAX(first_seen) FROM briefs").fetchone()[0]
    expected = db.execute(
        "SELECT substr(published, 1, 4), COUNT(*) FROM briefs WHERE first_seen >= ? GROUP BY 1",
        [latest],
    ).fetchall()
    assert years("--seen-since", latest) == dict(expected)
    assert sum(years("--seen-since", "2000").values()) == 5
    result = briefs("stats", "--db", str(path), "--seen-since", "yesterday")
    assert result.exit_code == 2 and "--seen-since" in result.output
