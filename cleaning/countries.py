"""Country names to ISO 3166-1 alpha-2 codes, in English and Spanish.

The names are pycountry's (the ISO 3166 data of Debian's iso-codes, with its Spanish
translations): each country's name, common name and official name, and the short form
before a comma ("Venezuela" of "Venezuela, Bolivarian Republic of") where that short form
names one country only. On top of them, the names the site writes its own way
(SITE_NAMES). A name is looked up however it is accented, cased or punctuated, so "Mexico",
"México" and "MEXICO" give one code; that is what lets counts join across the editions.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import lru_cache

import pycountry

# Names the site (or its readers) use that ISO 3166 does not: the common English and Spanish
# forms of countries whose ISO name is a formal one.
SITE_NAMES = {
    "Russia": "RU",
    "Rusia": "RU",
    "USA": "US",
    "U.S.": "US",
    "EEUU": "US",
    "EE.UU.": "US",
    "UK": "GB",
    "Britain": "GB",
    "Great Britain": "GB",
    "Holland": "NL",
    "Holanda": "NL",
    "Ivory Coast": "CI",
    "Turkey": "TR",
    "Burma": "MM",
}
# The name a country is given when the page names it only by a category slug, where the
# ISO short name is not the one in common use.
_DISPLAY_NAMES = {("RU", "en"): "Russia", ("RU", "es"): "Rusia"}

_APOSTROPHES = re.compile(r"[’'`´.]")
_SEPARATORS = re.compile(r"[\s\-_/,()]+")


def name_key(name: str) -> str:
    """The form names are compared in: no accents, case-folded, "&" read as "and",
    apostrophes and full stops dropped, hyphens and spaces alike ("côte-d’ivoire" is
    "cote divoire"); a leading "St" is "Saint"."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = _APOSTROPHES.sub("", plain.casefold().replace("&", " and "))
    key = _SEPARATORS.sub(" ", plain).strip()
    return "saint " + key[3:] if key.startswith("st ") else key


@lru_cache(maxsize=4096)
def country_code(name: str) -> str | None:
    """The alpha-2 code of the country a page names, in English or Spanish, or None for a
    name that is not a country's. (Remembered: a site names the same few hundred categories
    on every page; the cache is bounded, so a page of made-up names costs time, not
    memory.)"""
    return _codes().get(name_key(name))


def resolve_country(text: str) -> str | None:
    """The alpha-2 code of what a user typed: a code in any case ("mx") or a name."""
    text = text.strip()
    if len(text) == 2 and pycountry.countries.get(alpha_2=text.upper()) is not None:
        return text.upper()
    return country_code(text)


def country_name(code: str, language: str) -> str | None:
    """A country's usual short name in "en" or "es" ("MX", "es" -> "México")."""
    country = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return None
    if (code.upper(), language) in _DISPLAY_NAMES:
        return _DISPLAY_NAMES[(code.upper(), language)]
    english = getattr(country, "common_name", None) or country.name
    name = _spanish().gettext(english) if language == "es" else english
    return name.split(",")[0].strip()


@lru_cache(maxsize=1)
def _spanish() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"], fallback=True)


@lru_cache(maxsize=1)
def _codes() -> dict[str, str]:
    """name key -> code. Full names first; a short form before a comma only where no full
    name has it and it names one country ("Congo" is the Republic of the Congo's name, not
    the short form of "Congo, The Democratic Republic of the")."""
    spanish = _spanish()
    codes: dict[str, str] = {}
    short: dict[str, set[str]] = {}
    for country in pycountry.countries:
        english = [
            getattr(country, attribute, None)
            for attribute in ("name", "common_name", "official_name")
        ]
        names = [name for name in english if name]
        names += [spanish.gettext(name) for name in names]
        for name in names:
            codes.setdefault(name_key(name), country.alpha_2)
            if "," in name:
                short.setdefault(name_key(name.split(",")[0]), set()).add(country.alpha_2)
    for key, found in short.items():
        if len(found) == 1 and key not in codes:
            codes[key] = found.pop()
    for name, code in SITE_NAMES.items():
        codes[name_key(name)] = code
    return codes
