"""The cleaner on pages in the live site's shape (SITE.md, "What public copies of the live
site show"): News and Spanish briefs, a meta line showing a theme, countries declared only to
machines, organization bylines, footnote marks, tables, embedded tweets."""

from __future__ import annotations

import re

import pytest

from cleaning import BriefRecord, NotABrief, clean
from cleaning.countries import country_code, country_name, resolve_country
from tests.gold import WIDGET_TEXTS, gold_view, live_shape_pages

PAGES = {name: (page.decode("utf-8"), gold) for name, page, gold in live_shape_pages()}
NEWS = "news-mexico-probes-ms13-leaders-57"
THEME = "ecuador-struggles-with-ms13-routes-31"
TWO_COUNTRIES = "argentina-struggles-with-tren-de-aragua-leaders-2"
SPANISH = "es-noticias-del-dia-colombia-autoridades-desmantelaron"
TABLE = "panama-probes-shining-path-routes-53"


def run(name: str, html: str | None = None) -> BriefRecord:
    page, gold = PAGES[name]
    return clean((page if html is None else html).encode("utf-8"), gold["url"])


def edit(name: str, *replacements: tuple[str, str]) -> str:
    html = PAGES[name][0]
    for old, new in replacements:
        assert old in html, f"{old!r} not in {name}"
        html = html.replace(old, new)
    return html


def without_sections(html: str) -> str:
    html, count = re.subn(r'"articleSection": \[[^]]*\]', '"articleSection": []', html)
    assert count == 1
    return html


@pytest.mark.parametrize("name", sorted(PAGES))
def test_live_shaped_page_gives_its_record(name: str) -> None:
    record = run(name)
    assert gold_view(record.as_dict()) == PAGES[name][1]
    text = "\n".join([record.title, record.summary, record.body])
    assert not [widget for widget in (*WIDGET_TEXTS, "Compartir", "Tags") if widget in text]


def test_a_news_brief_is_a_brief_by_its_address_alone() -> None:
    # No "Brief" anywhere on a /news/<slug>/ page; without its JSON-LD, its class and its
    # kicker, its canonical address still says it is one.
    html = edit(
        NEWS,
        ("category-news", ""),
        ('<div class="post-kicker"><a href="https://insightcrime.org/news/">News</a></div>', ""),
    )
    html, count = re.subn(r'<script type="application/ld\+json".*?</script>', "", html, flags=re.S)
    assert count == 1
    record = run(NEWS, html)
    assert (record.url, record.countries) == (PAGES[NEWS][1]["url"], ["Mexico", "Chile"])


@pytest.mark.parametrize(
    "filed",
    [
        pytest.param(
            lambda html: html.replace('["News"', '["Analysis"'), id="jsonld"
        ),
        pytest.param(
            lambda html: without_sections(html)
            .replace("category-news", "category-analysis")
            .replace("/news/mexico-probes", "/news/analysis/mexico-probes"),
            id="class-and-canonical",
        ),
        pytest.param(
            lambda html: html.replace(
                '<div class="post-kicker"><a href="https://insightcrime.org/news/">',
                '<div class="post-kicker"><a href="https://insightcrime.org/news/analysis/">',
            ),
            id="kicker",
        ),
    ],
)  # fmt: skip
def test_an_analysis_article_is_not_a_brief(filed) -> None:
    html = filed(PAGES[NEWS][0])
    assert html != PAGES[NEWS][0]
    with pytest.raises(NotABrief, match="analysis"):
        run(NEWS, html)


def test_a_theme_in_the_meta_line_is_the_section_never_a_country() -> None:
    record = run(THEME)
    assert record.section == "Elites and Crime"
    assert (record.countries, record.country_codes) == (["Colombia", "Ecuador"], ["CO", "EC"])


def test_a_country_known_only_by_its_class_is_named_in_the_pages_language() -> None:
    english = run(TWO_COUNTRIES, edit(TWO_COUNTRIES, ('"Argentina", "Jamaica"', '"Argentina"')))
    assert (english.countries, english.country_codes) == (["Argentina", "Jamaica"], ["AR", "JM"])
    spanish = run(SPANISH, edit(SPANISH, ("category-ecuador", "category-ecuador category-mexico")))
    assert spanish.countries == ["Colombia", "Ecuador", "México"]
    assert spanish.country_codes == ["CO", "EC", "MX"]


def test_both_editions_give_the_same_codes() -> None:
    english, spanish = run(THEME), run(SPANISH)
    assert english.translations == {"es": spanish.url}
    assert english.country_codes == spanish.country_codes


def test_an_organization_byline_is_an_author_and_a_footnote_mark_is_not_part_of_a_name() -> None:
    assert run(THEME).authors == ["InSight Crime"]
    assert run(NEWS).authors == ["Lara Loaiza", "Steven Dudley"]
    # The same marks in a byline without author markup.
    html = re.sub(
        r'<span class="byline">.*?</span></span>',
        '<span class="byline">By Lara Loaiza* and Steven Dudley†</span>',
        PAGES[NEWS][0],
        count=1,
        flags=re.S,
    )
    assert run(NEWS, html).authors == ["Lara Loaiza", "Steven Dudley"]


def test_without_a_byline_the_declared_publisher_is_no_author() -> None:
    html = re.sub(
        r'<span class="byline">.*?</span></span>', "", PAGES[THEME][0], count=1, flags=re.S
    )
    assert '"name": "InSight Crime"' in html
    assert run(THEME, html).authors == []


def test_a_table_gives_one_block_per_row_its_cells_apart() -> None:
    record = run(TABLE, edit(TABLE, ("<td>626</td>", "<td></td>")))
    assert "North | 89.2" in record.body_blocks
    assert "Region | Homicides | Rate per 100,000" in record.body_blocks


def test_a_tweet_gives_no_text_even_unrendered_outside_its_embed_block() -> None:
    html = edit(
        NEWS,
        (
            '<figure class="wp-block-embed is-type-rich is-provider-twitter'
            ' wp-block-embed-twitter">',
            "<figure>",
        ),
    )
    body = run(NEWS, html).body
    assert "FUERZARMADASV" not in body and "pic.twitter.com" not in body


def test_the_share_bar_and_donate_prompts_go_by_their_text_when_their_classes_change() -> None:
    html = PAGES[THEME][0]
    for old in (
        "sharedaddy",
        "sd-",
        "share-",
        "sharing-",
        "newspack-popup",
        "newspack-inline-popup",
    ):
        html = html.replace(old, "x-")
    record = run(THEME, html)
    assert gold_view(record.as_dict()) == PAGES[THEME][1]


# --- the gazetteer -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Mexico", "MX"), ("México", "MX"), ("MEXICO", "MX"), ("Brasil", "BR"),
        ("República Dominicana", "DO"), ("Dominican Republic", "DO"), ("Perú", "PE"),
        ("Haití", "HT"), ("Venezuela", "VE"), ("Bolivia", "BO"), ("Trinidad & Tobago", "TT"),
        ("Estados Unidos", "US"), ("EE.UU.", "US"), ("Russia", "RU"), ("Belice", "BZ"),
        ("Caribbean", None), ("Elites and Crime", None), ("Barrio 18", None), ("ELN", None),
        ("Cartel de los Soles", None), ("Noticias del día", None), ("Korea", None),
    ],
)  # fmt: skip
def test_country_names_in_either_language_give_one_code(name: str, code: str | None) -> None:
    assert country_code(name) == code


def test_what_a_user_types_may_be_a_code_and_names_come_back_in_either_language() -> None:
    assert [resolve_country(text) for text in ("mx", "MX", "México", "Caribbean", "zz")] == [
        "MX", "MX", "MX", None, None,
    ]  # fmt: skip
    assert [country_name("MX", "en"), country_name("MX", "es")] == ["Mexico", "México"]
    assert [country_name("VE", "en"), country_name("RU", "es")] == ["Venezuela", "Rusia"]
