"""Settings for the test suite: the production-like parts (PostgreSQL, Redis), with local defaults.

`make test` exports the same values; these defaults let a plain `pytest` work on a machine with the
local servers running.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
os.environ.pop("SP_API_DEFAULT_MARKETPLACE", None)

from .settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
