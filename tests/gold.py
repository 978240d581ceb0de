"""The gold view of a record: what tests/data/gold/*.json and sitegen's expected records hold."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).parent / "data"
SAMPLES = DATA / "samples"
GOLD = DATA / "gold"
# Pages built in the shape public copies of the live site show (SITE.md, last section), with
# their records: copies of the site reference's live-shape/ folder.
LIVE_SHAPE = DATA / "live-shape"

# Texts of the widgets inside the article container (SITE.md, step 5): a body, title or
# summary that holds one has leaked boilerplate.
WIDGET_TEXTS = (
    "Was this content helpful",
    "We want to sustain",
    "¿Este contenido le resultó útil",
    "Queremos sostener",
    "DONATE",
    "DONAR",
    "share icon",
    "Click to share",
    "Sign up for our weekly newsletter",
    "Suscríbase",
    "What are your thoughts",
    "¿Qué opina?",
    "We encourage readers",
    "Animamos a los lectores",
    "Creative Commons",
    "SEE ALSO",
    "VEA TAMBIÉN",
)


def gold_view(record: dict) -> dict:
    """A full record (BriefRecord.as_dict() or an exported line) in the gold format."""
    translations = list(record["translations"].values())
    return {
        "url": record["url"],
        "title": record["title"],
        "kind": record["kind"],
        "language": record["language"],
        "summary": record["summary"],
        # get: an archive or export from before these fields shows as a mismatch, not a crash.
        "section": record.get("section"),
        "countries": record["countries"],
        "country_codes": record.get("country_codes"),
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
    return _pages(SAMPLES, GOLD)


def live_shape_pages() -> list[tuple[str, bytes, dict]]:
    """(name, page bytes, gold record) for each page in the live site's shape."""
    return _pages(LIVE_SHAPE / "briefs", LIVE_SHAPE / "gold")


def _pages(pages: Path, golds: Path) -> list[tuple[str, bytes, dict]]:
    return [
        (page.stem, page.read_bytes(), json.loads((golds / f"{page.stem}.json").read_text()))
        for page in sorted(pages.glob("*.html"))
    ]
