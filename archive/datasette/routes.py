"""Pages of our own in `briefs serve`, a Datasette plugin (registered by
archive.datasette.server.PLUGINS, not an entry point):

- /<db>/-/diff?url=URL&from=N&to=M: what changed between two revisions of a brief, word by
  word (archive.revision_diff; from and to as `briefs diff` takes them), and a link to it
  from each revision's number in the `revisions` table;
- /<db>/-/feeds/newest.atom: an Atom feed of the newest briefs (archive.feeds);
- /<db>/-/feeds/watch/<name>.atom: one of the newest briefs a saved search finds
  (archive.watches). Datasette serves the archive immutable, so a feed is the watch's search
  now, not what its runs have reported (which only `briefs watch run` records).

Every value shown comes from the archive and is escaped (Jinja's autoescape, as Datasette's
own templates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode

import sqlite_utils
from datasette import Response, hookimpl
from datasette.utils import tilde_encode
from datasette.utils.asgi import NotFound
from markupsafe import Markup, escape

from archive.feeds import FEED_SIZE, atom_feed, entries_of, last_crawl, newest_entries
from archive.revision_diff import (
    DELETE,
    INSERT,
    NoSuchRevision,
    RevisionDiff,
    body_runs,
    diff,
    spaced,
)
from archive.search import PLAIN_HIGHLIGHT
from archive.watches import WatchError, get_watch, latest_matches

T = TypeVar("T")

DIFF_TEMPLATE = """
{% extends "base.html" %}
{% block title %}What changed: {{ diff.title }}{% endblock %}
{% block extra_head %}
<style>
  .briefs-diff del { background: #fdd; color: #900; text-decoration: line-through; }
  .briefs-diff ins { background: #dfd; color: #060; text-decoration: none; }
  .briefs-diff .fields th { text-align: left; padding-right: 1em; vertical-align: top; }
  .briefs-diff .body p { max-width: 45em; line-height: 1.5; }
  .briefs-diff details { color: #666; margin: 0.5em 0; }
</style>
{% endblock %}
{% block crumbs %}{{ crumbs.nav(request=request, database=database) }}{% endblock %}
{% block content %}
<div class="briefs-diff">
<h1>What changed: {{ diff.title }}</h1>
<p><a href="{{ diff.url }}">{{ diff.url }}</a> ·
  <a href="{{ brief_href }}">the brief in the archive</a></p>
<table class="revisions">
{% for sign, revision in (("from", diff.old), ("to", diff.new)) %}
  <tr><th>{{ sign }}</th>
    <td><a href="{{ revision_href(revision) }}">revision {{ revision.number }}</a></td>
    <td>first seen {{ revision.seen_at }} ({{ revision.made_by }})</td>
    <td>{{ revision.record.get("title", "") }}</td></tr>
{% endfor %}
</table>
{% if diff.revisions|length > 2 %}
<p class="history">Each change:
{% for revision in diff.revisions[1:] %}
  <a href="{{ diff_href(revision.number) }}">{{ revision.number - 1 }} → {{ revision.number }}</a>
{% endfor %}</p>
{% endif %}
{% if diff.fields %}
<h2>Fields</h2>
<table class="fields">
{% for change in diff.fields %}
  <tr><th>{{ change.name }}</th><td>{{ marked(change.pieces, change.separator) }}</td></tr>
{% endfor %}
</table>
{% endif %}
<h2>Body</h2>
<div class="body">
{% if diff.body is none %}
  <p>The body did not change.</p>
{% else %}
{% for is_changed, run in body_runs(diff.body) %}
  {% if is_changed %}
    {% for paragraph in run %}<p>{{ marked(paragraph) }}</p>{% endfor %}
  {% else %}
    <details><summary>{{ run|length }} unchanged paragraph{{ "s" if run|length > 1 }}</summary>
    {% for paragraph in run %}<p>{{ marked(paragraph) }}</p>{% endfor %}
    </details>
  {% endif %}
{% endfor %}
{% endif %}
</div>
</div>
{% endblock %}
"""

_TAGS = {DELETE: "del", INSERT: "ins"}


def marked(pieces, separator: str = " ") -> Markup:
    """Pieces as HTML: deleted words in <del>, inserted ones in <ins>, every text escaped."""
    html = Markup()
    for before, piece in spaced(pieces, separator):
        text = escape(piece.text)
        tag = _TAGS.get(piece.change)
        html += escape(before) + (Markup(f"<{tag}>{text}</{tag}>") if tag else text)
    return html


async def _archive_call(datasette, request, function: Callable[[sqlite_utils.Database], T]) -> T:
    """`function` run on the served archive the request names, once its reader may see it."""
    name = request.url_vars["database"]
    try:
        database = datasette.get_database(name)
    except KeyError:
        raise NotFound(f"no database {name}") from None
    await datasette.ensure_permissions(request.actor, [("view-database", name), "view-instance"])

    def call(conn):
        # Datasette's own read connection (immutable): nothing is to be set on it.
        return function(
            sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
        )

    return await database.execute_fn(call)


async def error_page(datasette, status: int, message: str) -> Response:
    """Datasette's error page, without the traceback Datasette prints for a raised one: a
    link to a brief or a revision the archive does not have is the reader's mistake."""
    template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
    html = await template.render_async(
        {
            "ok": False,
            "error": message,
            "status": status,
            "title": None,
            "urls": datasette.urls,
            "app_css_hash": datasette.app_css_hash(),
            "menu_links": lambda: [],
        }
    )
    return Response.html(html, status=status)


def _revision_arg(request, name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a revision number (1, 2, …), not {value!r}")
    return int(value)


async def diff_page(datasette, request):
    url = request.args.get("url")
    if not url:
        return await error_page(datasette, 400, "?url= names the brief whose revisions to compare")
    try:
        old, new = _revision_arg(request, "from"), _revision_arg(request, "to")
    except ValueError as error:
        return await error_page(datasette, 400, str(error))
    try:
        changes: RevisionDiff = await _archive_call(
            datasette, request, lambda db: diff(db, url, old, new)
        )
    except NoSuchRevision as error:
        return await error_page(datasette, 404, str(error))
    name = request.url_vars["database"]
    template = datasette.jinja_env.from_string(DIFF_TEMPLATE)
    context = {
        "database": name,
        "diff": changes,
        "marked": marked,
        "body_runs": body_runs,
        "brief_href": datasette.urls.row(name, "briefs", tilde_encode(changes.url)),
        "revision_href": lambda revision: datasette.urls.row(name, "revisions", str(revision.id)),
        "diff_href": lambda number: diff_href(datasette, name, changes.url, number),
    }
    return Response.html(await datasette.render_template(template, context, request=request))


def diff_href(datasette, database: str, url: str, to: int, old: int | None = None) -> str:
    """The path of the diff page of revision `to` of the brief at `url` (against `old`, by
    default the revision before it)."""
    query = {"url": url, **({"from": old} if old is not None else {}), "to": to}
    return f"{datasette.urls.database(database)}/-/diff?{urlencode(query)}"


ATOM_TYPE = "application/atom+xml; charset=utf-8"


async def newest_feed(datasette, request):
    entries, empty = await _archive_call(
        datasette, request, lambda db: (newest_entries(db), last_crawl(db))
    )
    database = datasette.urls.database(request.url_vars["database"])
    body = atom_feed(
        feed_id=datasette.absolute_url(request, request.path),
        title="briefs archive: the newest briefs",
        self_url=datasette.absolute_url(request, request.path),
        alternate_url=datasette.absolute_url(request, f"{database}/briefs?_sort_desc=published"),
        entries=entries,
        empty_updated=empty,
    )
    return Response(body, content_type=ATOM_TYPE)


async def watch_feed(datasette, request):
    name = request.url_vars["name"]

    def read(db):
        watch = get_watch(db, name)
        hits = latest_matches(db, watch, FEED_SIZE, PLAIN_HIGHLIGHT)
        return watch, entries_of(db, [hit.url for hit in hits]), last_crawl(db)

    try:
        watch, entries, empty = await _archive_call(datasette, request, read)
    except WatchError as error:
        return await error_page(datasette, 404, str(error))
    database = datasette.urls.database(request.url_vars["database"])
    search = urlencode({"_search": watch.query})
    body = atom_feed(
        feed_id=datasette.absolute_url(request, request.path),
        title=f"briefs watch {watch.name}",
        subtitle=f"The newest briefs of the search {watch.describe()}",
        self_url=datasette.absolute_url(request, request.path),
        alternate_url=datasette.absolute_url(request, f"{database}/briefs?{search}"),
        entries=entries,
        empty_updated=max(empty, watch.created),
    )
    return Response(body, content_type=ATOM_TYPE)


@hookimpl
def register_routes(datasette):
    return [
        (r"^/(?P<database>[^/]+)/-/diff$", diff_page),
        (r"^/(?P<database>[^/]+)/-/feeds/newest\.atom$", newest_feed),
        (r"^/(?P<database>[^/]+)/-/feeds/watch/(?P<name>[^/]+)\.atom$", watch_feed),
    ]


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    """A revision's number, in the `revisions` table and on a revision's page, links to
    what it changed (the diff page against the revision before it)."""
    if table != "revisions" or column != "revision" or not isinstance(value, int) or value < 2:
        return None
    try:
        url = row["url"]
    except (KeyError, IndexError):
        return None
    if isinstance(url, dict):  # the table view expands the foreign key to briefs
        url = url.get("value")
    href = diff_href(datasette, database, url, value)
    return Markup(f'<a href="{escape(href)}" title="what it changed">{value}</a>')
