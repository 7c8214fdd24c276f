"""Token buckets shared by every worker on every host, in Redis, so that all of them together stay
within each marketplace's usage plans. Without Redis (`make run`), in a locked file under var/ that the
processes of that one machine share (the worker, the web app's wizard, the push consumer).

A bucket refills at `rate` tokens a second up to `burst`; each request takes one. We spend a `margin`
(10%) below the published plan: our clock and Amazon's never agree to the millisecond, and Amazon's
buckets may already be partly spent by calls we do not see. When a response's `x-amzn-RateLimit-Limit`
says the seller's dynamic plan is lower, that lower rate is used (remembered an hour, for every worker).
A 429 empties the bucket, so every worker backs off, not only the one that was refused.

A worker that would have to wait longer than `max_wait` gets ProviderRateLimited instead, so its task
hands back (having committed what it read) and resumes later rather than holding the worker. The same
when Redis cannot be reached (restarting, say): no token is a reason to wait, never to call unmetered,
and a run that meets it stops like a throttled one instead of failing with a Redis error.
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import redis
from django.conf import settings

from .providers.base import ProviderRateLimited

OBSERVED_PLAN_TTL = 3600
UNREACHABLE_RETRY_AFTER = 5.0       # seconds before a caller tries again when Redis cannot be reached
logger = logging.getLogger(__name__)

# Takes a token if there is one; otherwise says how long until there will be. Redis's own clock, so
# workers on different hosts agree. KEYS[2] holds a lower rate a response reported, if any.
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local observed = tonumber(redis.call('GET', KEYS[2]) or '')
if observed and observed > 0 and observed < rate then rate = observed end
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

# The marketplace refused a call: nothing is left in this bucket, whatever we thought.
_EMPTY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('HSET', KEYS[1], 'tokens', '0', 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
"""

# Told when a request waits for a token: the import's progress shows "waiting for quota".
quota_wait_listener: contextvars.ContextVar[Callable[[str, float], None] | None] = contextvars.ContextVar(
    "quota_wait_listener", default=None)


class Store:
    """Where buckets live: Redis (shared by every worker) or this process (development)."""

    def take(self, key: str, rate: float, burst: float) -> float: ...

    def empty(self, key: str, ttl: int) -> None: ...

    def observe(self, key: str, rate: float) -> None: ...


class RedisStore(Store):
    def __init__(self, client: redis.Redis):
        self.client = client
        self._take = client.register_script(_TAKE)
        self._empty = client.register_script(_EMPTY)

    def take(self, key: str, rate: float, burst: float) -> float:
        try:
            return float(self._take(keys=[f"hub:ratelimit:{key}", f"hub:ratelimit-observed:{key}"],
                                    args=[rate, burst]))
        except redis.RedisError as exc:
            raise ProviderRateLimited(f"Our shared rate limits cannot be read for now ({type(exc).__name__}); "
                                      "carrying on later.", retry_after=UNREACHABLE_RETRY_AFTER) from exc

    # Telling the other workers is best effort: if Redis is away, its buckets are lost anyway.
    def empty(self, key: str, ttl: int) -> None:
        try:
            self._empty(keys=[f"hub:ratelimit:{key}"], args=[ttl])
        except redis.RedisError:
            logger.warning("ratelimit.unreachable", extra={"key": key})

    def observe(self, key: str, rate: float) -> None:
        try:
            self.client.set(f"hub:ratelimit-observed:{key}", repr(rate), ex=OBSERVED_PLAN_TTL)
        except redis.RedisError:
            logger.warning("ratelimit.unreachable", extra={"key": key})


def _take_from(buckets: dict, observed: dict, key: str, rate: float, burst: float, now: float) -> float:
    """The same algorithm as _TAKE, on plain dicts: {key: [tokens, at]} and {key: [rate, until]}."""
    lower, until = observed.get(key, (0.0, 0.0))
    if until > now and 0 < lower < rate:
        rate = lower
    tokens, at = buckets.get(key, (float(burst), now))
    tokens = min(burst, tokens + max(0.0, now - at) * rate)
    if tokens >= 1:
        buckets[key] = [tokens - 1, now]
        return 0.0
    buckets[key] = [tokens, now]
    return (1 - tokens) / rate


class FileStore(Store):
    """The same algorithm for every process of one machine without Redis (`make run`: the worker, the web
    app's wizard and the push consumer all call the same seller), in a small JSON file under an exclusive
    lock. Wall-clock time, which those processes share."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)          # a separate open() per call: threads exclude each other too
            try:
                f.seek(0)
                try:
                    state = json.loads(f.read() or "{}")
                except ValueError:                 # a torn file after a crash: start with full buckets
                    state = {}
                state.setdefault("buckets", {})
                state.setdefault("observed", {})
                yield state
                now = time.time()
                state["buckets"] = {k: v for k, v in state["buckets"].items() if now - v[1] < 3600}
                state["observed"] = {k: v for k, v in state["observed"].items() if v[1] > now}
                f.seek(0)
                f.truncate()
                f.write(json.dumps(state))
                f.flush()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def take(self, key: str, rate: float, burst: float) -> float:
        with self._state() as state:
            return _take_from(state["buckets"], state["observed"], key, rate, burst, time.time())

    def empty(self, key: str, ttl: int) -> None:
        with self._state() as state:
            state["buckets"][key] = [0.0, time.time()]

    def observe(self, key: str, rate: float) -> None:
        with self._state() as state:
            state["observed"][key] = [rate, time.time() + OBSERVED_PLAN_TTL]


class SharedTokenBuckets:
    """RateLimiter for the providers. `scale` multiplies every rate (tests run time faster on both sides);
    `margin` is the share of the published plan we leave unspent."""

    def __init__(self, *, store: Store, scale: float = 1.0, max_wait: float = 30.0, margin: float = 0.1,
                 sleep: Callable[[float], None] = time.sleep):
        self.store = store
        self.scale = scale
        self.max_wait = max_wait
        self.margin = margin
        self._sleep = sleep

    def _plan(self, rate: float, burst: int) -> tuple[float, float]:
        keep = 1.0 - self.margin
        # The burst keeps a margin too (at least one token): Amazon's bucket may not be as full as ours.
        return rate * keep * self.scale, float(max(1, min(burst - 1, math.floor(burst * keep)) if burst > 1 else 1))

    def acquire(self, key: str, *, rate: float, burst: int) -> None:
        rate, burst_kept = self._plan(rate, burst)
        waited = 0.0
        while True:
            wait = self.store.take(key, rate, burst_kept)
            if wait <= 0:
                return
            if waited + wait > self.max_wait:
                raise ProviderRateLimited(
                    f"Our own limit for {key.split(':')[-1]} is spent for now (the marketplace's usage plan); "
                    "carrying on later.", retry_after=wait)
            listener = quota_wait_listener.get()
            if listener is not None:
                listener(key, wait)
            self._sleep(wait)
            waited += wait

    def throttled(self, key: str, *, rate: float, burst: int) -> None:
        """The marketplace answered 429 on `key`: empty the bucket for every worker."""
        rate, burst_kept = self._plan(rate, burst)
        self.store.empty(key, ttl=int(math.ceil(burst_kept / rate)) + 60)

    def observed(self, key: str, *, published_rate: float, reported_rate: float) -> None:
        """A response reported this operation's rate for this seller (`x-amzn-RateLimit-Limit`). Only a
        lower one is kept: a higher one is not a reason to spend more than the published plan."""
        if 0 < reported_rate < published_rate:
            self.store.observe(key, reported_rate * (1.0 - self.margin) * self.scale)


def redis_store(client: redis.Redis) -> Store:
    return RedisStore(client)


@lru_cache(maxsize=1)
def shared_limiter() -> SharedTokenBuckets:
    store = (RedisStore(redis.Redis.from_url(settings.REDIS_URL)) if settings.REDIS_URL
             else FileStore(Path(settings.VAR_DIR) / "ratelimit.json"))
    return SharedTokenBuckets(store=store, scale=settings.MARKETPLACE_RATE_LIMIT_SCALE,
                              max_wait=settings.MARKETPLACE_RATE_LIMIT_MAX_WAIT,
                              margin=settings.MARKETPLACE_RATE_LIMIT_MARGIN)
