"""`briefs` commands that read the archive out."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

import archive
from crawler.cli import db_option, main


@main.command()
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl"]),
    required=True,
    help="jsonl: RECORD.md's records, one a line.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="The file to write (standard output without it).",
)
@click.option("--force", is_flag=True, help="Replace an existing output file.")
def export(db: str, fmt: str, output: str | None, force: bool) -> None:
    """Write the archive's latest records out."""
    try:
        source = archive.connect(db, readonly=True)
    except archive.ArchiveError as error:
        raise click.ClickException(str(error)) from None
    if output is None:
        archive.write_jsonl(source, sys.stdout)
        return
    target = Path(output)
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; use --force to replace it")
    partial = target.with_name(target.name + ".partial")
    # Written aside and renamed: a reader never sees half an export, nor a stale one replaced.
    with partial.open("w", encoding="utf-8") as out:
        count = archive.write_jsonl(source, out)
    os.replace(partial, target)
    click.echo(f"wrote {count} records to {target}", err=True)
