"""The environment of a process of ours that a test or benchmark starts (a Celery worker, beat, the
push consumer, gunicorn): production settings on the test's database, with the test's keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

from config.celery import app as celery_app


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


def redis_test_db(top: int) -> str:
    """A database of the test Redis server of this xdist worker's own: `top` on gw0, `top - 1` on gw1."""
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    return f"{os.environ.get('TEST_REDIS_SERVER', 'redis://127.0.0.1:6379')}/{top - index}"


@contextmanager
def app_publishing_to(url: str, **transport_options: object) -> Iterator[str]:
    """This process's Celery app publishing to `url` (the suite's tasks otherwise stay in memory), so that
    a worker the test starts receives what the code under test queues."""
    old = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    celery_app.conf.broker_url = url
    if transport_options:
        celery_app.conf.broker_transport_options = transport_options
    celery_app._pool, celery_app.amqp._producer_pool = None, None
    try:
        yield url
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = old
        celery_app._pool, celery_app.amqp._producer_pool = None, None
