"""The leasing scheduler of a distributed crawl (see the package's docstring) and the Lua
scripts that make each of its steps atomic."""

from __future__ import annotations

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
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.settings import Settings
from scrapy.spiders import Spider
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.misc import load_object
from scrapy_redis.queue import Base as RedisQueueBase
from scrapy_redis.scheduler import Scheduler as ScrapyRedisScheduler
from twisted.internet.task import LoopingCall

from archive.ledger import DOWNLOADER_COUNTS
from crawler import messages
from crawler.distributed.keys import Keys, client
from crawler.report import CrawlReport
from crawler.selection import BRIEF

logger = logging.getLogger(__name__)

LEASE = "briefs_lease"  # request.meta key: the lease token of the request (or of its origin)
REDIS_LOST = "redis_lost"  # the finish reason of a crawler that gave up waiting for Redis


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
            server=client(settings["REDIS_URL"], settings.getfloat("BRIEFS_REDIS_OUTAGE")),
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
        scheduler.keys = Keys(settings.get("BRIEFS_REDIS_PREFIX"))
        scheduler.site = ""
        scheduler.lease_seconds = settings.getfloat("BRIEFS_REDIS_LEASE")
        scheduler.wake_interval = settings.getfloat("BRIEFS_REDIS_POLL")
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
        scheduler.outage_limit = settings.getfloat("BRIEFS_REDIS_OUTAGE")
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
                    for name in DOWNLOADER_COUNTS:
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
            if request.meta.get(BRIEF) and (lastmod := request.meta.get("lastmod")):
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
        raise RuntimeError("the distributed components need the RedisScheduler of this module")
    return scheduler
