"""Per-integration job locks in the shared cache (Redis in production), so that two workers on any
hosts never run the same job for the same integration at once."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


@contextmanager
def job_lock(job: str, integration_id: int, *, ttl: int = 900) -> Iterator[bool]:
    """Yields True if this worker holds the lock, False if another one does. The TTL bounds how long a
    crashed worker can keep the job blocked."""
    key = f"hub:lock:{job}:{integration_id}"
    token = secrets.token_hex(8)
    acquired = cache.add(key, token, timeout=ttl)
    try:
        yield acquired
    finally:
        # Release only our own lock (it may have expired and been taken by someone else).
        if acquired and cache.get(key) == token:
            cache.delete(key)
