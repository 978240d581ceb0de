"""The options more than one `briefs` command takes."""

from __future__ import annotations

from collections.abc import Callable

import click

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
