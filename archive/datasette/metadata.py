"""Datasette's view of the archive: the titles, descriptions, facets and full-text search of
its tables and views, and the README's analyst queries as canned queries.

`metadata(...)` is what `briefs serve` gives Datasette (archive.datasette.server); the
plugin (archive.datasette) reads HIDDEN_COLUMNS and DEFAULT_COLUMNS from here.
"""

from __future__ import annotations

from pathlib import Path

# Left out of a table view (HTML, JSON, CSV) unless the request names its columns itself
# (?_col= / ?_nocol=): a table of briefs is unreadable with every body in it, and the gzip
# blobs are binary. A row's own page shows them.
HIDDEN_COLUMNS = {
    "briefs": ("body",),
    "captures": ("body_gzip", "request_head", "response_head"),
    "exchanges": ("body_gzip", "request_head", "response_head"),
    "revisions": ("record",),
}
# What a table of briefs shows in the browser when the request names no columns: the rest
# (the other lists, JSON objects, hashes, ids) is in the page but folded away, one click
# ("all columns") from view; the JSON and CSV of the table have every column but the body.
DEFAULT_COLUMNS = {
    "briefs": ("title", "published", "section", "countries", "authors", "language"),
}

RECORD_COLUMNS = {
    "url": "The canonical URL (rel=canonical): the brief's identity",
    "title": "The headline, as on the page",
    "kind": '"brief"',
    "language": '"en" or "es"',
    "section": "The category the meta line shows (a country, region, theme or group); null"
    " when none",
    "countries": "The countries the brief is filed under, as the page names them (JSON list)",
    "country_codes": "The ISO 3166-1 alpha-2 code of each of countries, same order: equal in"
    " both editions (JSON list)",
    "published": "ISO 8601, UTC",
    "updated": "ISO 8601 of the last revision the page declares; null when none",
    "authors": "The byline's names as printed, people or an organization (JSON list)",
    "tags": "The tag links of the entry footer (JSON list)",
    "summary": "The page's description, else the body's first sentence",
    "body": "The article text, blocks separated by a blank line (hidden from the table view)",
    "related": "Related Content cards and SEE ALSO links: {url, title, section, date} (JSON)",
    "translations": 'The other-language editions, {"es": url} / {"en": url} (JSON)',
    "content_hash": "SHA-256 of the content fields: equal content, equal hash",
    "revision": "1 at first capture, +1 for each change of content a later crawl sees",
    "first_seen": "ISO 8601 UTC of the first capture",
    "last_seen": "ISO 8601 UTC of the latest capture",
    "cleaner_version": "The version of the cleaner that made the record",
    "capture_id": "The capture the record was last seen in",
    "year": "The year of publication (from published)",
}


# Full-text search of the briefs table: its index, searched in FTS5's own syntax, as `briefs
# search` takes it (Datasette escapes the query otherwise: `peru OR mexico`, `port*` would
# find nothing). A ranked search is answered by archive.datasette.search, a plugin `briefs
# serve` registers.
SEARCH = {"fts_table": "briefs_fts", "fts_pk": "rowid", "searchmode": "raw"}

BRIEFS_TABLE = {
    "description": "One row per brief: its latest record (RECORD.md)",
    "columns": RECORD_COLUMNS,
    "label_column": "title",
    "sort_desc": "published",
    **SEARCH,
    "facets": [
        {"array": "country_codes"},
        "section",
        {"array": "authors"},
        {"array": "tags"},
        "language",
        "year",
    ],
}
REVISIONS_TABLE = {
    "description": "One row per distinct content of a brief",
    "columns": {
        "url": "The brief",
        "revision": "1, 2, … in the order the crawls saw them",
        "content_hash": "SHA-256 of the content fields",
        "record": "The whole record, JSON: its content fields and country_codes (hidden from"
        " the table view)",
        "capture_id": "The capture that first showed this content",
        "seen_at": "When that capture was fetched",
    },
    "sort_desc": "seen_at",
}
CAPTURES_TABLE = {
    "description": "One row per fetch: exactly what the site answered",
    "columns": {
        "requested_url": "The URL requested",
        "final_url": "The URL of the response, after redirects",
        "status": "HTTP status",
        "fetched_at": "ISO 8601 UTC",
        "headers": "Response headers as received: JSON list of [name, value]",
        "request_head": "The request line and headers as sent (hidden from the table view)",
        "response_head": (
            "The status line and headers as received, byte for byte (hidden from the table view)"
        ),
        "protocol": "HTTP version of the response, as received",
        "reason": "The reason phrase of the status line, as received",
        "ip_address": "The server's address",
        "requested_at": "When the request went out, ISO 8601 UTC",
        "body_sha256": "SHA-256 of the body as transferred",
        "body_length": "Length of the body as transferred, in bytes",
        "body_gzip": "The body (hidden from the table view), stored in body_form",
        "body_form": (
            "gzip: the gzip of the body as transferred; as-sent: the server's own gzip stream;"
            " decoded: a capture made before schema 7, the gzip of the decoded page"
        ),
        "body_ref": "The earlier capture that holds this body (the same bytes): stored once",
        "brief_url": "The brief it gave, if any",
        "outcome": (
            "new, changed, unchanged, failed, skipped (not a brief), alias (its page names"
            " canonical_url as the brief's own) or stale (older than the brief's current"
            " revision: kept, not applied)"
        ),
        "error": "Why a failed capture failed",
        "canonical_url": "The canonical URL an alias's page names",
        "message_id": "The distributed crawl's message it came in (briefs ingest)",
    },
    "sort_desc": "id",
    "facets": ["outcome", "status"],
}
EXCHANGES_TABLE = {
    "description": "One row per other HTTP exchange of a crawl, as it crossed the wire:"
    " robots.txt, listings, feed, sitemaps, REST API, page requisites, a brief URL's redirects"
    " and the attempts before a retry",
    "columns": {
        "purpose": "robots, discovery (listing, feed, sitemap, API), requisite, or brief (a"
        " redirect or an attempt another followed)",
        "url": "The URL asked for",
        "status": "HTTP status; null when no response came (see error)",
        "headers": "The response's header fields as received, in order (JSON list of pairs)",
        "request_head": "The request line and headers exactly as sent (hidden from the table view)",
        "response_head": "The status line and headers exactly as received (hidden)",
        "body_sha256": "SHA-256 of the body as transferred",
        "body_gzip": "The body (hidden), stored in body_form: gzip, or as-sent (the server's"
        " own gzip stream)",
        "body_ref": "The earlier exchange that holds this body (the same bytes): stored once",
        "error": "Why no response came (timeout, connection refused...)",
        "message_id": "The distributed crawl's message it came in (briefs ingest)",
    },
    "sort_desc": "id",
    "facets": ["purpose", "status"],
}
RUNS_TABLE = {
    "description": "One row per crawl: when, which site, how it ended",
    "sort_desc": "id",
}
CHECKS_TABLE = {
    "description": "One row per check of the archive itself (briefs verify): what it read,"
    " what it found",
    "columns": {
        "kind": '"verify": every stored body against its SHA-256, SQLite\'s integrity_check,'
        " the full-text index's integrity-check",
        "captures_checked": "Captures read",
        "exchanges_checked": "Exchanges read",
        "bodies_checked": "Stored bodies decompressed and hashed",
        "problems": "Problems found (0: the archive holds what it stored)",
        "status": "ok, problems, interrupted or failed (stopped half-way)",
        "error": "Why it stopped, or what it could not check",
        "details": "The problem lines, the first 1,000 (JSON list)",
    },
    "sort_desc": "id",
}
# The views (schema migrations 3, 6 and 10): a row per item of a brief's list field, or per
# brief with a section; each with the brief's title, date, year and language.
_LIST_VIEW = (
    "One row per {what} of a brief: (url, name), from the JSON list in briefs.{column}, with"
    " the brief's title, published, year and language"
)
_BRIEF_COLUMNS = {
    "url": "The brief (its page in the archive: the title's link)",
    "title": "The brief's headline",
    "published": "When the brief was published, ISO 8601 UTC",
    "year": "The year of publication",
    "language": '"en" or "es"',
}
VIEWS = {
    "brief_countries": {
        "description": "One row per country of a brief: (url, name, country_code), from the JSON"
        " lists in briefs.countries and briefs.country_codes, with the brief's title,"
        " published, year and language; GROUP BY country_code counts both editions together",
        "columns": {
            **_BRIEF_COLUMNS,
            "name": "The country as the page names it (Mexico, México)",
            "country_code": "Its ISO 3166-1 alpha-2 code (MX); null on a brief not re-cleaned"
            " since the archive gained codes",
        },
        "sort_desc": "published",
        "facets": ["country_code", "name", "year"],
    },
    "brief_sections": {
        "description": "One row per brief with a section (the category its meta line shows)",
        "columns": {
            **_BRIEF_COLUMNS,
            "section": "As the meta line's link reads (Peru, Elites and Crime)",
            "country_code": "The section's ISO code when it is one of the brief's countries,"
            " else null",
        },
        "sort_desc": "published",
        "facets": ["section", "language", "year"],
    },
    "brief_authors": {
        "description": _LIST_VIEW.format(what="author", column="authors"),
        "columns": {**_BRIEF_COLUMNS, "name": "The author, as the byline prints the name"},
        "sort_desc": "published",
        "facets": ["name", "year"],
    },
    "brief_tags": {
        "description": _LIST_VIEW.format(what="tag", column="tags"),
        "columns": {**_BRIEF_COLUMNS, "name": "The tag, as the entry footer's link reads"},
        "sort_desc": "published",
        "facets": ["name", "year"],
    },
}
WATCHES_TABLE = {
    "description": "Saved searches (briefs watch add); each has its feed at"
    " /<db>/-/feeds/watch/<name>.atom",
    "columns": {
        "name": "The watch's name (briefs watch run NAME)",
        "query": "The search, in briefs search's syntax",
        "filters": "Its filters, as briefs search's options (JSON)",
        "created": "ISO 8601 UTC of briefs watch add",
        "last_run": "ISO 8601 UTC of its last briefs watch run; null before the first",
        "cursor": "The largest briefs rowid it has reported: later ones are new to it",
    },
}
TABLES = {
    "briefs": BRIEFS_TABLE,
    "revisions": REVISIONS_TABLE,
    "captures": CAPTURES_TABLE,
    "exchanges": EXCHANGES_TABLE,
    "runs": RUNS_TABLE,
    "checks": CHECKS_TABLE,
    "watches": WATCHES_TABLE,
    **VIEWS,
}


# The README's analyst queries (README.md, "Analysts"), as Datasette's canned queries, each at
# /<database>/<name>: where the README writes a name into its query, it is a parameter here
# (:author, :tag, :query), which Datasette's page asks for in a form.
QUERIES = {
    "briefs_per_country_per_year": {
        "title": "Briefs per country per year",
        "description": "Counted by ISO code, so both editions of a country are one row (names"
        " lists how the pages write it)",
        "sql": """SELECT c.country_code, group_concat(DISTINCT c.name) AS names, b.year,
       COUNT(*) AS briefs
FROM brief_countries AS c JOIN briefs AS b ON b.url = c.url
GROUP BY c.country_code, b.year
ORDER BY c.country_code, b.year""",
    },
    "briefs_per_section": {
        "title": "Briefs per section",
        "description": "A section that is a country is counted by its code (Perú and Peru are"
        " one); a region, theme or group as written",
        "sql": """SELECT COALESCE(s.country_code, s.section) AS filed_under,
       group_concat(DISTINCT s.section) AS sections, COUNT(*) AS briefs
FROM brief_sections AS s
GROUP BY filed_under
ORDER BY briefs DESC, filed_under""",
    },
    "author_briefs": {
        "title": "An author's briefs",
        "description": "Newest first; the name as the byline prints it (Steven Dudley)",
        "sql": """SELECT b.published, b.title, b.url
FROM brief_authors AS a JOIN briefs AS b ON b.url = a.url
WHERE a.name = :author
ORDER BY b.published DESC""",
    },
    "tag_timeline": {
        "title": "A tag's timeline (briefs a month)",
        "description": "The tag as the entry footer's link reads (Cocaine)",
        "sql": """SELECT substr(b.published, 1, 7) AS month, COUNT(*) AS briefs
FROM brief_tags AS t JOIN briefs AS b ON b.url = t.url
WHERE t.name = :tag
GROUP BY month
ORDER BY month""",
    },
    "last_crawl_changes": {
        "title": "What changed in the last crawl",
        "description": "The briefs the last crawl found new or changed, with their revision",
        "sql": """SELECT c.brief_url, c.outcome, r.revision, b.title, c.fetched_at
FROM captures AS c
LEFT JOIN revisions AS r ON r.capture_id = c.id
LEFT JOIN briefs AS b ON b.url = c.brief_url
WHERE c.run_id = (SELECT MAX(id) FROM runs)
  AND c.outcome IN ('new', 'changed')
ORDER BY c.outcome, c.brief_url""",
    },
    "full_text_search": {
        "title": "Full-text search in SQL",
        "description": 'The query in FTS5 syntax (words, "a phrase", OR, NOT, prefix*), over'
        " every column of the index as briefs search takes it, best match first (the index's"
        " rank)",
        "sql": """SELECT b.url, b.title, snippet(briefs_fts, 2, '[', ']', '…', 12) AS snippet
FROM briefs_fts JOIN briefs AS b ON b.rowid = briefs_fts.rowid
WHERE briefs_fts MATCH :query
ORDER BY rank
LIMIT 20""",
    },
}


def metadata(db_path: str | Path, sites: list[str] | None = None) -> dict:
    """Datasette metadata for the archive at `db_path` (Datasette names a database after its
    file's stem: briefs.sqlite is /briefs)."""
    sites = sites or []
    return {
        "title": "briefs archive",
        "description": (
            f"The news briefs of {', '.join(sites) or 'the crawled site'}, their revisions and"
            " the raw pages they came from. Search the briefs table; facet by country (its ISO"
            " code, the same in both editions), section, author, tag, language or year."
        ),
        "source": ", ".join(sites) or None,
        "source_url": sites[0] if len(sites) == 1 else None,
        "databases": {
            Path(db_path).stem: {
                "description": "A briefs archive (SQLite; schema version in PRAGMA user_version)",
                "tables": TABLES,
                "queries": QUERIES,
            }
        },
    }
