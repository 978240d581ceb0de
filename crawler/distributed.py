"""Distributed crawls: any number of crawler processes share one frontier in Redis.

`briefs crawl --redis URL` runs the spider on scrapy-redis's scheduler and dupefilter: the
queue of requests and the seen-set live in Redis, so crawler processes on one machine or many
share them. Crawlers never open the archive: each fetched page (its capture, its cleaned
record or why there is none) is pushed to Redis as a message (`crawler.messages`), and
`briefs ingest` (`crawler.ingest`), the one writer, stores them in the archive.

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
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import os
import socket
import time
import uuid
from collections import deque
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider, DropItem
from scrapy.settings import Settings
from scrapy.spiders import Spider
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import load_object
from scrapy_redis.queue import Base as RedisQueueBase
from scrapy_redis.scheduler import Scheduler as ScrapyRedisScheduler
from twisted.internet.task import LoopingCall

from archive import Outcome
from cleaning import CLEANER_VERSION
from crawler import messages
from crawler.items import FetchedPage
from crawler.middlewares import ConditionalRequestMiddleware
from crawler.report import STATS_PREFIX, CrawlReport, stats_key

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "briefs"
LEASE = "briefs_lease"  # request.meta key: the lease token of the request (or of its origin)
PUSHED = f"{STATS_PREFIX}pushed"
REDIS_LOST = "redis_lost"  # the finish reason of a crawler that gave up waiting for Redis
# The crawler counts the writer's run ledger adds up from every crawler.
CRAWLER_COUNTS = (
    "requests",
    "responses_2xx",
    "responses_3xx",
    "responses_4xx",
    "responses_5xx",
    "not_modified",
    "bytes",
)


class Keys:
    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix
        self.crawl = f"{prefix}:crawl"
        self.requests = f"{prefix}:requests"
        self.dupefilter = f"{prefix}:dupefilter"
        self.leases = f"{prefix}:leases"
        self.crawlers = f"{prefix}:crawlers"
        self.alive_prefix = f"{prefix}:alive:"
        self.messages = f"{prefix}:messages"
        self.processing = f"{prefix}:messages:processing"
        self.rejected = f"{prefix}:messages:rejected"
        self.writer = f"{prefix}:writer"
        self.validators = f"{prefix}:validators"

    def alive(self, crawler_id: str) -> str:
        return self.alive_prefix + crawler_id

    def stats(self, crawl_id: str) -> str:
        return f"{self.prefix}:stats:{crawl_id}"


def client(url: str, outage: float = 60.0) -> redis.Redis:
    """A client of the Redis at `url` whose every call gives up in bounded time: a Redis that
    hangs (a stopped process, a network partition) is an outage like one that is gone, found
    within `outage` (BRIEFS_REDIS_OUTAGE) seconds. (redis-py's own default tries a call up to
    11 times, each waiting on the socket as long as it is told: minutes, for a hung server.)"""
    timeout = min(10.0, max(1.0, outage / 4))
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(ExponentialBackoff(cap=timeout, base=0.1), 1),
    )


def connect(url: str) -> redis.Redis:
    """A client of the Redis at `url`, checked; redis.RedisError when it does not answer."""
    server = client(url)
    server.ping()
    return server


def redacted(url: str) -> str:
    """The URL without its password, for logs and the run ledger."""
    parts = url.split("@", 1)
    if len(parts) == 1:
        return url
    scheme, _, credentials = parts[0].rpartition("//")
    user = credentials.split(":", 1)[0]
    return f"{scheme}//{user + ':***' if user else '***'}@{parts[1]}"


def current_crawl(server: redis.Redis, keys: Keys) -> dict[str, str]:
    """The crawl hash (id, site, status...), {} when no crawl ever ran under the prefix."""
    return {k.decode(): v.decode() for k, v in server.hgetall(keys.crawl).items()}


def live_crawlers(server: redis.Redis, keys: Keys) -> list[str]:
    ids = [crawler.decode() for crawler in server.hkeys(keys.crawlers)]
    return [crawler for crawler in ids if server.exists(keys.alive(crawler))]


def configure(settings: Settings, redis_url: str, prefix: str = DEFAULT_PREFIX) -> None:
    """Turn the project's settings into a distributed crawler's: the scrapy-redis scheduler
    and dupefilter, the push pipeline instead of the archive pipeline, no archive read."""
    keys = Keys(prefix)
    values: dict[str, Any] = {
        "BRIEFS_DB": "",
        "BRIEFS_REDIS_URL": redis_url,
        "BRIEFS_REDIS_PREFIX": prefix,
        "REDIS_URL": redis_url,
        "SCHEDULER": "crawler.distributed.RedisScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": keys.requests,
        "SCHEDULER_DUPEFILTER_KEY": keys.dupefilter,
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        # The queue and seen-set are the crawl's, shared: no crawler may clear them on exit.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
    }
    if max_pages := settings.getint("BRIEFS_MAX_PAGES"):
        # Leases, not the archive's frontier, hold what waits: this crawler stops after
        # pushing that many pages, and the others (or its next start) take the rest.
        values["CLOSESPIDER_ITEMCOUNT"] = max_pages
    for name, value in values.items():
        settings.set(name, value, priority="cmdline")
    pipelines = settings.getdict("ITEM_PIPELINES")
    pipelines.pop("crawler.pipelines.ArchivePipeline", None)
    pipelines["crawler.distributed.RedisPushPipeline"] = 800
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")
    downloader = settings.getdict("DOWNLOADER_MIDDLEWARES")
    # In the local one's place, reading the validators from Redis instead of the archive.
    conditional = downloader.get("crawler.middlewares.ConditionalRequestMiddleware") or 560
    downloader["crawler.middlewares.ConditionalRequestMiddleware"] = None
    downloader["crawler.distributed.RedisConditionalRequestMiddleware"] = conditional
    # Outermost: its process_exception sees only what no other middleware retried.
    downloader["crawler.distributed.LeaseDownloaderMiddleware"] = 10
    settings.set("DOWNLOADER_MIDDLEWARES", downloader, priority="cmdline")
    spider = settings.getdict("SPIDER_MIDDLEWARES")
    # Below HttpErrorMiddleware (50): it sees the output that middleware lets through.
    spider["crawler.distributed.LeaseSpiderMiddleware"] = 10
    settings.set("SPIDER_MIDDLEWARES", spider, priority="cmdline")


# --- Lua: each step that must not be cut in two by a crash ---------------------------------

# Take the next request and lease it under a token; or, when the token holds a lease
# already, give that request again (a pop whose answer was lost, asked again: by redis-py's
# retry or by the next pop, with the same token). KEYS: requests, leases. ARGV: token.
_POP = """
local data = redis.call('HGET', KEYS[2], ARGV[1])
if data then return data end
data = redis.call('RPOP', KEYS[1])
if not data then return false end
redis.call('HSET', KEYS[2], ARGV[1], data)
return data
"""

# Mark a request seen and queue it, or neither. KEYS: dupefilter, requests.
# ARGV: fingerprint ('' for a request that is not filtered), request.
_ENQUEUE = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
"""

# Put leased requests back at the head of the queue: those of `owner` (ARGV[2]), or, when it
# is '', those of every crawler whose heartbeat has expired (and forget those crawlers).
# KEYS: leases, requests, crawlers. ARGV: alive prefix, owner.
_RECOVER = """
local entries = redis.call('HGETALL', KEYS[1])
local alive = {}
local moved = 0
for i = 1, #entries, 2 do
  local token = entries[i]
  local owner = string.match(token, '^(.*)/[^/]*$') or ''
  local release
  if ARGV[2] ~= '' then
    release = owner == ARGV[2]
  else
    if alive[owner] == nil then
      alive[owner] = redis.call('EXISTS', ARGV[1] .. owner) == 1
    end
    release = not alive[owner]
  end
  if release then
    redis.call('RPUSH', KEYS[2], entries[i + 1])
    redis.call('HDEL', KEYS[1], token)
    moved = moved + 1
  end
end
if ARGV[2] == '' then
  for _, id in ipairs(redis.call('HKEYS', KEYS[3])) do
    if redis.call('EXISTS', ARGV[1] .. id) == 0 then redis.call('HDEL', KEYS[3], id) end
  end
end
return moved
"""

# Join the crawl under way, or begin one. KEYS: crawl, dupefilter, requests, leases.
# ARGV: crawler id, id for a new crawl, now, site, alive prefix.
# Returns {role, crawl id, site}: role 'seed' (fetch the entry points), 'join', or 'other'
# (a crawl of another site is under way).
_BEGIN = """
local status = redis.call('HGET', KEYS[1], 'status')
local id = redis.call('HGET', KEYS[1], 'id')
local site = redis.call('HGET', KEYS[1], 'site')
if status == 'running' or status == 'seeding' then
  if site ~= ARGV[4] then return {'other', id, site} end
  if status == 'running' then return {'join', id, site} end
  local seeder = redis.call('HGET', KEYS[1], 'seeder')
  -- The seeder itself asking again (its answer was lost) still seeds.
  if seeder and seeder ~= ARGV[1] and redis.call('EXISTS', ARGV[5] .. seeder) == 1 then
    return {'join', id, site}
  end
  redis.call('HSET', KEYS[1], 'seeder', ARGV[1])
  return {'seed', id, site}
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('HSET', KEYS[1], 'status', 'seeding', 'id', ARGV[2], 'site', ARGV[4],
           'seeder', ARGV[1], 'started_at', ARGV[3])
return {'seed', ARGV[2], ARGV[4]}
"""

# The entry points are queued. KEYS: crawl. ARGV: crawl id, now.
_SEEDED = """
if redis.call('HGET', KEYS[1], 'id') == ARGV[1]
   and redis.call('HGET', KEYS[1], 'status') == 'seeding' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'seeded_at', ARGV[2])
  return 1
end
return 0
"""

# Is the crawl over? It is when nothing waits and nothing is leased (then it is marked done),
# or when another crawl has begun since. KEYS: crawl, requests, leases. ARGV: crawl id, now.
_FINISH = """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 1 end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'done' then return 1 end
if status ~= 'running' then return 0 end
if redis.call('LLEN', KEYS[2]) > 0 or redis.call('HLEN', KEYS[3]) > 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'done', 'finished_at', ARGV[2])
return 1
"""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())


# --- requests in Redis --------------------------------------------------------------------


class JsonRequests:
    """Requests as JSON in Redis, not pickle: what a shared Redis holds cannot run code in
    the crawlers, and can be read with redis-cli. (Only requests fresh from the spider are
    queued: their meta holds strings, numbers and lists.)"""

    @staticmethod
    def dumps(request: dict[str, Any]) -> bytes:
        values = dict(request)
        values["body"] = base64.b64encode(values.get("body") or b"").decode("ascii")
        values["headers"] = {
            _text(name): [_text(value) for value in values_]
            for name, values_ in (values.get("headers") or {}).items()
        }
        return json.dumps(values, separators=(",", ":")).encode()

    @staticmethod
    def loads(data: bytes) -> dict[str, Any]:
        values = json.loads(data)
        values["body"] = base64.b64decode(values["body"])
        values["headers"] = {
            name.encode("latin-1"): [value.encode("latin-1") for value in values_]
            for name, values_ in values["headers"].items()
        }
        return values


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


class LeasedQueue(RedisQueueBase):
    """scrapy-redis's FIFO queue, except that a pop leases the request (`_POP`)."""

    def __init__(self, server: redis.Redis, spider: Spider, key: str, serializer: Any = None):
        super().__init__(server, spider, key, serializer or JsonRequests)
        self._pop = server.register_script(_POP)

    def __len__(self) -> int:
        return self.server.llen(self.key)

    def encode(self, request: Request) -> bytes:
        return self._encode_request(request)

    def push(self, request: Request) -> None:
        self.server.lpush(self.key, self._encode_request(request))

    def pop(self, timeout: int = 0) -> Request | None:
        raise NotImplementedError("requests are leased: use pop_leased(token, leases_key)")

    def pop_leased(self, token: str, leases_key: str) -> Request | None:
        data = self._pop(keys=[self.key, leases_key], args=[token])
        if not data:
            return None
        request = self._decode_request(data)
        request.meta[LEASE] = token
        return request


class RedisScheduler(ScrapyRedisScheduler):
    """scrapy-redis's scheduler with leases, an atomic seen-and-queued step, a crawl
    lifecycle (seed once, finish together) and a heartbeat. See the module's docstring."""

    crawler: Crawler

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisScheduler:
        # Not scrapy-redis's, which pings Redis: a scheduler that cannot be made stops the
        # crawler with a traceback and no finish reason (open() finds out, and says so).
        return cls(
            server=client(settings["REDIS_URL"], settings.getfloat("BRIEFS_REDIS_OUTAGE", 60.0)),
            persist=settings.getbool("SCHEDULER_PERSIST"),
            queue_key=settings["SCHEDULER_QUEUE_KEY"],
            dupefilter_cls=settings["DUPEFILTER_CLASS"],
            serializer=JsonRequests,
        )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisScheduler:
        scheduler = super().from_crawler(crawler)
        settings = crawler.settings
        scheduler.crawler = crawler
        scheduler.keys = Keys(settings.get("BRIEFS_REDIS_PREFIX") or DEFAULT_PREFIX)
        scheduler.site = ""
        scheduler.lease_seconds = settings.getfloat("BRIEFS_REDIS_LEASE", 30.0)
        scheduler.wake_interval = settings.getfloat("BRIEFS_REDIS_POLL", 0.5)
        scheduler.crawler_id = (
            f"{socket.gethostname().replace('/', '-')}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        scheduler.crawl_id = ""
        # This crawler feeds the crawl's entry points, and Redis is not told yet that they
        # are all queued; `seeds_scheduled`: they all went to the scheduler.
        scheduler.seeding = False
        scheduler.seeds_scheduled = False
        scheduler.local = deque()
        scheduler.tokens = itertools.count(1)
        scheduler.token = scheduler._new_token()  # what the next pop leases under
        server = scheduler.server
        scheduler.scripts = {
            name: server.register_script(script)
            for name, script in (
                ("enqueue", _ENQUEUE),
                ("recover", _RECOVER),
                ("begin", _BEGIN),
                ("seeded", _SEEDED),
                ("finish", _FINISH),
            )
        }
        scheduler.loops = []
        scheduler.outage_limit = settings.getfloat("BRIEFS_REDIS_OUTAGE", 60.0)
        scheduler.outage_since = None
        scheduler.lost = False
        scheduler.unqueued = deque()  # requests found while Redis did not answer
        scheduler.unreleased = []  # leases to end once those are queued
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    # --- life cycle -----------------------------------------------------------------------

    def open(self, spider: Spider) -> None:
        # scrapy-redis's open() without its deprecated spider.log() call.
        self.spider = spider
        self.queue = LeasedQueue(self.server, spider, self.queue_key, self.serializer)
        if not self.df:
            self.df = load_object(self.dupefilter_cls).from_spider(spider)
        self.site = getattr(spider, "site", "")
        try:
            self._beat()
            role, crawl_id, site = self._begin()
            waiting = len(self.queue)
        except redis.RedisError as error:
            # Not raised: a scheduler that fails to open leaves the engine half open (its
            # close fails, with tracebacks). Lost, this crawler stops as soon as it is idle.
            logger.error("Redis does not answer (%s): this crawler cannot join a crawl", error)
            self.lost = True
            return
        if role == "other":
            self.deregister()
            raise RuntimeError(
                f"a crawl of {site} is under way under the Redis prefix {self.keys.prefix!r}:"
                " use another prefix (BRIEFS_REDIS_PREFIX) or Redis database for another site"
            )
        self.crawl_id, self.seeding = crawl_id, role == "seed"
        self.stats.set_value("briefs/crawl_id", crawl_id)
        spider.logger.info(
            "crawler %s %s crawl %s of %s (%d requests waiting)",
            self.crawler_id,
            "begins" if role == "seed" else "joins",
            crawl_id,
            site,
            waiting,
        )
        for interval, call in (
            (self.lease_seconds / 3, self.heartbeat),
            (self.wake_interval, self.wake),
        ):
            loop = LoopingCall(call)
            loop.start(interval, now=False)
            self.loops.append(loop)

    def close(self, reason: str) -> None:
        for loop in self.loops:
            if loop.running:
                loop.stop()
        if self.lost:
            return  # its leases are taken back by another crawler once its heartbeat expires
        try:
            try:
                self._hand_over()
                # What this crawler leased and did not finish goes back to the queue.
                released = self.scripts["recover"](
                    keys=[self.keys.leases, self.keys.requests, self.keys.crawlers],
                    args=[self.keys.alive_prefix, self.crawler_id],
                )
                if released:
                    logger.info("put %d unfinished requests back in the queue", released)
                if self.crawl_id:
                    report = CrawlReport.from_stats(self.crawler.stats.get_stats()).counts()
                    pipe = self.server.pipeline()
                    for name in CRAWLER_COUNTS:
                        pipe.hincrby(self.keys.stats(self.crawl_id), name, report.get(name, 0))
                    pipe.execute()
            finally:
                self.deregister()
        except redis.RedisError as error:
            logger.error(
                "Redis did not answer as this crawler closed (%s): the requests it leased go"
                " back to the queue once its heartbeat expires",
                error,
            )

    def deregister(self) -> None:
        pipe = self.server.pipeline()
        pipe.delete(self.keys.alive(self.crawler_id))
        pipe.hdel(self.keys.crawlers, self.crawler_id)
        pipe.execute()

    def heartbeat(self) -> None:
        if self.lost:
            return  # its heartbeat lapses: the other crawlers take its leases back
        try:
            self._beat()
        except redis.RedisError as error:
            self.redis_failed(error)
            return
        self.redis_answered()

    def _beat(self) -> None:
        """Say this crawler is alive; take back the leases of crawlers that are not."""
        pipe = self.server.pipeline()
        pipe.set(self.keys.alive(self.crawler_id), _now(), px=int(self.lease_seconds * 1000))
        pipe.hset(
            self.keys.crawlers,
            self.crawler_id,
            json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "site": self.site}),
        )
        pipe.execute()
        recovered = self.scripts["recover"](
            keys=[self.keys.leases, self.keys.requests, self.keys.crawlers],
            args=[self.keys.alive_prefix, ""],
        )
        if recovered:
            logger.warning("took back %d requests leased by crawlers that died", recovered)
            self.stats.inc_value("briefs/recovered", recovered)

    def wake(self) -> None:
        """Have the engine ask for requests now: another crawler may have queued some. (Left
        alone, an idle engine asks only every 5 seconds.)"""
        slot = getattr(self.crawler.engine, "_slot", None)
        nextcall = getattr(slot, "nextcall", None)
        if nextcall is not None and not self.local:
            nextcall.schedule()

    def seeded(self) -> None:
        """The entry points are all scheduled: once Redis has them, it is told so, and other
        crawlers may then decide the crawl is over."""
        self.seeds_scheduled = True
        self._hand_over_or_wait()

    def spider_idle(self) -> None:
        if self.lost:
            raise CloseSpider(REDIS_LOST)  # (or closing already, for that reason)
        try:
            self._idle()
        except redis.RedisError as error:
            self.redis_failed(error)
            raise DontCloseSpider from None

    def _idle(self) -> None:
        if self.local or self.unqueued or self.unreleased or len(self.queue):
            raise DontCloseSpider
        finished = self.scripts["finish"](
            keys=[self.keys.crawl, self.keys.requests, self.keys.leases],
            args=[self.crawl_id, _now()],
        )
        if finished:
            return
        if not self.seeding and self.server.hget(self.keys.crawl, "status") == b"seeding":
            # The crawler that began the crawl died before it queued the entry points?
            role, _, _ = self._begin()
            if role == "seed":
                logger.warning("the crawler seeding this crawl died: seeding it instead")
                self.seeding = True
                deferred_from_coro(self._seed())
        raise DontCloseSpider  # other crawlers hold requests that may find more

    async def _seed(self) -> None:
        async for request in self.spider.start():
            self.crawler.engine.crawl(request)
        self.seeded()

    def _begin(self) -> tuple[str, str, str]:
        role, crawl_id, site = (
            value.decode() if isinstance(value, bytes) else value
            for value in self.scripts["begin"](
                keys=[self.keys.crawl, self.keys.dupefilter, self.keys.requests, self.keys.leases],
                args=[
                    self.crawler_id,
                    uuid.uuid4().hex,
                    _now(),
                    self.site,
                    self.keys.alive_prefix,
                ],
            )
        )
        return role, crawl_id, site

    # --- requests -------------------------------------------------------------------------

    def enqueue_request(self, request: Request) -> bool:
        if LEASE in request.meta:
            # A retry or redirect of a leased request: it stays here, under the same lease.
            self.local.append(request)
            self.stats.inc_value("scheduler/enqueued/memory")
            return True
        if self.unqueued:
            self.unqueued.append(request)  # after those found before it
            return True
        try:
            return self._enqueue(request)
        except redis.RedisError as error:
            self.redis_failed(error)
            self.unqueued.append(request)
            return True

    def _enqueue(self, request: Request) -> bool:
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        queued = self.scripts["enqueue"](
            keys=[self.df.key, self.queue.key], args=[fingerprint, self.queue.encode(request)]
        )
        if not queued:
            self.df.log(request, self.spider)
            if request.meta.get("frontier") and (lastmod := request.meta.get("lastmod")):
                note = messages.encode_note(
                    request.url, lastmod, request.meta.get("discovered_via")
                )
                self.server.lpush(self.keys.messages, note)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.local:
            self.stats.inc_value("scheduler/dequeued/memory")
            return self.local.popleft()
        if self.lost:
            return None
        try:
            self._hand_over()
            request = self.queue.pop_leased(self.token, self.keys.leases)
        except redis.RedisError as error:
            # The pop may have leased a request all the same: the next one, under the same
            # token, gets it.
            self.redis_failed(error)
            return None
        self.redis_answered()
        if request is not None:
            self.token = self._new_token()
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def _new_token(self) -> str:
        return f"{self.crawler_id}/{next(self.tokens)}"

    def has_pending_requests(self) -> bool:
        if self.lost:
            return False  # whatever it holds: it stops
        if self.local or self.unqueued or self.unreleased:
            return True
        try:
            waiting = len(self.queue)
        except redis.RedisError as error:
            self.redis_failed(error)
            return True  # not idle: Redis may come back, or the crawler stops for it
        self.redis_answered()
        return waiting > 0

    def __len__(self) -> int:
        try:
            waiting = len(self.queue)
        except redis.RedisError:
            waiting = 0
        return len(self.local) + len(self.unqueued) + waiting

    def release(self, request: Request | None) -> None:
        """Everything `request` gave is safe: end its lease (once the requests it found are
        queued, if Redis did not take them at once)."""
        token = request.meta.get(LEASE) if request is not None else None
        if token:
            self.unreleased.append(token)
            self._hand_over_or_wait()

    def _hand_over_or_wait(self) -> None:
        try:
            self._hand_over()
        except redis.RedisError as error:
            self.redis_failed(error)
            return
        self.redis_answered()

    def _hand_over(self) -> None:
        """Give Redis what waited for it to answer, in this order: the requests found
        meanwhile, that the entry points are all queued (once they are), the end of the
        leases whose requests' findings are queued. Raises redis.RedisError if it still
        does not answer."""
        while self.unqueued:
            self._enqueue(self.unqueued[0])
            self.unqueued.popleft()
        if self.seeds_scheduled:
            self.scripts["seeded"](keys=[self.keys.crawl], args=[self.crawl_id, _now()])
            self.seeding = self.seeds_scheduled = False
        if self.unreleased:
            self.server.hdel(self.keys.leases, *self.unreleased)
            self.unreleased.clear()

    def redis_answered(self) -> None:
        if self.outage_since is not None:
            logger.warning(
                "Redis answers again, after %.0f s", time.monotonic() - self.outage_since
            )
            self.outage_since = None

    def redis_failed(self, error: redis.RedisError) -> None:
        """Redis did not answer: note since when, and stop the crawler when it has not for
        BRIEFS_REDIS_OUTAGE seconds."""
        now = time.monotonic()
        if self.outage_since is None:
            self.outage_since = now
            logger.warning(
                "Redis does not answer (%s): waiting for it, up to %g s", error, self.outage_limit
            )
        elif now - self.outage_since >= self.outage_limit and not self.lost:
            self.lost = True
            logger.error(
                "Redis has not answered for %g s (%s): stopping this crawler; the requests"
                " it leased go back to the queue once its heartbeat expires",
                self.outage_limit,
                error,
            )
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=REDIS_LOST))

    def push_message(self, data: bytes, request: Request | None) -> None:
        """Queue a message for the writer and end the lease of its request, atomically."""
        pipe = self.server.pipeline(transaction=True)
        pipe.lpush(self.keys.messages, data)
        token = request.meta.get(LEASE) if request is not None else None
        if token:
            pipe.hdel(self.keys.leases, token)
        pipe.execute()

    def backlog(self) -> int:
        return self.server.llen(self.keys.messages)


def _scheduler(crawler: Crawler) -> RedisScheduler:
    scheduler = crawler.engine.scheduler
    if not isinstance(scheduler, RedisScheduler):
        raise RuntimeError("the distributed components need crawler.distributed.RedisScheduler")
    return scheduler


class LeaseSpiderMiddleware:
    """Feeds the entry points once per crawl (only the crawler that begins it yields them),
    and ends the lease of a discovery page once the requests it found are queued."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseSpiderMiddleware:
        return cls(crawler)

    async def process_start(self, start: Any) -> Any:
        scheduler = _scheduler(self.crawler)
        if scheduler.seeding:
            async for item_or_request in start:
                yield item_or_request
            scheduler.seeded()

    async def process_spider_output(self, response: Any, result: Any) -> Any:
        try:
            async for item_or_request in result:
                yield item_or_request
        finally:
            # A brief page's lease ends when its message is pushed (RedisPushPipeline).
            if not response.request.meta.get("frontier"):
                _scheduler(self.crawler).release(response.request)


class LeaseDownloaderMiddleware:
    """Ends the lease of a discovery request whose download failed for good (no retry left,
    forbidden by robots.txt, off the site): its errback, which the spider's own failure
    accounting is, runs outside the spider middlewares. A brief request's failure becomes a
    message, which ends its lease."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeaseDownloaderMiddleware:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not request.meta.get("frontier"):
            _scheduler(self.crawler).release(request)


class RedisConditionalRequestMiddleware(ConditionalRequestMiddleware):
    """Conditional requests in a distributed crawl: the validators of the archived pages come
    from Redis, where the writer publishes them. Without them (Redis away, a page never
    archived) the page is asked for whole, which costs a fetch and loses nothing."""

    def validators(self, url: str) -> tuple[str | None, str | None]:
        scheduler = _scheduler(self.crawler)
        if scheduler.lost:
            return None, None  # stopping already: no wait on Redis for a page not pushed
        try:
            known = scheduler.server.hget(scheduler.keys.validators, url)
        except redis.RedisError as error:
            scheduler.redis_failed(error)
            return None, None
        if known is None:
            return None, None
        etag, last_modified = json.loads(known)
        return etag, last_modified


class RedisPushPipeline:
    """Pushes each fetched page to Redis for the writer (`briefs ingest`), in place of the
    archive pipeline. Waits while BRIEFS_REDIS_MAX_BACKLOG messages are waiting already, so
    that a writer that falls behind slows the crawl instead of filling Redis's memory."""

    RETRY_WAIT = 0.5  # seconds between pushes while Redis does not answer

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_backlog = crawler.settings.getint("BRIEFS_REDIS_MAX_BACKLOG", 5000)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisPushPipeline:
        return cls(crawler)

    async def _push(self, scheduler: RedisScheduler, data: bytes, request: Request | None) -> None:
        waited = False
        while scheduler.backlog() >= self.max_backlog:
            if not waited:
                logger.info("the writer is behind (%d messages): waiting", self.max_backlog)
                waited = True
            self.crawler.stats.inc_value("briefs/backlog_waits")
            await asyncio.sleep(0.5)
        scheduler.push_message(data, request)

    async def process_item(self, item: FetchedPage) -> FetchedPage:
        scheduler = _scheduler(self.crawler)
        if scheduler.lost:
            # Stopping already: another wait on Redis would only hold up the stop.
            raise DropItem("not pushed: this crawler gave up on Redis")
        # Compressing a page takes milliseconds: off the reactor, on another core.
        data = await asyncio.to_thread(messages.encode, item, scheduler.crawl_id, CLEANER_VERSION)
        while True:
            try:
                await self._push(scheduler, data, item.request)
                break
            except redis.RedisError as error:
                scheduler.redis_failed(error)
                if scheduler.lost:
                    # Its request stays leased: fetched again by another crawler.
                    raise DropItem(f"not pushed, Redis does not answer: {error}") from None
                await asyncio.sleep(self.RETRY_WAIT)
        scheduler.redis_answered()
        stats = self.crawler.stats
        stats.inc_value(PUSHED)
        if item.record is None and item.error:
            stats.inc_value(stats_key(_outcome(item)))
        return item


def _outcome(item: FetchedPage) -> Outcome:
    return Outcome.SKIPPED if item.skipped else Outcome.FAILED
