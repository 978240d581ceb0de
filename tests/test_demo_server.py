"""The demo site serves the bundled pages untouched, and indexes that name them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from crawler.demo_server import bundled_pages, serve_demo_site
from tests.localsite import briefs_from_pages
from tests.test_localsite import SITEMAP_NS, fetch, listing_links


def test_demo_pages_are_served_untouched_at_their_canonical_paths() -> None:
    briefs = list(briefs_from_pages(page.html for page in bundled_pages()))
    paths = {b.path for b in briefs}
    assert "/news/brief/peru-russia-agree-to-cooperate-against-organized-crime/" in paths
    assert any(b.language == "es" and b.path.startswith("/es/noticias/") for b in briefs)
    haiti = next(b for b in briefs if "haiti" in b.path)
    assert haiti.authors == [] and haiti.countries == ["Haiti", "Peru"]
    # The live shapes the demo shows: a theme-primary brief with an organization byline
    # (its countries declared, not shown), a Spanish noticias-del-dia brief, a News brief.
    ecuador = next(b for b in briefs if "ecuador-struggles" in b.path)
    assert ecuador.authors == ["InSight Crime"] and ecuador.countries == ["Colombia", "Ecuador"]
    assert b'rel="category tag">Elites and Crime</a>' in ecuador.html
    assert any(b.path.startswith("/es/noticias/noticias-del-dia/") for b in briefs)
    assert "/news/mexico-probes-ms13-leaders-57/" in paths
    with serve_demo_site() as site_url:
        status, _, body = fetch(site_url + haiti.path)
        assert status == 200
        assert body == haiti.html
        english = [b for b in briefs if b.language == "en"]
        assert len(listing_links(fetch(site_url + "/news/brief/")[2])) == len(english)


def test_every_index_names_the_pages_it_shows_and_other_paths_are_404() -> None:
    pages = bundled_pages()
    with serve_demo_site() as site_url:
        every = {site_url + page.path for page in pages}
        english = {site_url + page.path for page in pages if page.language == "en"}
        robots = fetch(site_url + "/robots.txt")[2].decode()
        assert f"Sitemap: {site_url}/sitemap_index.xml" in robots
        index = ET.fromstring(fetch(site_url + "/sitemap_index.xml")[2])
        [sitemap] = [loc.text for loc in index.findall("sm:sitemap/sm:loc", SITEMAP_NS)]
        urlset = ET.fromstring(fetch(sitemap)[2])
        assert {loc.text for loc in urlset.findall("sm:url/sm:loc", SITEMAP_NS)} == every
        posts = json.loads(fetch(site_url + "/wp-json/wp/v2/posts?per_page=100&page=1")[2])
        assert {post["link"] for post in posts} == every
        assert set(listing_links(fetch(site_url + "/news/brief/")[2])) == english
        feed = ET.fromstring(fetch(site_url + "/news/brief/feed/")[2])
        assert {link.text for link in feed.findall("channel/item/link")} == english
        assert fetch(site_url + "/news/brief/page/2/")[0] == 404
