"""The options more than one `briefs` command takes."""

from __future__ import annotations

from collections.abc import Callable

import click

from archive.search import LANGUAGES, SearchQueryError, country_filter, parse_bound
from archive.snapshots import parse_since
from crawler import settings as defaults

DEFAULT_DB = defaults.BRIEFS_DB
db_option = click.option(
    "--db",
    default=DEFAULT_DB,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The SQLite archive.",
)


def since_option(name: str = "--since", help: str = "") -> Callable:
    """A DATE option (an ISO date, or a date and time), as the archive compares it."""

    def convert(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_since(value, name.lstrip("-"))
        except ValueError as error:
            raise click.BadParameter(str(error)) from None

    return click.option(name, metavar="DATE", callback=convert, help=help)


def _checked(convert: Callable[[str], str]) -> Callable:
    """An option's callback that converts each of its values, a usage error (exit 2) saying
    why for one that cannot be."""

    def callback(_ctx: click.Context, _param: click.Parameter, value: object) -> object:
        try:
            if isinstance(value, tuple):
                return tuple(convert(item) for item in value)
            return None if value is None else convert(value)
        except SearchQueryError as error:
            raise click.BadParameter(str(error)) from None

    return callback


def search_filters(command: Callable) -> Callable:
    """The filters of a search (`briefs search`), as the keyword arguments of
    archive.search.search of the same names: each name filter may be given again (any of its
    values keeps a brief), the filters together keep what passes all of them."""
    options = [
        click.option(
            "--country",
            multiple=True,
            callback=_checked(country_filter),
            help="Only briefs filed under this country, in either language: its name in English"
            " or Spanish (Mexico, México) or its ISO code (MX). Again for another.",
        ),
        click.option(
            "--author", multiple=True, help="Only briefs by this author. Again for another."
        ),
        click.option("--tag", multiple=True, help="Only briefs with this tag. Again for another."),
        click.option(
            "--section",
            multiple=True,
            help="Only briefs in this section (Peru, Elites and Crime). Again for another.",
        ),
        click.option(
            "--lang",
            "language",
            multiple=True,
            type=click.Choice(LANGUAGES, case_sensitive=False),
            help="Only briefs in this language.",
        ),
    ]
    for name, what, column in (
        ("since", "published on or after", "published"),
        ("until", "published on or before (a year or month: to its end)", "published"),
        ("seen-since", "first seen (archived) on or after", "first_seen"),
    ):
        options.append(
            click.option(
                f"--{name}",
                metavar="DATE",
                callback=_checked(lambda value, name=name: parse_bound(value, name)),
                help=f"Only briefs {what} DATE: a year (2020), a month (2021-06), a date or an"
                f" ISO 8601 date and time, UTC ({column}).",
            )
        )
    for option in reversed(options):
        command = option(command)
    return command
