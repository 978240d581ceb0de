"""The gold view of a record: what tests/data/gold/*.json and sitegen's expected records hold."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).parent / "data"
SAMPLES = DATA / "samples"
GOLD = DATA / "gold"
# Pages in the shape of stored public copies of the live site (SITE.md, last section). Like
# samples/, those that `briefs demo` bundles are links to its copies in crawler/demo_site/.
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
        "section": record.get("section"),
        "countries": record["countries"],
        "country_codes": record.get("country_codes", []),
        "published": record["published"][:10],
        "updated": record["updated"][:10] if record["updated"] else None,
        "authors": record["authors"],
        "tags": record["tags"],
        "translation": translations[0] if translations else None,
        "related_urls": [item["url"] for item in record["related"]],
        "body_blocks": record["body"].split("\n\n") if record["body"] else [],
    }


def sample_pages(samples: Path = SAMPLES, gold: Path = GOLD) -> list[tuple[str, bytes, dict]]:
    """(name, page bytes, gold record) for each sample page."""
    return [
        (page.stem, page.read_bytes(), json.loads((gold / f"{page.stem}.json").read_text()))
        for page in sorted(samples.glob("*.html"))
    ]


def live_shape_pages() -> list[tuple[str, bytes, dict]]:
    """(name, page bytes, gold record) for each page built in the live site's shape."""
    return sample_pages(LIVE_SHAPE / "briefs", LIVE_SHAPE / "gold")
