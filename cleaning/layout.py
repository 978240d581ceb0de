"""Where things are on the page: the article, its headline, its text container.

Found by structure first and by class name only as a shortcut, since the theme's class
names are not guaranteed (SITE.md): the article is the `<article>` holding the page's
`<h1>` (else the one holding the text container, else the one with the most paragraph
text when the metadata declares an article page); its text container is `.entry-content`
when present, else the element under the article that directly holds the most paragraph
text; when the article holds neither (an end tag too many closed it early, so its text
follows it), the `.entry-content` of the page, else the paragraph-densest element after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .boilerplate import is_boilerplate_by_class
from .text import Element, class_tokens, is_inside, raw_text_of

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
    content = find_content(scope)
    if content is None and article is not None:
        content = _content_after(article, body)
    return Layout(
        root=root,
        scope=scope,
        article=article,
        headline=headline,
        content=content,
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
    return max(outermost, key=lambda a: sum(len(raw_text_of(p)) for p in a.iter("p")))


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


def _content_after(article: Element, body: Element) -> Element | None:
    """The text container of an article that holds none: one end tag too many in its header
    (a `</div>` with no `<div>` to close, left by a plugin in the meta line) closes the
    article there, in browsers too, and its text then follows it, outside. The theme's
    container anywhere on the page, else the paragraph-densest element after the article
    that is not chrome."""
    for el in body.iter("div", "section", "main"):
        if "entry-content" in class_tokens(el):
            return el
    best: tuple[Element | None, float] = (None, 0.0)
    node = article
    while node is not None and node is not body:
        for sibling in node.itersiblings():
            if (
                not isinstance(sibling.tag, str)
                or sibling.tag in _NOT_CONTENT_TAGS
                or is_boilerplate_by_class(sibling)
            ):
                continue
            found = _paragraph_scores(sibling)
            if found[0] is not None and found[1] > best[1]:
                best = found
        node = node.getparent()
    return best[0]


def _densest_paragraph_parent(scope: Element) -> Element | None:
    return _paragraph_scores(scope)[0]


def _paragraph_scores(scope: Element) -> tuple[Element | None, float]:
    """The densest paragraph parent under `scope` and its score (see above)."""
    scores: dict[Element, float] = {}
    # An article's own header holds its meta line, not the site's chrome; a text container
    # that a damaged tag left open inside it is still the article's text.
    chrome_tags = _NOT_CONTENT_TAGS - {"header"} if scope.tag == "article" else _NOT_CONTENT_TAGS
    # Whether an element is (inside) chrome, remembered for each element walked through, so
    # that the paragraphs of a large or deep page are each placed in a few steps.
    chrome: dict[Element, bool] = {scope: False}
    for p in scope.iter("p"):
        parent = p.getparent()
        if parent is None or _is_chrome(parent, chrome, chrome_tags):
            continue
        if is_boilerplate_by_class(p):
            continue
        size = len((raw_text_of(p) if len(p) else p.text or "").strip())
        if not size:
            continue
        scores[parent] = scores.get(parent, 0.0) + size
        grandparent = parent.getparent() if parent is not scope else None
        if grandparent is not None:
            scores[grandparent] = scores.get(grandparent, 0.0) + size / 2
    if not scores:
        return None, 0.0
    return max(scores.items(), key=lambda item: item[1])


def _is_chrome(el: Element, known: dict[Element, bool], chrome_tags: frozenset[str]) -> bool:
    """Whether `el` or an ancestor below the scope (the first entry of `known`) is chrome."""
    path: list[Element] = []
    node: Element | None = el
    verdict = False
    while node is not None:
        found = known.get(node)
        if found is not None:
            verdict = found
            break
        if node.tag in chrome_tags or is_boilerplate_by_class(node):
            verdict = True
            path.append(node)
            break
        path.append(node)
        node = node.getparent()
    for passed in path:
        known[passed] = verdict
    return verdict


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
