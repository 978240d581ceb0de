"""Running Datasette on an archive (what `briefs serve` calls): immutable, with briefs' metadata
and plugins, and whatever other options of `datasette serve` the user gives."""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import click
from datasette.cli import serve as datasette_serve
from datasette.plugins import pm
from datasette.utils import BadMetadataError, parse_metadata

from archive.datasette.metadata import metadata

# The Datasette plugins `briefs serve` registers, by module (none is an entry point, so other
# Datasette instances are untouched).
PLUGINS = ("archive.datasette", "archive.datasette.search", "archive.datasette.routes")


def register_plugins() -> None:
    """Register PLUGINS with Datasette in this process (once each)."""
    for name in PLUGINS:
        plugin = importlib.import_module(name)
        if not pm.is_registered(plugin):
            pm.register(plugin, name=name)


class ServeOptionsError(ValueError):
    """An option for Datasette that it does not take, or that `briefs serve` cannot pass."""


def prepare(
    db_path: str | Path,
    sites: list[str],
    host: str,
    port: int,
    datasette_options: Sequence[str] = (),
) -> Callable[[], None]:
    """What serves the archive at `db_path` (of `sites`) in Datasette, immutable (`datasette
    serve -i`), at http://HOST:PORT/, until stopped: checked now, run when called.

    `datasette_options` are `datasette serve`'s own (--cors, --setting NAME VALUE,
    --plugins-dir, --template-dir, ...), checked by Datasette's parser: ServeOptionsError
    for one it does not take, a database file (only the archive is served, and immutable),
    or --reload (which would restart Datasette without briefs' plugins). A --metadata file
    is merged over briefs' own metadata (merged_metadata).
    """
    args = ["-i", str(db_path), "--host", host, "--port", str(port), *datasette_options]
    try:
        ctx = datasette_serve.make_context("briefs serve", args)
    except click.exceptions.NoSuchOption as error:
        raise ServeOptionsError(
            f"no such option: {error.option_name} (neither briefs serve nor datasette serve"
            " takes it)"
        ) from None
    except click.ClickException as error:
        raise ServeOptionsError(f"datasette serve: {error.format_message()}") from None
    if ctx.params["files"] or len(ctx.params["immutable"]) > 1:
        raise ServeOptionsError(
            "briefs serve serves the archive at --db alone; give other databases to"
            " datasette serve itself"
        )
    if ctx.params["reload"]:
        raise ServeOptionsError(
            "--reload restarts Datasette without briefs' plugins: run datasette serve --reload"
        )
    ours = metadata(db_path, sites)
    if ctx.params["metadata"] is not None:
        with ctx.params["metadata"] as given:
            try:
                ours = merged_metadata(ours, parse_metadata(given.read()))
            except BadMetadataError as error:
                raise ServeOptionsError(f"--metadata {given.name}: {error}") from None
    ctx.params["metadata"] = io.StringIO(json.dumps(ours))

    def run() -> None:
        register_plugins()
        with ctx:
            datasette_serve.invoke(ctx)

    return run


def merged_metadata(ours: dict, theirs: dict) -> dict:
    """`theirs` over `ours`: a key of theirs replaces ours, but where both hold a mapping
    (databases, a database, its tables, a table, its columns, queries...) the two are merged
    the same way, key by key. A list (facets) is replaced whole."""
    merged = dict(ours)
    for key, value in theirs.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merged_metadata(merged[key], value)
        else:
            merged[key] = value
    return merged
