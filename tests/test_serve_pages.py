"""The pages of our own in `briefs serve` (archive.datasette.routes): the diff of two revisions
of a brief, and the Atom feeds of the newest briefs and of each saved search, checked in
Datasette in this process (its test client), and through `briefs serve` itself."""

from __future__ import annotations

import asyncio
import importlib
import re
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import quote, quote_plus

import feedparser
import pytest

import archive
from archive.watches import add_watch
from tests.test_revision_diff import COLOMBIA, MARCH, MEXICO, revised_archive
from tests.test_search import SAMPLE, SITE, brief, capture_for
from tests.test_serve import served

# A brief whose title and summary hold markup (text, which a feed escapes), and the saved
# searches of the archive.
MARKUP = brief(
    "markup-in-a-title",
    title="Cartels <b>&</b> Courts",
    published="2023-01-02T03:04:05+00:00",
    summary='Judges say "no" <script>alert(1)</script>',
    body="Police and courts.",
)
WATCHES = {
    "police-mx": ("police", {"country": ["MX"]}),
    "nothing": ("zanzibar", {}),
}


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = revised_archive(tmp_path_factory.mktemp("routes") / "archive.sqlite")
    with archive.connect(path) as db:
        archive.store_capture(db, capture_for(MARKUP, MARCH), MARKUP)
        for name, (query, filters) in WATCHES.items():
            add_watch(db, name, query, filters)
    return path


def served_page(db_path, path: str):
    """(status, text) of `path` on Datasette serving the archive immutable, with the
    plugins `briefs serve` registers (in this process, without a server)."""
    response = served_response(db_path, path)
    return response.status_code, response.text


def served_response(db_path, path: str):
    """The response to `path` of Datasette serving the archive immutable, with the plugins
    `briefs serve` registers (in this process, without a server)."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    from archive.datasette.server import PLUGINS

    async def get():
        datasette = Datasette(immutables=[str(db_path)])
        await datasette.invoke_startup()
        return await datasette.client.get(path)

    added = []
    for name in PLUGINS:
        plugin = importlib.import_module(name)
        if not pm.is_registered(plugin):
            pm.register(plugin, name=name)
            added.append(plugin)
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


ATOM = "{http://www.w3.org/2005/Atom}"


def feed(db_path, path: str):
    """The feed at `path`: feedparser's reading of it (which must find nothing wrong), and
    its XML."""
    response = served_response(db_path, path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert (parsed.bozo, parsed.version) == (0, "atom10"), parsed.get("bozo_exception")
    root = ET.fromstring(response.content)
    assert_atom(root)
    return parsed, root


def assert_atom(root: ET.Element) -> None:
    """What RFC 4287 requires of a feed and its entries: one id, title and updated each
    (RFC 3339 dates), an author for every entry (its own, or the feed's), a link."""
    assert root.tag == f"{ATOM}feed"
    for element in (root, *root.iter(f"{ATOM}entry")):
        for name in ("id", "title", "updated"):
            assert len(element.findall(f"{ATOM}{name}")) == 1, (element.tag, name)
        for name in ("updated", "published"):
            for date in element.findall(f"{ATOM}{name}"):
                assert datetime.fromisoformat(date.text).tzinfo is not None
        assert element.findall(f"{ATOM}link")
    assert root.findall(f"{ATOM}author/{ATOM}name")
    assert root.find(f"{ATOM}link[@rel='self']") is not None


def test_the_feed_of_the_newest_briefs(db_path):
    parsed, _ = feed(db_path, "/archive/-/feeds/newest.atom")
    assert parsed.feed.id == "http://localhost/archive/-/feeds/newest.atom"
    assert parsed.feed.title == "briefs archive: the newest briefs"
    newest = sorted([*SAMPLE, MARKUP], key=lambda record: record.published, reverse=True)
    assert [entry.id for entry in parsed.entries] == [record.url for record in newest]
    assert parsed.feed.updated == "2023-01-02T03:04:05+00:00"
    first, mexico = parsed.entries[0], parsed.entries[2]
    assert first.title == "Cartels <b>&</b> Courts" and first.link == MARKUP.url
    assert first.summary == 'Judges say "no" <script>alert(1)</script>'
    assert mexico.link == MEXICO.url and mexico.title == "Mexico Disbands State Police"
    assert [author.name for author in mexico.authors] == ["Steven Dudley", "Ana Gómez"]
    assert (mexico.published, mexico.updated) == (MEXICO.published, "2021-03-05T00:00:00+00:00")
    assert {tag.term for tag in mexico.tags} == {"Mexico", "Police Reform"}


def test_a_feed_per_saved_search(db_path):
    parsed, _ = feed(db_path, "/archive/-/feeds/watch/police-mx.atom")
    assert parsed.feed.title == "briefs watch police-mx"
    assert "police --country MX" in parsed.feed.subtitle
    # The search's newest matches, whatever its runs reported (none ran).
    assert [entry.id for entry in parsed.entries] == [MEXICO.url, SAMPLE[2].url]
    assert parsed.entries[0].summary == MEXICO.summary
    empty, _ = feed(db_path, "/archive/-/feeds/watch/nothing.atom")
    assert empty.entries == [] and empty.feed.updated


def test_a_feed_of_no_watch_is_not_found(db_path):
    status, html = served_page(db_path, "/archive/-/feeds/watch/nope.atom")
    assert status == 404 and "there is no watch called &#39;nope&#39;" in html


def test_briefs_serve_serves_the_feeds(server):
    _, db = server
    with urllib.request.urlopen(f"{db}/-/feeds/watch/police-mx.atom", timeout=10) as response:
        parsed = feedparser.parse(response.read())
    assert parsed.bozo == 0 and parsed.entries[0].id == MEXICO.url
    assert parsed.feed.links[0].href == f"{db}/-/feeds/watch/police-mx.atom"


def test_a_briefs_page_links_each_revision_to_what_it_changed(db_path):
    from datasette.utils import tilde_encode

    status, page = served_page(db_path, f"/archive/briefs/{tilde_encode(MEXICO.url)}")
    assert status == 200
    links = re.findall(r'class="brief-diff" href="([^"]+)"', page)
    assert len(links) == 2  # revisions 2 and 3
    status, html = served_page(db_path, links[-1].replace("&amp;", "&"))
    assert status == 200 and "<h1>What changed: Mexico Disbands State Police</h1>" in html
