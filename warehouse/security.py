"""Who is knocking: the client's address (behind a configured number of proxies), and a counter of failed
API keys per address. Failed logins are counted by django-axes, which uses the same address."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the address the nearest of them saw.
    X-Forwarded-For is read only then: without a proxy a client could write anything in it."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _failures_key(ip: str) -> str:
    return f"hub:api-key-failures:{ip}"


def api_key_failures(ip: str) -> int:
    return cache.get(_failures_key(ip), 0)


def api_key_failure_record(ip: str) -> int:
    """Counts a failed key for the address; the count lapses API_KEY_FAILURE_WINDOW seconds after the first."""
    key = _failures_key(ip)
    cache.add(key, 0, timeout=settings.API_KEY_FAILURE_WINDOW)
    try:
        return cache.incr(key)
    except ValueError:          # lapsed between add and incr
        cache.set(key, 1, timeout=settings.API_KEY_FAILURE_WINDOW)
        return 1
