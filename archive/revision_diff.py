"""A brief as of one of its revisions, and what changed between two of them, word by word.

Each revision keeps its whole record (`revisions.record`: the content fields and
`country_codes`), so any two can be compared. A diff compares the content fields (those whose
change makes a revision: CONTENT_FIELDS), the text ones (title, summary, body) word by word
(difflib on words, as `git diff --word-diff` does), the list ones item by item; the body's
paragraph breaks are compared too. `country_codes` follows from `countries` and is not
compared on its own.
"""

from __future__ import annotations

import difflib
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import sqlite_utils

from archive.schema import RECORD_FIELDS
from cleaning.record import CONTENT_FIELDS, canonical_json
from cleaning.urls import normalize_url

EQUAL, DELETE, INSERT = "equal", "delete", "insert"
# Shown where a paragraph break alone was added or removed (two paragraphs split or merged).
PILCROW = "¶"
TEXT_FIELDS = frozenset({"title", "summary", "body"})
LIST_FIELDS = frozenset({"countries", "authors", "tags", "related"})
_BREAK = "\n\n"  # a body's blocks are separated by a blank line (RECORD.md)


class NoSuchRevision(LookupError):
    """The archive has no such brief, or no such revision of it, or nothing to compare."""


@dataclass(frozen=True)
class Revision:
    """One revision of a brief: its number, when the capture that first showed it was
    fetched, what made it (a crawl, a re-clean), and its record."""

    url: str
    number: int
    seen_at: str
    made_by: str
    content_hash: str
    record: dict[str, object] = field(repr=False)
    id: int = 0

    def describe(self) -> dict[str, object]:
        """The revision without its record (a diff's header)."""
        return {
            "revision": self.number,
            "seen_at": self.seen_at,
            "made_by": self.made_by,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class BriefAt:
    """A brief as one of its revisions shows it, and where that revision stands."""

    revision: Revision
    revisions: int  # how many the brief has
    first_seen: str
    last_seen: str

    def as_dict(self) -> dict[str, object]:
        """The record as RECORD.md names its fields (for the latest revision, what `briefs
        export --format jsonl` writes of the brief), then `revision_seen_at` (when this
        revision was first seen) and `revisions` (how many the brief has)."""
        record = self.revision.record
        values = {
            **{name: record.get(name) for name in RECORD_FIELDS},
            "url": self.revision.url,
            "kind": record.get("kind", "brief"),
            "country_codes": record.get("country_codes", []),
            "content_hash": self.revision.content_hash,
            "revision": self.revision.number,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }
        return {**values, "revision_seen_at": self.revision.seen_at, "revisions": self.revisions}


@dataclass(frozen=True)
class Piece:
    """A run of words (or list items) that both revisions have (equal), or only the older
    (delete) or the newer (insert)."""

    change: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return {"change": self.change, "text": self.text}


Paragraph = tuple[Piece, ...]


@dataclass(frozen=True)
class FieldChange:
    """A field that differs between the two revisions: both values, and the change as
    pieces (word by word for text, item by item for a list, old then new otherwise)."""

    name: str
    old: object
    new: object
    pieces: tuple[Piece, ...]

    @property
    def separator(self) -> str:
        """What stands between two of its pieces: words, or a list's items."""
        return ", " if self.name in LIST_FIELDS or self.name == "translations" else " "

    def as_dict(self) -> dict[str, object]:
        return {
            "field": self.name,
            "from": self.old,
            "to": self.new,
            "changes": [piece.as_dict() for piece in self.pieces],
        }


@dataclass(frozen=True)
class RevisionDiff:
    """What changed from revision `old` to revision `new` of a brief: the fields that
    changed besides the body, in RECORD.md's order, and the body's paragraphs (None when
    the body did not change)."""

    old: Revision
    new: Revision
    fields: tuple[FieldChange, ...]
    body: tuple[Paragraph, ...] | None
    revisions: tuple[Revision, ...] = field(repr=False, default=())

    @property
    def url(self) -> str:
        return self.new.url

    @property
    def title(self) -> str:
        return str(self.new.record.get("title", ""))

    def as_dict(self) -> dict[str, object]:
        body = self.body
        return {
            "url": self.url,
            "from": self.old.describe(),
            "to": self.new.describe(),
            "fields": [change.as_dict() for change in self.fields],
            "body": None
            if body is None
            else {
                "from": self.old.record.get("body", ""),
                "to": self.new.record.get("body", ""),
                "paragraphs": [[piece.as_dict() for piece in para] for para in body],
            },
        }


def find_url(db: sqlite_utils.Database, url: str) -> str:
    """The URL the archive knows the brief at `url` by: `url` itself, or its identity (a URL
    pasted from a browser: http, no trailing slash, tracking parameters). NoSuchRevision,
    saying so, when the archive has no such brief."""
    for candidate in dict.fromkeys((url, normalize_url(url))):
        if db.execute("SELECT 1 FROM briefs WHERE url = ?", [candidate]).fetchone():
            return candidate
    raise NoSuchRevision(f"the archive has no brief at {url}")


def revisions(db: sqlite_utils.Database, url: str) -> list[Revision]:
    """Every revision of the brief at `url` (see find_url), oldest first."""
    known = find_url(db, url)
    rows = db.execute(
        "SELECT id, revision, seen_at, made_by, content_hash, record FROM revisions"
        " WHERE url = ? ORDER BY revision",
        [known],
    ).fetchall()
    if not rows:
        raise NoSuchRevision(f"the archive has no revision of {known}")
    return [
        Revision(known, number, seen_at, made_by, content_hash, json.loads(record), id=row_id)
        for row_id, number, seen_at, made_by, content_hash, record in rows
    ]


def brief_at(db: sqlite_utils.Database, url: str, revision: int | None = None) -> BriefAt:
    """The brief at `url` as its revision `revision` (by default its latest) shows it.
    NoSuchRevision for an unknown brief or revision."""
    history = revisions(db, url)
    chosen = _pick(history, revision) if revision is not None else history[-1]
    first_seen, last_seen = db.execute(
        "SELECT first_seen, last_seen FROM briefs WHERE url = ?", [chosen.url]
    ).fetchone()
    return BriefAt(chosen, len(history), first_seen, last_seen)


def diff(
    db: sqlite_utils.Database, url: str, old: int | None = None, new: int | None = None
) -> RevisionDiff:
    """What changed from revision `old` to revision `new` of the brief at `url`. By
    default `new` is the latest and `old` the one before `new`. NoSuchRevision, saying
    why, for an unknown brief, a brief with one revision, a revision it does not have, or
    the same revision twice."""
    history = revisions(db, url)
    if len(history) < 2:
        raise NoSuchRevision(
            f"{history[0].url} has one revision (first seen {history[0].seen_at}):"
            " nothing to compare"
        )
    newer = _pick(history, new) if new is not None else history[-1]
    if old is not None:
        older = _pick(history, old)
    elif newer is history[0]:
        raise NoSuchRevision(
            f"revision {newer.number} is the first of {newer.url}: nothing before it"
        )
    else:
        older = history[history.index(newer) - 1]
    if older.number == newer.number:
        raise NoSuchRevision(f"revision {older.number} against itself: nothing to compare")
    return compare(older, newer, tuple(history))


def _pick(history: list[Revision], number: int) -> Revision:
    for revision in history:
        if revision.number == number:
            return revision
    numbers = [revision.number for revision in history]
    span = f"revision {numbers[0]}" if len(numbers) == 1 else f"revisions {_ranges(numbers)}"
    raise NoSuchRevision(f"{history[0].url} has no revision {number} (it has {span})")


def _ranges(numbers: list[int]) -> str:
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]} to {numbers[-1]}"
    return ", ".join(map(str, numbers))


def compare(old: Revision, new: Revision, history: tuple[Revision, ...] = ()) -> RevisionDiff:
    """The diff of two revisions' records."""
    changes = []
    for name in CONTENT_FIELDS:
        before, after = old.record.get(name), new.record.get(name)
        if name == "body" or canonical_json(before) == canonical_json(after):
            continue
        changes.append(FieldChange(name, before, after, _field_pieces(name, before, after)))
    before, after = old.record.get("body") or "", new.record.get("body") or ""
    body = None if before == after else word_diff(str(before), str(after))
    return RevisionDiff(old, new, tuple(changes), body, history)


def _field_pieces(name: str, old: object, new: object) -> tuple[Piece, ...]:
    if name in TEXT_FIELDS:
        return tuple(piece for para in word_diff(str(old or ""), str(new or "")) for piece in para)
    if name in LIST_FIELDS:
        return item_diff([_item(item) for item in old or []], [_item(item) for item in new or []])
    if name == "translations":
        return item_diff(_translations(old), _translations(new))
    pieces = [Piece(DELETE, _scalar(old)), Piece(INSERT, _scalar(new))]
    return tuple(piece for piece in pieces if piece.text)


def _item(item: object) -> str:
    """A list item as a reader names it: a related brief by its title and URL."""
    if isinstance(item, dict):
        title, url = item.get("title"), item.get("url")
        return f"{title} <{url}>" if title and url else str(title or url or canonical_json(item))
    return str(item)


def _translations(value: object) -> list[str]:
    return [f"{lang}: {url}" for lang, url in sorted(dict(value or {}).items())]


def _scalar(value: object) -> str:
    return "" if value is None else str(value)


def item_diff(old: Sequence[str], new: Sequence[str]) -> tuple[Piece, ...]:
    """The items of two lists, each an equal, deleted or inserted piece, in the newer
    list's order."""
    pieces = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces += [Piece(EQUAL, item) for item in new[j1:j2]]
            continue
        pieces += [Piece(DELETE, item) for item in old[i1:i2]]
        pieces += [Piece(INSERT, item) for item in new[j1:j2]]
    return tuple(pieces)


def word_diff(old: str, new: str) -> tuple[Paragraph, ...]:
    """The words of two texts as paragraphs (the newer text's, where they differ) of
    equal, deleted and inserted pieces. A paragraph break that alone was added or removed
    is a piece of its own, PILCROW; whitespace within a paragraph is not compared."""
    before, after = _tokens(old), _tokens(new)
    builder = _Paragraphs()
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            builder.add(EQUAL, after[j1:j2])
            continue
        builder.add(DELETE, before[i1:i2])
        builder.add(INSERT, after[j1:j2])
    return builder.done()


def _tokens(text: str) -> list[str]:
    """A text's words, with _BREAK between its paragraphs."""
    tokens: list[str] = []
    for block in text.split(_BREAK):
        words = block.split()
        if words:
            if tokens:
                tokens.append(_BREAK)
            tokens += words
    return tokens


class _Paragraphs:
    """Runs of tokens (words and breaks), gathered into paragraphs of pieces."""

    def __init__(self) -> None:
        self.paragraphs: list[list[Piece]] = [[]]

    def add(self, change: str, tokens: Sequence[str]) -> None:
        if not tokens:
            return
        # A break inside a run of changed words is where that text had its paragraphs; a
        # run of nothing but a break is the break itself that changed.
        only_breaks = all(token == _BREAK for token in tokens)
        for token in tokens:
            if token != _BREAK:
                self._word(change, token)
            elif change != EQUAL and only_breaks:
                self.paragraphs[-1].append(Piece(change, PILCROW))
                if change == INSERT:
                    self.paragraphs.append([])
            else:
                self.paragraphs.append([])

    def _word(self, change: str, word: str) -> None:
        current = self.paragraphs[-1]
        if current and current[-1].change == change and current[-1].text != PILCROW:
            current[-1] = Piece(change, f"{current[-1].text} {word}")
        else:
            current.append(Piece(change, word))

    def done(self) -> tuple[Paragraph, ...]:
        return tuple(tuple(para) for para in self.paragraphs if para)


def changed(paragraph: Paragraph) -> bool:
    return any(piece.change != EQUAL for piece in paragraph)


def body_runs(body: Sequence[Paragraph]) -> Iterator[tuple[bool, list[Paragraph]]]:
    """The body's paragraphs in runs of changed ones and of unchanged ones (which a reader
    of the diff is shown folded away): (changed, the run's paragraphs)."""
    for is_changed, run in itertools.groupby(body, key=changed):
        yield is_changed, list(run)


def spaced(pieces: Sequence[Piece], separator: str = " ") -> list[tuple[str, Piece]]:
    """Each piece with what stands before it: `separator`, but nothing before the first
    piece, nor between a deleted run of words and the inserted one that replaces it
    (`[-old-]{+new+}`, as git diff --word-diff prints them)."""
    out = []
    for index, piece in enumerate(pieces):
        before = "" if index == 0 else separator
        if separator == " " and index and pieces[index - 1].change == DELETE:
            before = "" if piece.change == INSERT else before
        out.append((before, piece))
    return out
