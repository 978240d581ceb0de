"""The brief record of RECORD.md: what the cleaner returns and the archive stores."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

# The fields whose change makes a new revision (RECORD.md, `content_hash`); `country_codes`
# is not one: it follows from `countries`.
CONTENT_FIELDS = (
    "title",
    "language",
    "section",
    "countries",
    "published",
    "updated",
    "authors",
    "tags",
    "summary",
    "body",
    "translations",
    "related",
)


def canonical_json(value: object) -> str:
    """One serialisation per value: sorted keys, no spaces, UTF-8 kept as text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass
class BriefRecord:
    url: str
    title: str
    language: str
    published: str
    summary: str
    body: str
    section: str | None = None
    countries: list[str] = field(default_factory=list)
    country_codes: list[str] = field(default_factory=list)
    updated: str | None = None
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    related: list[dict[str, str | None]] = field(default_factory=list)
    translations: dict[str, str] = field(default_factory=dict)
    kind: str = "brief"

    def content(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode("utf-8")).hexdigest()

    @property
    def body_blocks(self) -> list[str]:
        return self.body.split("\n\n") if self.body else []

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "content_hash": self.content_hash}
