"""The `briefs` commands that read one brief: show (as a reader reads it) and diff (what
changed between two of its revisions). Both open the archive read-only (open_archive)."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from collections.abc import Iterator, Sequence

import click

from archive.revision_diff import (
    DELETE,
    EQUAL,
    INSERT,
    BriefAt,
    NoSuchRevision,
    Piece,
    RevisionDiff,
    body_runs,
    brief_at,
    changed,
    diff,
    spaced,
)
from crawler.cli.params import db_option
from crawler.cli.reading import open_archive

# git diff --word-diff's markers, and its colours on a terminal.
MARKERS = {DELETE: ("[-", "-]"), INSERT: ("{+", "+}")}
COLOURS = {DELETE: "red", INSERT: "green"}
FORMATS = click.Choice(["text", "json"])
LABEL = 13  # the width of a field's label in `briefs show`


def _format_option(command):
    return click.option(
        "--format", "fmt", type=FORMATS, default="text", show_default=True, help="How to print it."
    )(command)


@click.command()
@click.argument("url")
@db_option
@click.option(
    "--revision",
    type=click.IntRange(min=1),
    help="The revision to show (1 is the first); the latest by default.",
)
@click.option(
    "--width",
    type=click.IntRange(min=20),
    help="Wrap the text at this many columns [default: the terminal's width, else 80].",
)
@_format_option
def show(url: str, db: str, revision: int | None, width: int | None, fmt: str) -> None:
    """Print the brief at URL as a reader reads it: its title, date, section, countries,
    authors, tags, its URL and translations, the body, the related briefs.

    URL is the brief's URL as the archive has it, or as a browser shows it (http, without
    the trailing slash, with tracking parameters). --format json gives its record (as
    briefs export writes it) and the revision's. Exit status: 0; 2 no such brief or
    revision, no archive at --db, or not a briefs archive; 3 the archive cannot be read.
    """
    with open_archive(db) as source:
        try:
            brief = brief_at(source, url, revision)
        except NoSuchRevision as error:
            raise click.UsageError(str(error)) from None
    if fmt == "json":
        click.echo(json.dumps(brief.as_dict(), ensure_ascii=False, indent=2))
        return
    columns = width or shutil.get_terminal_size((80, 24)).columns
    click.echo("\n".join(brief_lines(brief, columns)))


def brief_lines(brief: BriefAt, width: int) -> Iterator[str]:
    """The brief as the terminal shows it, `width` columns wide."""
    record = brief.as_dict()
    title = textwrap.wrap(str(record["title"]), width) or [""]
    yield from title
    yield "=" * min(width, max(map(len, title)))
    dates = str(record["published"])[:10]
    if record["updated"]:
        dates += f" (updated {str(record['updated'])[:10]})"
    meta: list[str] = []
    for part in (dates, record["section"], record["language"]):
        if part and meta and len(meta[-1]) + 3 + len(part) <= width:
            meta[-1] += f" · {part}"
        elif part:
            meta.append(part)
    yield from meta
    codes = record["country_codes"] or []
    countries = [
        f"{name} ({codes[index]})" if index < len(codes) else name
        for index, name in enumerate(record["countries"])
    ]
    translations = sorted(dict(record["translations"] or {}).items())
    fields = (
        ("Countries", ", ".join(countries)),
        ("Authors", ", ".join(record["authors"])),
        ("Tags", ", ".join(record["tags"])),
        ("URL", record["url"]),
        *(("Translation", f"{lang} {link}") for lang, link in translations),
        ("Revision", _revision_line(brief)),
    )
    for label, value in fields:
        if value:
            yield from _labelled(label, str(value), width)
    for block in str(record["body"]).split("\n\n"):
        if block.strip():
            yield ""
            yield from textwrap.wrap(block, width) or [""]
    if record["related"]:
        yield ""
        yield "Related:"
        for item in record["related"]:
            parts = (item.get("title"), item.get("section"), str(item.get("date") or "")[:10])
            text = " · ".join(part for part in parts if part)
            yield from textwrap.wrap(text, width, initial_indent="  - ", subsequent_indent="    ")
            if item.get("url"):
                yield f"    {item['url']}"


def _revision_line(brief: BriefAt) -> str:
    line = (
        f"{brief.revision.number} of {brief.revisions}, first seen {brief.revision.seen_at}"
        f" ({brief.revision.made_by})"
    )
    if brief.revisions > 1:
        line += " · briefs diff shows what changed"
    return line


def _labelled(label: str, value: str, width: int) -> list[str]:
    head = f"{label + ':':<{LABEL}}"
    # A URL is not broken at its hyphens (it would not work copied).
    lines = textwrap.wrap(
        value,
        max(width, LABEL + 20),
        initial_indent=head,
        subsequent_indent=" " * LABEL,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return lines or [head]


@click.command("diff")
@click.argument("url")
@db_option
@click.option(
    "--from",
    "old",
    type=click.IntRange(min=1),
    help="The older revision [default: the one before --to].",
)
@click.option(
    "--to", "new", type=click.IntRange(min=1), help="The newer revision [default: the latest]."
)
@_format_option
def diff_command(url: str, db: str, old: int | None, new: int | None, fmt: str) -> None:
    """What changed between two revisions of the brief at URL, word by word: the fields
    that changed (title, summary, dates, section, countries, authors, tags, related,
    translations), then the body's changed paragraphs.

    Words only in --from are marked [-so-], words only in --to {+so+} (as git diff
    --word-diff marks them), red and green on a terminal. Exit status: 0; 2 no such brief,
    a brief with one revision, a revision it does not have, no archive at --db, or not a
    briefs archive; 3 the archive cannot be read.
    """
    with open_archive(db) as source:
        try:
            changes = diff(source, url, old, new)
        except NoSuchRevision as error:
            raise click.UsageError(str(error)) from None
    if fmt == "json":
        click.echo(json.dumps(changes.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo("\n".join(diff_lines(changes, colour=sys.stdout.isatty())))


def diff_lines(changes: RevisionDiff, colour: bool) -> Iterator[str]:
    """The diff as the terminal shows it (coloured when `colour`)."""
    yield f"diff {changes.url}"
    for sign, revision in (("---", changes.old), ("+++", changes.new)):
        yield (
            f"{sign} revision {revision.number}, first seen {revision.seen_at}"
            f" ({revision.made_by}): {revision.record.get('title', '')}"
        )
    if not changes.fields and changes.body is None:
        yield "(no content field differs)"
    width = max((len(change.name) for change in changes.fields), default=0) + 2
    for change in changes.fields:
        pieces = marked(change.pieces, colour, change.separator)
        yield f"{change.name + ':':<{width}}{pieces or '(none)'}"
    if changes.body is None:
        return
    yield ""
    yield "body:"
    if not any(map(changed, changes.body)):
        yield "  (only whitespace differs)"
        return
    for is_changed, run in body_runs(changes.body):
        if is_changed:
            yield from (marked(paragraph, colour) for paragraph in run)
        else:
            yield f"  … {len(run)} unchanged paragraph{'s' if len(run) > 1 else ''}"


def marked(pieces: Sequence[Piece], colour: bool, separator: str = " ") -> str:
    """Pieces as text: changed ones between git's word-diff markers, and coloured when
    `colour`."""
    out = ""
    for before, piece in spaced(pieces, separator):
        text = piece.text
        if piece.change != EQUAL:
            start, end = MARKERS[piece.change]
            text = f"{start}{text}{end}"
            if colour:
                text = click.style(text, fg=COLOURS[piece.change])
        out += before + text
    return out
