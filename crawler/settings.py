"""Scrapy settings of the briefs crawler. Every one can be overridden with `-s NAME=VALUE`."""

BOT_NAME = "briefs"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- what to crawl and where to keep it -------------------------------------------------
BRIEFS_SITE = "https://insightcrime.org"
BRIEFS_DB = "briefs.sqlite"
# The origin whose URLs are the briefs' identity: a page's canonical URL must be its own page
# on this origin. Empty: the site's own. A copy of the site served elsewhere (`briefs demo`,
# the tests) names the live site's origin in its pages, and sets this to it.
BRIEFS_IDENTITY_ORIGIN = ""
# Where briefs are found: the listing's pagination, the RSS feed, the sitemaps, the REST API.
BRIEFS_DISCOVERY = ["listing", "feed", "sitemaps", "api"]
BRIEFS_FULL = False  # True: ask for every archived brief again (conditionally)
BRIEFS_SINCE = None  # a date: only briefs published or modified since then
BRIEFS_MAX_PAGES = 0  # when not 0: ask for no more brief pages in this run (the rest wait)
# Page requisites (`--with-requisites`): each brief page fetched whole has the stylesheets,
# scripts, images and fonts it names fetched too, each URL once a crawl, so that a replay of
# it shows the page as it was. Only on the site's own host and these (host, or host:port):
# the image CDN the site serves its images from.
BRIEFS_REQUISITES = False
BRIEFS_REQUISITE_HOSTS = ["i0.wp.com"]
# A crawl in which the cleaner fails on more than this share of brief pages raises an alert
# (the site's markup has likely changed): logged, recorded in `runs`, exit status 1.
BRIEFS_MAX_EXTRACTION_FAILURES = 0.2
# Pages are cleaned, hashed and compressed in this many processes beside the crawler's own
# (which fetches) and the archive's writer. One keeps up with ~500 pages a second; a second
# one helps only where cores are to spare (on 2 cores a crawl went 6 % slower with two).
BRIEFS_CLEANING_PROCESSES = 1
BRIEFS_PROGRESS = False  # a live progress line on standard error (for a terminal)
BRIEFS_PROGRESS_INTERVAL = 1.0  # seconds between two of its updates

# --- distributed mode (`briefs crawl --redis URL`, `briefs ingest`): crawler.distributed --
BRIEFS_REDIS_URL = ""  # the Redis the crawlers share; empty: a local crawl
BRIEFS_REDIS_PREFIX = "briefs"  # the crawl's Redis keys start with it: one prefix per archive
BRIEFS_REDIS_LEASE = 30.0  # seconds before a silent crawler is taken for dead
BRIEFS_REDIS_POLL = 0.5  # seconds between an idle crawler's looks for work
# Seconds a crawler waits for a Redis that stopped answering (a restart with
# `--appendonly yes` fits in it) before it stops.
BRIEFS_REDIS_OUTAGE = 60.0
# Pages waiting for the writer past which crawlers wait (about 30 KB each, in Redis).
BRIEFS_REDIS_MAX_BACKLOG = 5000
# `briefs ingest`: seconds it waits, with nothing left to store and no crawler running,
# for one to start; messages it stores a transaction.
BRIEFS_INGEST_LINGER = 10.0
BRIEFS_INGEST_BATCH = 200

# --- what `briefs export` says of an export (crawler.cli.reading) ------------------------
# The bag-info.txt fields of a bag (--format bagit) an institution gives it, one each of
# archive.bagit_export.INSTITUTION_FIELDS; empty: left out. Each is also read from the
# environment variable of its name, and an option (--contact-email ...) overrides both.
BRIEFS_BAG_SOURCE_ORGANIZATION = ""
BRIEFS_BAG_ORGANIZATION_ADDRESS = ""
BRIEFS_BAG_CONTACT_NAME = ""
BRIEFS_BAG_CONTACT_PHONE = ""
BRIEFS_BAG_CONTACT_EMAIL = ""
BRIEFS_BAG_EXTERNAL_IDENTIFIER = ""
BRIEFS_BAG_EXTERNAL_DESCRIPTION = ""  # empty: briefs' own description of the bag
BRIEFS_BAG_BAGIT_PROFILE_IDENTIFIER = ""
# The title and description in a WACZ's datapackage.json (--format wacz, bagit --with-wacz),
# likewise (--title, --description); empty: briefs' own, naming the sites crawled.
BRIEFS_WACZ_TITLE = ""
BRIEFS_WACZ_DESCRIPTION = ""
# What a WARC's warcinfo record says of who made it and for what (warc, wacz, a bag's).
BRIEFS_WARC_OPERATOR = ""
BRIEFS_WARC_IS_PART_OF = ""

# --- polite by default -----------------------------------------------------------------
USER_AGENT = "briefs/0.1 (news-brief archiver; +https://github.com/briefs-archive/briefs)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
# robots.txt and the entry points (listing, feed, sitemap index, API) give up sooner than
# pages: a site that does not answer them is given up on in about a minute.
BRIEFS_ENTRY_TIMEOUT = 10.0
BRIEFS_ENTRY_RETRIES = 1
# A brief page is about 160 KB; anything past 10 MB is not one and is dropped, with a reason.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
COOKIES_ENABLED = False
# Scrapy starts this many tasks for the output of every callback, whatever its size (100 by
# default: measured at over a third of a bare spider's CPU; scrapy/scrapy#5182, PR
# #7959 starts them on demand). A brief page yields one item; a sitemap's thousand requests
# do not go faster with more.
CONCURRENT_ITEMS = 8
# The responses whose items are still in the pipelines, in bytes, above which Scrapy stops
# downloading (5 MB by default: ~30 brief pages). Pages wait there to be cleaned and for
# their group's commit (crawler.archive_writer), so the default held the downloads back
# while the writer waited for its group to fill (benchmarks/README.md).
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 16 * 1024 * 1024

# --- retries: 5xx, timeouts and cut-short responses; 429/503 wait for Retry-After -------
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_AFTER_DEFAULT = 10.0  # seconds to wait on a 429/503 that names no Retry-After
RETRY_AFTER_MAX = 300.0  # a longer Retry-After gives up on the request instead of stalling
DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt: nothing, not even robots.txt, is asked of another host.
    "crawler.middlewares.SameSiteMiddleware": 40,
    # Scrapy's own, saying why they gave a request up (for good, or to retry next run).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.RobotsMiddleware": 100,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.NamedMetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.BoundedDecompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.NamedRedirectMiddleware": 600,
    # Before Scrapy's timeout middleware, which fills in the timeout of every request.
    "crawler.middlewares.FailFastMiddleware": 340,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
    "crawler.middlewares.ConditionalRequestMiddleware": 560,
    # Next to the download handler: each attempt as it came, before the redirect,
    # decompression and retry middlewares act on it (crawler.exchanges).
    "crawler.exchanges.ExchangeRecorder": 650,
}
# Scrapy's HTTP/1.1 handler, with a bound on a response's headers (crawler.download).
DOWNLOAD_HANDLERS = {
    "http": "crawler.download.BoundedHeadersDownloadHandler",
    "https": "crawler.download.BoundedHeadersDownloadHandler",
}
# Brief requests wait in the archive's frontier table: crash-safe, and memory stays flat.
SCHEDULER = "crawler.scheduler.FrontierScheduler"
# Closest to the spider: what the others see of its output is what the crawl asks for.
SPIDER_MIDDLEWARES = {"crawler.selection.IncrementalSelection": 950}

# --- an unattended crawler opens no control port ----------------------------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
    "crawler.extensions.CrawlSummary": 500,
    "crawler.extensions.ProgressLine": 510,
    "crawler.extensions.EntryPoints": 520,
    # The archive's one writer (a local crawl's), and the event loop's one reader of it.
    "crawler.archive_writer.ArchiveWriter": 100,
    "crawler.archive_view.ArchiveView": 110,
}

ITEM_PIPELINES = {
    "crawler.pipelines.CleaningPipeline": 300,
    "crawler.pipelines.IdentityPipeline": 500,
    "crawler.pipelines.ArchivePipeline": 800,
}

LOG_LEVEL = "INFO"
