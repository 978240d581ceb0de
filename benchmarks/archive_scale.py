"""The archive at scale: JSONL export throughput and search latency on 100,000 briefs.

    python -m benchmarks.archive_scale                  # build (once) and measure
    python -m benchmarks.archive_scale --briefs 20000   # a smaller archive
    python -m benchmarks.archive_scale --rebuild        # build the archive anew

The archive is built in the temporary folder (briefs-archive-scale/, kept between runs, keyed
by the number of briefs; --dir to choose another) by inserting rows with SQL in big
transactions, through the schema's triggers, so the full-text index is built the way a crawl
builds it. Bodies are 2-4 KB of English or Spanish
text drawn from a fixed vocabulary; countries, authors, tags, languages and dates vary. The
same seed gives the same archive.

Targets (issue 5): JSONL export >= 20,000 records/s; `briefs search` median < 50 ms for a
common word with a country filter (the library function; the whole CLI process is timed
apart, as it includes Python's start-up). Issue 16: the same with the filters it added
(repeated, section, seen-since, by date), and the count of matches beside it; Datasette's
JSON search of the briefs table (`/DB/briefs.json?_search=police`, through Datasette's own
client, with briefs serve's metadata and plugins) < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import archive
from archive.search import count as count_matches
from archive.search import search
from cleaning.countries import country_code
from cleaning.record import BriefRecord, canonical_json

SITE = "https://insightcrime.org"

COUNTRIES_EN = [
    "Mexico", "Colombia", "Venezuela", "Brazil", "Peru", "Ecuador", "Honduras", "Guatemala",
    "El Salvador", "Haiti", "Panama", "Costa Rica", "Paraguay", "Argentina", "Chile",
    "Bolivia", "Nicaragua", "Dominican Republic", "Uruguay", "Jamaica", "United States",
    "Spain", "Trinidad and Tobago", "Belize", "Cuba",
]  # fmt: skip
COUNTRIES_ES = {
    "Mexico": "México", "Peru": "Perú", "Brazil": "Brasil", "Haiti": "Haití",
    "Panama": "Panamá", "Dominican Republic": "República Dominicana", "United States":
    "Estados Unidos", "Spain": "España", "Belize": "Belice", "Trinidad and Tobago":
    "Trinidad y Tobago",
}  # fmt: skip
TAGS = [
    "Cocaine", "Prisons", "Money Laundering", "Illegal Mining", "Extortion", "Homicides",
    "Security Policy", "Gangs", "Corruption", "Arms Trafficking", "Human Smuggling",
    "Environmental Crime", "Fentanyl", "Kidnapping", "Cybercrime", "Elites and Organized Crime",
    "Police Reform", "Drug Policy", "Ex-Paramilitaries", "Contraband", "Timber Trafficking",
    "Cattle Ranching", "Illegal Fishing", "Sex Trafficking", "Jalisco Cartel", "Sinaloa Cartel",
    "MS13", "Barrio 18", "PCC", "Tren de Aragua", "ELN", "FARC Dissidents", "Clan del Golfo",
    "Shining Path", "Gaitanistas", "CJNG", "Gulf Cartel", "Los Zetas", "Juárez Cartel",
    "Caribbean",
]  # fmt: skip
FIRST = [
    "Ana", "Luis", "Steven", "Victoria", "Marguerite", "Hannah", "Alex", "Lara", "Parker",
    "Chris", "Sara", "Jeremy", "María", "José", "Felipe", "Laura", "Gabriel", "Camila",
]  # fmt: skip
LAST = [
    "Dudley", "Stone", "Dittmar", "Cawley", "Papadovassilakis", "Loaiza", "Asmann", "Dalby",
    "García", "Rodríguez", "McDermott", "Ramírez", "Núñez", "Castillo",
]  # fmt: skip

# Words with a rough frequency rank: the first ones appear in almost every body.
_EN_TEXT = (
    "the of and to in a that for on is was with by as police government officials drug "
    "criminal groups trafficking security authorities cartel organized crime said according "
    "members country violence president military operation prison cocaine border gang local "
    "investigation arrested seized tons judge prosecutors charges money laundering network "
    "routes region community leaders attorney general minister report data year years since "
    "first new more than after which while their have been has were also its into against "
    "between other during under about could would including however where when those these "
    "mining gold illegal forest river port shipment container airstrip extradition "
    "corruption bribes mayor congress election campaign soldiers troops army navy coast "
    "guard smuggling migrants weapons rifles homicide rate murders kidnapping extortion "
    "payments businesses transport drivers buses market prices coca crops eradication "
    "laboratories precursors fentanyl methamphetamine heroin synthetic demand exports "
    "financial banks accounts companies shell properties assets frozen sanctions treasury "
    "dissidents guerrilla peace agreement talks ceasefire commanders fronts territory "
    "control dispute alliance rivals factions splinter leadership successor capture killed"
)
_ES_TEXT = (
    "el la de que y en los las del se por un una con para como policía gobierno autoridades "
    "grupos criminales narcotráfico seguridad cártel crimen organizado según miembros país "
    "violencia presidente militares operación cárcel cocaína frontera pandilla investigación "
    "capturados incautaron toneladas juez fiscalía cargos lavado dinero red rutas región "
    "comunidad líderes fiscal general ministro informe datos año años desde primera nueva "
    "más después mientras también contra entre durante sobre donde cuando minería oro "
    "ilegal selva río puerto cargamento contenedor pista extradición corrupción sobornos "
    "alcalde congreso elecciones campaña soldados tropas ejército armada costa contrabando "
    "migrantes armas fusiles homicidios secuestro extorsión pagos empresas transporte "
    "conductores buses mercado precios coca cultivos erradicación laboratorios precursores "
    "fentanilo metanfetamina heroína demanda exportaciones financieras bancos cuentas "
    "propiedades bienes sanciones disidencias guerrilla paz acuerdo diálogos cese fuego "
    "comandantes frentes territorio control disputa alianza rivales facciones liderazgo"
)
EN_WORDS = _EN_TEXT.split()
ES_WORDS = _ES_TEXT.split()


def sentence_pool(words: list[str], rng: random.Random, size: int) -> list[str]:
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(words))]
    pool = []
    for _ in range(size):
        picked = rng.choices(words, weights, k=rng.randint(8, 24))
        text = " ".join(picked)
        pool.append(text[0].upper() + text[1:] + ".")
    return pool


def brief_records(count: int, seed: int = 5):
    """`count` (record, fetched_at) pairs, the same for the same seed."""
    rng = random.Random(seed)
    pools = {"en": sentence_pool(EN_WORDS, rng, 4000), "es": sentence_pool(ES_WORDS, rng, 4000)}
    authors = [f"{first} {last}" for first in FIRST for last in LAST]
    start = datetime(2010, 1, 1, tzinfo=UTC)
    span = int((datetime(2026, 6, 1, tzinfo=UTC) - start).total_seconds())
    country_weights = [1 / (rank + 1) ** 0.7 for rank in range(len(COUNTRIES_EN))]
    for number in range(count):
        language = "es" if rng.random() < 0.3 else "en"
        pool = pools[language]
        picked = rng.choices(COUNTRIES_EN, country_weights, k=rng.randint(1, 3))
        countries = list(dict.fromkeys(picked))
        if language == "es":
            countries = [COUNTRIES_ES.get(name, name) for name in countries]
        paragraphs = []
        length = 0
        target = rng.randint(2000, 4000)
        while length < target:
            paragraph = " ".join(rng.choices(pool, k=rng.randint(2, 5)))
            paragraphs.append(paragraph)
            length += len(paragraph) + 2
        body = "\n\n".join(paragraphs)
        title_words = rng.choice(pool).rstrip(".").split()[:9]
        title = f"{countries[0]}: " + " ".join(title_words)
        published = start + timedelta(seconds=rng.randrange(span))
        section = "noticias" if language == "es" else "news/brief"
        url = f"{SITE}/{'es/' if language == 'es' else ''}{section}/brief-{number}/"
        record = BriefRecord(
            url=url,
            title=title,
            language=language,
            published=published.isoformat(timespec="seconds"),
            summary=paragraphs[0].split(". ")[0] + ".",
            body=body,
            # Most briefs are filed first under a country, the others under a theme.
            section=countries[0] if rng.random() < 0.7 else rng.choice(TAGS),
            countries=countries,
            country_codes=[country_code(name) for name in countries],
            authors=rng.sample(authors, rng.choice([0, 1, 1, 1, 2, 2, 3])),
            tags=rng.sample(TAGS, rng.randint(0, 4)),
        )
        fetched = published + timedelta(days=rng.randint(0, 30))
        yield record, fetched.isoformat(timespec="seconds")


def build(path: Path, count: int, batch: int = 10_000) -> float:
    """Write an archive of `count` briefs at `path`; returns the seconds it took."""
    started = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = archive.connect(path)
    run_id = archive.start_run(db, SITE, {"benchmark": "archive_scale"})
    pending: list[tuple[BriefRecord, str]] = []

    def flush() -> None:
        with archive.transaction(db):
            for record, fetched in pending:
                page = f"<html><body><h1>{record.title}</h1><p>{record.body}</p></body></html>"
                raw = page.encode()
                capture_id = db.execute(
                    "INSERT INTO captures (run_id, requested_url, final_url, status, fetched_at,"
                    " headers, content_type, body_sha256, body_length, body_gzip, brief_url,"
                    " outcome) VALUES (?, ?, ?, 200, ?, ?, ?, ?, ?, ?, ?, 'new')",
                    [
                        run_id,
                        record.url,
                        record.url,
                        fetched,
                        json.dumps([["Content-Type", "text/html; charset=UTF-8"]]),
                        "text/html; charset=UTF-8",
                        hashlib.sha256(raw).hexdigest(),
                        len(raw),
                        gzip.compress(raw, compresslevel=1, mtime=0),
                        record.url,
                    ],
                ).lastrowid
                values = record.as_dict()
                columns = archive.schema.CONTENT_COLUMNS
                db.execute(
                    "INSERT INTO briefs (" + ", ".join(columns) + ", revision, first_seen,"
                    " last_seen, cleaner_version, capture_id) VALUES ("
                    + ", ".join("?" * len(columns))
                    + ", 1, ?, ?, 'bench', ?)",
                    [
                        *(
                            canonical_json(values[name])
                            if name in archive.schema.JSON_FIELDS
                            else values[name]
                            for name in columns
                        ),
                        fetched,
                        fetched,
                        capture_id,
                    ],
                )
                db.execute(
                    "INSERT INTO revisions (url, revision, content_hash, record, cleaner_version,"
                    " capture_id, seen_at) VALUES (?, 1, ?, ?, 'bench', ?, ?)",
                    [
                        record.url,
                        record.content_hash,
                        canonical_json(record.content()),
                        capture_id,
                        fetched,
                    ],
                )
        pending.clear()

    for item in brief_records(count):
        pending.append(item)
        if len(pending) >= batch:
            flush()
    flush()
    archive.finish_run(db, run_id, status="ok", counts={"fetched": count, "new": count})
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - started


def measure_export(path: Path) -> tuple[int, float]:
    db = archive.connect(path, readonly=True)
    out_path = path.with_suffix(".jsonl")
    started = time.perf_counter()
    with out_path.open("w", encoding="utf-8") as out:
        count = archive.write_jsonl(db, out)
    elapsed = time.perf_counter() - started
    db.close()
    out_path.unlink()
    return count, elapsed


def measure_search(
    path: Path, word: str, country: str | list[str] | None, runs: int, **filters: object
) -> tuple[float, int]:
    return measure_call(search, path, word, runs, country=country, **filters)


def measure_call(
    function, path: Path, word: str, runs: int, **filters: object
) -> tuple[float, int]:
    """The median seconds of `function(db, word, **filters)` (search or count) over `runs`
    calls, the page cache warm, and what the last returned (hits, or the count)."""
    db = archive.connect(path, readonly=True)
    function(db, word, **filters)  # warm the page cache
    times = []
    found = 0
    for _ in range(runs):
        started = time.perf_counter()
        result = function(db, word, **filters)
        times.append(time.perf_counter() - started)
        found = result if isinstance(result, int) else len(result)
    db.close()
    return statistics.median(times), found


def measure_datasette(path: Path, queries: list[str], runs: int) -> list[tuple[str, float, int]]:
    """The median seconds of each Datasette request (a path and query string) through
    Datasette's own client, with what `briefs serve` gives it (its metadata and plugins, the
    file immutable), and its status."""
    from datasette.app import Datasette

    from archive.datasette.metadata import metadata
    from archive.datasette.server import register_plugins

    register_plugins()

    async def timed() -> list[tuple[str, float, int]]:
        ds = Datasette(immutables=[str(path)], metadata=metadata(path, [SITE]))
        await ds.invoke_startup()
        figures = []
        for query in queries:
            await ds.client.get(query)  # warm
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                response = await ds.client.get(query)
                times.append(time.perf_counter() - started)
            figures.append((query, statistics.median(times), response.status_code))
        return figures

    return asyncio.run(timed())


def measure_cli(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_cli_export(path: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of `briefs export --format jsonl -o FILE`."""
    out = path.with_suffix(".cli.jsonl")
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler",
            "export",
            "--db",
            str(path),
            "--format",
            "jsonl",
            "-o",
            str(out),
            "--force",
        ],
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - started
    out.unlink()
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--briefs", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--word", default="police")
    parser.add_argument("--country", default="Mexico")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "briefs-archive-scale"
    )
    args = parser.parse_args()

    args.dir.mkdir(parents=True, exist_ok=True)
    # One per schema version: an archive built by an earlier release is not measured.
    path = args.dir / f"archive-{args.briefs}-v{archive.SCHEMA_VERSION}.sqlite"
    if args.rebuild or not path.exists():
        seconds = build(path, args.briefs)
        print(f"built {path} ({args.briefs:,} briefs) in {seconds:.1f} s")
    size = os.path.getsize(path) / 2**20
    print(f"archive: {path} ({size:,.0f} MiB)")

    count, elapsed = measure_export(path)
    rate = count / elapsed
    print(
        f"export jsonl: {count:,} records in {elapsed:.2f} s = {rate:,.0f} records/s"
        f" (target >= 20,000) {'ok' if rate >= 20_000 else 'MISSED'}"
    )
    seconds, peak = measure_cli_export(path)
    print(
        f"briefs export --format jsonl (whole process): {seconds:.2f} s ="
        f" {count / seconds:,.0f} records/s, peak RSS {peak:.0f} MiB"
    )
    for country in (args.country, "Peru", None):
        median, hits = measure_search(path, args.word, country, args.runs)
        target = " (target < 50 ms) " + ("ok" if median < 0.05 else "MISSED") if country else ""
        print(
            f"search({args.word!r}, country={country!r}): median {median * 1000:.1f} ms over"
            f" {args.runs} runs, {hits} hits{target}"
        )
    for filters in (
        {"since": "2020-01-01"},
        {"language": "en"},
        {"since": "2026-01-01"},
        {"since": "2020", "until": "2021-06"},
        {"tag": "Extortion"},
        {"section": "Mexico"},
        {"sort": "newest"},
        {"seen_since": "2026-05"},
    ):
        median, hits = measure_search(path, args.word, args.country, args.runs, **filters)
        named = ", ".join(f"{name}={value!r}" for name, value in filters.items())
        target = " (target < 50 ms) " + ("ok" if median < 0.05 else "MISSED")
        print(
            f"search({args.word!r}, country={args.country!r}, {named}):"
            f" median {median * 1000:.1f} ms, {hits} hits{target}"
        )
    countries = [args.country, "Peru"]
    median, hits = measure_search(path, args.word, countries, args.runs)
    print(
        f"search({args.word!r}, country={countries!r}): median {median * 1000:.1f} ms, {hits} hits"
    )
    median, hits = measure_search(path, args.word, None, args.runs, sort="newest")
    print(f"search({args.word!r}, sort='newest'): median {median * 1000:.1f} ms, {hits} hits")
    for filters in ({}, {"country": args.country}, {"country": args.country, "language": "en"},
                    {"country": args.country, "tag": "Extortion"}):  # fmt: skip
        median, found = measure_call(count_matches, path, args.word, args.runs, **filters)
        named = ", ".join(f"{name}={value!r}" for name, value in filters.items())
        arguments = ", ".join([repr(args.word), *([named] if named else [])])
        print(f"count({arguments}): median {median * 1000:.1f} ms = {found:,}")
    stem = path.stem
    requests = [
        f"/{stem}/briefs.json?_search={args.word}",
        f"/{stem}/briefs.json?_search={args.word}&_size=20",
        f"/{stem}/briefs?_search={args.word}",
        f"/{stem}/briefs.json?_search={args.word}&_sort_desc=published&_nofacet=1",
    ]
    for request, median, status in measure_datasette(path, requests, args.runs):
        # The target is the ranked search's; a sorted one is Datasette's own table view.
        ranked = "_sort" not in request
        target = " (target < 200 ms) " + ("ok" if median < 0.2 else "MISSED") if ranked else ""
        print(f"datasette {request}: median {median * 1000:.1f} ms, status {status}{target}")
    # The working tree's own `briefs`, whatever one is installed.
    briefs = [sys.executable, "-m", "crawler"]
    command = [*briefs, "search", args.word, "--country", args.country, "--db", str(path)]
    cli = measure_cli(command, args.cli_runs)
    print(
        f"briefs {' '.join(command[3:7])} (whole process): median {cli * 1000:.0f} ms over"
        f" {args.cli_runs} runs"
    )
    startup = measure_cli([*briefs, "--version"], args.cli_runs)
    print(f"briefs --version (Python and import start-up alone): median {startup * 1000:.0f} ms")


if __name__ == "__main__":
    main()
