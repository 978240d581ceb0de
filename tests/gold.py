"""The gold view of a record: what tests/data/gold/*.json and sitegen's expected records hold."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).parent / "data"
SAMPLES = DATA / "samples"
GOLD = DATA / "gold"


def gold_view(record: dict) -> dict:
    """A full record (BriefRecord.as_dict() or an exported line) in the gold format."""
    translations = list(record["translations"].values())
    return {
        "url": record["url"],
        "title": record["title"],
        "kind": record["kind"],
        "language": record["language"],
        "summary": record["summary"],
        "countries": record["countries"],
        "published": record["published"][:10],
        "updated": record["updated"][:10] if record["updated"] else None,
        "authors": record["authors"],
        "tags": record["tags"],
        "translation": translations[0] if translations else None,
        "related_urls": [item["url"] for item in record["related"]],
        "body_blocks": record["body"].split("\n\n") if record["body"] else [],
    }


def sample_pages() -> list[tuple[str, bytes, dict]]:
    """(name, page bytes, gold record) for each sample page."""
    return [
        (page.stem, page.read_bytes(), json.loads((GOLD / f"{page.stem}.json").read_text()))
        for page in sorted(SAMPLES.glob("*.html"))
    ]
