"""Settings for the test suite: the production-like parts (PostgreSQL, Redis), with local defaults.

`make test` exports DATABASE_URL; the defaults let a plain `pytest` work on a machine with the local
servers running.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub")
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
os.environ.pop("SP_API_DEFAULT_MARKETPLACE", None)

from .settings import *  # noqa: E402,F401,F403

# One Redis database per xdist worker for the cache: tests clear it, and job locks live in it. Read here,
# not through the environment, which the workers inherit from the controlling pytest process.
_worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_redis = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_URL = f"{_redis}/{15 - _worker}"          # cache, job locks and the shared rate-limit buckets
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
# Tasks queued by the code under test stay in memory: tests that need a worker start a real one
# against a Redis database of their own; the others run tasks eagerly where they mean to.
CELERY_BROKER_URL = "memory://"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests


# The sandboxes run their buckets a thousand times faster in tests; so do ours.
MARKETPLACE_RATE_LIMIT_SCALE = 1000.0
MARKETPLACE_RETRY_BASE_SECONDS = 0.01      # a retried 429/5xx/timeout waits milliseconds in tests
