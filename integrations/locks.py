"""Per-integration job locks, so that two workers on any hosts never run the same job for the same
integration at once.

On PostgreSQL (production, tests) a job lock is a session-level advisory lock held by the worker's
database connection: it cannot expire while the run lives, however long a large backlog takes, and it
is released by PostgreSQL itself the moment the connection ends, so a worker killed with SIGKILL never
leaves a job blocked. (It needs a direct or session-pooled connection, not transaction pooling.)

SQLite (`make run` on a laptop, usually a single worker) has no such lock: there the lock is a key in
the shared cache with a time-to-live, renewed by nothing; the TTL bounds how long a crashed worker
can keep the job blocked.
"""

from __future__ import annotations

import secrets
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
from django.db import DatabaseError, connection

# Advisory locks are re-entrant within one session; a job must not be: the same thread asking twice
# (a task run eagerly inside another) is refused like any other worker.
_held = threading.local()


def _job_key(job: str) -> int:
    # Two 32-bit keys: (job, integration id). crc32 is stable across processes and hosts, unlike hash().
    return zlib.crc32(job.encode()) - 2**31


@contextmanager
def job_lock(job: str, integration_id: int, *, ttl: int = 900) -> Iterator[bool]:
    """Yields True if this worker holds the lock, False if another one does. `ttl` matters only on
    the cache fallback (SQLite)."""
    if connection.vendor == "postgresql":
        with _advisory_lock(job, integration_id) as acquired:
            yield acquired
    else:
        with _cache_lock(job, integration_id, ttl=ttl) as acquired:
            yield acquired


@contextmanager
def _advisory_lock(job: str, integration_id: int) -> Iterator[bool]:
    held = getattr(_held, "keys", None)
    if held is None:
        held = _held.keys = set()
    key = (job, integration_id)
    if key in held:
        yield False
        return
    args = [_job_key(job), integration_id]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", args)
        acquired = bool(cursor.fetchone()[0])
    session = connection.connection        # the lock lives and dies with this very session
    if acquired:
        held.add(key)
    try:
        yield acquired
    finally:
        if acquired:
            held.discard(key)
            # If the connection was lost meanwhile, PostgreSQL already released the lock with it.
            if connection.connection is session and session is not None:
                try:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", args)
                except DatabaseError:
                    connection.close()      # e.g. an aborted transaction: closing the session releases it


@contextmanager
def _cache_lock(job: str, integration_id: int, *, ttl: int) -> Iterator[bool]:
    key = f"hub:lock:{job}:{integration_id}"
    token = secrets.token_hex(8)
    acquired = cache.add(key, token, timeout=ttl)
    try:
        yield acquired
    finally:
        # Release only our own lock (it may have expired and been taken by someone else).
        if acquired and cache.get(key) == token:
            cache.delete(key)
