"""The briefs table's search in Datasette, ranked as `briefs search` ranks it.

Datasette's table view filters a search (`?_search=` keeps the rows the index matches) but
orders the rows by the table's sort or its primary key, never by relevance (its table
query has no access to the index's rank; simonw/datasette#268). So a search of the briefs
table, on its page or its JSON (`/DB/briefs?_search=...`, `/DB/briefs.json?_search=...`),
is answered here by archive.search, the function behind `briefs search` and the Python API:
the same briefs, in the same order, with the same snippets, and how many match. A search
that asks for more than a ranked list (a sort, `_sort=published`, a filter or a facet of the
table, or `?_searchmode=`) stays Datasette's table view, which filters by the same index and
query syntax (`searchmode: raw`) and shows facets.

`briefs serve` registers this module as a plugin beside the package's own
(archive.datasette.server.PLUGINS).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from datasette import NotFound, Response, hookimpl
from datasette.utils import add_cors_headers, tilde_decode, tilde_encode
from markupsafe import Markup, escape

from archive.search import HIT_FIELDS, PLAIN_HIGHLIGHT, RAW_HIGHLIGHT, SearchQueryError, count
from archive.search import search as ranked_search

TABLE = "briefs"
ROUTE = "-/briefs-search"
# What a ranked list takes besides the query: its page, its shape, and the columns the
# table view would show (ignored: a hit has its own fields).
RANKED_ARGS = frozenset({"_search", "_next", "_size", "_shape", "_col", "_nocol"})
# What Datasette's search box sends besides the query: the form's empty filter row and the
# sort the table was shown in. A box sent with no filter is a new search, ranked.
BOX_ARGS = frozenset({"_filter_column", "_filter_op", "_filter_value", "_sort", "_sort_by_desc"})

# The table view's orders by date, each a link from the ranked list.
BY_DATE = {"newest": ("_sort_desc", "published"), "oldest": ("_sort", "published")}


def ranked_path(path: str, query_string: bytes) -> str | None:
    """The path of this module's page for a request that is a ranked search of the briefs
    table (its page or its JSON), else None."""
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[1] not in (TABLE, f"{TABLE}.json"):
        return None
    args = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    names = {name for name, _ in args}
    values = dict(args)
    if not values.get("_search", "").strip():
        return None
    if "_filter_column" in names:
        if values["_filter_column"] or values.get("_filter_value"):
            return None  # the box sent with a filter: the table view applies it
        allowed = RANKED_ARGS | BOX_ARGS
    else:
        allowed = RANKED_ARGS
    if not names <= allowed:
        return None
    suffix = ".json" if parts[1].endswith(".json") else ""
    return f"/{parts[0]}/{ROUTE}{suffix}"


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def ranked(scope, receive, send):
            if scope.get("type") == "http":
                path = ranked_path(scope.get("path", ""), scope.get("query_string", b""))
                if path is not None:
                    scope = {**scope, "path": path, "raw_path": path.encode()}
            await app(scope, receive, send)

        return ranked

    return wrap


@hookimpl
def register_routes():
    return [(rf"^/(?P<database>[^/]+)/{ROUTE}(?P<format>\.json)?$", search_page)]


async def search_page(datasette, request) -> Response:
    try:
        db = datasette.get_database(route=tilde_decode(request.url_vars["database"]))
    except KeyError:
        raise NotFound("Database not found") from None
    database = db.name
    await datasette.ensure_permissions(
        request.actor,
        [("view-table", (database, TABLE)), ("view-database", database), "view-instance"],
    )
    as_json = bool(request.url_vars.get("format"))
    table_path = datasette.urls.table(database, TABLE, format="json" if as_json else None)
    args = request.args
    query = args.get("_search", "")
    if "_filter_column" in args:  # the search box: its URL without the form's fields
        kept = [(name, args[name]) for name in ("_search", "_size", "_shape") if name in args]
        return Response.redirect(f"{table_path}?{urlencode(kept)}")
    try:
        size = _number(args.get("_size"), datasette.setting("default_page_size"), "_size", 1)
        size = min(size, datasette.setting("max_returned_rows"))
        offset = _number(args.get("_next"), 0, "_next", 0)

        def run(conn):
            marks = PLAIN_HIGHLIGHT if as_json else RAW_HIGHLIGHT
            hits = ranked_search(conn, query, limit=size, offset=offset, highlight=marks)
            return hits, count(conn, query)

        hits, total = await db.execute_fn(run)
        error = None
    except SearchQueryError as problem:
        hits, total, error = [], 0, str(problem)
    following = offset + size if offset + len(hits) < total else None
    next_url = None
    if following is not None:
        pairs = [("_search", query), ("_next", str(following))]
        pairs += [(name, args[name]) for name in ("_size", "_shape") if name in args]
        next_url = datasette.absolute_url(request, f"{table_path}?{urlencode(pairs)}")
    if as_json:
        return _json(datasette, database, query, hits, total, following, next_url, error, args)
    context = {
        "database": database,
        "table": TABLE,
        "query": query,
        "error": error,
        "total": total,
        "offset": offset,
        "hits": [_shown(datasette, database, hit) for hit in hits],
        "table_url": datasette.urls.table(database, TABLE),
        "by_date": {
            order: f"{datasette.urls.table(database, TABLE)}?{urlencode([('_search', query), arg])}"
            for order, arg in BY_DATE.items()
        },
        "next_url": next_url,
    }
    page = datasette.jinja_env.from_string(PAGE)
    html = await datasette.render_template(page, context, request=request)
    return Response.html(html, status=400 if error else 200)


def _number(value: str | None, default: int, name: str, least: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or int(value) < least:
        raise SearchQueryError(f"{name} must be a whole number of at least {least}")
    return int(value)


def _json(datasette, database, query, hits, total, following, next_url, error, args) -> Response:
    rows = [hit.as_dict() for hit in hits]
    if error is not None:
        response = Response.json({"ok": False, "error": error, "status": 400}, status=400)
    elif args.get("_shape") == "array":
        response = Response.json(rows)
    else:
        response = Response.json(
            {
                "ok": True,
                "database": database,
                "table": TABLE,
                "query": query,
                "sort": "rank",
                "total": total,
                "filtered_table_rows_count": total,
                "columns": list(HIT_FIELDS),
                "rows": rows
                if args.get("_shape") == "objects"
                else [[row[name] for name in HIT_FIELDS] for row in rows],
                "next": following,
                "next_url": next_url,
            }
        )
    if datasette.cors:
        add_cors_headers(response.headers)
    return response


def _shown(datasette, database: str, hit) -> dict[str, object]:
    """A hit as the page shows it: its link, its line of facts, its snippet with the match
    marked (the text escaped, then marked)."""
    snippet = str(escape(hit.snippet))
    for mark, tag in zip(RAW_HIGHLIGHT, ("<mark>", "</mark>"), strict=True):
        snippet = snippet.replace(mark, tag)
    section = "" if hit.section in hit.countries else hit.section or ""
    facts = [hit.published[:10], hit.language, section, ", ".join(hit.countries),
             ", ".join(hit.authors)]  # fmt: skip
    return {
        "url": hit.url,
        "title": hit.title,
        "row_url": datasette.urls.row(database, TABLE, tilde_encode(hit.url)),
        "facts": " · ".join(fact for fact in facts if fact),
        "snippet": Markup(snippet),
    }


PAGE = """{% extends "base.html" %}
{% block title %}{{ query }}: search the briefs{% endblock %}
{% block crumbs %}{{ crumbs.nav(request=request, database=database, table=table) }}{% endblock %}
{% block extra_head %}
<style>
.briefs-search-hits { padding-left: 2em; }
.briefs-search-hits li { margin-bottom: 1em; }
.briefs-search-title { font-size: 1.1em; font-weight: bold; }
.briefs-search-facts { color: #555; font-size: 0.9em; }
.briefs-search-snippet { margin: 0.2em 0; }
.briefs-search-snippet mark { background: #fff3a0; }
</style>
{% endblock %}
{% block content %}
<h1>Search the briefs</h1>
<form class="briefs-search" action="{{ table_url }}" method="get">
  <input type="search" name="_search" value="{{ query }}" aria-label="Search the briefs">
  <input type="submit" value="Search">
</form>
{% if error %}
<p class="message-error">{{ error }}</p>
{% else %}
<h2 class="briefs-search-total">{% if total == 0 %}No brief matches{% elif total == 1 %}1 brief
 matches{% else %}{{ "{:,}".format(total) }} briefs match{% endif %}</h2>
<p class="briefs-search-orders">Best match first. By date, as a table with facets:
  <a href="{{ by_date.newest }}">newest first</a>,
  <a href="{{ by_date.oldest }}">oldest first</a>.</p>
<ol class="briefs-search-hits" start="{{ offset + 1 }}">
{% for hit in hits %}
  <li data-url="{{ hit.url }}">
    <a class="briefs-search-title" href="{{ hit.row_url }}">{{ hit.title }}</a>
    <div class="briefs-search-facts">{{ hit.facts }}</div>
    <p class="briefs-search-snippet">{{ hit.snippet }}</p>
  </li>
{% endfor %}
</ol>
{% if next_url %}<p><a class="briefs-search-next" href="{{ next_url }}">Next page</a></p>{% endif %}
{% endif %}
{% endblock %}
"""
