"""Settings for the test suite: the production-like parts (PostgreSQL, Redis), with local defaults.

`make test` exports the same values; these defaults let a plain `pytest` work on a machine with the
local servers running.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub")
# One Redis database per xdist worker for the cache: tests clear it, and job locks live in it.
_worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
os.environ.setdefault("REDIS_URL", f"redis://127.0.0.1:6379/{15 - _worker}")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/5")
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
os.environ.pop("SP_API_DEFAULT_MARKETPLACE", None)

from .settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

# The sandbox moves a feed on at each getFeed: no need to wait 15 s between polls.
AMAZON_FEED_POLL_SECONDS = 0.2
