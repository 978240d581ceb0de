"""briefs' Datasette plugin: the archive as a researcher reads it in `briefs serve`.

A brief's page (title, date, filing, body as paragraphs, related briefs, revisions); tables
of briefs that show what a reader scans (the rest one click away) with readable lists; the
column descriptions folded; facets by country name and years in order; a chart of briefs a
month (/<database>/-/chart); links to the newest briefs' feed. The templates are in
templates/ (Datasette finds a plugin package's own); the metadata, canned queries included,
is metadata.py's; server.py runs Datasette with it. The plugin is registered by `briefs
serve` only, not as an entry point: other Datasette instances are untouched, and a plain
`datasette briefs.sqlite` still serves the archive, without these pages.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import markupsafe
from datasette import Response, hookimpl
from datasette.utils import path_with_replaced_args, tilde_decode, urlsafe_components
from datasette.utils.asgi import NotFound

from archive.datasette.metadata import DEFAULT_COLUMNS, HIDDEN_COLUMNS, VIEWS
from archive.datasette.pages import (
    TABLE_FILTERS,
    Links,
    brief_page,
    chart,
    chart_filters,
    day,
    month_name,
)
from archive.search import SearchQueryError
from archive.stats import count_briefs
from cleaning.countries import country_name

# The scope key under which a request's table view is told that the columns it shows are
# the default ones (the request named none).
DEFAULT_COLUMNS_SCOPE = "briefs.default_columns"
# What an empty list shows: a blank cell, as Datasette shows an empty value.
EMPTY = markupsafe.Markup("&nbsp;")
# The tables whose rows are (about) briefs: a title there links to the brief's page.
BRIEF_TABLES = frozenset({"briefs", *VIEWS})


def hide_columns(path: str, query_string: bytes) -> bytes:
    """The query string of a table view with the hidden columns left out, unless the request
    names its columns itself (?_col= / ?_nocol=)."""
    parts = path.strip("/").split("/")
    if len(parts) != 2:
        return query_string  # not a table view (a row page shows everything)
    table = parts[1]
    for suffix in (".json", ".csv"):
        table = table.removesuffix(suffix)
    hidden = HIDDEN_COLUMNS.get(table)
    if not hidden:
        return query_string
    args = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if any(name in ("_col", "_nocol") for name, _ in args):
        return query_string
    return urlencode([*args, *(("_nocol", column) for column in hidden)]).encode("latin-1")


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def without_bodies(scope, receive, send):
            if scope.get("type") == "http":
                query = hide_columns(scope.get("path", ""), scope.get("query_string", b""))
                if query != scope.get("query_string", b""):
                    scope = {**scope, "query_string": query, DEFAULT_COLUMNS_SCOPE: True}
            await app(scope, receive, send)

        return without_bodies

    return wrap


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["country_name"] = lambda code: country_name(code, "en") or code
    env.filters["day"] = day
    env.filters["month_name"] = month_name


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """A brief's title as the link to its page; in a table of briefs, lists as text, not
    JSON, and the date of publication as a day."""
    if table is not None and table not in BRIEF_TABLES:
        return None
    names = row.keys()
    url = row["url"] if "url" in names else row["brief_url"] if "brief_url" in names else None
    if column == "title" and value and url:
        href = Links(datasette.urls, database).brief(url)
        return markupsafe.Markup('<a href="{}">{}</a>').format(href, value)
    if table != "briefs":
        return None
    if column in ("countries", "country_codes", "authors", "tags"):
        return ", ".join(json.loads(value)) or EMPTY
    if column == "related":
        return "; ".join(item.get("title") or item["url"] for item in json.loads(value)) or EMPTY
    if column == "translations":
        return (
            markupsafe.Markup(", ").join(
                markupsafe.Markup('<a href="{}">{}</a>').format(other, language)
                for language, other in json.loads(value).items()
            )
            or EMPTY
        )
    if column == "published" and value:
        return markupsafe.Markup('<time datetime="{0}" title="{0}">{1}</time>').format(
            value, value[:10]
        )
    return None


@hookimpl
def extra_template_vars(template, database, table, columns, view_name, request, datasette):
    async def variables():
        if database is None or request is None:
            return {}
        db = datasette.get_database(database)
        links = Links(datasette.urls, database)
        if not await db.table_exists("briefs"):
            return {}
        found = {"briefs_links": links}
        if view_name == "row" and table == "briefs":
            url = urlsafe_components(request.url_vars["pks"])[0]
            found["brief"] = await db.execute_fn(lambda conn: brief_page(conn, url, links))
        if view_name == "table" and table == "briefs":
            default = request.scope.get(DEFAULT_COLUMNS_SCOPE, False)
            found["briefs_table"] = {
                "folded_columns": [
                    column for column in columns if column not in DEFAULT_COLUMNS["briefs"]
                ]
                if default
                else [],
                "all_columns_href": path_with_replaced_args(request, {"_nocol": "body"})
                if default
                else None,
                "chart_href": links.chart(_chart_args(request.args)),
            }
        return found

    return variables


def _chart_args(args) -> list[tuple[str, str]]:
    """The chart filters that keep what a table view's filters keep (those that have one)."""
    by_table_filter = {table_filter: name for name, table_filter in TABLE_FILTERS.items()}
    return [
        (by_table_filter[key], value)
        for key in args
        if key in by_table_filter
        for value in args.getlist(key)
    ]


@hookimpl
def register_routes():
    return [(r"^/(?P<database>[^/]+)/-/chart$", chart_page)]


async def chart_page(request, datasette):
    """Briefs a month, of all briefs or of those the filters keep, as bars."""
    try:
        db = datasette.get_database(route=tilde_decode(request.url_vars["database"]))
    except KeyError:
        raise NotFound("Database not found") from None
    await datasette.ensure_permissions(request.actor, [("view-database", db.name), "view-instance"])
    links = Links(datasette.urls, db.name)
    given, filters = chart_filters({key: request.args.getlist(key) for key in request.args})
    error = None
    try:
        counts = await db.execute_fn(lambda conn: count_briefs(conn, "month", filters))
    except SearchQueryError as problem:
        counts, error = [], str(problem)
    context = {
        "database": db.name,
        "given": given,
        "chart": chart(counts, given, links),
        "error": error,
        "briefs_links": links,
    }
    html = await datasette.render_template(
        "briefs_chart.html", context, request=request, view_name="briefs_chart"
    )
    return Response.html(html, status=400 if error else 200)
