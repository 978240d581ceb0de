"""`briefs stats`: how many briefs, by year, month, country or section, in the terminal (the
counts `briefs serve`'s chart draws). It opens the archive read-only (open_archive)."""

from __future__ import annotations

from collections.abc import Sequence

import click

from archive.search import SearchQueryError
from archive.stats import BY, FIELDS, Filters, count_briefs
from crawler.cli.output import Record, render
from crawler.cli.params import db_option, search_filters
from crawler.cli.reading import open_archive

BAR_WIDTH = 40  # the longest bar of a table, in characters


@click.command("stats")
@db_option
@click.option(
    "--by", type=click.Choice(BY), default="year", show_default=True, help="What to count by."
)
@search_filters
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
def stats(
    db: str,
    by: str,
    country: tuple[str, ...],
    author: tuple[str, ...],
    tag: tuple[str, ...],
    section: tuple[str, ...],
    language: tuple[str, ...],
    since: str | None,
    until: str | None,
    seen_since: str | None,
    fmt: str,
) -> None:
    """How many briefs there are by year (or month, country, section), of all of them or of
    those the filters keep: years and months in order (those with none count 0), countries
    and sections most briefs first. Names are matched whole, in any case, with or without
    accents; a filter given twice keeps either, different filters must all keep a brief.
    Each edition of a brief counts (add --lang to count one); a brief filed under two
    countries counts in both.

    Exit status: 0 (whether or not a brief is counted); 2 wrong usage (a --country that
    names no country, no archive at --db, not a briefs archive); 3 the archive cannot be
    read.
    """
    filters = Filters(country, section, tag, author, language, since, until, seen_since)
    with open_archive(db) as source:
        try:
            counts = count_briefs(source, by, filters)
        except SearchQueryError as error:
            raise click.UsageError(str(error)) from None
    records = [count.as_dict(by) for count in counts]
    render(fmt, records, FIELDS[by], table=lambda rows: print_counts(rows, FIELDS[by]))


def print_counts(records: Sequence[Record], fields: Sequence[str]) -> None:
    """The counts as a terminal shows them: a line each, with a bar to scale; by year or
    month, the total of briefs counted under them (by country, a brief of two countries
    counts twice)."""
    if not records:
        click.echo("no brief matches", err=True)
        return
    labels = [" ".join(str(record[name]) for name in fields[:-1]) for record in records]
    width = max(map(len, labels))
    most = max(int(record["briefs"]) for record in records)
    for label, record in zip(labels, records, strict=True):
        bar = "█" * round(BAR_WIDTH * int(record["briefs"]) / most) if most else ""
        click.echo(f"{label:<{width}}  {record['briefs']:>7,}  {bar}".rstrip())
    if fields[0] in ("year", "month"):
        total = sum(int(record["briefs"]) for record in records)
        click.echo(f"{'total':<{width}}  {total:>7,}")
