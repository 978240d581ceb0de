"""The archive's schema, as an ordered list of migrations.

`PRAGMA user_version` holds the number of migrations applied. A migration is never edited once
released: a schema change is a new entry at the end of MIGRATIONS.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: captures, briefs, revisions and the run ledger.
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        site TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'running'
            CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
        error TEXT,
        fetched INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        changed INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE captures (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs(id),
        requested_url TEXT NOT NULL,
        final_url TEXT,
        status INTEGER,
        fetched_at TEXT NOT NULL,
        headers TEXT NOT NULL DEFAULT '[]',
        etag TEXT,
        last_modified TEXT,
        content_type TEXT,
        body_sha256 TEXT,
        body_length INTEGER,
        body_gzip BLOB,
        brief_url TEXT,
        outcome TEXT NOT NULL
            CHECK (outcome IN ('new', 'changed', 'unchanged', 'failed', 'skipped')),
        error TEXT,
        CHECK (outcome IN ('failed', 'skipped') OR brief_url IS NOT NULL),
        CHECK (outcome != 'failed' OR error IS NOT NULL)
    );
    CREATE INDEX captures_brief_url ON captures(brief_url);
    CREATE INDEX captures_requested_url ON captures(requested_url);
    CREATE INDEX captures_run_id ON captures(run_id);
    CREATE TABLE briefs (
        url TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        kind TEXT NOT NULL,
        language TEXT NOT NULL,
        countries TEXT NOT NULL,
        published TEXT NOT NULL,
        updated TEXT,
        authors TEXT NOT NULL,
        tags TEXT NOT NULL,
        summary TEXT NOT NULL,
        body TEXT NOT NULL,
        related TEXT NOT NULL,
        translations TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        revision INTEGER NOT NULL CHECK (revision >= 1),
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        cleaner_version TEXT NOT NULL,
        capture_id INTEGER NOT NULL REFERENCES captures(id)
    );
    CREATE INDEX briefs_published ON briefs(published);
    CREATE TABLE revisions (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL REFERENCES briefs(url),
        revision INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        record TEXT NOT NULL,
        cleaner_version TEXT NOT NULL,
        capture_id INTEGER NOT NULL REFERENCES captures(id),
        seen_at TEXT NOT NULL,
        UNIQUE (url, revision)
    );
    """,
    # 2: the crawl frontier (pending and done brief URLs, so a crash loses nothing and a
    # re-crawl asks only for what may have changed) and fuller run accounting.
    """
    CREATE TABLE frontier (
        url TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'skipped')),
        seq INTEGER NOT NULL,
        discovered_via TEXT,
        lastmod TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX frontier_pending ON frontier(seq) WHERE state = 'pending';
    INSERT INTO frontier (url, state, seq, discovered_via, updated_at)
        SELECT requested_url, 'done', 0, 'archive', MAX(fetched_at) FROM captures
        WHERE brief_url IS NOT NULL GROUP BY requested_url;
    ALTER TABLE runs ADD COLUMN requests INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN responses_2xx INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN responses_3xx INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN responses_4xx INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN responses_5xx INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN not_modified INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN extraction_failed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN alert TEXT;
    ALTER TABLE revisions ADD COLUMN made_by TEXT NOT NULL DEFAULT 'crawl';
    """,
    # 3: full-text search, and one view per list field.
    # briefs_fts is an external-content FTS5 index of `briefs` (keyed by its rowid): it holds
    # only the index; the triggers keep it in step with every write to `briefs`, and the
    # `rebuild` indexes the briefs an archive already holds. The tokenizer folds case and
    # diacritics, so `peru` finds "Perú". Searches are over title, summary and body; the list
    # columns are indexed too so that a filter (`countries:"mexico"`) is an index lookup.
    # `year` (generated from `published`) is for GROUP BY and Datasette's year facet.
    """
    CREATE VIRTUAL TABLE briefs_fts USING fts5(
        title, summary, body, countries, authors, tags,
        content='briefs', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER briefs_fts_insert AFTER INSERT ON briefs BEGIN
        INSERT INTO briefs_fts (rowid, title, summary, body, countries, authors, tags)
        VALUES (new.rowid, new.title, new.summary, new.body, new.countries, new.authors,
                new.tags);
    END;
    CREATE TRIGGER briefs_fts_delete AFTER DELETE ON briefs BEGIN
        INSERT INTO briefs_fts (briefs_fts, rowid, title, summary, body, countries, authors,
                                tags)
        VALUES ('delete', old.rowid, old.title, old.summary, old.body, old.countries,
                old.authors, old.tags);
    END;
    CREATE TRIGGER briefs_fts_update
    AFTER UPDATE OF title, summary, body, countries, authors, tags ON briefs BEGIN
        INSERT INTO briefs_fts (briefs_fts, rowid, title, summary, body, countries, authors,
                                tags)
        VALUES ('delete', old.rowid, old.title, old.summary, old.body, old.countries,
                old.authors, old.tags);
        INSERT INTO briefs_fts (rowid, title, summary, body, countries, authors, tags)
        VALUES (new.rowid, new.title, new.summary, new.body, new.countries, new.authors,
                new.tags);
    END;
    INSERT INTO briefs_fts (briefs_fts) VALUES ('rebuild');
    ALTER TABLE briefs ADD COLUMN year TEXT
        GENERATED ALWAYS AS (substr(published, 1, 4)) VIRTUAL;
    CREATE VIEW brief_countries AS
        SELECT briefs.url AS url, country.value AS name
        FROM briefs, json_each(briefs.countries) AS country;
    CREATE VIEW brief_authors AS
        SELECT briefs.url AS url, author.value AS name
        FROM briefs, json_each(briefs.authors) AS author;
    CREATE VIEW brief_tags AS
        SELECT briefs.url AS url, tag.value AS name
        FROM briefs, json_each(briefs.tags) AS tag;
    """,
    # 4: the id of the message a capture was drained from (a distributed crawl's crawlers
    # push captures to Redis; `briefs ingest` stores them). Delivery is at-least-once: the
    # unique index makes storing the same message twice a no-op, not a second capture.
    """
    ALTER TABLE captures ADD COLUMN message_id TEXT;
    CREATE UNIQUE INDEX captures_message_id ON captures(message_id)
        WHERE message_id IS NOT NULL;
    """,
    # 5: two outcomes a capture can have besides the five of the first schema: `alias`, a
    # page that names another URL as its canonical (`canonical_url`: it is kept, and only the
    # canonical URL's own page writes the brief), and `stale`, a page older than the capture
    # the brief's current revision came from (kept, not applied: nothing rolls a brief back).
    # SQLite cannot change a CHECK constraint in place: the table is made anew and filled
    # from the old one (its ids kept, so every reference to a capture stays true).
    """
    CREATE TABLE captures_v5 (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs(id),
        requested_url TEXT NOT NULL,
        final_url TEXT,
        status INTEGER,
        fetched_at TEXT NOT NULL,
        headers TEXT NOT NULL DEFAULT '[]',
        etag TEXT,
        last_modified TEXT,
        content_type TEXT,
        body_sha256 TEXT,
        body_length INTEGER,
        body_gzip BLOB,
        brief_url TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN
            ('new', 'changed', 'unchanged', 'failed', 'skipped', 'alias', 'stale')),
        error TEXT,
        message_id TEXT,
        canonical_url TEXT,
        CHECK (outcome IN ('failed', 'skipped', 'alias') OR brief_url IS NOT NULL),
        CHECK (outcome != 'failed' OR error IS NOT NULL),
        CHECK (outcome != 'alias' OR canonical_url IS NOT NULL)
    );
    INSERT INTO captures_v5 (id, run_id, requested_url, final_url, status, fetched_at,
        headers, etag, last_modified, content_type, body_sha256, body_length, body_gzip,
        brief_url, outcome, error, message_id)
    SELECT id, run_id, requested_url, final_url, status, fetched_at, headers, etag,
        last_modified, content_type, body_sha256, body_length, body_gzip, brief_url,
        outcome, error, message_id
    FROM captures ORDER BY id;
    DROP TABLE captures;
    ALTER TABLE captures_v5 RENAME TO captures;
    CREATE INDEX captures_brief_url ON captures(brief_url);
    CREATE INDEX captures_requested_url ON captures(requested_url);
    CREATE INDEX captures_run_id ON captures(run_id);
    CREATE UNIQUE INDEX captures_message_id ON captures(message_id)
        WHERE message_id IS NOT NULL;
    ALTER TABLE runs ADD COLUMN alias INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN stale INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: the record's `section` (the meta line's category) and `country_codes` (ISO 3166-1
    # alpha-2 of each of `countries`, in its order), so that counts join across editions
    # ("Mexico" and "México" are both MX). Briefs archived before have NULL and '[]' until
    # `briefs reclean` derives them from their stored pages. The codes are indexed for
    # search (`--country` filters on them, an index lookup as the name filters are); an FTS5
    # table cannot gain a column, so the index is made anew and rebuilt from `briefs`.
    # `brief_countries` gains each name's code (the same position in `country_codes`);
    # `brief_sections` is one row per brief with a section, with its code when the section is
    # one of the brief's countries. A page the cleaner before found no brief signal on (a
    # News brief at /news/<slug>/ says NEWS, not BRIEF) was skipped for good, its body not
    # kept: its frontier entry is pending again, so that the next crawl asks for it (a
    # listing, or a page robots.txt forbids, stays skipped).
    """
    DROP TRIGGER briefs_fts_insert;
    DROP TRIGGER briefs_fts_delete;
    DROP TRIGGER briefs_fts_update;
    DROP TABLE briefs_fts;
    ALTER TABLE briefs ADD COLUMN section TEXT;
    ALTER TABLE briefs ADD COLUMN country_codes TEXT NOT NULL DEFAULT '[]';
    CREATE VIRTUAL TABLE briefs_fts USING fts5(
        title, summary, body, countries, authors, tags, country_codes,
        content='briefs', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER briefs_fts_insert AFTER INSERT ON briefs BEGIN
        INSERT INTO briefs_fts (rowid, title, summary, body, countries, authors, tags,
                                country_codes)
        VALUES (new.rowid, new.title, new.summary, new.body, new.countries, new.authors,
                new.tags, new.country_codes);
    END;
    CREATE TRIGGER briefs_fts_delete AFTER DELETE ON briefs BEGIN
        INSERT INTO briefs_fts (briefs_fts, rowid, title, summary, body, countries, authors,
                                tags, country_codes)
        VALUES ('delete', old.rowid, old.title, old.summary, old.body, old.countries,
                old.authors, old.tags, old.country_codes);
    END;
    CREATE TRIGGER briefs_fts_update
    AFTER UPDATE OF title, summary, body, countries, authors, tags, country_codes ON briefs
    BEGIN
        INSERT INTO briefs_fts (briefs_fts, rowid, title, summary, body, countries, authors,
                                tags, country_codes)
        VALUES ('delete', old.rowid, old.title, old.summary, old.body, old.countries,
                old.authors, old.tags, old.country_codes);
        INSERT INTO briefs_fts (rowid, title, summary, body, countries, authors, tags,
                                country_codes)
        VALUES (new.rowid, new.title, new.summary, new.body, new.countries, new.authors,
                new.tags, new.country_codes);
    END;
    INSERT INTO briefs_fts (briefs_fts) VALUES ('rebuild');
    DROP VIEW brief_countries;
    CREATE VIEW brief_countries AS
        SELECT briefs.url AS url, country.value AS name,
            json_extract(briefs.country_codes, '$[' || country.key || ']') AS country_code
        FROM briefs, json_each(briefs.countries) AS country;
    CREATE VIEW brief_sections AS
        SELECT briefs.url AS url, briefs.section AS section,
            (SELECT json_extract(briefs.country_codes, '$[' || country.key || ']')
             FROM json_each(briefs.countries) AS country
             WHERE country.value = briefs.section LIMIT 1) AS country_code,
            briefs.title AS title, briefs.published AS published, briefs.year AS year,
            briefs.language AS language
        FROM briefs WHERE briefs.section IS NOT NULL;
    UPDATE frontier SET state = 'pending' WHERE state = 'skipped' AND url IN (
        SELECT c.requested_url FROM captures AS c
        WHERE c.outcome = 'skipped' AND c.error LIKE 'not_a_brief: no brief signal%'
            AND c.id = (SELECT MAX(id) FROM captures WHERE requested_url = c.requested_url));
    """,
    # 7: the exchange as it crossed the wire (crawler.download): the request line and headers
    # as sent, the status line and headers as received (`headers` then holds the fields as
    # received: names in their case, order and repeats kept), the protocol and reason phrase
    # read from it, the peer's address, when the request went out; and the body as
    # transferred rather than content-decoded, in the blob's `body_form` (archive.capture:
    # "gzip", or "as-sent" for a gzip stream the server sent). Captures made before keep
    # what they have and say so: `body_form` "decoded", the wire columns NULL.
    """
    ALTER TABLE captures ADD COLUMN request_head BLOB;
    ALTER TABLE captures ADD COLUMN response_head BLOB;
    ALTER TABLE captures ADD COLUMN protocol TEXT;
    ALTER TABLE captures ADD COLUMN reason TEXT;
    ALTER TABLE captures ADD COLUMN ip_address TEXT;
    ALTER TABLE captures ADD COLUMN requested_at TEXT;
    ALTER TABLE captures ADD COLUMN body_form TEXT NOT NULL DEFAULT 'decoded'
        CHECK (body_form IN ('gzip', 'as-sent', 'decoded'));
    """,
    # 8: the ledger of checks of the archive itself (`briefs verify`, archive/fixity.py): one
    # row a check, with what it read and what it found (`details`: the problem lines, the
    # first thousand, as a JSON list). A check writes nothing else; a crawl's runs stay in
    # `runs`. `kind` is 'verify' (the only kind yet, so not constrained); a check that ran to
    # its end is 'ok' or 'problems', one stopped half-way 'interrupted' or 'failed' (`error`
    # says why; on one that ran to its end, what it could not check).
    """
    CREATE TABLE checks (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        kind TEXT NOT NULL,
        captures_checked INTEGER NOT NULL DEFAULT 0,
        bodies_checked INTEGER NOT NULL DEFAULT 0,
        problems INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL
            CHECK (status IN ('ok', 'problems', 'interrupted', 'failed')),
        error TEXT,
        details TEXT NOT NULL DEFAULT '[]'
    );
    """,
    # 9: every other HTTP exchange of a crawl, and each body stored once.
    # `exchanges` keeps what a brief page's capture does not: robots.txt, the discovery
    # documents (listing, feed, sitemaps, REST API), page requisites, a brief URL's redirects
    # and its attempts before a retry, each as it crossed the wire (crawler.exchanges), with
    # what it was fetched for (`purpose`) and, for one that got no response, why (`error`);
    # its ETag and Last-Modified, as a capture's, for the next crawl's conditional request.
    # A body whose bytes (SHA-256 of the bytes transferred, in the same stored form) are
    # stored already, in an earlier row of the same table, is not stored again: the row's
    # `body_ref` names the row that holds it (a WARC revisit's original), its own blob NULL.
    # The partial indexes find that row; `message_id`, as on captures, makes a distributed
    # crawl's message stored twice a no-op. A check (`briefs verify`) checks the exchanges'
    # bodies too, and says how many rows it read.
    """
    ALTER TABLE captures ADD COLUMN body_ref INTEGER REFERENCES captures(id);
    CREATE INDEX captures_body_sha256 ON captures(body_sha256, body_form)
        WHERE body_gzip IS NOT NULL;
    CREATE TABLE exchanges (
        id INTEGER PRIMARY KEY,
        run_id INTEGER REFERENCES runs(id),
        purpose TEXT NOT NULL,
        url TEXT NOT NULL,
        status INTEGER,
        protocol TEXT,
        reason TEXT,
        fetched_at TEXT NOT NULL,
        requested_at TEXT,
        ip_address TEXT,
        headers TEXT NOT NULL DEFAULT '[]',
        etag TEXT,
        last_modified TEXT,
        request_head BLOB,
        response_head BLOB,
        body_sha256 TEXT,
        body_length INTEGER,
        body_gzip BLOB,
        body_form TEXT CHECK (body_form IN ('gzip', 'as-sent')),
        body_ref INTEGER REFERENCES exchanges(id),
        error TEXT,
        message_id TEXT,
        CHECK (status IS NOT NULL OR error IS NOT NULL)
    );
    CREATE INDEX exchanges_url ON exchanges(url);
    CREATE INDEX exchanges_run_id ON exchanges(run_id);
    CREATE INDEX exchanges_body_sha256 ON exchanges(body_sha256, body_form)
        WHERE body_gzip IS NOT NULL;
    CREATE UNIQUE INDEX exchanges_message_id ON exchanges(message_id)
        WHERE message_id IS NOT NULL;
    ALTER TABLE checks ADD COLUMN exchanges_checked INTEGER NOT NULL DEFAULT 0;
    """,
    # 10: one search everywhere. The full-text index is made anew as sqlite-utils makes one
    # (`content="briefs"`, triggers briefs_ai/_ad/_au that write to "briefs_fts"), which is
    # how sqlite-utils and Datasette find a table's index (their detect_fts match that text):
    # `sqlite-utils search` and a plain `datasette` search it without being told of it. It
    # gains `section`, so that a section filter is an index lookup as the others are. Its
    # bm25 weights are kept in the index (the `rank` option), so that `ORDER BY rank` in any
    # tool ranks as `briefs search` does: a word in the title weighs most, then one in the
    # summary or a tag, then the filing (countries, authors, section), then the body; a
    # country code matches but weighs nothing. The update trigger fires only when an indexed
    # column changes (a re-crawl moves `last_seen` on every brief).
    """
    DROP TRIGGER briefs_fts_insert;
    DROP TRIGGER briefs_fts_delete;
    DROP TRIGGER briefs_fts_update;
    DROP TABLE briefs_fts;
    CREATE VIRTUAL TABLE "briefs_fts" USING fts5(
        title, summary, body, countries, authors, tags, country_codes, section,
        content="briefs", content_rowid="rowid",
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER "briefs_ai" AFTER INSERT ON briefs BEGIN
        INSERT INTO "briefs_fts" (rowid, title, summary, body, countries, authors, tags,
                                  country_codes, section)
        VALUES (new.rowid, new.title, new.summary, new.body, new.countries, new.authors,
                new.tags, new.country_codes, new.section);
    END;
    CREATE TRIGGER "briefs_ad" AFTER DELETE ON briefs BEGIN
        INSERT INTO "briefs_fts" ("briefs_fts", rowid, title, summary, body, countries,
                                  authors, tags, country_codes, section)
        VALUES ('delete', old.rowid, old.title, old.summary, old.body, old.countries,
                old.authors, old.tags, old.country_codes, old.section);
    END;
    CREATE TRIGGER "briefs_au"
    AFTER UPDATE OF title, summary, body, countries, authors, tags, country_codes, section
    ON briefs BEGIN
        INSERT INTO "briefs_fts" ("briefs_fts", rowid, title, summary, body, countries,
                                  authors, tags, country_codes, section)
        VALUES ('delete', old.rowid, old.title, old.summary, old.body, old.countries,
                old.authors, old.tags, old.country_codes, old.section);
        INSERT INTO "briefs_fts" (rowid, title, summary, body, countries, authors, tags,
                                  country_codes, section)
        VALUES (new.rowid, new.title, new.summary, new.body, new.countries, new.authors,
                new.tags, new.country_codes, new.section);
    END;
    INSERT INTO "briefs_fts" ("briefs_fts", rank)
        VALUES ('rank', 'bm25(10.0, 4.0, 1.0, 2.0, 2.0, 4.0, 0.0, 2.0)');
    INSERT INTO "briefs_fts" ("briefs_fts") VALUES ('rebuild');
    """,
    # 11: the list views carry what a reader needs beside the name, as brief_sections does:
    # the brief's title, date, year and language, so that a row of a view says which brief it
    # is (in Datasette, sqlite3 or a CSV of it) without a join. Their first columns stay as
    # they were. And two indexes for counts (archive.stats: `briefs stats`, `briefs serve`'s
    # chart): on `section`, whose few distinct values are read from it, not from every brief;
    # on `language` and `published`, which answer one edition's briefs a month alone.
    """
    DROP VIEW brief_countries;
    CREATE VIEW brief_countries AS
        SELECT briefs.url AS url, country.value AS name,
            json_extract(briefs.country_codes, '$[' || country.key || ']') AS country_code,
            briefs.title AS title, briefs.published AS published, briefs.year AS year,
            briefs.language AS language
        FROM briefs, json_each(briefs.countries) AS country;
    DROP VIEW brief_authors;
    CREATE VIEW brief_authors AS
        SELECT briefs.url AS url, author.value AS name, briefs.title AS title,
            briefs.published AS published, briefs.year AS year, briefs.language AS language
        FROM briefs, json_each(briefs.authors) AS author;
    DROP VIEW brief_tags;
    CREATE VIEW brief_tags AS
        SELECT briefs.url AS url, tag.value AS name, briefs.title AS title,
            briefs.published AS published, briefs.year AS year, briefs.language AS language
        FROM briefs, json_each(briefs.tags) AS tag;
    CREATE INDEX briefs_section ON briefs(section);
    CREATE INDEX briefs_language_published ON briefs(language, published);
    """,
    # 12: saved searches (`briefs watch`, archive/watches.py): a query and its filters (JSON,
    # the keyword arguments of archive.search.search), and where each stopped: `cursor` is
    # the largest rowid of `briefs` when it last ran (or was made), so that a run reports
    # the briefs inserted since, whatever their dates say (briefs are never deleted, so a
    # rowid is never given twice).
    """
    CREATE TABLE watches (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        query TEXT NOT NULL,
        filters TEXT NOT NULL DEFAULT '{}',
        created TEXT NOT NULL,
        last_run TEXT,
        cursor INTEGER NOT NULL DEFAULT 0
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

# The columns of `briefs` that hold RECORD.md's fields, in its order; list and object fields
# are stored as JSON text.
RECORD_FIELDS = (
    "url",
    "title",
    "kind",
    "language",
    "section",
    "countries",
    "country_codes",
    "published",
    "updated",
    "authors",
    "tags",
    "summary",
    "body",
    "related",
    "translations",
    "content_hash",
    "revision",
    "first_seen",
    "last_seen",
)
JSON_FIELDS = frozenset(
    {"countries", "country_codes", "authors", "tags", "related", "translations"}
)
# The fields a record carries itself; the rest are kept by the archive.
CONTENT_COLUMNS = RECORD_FIELDS[: RECORD_FIELDS.index("content_hash") + 1]


class SchemaTooNew(RuntimeError):
    """The archive was written by a newer release of briefs than this one."""


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations this archive lacks, each in its own transaction.

    Returns the number applied. `conn` must be in autocommit mode (isolation_level=None),
    so that BEGIN/COMMIT here are the only transaction boundaries.
    """
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the archive has schema version {current}, this briefs knows up to "
            f"{SCHEMA_VERSION}: upgrade briefs to read it"
        )
    if current == SCHEMA_VERSION:
        return 0
    # A migration that makes a table anew drops the old one, which the foreign keys of other
    # tables name; SQLite's own procedure for it runs with them off (they cannot be switched
    # inside a transaction) and checks them before the commit.
    foreign_keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        for version in range(current + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            if schema_version(conn) >= version:  # another process applied it meanwhile
                conn.execute("COMMIT")
                continue
            try:
                for statement in _statements(MIGRATIONS[version - 1]):
                    conn.execute(statement)
                if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                    raise sqlite3.IntegrityError(f"migration {version} broke a foreign key")
                conn.execute(f"PRAGMA user_version = {version}")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
    finally:
        conn.execute(f"PRAGMA foreign_keys = {int(foreign_keys)}")
    return SCHEMA_VERSION - current


def _statements(script: str) -> list[str]:
    """Split a script into statements; a trigger body's own semicolons stay inside it.

    executescript() would commit on its own; executing statement by statement keeps each
    migration one transaction.
    """
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip())
            pending = ""
    return statements
