"""What is page chrome rather than article text.

Two independent detectors, because the site's theme can rename its classes at any update:

* by class: the class names the Newspack/Jetpack theme uses today for the share bar,
  campaign prompts, newsletter boxes, the comments prompt and the reuse notice;
* by text: the sentences those widgets show readers, in English and Spanish. A text match
  removes the whole widget (the largest enclosing element that is still widget-sized: short,
  a few blocks at most), so a renamed donate prompt goes with its explanation and button.
"""

from __future__ import annotations

import re

from .text import Element

# Substrings of a lower-cased class attribute that mark chrome inside the article container.
BOILERPLATE_CLASS_PARTS = (
    "sharedaddy",
    "sd-sharing",
    "sd-social",
    "share-",
    "sharing",
    "social-links",
    "newspack-popup",
    "newspack-inline-popup",
    "newsletter",
    "subscribe",
    "donat",
    "comments-cta",
    "cc-notice",
    "relatedposts",
    "related-content",
    "related-posts",
    "breadcrumb",
    "cookie",
    "cmplz",
    "advert",
)

# Embedded media: they carry no article text (RECORD.md, `body`).
EMBED_CLASS_PARTS = (
    "wp-block-embed",
    "wp-block-video",
    "twitter-tweet",
    "instagram-media",
    "tiktok-embed",
    "fb-post",
    "fb-video",
)

# Sentences the reader sees in the widgets, compared case-folded with collapsed whitespace.
BOILERPLATE_PHRASES = (
    # donate prompt
    "was this content helpful",
    "este contenido le resultó útil",
    "we want to sustain latin america",
    "queremos sostener la base de datos",
    # newsletter sign-up
    "sign up for our weekly newsletter",
    "sign up for our newsletter",
    "subscribe to our newsletter",
    "suscríbase",
    "suscríbete",
    # comments prompt
    "to send insight crime your comments",
    "para enviarnos sus comentarios",
    # Creative Commons reuse notice
    "we encourage readers to copy and distribute our work",
    "animamos a los lectores a copiar y distribuir",
    # share bar
    "click to share on",
)

# Short texts that are chrome only when they are the whole text of an element.
BOILERPLATE_EXACT = frozenset(
    {
        "donate",
        "donar",
        "share",
        "share this",
        "share this:",
        "compartir",
        "compartir:",
        "comparte esto:",
        "share icon",
        "related content",
        "contenido relacionado",
        "tags",
        "etiquetas",
    }
)

# Prompts recognised by how they open.
_BOILERPLATE_START = re.compile(r"^(?:¿\s*)?(?:what are your thoughts\?|qué opina\?)")

# "SEE ALSO: <link>" cross-promotion paragraphs (RECORD.md: not article text). The colon or
# the capitals tell the label from a sentence that happens to open with "See also".
_SEE_ALSO_LABELS = r"(?:see also|vea también|ver también|lea también)"
_SEE_ALSO = re.compile(rf"^\s*{_SEE_ALSO_LABELS}\s*:", re.IGNORECASE)
_SEE_ALSO_CAPITALS = re.compile(rf"^\s*{_SEE_ALSO_LABELS.upper()}\b")

# Everything the detectors above look for, as plain substrings of case-folded text (a
# regular-expression alternation is far slower in Python's re than a few `in` scans).
_SIGNATURES = (
    *BOILERPLATE_PHRASES,
    *BOILERPLATE_EXACT,
    "what are your thoughts?",
    "qué opina?",
    "see also",
    "vea también",
    "ver también",
    "lea también",
)

# Widgets are small; an element holding more text than this is article, not chrome.
WIDGET_MAX_CHARS = 600
# Past this length a text is an article paragraph even when it quotes a phrase above.
PHRASE_MAX_CHARS = 400


def _class_pattern(parts: tuple[str, ...]) -> re.Pattern[str]:
    # One compiled alternation, applied to the lower-cased attribute (IGNORECASE makes
    # Python's re try every alternative at every position, several times slower).
    return re.compile("|".join(re.escape(part) for part in parts))


_BOILERPLATE_CLASSES = _class_pattern(BOILERPLATE_CLASS_PARTS)
_EMBED_CLASSES = _class_pattern(EMBED_CLASS_PARTS)


def is_boilerplate_by_class(el: Element) -> bool:
    value = el.get("class")
    return bool(value) and _BOILERPLATE_CLASSES.search(value.lower()) is not None


def is_embed(el: Element) -> bool:
    value = el.get("class")
    return bool(value) and _EMBED_CLASSES.search(value.lower()) is not None


def is_boilerplate_text(text: str) -> bool:
    """True for a text that is (part of) a known widget, never for a long paragraph."""
    if not text or len(text) > PHRASE_MAX_CHARS:
        return False
    folded = text.casefold()
    if folded in BOILERPLATE_EXACT:
        return True
    if _BOILERPLATE_START.match(folded):
        return True
    return any(phrase in folded for phrase in BOILERPLATE_PHRASES)


def may_hold_boilerplate_text(text: str) -> bool:
    """Whether a stretch of text could hold any widget sentence or SEE ALSO label at all: one
    scan over a whole container spares checking its elements one by one when it cannot."""
    folded = text.casefold()
    return any(signature in folded for signature in _SIGNATURES)


def is_see_also(text: str) -> bool:
    return bool(_SEE_ALSO.match(text) or _SEE_ALSO_CAPITALS.match(text))
