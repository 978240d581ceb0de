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
from bisect import bisect_left, bisect_right
from functools import lru_cache
from itertools import accumulate

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
# Each is a part of a sentence that is specific enough never to be article text, and short
# enough that what is left of a widget after damage to its markup (a tag lost, the text
# around it run together) still holds one: the opening words of each sentence.
BOILERPLATE_PHRASES = (
    # donate prompt
    "was this content helpful",
    "este contenido le resultó útil",
    "we want to sustain",
    "but in order to do so, we need resources",
    "queremos sostener",
    "pero para hacerlo necesitamos recursos",
    # newsletter sign-up
    "sign up for our weekly newsletter",
    "sign up for our newsletter",
    "subscribe to our newsletter",
    "in your inbox every week",
    "suscríbase",
    "suscríbete",
    "reciba cada semana en su correo",
    # comments prompt
    "what are your thoughts",
    "to send insight crime your comments",
    "qué opina?",
    "para enviarnos sus comentarios",
    # Creative Commons reuse notice: each of its sentences
    "we encourage readers",
    "with attribution to insight crime in the byline",
    "creative commons",
    "please send us an email if you use an article",
    "animamos a los lectores",
    "citando a insight crime en la firma",
    # share bar
    "click to share",
    "share icon",
)
# The donate buttons' labels, in capitals as the buttons show them: prose never shouts them.
_BUTTON_LABELS = re.compile(r"\b(?:DONATE|DONAR)\b")

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
_SEE_ALSO_CAPITALS = re.compile(rf"^\s*{_SEE_ALSO_LABELS.upper()}")
# The label in capitals inside a text: prose never shouts it, a promotion that ran into the
# paragraph before it (its own `<p>` damaged) does.
_SEE_ALSO_CAPITALS_INSIDE = re.compile(rf"\b{_SEE_ALSO_LABELS.upper()}")

# Everything the detectors above look for, as plain substrings of case-folded text.
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
    return bool(value) and class_kinds(value)[0]


@lru_cache(maxsize=4096)
def class_kinds(value: str) -> tuple[bool, bool]:
    """(chrome, embed) for a class attribute. A theme uses a few hundred distinct ones,
    page after page, so they are looked up rather than searched (the cache is bounded: a
    page of made-up classes costs searches, not memory)."""
    lowered = value.lower()
    return (
        _BOILERPLATE_CLASSES.search(lowered) is not None,
        _EMBED_CLASSES.search(lowered) is not None,
    )


def _trie_pattern(words: tuple[str, ...], flags: int = 0) -> re.Pattern[str]:
    """One regular expression for a set of literal strings, their common prefixes shared
    (a trie): Python's re then tries one branch per character instead of every string at
    every position; about twice as fast as one `in` scan per string. A space in a string
    matches any run of whitespace, so raw text (a line break inside a sentence) matches as
    its collapsed form does."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict[str, dict]) -> str:
        branches = [_literal(char) + pattern(node[char]) for char in sorted(node) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(pattern(trie), flags)


def _literal(char: str) -> str:
    return r"\s+" if char == " " else re.escape(char)


_PHRASES = _trie_pattern(BOILERPLATE_PHRASES)
_ANY_SIGNATURE = _trie_pattern(_SIGNATURES)
_PHRASES_ANYWHERE = _trie_pattern(BOILERPLATE_PHRASES, re.IGNORECASE)


def is_boilerplate_text(text: str) -> bool:
    """True for a text that is (part of) a known widget, never for a long paragraph."""
    if not text or len(text) > PHRASE_MAX_CHARS:
        return False
    folded = text.casefold()
    if folded in BOILERPLATE_EXACT:
        return True
    if _BOILERPLATE_START.match(folded) or _BUTTON_LABELS.search(text):
        return True
    return _PHRASES.search(folded) is not None


def may_hold_boilerplate_text(text: str) -> bool:
    """Whether a stretch of text could hold any widget sentence or SEE ALSO label at all: one
    scan over a whole container spares checking its elements one by one when it cannot."""
    return _ANY_SIGNATURE.search(text.casefold()) is not None


def signature_spans(text: str) -> list[tuple[int, int]]:
    """Where in `text` a widget sentence or SEE ALSO label may be: the (start, end) offsets
    of the stretches may_hold_boilerplate_text would find, in order and apart, one meeting
    each. A text holds none outside them, so an element whose text meets none holds none."""
    folded = text.casefold()
    spans = [match.span() for match in _ANY_SIGNATURE.finditer(folded)]
    if len(folded) == len(text) or not spans:
        return spans
    # Case folding lengthened some characters ("ß" is "ss"): offsets in the folded text are
    # taken back to the characters they came from.
    ends = list(accumulate(len(char.casefold()) for char in text))
    return [(bisect_right(ends, start), bisect_left(ends, end) + 1) for start, end in spans]


def is_see_also(text: str) -> bool:
    return bool(_SEE_ALSO.match(text) or _SEE_ALSO_CAPITALS.match(text))


def see_also_inside(text: str) -> int | None:
    """Where a SEE ALSO label in capitals starts inside `text`, if one does."""
    match = _SEE_ALSO_CAPITALS_INSIDE.search(text)
    return match.start() if match else None


def holds_boilerplate(text: str) -> bool:
    """Whether a text of any length is or holds widget text: for the one-line fields (title,
    summary), where a damaged page can pour chrome into a headline."""
    folded = text.casefold()
    return (
        is_boilerplate_text(text)
        or _PHRASES.search(folded) is not None
        or _BUTTON_LABELS.search(text) is not None
        or is_see_also(text)
        or see_also_inside(text) is not None
    )


def widget_text_inside(text: str) -> int | None:
    """Where the first widget sentence starts inside a text of any length, if one does."""
    if not may_hold_boilerplate_text(text):
        return None
    starts = [m.start() for m in (_PHRASES_ANYWHERE.search(text), _BUTTON_LABELS.search(text)) if m]
    return min(starts) if starts else None
