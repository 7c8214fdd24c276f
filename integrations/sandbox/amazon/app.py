"""AmazonSandbox: Amazon's SP-API, Login with Amazon and the feed-document store on one local server.

Written from Amazon's models (shared/spapi-models) and reference/sp-api.md only: it shares nothing
with the product's client, so a misreading on either side shows up as a failing test.

Every SP-API call goes through `before_vendor_call`: the `x-amz-access-token` header names the
selling partner (an LWA access token or a restricted data token); then the partner's token bucket
for the operation. Handlers run one at a time under the base class's lock.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable, Literal, NamedTuple

from integrations.sandbox.http import Request, Response, SandboxApp

from . import feeds, listings, lwa, notifications, orders, supply_sources, tokens
from .common import Clock, SpApiError, sp_error
from .control import ControlApi
from .ratelimit import RateLimiter
from .seeding import seed_demo
from .state import App, CallContext, SandboxState

DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8000/integrations/amazon/callback/",
                         "http://localhost:8000/integrations/amazon/callback/")
SpApiHandler = Callable[["AmazonSandbox", Request, CallContext], Response]
PlainHandler = Callable[["AmazonSandbox", Request], Response]
DEFAULT_ERROR_CODES = {400: "InvalidInput", 403: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed",
                       429: "QuotaExceeded", 500: "InternalFailure", 503: "ServiceUnavailable"}


class Operation(NamedTuple):
    name: str
    kind: Literal["spapi", "grantless", "lwa", "consent", "s3"]


def unauthorized(details: str) -> Response:
    # reference/sp-api.md §5: 403 Unauthorized with the reason in details
    return sp_error(403, "Unauthorized", "Access to requested resource is denied.", details)


class AmazonSandbox(SandboxApp):
    name = "amazon"

    def __init__(self, *, lwa_client_id: str = "amzn1.application-oa2-client.sandbox",
                 lwa_client_secret: str = "sandbox-secret",
                 application_id: str = "amzn1.sellerapps.app.sandbox",
                 redirect_uris: tuple[str, ...] | list[str] = DEFAULT_REDIRECT_URIS,
                 time_scale: float = 1.0, rate_limits: bool = True, seed_demo: bool = False,
                 lag_seconds: float = 0.0, seed: int | None = None, sqs_endpoint_url: str = "") -> None:
        self._app_options = {"application_id": application_id, "client_id": lwa_client_id,
                             "client_secret": lwa_client_secret, "redirect_uris": list(redirect_uris)}
        self._time_scale = time_scale
        self._rate_limits = rate_limits
        self._seed_demo = seed_demo
        self._lag_seconds = lag_seconds
        self._seed = seed
        self._operations: dict[Callable[[Request], Response], Operation] = {}
        self._context: CallContext | None = None
        self.state = self._fresh_state()
        self.limiter = RateLimiter(enabled=rate_limits, time_scale=time_scale)
        # ORDER_CHANGE messages go to this SQS-compatible endpoint (moto's server on loopback).
        self.sqs = notifications.SqsSender()
        self.sqs.endpoint_url = sqs_endpoint_url
        super().__init__()

    def _fresh_state(self) -> SandboxState:
        opts = self._app_options
        app = App(application_id=opts["application_id"], client_id=opts["client_id"],
                  client_secret=opts["client_secret"], redirect_uris=list(opts["redirect_uris"]))
        state = SandboxState(app, Clock(lag_seconds=self._lag_seconds), seed=self._seed)
        if self._seed_demo:
            seed_demo(state)
        return state

    # -- routes ------------------------------------------------------------------------------------
    def register_routes(self) -> None:
        route = self._route
        route("POST", "/auth/o2/token", "token", "lwa", lwa.token)
        route("GET", "/apps/authorize/consent", "consent", "consent", lwa.consent_page)
        route("POST", "/apps/authorize/consent", "consent", "consent", lwa.consent_decision)
        route("PUT", "/_s3/feeds/{documentId}", "upload", "s3", feeds.s3_put)
        route("GET", "/_s3/feeds/{documentId}", "download", "s3", feeds.s3_get)

        api = self._spapi
        api("GET", "/orders/v0/orders", "getOrders", orders.get_orders)
        api("GET", "/orders/v0/orders/{orderId}", "getOrder", orders.get_order)
        api("GET", "/orders/v0/orders/{orderId}/orderItems", "getOrderItems", orders.get_order_items)
        api("GET", "/orders/v0/orders/{orderId}/address", "getOrderAddress", orders.get_order_address)
        api("GET", "/orders/v0/orders/{orderId}/buyerInfo", "getOrderBuyerInfo", orders.get_order_buyer_info)
        api("GET", "/orders/v0/orders/{orderId}/orderItems/buyerInfo", "getOrderItemsBuyerInfo",
            orders.get_order_items_buyer_info)
        api("POST", "/orders/v0/orders/{orderId}/shipmentConfirmation", "confirmShipment", orders.confirm_shipment)
        api("GET", "/orders/2026-01-01/orders", "searchOrders", orders.search_orders)
        api("GET", "/orders/2026-01-01/orders/{orderId}", "getOrder_2026", orders.get_order_2026)
        api("POST", "/tokens/2021-03-01/restrictedDataToken", "createRestrictedDataToken",
            tokens.create_restricted_data_token)
        grantless = self._grantless
        grantless("POST", "/notifications/v1/destinations", "createDestination", notifications.create_destination)
        grantless("GET", "/notifications/v1/destinations", "getDestinations", notifications.get_destinations)
        grantless("GET", "/notifications/v1/destinations/{destinationId}", "getDestination",
                  notifications.get_destination)
        grantless("DELETE", "/notifications/v1/destinations/{destinationId}", "deleteDestination",
                  notifications.delete_destination)
        grantless("DELETE", "/notifications/v1/subscriptions/{notificationType}/{subscriptionId}",
                  "deleteSubscriptionById", notifications.delete_subscription_by_id)
        api("POST", "/notifications/v1/subscriptions/{notificationType}", "createSubscription",
            notifications.create_subscription)
        api("GET", "/notifications/v1/subscriptions/{notificationType}", "getSubscription",
            notifications.get_subscription)
        api("GET", "/supplySources/2020-07-01/supplySources", "getSupplySources", supply_sources.get_supply_sources)
        api("POST", "/supplySources/2020-07-01/supplySources", "createSupplySource",
            supply_sources.create_supply_source)
        api("GET", "/supplySources/2020-07-01/supplySources/{supplySourceId}", "getSupplySource",
            supply_sources.get_supply_source)
        api("PUT", "/supplySources/2020-07-01/supplySources/{supplySourceId}/status", "updateSupplySourceStatus",
            supply_sources.update_supply_source_status)
        api("DELETE", "/supplySources/2020-07-01/supplySources/{supplySourceId}", "archiveSupplySource",
            supply_sources.archive_supply_source)
        api("PATCH", "/listings/2021-08-01/items/{sellerId}/{sku}", "patchListingsItem", listings.patch_listings_item)
        api("GET", "/listings/2021-08-01/items/{sellerId}/{sku}", "getListingsItem", listings.get_listings_item)
        api("POST", "/feeds/2021-06-30/documents", "createFeedDocument", feeds.create_feed_document)
        api("GET", "/feeds/2021-06-30/documents/{feedDocumentId}", "getFeedDocument", feeds.get_feed_document)
        api("POST", "/feeds/2021-06-30/feeds", "createFeed", feeds.create_feed)
        api("GET", "/feeds/2021-06-30/feeds", "getFeeds", feeds.get_feeds)
        api("GET", "/feeds/2021-06-30/feeds/{feedId}", "getFeed", feeds.get_feed)
        api("DELETE", "/feeds/2021-06-30/feeds/{feedId}", "cancelFeed", feeds.cancel_feed)

        ControlApi(self).register()

    def _route(self, method: str, pattern: str, name: str, kind: Literal["lwa", "consent", "s3"],
               fn: PlainHandler) -> None:
        def handler(request: Request) -> Response:
            return fn(self, request)
        self._operations[handler] = Operation(name, kind)
        self.router.add(method, pattern, handler)

    def _spapi(self, method: str, pattern: str, operation: str, fn: SpApiHandler) -> None:
        def handler(request: Request) -> Response:
            ctx = self._context
            if ctx is None:          # before_vendor_call always sets it; keep the answer Amazon-shaped anyway
                return unauthorized("Access token is missing in the request header.")
            try:
                return fn(self, request, ctx)
            except SpApiError as exc:
                return exc.response()
        self._operations[handler] = Operation(operation, "spapi")
        self.router.add(method, pattern, handler)

    def _grantless(self, method: str, pattern: str, operation: str, fn: PlainHandler) -> None:
        def handler(request: Request) -> Response:
            try:
                return fn(self, request)
            except SpApiError as exc:
                return exc.response()
        self._operations[handler] = Operation(operation, "grantless")
        self.router.add(method, pattern, handler)

    def _operation(self, request: Request) -> Operation | None:
        handler, _, _ = self.router.match(request.method, request.raw_path)
        return self._operations.get(handler) if handler is not None else None

    # -- the SandboxApp hooks ------------------------------------------------------------------------
    def before_vendor_call(self, request: Request) -> Response | None:
        self._context = None
        op = self._operation(request)
        if op is None or op.kind not in ("spapi", "grantless"):
            return None
        value = request.headers.get("x-amz-access-token")
        if not value:
            return unauthorized("Access token is missing in the request header.")
        token = self.state.tokens.get(value)
        if token is None or token.expires <= self.state.clock.now():
            return unauthorized("The access token you provided is revoked, malformed or invalid.")
        if op.kind == "grantless":
            # Application-level operations take only a grantless (client_credentials) token.
            if token.kind != "grantless":
                return unauthorized("This operation is grantless: call it with a client_credentials token.")
            if not self.limiter.take("app", op.name):
                return self.throttled(request)
            return None
        seller = self.state.sellers.get(token.seller_id or "")
        if token.kind == "grantless" or seller is None:
            return unauthorized("The access token does not authorize calls on behalf of a selling partner.")
        ctx = CallContext(seller=seller, token=token, operation=op.name)
        # An RDT authorizes only the restricted resources it names (sp-api.md §9).
        if token.kind == "rdt" and ctx.data_elements(request.method, request.path) is None:
            return unauthorized("The restricted data token does not cover this resource.")
        if not self.limiter.take(seller.selling_partner_id, op.name):
            return self.throttled(request)
        self._context = ctx
        return None

    def decorate(self, request: Request, response: Response) -> None:
        self._context = None
        op = self._operation(request)
        if op is not None and op.kind == "s3":
            response.headers.setdefault("x-amz-request-id", uuid.uuid4().hex[:16].upper())
            return
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        if op is None:
            return
        if op.kind == "lwa" and response.status >= 429:
            _as_lwa_error(response)
        # "best-effort on 20x, 400 and 404 only, never on 429 or auth failures" (sp-api.md §5)
        if op.kind in ("spapi", "grantless") and (200 <= response.status < 300 or response.status in (400, 404)):
            plan = self.limiter.plan(op.name)
            if plan is not None:
                response.headers["x-amzn-RateLimit-Limit"] = plan.header

    def vendor_error(self, status: int, message: str, code: str = "") -> Response:
        return sp_error(status, code or DEFAULT_ERROR_CODES.get(status, "InternalFailure"), message, "")

    def throttled(self, request: Request) -> Response:
        return sp_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource.", "")

    def reset_state(self) -> None:
        self.sqs.sent.clear()
        self.state = self._fresh_state()
        self.limiter = RateLimiter(enabled=self._rate_limits, time_scale=self._time_scale)


def _as_lwa_error(response: Response) -> None:
    """An injected failure on the LWA endpoint speaks LWA's error shape (OAuth 2.0 codes), not SP-API's."""
    try:
        body: Any = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return
    if isinstance(body, dict) and body.get("errors"):
        error = "server_error" if response.status == 500 else "temporarily_unavailable"
        response.body = json.dumps({"error_description": body["errors"][0].get("message", ""),
                                    "error": error}).encode("utf-8")
