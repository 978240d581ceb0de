"""Distributed crawls: any number of crawler processes share one frontier in Redis.

`briefs crawl --redis URL` runs the spider on scrapy-redis's scheduler and dupefilter: the
queue of requests and the seen-set live in Redis, so crawler processes on one machine or many
share them. Crawlers never open the archive: each fetched page (its capture, its cleaned
record or why there is none) is pushed to Redis as a message (`crawler.messages`), and
`briefs ingest` (`crawler.distributed.ingest`), the one writer, stores them in the archive.

Redis keys, under a prefix (BRIEFS_REDIS_PREFIX, "briefs"):

    <p>:crawl        hash: the crawl under way (id, site, status seeding|running|done, times)
    <p>:requests     list: requests waiting (scrapy-redis's queue, JSON, not pickle)
    <p>:dupefilter   set: fingerprints of every request queued in this crawl
    <p>:leases       hash: token -> request, for each request a crawler has taken
    <p>:crawlers     hash: crawler id -> what it is (host, pid, since)
    <p>:alive:<id>   a crawler's heartbeat, expiring after BRIEFS_REDIS_LEASE seconds
    <p>:messages     list: fetched pages for the writer
    <p>:messages:processing   list: the writer's batch, deleted once it is committed
    <p>:writer       the writer's heartbeat: one `briefs ingest` per prefix
    <p>:validators   hash: URL -> [ETag, Last-Modified] of its archived page, for conditional
                     requests (the writer keeps it: crawlers read no archive)
    <p>:stats:<crawl>         hash: the crawlers' request counts, for the writer's run ledger

Guarantees (at-least-once, and idempotent where it matters):

- A request taken from the queue is moved atomically into `leases` (a Lua script) and stays
  there until everything it gave is safe: a brief page's lease is released in the same Redis
  transaction that pushes its message; a discovery page's (listing, sitemap, feed, API) when
  the requests it found are queued, or when it failed for good. Retries and redirects of a
  leased request stay in the crawler's memory under the same lease.
- The leases of a crawler that stops are put back in the queue when it closes; those of a
  crawler that dies (kill -9, a lost machine) when its heartbeat expires, by any other crawler.
- A request is marked seen and queued in one Lua script, so a crash cannot leave a URL seen
  but not queued.
- A crawl is done when it was seeded (its seeder says so once the entry points are all
  queued: after an outage, if one hit) and no request waits or is leased (checked
  atomically); each crawler then exits. A crawler started after that begins the next crawl:
  the seen-set is cleared, and it fetches the discovery entry points (one crawler per crawl
  does: the first).
- Messages are deleted by the writer only after its SQLite commit; each has an id recorded in
  the archive, so a message delivered twice is stored once.
- A step whose answer is lost (Redis did it, then the connection broke) may be asked again,
  by redis-py's retry or by the crawler once Redis is back: a pop asked again under its token
  gives the request it leased (not a second one, the first left leased for good), the crawler
  that began a crawl still seeds it, a request queued twice is queued once, a message pushed
  twice is stored once.
- When Redis stops answering, a crawler fetches nothing new and waits for it, up to
  BRIEFS_REDIS_OUTAGE seconds (60): the requests it found and the pages it fetched wait in
  its memory, and the leases they depend on are not ended, until Redis takes them. Past
  that, it stops (finish reason `redis_lost`); what it held in memory is lost, but not the
  leases: once its heartbeat has expired, another crawler puts them back in the queue.

Standalone Redis (not Redis Cluster: the scripts read keys they compute), version 6.2 or later.

The package: `keys` (the Redis keys, clients and the crawl hash: no Scrapy, so that the
writer loads none), `settings` (what turns the project's settings into a crawler's),
`scheduler` (the leasing scheduler and its Lua scripts), `components` (the middlewares and
the pipeline that push pages), `crawl` (one crawler's run and its account), `ingest` (the
writer).
"""
