"""One method per SP-API operation, over python-amazon-sp-api 2.1.35; failures become ProviderErrors.

Library facts this module relies on (reference/sp-api.md §1):
- a library client is built once per API class and AmazonClient (one seller, one run, one thread: it is
  not thread-safe, §1.3), all of them on one httpx connection pool, from a marketplace-like object,
  `credentials=dict(...)` with only the code provider (nothing from env vars, files or AWS secrets
  in a multi-tenant process), and `auth_token_client_class` pointed at the configured LWA URL;
  SP_API_DEFAULT_MARKETPLACE is never relied on: the marketplace is always passed explicitly;
- the library sends `Host: endpoint[8:]`, wrong for http:// endpoints: `headers` is fixed (§1.1);
- it raises only when a body has `errors` and never keeps the status code, so `_check_response` is
  intercepted to check the status and read the JSON itself (§1.3);
- feed documents are uploaded and downloaded here, with our timeout, as UTF-8 bytes (§1.6).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
from sp_api.api import (
    FeedsV20210630,
    ListingsItemsV20210801,
    Notifications,
    OrdersV0,
    OrdersV20260101,
    SupplySources,
    Tokens,
)
from sp_api.auth import AccessTokenClient, AccessTokenResponse
from sp_api.auth import access_token_client as library_token_cache
from sp_api.auth._core import build_cache_key
from sp_api.base import SellingApiException, fill_query_params
from sp_api.base._transport_httpx import HttpxTransport
from sp_api.base.credential_provider import FromCodeCredentialProvider, MissingCredentials

from integrations.providers.base import (
    AccessTokens,
    CallObserver,
    RateLimiter,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)

from . import auth, mapping
from .usage_plans import usage_plan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientConfig:
    """Everything but the seller: the app's LWA credentials and where to send requests."""

    lwa_app_id: str
    lwa_client_secret: str
    lwa_token_url: str
    endpoint: str                    # SP-API base URL, already resolved from settings or the marketplace
    marketplace_id: str
    aws_region: str
    timeout: float


# --- failures -------------------------------------------------------------------------------------


class _HttpFailure(Exception):
    """A non-2xx status, or a 2xx whose body is not JSON: raised before the library parses it."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str], *, unreadable: bool = False):
        super().__init__(status)
        self.status, self.body, self.headers, self.unreadable = status, body, headers, unreadable


class _AccessDenied(ProviderAuthError):
    """SP-API answered 401/403. With a fresh access token it may pass (an expired token gets the same
    "revoked, malformed or invalid" details as a revoked one, §5), so the client retries once."""


def _from_status(status: int, body: Any, headers: Mapping[str, str] | None, operation: str) -> ProviderError:
    detail = mapping.errors_text(body) or f"HTTP {status}"
    if status == 429:
        return ProviderRateLimited(f"Amazon throttled {operation} ({detail}).",
                                   retry_after=auth.retry_after_seconds(headers))
    if status >= 500:
        return ProviderUnavailable(f"Amazon failed {operation}: HTTP {status} ({detail}).")
    if status in (401, 403):
        return _AccessDenied(f"Amazon refused {operation} ({detail}): the seller's authorization is missing, "
                             "revoked or lacks the role for this API; reconnect the integration.")
    if 400 <= status < 500:
        return ProviderRejected(f"Amazon rejected {operation}: {detail}.", status=status)
    return ProviderUnavailable(f"Amazon answered {operation} with unexpected HTTP {status}.")


def _from_library(exc: SellingApiException, operation: str) -> ProviderError:
    # Only reached when a 2xx body carries `errors` (other statuses are caught first in _checked_body);
    # `.code` is the exception class's status, 999 when the library knows none (§1.3).
    status = exc.code if exc.code != 999 else 502
    return _from_status(status, {"errors": exc.error}, exc.headers, operation)


@contextlib.contextmanager
def _translated(operation: str) -> Iterator[None]:
    try:
        yield
    except ProviderError:
        raise
    except _HttpFailure as failure:
        if failure.unreadable:
            raise ProviderUnavailable(f"Amazon's answer to {operation} is not readable JSON "
                                      f"(HTTP {failure.status}).") from None
        raise _from_status(failure.status, failure.body, failure.headers, operation) from None
    except SellingApiException as exc:
        raise _from_library(exc, operation) from None
    except MissingCredentials:
        raise ProviderAuthError("The Amazon app's LWA client id and secret are not configured.") from None
    except httpx.TimeoutException:
        raise ProviderUnavailable(f"Amazon did not answer {operation} in time.") from None
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"Amazon could not be reached for {operation}: "
                                  f"{type(exc).__name__}.") from None


# --- the library, adjusted ------------------------------------------------------------------------


def _checked_body(response: httpx.Response) -> Any:
    try:
        body = response.json() if response.content.strip() else {}
    except ValueError:
        body = None
    if not 200 <= response.status_code < 300:
        raise _HttpFailure(response.status_code, body, response.headers)
    if body is None:
        raise _HttpFailure(response.status_code, None, response.headers, unreadable=True)
    return body


class _Hub:
    """Mixed in front of every library client class: right Host header, our own status check."""

    last_body: Any = None
    last_rate_limit: str | None = None
    last_status: int | None = None
    endpoint: str

    @property
    def headers(self) -> dict[str, str]:
        headers = dict(super().headers)  # type: ignore[misc]
        headers["host"] = urlsplit(self.endpoint).netloc    # the library assumes https:// (§1.1)
        return headers

    def _check_response(self, res: httpx.Response, res_no_data: bool = False, bulk: bool = False,
                        wrap_list: bool = False) -> Any:
        # Best effort, on 2xx/400/404 only (§5): the seller's dynamic plan for this operation.
        self.last_rate_limit = res.headers.get("x-amzn-ratelimit-limit")
        self.last_status = res.status_code
        self.last_body = _checked_body(res)
        return super()._check_response(res, res_no_data, bulk, wrap_list)  # type: ignore[misc]


class _Orders(_Hub, OrdersV0):
    pass


class _Orders2026(_Hub, OrdersV20260101):
    pass


class _Tokens(_Hub, Tokens):
    pass


class _Listings(_Hub, ListingsItemsV20210801):
    pass


class _SupplySources(_Hub, SupplySources):
    pass


class _Feeds(_Hub, FeedsV20210630):
    def get_feed_document_info(self, feed_document_id: str) -> Any:
        # The library's get_feed_document also downloads with a bare httpx client; we only want the
        # metadata here and download ourselves (§1.6).
        return self._request(fill_query_params("/feeds/2021-06-30/documents/{}", feed_document_id),
                             params={}, add_marketplace=False)


class _Notifications(_Hub, Notifications):
    # Grantless (app-level) calls: the library gives them no Host fix and no way to delete a
    # subscription grantlessly, which is what Amazon documents for deleteSubscriptionById.
    def grantless(self, method: str, path: str, *, data: dict | None = None) -> Any:
        self.method = method
        headers = {"x-amz-access-token": self.grantless_auth.access_token, "content-type": "application/json",
                   "user-agent": self.user_agent, "host": urlsplit(self.endpoint).netloc}
        return self._request(path, data=data, params={"method": method}, headers=headers, add_marketplace=False)


class _AppNotifications(_Notifications):
    grantless_only = True            # the app's own LWA client_credentials token, never a seller's


@functools.lru_cache(maxsize=16)
def _lwa_client_class(token_url: str, timeout: float) -> type[AccessTokenClient]:
    """AccessTokenClient pointed at the configured LWA URL (§1.1); the POST goes through auth.py so
    it has our timeout and our error translation. The library still caches the token (§1.2)."""
    parts = urlsplit(token_url)

    class LwaClient(AccessTokenClient):
        scheme = f"{parts.scheme}://"
        host = parts.netloc
        path = parts.path or "/auth/o2/token"

        def _request(self, url: str, data: dict[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
            tokens = auth.request_tokens(url, data, timeout=timeout, purpose="access token")
            return {"access_token": tokens.access_token, "expires_in": tokens.expires_in,
                    "token_type": "bearer"}

    return LwaClient


def _service_token_class(tokens: AccessTokens) -> type:
    """When the integration service supplies access tokens (refreshed under its own lock), use them."""

    class ServiceTokens:
        def __init__(self, **_: Any) -> None:
            pass

        def get_auth(self) -> AccessTokenResponse:
            return AccessTokenResponse(access_token=tokens.get())

    return ServiceTokens


# --- the client -----------------------------------------------------------------------------------


# Calls that may have taken effect when the answer never came: never re-sent blindly (a timeout is
# ambiguous; the caller reads back first). A 429 is safe to repeat for any call: Amazon did nothing.
# createDestination and createSubscription are safe to repeat: a second one answers 409 and the
# provider reads the existing one back.
_NOT_IDEMPOTENT = frozenset({"confirmShipment", "createFeed", "createFeedDocument"})


class AmazonClient:
    """SP-API for one seller in one marketplace. Every method is one operation; the provider pages,
    so it can yield page by page. One per run: its library clients share one connection pool."""

    def __init__(self, config: ClientConfig, *, refresh_token: str, selling_partner_id: str = "",
                 tokens: AccessTokens | None = None, limiter: RateLimiter | None = None, retries: int = 3,
                 retry_base: float = 1.0, sleep: Any = time.sleep,
                 observer: CallObserver | None = None):
        self.config = config
        self.observer = observer
        self.refresh_token = refresh_token
        self.tokens = tokens
        self.limiter = limiter
        self.retries = retries
        self.retry_base = retry_base
        self._sleep = sleep
        # Usage plans are per selling partner and operation: every marketplace (and so every integration)
        # of one seller spends the same buckets. Before the seller is known, per grant (a digest).
        self._principal = selling_partner_id or "grant-" + hashlib.sha256(refresh_token.encode()).hexdigest()[:16]
        self._apis: dict[type, Any] = {}
        self._pool: httpx.Client | None = None

    # -- plumbing --

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._apis.clear()

    def _build(self, api_class: type, rdt: str | None) -> Any:
        c = self.config
        marketplace = SimpleNamespace(endpoint=c.endpoint.rstrip("/"), marketplace_id=c.marketplace_id,
                                      region=c.aws_region)
        token_class = (_service_token_class(self.tokens)
                       if self.tokens is not None and not getattr(api_class, "grantless_only", False)
                       else _lwa_client_class(c.lwa_token_url, c.timeout))
        return api_class(
            marketplace,
            refresh_token=self.refresh_token,
            credentials={"refresh_token": self.refresh_token, "lwa_app_id": c.lwa_app_id,
                         "lwa_client_secret": c.lwa_client_secret},
            credential_providers=(FromCodeCredentialProvider,),
            restricted_data_token=rdt,
            timeout=c.timeout,
            verify=auth.tls_context(),          # also reaches the LWA client's transport
            auth_token_client_class=token_class,
        )

    def _api(self, api_class: type) -> Any:
        """The library client for this API, built once, on the run's one connection pool."""
        api = self._apis.get(api_class)
        if api is None:
            api = self._build(api_class, None)
            api._transport.close()
            api._transport = HttpxTransport(client=self._http())
            self._apis[api_class] = api
        return api

    def _http(self) -> httpx.Client:
        """The connection pool of this client: every SP-API call and the presigned feed document URLs."""
        if self._pool is None:
            self._pool = httpx.Client(timeout=self.config.timeout, verify=auth.tls_context())
        return self._pool

    def _forget_access_token(self) -> None:
        if self.tokens is not None:
            self.tokens.get(force_refresh=True)
        else:
            library_token_cache.cache.pop(build_cache_key(self.refresh_token), None)

    def _body(self, operation: str, api_class: type, method: str, *args: Any, rdt: str | None = None,
              **kwargs: Any) -> Any:
        """Run one library call and return its JSON body. Refused access is retried once with a fresh
        access token: the cached one may have expired; a revoked grant then fails at LWA."""
        try:
            return self._with_retries(operation, api_class, method, args, kwargs, rdt)
        except _AccessDenied:
            if rdt is not None:         # an RDT was created just now, for this page
                raise
            logger.info("amazon.access_denied_retry", extra={"operation": operation})
            if getattr(api_class, "grantless_only", False):
                library_token_cache.grantless_cache.clear()
            else:
                self._forget_access_token()
            return self._with_retries(operation, api_class, method, args, kwargs, rdt)

    def _with_retries(self, operation: str, api_class: type, method: str, args: tuple[Any, ...],
                      kwargs: Mapping[str, Any], rdt: str | None) -> Any:
        """A throttle, a 5xx or a timeout costs a wait and another try of this call (bounded, with
        jitter), not the run. Only reads are repeated after a 5xx or timeout (§0: read back first)."""
        name = operation.split()[0]          # "getOrder 123-..." -> the operation's plan
        rate, burst = usage_plan(name)
        # Grantless calls spend the application's plan, not a seller's.
        key = f"amazon:{'app' if getattr(api_class, 'grantless_only', False) else self._principal}:{name}"
        attempt = 0
        while True:
            if self.limiter is not None:
                self.limiter.acquire(key, rate=rate, burst=burst)
            try:
                return self._once(operation, api_class, method, args, kwargs, rdt, key=key, rate=rate)
            except ProviderRateLimited as exc:
                if self.limiter is not None:
                    self.limiter.throttled(key, rate=rate, burst=burst)
                if attempt >= self.retries:
                    raise
                wait = exc.retry_after or 0.0
            except ProviderUnavailable:
                if name in _NOT_IDEMPOTENT or attempt >= self.retries:
                    raise
                wait = 0.0
            attempt += 1
            backoff = self.retry_base * 2 ** (attempt - 1)
            delay = max(wait, random.uniform(backoff / 2, backoff))       # noqa: S311 (jitter, not crypto)
            logger.info("amazon.retry", extra={"operation": name, "attempt": attempt, "delay": round(delay, 3)})
            self._sleep(delay)

    def _once(self, operation: str, api_class: type, method: str, args: tuple[Any, ...],
              kwargs: Mapping[str, Any], rdt: str | None, *, key: str, rate: float) -> Any:
        started, api, failure = time.monotonic(), None, ""
        try:
            with _translated(operation):
                api = self._api(api_class)
                api.restricted_data_token = rdt
                api.last_status = None
                try:
                    getattr(api, method)(*args, **kwargs)
                except httpx.TimeoutException:
                    failure = "timed out"
                    raise
                except httpx.HTTPError as exc:
                    failure = f"no answer ({type(exc).__name__})"
                    raise
                finally:
                    api.restricted_data_token = None
                self._observe(api.last_rate_limit, key=key, rate=rate)
                return api.last_body
        finally:
            if self.observer is not None:
                status = getattr(api, "last_status", None)
                self.observer(operation=operation, outcome=f"HTTP {status}" if status else (failure or "failed"),
                              seconds=time.monotonic() - started)

    def _observe(self, header: str | None, *, key: str, rate: float) -> None:
        if not header or self.limiter is None or not hasattr(self.limiter, "observed"):
            return
        try:
            reported = float(header)
        except ValueError:
            return
        self.limiter.observed(key, published_rate=rate, reported_rate=reported)

    @staticmethod
    def _read(operation: str, reader: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return reader(*args, **kwargs)
        except (ValueError, TypeError, KeyError) as exc:
            raise ProviderUnavailable(f"Amazon's answer to {operation} could not be read: {exc}.") from None

    # -- Tokens 2021-03-01 (§9) --

    def create_restricted_data_token(self, resources: list[dict[str, Any]]) -> str:
        body = self._body("createRestrictedDataToken", _Tokens, "create_restricted_data_token",
                          restrictedResources=resources)
        return self._read("createRestrictedDataToken", mapping.restricted_data_token, body)

    # -- Orders v0 (§2) --

    def get_orders(self, params: Mapping[str, Any], *, rdt: str | None = None) -> mapping.OrdersPageData:
        body = self._body("getOrders", _Orders, "get_orders", rdt=rdt, **params)
        return self._read("getOrders", mapping.v0_orders_page, body)

    def get_order(self, order_id: str, *, rdt: str | None = None) -> Mapping[str, Any]:
        body = self._body(f"getOrder {order_id}", _Orders, "get_order", order_id, rdt=rdt)
        return self._read("getOrder", mapping.v0_order, body)

    def get_order_items(self, order_id: str, *, next_token: str = "") -> tuple[list[Any], str]:
        extra = {"NextToken": next_token} if next_token else {}
        body = self._body(f"getOrderItems {order_id}", _Orders, "get_order_items", order_id, **extra)
        return self._read("getOrderItems", mapping.v0_order_items_page, body)

    def confirm_shipment(self, order_id: str, body: Mapping[str, Any]) -> None:
        # 204 with an empty body on success (§2.5); anything else raises in _translated.
        self._body(f"confirmShipment {order_id}", _Orders, "confirm_shipment", order_id, **body)

    # -- Orders 2026-01-01 --

    def search_orders(self, params: Mapping[str, Any]) -> mapping.OrdersPageData:
        body = self._body("searchOrders", _Orders2026, "search_orders", **params)
        return self._read("searchOrders", mapping.v2026_orders_page, body)

    def get_order_2026(self, order_id: str, *, included_data: str) -> Mapping[str, Any]:
        body = self._body(f"getOrder {order_id}", _Orders2026, "get_order", order_id,
                          includedData=included_data)
        return self._read("getOrder", mapping.v2026_order, body)

    # -- Listings Items 2021-08-01 (§3.1) --

    def patch_listings_item(self, seller_id: str, sku: str, body: Mapping[str, Any]) -> tuple[bool, str]:
        answer = self._body(f"patchListingsItem {sku}", _Listings, "patch_listings_item", seller_id, sku,
                            marketplaceIds=self.config.marketplace_id, body=dict(body))
        return self._read("patchListingsItem", mapping.listing_submission, answer)

    # -- Feeds 2021-06-30 (§1.6, §3.2) --

    def create_feed_document(self, content_type: str) -> tuple[str, str]:
        # file=None: the library creates the document and skips its own upload.
        body = self._body("createFeedDocument", _Feeds, "create_feed_document", None, content_type)
        return self._read("createFeedDocument", mapping.feed_document_created, body)

    def upload_feed_document(self, url: str, content: bytes, content_type: str) -> None:
        with _translated("feed document upload"):
            response = self._http().put(url, content=content, headers={"Content-Type": content_type})
        if not 200 <= response.status_code < 300:
            raise ProviderUnavailable(f"Amazon refused the feed document upload: "
                                      f"HTTP {response.status_code}.")

    def create_feed(self, feed_type: str, document_id: str) -> str:
        body = self._body("createFeed", _Feeds, "create_feed", feed_type, document_id,
                          marketplaceIds=[self.config.marketplace_id])
        return self._read("createFeed", mapping.feed_created, body)

    def get_feed(self, feed_id: str) -> tuple[str, str]:
        body = self._body(f"getFeed {feed_id}", _Feeds, "get_feed", feed_id)
        return self._read("getFeed", mapping.feed_state, body)

    def get_feed_document(self, document_id: str) -> tuple[str, bool]:
        body = self._body("getFeedDocument", _Feeds, "get_feed_document_info", document_id)
        return self._read("getFeedDocument", mapping.feed_document_location, body)

    def download_feed_document(self, url: str, *, gzipped: bool) -> Mapping[str, Any]:
        with _translated("feed report download"):
            response = self._http().get(url)
        if not 200 <= response.status_code < 300:
            raise ProviderUnavailable(f"The feed processing report could not be downloaded: "
                                      f"HTTP {response.status_code}.")
        return self._read("feed report download", mapping.feed_report_json, response.content, gzipped=gzipped)

    # -- Notifications v1: destinations are the application's (grantless), subscriptions the seller's --

    def get_destinations(self) -> list[Mapping[str, Any]]:
        body = self._body("getDestinations", _AppNotifications, "grantless", "GET", "/notifications/v1/destinations")
        return self._read("getDestinations", mapping.destinations, body)

    def create_destination(self, name: str, sqs_arn: str) -> Mapping[str, Any]:
        body = self._body("createDestination", _AppNotifications, "grantless", "POST", "/notifications/v1/destinations",
                          data={"name": name, "resourceSpecification": {"sqs": {"arn": sqs_arn}}})
        return self._read("createDestination", mapping.destination, body)

    def create_subscription(self, notification_type: str, destination_id: str) -> Mapping[str, Any]:
        body = self._body(f"createSubscription {notification_type}", _Notifications, "create_subscription",
                          notification_type, destination_id=destination_id)
        return self._read("createSubscription", mapping.subscription, body)

    def get_subscription(self, notification_type: str) -> Mapping[str, Any]:
        body = self._body(f"getSubscription {notification_type}", _Notifications, "get_subscription",
                          notification_type)
        return self._read("getSubscription", mapping.subscription, body)

    def delete_subscription(self, notification_type: str, subscription_id: str) -> None:
        self._body(f"deleteSubscriptionById {notification_type}", _AppNotifications, "grantless", "DELETE",
                   f"/notifications/v1/subscriptions/{notification_type}/{subscription_id}")

    # -- Supply Sources 2020-07-01 (§4) --

    def get_supply_sources(self, *, next_page_token: str = "") -> tuple[list[Mapping[str, Any]], str]:
        extra = {"nextPageToken": next_page_token} if next_page_token else {}
        body = self._body("getSupplySources", _SupplySources, "get_supply_sources", **extra)
        return self._read("getSupplySources", mapping.supply_sources_page, body)

    def get_supply_source(self, supply_source_id: str) -> Mapping[str, Any]:
        body = self._body(f"getSupplySource {supply_source_id}", _SupplySources, "get_supply_source",
                          supply_source_id)
        if not isinstance(body, Mapping):
            raise ProviderUnavailable("Amazon's answer to getSupplySource could not be read.")
        return body
