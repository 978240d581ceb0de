"""The pages of our own in `briefs serve` (archive.serve_routes): the diff of two revisions
of a brief, checked in Datasette in this process (its test client, no server)."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from urllib.parse import quote, quote_plus

import pytest

from tests.test_revision_diff import COLOMBIA, MARCH, MEXICO, revised_archive
from tests.test_search import SITE
from tests.test_serve import served


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return revised_archive(tmp_path_factory.mktemp("routes") / "archive.sqlite")


def served_page(db_path, path: str):
    """(status, text) of `path` on Datasette serving the archive immutable, with the
    plugins `briefs serve` registers (in this process, without a server)."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    from archive import datasette_metadata, serve_routes

    async def get():
        datasette = Datasette(immutables=[str(db_path)])
        await datasette.invoke_startup()
        response = await datasette.client.get(path)
        return response.status_code, response.text

    plugins = [(datasette_metadata, "briefs"), (serve_routes, "briefs-routes")]
    added = [plugin for plugin, name in plugins if not pm.is_registered(plugin)]
    for plugin, name in plugins:
        if plugin in added:
            pm.register(plugin, name=name)
    try:
        return asyncio.run(get())
    finally:
        for plugin in added:
            pm.unregister(plugin)


def test_the_diff_page_shows_the_same_diff(db_path):
    status, html = served_page(db_path, f"/archive/-/diff?url={quote(MEXICO.url)}&from=1")
    assert status == 200, html
    assert "<h1>What changed: Mexico Disbands State Police</h1>" in html
    assert "<th>title</th><td>Mexico <del>Purges</del><ins>Disbands</ins> State Police</td>" in html
    assert "<td>Steven Dudley, <ins>Ana Gómez</ins></td>" in html
    assert f"<ins>X Brief &lt;{SITE}/news/brief/x/&gt;</ins>" in html
    assert (
        "<p>Hundreds of <del>police</del> officers were dismissed in <del>Jalisco.</del>"
        "<ins>Jalisco on Monday. A paragraph more.</ins></p>" in html
    )
    assert "<summary>1 unchanged paragraph</summary>" in html
    assert "first seen 2026-01-01T00:00:00+00:00 (crawl)" in html and f"first seen {MARCH}" in html
    assert '<a href="/archive/revisions/' in html  # each revision's row
    assert 'to=2">1 → 2</a>' in html and 'to=3">2 → 3</a>' in html


def test_the_diff_page_escapes_what_the_brief_says(db_path):
    status, html = served_page(db_path, f"/archive/-/diff?url={quote(COLOMBIA.url)}")
    assert status == 200
    assert "<ins>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;</ins>" in html
    assert "<script>alert(1)" not in html


def test_the_diff_page_says_what_it_cannot_show(db_path):
    for query, status, words in (
        ("", 400, "?url= names the brief"),
        (f"url={SITE}/news/brief/nothing/", 404, "the archive has no brief at"),
        (f"url={MEXICO.url}&from=x", 400, "from must be a revision number"),
        (f"url={MEXICO.url}&to=8", 404, "has no revision 8"),
    ):
        code, html = served_page(db_path, f"/archive/-/diff?{query}")
        assert code == status and words in html.replace("&#39;", "'"), (query, html[-800:])


def test_each_revision_links_to_what_it_changed(db_path):
    status, html = served_page(db_path, f"/archive/revisions?url={quote(MEXICO.url)}")
    assert status == 200
    links = re.findall(r'<td class="col-revision type-int">(.*?)</td>', html)
    assert sorted(links) == [
        "1",
        f'<a href="/archive/-/diff?url={quote_plus(MEXICO.url)}&amp;to=2" title="what it'
        ' changed">2</a>',
        f'<a href="/archive/-/diff?url={quote_plus(MEXICO.url)}&amp;to=3" title="what it'
        ' changed">3</a>',
    ]


@pytest.fixture(scope="module")
def server(db_path):
    """`briefs serve` of the archive: its base URL and the database's."""
    with served(db_path) as base:
        yield base, f"{base}/archive"


def test_briefs_serve_serves_the_diff_page(server):
    _, db = server
    with urllib.request.urlopen(f"{db}/-/diff?url={quote(MEXICO.url)}", timeout=10) as page:
        html = page.read().decode()
    assert "What changed: Mexico Disbands State Police" in html
