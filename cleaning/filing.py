"""Where a brief is filed: the section its meta line shows, and the countries among its
categories.

The meta line shows one category, the post's primary one, which may be a country, a region,
a theme or a criminal group (SITE.md); the post's other categories, its countries among
them, are declared to machines only: in the JSON-LD `articleSection` list and in the
`category-<slug>` classes of the `<article>`. A category is a country when the gazetteer
(countries.py) knows its name (or its slug) as one; no list of the site's themes is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .countries import country_code, country_name

_CATEGORY_CLASS = "category-"


@dataclass
class Filing:
    section: str | None = None
    countries: list[str] = field(default_factory=list)
    country_codes: list[str] = field(default_factory=list)


def read_filing(
    declared_sections: list[str],
    metaline_categories: list[str],
    article_classes: list[str],
    language: str,
) -> Filing:
    """The section and countries of a post, the countries in the order the page first gives
    them (its JSON-LD, in `<head>`, comes before the meta line) and each once, named as the
    page names them; a country known only by its class slug gets its usual name in the
    page's language."""
    filing = Filing(section=metaline_categories[0] if metaline_categories else None)
    for name in [*declared_sections, *metaline_categories]:
        _add(filing, name, country_code(name))
    for token in article_classes:
        if token.startswith(_CATEGORY_CLASS):
            code = country_code(token[len(_CATEGORY_CLASS) :])
            if code is not None and code not in filing.country_codes:
                _add(filing, country_name(code, language) or code, code)
    return filing


def _add(filing: Filing, name: str, code: str | None) -> None:
    if code is not None and code not in filing.country_codes:
        filing.countries.append(name)
        filing.country_codes.append(code)
