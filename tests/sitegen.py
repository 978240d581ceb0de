"""Brief pages in the site's anatomy, generated with the record a cleaner must give for them.

`generate_brief(spec)` writes a page the way the sample pages in tests/data/samples are
written (`shape="sample"`) or the way public copies of the live site show it (`shape="live"`,
the pages of tests/data/live-shape: one category on the meta line, the others declared only in
JSON-LD and classes; News and "Noticias del día" sections; organization bylines; tables,
tweets...). Given the same content it reproduces both sets byte for byte (see
tests/test_sitegen.py), and it returns the expected record in the gold format of
tests/data/gold. `random_spec` makes varied specs, `site_briefs` whole sites for
`tests.localsite.LocalSite`.

The page chrome (about 160 KB: inline CSS, script settings, menus, footers) is built once
per (base, theme, language, shape, share label) and kept as bytes, so a page costs well
under 2 ms: benchmarks generate tens of thousands.

`theme="renamed"` renames the theme's chrome classes (entry-content, entry-title,
entry-meta, cat-links, tags-links, byline, the Newspack prompts...; see RENAMED_CLASSES) and
keeps the signals a cleaner should lean on besides them: JSON-LD, OpenGraph, `<time datetime>`,
`rel="tag"`, `rel="category tag"`, canonical and hreflang, and WordPress's own block classes
(wp-block-*), which come from the editor rather than the theme.
"""

from __future__ import annotations

import html
import json
import random
import re
import string
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from cleaning.countries import country_code
from tests.localsite import SiteBrief, slugify

BASE = "https://insightcrime.org"
# Generated and sample pages name BASE as their canonical URLs' origin, wherever they are
# served: a crawl of them says so.
IDENTITY = ["-s", f"BRIEFS_IDENTITY_ORIGIN={BASE}"]

Block = tuple  # ("p", text[, "strong" | "em"]) ("h2", text) ("ul", [items]) ("quote", text)
# ("figure", caption[, src]) ("video", url[, caption]) ("see_also", url, link_text[, "title"])
# ("newsletter",) ("donate",) ("table", header cells or None, [row cells...]) ("tweet", Tweet)
# ("qa", speaker, text): an interview's paragraph, "InSight Crime (IC): ..."
# Texts of p, qa, ul items, quotes and cells may hold inline links written "[link text](url)".
Related = tuple  # (url, section, date[, teaser])

PATH_PREFIXES = {
    "brief": "/news/brief/",
    "news": "/news/",
    "es": "/es/noticias/",
    "noticias-del-dia": "/es/noticias/noticias-del-dia/",
}
# On the live site each path style is a section of its own: its label (kicker, breadcrumbs,
# the first entry of articleSection) and its category's slug (the <article>'s class).
_SECTIONS = {
    "brief": ("Brief", "brief"),
    "news": ("News", "news"),
    "es": ("Noticias", "noticias"),
    "noticias-del-dia": ("Noticias del día", "noticias-del-dia"),
}


class Tweet(NamedTuple):
    """An embedded tweet: a blockquote the site's script renders; none of it is article text."""

    text: str
    author: str
    handle: str
    date: str  # as Twitter writes it, "March 12, 2019"
    status: str
    short: str  # the t.co code of its picture link
    picture: str  # the pic.twitter.com code
    language: str = "es"


@dataclass(kw_only=True)
class BriefSpec:
    """What a brief page says. URLs starting with "/" are on `base`."""

    slug: str
    title: str
    published: datetime  # aware
    language: str = "en"
    # "brief", "news" (2021 on); Spanish "noticias-del-dia" (most) or "es" (/es/noticias/)
    path_style: str = "brief"
    countries: list[str] = field(default_factory=list)  # as the page names them, in its order
    # As printed in the byline: people, the organization or a unit; a footnote mark ("*")
    # after a name is printed after its link and is no part of the author.
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    updated: datetime | None = None
    blocks: list[Block] = field(default_factory=list)
    translation: str | None = None
    related: list[Related] = field(default_factory=list)
    # Less common knobs: the declared description (default: the body's first sentence),
    # pages without og:description/meta description, and the WordPress numbers.
    summary: str | None = None
    description: bool = True
    post_id: int | None = None
    word_count: int | None = None
    # The anatomy: "sample" (the sample pages': every country on the meta line) or "live".
    shape: str = "sample"
    # Live shape only. `section`: the one category the meta line shows (a country, theme,
    # region or group; default the first category). `categories`: every category of the
    # post in WordPress's order, as JSON-LD articleSection and the <article>'s classes give
    # them (default: the countries); the countries must come in it in their own order.
    # `share_label`: the share bar's label ("share", or "Compartir" even on English pages).
    section: str | None = None
    categories: list[str] | None = None
    share_label: str | None = None

    @property
    def path(self) -> str:
        return f"{PATH_PREFIXES[self.path_style]}{self.slug}/"


# --- words of the pages ------------------------------------------------------------------

_LABELS = {
    "en": {
        "html_lang": "en-US",
        "og_locale": "en_US",
        "in_language": "en-US",
        "current": "EN",
        "kicker": "BRIEF",
        "crumbs": ("Home", "News", "Brief"),
        "by": "By",
        "and": "and",
        "updated": "Updated",
        "tags": "Tags",
        "related": "Related Content",
        "about": "About InSight Crime",
        "see_also": "SEE ALSO:",
        "months": [
            "JAN",
            "FEB",
            "MAR",
            "APR",
            "MAY",
            "JUN",
            "JUL",
            "AUG",
            "SEP",
            "OCT",
            "NOV",
            "DEC",
        ],
        "donate": (
            "Was this content helpful?",
            "We want to sustain Latin America’s largest organized crime database, but in"
            " order to do so, we need resources.",
            "DONATE",
        ),
        "comments": '<p class="comments-cta">What are your thoughts? <a href="{base}/contact/">'
        "Click here</a> to send InSight Crime your comments.</p>",
        "cc": '<p class="cc-notice"><em>We encourage readers to copy and distribute our work for'
        " non-commercial purposes, with attribution to InSight Crime in the byline and links"
        " to the original at both the top and bottom of the article. Check the"
        ' <a href="https://creativecommons.org/licenses/by-nc/4.0/">Creative Commons'
        " website</a> for more details of how to share our work, and please send us an email"
        " if you use an article.</em></p>",
        "newsletter": (
            "Sign up for our weekly newsletter",
            "Get the latest investigations and analysis of organized crime in the Americas"
            " in your inbox every week.",
            "Email address",
            "Sign up",
        ),
        # The live shape's words: its newsletter block, share label and breadcrumbs.
        "newsletter_live": (
            "Sign up for our weekly newsletter",
            "Get the latest on organized crime in the Americas delivered to your inbox.",
            "Enter your email address",
            "Subscribe",
        ),
        "share": "share",
        "home": ("Home", "/", "News", "/news/"),
    },
    "es": {
        "html_lang": "es",
        "og_locale": "es_ES",
        "in_language": "es",
        "current": "ES",
        "kicker": "NOTICIAS",
        "crumbs": ("Inicio", "Noticias", "Noticias del día"),
        "by": "Por",
        "and": "y",
        "updated": "Actualizado",
        "tags": "Etiquetas",
        "related": "Contenido relacionado",
        "about": "Sobre InSight Crime",
        "see_also": "VEA TAMBIÉN:",
        "months": [
            "ENE",
            "FEB",
            "MAR",
            "ABR",
            "MAY",
            "JUN",
            "JUL",
            "AGO",
            "SEP",
            "OCT",
            "NOV",
            "DIC",
        ],
        "donate": (
            "¿Este contenido le resultó útil?",
            "Queremos sostener la base de datos sobre crimen organizado más grande de América"
            " Latina, pero para hacerlo necesitamos recursos.",
            "DONAR",
        ),
        "comments": '<p class="comments-cta">¿Qué opina? <a href="{base}/es/contacto/">'
        "Haga clic aquí</a> para enviarnos sus comentarios.</p>",
        "cc": '<p class="cc-notice"><em>Animamos a los lectores a copiar y distribuir nuestro'
        " trabajo con fines no comerciales, citando a InSight Crime en la firma y con enlaces"
        " al original al principio y al final del artículo. Consulte el"
        ' <a href="https://creativecommons.org/licenses/by-nc/4.0/">sitio web de Creative'
        " Commons</a> para más detalles.</em></p>",
        "newsletter": (
            "Suscríbase a nuestro boletín semanal",
            "Reciba cada semana en su correo las últimas investigaciones y análisis sobre el"
            " crimen organizado en las Américas.",
            "Correo electrónico",
            "Suscribirse",
        ),
        "newsletter_live": (
            "Suscríbase a nuestro boletín semanal",
            "Reciba lo último sobre el crimen organizado en las Américas en su correo.",
            "Ingrese su correo electrónico",
            "Suscribirse",
        ),
        "share": "Compartir",
        "home": ("Inicio", "/es/", "Noticias", "/es/noticias/"),
    },
}
_DAY_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAY_MONTHS_LONG = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip

COUNTRIES = [
    "Peru", "Colombia", "Mexico", "Honduras", "Guatemala", "El Salvador", "Venezuela",
    "Ecuador", "Brazil", "Bolivia", "Paraguay", "Costa Rica", "Panama", "Haiti",
    "Dominican Republic", "Argentina", "Chile", "Nicaragua", "Uruguay", "Jamaica",
]  # fmt: skip
COUNTRIES_ES = [
    "Perú", "Colombia", "México", "Honduras", "Guatemala", "El Salvador", "Venezuela",
    "Ecuador", "Brasil", "Bolivia", "Paraguay", "Costa Rica", "Panamá", "Haití",
    "República Dominicana", "Argentina", "Chile", "Nicaragua", "Uruguay", "Jamaica",
]  # fmt: skip
GROUPS = [
    "the Sinaloa Cartel", "the Jalisco Cartel", "the ELN", "FARC dissidents", "MS13",
    "Barrio 18", "Tren de Aragua", "the Gulf Clan", "the PCC", "Los Choneros",
    "the Shining Path", "Los Lobos",
]  # fmt: skip
GROUPS_ES = [
    "el Cartel de Sinaloa", "el Cartel de Jalisco", "el ELN", "las disidencias de las FARC",
    "la MS13", "el Barrio 18", "el Tren de Aragua", "el Clan del Golfo", "el PCC",
    "Los Choneros", "Sendero Luminoso", "Los Lobos",
]  # fmt: skip
TOPICS = [
    "Cocaine", "Extortion", "Money Laundering", "Prisons", "Homicides", "Security Policy",
    "Elites and Crime", "Illegal Mining", "Arms Trafficking", "Human Smuggling",
    "Drug Policy", "Gangs", "Environmental Crime", "Corruption", "Extradition",
]  # fmt: skip
# The categories a live-shape post may have besides its countries (SITE.md: the meta line's
# category is a country, a region, a theme or a criminal group), English and Spanish.
THEME_CATEGORIES = {
    "Elites and Crime": "Élites y crimen", "Extortion": "Extorsión",
    "Criminal Migration": "Migración criminal", "Prisons": "Cárceles",
    "Environmental Crime": "Crimen ambiental", "Money Laundering": "Lavado de dinero",
}  # fmt: skip
REGION_CATEGORIES = {
    "Caribbean": "Caribe", "Central America": "Centroamérica", "Andes": "Región andina",
    "Southern Cone": "Cono Sur",
}  # fmt: skip
# Group categories live under their home country's page: /<country>-organized-crime-news/<group>/.
GROUP_CATEGORIES = {
    "Barrio 18": "guatemala", "ELN": "colombia", "Cartel de los Soles": "venezuela",
    "MS13": "el-salvador", "Tren de Aragua": "venezuela", "Los Choneros": "ecuador",
}  # fmt: skip
# Bylines that name the organization or one of its units.
ORGANIZATIONS = [
    "InSight Crime", "Venezuela Investigative Unit", "Colombia Investigative Unit",
    "Mexico Investigative Unit",
]  # fmt: skip
AUTHORS = [
    "Victoria Dittmar", "Marguerite Cawley", "Lara Loaiza", "Steven Dudley", "Parker Asmann",
    "Alex Papadovassilakis", "Hannah Stone", "Chris Dalby", "Jeremy McDermott",
    "Seth Robbins", "Henry Shuldiner", "María Fernanda Ramírez", "Juan Diego Posada",
]  # fmt: skip

# The Related Content cards of the sample pages, and more in the same shape.
RELATED_POOL: list[Related] = [
    ("/news/peru-tren-de-aragua-captures/", "Peru", "2022-12-06",
     "Peru is taking steps to tackle the threat of Venezuelan mega-gang Tren de Aragua, and"
     " have recently captured 30 members…"),
    ("/news/analysis/pedro-castillo-charges/", "Elites and Crime", "2022-12-08",
     "Pedro Castillo, Peru's fallen maverick president, faces charges depressingly similar"
     " to four of his predecessors."),
    ("/news/analysis/us-losing-allies-latin-america/", "Bolivia", "2022-12-29",
     "The US is losing allies in Latin America just as production of cocaine, fentanyl, and"
     " other synthetic drugs is going…"),
    ("/news/analysis/ecuador-prison-gangs-war/", "Ecuador", "2023-01-12",
     "Ecuador's prisons have become the headquarters of the gangs fighting over the"
     " country's cocaine routes…"),
    ("/news/analysis/colombia-total-peace-armed-groups/", "Colombia", "2023-02-02",
     "Colombia's bid to negotiate with every armed group at once has given them room to"
     " grow…"),
    ("/news/honduras-extradition-former-president/", "Honduras", "2022-04-21",
     "The extradition of a former president marks a turning point for Honduras and its"
     " elites…"),
    ("/investigations/venezuela-illegal-gold-trade/", "Illegal Mining", "2022-09-15",
     "Gold mined illegally in southern Venezuela reaches world markets through a chain of"
     " intermediaries…"),
    ("/news/mexico-fentanyl-precursors-ports/", "Mexico", "2023-03-09",
     "Chemical precursors for fentanyl keep arriving at Mexico's Pacific ports despite new"
     " controls…"),
]  # fmt: skip

_ABOUT_CARDS = (
    ("/the-organization/venezuela-coverage-continues-to-be-highlighted/",
     "Venezuela Coverage Continues to be Highlighted", "2023-03-03", "3 MAR 2023",
     "This week, InSight Crime co-director Jeremy McDermott was the featured guest on the"
     " Americas Quarterly podcast, where he provided an expert overview of the changing"
     " dynamics…"),
    ("/the-organization/venezuela-s-organized-crime-top-10-attracts-attention/",
     "Venezuela's Organized Crime Top 10 Attracts Attention", "2023-02-24", "24 FEB 2023",
     "Last week, InSight Crime published its ranking of Venezuela’s ten organized crime"
     " groups to accompany the launch of the Venezuela Organized Crime Observatory. Read…"),
    ("/the-organization/insight-crime-on-el-pais-podcast/", "InSight Crime on El País Podcast",
     "2023-02-10", "10 FEB 2023",
     "This week, InSight Crime co-founder, Jeremy McDermott, was among experts featured in an"
     " El País podcast on the progress of Colombia’s nascent peace process."),
)  # fmt: skip

# --- the renamed theme ---------------------------------------------------------------------

RENAMED_CLASSES = {
    "entry-content": "story-body",
    "entry-title": "story-headline",
    "entry-meta": "story-info",
    "entry-header": "story-top",
    "entry-footer": "story-bottom",
    "entry-wrapper": "card-inner",
    "entry-date": "stamp",
    "published": "stamp-first",
    "updated": "stamp-revised",
    "posted-on": "dateline",
    "cat-links": "place-list",
    "tags-links": "topic-list",
    "tags-title": "topic-label",
    "byline": "credits",
    "author-label": "credits-label",
    "author": "credits-person",
    "vcard": "person-card",
    "fn": "person-name",
    "post-kicker": "eyebrow",
    "language-switcher": "lang-toggle",
    "current-lang": "lang-now",
    "lang-item": "lang-alt",
    "breadcrumbs": "trail",
    "breadcrumb_last": "trail-end",
    "hentry": "story",
    "category-brief": "section-brief",
    "site": "shell",
    "site-header": "masthead-bar",
    "site-footer": "colophon-bar",
    "site-content": "page-body",
    "content-area": "page-column",
    "site-main": "page-main",
    "site-branding": "brand",
    "main-navigation": "top-nav",
    "main-menu": "top-nav-list",
    "mega-menu": "explore-nav",
    "menu-item": "nav-item",
    "menu-item-has-children": "nav-parent",
    "sub-menu": "nav-sub",
    "header-donate": "top-give",
    "related-content": "more-reading",
    "about-ic": "about-org",
    "accent-header": "band-title",
    "excerpt": "teaser",
    "comments-cta": "feedback-line",
    "cc-notice": "license-line",
    "sharedaddy": "share-row",
    "sd-sharing-enabled": "share-on",
    "newspack-popup-container": "promo-box",
    "newspack-popup": "promo",
    "newspack-inline-popup": "promo-inline",
    "newspack-newsletters-subscribe": "signup-form",
    "footer-branding": "colophon-name",
    "footer-navigation": "colophon-nav",
    "site-info": "colophon-info",
}
_CLASS_ATTR = re.compile(r'class="([^"]*)"')


def _rename(text: str) -> str:
    def swap(match: re.Match[str]) -> str:
        tokens = [RENAMED_CLASSES.get(t, t) for t in match.group(1).split(" ")]
        return 'class="' + " ".join(tokens) + '"'

    return _CLASS_ATTR.sub(swap, text)


# --- helpers -------------------------------------------------------------------------------

_esc = html.escape
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _abs(base: str, url: str) -> str:
    return base + url if url.startswith("/") else url


def _plain(text: str) -> str:
    """The block text a reader sees: links as their text, whitespace collapsed."""
    return " ".join(_LINK.sub(r"\1", text).split())


def _inline(text: str, base: str) -> str:
    out, last = [], 0
    for match in _LINK.finditer(text):
        out.append(_esc(text[last : match.start()]))
        out.append(
            f'<a href="{_esc(_abs(base, match.group(2)))}" target="_blank"'
            f' rel="noreferrer noopener">{_esc(match.group(1))}</a>'
        )
        last = match.end()
    out.append(_esc(text[last:]))
    return "".join(out)


def first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(?=\s|$)", text)
    return match.group(1) if match else text


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("dates of a brief must be timezone-aware")
    return moment.astimezone(UTC)


def _day(moment: datetime) -> str:
    return f"{moment.day} {_DAY_MONTHS[moment.month - 1]} {moment.year}"


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _default_post_id(spec: BriefSpec) -> int:
    # The samples number a brief 20000 + the number its slug ends with (Spanish: +500000).
    match = re.search(r"-(\d+)$", spec.slug)
    number = int(match.group(1)) if match else sum(map(ord, spec.slug)) * 7 % 9000 + 1000
    return 20000 + number + (500000 if spec.language == "es" else 0)


# --- the fixed parts, built once -------------------------------------------------------------

# The samples' inline CSS and popup settings are generated filler; these formulas give the
# very same bytes (colour steps modulo 0xFFFFFF, not 0x1000000).
_CSS = "".join(
    f".wp-block-group-{i}{{margin:0 0 {i % 7}px;padding:{i % 5}px;color:#{c:06x};}}"
    f".wp-block-cover-{i}{{margin:0 0 {i % 7}px;padding:{i % 5}px;color:#{c:06x};}}"
    for i, c in ((i, i * 3635791 % 0xFFFFFF) for i in range(900))
)
_JS = (
    "var newspack_popups_settings = "
    + json.dumps(
        {
            "popups": [
                {
                    "id": i,
                    "title": f"Campaign {i}",
                    "frequency": "daily",
                    "placement": "inline",
                    "utm_suppression": None,
                    "segments": list(range(i % 9)),
                }
                for i in range(160)
            ]
        }
    )
    + ";"
)


def _menu(base: str) -> str:
    def section(label: str, names: list[str]) -> str:
        items = "".join(
            f'<li class="menu-item"><a href="{base}/{slugify(n)}-organized-crime-news/">'
            f"{n}</a></li>"
            for n in names
        )
        return (
            f'<li class="menu-item menu-item-has-children"><a href="#">{label}</a>'
            f'<ul class="sub-menu">{items}</ul></li>'
        )

    one = section("Countries", COUNTRIES) + section("Criminal Groups", GROUPS)
    one += section("Topics", TOPICS)
    return f'<nav class="mega-menu" aria-label="Explore"><ul>{one * 3}</ul></nav>'


def _donate(base: str, words: dict, popup_id: int) -> str:
    title, text, button = words["donate"]
    return (
        '<div class="newspack-popup-container newspack-popup newspack-inline-popup"'
        f' id="id_{popup_id}" role="button" tabindex="0"><div class="wp-block-group">'
        f'<p class="has-text-align-center"><strong>{_esc(title, False)}</strong></p>'
        f'<p>{_esc(text, False)}</p><div class="wp-block-buttons"><div class="wp-block-button">'
        f'<a class="wp-block-button__link" href="{base}/donations/">{button}</a></div></div>'
        "</div></div>"
    )


def _newsletter(base: str, words: dict, popup_id: int) -> str:
    title, text, placeholder, button = words["newsletter"]
    return (
        '<div class="newspack-popup-container newspack-popup newspack-inline-popup"'
        f' id="id_{popup_id}" role="button" tabindex="0"><div class="wp-block-group">'
        f'<h2 class="wp-block-heading has-text-align-center">{_esc(title)}</h2>'
        f"<p>{_esc(text)}</p>"
        f'<form class="newspack-newsletters-subscribe" method="post" action="{base}/">'
        f'<input type="email" name="npe" placeholder="{_esc(placeholder)}">'
        f'<input type="submit" value="{_esc(button)}"></form></div></div>'
    )


_SHARE_BAR = (
    '<div class="sharedaddy sd-sharing-enabled"><div class="robots-nocontent sd-block'
    ' sd-social sd-social-icon"><div class="sd-content"><ul><li><a class="share-icon"'
    ' href="#"><img src="/wp-content/themes/ic/share.svg" alt="share icon"></a></li>'
    '<li class="share-twitter"><a rel="nofollow noopener" class="share-twitter sd-button'
    ' share-icon no-text" href="?share=twitter" target="_blank" title="Click to share on'
    ' Twitter"><img src="/wp-content/themes/ic/x.svg" alt="icon"><span'
    ' class="sharing-screen-reader-text">Click to share on Twitter (Opens in new window)'
    '</span></a></li><li class="share-facebook"><a rel="nofollow noopener"'
    ' class="share-facebook sd-button share-icon no-text" href="?share=facebook"'
    ' target="_blank" title="Click to share on Facebook"><img'
    ' src="/wp-content/themes/ic/fb.svg" alt="icon"><span class="sharing-screen-reader-text">'
    'Click to share on Facebook (Opens in new window)</span></a></li><li class="share-end">'
    "</li></ul></div></div></div>"
)


def _live_share_bar(base: str, label: str) -> str:
    # The live site's share bar: a label ("share", "Compartir") and icons from its own host.
    return (
        _SHARE_BAR.replace(
            '<ul><li><a class="share-icon"',
            f'<ul><li class="share-label"><span class="share-title">{_esc(label)}</span></li>'
            '<li><a class="share-icon"',
        )
        .replace('src="/wp-content/themes/ic/', f'src="{base}/wp-content/themes/ic/images/')
        .replace('alt="share icon"', 'alt="icon"')
    )


@lru_cache(maxsize=64)
def _chrome(
    base: str, theme: str, language: str, shape: str = "sample", share_label: str = ""
) -> dict[str, bytes]:
    """The parts of a page that depend on nothing but base, theme, language, shape and the
    share bar's label, as bytes."""
    words = _LABELS[language]
    css = _CSS + " .entry-meta { text-transform: uppercase; }"
    if theme == "renamed":
        css = css.replace(".entry-meta", "." + RENAMED_CLASSES["entry-meta"])
    if shape == "live":
        stylesheet = (
            f'<link rel="stylesheet" id="ic-style-css" href="{base}/wp-content/themes/ic/'
            'style.css?ver=2.3.1" media="all" />\n<link rel="icon" href="'
            f'{base}/wp-content/uploads/2021/05/cropped-ic-favicon-32x32.png" sizes="32x32" />'
        )
        share_bar = _live_share_bar(base, share_label)
    elif shape == "sample":
        stylesheet = (
            f'<link rel="stylesheet" id="newspack-style-css" href="{base}/wp-content/themes/'
            'newspack-theme/style.css" media="all" />'
        )
        share_bar = _SHARE_BAR
    else:
        raise ValueError(f"unknown shape {shape!r}")
    head_tail = (
        f"{stylesheet}\n<script>window.dataLayer = window.dataLayer"
        " || []; function gtag(){dataLayer.push(arguments);} gtag('js', new Date());</script>\n"
    )
    page_top = (
        '<div id="page" class="site">\n<a class="skip-link screen-reader-text" href="#main">'
        f"Skip to content</a>\n{_menu(base)}"
        f'<header id="masthead" class="site-header"><div class="site-branding"><a href="{base}/"'
        ' rel="home">InSight Crime</a></div><nav class="main-navigation" aria-label="Top Menu">'
        '<ul id="menu-primary" class="main-menu">'
        f'<li class="menu-item"><a href="{base}/investigations/">Investigations</a></li>'
        f'<li class="menu-item"><a href="{base}/news/">News</a></li>'
        f'<li class="menu-item"><a href="{base}/criminal-profiles/">Criminal Profiles</a></li>'
        f'<li class="menu-item"><a href="{base}/research/">Research</a></li>'
        f'<li class="menu-item"><a href="{base}/about-us/">About Us</a></li></ul></nav>'
        f'<div class="header-donate"><a class="button" href="{base}/donations/">DONATE</a></div>'
        f'<form role="search" class="search-form" action="{base}/"><input type="search"'
        ' name="s" placeholder="Search …"></form></header>\n<div id="content"'
        ' class="site-content">\n'
    )
    content_tail = (
        f"\n\n\n\n\n{share_bar}\n{_donate(base, words, 9001)}\n"
        + words["comments"].format(base=base)
        + "\n"
        + words["cc"]
        + "\n</div>\n"
    )
    cards = "".join(
        '<article class="post type-post"><div class="entry-wrapper"><div class="cat-links">'
        f'<a href="{base}/tag/the-organization/">THE ORGANIZATION</a></div><h3'
        f' class="entry-title"><a href="{base}{path}" rel="bookmark">{_esc(title)}</a></h3>'
        f'<div class="entry-meta"><time class="entry-date published" datetime="{day}">{shown}'
        f'</time></div><div class="excerpt"><a href="{base}{path}">{_esc(teaser, False)}</a>'
        "</div></div></article>"
        for path, title, day, shown, teaser in _ABOUT_CARDS
    )
    page_end = (
        f'<section class="about-ic"><h2 class="accent-header">{words["about"]}</h2>'
        f'<div class="wp-block-newspack-blocks-homepage-articles">{cards}</div></section>\n'
        '</main>\n</div>\n</div>\n<footer id="colophon" class="site-footer"><div'
        ' class="footer-branding">InSight Crime – Investigation and Analysis of Organized'
        ' Crime</div><nav class="footer-navigation"><ul>'
        f'<li><a href="{base}/about-us/">About Us</a></li>'
        f'<li><a href="{base}/privacy-policy/">Privacy Policy</a></li></ul></nav>'
        '<div class="site-info">© 2023 InSight Crime. All rights reserved.</div></footer>'
        '<div id="cmplz-cookiebanner-container"><div class="cmplz-cookiebanner"><div'
        ' class="cmplz-message">We use cookies to optimize our website.</div><button'
        ' class="cmplz-btn cmplz-accept">Accept</button></div></div>\n</div>\n'
        f'<script src="{base}/wp-content/plugins/jetpack/_inc/build/sharedaddy/sharing.min.js">'
        "</script>\n</body>\n</html>\n"
    )
    parts = {
        "doc_top": '<!doctype html>\n<html lang="{html_lang}">\n<head>\n<meta charset="UTF-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'.replace(
            "{html_lang}", words["html_lang"]
        ),
        "head_tail": head_tail,
        "page_top": page_top,
        "content_tail": content_tail,
        # The live shape's second donate prompt is inside the entry footer, after Tags.
        "after_article": "\n" if shape == "live" else _donate(base, words, 9002) + "\n",
        "page_end": page_end,
    }
    if theme == "renamed":
        parts = {k: _rename(v) for k, v in parts.items()}
    elif theme != "default":
        raise ValueError(f"unknown theme {theme!r}")
    encoded = {k: v.encode() for k, v in parts.items()}
    # The stylesheet and script never carry class attributes; kept out of the renaming.
    encoded["style"] = (
        f'<style id="newspack-theme-inline-css">{css}</style>\n'
        f'<script id="newspack-popups-js-extra">{_JS}</script>\n</head>\n'
    ).encode()
    return encoded


# --- one page --------------------------------------------------------------------------------


def _newsletter_live(words: dict) -> str:
    title, text, placeholder, button = words["newsletter_live"]
    return (
        '<div class="wp-block-newspack-newsletters-subscribe newspack-newsletters-subscribe">'
        f'<p class="newspack-newsletters-subscribe__title">{_esc(title)}</p><p>{_esc(text)}</p>'
        f'<form><input type="email" name="npe" placeholder="{_esc(placeholder)}">'
        f'<input type="submit" value="{_esc(button)}"></form></div>'
    )


def _tweet(tweet: Tweet) -> str:
    handle = _esc(tweet.handle)
    return (
        '<figure class="wp-block-embed is-type-rich is-provider-twitter wp-block-embed-twitter">'
        '<div class="wp-block-embed__wrapper">\n<blockquote class="twitter-tweet"'
        f' data-width="550" data-dnt="true"><p lang="{tweet.language}" dir="ltr">'
        f'{_esc(tweet.text)} <a href="https://t.co/{tweet.short}">pic.twitter.com/'
        f"{tweet.picture}</a></p>&mdash; {_esc(tweet.author)} (@{handle}) <a"
        f' href="https://twitter.com/{handle}/status/{tweet.status}?ref_src=twsrc%5Etfw">'
        f"{_esc(tweet.date)}</a></blockquote><script async"
        ' src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>\n'
        "</div></figure>"
    )


def _table(header: list[str] | None, rows: list[list[str]], base: str) -> str:
    def cells(tag: str, row: list[str]) -> str:
        return "<tr>" + "".join(f"<{tag}>{_inline(c, base)}</{tag}>" for c in row) + "</tr>"

    head = f"<thead>{cells('th', header)}</thead>" if header else ""
    body = "".join(cells("td", row) for row in rows)
    return (
        f'<figure class="wp-block-table"><table class="has-fixed-layout">{head}<tbody>{body}'
        "</tbody></table></figure>"
    )


def _render_blocks(
    spec: BriefSpec, base: str, words: dict
) -> tuple[list[str], list[str], list[str]]:
    """HTML chunks of the entry content, the expected body blocks, the SEE ALSO URLs."""
    live = spec.shape == "live"
    chunks: list[str] = []
    kinds: list[str] = []
    texts: list[str] = []
    see_also: list[str] = []
    pending = ""  # boilerplate waiting to be glued to the next block
    popup = 9003
    for block in spec.blocks:
        kind = block[0]
        if kind == "see_also":
            url = _abs(base, block[1])
            see_also.append(url)
            # A link to another article gives its title, indented and in italics.
            titled = len(block) > 3 and block[3] == "title"
            style = ' style="padding-left:40px"' if titled else ""
            label = f"<em>{_esc(block[2])}</em>" if titled else _esc(block[2])
            line = (
                f'<p class="wp-block-paragraph"{style}><strong>{words["see_also"]}</strong>'
                f' <a href="{_esc(url)}">{label}</a></p>'
            )
            # The editors' plugin glues the line to the paragraph before it, or to the block
            # after a heading: no block separator either way (as on the sample pages).
            if chunks and kinds[-1] == "p" and not pending:
                chunks[-1] += line
            else:
                pending += line
            continue
        if live and kind in ("newsletter", "donate"):
            # On the live site Newspack's prompts stand flush against the block after them.
            pending += (
                _newsletter_live(words) if kind == "newsletter" else _donate(base, words, popup)
            )
            popup += 1
            continue
        if kind == "p":
            inner = _inline(block[1], base)
            if len(block) > 2:
                inner = f"<{block[2]}>{inner}</{block[2]}>"
            chunk = f'<p class="wp-block-paragraph">{inner}</p>'
            texts.append(_plain(block[1]))
        elif kind == "qa":
            chunk = (
                f'<p class="wp-block-paragraph"><strong>{_esc(block[1])}:</strong>'
                f" {_inline(block[2], base)}</p>"
            )
            texts.append(f"{block[1]}: {_plain(block[2])}")
        elif kind == "h2":
            text = _plain(block[1])
            chunk = (
                f'<h2 id="h-{slugify(text)}" class="wp-block-heading"><strong>'
                f"{_inline(block[1], base)}</strong></h2>"
            )
            texts.append(text)
        elif kind == "ul":
            items = "".join(f"<li>{_inline(item, base)}</li>" for item in block[1])
            chunk = f'<ul class="wp-block-list">{items}</ul>'
            texts.extend(_plain(item) for item in block[1])
        elif kind == "quote":
            chunk = (
                f'<blockquote class="wp-block-quote"><p>{_inline(block[1], base)}</p></blockquote>'
            )
            texts.append(_plain(block[1]))
        elif kind == "figure":
            post_id = spec.post_id or _default_post_id(spec)
            src = (
                block[2]
                if len(block) > 2
                else (
                    "https://i0.wp.com/insightcrime.org/wp-content/uploads/2011/04/"
                    f"photo-{post_id % 10000}.jpg?ssl=1"
                )
            )
            chunk = (
                f'<figure class="wp-block-image size-large"><img decoding="async"'
                f' src="{_esc(src)}" alt="" class="wp-image-{post_id}"/><figcaption'
                f' class="wp-element-caption">{_inline(block[1], base)}</figcaption></figure>'
            )
            texts.append(_plain(block[1]))
        elif kind == "video":
            lazy, share = (' loading="lazy"', "; web-share") if live else ("", "")
            chunk = (
                '<figure class="wp-block-embed is-type-video is-provider-youtube'
                ' wp-block-embed-youtube wp-embed-aspect-16-9 wp-has-aspect-ratio"><div'
                f' class="wp-block-embed__wrapper">\n<iframe{lazy} title="YouTube video player"'
                f' width="500" height="281" src="{_esc(block[1])}" frameborder="0"'
                ' allow="accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope;'
                f' picture-in-picture{share}" allowfullscreen></iframe>\n</div></figure>'
            )
            if len(block) > 2:
                # The caption line under a video: a paragraph of its own, article text.
                chunk += f'\n\n<p class="wp-block-paragraph"><em>{_inline(block[2], base)}</em></p>'
                texts.append(_plain(block[2]))
        elif kind == "table":
            header, rows = block[1], block[2]
            chunk = _table(header, rows, base)
            texts.extend(
                " | ".join(_plain(cell) for cell in row)
                for row in [*([header] if header else []), *rows]
            )
        elif kind == "tweet":
            chunk = _tweet(block[1])
        elif kind == "newsletter":
            chunk = _newsletter(base, words, popup)
            popup += 1
        elif kind == "donate":
            chunk = _donate(base, words, popup)
            popup += 1
        else:
            raise ValueError(f"unknown block {block!r}")
        chunks.append(pending + chunk)
        kinds.append(kind)
        pending = ""
    if pending:
        chunks.append(pending)
    return chunks, texts, see_also


_FOOTNOTE = re.compile(r"([*†]+)$")


def _unmarked(author: str) -> str:
    """The author's name without the footnote mark the byline prints after it."""
    return _FOOTNOTE.sub("", author).rstrip()


def _byline(spec: BriefSpec, base: str, words: dict) -> str:
    if not spec.authors:
        return ""
    people = []
    for printed in spec.authors:
        name = _unmarked(printed)
        mark = printed[len(name) :].strip()
        people.append(
            f'<span class="author vcard"><a class="url fn n" href="{base}/author/'
            f'{slugify(name)}/">{_esc(name)}</a>{_esc(mark)}</span>'
        )
    joined = (
        people[0]
        if len(people) == 1
        else (", ".join(people[:-1]) + f" {words['and']} " + people[-1])
    )
    return f'<span class="byline"><span class="author-label">{words["by"]}</span> {joined}</span>'


def _layout(spec: BriefSpec) -> tuple[str | None, list[str]]:
    """The section (the meta line's category) and every category of the post, in order."""
    if spec.shape != "live":
        return (spec.countries[0] if spec.countries else None), list(spec.countries)
    categories = list(spec.categories if spec.categories is not None else spec.countries)
    section = spec.section if spec.section is not None else (categories[:1] or [None])[0]
    if section is not None and section not in categories:
        categories.insert(0, section)
    if [c for c in categories if c in spec.countries] != list(spec.countries):
        raise ValueError(f"{spec.slug}: its countries must come in its categories, in order")
    return section, categories


def _category_link(name: str, spec: BriefSpec, base: str) -> str:
    """Where a category's index page is (SITE.md): countries at /<country>-organized-crime-
    news/, groups under their country's page, themes and regions at /<slug>/."""
    home = base + ("/es" if spec.language == "es" else "")
    if name in spec.countries:
        return f"{home}/{slugify(name)}-organized-crime-news/"
    if name in GROUP_CATEGORIES:
        return f"{home}/{GROUP_CATEGORIES[name]}-organized-crime-news/{slugify(name)}/"
    return f"{home}/{slugify(name)}/"


def _crumbs(spec: BriefSpec, base: str, words: dict) -> list[tuple[str, str | None]]:
    """The breadcrumbs before the title, (name, URL): the live shape follows the section."""
    if spec.shape != "live":
        names = words["crumbs"]
        return list(zip(names, (f"{base}/", f"{base}/news/", f"{base}/news/brief/"), strict=True))
    home, home_path, news, news_path = words["home"]
    crumbs = [(home, base + home_path), (news, base + news_path)]
    if spec.path_style in ("brief", "noticias-del-dia"):
        crumbs.append((_SECTIONS[spec.path_style][0], base + PATH_PREFIXES[spec.path_style]))
    return crumbs


def _json_ld(
    spec: BriefSpec,
    base: str,
    url: str,
    words: dict,
    published: str,
    modified: str,
    word_count: int,
    categories: list[str],
) -> str:
    live = spec.shape == "live"
    if spec.authors:
        authors = [
            {"@type": "Person", "name": name, "url": f"{base}/author/{slugify(name)}/"}
            for name in map(_unmarked, spec.authors)
        ]
    else:
        authors = [{"@type": "Organization", "name": "InSight Crime"}]
    crumbs = [
        {"@type": "ListItem", "position": i, "name": name, "item": link}
        # The sample pages' JSON-LD names the English crumbs whatever the page's language.
        for i, (name, link) in enumerate(_crumbs(spec, base, words if live else _LABELS["en"]), 1)
    ]
    crumbs.append({"@type": "ListItem", "position": len(crumbs) + 1, "name": spec.title})
    page = {"@type": "WebPage", "@id": url, "url": url, "name": spec.title + " - InSight Crime"}
    trail: dict = {"@type": "BreadcrumbList"}
    if live:
        page["breadcrumb"] = {"@id": url + "#breadcrumb"}
        trail["@id"] = url + "#breadcrumb"
    trail["itemListElement"] = crumbs
    section_label = _SECTIONS[spec.path_style][0] if live else "Brief"
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "NewsArticle",
                "@id": url + "#article",
                "isPartOf": {"@id": url},
                "author": authors,
                "headline": spec.title,
                "datePublished": published,
                "dateModified": modified,
                "mainEntityOfPage": {"@id": url},
                "wordCount": word_count,
                "publisher": {"@id": base + "/#organization"},
                "keywords": list(spec.tags) if live else [*spec.countries, *spec.tags],
                "articleSection": [section_label, *categories],
                "inLanguage": words["in_language"],
            },
            page,
            trail,
        ],
    }
    return json.dumps(graph, ensure_ascii=False).replace("</", "<\\/")


def generate_brief(spec: BriefSpec, base: str = BASE, theme: str = "default") -> tuple[bytes, dict]:
    """The page of `spec` as the site serves it, and the record a cleaner must give for it
    (gold format: url, title, kind, language, summary, section, countries, country_codes,
    published and updated as dates, authors, tags, body_blocks, translation, related_urls)."""
    base = base.rstrip("/")
    lang = spec.language
    live = spec.shape == "live"
    words = _LABELS[lang]
    share_label = (spec.share_label or words["share"]) if live else ""
    chrome = _chrome(base, theme, lang, spec.shape, share_label)
    url = base + spec.path
    other = "en" if lang == "es" else "es"
    published = _utc(spec.published)
    updated = _utc(spec.updated) if spec.updated else None
    pub_iso = published.isoformat()
    mod_iso = updated.isoformat() if updated else pub_iso
    post_id = spec.post_id or _default_post_id(spec)
    section, categories = _layout(spec)
    authors = [_unmarked(a) for a in spec.authors]
    chunks, body_blocks, see_also = _render_blocks(spec, base, words)
    summary = (
        spec.summary
        if spec.summary is not None
        else (first_sentence(body_blocks[0]) if body_blocks else "")
    )
    word_count = spec.word_count or len(" ".join(body_blocks).split())
    translation = _abs(base, spec.translation) if spec.translation else None
    title = _esc(spec.title)

    hreflang = ""
    switch = ""
    if translation:
        hreflang = (
            f'<link rel="alternate" hreflang="{lang}" href="{url}" />'
            f'<link rel="alternate" hreflang="{other}" href="{_esc(translation)}" />'
        )
        switch = (
            f' <a class="lang-item" href="{_esc(translation)}" hreflang="{other}">'
            f"{other.upper()}</a>"
        )
    description = ""
    if spec.description:
        description = (
            f'<meta property="og:description" content="{_esc(summary)}" />\n'
            f'<meta name="description" content="{_esc(summary)}" />\n'
        )
    head = (
        f"<title>{title} - InSight Crime</title>\n"
        f'<link rel="canonical" href="{url}" />\n{hreflang}\n'
        f'<meta property="og:locale" content="{words["og_locale"]}" />\n'
        '<meta property="og:type" content="article" />\n'
        f'<meta property="og:title" content="{title}" />\n{description}'
        f'<meta property="og:url" content="{url}" />\n'
        '<meta property="og:site_name" content="InSight Crime" />\n'
        f'<meta property="article:published_time" content="{pub_iso}" />\n'
        + (f'<meta property="article:modified_time" content="{mod_iso}" />' if updated else "")
        + f'\n<meta name="author" content="{_esc(", ".join(authors) or "InSight Crime")}"'
        ' />\n<script type="application/ld+json" class="yoast-schema-graph">'
        + _json_ld(spec, base, url, words, pub_iso, mod_iso, word_count, categories)
        + "</script>\n"
    )
    if live:
        # WordPress's post classes: the section's category, every other category, the tags.
        body_classes = " "
        article_classes = (
            f" category-{_SECTIONS[spec.path_style][1]}"
            + "".join(f" category-{slugify(c)}" for c in categories)
            + "".join(f" tag-{slugify(t)}" for t in spec.tags)
        )
        kicker = (base + PATH_PREFIXES[spec.path_style], _SECTIONS[spec.path_style][0])
        shown = [section] if section is not None else []
        category_links = ", ".join(
            f'<a href="{_category_link(c, spec, base)}" rel="category tag">{_esc(c)}</a>'
            for c in shown
        )
    else:
        body_classes = "".join(f" tag-{slugify(n)}" for n in [*spec.countries, *spec.tags])
        article_classes = " category-brief" + body_classes
        kicker = (f"{base}/news/brief/", words["kicker"])
        category_links = ", ".join(
            f'<a href="{base}/tag/{slugify(c)}/" rel="category tag">{_esc(c)}</a>'
            for c in spec.countries
        )
    crumbs = "".join(
        f'<span><a href="{link}">{name}</a></span>' for name, link in _crumbs(spec, base, words)
    )
    revised = (
        f' <time class="updated" datetime="{mod_iso}">{words["updated"]} {_day(updated)}</time>'
        if updated
        else ""
    )
    article_top = (
        f'<body class="post-template-default single single-post postid-{post_id}'
        f' single-format-standard newspack-theme{body_classes}">\n'
        f"{{PAGE_TOP}}"
        f'<div class="breadcrumbs" typeof="BreadcrumbList">{crumbs}<span class="breadcrumb_last">'
        f"{title}</span></div>\n"
        '<div id="primary" class="content-area">\n<main id="main" class="site-main">\n'
        f'<article id="post-{post_id}" class="post-{post_id} post type-post status-publish'
        f' format-standard hentry{article_classes}">\n<header class="entry-header">\n'
        f'<div class="post-kicker"><a href="{kicker[0]}">{kicker[1]}</a></div>\n'
        f'<h1 class="entry-title">{title}</h1>\n'
        f'<div class="entry-meta"><span class="cat-links">{category_links}</span> / <span'
        f' class="posted-on"><time class="entry-date published" datetime="{pub_iso}">'
        f"{_day(published)}</time>{revised}</span> {_byline(spec, base, words)} <div"
        f' class="language-switcher"><span class="current-lang">{words["current"]}</span>'
        f"{switch}</div></div>\n</header>\n"
        '<div class="entry-content">\n' + "\n\n\n\n".join(chunks)
    )
    tags = "".join(f'<a href="{base}/tag/{slugify(t)}/" rel="tag">{_esc(t)}</a>' for t in spec.tags)
    # The live shape repeats the donate prompt right after the Tags (inside the footer).
    second_donate = _donate(base, words, 9002) if live else ""
    footer = (
        f'<footer class="entry-footer"><div class="tags-links"><span class="tags-title">'
        f"{words['tags']}</span>{tags}</div>{second_donate}</footer>\n</article>\n"
    )
    related_urls = []
    cards = []
    for item in spec.related:
        link, card_section, when = _abs(base, item[0]), item[1], _as_date(item[2])
        teaser = item[3] if len(item) > 3 else _plain(card_section)
        related_urls.append(link)
        cards.append(
            '<article class="post type-post"><div class="entry-wrapper"><div class="cat-links">'
            f'<a href="{base}/tag/{slugify(card_section)}/">{_esc(card_section.upper())}</a></div>'
            f'<div class="entry-meta"><time class="entry-date published"'
            f' datetime="{when.isoformat()}">{when.day} {words["months"][when.month - 1]}'
            f' {when.year}</time></div><div class="excerpt"><a href="{_esc(link)}">'
            f"{_esc(teaser)}</a></div></div></article>"
        )
    related = ""
    if cards:
        related = (
            f'<section class="related-content"><h2 class="accent-header">{words["related"]}'
            '</h2><div class="wp-block-newspack-blocks-homepage-articles">'
            f"{''.join(cards)}</div></section>\n"
        )
    if theme == "renamed":
        head, article_top, footer, related = map(_rename, (head, article_top, footer, related))
    top, body_start = article_top.split("{PAGE_TOP}")
    page = b"".join(
        (
            chrome["doc_top"],
            head.encode(),
            chrome["head_tail"],
            chrome["style"],
            top.encode(),
            chrome["page_top"],
            body_start.encode(),
            chrome["content_tail"],
            footer.encode(),
            chrome["after_article"],
            related.encode(),
            chrome["page_end"],
        )
    )
    countries = list(spec.countries)
    record = {
        "url": url,
        "title": spec.title,
        "kind": "brief",
        "language": lang,
        "summary": summary,
        "section": section,
        "countries": countries,
        "country_codes": [country_code(c) for c in countries],
        "published": published.date().isoformat(),
        "updated": updated.date().isoformat() if updated else None,
        "authors": authors,
        "tags": list(spec.tags),
        "body_blocks": body_blocks,
        "translation": translation,
        "related_urls": related_urls + see_also,
    }
    return page, record


# --- many pages ------------------------------------------------------------------------------

_EN_SENTENCES = (
    "Authorities in {c} {verb} {n} {obj} linked to {g}, officials said on {weekday}.",
    "Local media reported that at least {n} people were detained in the operation.",
    "Analysts warned that the {things} would do little to weaken {g} in the long run.",
    "According to a government statement, the network laundered some ${n} million through"
    " front companies.",
    "The case is the latest sign that {g} is expanding its reach across {c}.",
    "Prosecutors say {g} has used {c}'s ports to move {obj} since {year}.",
    'A police spokesperson called the operation "a heavy blow" to {g} & its allies.',
)
_ES_SENTENCES = (
    "Las autoridades de {c} {verb} a {n} presuntos integrantes de una red criminal, según un"
    " comunicado oficial.",
    "Medios locales informaron que al menos {n} personas fueron detenidas en el operativo.",
    "Según un comunicado del gobierno, la red lavó unos {n} millones de dólares a través de"
    " empresas fachada.",
    "Analistas advirtieron que las capturas harán poco para debilitar a {g} a largo plazo.",
    "El caso es la señal más reciente de que {g} está ampliando su presencia en {c}.",
)
_EN_VERBS = ("arrested", "seized", "dismantled", "extradited", "indicted", "sanctioned")
_ES_VERBS = ("capturaron", "extraditaron", "desmantelaron", "detuvieron", "procesaron")
_OBJECTS = (
    "members of a laundering network", "tons of cocaine", "corrupt police officers",
    "prison leaders", "weapons caches", "illegal gold shipments",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def _sentence(rng: random.Random, lang: str, country: str) -> str:
    if lang == "es":
        template = rng.choice(_ES_SENTENCES)
        return template.format(
            c=country, g=rng.choice(GROUPS_ES), verb=rng.choice(_ES_VERBS), n=rng.randint(2, 90)
        )
    return rng.choice(_EN_SENTENCES).format(
        c=country,
        g=rng.choice(GROUPS),
        verb=rng.choice(_EN_VERBS),
        n=rng.randint(2, 90),
        obj=rng.choice(_OBJECTS),
        weekday=rng.choice(_WEEKDAYS),
        things=rng.choice(("arrests", "seizures", "reforms")),
        year=rng.randint(2005, 2023),
    )


def _paragraph(rng: random.Random, lang: str, country: str, links: bool) -> str:
    text = " ".join(_sentence(rng, lang, country) for _ in range(rng.randint(1, 4)))
    if links and rng.random() < 0.2:
        # Turn a few words into an inline link: its text stays article text.
        words = text.split(" ")
        at = rng.randrange(max(1, len(words) - 2))
        words[at] = f"[{words[at]} {words[at + 1]}](/news/analysis/{slugify(words[at])}-report/)"
        del words[at + 1]
        text = " ".join(words)
    return text


_INTERVIEW = (
    ("InSight Crime (IC)", "How has {g} changed since the arrests?"),
    ("InSight Crime (IC)", "What does the government get wrong about {g}?"),
)
_INTERVIEW_ES = (
    ("InSight Crime (IC)", "¿Cómo ha cambiado {g} desde las capturas?"),
    ("InSight Crime (IC)", "¿Qué no entiende el gobierno sobre {g}?"),
)
_TABLE_HEADERS = (
    ["Region", "Homicides", "Rate per 100,000"],
    ["Year", "Cocaine seized (tons)", "Arrests"],
)
_TABLE_HEADERS_ES = (
    ["Región", "Homicidios", "Tasa por 100.000"],
    ["Año", "Cocaína incautada (toneladas)", "Capturas"],
)
_TWEET_TEXTS = (
    "Hoy nuestra Fuerza Armada incautó 2,1 toneladas de cocaína en el Pacífico.",
    "Capturamos a 14 integrantes de una red de extorsión que operaba desde la cárcel.",
)
_TWEETERS = (
    ("Fuerza Armada de El Salvador", "FUERZARMADASV"),
    ("Policía Nacional de Colombia", "PoliciaColombia"),
)
_CODE = string.ascii_letters + string.digits


def _live_layout(rng: random.Random, spanish: bool, countries: list[str]) -> tuple[str, list[str]]:
    """The section and the categories of a live-shape post: its primary category is a country
    most often, else a theme, a region or a criminal group (SITE.md), placed anywhere among
    its countries; sometimes a theme it is filed under too without showing it."""

    def named(english: str, table: dict[str, str]) -> str:
        return table[english] if spanish else english

    categories = list(countries)
    kind = rng.choices(("country", "theme", "region", "group"), (60, 20, 8, 12))[0]
    if kind == "country":
        # Usually the first country; now and then another (a Chile brief filed under Bolivia).
        section = countries[0] if rng.random() < 0.8 else rng.choice(countries)
    elif kind == "theme":
        section = named(rng.choice(list(THEME_CATEGORIES)), THEME_CATEGORIES)
    elif kind == "region":
        section = named(rng.choice(list(REGION_CATEGORIES)), REGION_CATEGORIES)
    else:
        section = rng.choice(list(GROUP_CATEGORIES))
    if kind != "country":
        categories.insert(rng.randint(0, len(categories)), section)
    if rng.random() < 0.2:
        extra = named(rng.choice(list(THEME_CATEGORIES)), THEME_CATEGORIES)
        if extra not in categories:
            categories.insert(rng.randint(0, len(categories)), extra)
    return section, categories


def _live_authors(rng: random.Random) -> list[str]:
    """Every live-shape byline names someone: people (one now and then with a footnote
    mark), the organization or one of its units."""
    kind = rng.choices(("people", "organization", "unit"), (75, 15, 10))[0]
    if kind == "organization":
        return [ORGANIZATIONS[0]]
    if kind == "unit":
        return [rng.choice(ORGANIZATIONS[1:])]
    people = rng.sample(AUTHORS, rng.choice((1, 1, 1, 2, 2, 3)))
    if rng.random() < 0.1:
        marked = rng.randrange(len(people))
        people[marked] += "*"
    return people


def _live_extras(rng: random.Random, spanish: bool, country: str) -> list[Block]:
    """The blocks of live-shape articles the sample pages lack: tables, tweets, interviews."""
    extras: list[Block] = []
    if rng.random() < 0.08:
        header = list(rng.choice(_TABLE_HEADERS_ES if spanish else _TABLE_HEADERS))
        rows = [
            [country if spanish else f"{country} {i}", str(rng.randint(10, 2000)),
             f"{rng.randint(1, 90)}.{rng.randint(0, 9)}"]
            for i in range(1, rng.randint(2, 5) + 1)
        ]  # fmt: skip
        extras.append(("table", header if rng.random() < 0.8 else None, rows))
    if rng.random() < 0.1:
        author, handle = rng.choice(_TWEETERS)
        tweet = Tweet(
            rng.choice(_TWEET_TEXTS),
            author,
            handle,
            f"{rng.choice(_DAY_MONTHS_LONG)} {rng.randint(1, 28)}, {rng.randint(2012, 2023)}",
            str(rng.randrange(10**17, 10**18)),
            "".join(rng.choices(_CODE, k=10)),
            "".join(rng.choices(_CODE, k=10)),
        )
        extras.append(("tweet", tweet))
    if rng.random() < 0.06:
        group = rng.choice(GROUPS_ES if spanish else GROUPS)
        speaker = rng.choice(AUTHORS)
        initials = "".join(word[0] for word in speaker.split())
        for question in rng.sample(_INTERVIEW_ES if spanish else _INTERVIEW, 2):
            extras.append(("qa", question[0], question[1].format(g=group)))
            extras.append(
                (
                    "qa",
                    f"{speaker} ({initials})",
                    _sentence(rng, "es" if spanish else "en", country),
                )
            )
    return extras


def random_spec(rng: random.Random, n: int) -> BriefSpec:
    """A varied brief numbered `n` (the number ends its slug and makes its post id),
    deterministic for the rng state. Seven in ten are in the live site's shape (`shape=
    "live"`), the rest in the sample pages'. Live: ~15% Spanish (most under "Noticias del
    día"), English ones at /news/<slug>/ from 2021 on, a primary category that is not a
    country for two in five, bylines of people, the organization or a unit, footnote marks,
    tables, tweets, interviews, "Compartir" now and then. Sample: ~10% Spanish, 0-3 authors.
    Both: 1-3 countries, 0-2 tags, a quarter revised, mixed blocks including the boilerplate
    a cleaner must drop."""
    live = rng.random() < 0.7
    lang = "es" if rng.random() < (0.15 if live else 0.1) else "en"
    spanish = lang == "es"
    names = COUNTRIES_ES if spanish else COUNTRIES
    countries = rng.sample(names, rng.choice((1, 1, 1, 2, 2, 3)))
    section, categories = _live_layout(rng, spanish, countries) if live else (None, None)
    if live and section not in countries and rng.random() < 0.15:
        # A region or theme piece filed under no country at all.
        categories = [c for c in categories if c not in countries]
        countries = []
    country = countries[0] if countries else section
    published = datetime(2011, 1, 1, tzinfo=UTC) + timedelta(
        seconds=rng.randrange(int(timedelta(days=14 * 365).total_seconds()) // 60) * 60
    )
    group = rng.choice(GROUPS)
    short = group.removeprefix("the ")
    if spanish:
        verb = rng.choice(_ES_VERBS)
        title = f"{country}: autoridades {verb} a miembros de {short}"
        path_style = "es"
        if live and rng.random() < 0.8:
            path_style = "noticias-del-dia"
    else:
        verb = rng.choice(("Probes", "Targets", "Struggles With", "Cracks Down on"))
        noun = rng.choice(("Routes", "Network", "Leaders", "Finances"))
        title = f"{country} {verb} {short} {noun}"
        path_style = "news" if published.year >= (2021 if live else 2024) else "brief"

    blocks: list[Block] = [("p", _paragraph(rng, lang, country, links=False))]
    for _ in range(rng.randint(2, 8)):
        blocks.append(("p", _paragraph(rng, lang, country, links=True)))
    extras: list[Block] = []
    if rng.random() < 0.6:
        # The analysis heading opens the second half: never first, never last. Some live
        # pages write it as a bold paragraph.
        heading = "Análisis de InSight Crime" if spanish else "InSight Crime Analysis"
        analysis = ("p", heading, "strong") if live and rng.random() < 0.3 else ("h2", heading)
        blocks.insert(rng.randint(2, len(blocks) - 1), analysis)
    if rng.random() < 0.15:
        extras.append(("ul", [_sentence(rng, lang, country) for _ in range(rng.randint(2, 4))]))
    if rng.random() < 0.2:
        extras.append(("quote", _sentence(rng, lang, country)))
    if rng.random() < 0.25:
        caption = (
            f"Fuerzas de seguridad en {country}. Foto: cortesía"
            if spanish
            else f"Security forces in {country}. Photo: handout"
        )
        extras.append(("figure", caption))
    if rng.random() < 0.1:
        video: Block = (
            "video",
            f"https://www.youtube.com/embed/{''.join(rng.choices(_CODE, k=11))}?feature=oembed",
        )
        if live and rng.random() < 0.5:
            caption = (
                "Imágenes difundidas por la Armada" if spanish else "Footage released by police"
            )
            video = (*video, caption)
        extras.append(video)
    if rng.random() < 0.35:
        if live and rng.random() < 0.3:
            # A SEE ALSO line naming another article by its title.
            story = f"{country}'s Fight Against {short}"
            extras.append(("see_also", f"/news/analysis/{slugify(story)}/", story, "title"))
        else:
            topic = rng.choice(TOPICS)
            label = f"Cobertura de {topic}" if spanish else f"Coverage of {topic}"
            extras.append(("see_also", f"/tag/{slugify(topic)}/", label))
    if rng.random() < 0.15:
        extras.append(("newsletter",))
    if rng.random() < 0.1:
        extras.append(("donate",))
    if live:
        extras += _live_extras(rng, spanish, country)
    for extra in extras:
        # Never first: the first block is the paragraph the summary comes from.
        blocks.insert(rng.randint(1, len(blocks)), extra)

    updated = None
    if rng.random() < 0.25:
        updated = published + timedelta(days=rng.randint(1, 400), minutes=rng.randint(0, 1439))
    translation = None
    if spanish and rng.random() < 0.7:
        translation = f"/news/brief/{slugify(country)}-{slugify(short)}-{n}/"
    elif not spanish and rng.random() < 0.1:
        translation = f"/es/noticias/{slugify(country)}-{slugify(short)}-{n}/"
    related = rng.sample(RELATED_POOL, 3) if rng.random() < 0.9 else []
    authors = _live_authors(rng) if live else rng.sample(AUTHORS, rng.choice((0, 1, 1, 1, 2, 2, 3)))
    share_label = "Compartir" if live and not spanish and rng.random() < 0.15 else None
    return BriefSpec(
        slug=f"{slugify(title)}-{n}",
        title=title,
        language=lang,
        path_style=path_style,
        countries=countries,
        authors=authors,
        tags=rng.sample(TOPICS, rng.choice((0, 1, 1, 2))),
        published=published,
        updated=updated,
        blocks=blocks,
        translation=translation,
        related=related,
        description=rng.random() >= 0.1,
        post_id=(520000 if spanish else 20000) + n,
        shape="live" if live else "sample",
        section=section,
        categories=categories,
        share_label=share_label,
    )


def revise(spec: BriefSpec, when: datetime) -> BriefSpec:
    """The same brief edited at `when`: a closing update paragraph and a declared revision."""
    note = (
        f"Actualización: las autoridades confirmaron nuevas detenciones el {when.date()}."
        if spec.language == "es"
        else f"Update: authorities confirmed further arrests on {when.date()}."
    )
    return replace(spec, blocks=[*spec.blocks, ("p", note)], updated=when)


def site_brief(spec: BriefSpec, base: str = BASE, theme: str = "default") -> tuple[SiteBrief, dict]:
    """A generated page ready for LocalSite.add, with its expected record."""
    page, record = generate_brief(spec, base, theme)
    first = next((b[1] for b in spec.blocks if b[0] == "p"), "")
    brief = SiteBrief(
        path=spec.path,
        html=page,
        title=spec.title,
        published=_utc(spec.published),
        modified=_utc(spec.updated) if spec.updated else None,
        language=spec.language,
        countries=list(spec.countries),
        authors=record["authors"],
        summary=record["summary"],
        tags=list(spec.tags),
        post_id=spec.post_id or _default_post_id(spec),
        excerpt=_plain(first)[:200],
    )
    return brief, record


def site_specs(n: int, seed: int) -> list[BriefSpec]:
    """`n` random specs whose translations point at each other (a Spanish brief and the
    English one it translates), so a crawl of the site finds both editions."""
    rng = random.Random(seed)
    specs = [random_spec(rng, i + 1) for i in range(n)]
    english = [s for s in specs if s.language == "en"]
    for spec in specs:
        spec.translation = None
    for spec in specs:
        if spec.language != "es" or not english or rng.random() >= 0.7:
            continue
        partner = english.pop(rng.randrange(len(english)))
        spec.translation = partner.path
        partner.translation = spec.path
    return specs


def site_briefs(
    n: int, seed: int, base: str = BASE, theme: str = "default"
) -> list[tuple[SiteBrief, dict]]:
    """`n` generated briefs for a LocalSite, each with its expected record."""
    return [site_brief(spec, base, theme) for spec in site_specs(n, seed)]
