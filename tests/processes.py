"""The environment of a process of ours that a test or benchmark starts (a Celery worker, beat, the
push consumer, gunicorn): production settings on the test's database, with the test's keys."""

from __future__ import annotations

import os

from django.conf import settings
from django.db import connection


def process_env(**extra: str) -> dict[str, str]:
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "SECRET_KEY": settings.SECRET_KEY, "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
           **extra}
    env.pop("SP_API_DEFAULT_MARKETPLACE", None)
    return env


def amazon_env(url: str, *, app_id: str | None = None, secret: str | None = None) -> dict[str, str]:
    """The product pointed at an Amazon sandbox."""
    return {"AMAZON_SPAPI_ENDPOINT": url, "AMAZON_LWA_TOKEN_URL": f"{url}/auth/o2/token",
            "AMAZON_LWA_APP_ID": app_id or settings.AMAZON_LWA_APP_ID,
            "AMAZON_LWA_CLIENT_SECRET": secret or settings.AMAZON_LWA_CLIENT_SECRET}
