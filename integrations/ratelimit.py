"""Token buckets shared by every worker on every host, in Redis, so that all of them together stay
within each marketplace's usage plans; an in-process bucket when no Redis is configured (`make run`).

A bucket refills at `rate` tokens a second up to `burst`; each request takes one. A worker that would
have to wait longer than `max_wait` gets ProviderRateLimited instead, so its task is retried later
rather than holding the worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache

import redis
from django.conf import settings

from .providers.base import ProviderRateLimited

# Takes a token if there is one; otherwise says how long until there will be. Redis's own clock, so
# workers on different hosts agree.
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class SharedTokenBuckets:
    """RateLimiter for the providers. `scale` multiplies every rate (tests run buckets faster)."""

    def __init__(self, *, take: Callable[[str, float, int], float], scale: float = 1.0, max_wait: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep):
        self._take = take
        self.scale = scale
        self.max_wait = max_wait
        self._sleep = sleep

    def acquire(self, key: str, *, rate: float, burst: int) -> None:
        rate = rate * self.scale
        waited = 0.0
        while True:
            wait = self._take(key, rate, burst)
            if wait <= 0:
                return
            if waited + wait > self.max_wait:
                raise ProviderRateLimited(
                    f"Our own limit for {key.split(':')[-1]} is spent for now (the marketplace's usage plan); "
                    "carrying on later.", retry_after=wait)
            self._sleep(wait)
            waited += wait


def redis_take(client: redis.Redis) -> Callable[[str, float, int], float]:
    script = client.register_script(_TAKE)

    def take(key: str, rate: float, burst: int) -> float:
        return float(script(keys=[f"hub:ratelimit:{key}"], args=[rate, burst]))

    return take


def local_take() -> Callable[[str, float, int], float]:
    """The same algorithm for one process (development without Redis)."""
    lock = threading.Lock()
    buckets: dict[str, tuple[float, float]] = {}

    def take(key: str, rate: float, burst: int) -> float:
        with lock:
            now = time.monotonic()
            tokens, at = buckets.get(key, (float(burst), now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens >= 1:
                buckets[key] = (tokens - 1, now)
                return 0.0
            buckets[key] = (tokens, now)
            return (1 - tokens) / rate

    return take


@lru_cache(maxsize=1)
def shared_limiter() -> SharedTokenBuckets:
    take = redis_take(redis.Redis.from_url(settings.REDIS_URL)) if settings.REDIS_URL else local_take()
    return SharedTokenBuckets(take=take, scale=settings.MARKETPLACE_RATE_LIMIT_SCALE,
                              max_wait=settings.MARKETPLACE_RATE_LIMIT_MAX_WAIT)
