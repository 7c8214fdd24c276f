"""Etsy Open API v3 over HTTP: one method per endpoint, Etsy's failures as the ProviderError family.

Knows the wire (paths, query syntax, headers, error bodies, rate-limit headers), no Django model
and no receipt or listing shape: payloads go back to the caller as parsed JSON for mapping.py.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import requests

from integrations.providers.base import (
    AccessTokens,
    CallObserver,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTokenExpired,
    ProviderUnavailable,
    RateLimiter,
)

logger = logging.getLogger(__name__)

Json = dict[str, Any]

# reference §9: the daily quota is a rolling 24 h window of buckets, so it comes back gradually;
# an hour after the reserve was reached is the earliest worth spending another call to look.
_QUOTA_BACKOFF_SECONDS = 3600.0
_PER_SECOND_PAUSE = 1.0


class EtsyClient:
    def __init__(self, *, keystring: str, shared_secret: str, api_base_url: str, timeout: float,
                 daily_quota_reserve: int, sleep: Callable[[float], None],
                 monotonic: Callable[[], float] = time.monotonic, session: requests.Session | None = None,
                 limiter: RateLimiter | None = None, requests_per_second: int = 10,
                 requests_per_day: int = 10000, retries: int = 3, retry_base: float = 1.0):
        self._base = api_base_url.rstrip("/")
        self._retries = retries
        self._retry_base = retry_base
        self._sleep = sleep
        # reference §9: a per-second and a per-day limit per application (API key), shared by every worker
        # and every shop. The day is a sliding 24 h window: a bucket holding the day's calls, refilling
        # over 24 h, keeps within it.
        self._limiter = limiter
        self._limit_key = f"etsy:{keystring}"
        self._requests_per_second = requests_per_second
        self._requests_per_day = requests_per_day
        # reference §1: keystring:shared_secret since Feb 2026; the bare keystring is refused.
        self._api_key = f"{keystring}:{shared_secret}"
        self._timeout = timeout
        self._session = session or requests.Session()
        self.observer: CallObserver | None = None
        self._quota = _Quota(reserve=daily_quota_reserve, sleep=sleep, monotonic=monotonic)

    # --- users and shops (reference §3) -------------------------------------------------------
    def get_me(self, tokens: AccessTokens) -> Json:
        return self._call("GET", "/v3/application/users/me", tokens=tokens)

    def get_shop(self, shop_id: str) -> Json:
        # getShop is public: the API key is enough.
        return self._call("GET", f"/v3/application/shops/{_seg(shop_id)}", tokens=None)

    # --- receipts (reference §4, §5) ----------------------------------------------------------
    def get_shop_receipts(self, tokens: AccessTokens, shop_id: str, query: Mapping[str, Any]) -> Json:
        return self._call("GET", f"/v3/application/shops/{_seg(shop_id)}/receipts", tokens=tokens,
                          params=query)

    def get_shop_receipt(self, tokens: AccessTokens, shop_id: str, receipt_id: str) -> Json:
        return self._call("GET", f"/v3/application/shops/{_seg(shop_id)}/receipts/{_seg(receipt_id)}",
                          tokens=tokens)

    def create_receipt_shipment(self, tokens: AccessTokens, shop_id: str, receipt_id: str,
                                form: Mapping[str, str]) -> Json:
        # A form body, sent as a form: issue #201 shows JSON under a form Content-Type marking the
        # receipt shipped while the tracking code is silently dropped (reference §1, §5).
        path = f"/v3/application/shops/{_seg(shop_id)}/receipts/{_seg(receipt_id)}/tracking"
        return self._call("POST", path, tokens=tokens, data=dict(form))

    # --- listings and inventory (reference §6, §7) --------------------------------------------
    def get_listings_by_shop(self, tokens: AccessTokens, shop_id: str, *, state: str, limit: int,
                             offset: int) -> Json:
        return self._call("GET", f"/v3/application/shops/{_seg(shop_id)}/listings", tokens=tokens,
                          params={"state": state, "limit": limit, "offset": offset})

    def get_listing_inventory(self, tokens: AccessTokens, listing_id: str) -> Json:
        return self._call("GET", f"/v3/application/listings/{_seg(listing_id)}/inventory", tokens=tokens)

    def update_listing_inventory(self, tokens: AccessTokens, listing_id: str,
                                 body: Mapping[str, Any]) -> Json:
        # JSON here, unlike createReceiptShipment (reference §7.2).
        return self._call("PUT", f"/v3/application/listings/{_seg(listing_id)}/inventory", tokens=tokens,
                          json=dict(body))

    def update_listing_state(self, tokens: AccessTokens, shop_id: str, listing_id: str, state: str) -> Json:
        # updateListing; only `state` (active | inactive) is sent.
        return self._call("PATCH", f"/v3/application/shops/{_seg(shop_id)}/listings/{_seg(listing_id)}",
                          tokens=tokens, data={"state": state})

    # --- one call ---------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, tokens: AccessTokens | None,
              params: Mapping[str, Any] | None = None, data: Mapping[str, str] | None = None,
              json: Mapping[str, Any] | None = None) -> Json:
        """One call; a per-second 429, or a 5xx or timeout on a read, is tried again (bounded, backing off
        with jitter). A spent day is not: it waits for retry-after. A write that failed is ambiguous and is
        never repeated here (the caller reads back first)."""
        attempt = 0
        while True:
            try:
                return self._call_once(method, path, tokens=tokens, params=params, data=data, json=json)
            except ProviderRateLimited as exc:
                if exc.daily or attempt >= self._retries:
                    raise
                wait = exc.retry_after or 0.0
            except ProviderUnavailable:
                if method != "GET" or attempt >= self._retries:
                    raise
                wait = 0.0
            attempt += 1
            backoff = self._retry_base * 2 ** (attempt - 1)
            delay = max(wait, random.uniform(backoff / 2, backoff))       # noqa: S311 (jitter, not crypto)
            logger.info("etsy.retry", extra={"path": path.split("?")[0], "attempt": attempt, "delay": round(delay, 3)})
            self._sleep(delay)

    def _call_once(self, method: str, path: str, *, tokens: AccessTokens | None,
                   params: Mapping[str, Any] | None = None, data: Mapping[str, str] | None = None,
                   json: Mapping[str, Any] | None = None) -> Json:
        token = tokens.get() if tokens is not None else None
        response = self._send(method, path, token, params=params, data=data, json=json)
        if tokens is not None and _access_token_expired(response):
            # reference §10: "access token is expired" → refresh, then retry once.
            token = tokens.get(force_refresh=True)
            response = self._send(method, path, token, params=params, data=data, json=json)
            if _access_token_expired(response):
                raise ProviderTokenExpired("Etsy still reports the access token as expired after a refresh.")
        return self._decode(response)

    def _send(self, method: str, path: str, token: str | None, **kwargs: Any) -> requests.Response:
        self._quota.before_call()
        if self._limiter is not None:
            self._limiter.acquire(f"{self._limit_key}:day", rate=self._requests_per_day / 86400,
                                  burst=self._requests_per_day)
            self._limiter.acquire(f"{self._limit_key}:second", rate=self._requests_per_second,
                                  burst=self._requests_per_second)
        headers = {"x-api-key": self._api_key, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if kwargs.get("params") is not None:
            kwargs["params"] = _query(kwargs["params"])
        started, outcome = time.monotonic(), "no answer"
        try:
            response = self._session.request(method, self._base + path, headers=headers,
                                             timeout=self._timeout, **kwargs)
            outcome = f"HTTP {response.status_code}"
        except requests.Timeout as exc:
            outcome = f"timed out after {self._timeout:g} s"
            raise ProviderUnavailable(f"Etsy did not answer within {self._timeout:g} s.") from exc
        except requests.RequestException as exc:
            outcome = f"unreachable ({type(exc).__name__})"
            raise ProviderUnavailable(f"Etsy could not be reached ({type(exc).__name__}).") from exc
        finally:
            if self.observer is not None:
                self.observer(operation=f"{method} {path}", outcome=outcome, seconds=time.monotonic() - started)
        self._quota.after_call(response)
        return response

    def _decode(self, response: requests.Response) -> Json:
        status = response.status_code
        if status == 429:
            limited = self._quota.limited(response)
            if self._limiter is not None and hasattr(self._limiter, "throttled"):
                self._limiter.throttled(f"{self._limit_key}:second", rate=self._requests_per_second,
                                        burst=self._requests_per_second)
            raise limited
        if status >= 500:
            raise ProviderUnavailable(f"Etsy failed (HTTP {status}): {_error_text(response) or 'no detail'}.")
        try:
            payload = response.json()
        except ValueError as exc:
            raise ProviderUnavailable(f"Etsy answered HTTP {status} without JSON.") from exc
        if not isinstance(payload, dict):
            raise ProviderUnavailable(f"Etsy answered HTTP {status} with unexpected JSON.")
        if status < 300:
            return payload
        raise _client_error(status, payload)


class _Quota:
    """Etsy's per-second and per-day counters as the response headers report them (reference §9).

    Shared by every call of one client, from any thread; the service's Redis buckets keep workers
    together, this keeps one process from walking into a 429 it was warned about.
    """

    def __init__(self, *, reserve: int, sleep: Callable[[float], None], monotonic: Callable[[], float]):
        self._reserve = reserve
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._pause_next = False
        self._blocked_until = 0.0
        self._remaining_today: int | None = None

    def before_call(self) -> None:
        with self._lock:
            wait = self._blocked_until - self._monotonic()
            if wait > 0:
                # Refuse before spending: the last calls of the day stay free for people (reference §9).
                raise ProviderRateLimited(
                    f"Etsy's daily request quota is nearly spent ({self._remaining_today} left, "
                    f"{self._reserve} kept in reserve); calls stop until it recovers.",
                    retry_after=wait, daily=True,
                )
            pause, self._pause_next = self._pause_next, False
        if pause:
            self._sleep(_PER_SECOND_PAUSE)

    def after_call(self, response: requests.Response) -> None:
        remaining_second = _int_header(response, "x-remaining-this-second")
        remaining_today = _int_header(response, "x-remaining-today")
        with self._lock:
            if remaining_second is not None and remaining_second <= 0:
                self._pause_next = True
            if remaining_today is None:
                return
            self._remaining_today = remaining_today
            if remaining_today > self._reserve:
                self._blocked_until = 0.0
            elif self._blocked_until <= self._monotonic():
                self._blocked_until = self._monotonic() + _QUOTA_BACKOFF_SECONDS
                logger.warning("etsy.quota.reserve_reached",
                               extra={"remaining_today": remaining_today, "reserve": self._reserve})

    def limited(self, response: requests.Response) -> ProviderRateLimited:
        """A 429 → ProviderRateLimited; a spent day also blocks this client until retry-after."""
        retry_after = _float_header(response, "retry-after")
        error = _error_text(response)
        daily = ("daily" in error.lower() or (retry_after is not None and retry_after >= 3600)
                 or _int_header(response, "x-remaining-today") == 0)
        if daily:
            with self._lock:
                block = retry_after if retry_after is not None else _QUOTA_BACKOFF_SECONDS
                self._blocked_until = max(self._blocked_until, self._monotonic() + block)
            logger.warning("etsy.quota.daily_exhausted", extra={"retry_after": retry_after})
        return ProviderRateLimited(f"Etsy rate limit: {error or 'too many requests'}.",
                                   retry_after=retry_after, daily=daily)


# --- wire helpers -----------------------------------------------------------------------------------
def _seg(value: str) -> str:
    """Ids go into paths; never let one add a path segment."""
    return quote(str(value), safe="")


def _query(params: Mapping[str, Any]) -> dict[str, str]:
    """reference §1 URL syntax: booleans are true/false, arrays comma-separated; None means absent."""
    query: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            query[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple, set, frozenset)):
            query[key] = ",".join(str(v) for v in value)
        else:
            query[key] = str(value)
    return query


def _error_body(response: requests.Response) -> Mapping[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _error_text(response: requests.Response) -> str:
    return str(_error_body(response).get("error") or "")


def _access_token_expired(response: requests.Response) -> bool:
    """reference §10: 401 {"error":"invalid_token","error_description":"access token is expired"}."""
    if response.status_code != 401:
        return False
    body = _error_body(response)
    return "expired" in str(body.get("error_description") or body.get("error") or "").lower()


def _client_error(status: int, body: Mapping[str, Any]) -> Exception:
    error = str(body.get("error") or "")
    description = str(body.get("error_description") or "")
    if status == 401:
        # "access token is invalid", invalid_grant, revoked grants: only a reconnect helps.
        return ProviderAuthError(f"Etsy no longer accepts this shop's authorization "
                                 f"({description or error or 'HTTP 401'}); connect the shop again.")
    if status == 403 and (error == "insufficient_scope" or "bearer token" in error.lower()):
        return ProviderAuthError(f"Etsy refused the shop's authorization ({description or error}); "
                                 "connect the shop again to grant the needed permissions.")
    detail = error or description or "no detail"
    return ProviderRejected(f"Etsy refused the request (HTTP {status}): {detail}.")


def _int_header(response: requests.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


def _float_header(response: requests.Response, name: str) -> float | None:
    try:
        return float(response.headers[name])
    except (KeyError, ValueError):
        return None
