"""Where things are on the page: the article, its headline, its text container.

Found by structure first and by class name only as a shortcut, since the theme's class
names are not guaranteed (SITE.md): the article is the `<article>` holding the page's
`<h1>` (else the one holding the text container, else the one with the most paragraph
text when the metadata declares an article page); its text container is `.entry-content`
when present, else the element under the article that directly holds the most paragraph
text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .boilerplate import is_boilerplate_by_class
from .text import Element, class_tokens, is_inside

# Elements whose paragraphs are never the article text.
_NOT_CONTENT_TAGS = frozenset({"header", "footer", "nav", "aside", "form"})


@dataclass
class Layout:
    """The parts of a page the extractors read. `article` is None on a page without one
    main article (a listing, a home page); `scope` is then the body."""

    root: Element
    scope: Element
    article: Element | None
    headline: Element | None
    content: Element | None
    article_count: int


def locate(root: Element, *, declares_article: bool = False) -> Layout:
    """Find the page's parts. `declares_article`: the page's metadata says it is one
    article (JSON-LD Article, og:type article), which lets a page whose headline is not an
    `<h1>` still have a main article rather than pass for a listing."""
    body = root.find("body")
    if body is None:
        body = root
    articles = list(body.iter("article"))
    headline, article = _headline_and_article(body)
    if article is None and articles:
        article = _article_by_content(articles, declares_article)
    scope = article if article is not None else body
    if headline is None and article is not None:
        headline = next(article.iter("h1"), None)
    return Layout(
        root=root,
        scope=scope,
        article=article,
        headline=headline,
        content=find_content(scope),
        article_count=len(articles),
    )


def _article_by_content(articles: list[Element], declares_article: bool) -> Element | None:
    """Without a headline to go by: the article holding the theme's text container, else
    (on a page declaring one article, or holding only one) the article with the most
    paragraph text. A listing's teaser cards declare nothing and come out as no article."""
    for article in articles:
        if any("entry-content" in class_tokens(el) for el in article.iter("div", "section")):
            return article
    if len(articles) == 1:
        return articles[0]
    if not declares_article:
        return None
    outermost = [a for a in articles if next(a.iterancestors("article"), None) is None]
    return max(outermost, key=lambda a: sum(len("".join(p.itertext())) for p in a.iter("p")))


def _headline_and_article(body: Element) -> tuple[Element | None, Element | None]:
    """The `<h1>` inside an `<article>`, preferring the theme's `h1.entry-title`."""
    first_h1: Element | None = None
    found: tuple[Element | None, Element | None] = (None, None)
    for h1 in body.iter("h1"):
        if first_h1 is None:
            first_h1 = h1
        article = next(h1.iterancestors("article"), None)
        if article is None:
            continue
        if "entry-title" in class_tokens(h1):
            return h1, article
        if found[0] is None:
            found = (h1, article)
    if found[0] is not None:
        return found
    return first_h1, None


def find_content(scope: Element) -> Element | None:
    for el in scope.iter("div", "section", "main"):
        if "entry-content" in class_tokens(el):
            return el
    return _densest_paragraph_parent(scope)


def _densest_paragraph_parent(scope: Element) -> Element | None:
    """The element holding the most paragraph text, counting a paragraph fully for its
    parent and half for its grandparent, so a container whose paragraphs sit one level
    down (each in a wrapper) still wins over any single wrapper."""
    scores: dict[Element, float] = {}
    for p in scope.iter("p"):
        if _in_chrome(p, scope):
            continue
        size = len("".join(p.itertext()).strip())
        if not size:
            continue
        parent = p.getparent()
        if parent is None:
            continue
        scores[parent] = scores.get(parent, 0.0) + size
        grandparent = parent.getparent() if parent is not scope else None
        if grandparent is not None:
            scores[grandparent] = scores.get(grandparent, 0.0) + size / 2
    if not scores:
        return None
    return max(scores.items(), key=lambda item: item[1])[0]


def _in_chrome(el: Element, scope: Element) -> bool:
    for node in el.iterancestors():
        if node.tag in _NOT_CONTENT_TAGS or is_boilerplate_by_class(node):
            return True
        if node is scope:
            return False
    return False


def set_apart_content(layout: Layout) -> None:
    """Take the text container out of the tree, so what is read around it (meta line,
    kicker, tags, related cards) never picks up a link or a date from the article text, and
    without testing every element's ancestry. Left in place when it also holds the headline:
    such an article has no separate text container to set apart.
    """
    content = layout.content
    if content is None or content is layout.scope:
        return
    if layout.headline is not None and is_inside(layout.headline, content):
        return
    parent = content.getparent()
    if parent is not None:
        parent.remove(content)
