"""The Redis of a distributed crawl: its keys under a prefix, clients that give up in bounded
time, and the crawl hash. Shared by the crawlers and the writer; loads no Scrapy."""

from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from crawler import settings as defaults

DEFAULT_PREFIX = defaults.BRIEFS_REDIS_PREFIX


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


def client(url: str, outage: float = defaults.BRIEFS_REDIS_OUTAGE) -> redis.Redis:
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
