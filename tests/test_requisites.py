"""Page requisites (`briefs crawl --with-requisites`): what a page and its stylesheets name
(crawler.requisites), how a crawl asks for them (the spider yields them; selection, the
scheduler and the same-site rule let them be), a real crawl of the fixture site, and a
page replayed from a WARC in pywb and Chromium with and without them."""

from __future__ import annotations

import io
import json
import logging
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import scrapy
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from cleaning.document import MAX_ELEMENTS
from crawler import settings as project
from crawler.items import PURPOSE, FetchedPage
from crawler.middlewares import OffSite, SameSiteMiddleware
from crawler.options import SettingError, check_settings
from crawler.requisites import (
    MAX_REQUISITES,
    REQUISITE,
    is_stylesheet,
    on_hosts,
    page_requisites,
    srcset_urls,
    stylesheet_requisites,
)
from crawler.scheduler import FrontierScheduler
from crawler.selection import BRIEF
from crawler.spiders.briefs import BriefsSpider
from tests.archive_rows import rows
from tests.gold import sample_pages
from tests.localsite import (
    CDN_UPLOADS,
    ICONS,
    SHARING_SCRIPT,
    STYLESHEET,
    THEME,
    Fault,
    LocalSite,
    Requisite,
    RequisiteSite,
    briefs_from_pages,
    cdn_requisites,
    theme_requisites,
)
from tests.png import decode, solid
from tests.replay import HEIGHT, WIDTH, replay
from tests.sitegen import BASE
from tests.test_crawl import briefs_command, crawl
from tests.test_selection import selection_over

PAGE = "https://insightcrime.org/news/brief/a-brief/"
CDN = "i0.wp.com"


def requisites_of(body: str, url: str = PAGE, hosts: tuple[str, ...] = (CDN,)) -> list[str]:
    return page_requisites(body.encode(), url, hosts)


# --- what a page names -------------------------------------------------------------------


def test_every_kind_of_reference_a_page_renders_with_in_document_order():
    page = """<!doctype html><html><head>
    <link rel="stylesheet" href="/wp-content/themes/newspack-theme/style.css?ver=2.3.1">
    <link rel="Shortcut Icon" href="/favicon.ico">
    <link rel="preload" as="font" href="/fonts/serif.woff2" crossorigin>
    <link rel="modulepreload" href="/js/module.js">
    <link rel="canonical" href="https://insightcrime.org/news/brief/a-brief/">
    <link rel="alternate" hreflang="es" href="/es/noticias/un-brief/">
    <link rel="next" href="/news/brief/page/2/">
    <link rel="stylesheet">
    <style>@import "/css/imported.css"; body { background: url(/img/bg.png) }</style>
    <script src="/wp-content/plugins/jetpack/sharing.min.js"></script>
    <script>var notAFile = "/js/inline.js";</script>
    </head><body>
    <img src="img/relative.png" srcset="img/a-300.png 300w, img/a-600.png 600w">
    <picture><source srcset="https://i0.wp.com/insightcrime.org/p.webp?resize=1,2 1x">
    <img src="/img/fallback.png"></picture>
    <video poster="/img/poster.jpg"><source src="/video/clip.mp4"></video>
    <div style="background-image: url('/img/styled.png')">
    <a href="/news/brief/another/">a link is no requisite</a>
    <img src="/img/relative.png#fragment"><img src="/img/fallback.png"></div>
    </body></html>"""
    assert requisites_of(page) == [
        "https://insightcrime.org/wp-content/themes/newspack-theme/style.css?ver=2.3.1",
        "https://insightcrime.org/favicon.ico",
        "https://insightcrime.org/fonts/serif.woff2",
        "https://insightcrime.org/js/module.js",
        "https://insightcrime.org/css/imported.css",
        "https://insightcrime.org/img/bg.png",
        "https://insightcrime.org/wp-content/plugins/jetpack/sharing.min.js",
        "https://insightcrime.org/news/brief/a-brief/img/relative.png",
        "https://insightcrime.org/news/brief/a-brief/img/a-300.png",
        "https://insightcrime.org/news/brief/a-brief/img/a-600.png",
        "https://i0.wp.com/insightcrime.org/p.webp?resize=1,2",
        "https://insightcrime.org/img/fallback.png",
        "https://insightcrime.org/img/poster.jpg",
        "https://insightcrime.org/img/styled.png",
        "https://insightcrime.org/img/relative.png",  # its fragment dropped
    ]


def test_the_sample_pages_name_the_theme_the_sharing_script_the_icons_and_the_cdn_photo():
    pages = {name: page for name, page, _ in sample_pages()}
    found = page_requisites(pages["mexico-probes-ms13-leaders-57"], PAGE, [CDN])
    assert found == [
        BASE + STYLESHEET,
        f"https://i0.wp.com{CDN_UPLOADS}/2011/04/photo-57.jpg?ssl=1",
        BASE + f"{ICONS}/share.svg",
        BASE + f"{ICONS}/x.svg",
        BASE + f"{ICONS}/fb.svg",
        BASE + SHARING_SCRIPT,
    ]


def test_references_are_read_against_the_first_base_href():
    body = '<base href="https://insightcrime.org/static/"><base href="/other/"><img src="a.png">'
    assert requisites_of(body) == ["https://insightcrime.org/static/a.png"]
    # A relative base is read against the page; one that is no http(s) URL is no base.
    assert requisites_of('<base href="../up/"><img src="a.png">') == [
        "https://insightcrime.org/news/brief/up/a.png"
    ]
    for base in ("javascript:void(0)", "data:text/html,x", "http://[broken/"):
        body = f'<base href="{base}"><base href="/other/"><img src="a.png">'
        assert requisites_of(body) == ["https://insightcrime.org/news/brief/a-brief/a.png"], base
    # The first base with an href counts, even where it stands after a reference.
    assert requisites_of('<img src="a.png"><base href="/b/">') == [
        "https://insightcrime.org/b/a.png"
    ]


def test_only_http_urls_on_the_pages_host_or_the_hosts_given_are_kept():
    body = "".join(
        f'<img src="{src}">'
        for src in (
            "https://i0.wp.com/insightcrime.org/a.jpg",  # the CDN
            "https://I0.WP.COM/insightcrime.org/b.jpg",  # the CDN, however written
            "http://insightcrime.org/c.png",  # the page's host, by http
            "https://i1.wp.com/insightcrime.org/d.jpg",  # another CDN
            "https://evil.example/e.png",
            "https://insightcrime.org.evil.example/f.png",
            "https://insightcrime.org:8443/g.png",  # another port is another host
            "data:image/png;base64,iVBORw0KGgo=",
            "javascript:alert(1)",
            "mailto:someone@example.org",
            "ftp://insightcrime.org/h.png",
            "https://insightcrime.org:99999/i.png",  # no port
            "http://[::1/j.png",  # no host
            "//i0.wp.com/insightcrime.org/k.jpg",  # scheme-relative: the page's scheme
            "#top",  # the page itself, fetched already
            PAGE,
        )
    )
    assert requisites_of(body) == [
        "https://i0.wp.com/insightcrime.org/a.jpg",
        "https://I0.WP.COM/insightcrime.org/b.jpg",
        "http://insightcrime.org/c.png",
        "https://i0.wp.com/insightcrime.org/k.jpg",
    ]
    # Without hosts, only the page's own; a page on a port keeps that port alone.
    assert requisites_of(body, hosts=()) == ["http://insightcrime.org/c.png"]
    local = "http://127.0.0.1:8080/news/brief/x/"
    body = (
        '<img src="/a.png"><img src="http://127.0.0.1:8081/b.png"><img src="//localhost:9/c.png">'
    )
    assert requisites_of(body, local, ("localhost:9",)) == [
        "http://127.0.0.1:8080/a.png",
        "http://localhost:9/c.png",
    ]


@pytest.mark.parametrize(
    ("host", "url", "on"),
    [
        ("i0.wp.com", "https://i0.wp.com/x", True),
        ("i0.wp.com", "http://i0.wp.com/x", True),
        ("i0.wp.com", "https://i0.wp.com:443/x", True),
        ("i0.wp.com", "https://i0.wp.com:8443/x", False),
        ("i0.wp.com", "https://x.i0.wp.com/x", False),  # not its subdomains
        ("localhost:9", "http://localhost:9/x", True),
        ("localhost:9", "http://localhost/x", False),
        ("i0.wp.com", "data:,i0.wp.com", False),
        ("i0.wp.com", "not a url", False),
    ],
)
def test_a_host_is_a_name_for_the_default_port_or_a_name_and_port(host, url, on):
    assert on_hosts(url, [host]) is on


def test_every_srcset_candidate_is_read_as_html_reads_them():
    assert list(srcset_urls("a.png 1x, b.png 2x")) == ["a.png", "b.png"]
    # A URL may hold commas (WordPress's resize=300,200); a candidate's descriptors end at a
    # comma outside parentheses; a URL's trailing commas end its candidate.
    assert list(srcset_urls("p.jpg?resize=300,200 300w,q.jpg?w=600 600w")) == [
        "p.jpg?resize=300,200",
        "q.jpg?w=600",
    ]
    assert list(srcset_urls("a.png (max-width: 1,5) 2x, b.png,, c.png,d.png")) == [
        "a.png",
        "b.png",
        "c.png,d.png",
    ]
    assert list(srcset_urls("  ,, , ")) == []
    assert list(srcset_urls("")) == []


def test_a_page_that_names_too_many_is_cut_short():
    body = "".join(f'<img src="/img/{n}.png">' for n in range(MAX_REQUISITES + 50))
    found = requisites_of(body)
    assert found == [f"https://insightcrime.org/img/{n}.png" for n in range(MAX_REQUISITES)]
    # And past the cleaner's bound of a page's elements, nothing is read.
    body = "<p>x</p>" * MAX_ELEMENTS + '<img src="/late.png">'
    assert requisites_of('<img src="/early.png">' + body) == ["https://insightcrime.org/early.png"]


def test_a_page_is_read_in_the_charset_it_declares_and_else_as_utf8():
    assert requisites_of('<img src="/niño.png">') == ["https://insightcrime.org/niño.png"]
    latin = '<meta charset="windows-1252"><img src="/niño.png">'.encode("windows-1252")
    assert page_requisites(latin, PAGE, []) == ["https://insightcrime.org/niño.png"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00" * 100,
        b"\xff\xfe\x00<\x00i\x00m\x00g",
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10,
        b"<" * 10_000,
        b"<div>" * 5_000 + b'<img src="/deep.png">',
        b'<img src="' + b"a" * 1_000_000,
        b'<img srcset="' + b"(" * 100_000 + b'">',
        b"<style>" + b"url(" * 100_000,
        b'<?xml version="1.0" encoding="utf-8"?><html><img src="/x.png"></html>',
        b"<img src=\"http://[::1\"><img src='http://a:b/'><img src='\\\\evil\\x'>",
    ],
)
def test_hostile_markup_gives_a_short_list_never_an_error(body):
    found = page_requisites(body, PAGE, [CDN])
    assert all(on_hosts(url, ["insightcrime.org", CDN]) for url in found)


@given(st.lists(st.sampled_from(
    ['<img src="', '<link rel="stylesheet" href="', '<style>', "url(", "'", '"', ")", ",",
     " ", "/a.png", "https://i0.wp.com/b", "//evil/c", "data:,x", "<base href=", ">",
     "srcset=", "(", "@import ", "/*", "*/", "\x00", "é", "&amp;", "#f"]
), max_size=80))  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_any_markup_gives_only_kept_urls(pieces):
    html = "".join(pieces)
    for found in (
        page_requisites(html.encode(), PAGE, [CDN]),
        stylesheet_requisites(html.encode(), PAGE, [CDN]),
    ):
        assert len(found) == len(set(found))
        assert all(on_hosts(url, ["insightcrime.org", CDN]) and "#" not in url for url in found)


# --- what a stylesheet names -------------------------------------------------------------


def test_a_stylesheets_imports_fonts_and_images_are_its_requisites():
    css = b"""@charset "utf-8";
    @import "reset.css";
    @import url('print.css') print;
    @IMPORT 'upper.css';
    /* @import "commented.css"; background: url(commented.png) */
    @font-face { font-family: Serif; src: url(fonts/serif.woff2) format("woff2"),
        url("data:font/woff2;base64,d09GMgAB") format("woff2"), url( "../fonts/serif.woff" ); }
    body { background: #fff URL(/img/bg.png) repeat; }
    .hero { background-image: url(https://i0.wp.com/insightcrime.org/hero.jpg?ssl=1); }
    .off { background: url(https://evil.example/x.png), url(#svg-filter), url(); }
    .again { background: url(/img/bg.png#x) }
    /* an unclosed comment hides the rest: url(hidden.png)"""
    assert stylesheet_requisites(css, BASE + "/wp-content/themes/t/style.css", [CDN]) == [
        BASE + "/wp-content/themes/t/reset.css",
        BASE + "/wp-content/themes/t/print.css",
        BASE + "/wp-content/themes/t/upper.css",
        BASE + "/wp-content/themes/t/fonts/serif.woff2",
        BASE + "/wp-content/themes/fonts/serif.woff",
        BASE + "/img/bg.png",
        "https://i0.wp.com/insightcrime.org/hero.jpg?ssl=1",
        # Not url(#svg-filter), which is the stylesheet itself.
    ]


@pytest.mark.parametrize(
    "css",
    [
        b"url(" * 500_000,
        b'url("' * 500_000,
        b"url('" * 500_000,
        b"/*" * 500_000,
        b"@import " * 250_000,
        b"@import '" * 250_000,
        b"url(" + b"a" * 2_000_000,
        b"url(" + b" " * 1_000_000,
        b"url(" + b"\t\n" * 500_000 + b"x",
        b"\xff\xfe\x00\x00" * 100_000,
    ],
)
def test_a_hostile_stylesheet_takes_linear_time(css):
    started = time.monotonic()
    stylesheet_requisites(css, BASE + "/style.css", [CDN])
    # Quadratic, these would take hours; linear, well under a second.
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("content_type", "url", "stylesheet"),
    [
        ("text/css", BASE + "/a", True),
        ("Text/CSS; charset=utf-8", BASE + "/a", True),
        ("text/plain", BASE + "/style.css?ver=2", True),
        (None, BASE + "/STYLE.CSS", True),
        ("image/png", BASE + "/a.png", False),
        ("text/html", BASE + "/css/", False),
        (None, "http://[broken/x.css", False),
    ],
)
def test_a_stylesheet_is_known_by_its_type_or_its_path(content_type, url, stylesheet):
    assert is_stylesheet(content_type, url) is stylesheet


# --- how a crawl asks for them -----------------------------------------------------------

SITE = "http://127.0.0.1:1"
BRIEF_PAGE = f"{SITE}/news/brief/a-brief/"
PAGE_BODY = (
    b'<html><head><link rel="stylesheet" href="/style.css"></head><body>'
    b'<img src="https://i0.wp.com/insightcrime.org/a.jpg"><img src="https://evil.example/b.png">'
    b"</body></html>"
)


def spider_with(tmp_path: Path, **setting: object) -> BriefsSpider:
    """The spider of a crawl with the project's requisite hosts and these settings."""
    defaults = {"BRIEFS_REQUISITE_HOSTS": project.BRIEFS_REQUISITE_HOSTS}
    crawler = get_crawler(
        BriefsSpider, {**defaults, "BRIEFS_DB": str(tmp_path / "a.sqlite"), **setting}
    )
    crawler.stats.open_spider()
    spider = BriefsSpider.from_crawler(crawler, site=SITE)
    crawler.spider = spider
    return spider


def brief_response(
    status: int = 200, body: bytes = PAGE_BODY, cls: type[Response] = HtmlResponse
) -> Response:
    request = scrapy.Request(BRIEF_PAGE, meta={BRIEF: True})
    return cls(BRIEF_PAGE, status=status, body=body, request=request)


def test_a_brief_page_fetched_whole_yields_its_page_then_a_request_for_each_requisite(tmp_path):
    spider = spider_with(tmp_path, BRIEFS_REQUISITES=True)
    page, *requests = spider.parse_brief(brief_response())
    assert isinstance(page, FetchedPage)
    assert [request.url for request in requests] == [
        f"{SITE}/style.css",
        "https://i0.wp.com/insightcrime.org/a.jpg",
    ]
    for request in requests:
        # Not a brief (no frontier, no capture), and a 304 is an answer.
        assert request.meta == {PURPOSE: REQUISITE, "handle_httpstatus_list": [304]}
        assert not request.dont_filter  # Scrapy's dupefilter: once a crawl
        assert request.callback == spider.parse_requisite
        assert request.errback == spider.requisite_failed
    # Off by default; and a page not received whole (a 304), or not HTML, names none.
    assert [type(x) for x in spider_with(tmp_path).parse_brief(brief_response())] == [FetchedPage]
    assert len(list(spider.parse_brief(brief_response(304, b"")))) == 1
    assert len(list(spider.parse_brief(brief_response(cls=Response)))) == 1


def test_a_stylesheets_own_requisites_are_asked_for_and_nothing_elses(tmp_path):
    spider = spider_with(tmp_path, BRIEFS_REQUISITES=True, BRIEFS_REQUISITE_HOSTS="i0.wp.com")
    css = b"@import 'more.css'; body { background: url(https://i0.wp.com/bg.png) }"

    def answer(url: str, content_type: str, body: bytes = css) -> list[str]:
        request = spider.requisite_request(url)
        headers = {"Content-Type": content_type}
        response = TextResponse(url, body=body, headers=headers, request=request)
        return [request.url for request in spider.parse_requisite(response)]

    assert answer(f"{SITE}/css/style", "text/css") == [
        f"{SITE}/css/more.css",
        "https://i0.wp.com/bg.png",
    ]
    assert answer(f"{SITE}/css/style.css", "text/plain") == [
        f"{SITE}/css/more.css",
        "https://i0.wp.com/bg.png",
    ]
    assert answer(f"{SITE}/script.js", "application/javascript") == []
    assert answer(f"{SITE}/img.png", "image/png", solid(1, 1, (0, 0, 0))) == []


def test_a_failed_requisite_is_a_debug_line_and_no_failure_of_the_crawl(tmp_path, caplog):
    spider = spider_with(tmp_path, BRIEFS_REQUISITES=True)
    request = spider.requisite_request(f"{SITE}/missing.png")
    response = Response(request.url, status=404, request=request)
    failures = [Failure(HttpError(response)), Failure(OffSite("elsewhere"))]
    caplog.set_level(logging.DEBUG)
    for failure in failures:
        failure.request = request
        assert spider.requisite_failed(failure) is None
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, f"requisite not fetched: {SITE}/missing.png: http_404"),
        (logging.DEBUG, f"requisite not fetched: {SITE}/missing.png: off_site: elsewhere"),
    ]
    assert spider.crawler.stats.get_stats().get("briefs/index_failed") is None


def test_selection_lets_requisites_through_untouched(tmp_path):
    spider = spider_with(tmp_path, BRIEFS_REQUISITES=True)
    requisite = spider.requisite_request(f"{SITE}/style.css")
    selection = selection_over(tmp_path / "a.sqlite")
    assert list(selection.selected([requisite])) == [requisite]
    assert not requisite.dont_filter  # (a brief let through is the frontier's to filter)
    selection.view.close()


class _Memory:
    def __init__(self) -> None:
        self.queued: list[scrapy.Request] = []

    def enqueue_request(self, request: scrapy.Request) -> bool:
        self.queued.append(request)
        return True


class _NoFrontier:
    def send(self, message: object) -> None:
        raise AssertionError(f"sent to the frontier: {message}")


def test_the_scheduler_keeps_requisites_in_memory_not_in_the_frontier(tmp_path):
    spider = spider_with(tmp_path, BRIEFS_REQUISITES=True)
    memory = _Memory()
    scheduler = FrontierScheduler(spider.crawler, memory, _NoFrontier())
    requisite = spider.requisite_request(f"{SITE}/style.css")
    assert scheduler.enqueue_request(requisite)
    assert memory.queued == [requisite]


def test_requisites_may_be_on_the_requisite_hosts_and_nothing_else_may(tmp_path):
    spider = spider_with(
        tmp_path, BRIEFS_REQUISITES=True, BRIEFS_REQUISITE_HOSTS=["i0.wp.com", "localhost:9"]
    )
    middleware = SameSiteMiddleware(spider.crawler)

    def allowed(url: str, **meta: object) -> bool:
        try:
            middleware.process_request(scrapy.Request(url, meta=meta))
        except OffSite:
            return False
        return True

    requisite = {PURPOSE: REQUISITE}
    robots = {"dont_obey_robotstxt": True}
    assert allowed("https://i0.wp.com/insightcrime.org/a.jpg", **requisite)
    assert allowed("http://localhost:9/a.jpg", **requisite)
    assert allowed("https://i0.wp.com/robots.txt", **robots)  # obeyed there too
    assert allowed(f"{SITE}/style.css", **requisite)
    assert not allowed("https://evil.example/a.png", **requisite)
    assert not allowed("http://localhost:10/a.jpg", **requisite)
    assert not allowed("https://evil.example/robots.txt", **robots)
    # The CDN is a requisite's host only: no brief, listing or other page is asked of it.
    assert not allowed("https://i0.wp.com/news/brief/x/", **{BRIEF: True})
    assert not allowed("https://i0.wp.com/news/brief/")
    assert not allowed("https://i0.wp.com/a/robots.txt", **robots)
    # Scrapy's offsite filter lets the requisite hosts' names through, to the rule above.
    assert spider.allowed_domains == ["127.0.0.1", "i0.wp.com", "localhost"]
    # Without requisites, the CDN is another host like any.
    plain = spider_with(tmp_path)
    assert plain.allowed_domains == ["127.0.0.1"]
    middleware = SameSiteMiddleware(plain.crawler)
    assert not allowed("https://i0.wp.com/insightcrime.org/a.jpg", **requisite)
    assert not allowed("https://i0.wp.com/robots.txt", **robots)


@pytest.mark.parametrize("host", ["https://i0.wp.com", "i0.wp.com/path", "user@i0.wp.com", "a:x"])
def test_a_requisite_host_must_be_a_host(host):
    with pytest.raises(SettingError, match="BRIEFS_REQUISITE_HOSTS"):
        check_settings(Settings({"BRIEFS_REQUISITE_HOSTS": ["i0.wp.com", host]}))
    # Blank entries are none (`-s BRIEFS_REQUISITE_HOSTS=i0.wp.com,`).
    check_settings(Settings({"BRIEFS_REQUISITE_HOSTS": "i0.wp.com, "}))


def test_a_crawl_with_a_requisite_host_that_is_none_is_wrong_usage(tmp_path):
    db = tmp_path / "a.sqlite"
    setting = "BRIEFS_REQUISITE_HOSTS=https://i0.wp.com"
    result = briefs_command("crawl", "--site", SITE, "--db", str(db), "-s", setting)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "BRIEFS_REQUISITE_HOSTS" in result.stderr
    assert not db.exists()


# --- a real crawl of the fixture site ----------------------------------------------------

EXTRA = {
    f"{ICONS}/inline-bg.png": Requisite(solid(2, 2, (10, 20, 30)), "image/png"),
    f"{ICONS}/broken.js": Requisite(b"never served", "application/javascript"),
}
CDN_FILES = {
    f"{CDN_UPLOADS}/2011/04/photo-57.jpg",  # a sample page's photo
    f"{CDN_UPLOADS}/2021/05/header.png",  # the stylesheet's
    f"{CDN_UPLOADS}/2026/01/photo-300.png",  # a srcset's
    f"{CDN_UPLOADS}/2026/01/photo-600.png",
    f"{CDN_UPLOADS}/private/secret.png",  # forbidden by the CDN's robots.txt
}
MOVED = f"{CDN_UPLOADS}/2026/01/moved.png"  # redirects to another host


def with_extra_references(page: bytes, cdn: str, elsewhere: str) -> bytes:
    """The page, naming besides its own: a srcset on the CDN, an inline style's image, a
    missing file, a script that fails, files forbidden by robots.txt, one that redirects off
    the hosts, and one on another host."""
    extra = (
        f'<picture><source srcset="{cdn}{CDN_UPLOADS}/2026/01/photo-300.png?ssl=1 300w,'
        f' {cdn}{CDN_UPLOADS}/2026/01/photo-600.png?ssl=1 600w">'
        f'<img src="{ICONS}/missing.png"></picture>'
        f"<div style=\"background: url('{ICONS}/inline-bg.png')\"></div>"
        f'<script src="{ICONS}/broken.js"></script>'
        f'<img src="{cdn}{CDN_UPLOADS}/private/secret.png">'
        f'<img src="{cdn}{MOVED}">'
        f'<img src="{elsewhere}/wp-content/themes/ic/elsewhere.png">'
    )
    return page.replace(b"</body>", extra.encode() + b"</body>")


def gets(requests: list) -> Counter:
    """How many times each path was asked for (GET, query left out)."""
    return Counter(entry.path.split("?")[0] for entry in requests if entry.method == "GET")


def robots(*disallowed: str, sitemap: str | None = None) -> bytes:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in disallowed)]
    return "\n".join([*lines, *([f"Sitemap: {sitemap}"] if sitemap else []), ""]).encode()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """The sample pages crawled with requisites, and again, into another archive, without."""
    tmp = tmp_path_factory.mktemp("requisites")
    elsewhere = LocalSite()
    cdn = RequisiteSite(requisites=cdn_requisites(CDN_FILES))
    with elsewhere, cdn:
        # The CDN is another host name than the site's (which is 127.0.0.1).
        cdn_origin = cdn.base_url.replace("127.0.0.1", "localhost")
        cdn.set_page("/robots.txt", robots(f"{CDN_UPLOADS}/private/"), "text/plain")
        cdn.set_fault(MOVED, Fault.redirect(elsewhere.url("/moved.png")))
        pages = [
            page.replace(b"https://i0.wp.com", cdn_origin.encode()) for _, page, _ in sample_pages()
        ]
        pages[0] = with_extra_references(pages[0], cdn_origin, elsewhere.base_url)
        theme = {**theme_requisites(cdn_origin), **EXTRA}
        site = RequisiteSite(briefs_from_pages(pages), origin=BASE, requisites=theme)
        with site:
            sitemap = site.url("/sitemap_index.xml")
            site.set_page("/robots.txt", robots(f"{ICONS}/fb.svg", sitemap=sitemap), "text/plain")
            site.set_fault(f"{ICONS}/broken.js", Fault.status(500, times=None))
            cdn_host = urlsplit(cdn_origin).netloc
            # The pages name the site's own origin, served here: it is their identity.
            options = ["-s", "BRIEFS_IDENTITY_ORIGIN=", "-s", f"BRIEFS_REQUISITE_HOSTS={cdn_host}"]
            runs = {}
            for name, extra in (("with", ["--with-requisites"]), ("without", [])):
                db = tmp / f"{name}.sqlite"
                result = crawl(site.base_url, db, *options, *extra)
                runs[name] = {
                    "result": result,
                    "db": db,
                    "site": gets(site.requests),
                    "cdn": gets(cdn.requests),
                    "cdn_hosts": {entry.headers.get("Host") for entry in cdn.requests},
                    "cdn_host": cdn_host,
                    "elsewhere": elsewhere.requests,
                }
                site.clear_requests()
                cdn.clear_requests()
            assert site.errors == cdn.errors == []
    return runs


def test_each_requisite_is_asked_for_once_a_crawl_however_many_pages_name_it(crawled):
    run = crawled["with"]
    assert run["result"].returncode == 0, run["result"].stderr[-3000:]
    on_site = {path: n for path, n in run["site"].items() if path.startswith("/wp-content/")}
    assert on_site == {
        STYLESHEET: 1,  # all seven pages name it
        SHARING_SCRIPT: 1,
        f"{ICONS}/share.svg": 1,
        f"{ICONS}/x.svg": 1,
        # What the stylesheet names: the stylesheet it imports, the font, the background,
        # and what that stylesheet names in turn.
        f"{THEME}/print.css": 1,
        f"{THEME}/fonts/briefs-serif.woff2": 1,
        f"{ICONS}/paper.png": 1,
        f"{ICONS}/print-share.svg": 1,
        f"{ICONS}/inline-bg.png": 1,
        f"{ICONS}/missing.png": 1,  # a 404
        f"{ICONS}/broken.js": 1 + 3,  # a 500, retried as any request is (RETRY_TIMES)
        # Not fb.svg, which the site's robots.txt forbids, nor the commented-out image.
    }
    assert run["cdn"] == {
        "/robots.txt": 1,  # obeyed on the CDN too: not private/secret.png
        f"{CDN_UPLOADS}/2011/04/photo-57.jpg": 1,
        f"{CDN_UPLOADS}/2021/05/header.png": 1,
        f"{CDN_UPLOADS}/2026/01/photo-300.png": 1,
        f"{CDN_UPLOADS}/2026/01/photo-600.png": 1,
        MOVED: 1,  # its redirect off the hosts is not followed
    }
    assert run["cdn_hosts"] == {run["cdn_host"]}  # by its own name
    assert run["elsewhere"] == []  # named by a page, and by a redirect: never asked


def test_requisites_are_no_briefs_no_captures_and_not_in_the_frontier(crawled):
    for run in crawled.values():
        db = run["db"]
        assert rows(db, "SELECT COUNT(*) FROM captures") == [(7,)]
        frontier = [url for (url,) in rows(db, "SELECT url FROM frontier")]
        assert len(frontier) == 7
        assert not [url for url in frontier if "/wp-content/" in url or "localhost" in url]


def test_without_the_option_no_requisite_is_asked_for(crawled):
    run = crawled["without"]
    assert run["result"].returncode == 0, run["result"].stderr[-3000:]
    assert not [path for path in run["site"] if path.startswith("/wp-content/")]
    assert run["cdn"] == {} and run["elsewhere"] == []


def test_failed_requisites_change_neither_the_account_nor_the_exit_status(crawled):
    with_them, without = crawled["with"]["result"], crawled["without"]["result"]
    assert (
        with_them.stdout
        == without.stdout
        == ("briefs: fetched 7, new 7, changed 0, unchanged 0, failed 0\n")
    )
    assert with_them.returncode == without.returncode == 0
    # No failure line for the 404 and the 500; in Scrapy's log, only its retries' end.
    for line in with_them.stderr.splitlines():
        assert "briefs.failures" not in line, line
        if "] ERROR: " in line:
            assert "Gave up retrying <GET " in line and f"{ICONS}/broken.js>" in line, line
    ledger = {
        name: rows(run["db"], "SELECT status, options FROM runs") for name, run in crawled.items()
    }
    assert {name: [status for status, _ in runs] for name, runs in ledger.items()} == {
        "with": ["ok"],
        "without": ["ok"],
    }
    # The ledger says which crawl fetched requisites.
    assert json.loads(ledger["with"][0][1])["BRIEFS_REQUISITES"] in (True, "True")
    assert json.loads(ledger["without"][0][1])["BRIEFS_REQUISITES"] in (False, "False")
    assert json.loads(ledger["with"][0][1])["BRIEFS_REQUISITE_HOSTS"] == crawled["with"]["cdn_host"]


# --- a page replayed, with and without its requisites ------------------------------------

REPLAYED = "https://insightcrime.org/news/brief/replayed/"
REPLAYED_CSS = BASE + STYLESHEET
REPLAYED_IMAGE = f"https://i0.wp.com{CDN_UPLOADS}/2026/01/photo.png?ssl=1"
BLUE, RED, WHITE = (30, 90, 160), (200, 30, 30), (255, 255, 255)


def warc_of(path: Path, records: list[tuple[str, str, bytes]]) -> Path:
    """A WARC of a 200 response record for each (URL, Content-Type, body)."""
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for url, content_type, body in records:
            http = StatusAndHeaders(
                "200 OK",
                [("Content-Type", content_type), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=http,
                warc_headers_dict={"WARC-Date": "2026-01-01T00:00:00Z"},
            )
            writer.write_record(record)
    return path


def test_a_png_reads_back_as_written():
    image = decode(solid(3, 2, RED))
    assert (image.width, image.height) == (3, 2)
    assert [image.at(x, y) for x in range(3) for y in range(2)] == [RED] * 6
    with pytest.raises(ValueError, match="outside"):
        image.at(3, 0)


@pytest.mark.realtool
def test_a_replay_shows_the_styles_and_images_its_requisites_hold(tmp_path):
    page = (
        f'<!doctype html><html><head><link rel="stylesheet" href="{REPLAYED_CSS}"></head>'
        f'<body><h1>A brief</h1><img src="{REPLAYED_IMAGE}" width="40" height="30"></body></html>'
    ).encode()
    css = (
        b"html, body { background: #1e5aa0; margin: 0 }"
        b" img { position: absolute; left: 300px; top: 200px }"
    )
    styled = warc_of(
        tmp_path / "styled.warc.gz",
        [
            (REPLAYED, "text/html; charset=utf-8", page),
            (REPLAYED_CSS, "text/css", css),
            (REPLAYED_IMAGE, "image/png", solid(40, 30, RED)),
        ],
    )
    bare = warc_of(tmp_path / "bare.warc.gz", [(REPLAYED, "text/html; charset=utf-8", page)])
    with_them = replay(styled, REPLAYED, tmp_path / "styled")
    without = replay(bare, REPLAYED, tmp_path / "bare")
    shown, unstyled = decode(with_them.screenshot), decode(without.screenshot)
    assert (shown.width, shown.height) == (WIDTH, HEIGHT)
    # The stylesheet's background fills the window, and the image is where it puts it.
    assert shown.at(WIDTH - 1, HEIGHT - 1) == BLUE and unstyled.at(WIDTH - 1, HEIGHT - 1) == WHITE
    assert shown.at(320, 215) == RED and unstyled.at(320, 215) == WHITE
    # pywb served them from the archive, and found neither in the bare one.
    assert {REPLAYED, REPLAYED_CSS, REPLAYED_IMAGE} <= set(with_them.served)
    assert REPLAYED in without.served
    assert {REPLAYED_CSS, REPLAYED_IMAGE} <= set(without.missing)
    assert not {REPLAYED_CSS, REPLAYED_IMAGE} & set(without.served)


# --- stored as the crawl's exchanges, asked for again conditionally, replayed ---------------


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Two sample briefs crawled twice with their requisites into one archive (the second
    crawl --full), and once without into another."""
    tmp = tmp_path_factory.mktemp("stored")
    cdn = RequisiteSite(requisites=cdn_requisites({f"{CDN_UPLOADS}/2021/05/header.png"}))
    with cdn:
        cdn_origin = cdn.base_url.replace("127.0.0.1", "localhost")
        pages = [page for _, page, _ in sample_pages()][:2]
        site = RequisiteSite(
            briefs_from_pages(pages), origin=BASE, requisites=theme_requisites(cdn_origin)
        )
        with site:
            options = [
                "-s", "BRIEFS_IDENTITY_ORIGIN=",
                "-s", f"BRIEFS_REQUISITE_HOSTS={urlsplit(cdn_origin).netloc}",
            ]  # fmt: skip
            db, bare = tmp / "with.sqlite", tmp / "without.sqlite"
            first = crawl(site.base_url, db, *options, "--with-requisites")
            answered = [*site.requests, *cdn.requests]
            site.clear_requests()
            cdn.clear_requests()
            # An edited brief (a 304 gives no requisites: its page is the one stored).
            edited = next(iter(briefs_from_pages(pages)))
            page = edited.html.replace(BASE.encode(), site.base_url.encode()) + b"\n"
            site.set_fault(edited.path, Fault.body(page, "text/html; charset=UTF-8"))
            second = crawl(site.base_url, db, *options, "--with-requisites", "--full")
            asked_again = [*site.requests, *cdn.requests]
            without = crawl(site.base_url, bare, *options)
            brief = site.url(next(iter(briefs_from_pages(pages))).path)
    for run in (first, second, without):
        assert run.returncode == 0, run.stderr
    return {"db": db, "bare": bare, "answered": answered, "again": asked_again, "brief": brief}


def test_requisites_are_stored_as_the_crawls_exchanges_byte_for_byte(stored):
    kept = {
        url: (head, purpose)
        for url, head, purpose in rows(
            stored["db"], "SELECT url, response_head, purpose FROM exchanges WHERE run_id = 1"
        )
    }
    files = [
        e for e in stored["answered"] if e.path.startswith("/wp-content/") or CDN_UPLOADS in e.path
    ]
    assert {e.path.split("?")[0] for e in files} >= {
        STYLESHEET,
        f"{THEME}/print.css",
        SHARING_SCRIPT,
    }
    for entry in files:
        (url,) = [url for url in kept if urlsplit(url).path == entry.path.split("?")[0]]
        assert kept[url] == (entry.response_head, "requisite"), url


def test_a_requisite_stored_before_is_asked_for_conditionally(stored):
    (again,) = [e for e in stored["again"] if e.path == STYLESHEET]
    (etag,) = rows(
        stored["db"],
        "SELECT etag FROM exchanges WHERE run_id = 1 AND url LIKE ? AND status = 200",
        f"%{STYLESHEET}",
    )[0]
    assert again.headers.get("If-None-Match") == etag and again.status == 304
    (status,) = rows(
        stored["db"],
        "SELECT status FROM exchanges WHERE run_id = 2 AND url LIKE ?",
        f"%{STYLESHEET}",
    )[0]
    assert status == 304
    # An unchanged stylesheet's own font is not asked for again that crawl.
    assert not [e for e in stored["again"] if e.path.endswith(".woff2")]


@pytest.mark.realtool
def test_a_crawled_brief_replays_with_the_styles_its_requisites_hold(stored, tmp_path):
    shots = {}
    for name in ("db", "bare"):
        warc = tmp_path / f"{name}.warc.gz"
        exported = briefs_command(
            "export", "--db", str(stored[name]), "--format", "warc", "-o", str(warc)
        )
        assert exported.returncode == 0, exported.stderr
        shots[name] = replay(warc, stored["brief"], tmp_path / name)
    styled, bare = shots["db"], shots["bare"]
    assert any(url.endswith(STYLESHEET) for url in styled.served)
    assert any(url.endswith(STYLESHEET) for url in bare.missing)
    # The stylesheet's paper colour behind the page, where the unstyled one is white.
    paper = (244, 239, 230)
    shown, unstyled = decode(styled.screenshot), decode(bare.screenshot)
    beside = (WIDTH - 40, 5)  # right of the menu, left of the scroll bar
    assert shown.at(*beside) == paper and unstyled.at(*beside) == (255, 255, 255)
