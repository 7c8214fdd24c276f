"""AmazonProvider: the MarketplaceProvider interface over SP-API, knowing no Django model.

The registry builds it from settings; every method takes a `Connection` (the seller's refresh
token, selling partner id, marketplace and options) and returns base dataclasses or raises the
ProviderError family. Section numbers refer to reference/sp-api.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from integrations.providers.base import (
    AuthorizationRequest,
    Connection,
    Credentials,
    FeedFinished,
    KnownOrders,
    MarketplaceOrder,
    MarketplaceOrderLine,
    OrderPage,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    PushResult,
    RateLimiter,
    ShipmentConfirmation,
    ShipmentReadBack,
    StockLevelUpdate,
    SupplySource,
    TokenGrant,
)

from . import auth, mapping
from .client import AmazonClient, ClientConfig
from .marketplaces import Marketplace, marketplace_get, marketplaces_enabled

logger = logging.getLogger(__name__)

ORDERS_API_V0 = "v0"
ORDER_CHANGE = "ORDER_CHANGE"        # MFN_ORDER_STATUS_CHANGE and ORDER_STATUS_CHANGE are retired
ORDERS_API_2026 = "2026-01-01"
# Cancellations must be seen too, so the warehouse can stop an order it has not picked yet.
V0_STATUSES = "Unshipped,PartiallyShipped,Canceled"
V2026_STATUSES = "UNSHIPPED,PARTIALLY_SHIPPED,CANCELLED"
PAGE_SIZE = 100                       # the maximum for getOrders and searchOrders
# While a page's items are read, what is read is handed over (committed) at least this often. At the
# wire's speed a page takes less: it stays one transaction. Past getOrderItems' burst (0.5 rps) each
# order is handed over within about this long of its items.
HANDOVER_SECONDS = 2.0
BY_ID_BATCH = 50                      # getOrders takes at most 50 AmazonOrderIds (§2.1)
# getOrders needs a window even with AmazonOrderIds; Amazon keeps two years of orders (§2.1).
BY_ID_LOOKBACK = dt.timedelta(days=730)
PATCH_LIMIT = 5                       # up to this many SKUs: patchListingsItem each (burst 5, §5)
# LastUpdatedBefore must be at least two minutes before the request (§2.1).
_NEWEST_ALLOWED = dt.timedelta(minutes=2)
_MAX_SUPPLY_SOURCE_PAGES = 100


class AmazonProvider:
    key: ClassVar[str] = "amazon"

    def __init__(self, *, lwa_app_id: str, lwa_client_secret: str, application_id: str,
                 lwa_token_url: str = "https://api.amazon.com/auth/o2/token", spapi_endpoint: str = "",
                 seller_central_url: str = "", app_is_draft: bool = False, timeout: float = 20.0,
                 sleep: Callable[[float], None] = time.sleep, limiter: RateLimiter | None = None, retries: int = 3,
                 retry_base: float = 1.0):
        self.lwa_app_id = lwa_app_id
        self.lwa_client_secret = lwa_client_secret
        self.application_id = application_id
        self.lwa_token_url = lwa_token_url
        self.spapi_endpoint = spapi_endpoint.rstrip("/")
        self.seller_central_url = seller_central_url.rstrip("/")
        self.app_is_draft = app_is_draft
        self.timeout = timeout
        self.sleep = sleep
        self.limiter = limiter
        self.retries = retries
        self.retry_base = retry_base
        # One AmazonClient (one connection pool) per seller and marketplace for this provider's life: a run.
        self._clients: dict[tuple[str, str, str], AmazonClient] = {}

    # --- the wizard ---------------------------------------------------------------------------------

    @staticmethod
    def marketplaces() -> list[Marketplace]:
        """The marketplaces the wizard offers (marketplaces.py has every one)."""
        return marketplaces_enabled()

    def authorization_url(self, *, state: str, redirect_uri: str,
                          marketplace_id: str = "") -> AuthorizationRequest:
        """The marketplace's Seller Central consent page (§6); one consent covers its whole region."""
        if not self.application_id:
            raise ProviderAuthError("The Amazon application id is not configured.")
        marketplace = marketplace_get(marketplace_id) if marketplace_id else None
        base = self.seller_central_url or (marketplace.seller_central_url if marketplace else "")
        if not base:
            raise ProviderRejected("Choose the Amazon marketplace before connecting.")
        return AuthorizationRequest(url=auth.consent_url(
            seller_central_url=base, application_id=self.application_id, state=state,
            redirect_uri=redirect_uri, draft=self.app_is_draft))

    def complete_authorization(self, *, params: Mapping[str, str], redirect_uri: str,
                               code_verifier: str = "") -> Credentials:
        """The consent callback's query -> refresh token and selling partner id. The caller has
        already checked `state`; the code is valid for five minutes (§6)."""
        code, selling_partner_id = auth.callback_grant(params)
        try:
            tokens = auth.exchange_code(token_url=self.lwa_token_url, client_id=self.lwa_app_id,
                                        client_secret=self.lwa_client_secret, code=code,
                                        redirect_uri=redirect_uri, timeout=self.timeout)
        except ProviderAuthError:
            raise
        except ProviderError as exc:
            # The wizard cannot retry for the seller: whatever failed, they must connect again.
            raise ProviderAuthError(f"{exc.message} Connect again to retry.") from exc
        logger.info("amazon.authorized", extra={"selling_partner_id": selling_partner_id})
        return Credentials(refresh_token=tokens.refresh_token, account_id=selling_partner_id,
                           access_token=tokens.access_token,
                           access_token_expires_at=_now() + dt.timedelta(seconds=tokens.expires_in))

    def refresh_tokens(self, *, refresh_token: str) -> TokenGrant:
        """A fresh access token through LWA's refresh_token grant. Amazon refresh tokens do not
        rotate, so the grant carries the same one back; a revoked grant is a ProviderAuthError."""
        tokens = auth.refresh(token_url=self.lwa_token_url, client_id=self.lwa_app_id,
                              client_secret=self.lwa_client_secret, refresh_token=refresh_token,
                              timeout=self.timeout)
        return mapping.token_grant(tokens, refresh_token=refresh_token, now=_now())

    def test_connection(self, *, conn: Connection) -> str:
        """Proves the grant at LWA now (the library's token cache could hide a revoked one for
        53 minutes), then reads one order of the last ten minutes with the integration's Orders API:
        that needs the Orders role and a seller selling in this marketplace, which every sync needs.
        (Supply Sources is not used: its role and MLI are not available to every seller, §4.)"""
        client, marketplace = self._client(conn)
        self.refresh_tokens(refresh_token=conn.refresh_token)
        after = mapping.format_datetime(_now() - dt.timedelta(minutes=10))
        if _orders_api(conn) == ORDERS_API_2026:
            client.search_orders({"marketplaceIds": conn.marketplace_id, "lastUpdatedAfter": after,
                                  "fulfilledBy": "MERCHANT", "maxResultsPerPage": 1})
        else:
            client.get_orders({"MarketplaceIds": conn.marketplace_id, "LastUpdatedAfter": after,
                               "FulfillmentChannels": "MFN", "MaxResultsPerPage": 1})
        return (f"Connected to Amazon {marketplace.name} as selling partner {conn.account_id}: "
                "the authorization is valid and orders can be read.")

    def supply_sources(self, *, conn: Connection) -> list[SupplySource]:
        """Every supply source with its status: the list carries none, so each is read (§4)."""
        client, _ = self._client(conn)
        summaries: list[Mapping[str, Any]] = []
        token = ""
        for _page in range(_MAX_SUPPLY_SOURCE_PAGES):
            page, token = client.get_supply_sources(next_page_token=token)
            summaries.extend(page)
            if not token:
                break
        sources = []
        for summary in summaries:
            source_id = mapping.supply_source_id(summary)
            if source_id:
                sources.append(mapping.supply_source(client.get_supply_source(source_id), summary))
        return sources

    # --- push: ORDER_CHANGE notifications to an SQS queue ------------------------------------------

    def push_subscribe(self, *, conn: Connection, sqs_arn: str, destination_name: str,
                       notification_type: str = ORDER_CHANGE) -> str:
        """Makes sure the application has a destination for the queue (grantless, once per app) and the
        seller a subscription of this type (ORDER_CHANGE, FEED_PROCESSING_FINISHED) to it. Returns the
        subscription id. Idempotent: a seller already subscribed (another integration of the same seller,
        or a repeat) keeps its subscription."""
        client, _ = self._client(conn)

        def destination_id() -> str:
            return next((d["destinationId"] for d in client.get_destinations()
                         if mapping.destination_sqs_arn(d) == sqs_arn and d.get("destinationId")), "")

        def subscription() -> Mapping[str, Any] | None:
            try:
                return client.get_subscription(notification_type)
            except ProviderRejected as exc:
                if exc.status != 404:             # 404: not subscribed yet
                    raise
                return None

        found = destination_id()
        if not found:
            try:
                found = client.create_destination(destination_name, sqs_arn)["destinationId"]
            except ProviderRejected as exc:       # 409: made meanwhile (another worker, or a lost answer)
                if exc.status != 409 or not (found := destination_id()):
                    raise
        existing = subscription()
        if existing and existing.get("destinationId") == found:
            return existing["subscriptionId"]
        if existing:                              # subscribed to an older queue: move it
            client.delete_subscription(notification_type, existing["subscriptionId"])
        try:
            return client.create_subscription(notification_type, found)["subscriptionId"]
        except ProviderRejected as exc:
            if exc.status != 409 or not (existing := subscription()):
                raise
            return existing["subscriptionId"]

    def push_unsubscribe(self, *, conn: Connection, subscription_id: str,
                         notification_type: str = ORDER_CHANGE) -> None:
        """Grantless, so it works after the seller's grant is gone. Already gone counts as done."""
        client, _ = self._client(conn, grantless=True)
        try:
            client.delete_subscription(notification_type, subscription_id)
        except ProviderRejected as exc:
            if exc.status != 404:
                raise

    # --- orders ------------------------------------------------------------------------------------

    def orders_updated_since(self, *, conn: Connection, since: dt.datetime, until: dt.datetime | None = None,
                             cursor: Mapping[str, Any] | None = None,
                             known: KnownOrders | None = None) -> Iterator[OrderPage]:
        """MFN orders in Unshipped, PartiallyShipped or Canceled changed in [since, until], a page at a
        time. Only the last page carries the watermark: the upper bound Amazon applied. `cursor` resumes
        a stopped run at its page (NextToken); orders `known` to the caller get no items call."""
        client, _ = self._client(conn)
        if until is not None:
            until = min(until, _now() - _NEWEST_ALLOWED)
            if until <= since:
                return
        token = str((cursor or {}).get("next_token") or "")
        if _orders_api(conn) == ORDERS_API_2026:
            yield from self._pages_2026(client, conn, since, until, token)
        else:
            yield from self._pages_v0(client, conn, since, until, token, known)

    def orders_by_id(self, *, conn: Connection, order_ids: Sequence[str],
                     pushed_lines: Mapping[str, Sequence[MarketplaceOrderLine]] | None = None
                     ) -> list[MarketplaceOrder]:
        """These orders, whatever their status. One that Amazon refuses comes back with `problems`.

        On v0, up to 50 ids cost one getOrders (AmazonOrderIds) and one RDT for their addresses, not a
        getOrder each: a burst of pushed orders stays within getOrder's 0.5 rps. An order whose
        ORDER_CHANGE items (`pushed_lines`) agree with the header's item counts needs no getOrderItems
        either. Ids the search does not return (another marketplace, not searchable yet, a wrong
        number) are read one by one with getOrder."""
        client, _ = self._client(conn)
        ids = list(dict.fromkeys(i.strip() for i in order_ids if i and i.strip()))
        if not ids:
            return []
        if _orders_api(conn) == ORDERS_API_2026:
            return [self._one_2026(client, order_id) for order_id in ids]
        pushed_lines = pushed_lines or {}
        found: dict[str, Any] = {}
        for start in range(0, len(ids), BY_ID_BATCH):
            batch = ids[start:start + BY_ID_BATCH]
            rdt = client.create_restricted_data_token([mapping.RDT_BULK_ORDERS])
            page = client.get_orders({"MarketplaceIds": conn.marketplace_id, "AmazonOrderIds": ",".join(batch),
                                      "CreatedAfter": mapping.format_datetime(_now() - BY_ID_LOOKBACK),
                                      "MaxResultsPerPage": PAGE_SIZE}, rdt=rdt)
            found.update((mapping.v0_order_id(raw), raw) for raw in page.orders)
        orders: list[MarketplaceOrder] = []
        one_rdt = ""
        for order_id in ids:
            raw = found.get(order_id)
            if raw is None:
                # One RDT serves every getOrder of the call (§9).
                one_rdt = one_rdt or client.create_restricted_data_token([mapping.RDT_ONE_ORDER])
                orders.append(self._one_v0(client, order_id, one_rdt))
            elif mapping.v0_pushed_lines_match(raw, pushed_lines.get(order_id, ())):
                orders.append(mapping.order_from_v0(raw, None, pushed_lines=pushed_lines[order_id]))
            else:
                orders.append(self._with_items_v0(client, raw))
        return orders

    def _pages_v0(self, client: AmazonClient, conn: Connection, since: dt.datetime,
                  until: dt.datetime | None, next_token: str, known: KnownOrders | None) -> Iterator[OrderPage]:
        params: dict[str, Any] = {
            "MarketplaceIds": conn.marketplace_id,
            "LastUpdatedAfter": mapping.format_datetime(since),
            "OrderStatuses": V0_STATUSES,
            # AFN (FBA) orders are Amazon's work, not the warehouse's: not even listed.
            "FulfillmentChannels": "MFN",
            "MaxResultsPerPage": PAGE_SIZE,
        }
        if until is not None:
            params["LastUpdatedBefore"] = mapping.format_datetime(until)
        latest: dt.datetime | None = None
        while True:
            here = {"next_token": next_token} if next_token else {}
            # One RDT per page on the bulk path: getOrders itself then returns the shipping address
            # and buyer info (§9), instead of one getOrderAddress per order.
            rdt = client.create_restricted_data_token([mapping.RDT_BULK_ORDERS])
            page = client.get_orders({**params, "NextToken": next_token} if next_token else params, rdt=rdt)
            ids = [i for i in (mapping.v0_order_id(raw) for raw in page.orders) if i]
            have = known(ids) if known is not None and ids else set()
            orders: list[MarketplaceOrder] = []
            handed, since = 0, time.monotonic()
            try:
                for position, raw in enumerate(page.orders, 1):
                    orders.append(self._with_items_v0(client, raw, skip_items=mapping.v0_order_id(raw) in have))
                    # Past getOrderItems' burst a page of new orders takes minutes (0.5 rps): hand what is
                    # read over in parts, so each order is in the warehouse soon after its items are.
                    if position < len(page.orders) and time.monotonic() - since >= HANDOVER_SECONDS:
                        yield OrderPage(orders=tuple(orders), cursor=here, complete=False, listed=len(orders))
                        handed, orders, since = handed + len(orders), [], time.monotonic()
            except (ProviderRateLimited, ProviderUnavailable):
                # What was read is handed over first: the caller commits it, and resumes at this page.
                yield OrderPage(orders=tuple(orders), cursor=here, complete=False, listed=len(page.orders))
                raise
            latest = _latest(latest, (mapping.v0_last_update(raw) for raw in page.orders))
            next_token = page.next_token
            logger.info("amazon.orders_page", extra={"count": len(orders), "more": bool(next_token)})
            if not next_token:
                yield OrderPage(orders=tuple(orders), watermark=page.upper_bound or until or latest,
                                listed=len(page.orders) - handed)
                return
            yield OrderPage(orders=tuple(orders), cursor={"next_token": next_token}, listed=len(page.orders) - handed)

    def _with_items_v0(self, client: AmazonClient, raw: Any, *, skip_items: bool = False) -> MarketplaceOrder:
        order_id = mapping.v0_order_id(raw)
        # Items only for an order we may create: not one already imported, not FBA, not cancelled or pending.
        if skip_items or not order_id or not mapping.v0_needs_items(raw):
            return mapping.order_from_v0(raw, items=None)
        try:
            items = self._items_v0(client, order_id)
        except ProviderRejected as exc:
            # This order alone: the rest of the page goes on (throttling and outages still stop it).
            return mapping.order_from_v0(raw, items=None, extra_problems=(
                f"Its items could not be read ({exc.message}); it is retried on the next poll.",))
        return mapping.order_from_v0(raw, items)

    @staticmethod
    def _items_v0(client: AmazonClient, order_id: str) -> list[Any]:
        items, token = client.get_order_items(order_id)
        while token:
            more, token = client.get_order_items(order_id, next_token=token)
            items.extend(more)
        return items

    def _one_v0(self, client: AmazonClient, order_id: str, rdt: str) -> MarketplaceOrder:
        try:
            raw = client.get_order(order_id, rdt=rdt)
        except ProviderRejected as exc:
            return mapping.order_unreadable(order_id, f"{exc.message} Check the order number.")
        return self._with_items_v0(client, raw)

    def _pages_2026(self, client: AmazonClient, conn: Connection, since: dt.datetime,
                    until: dt.datetime | None, token: str) -> Iterator[OrderPage]:
        # includedData brings items, recipient and buyer in the same answer: no RDT, no items call.
        params: dict[str, Any] = {
            "marketplaceIds": conn.marketplace_id,
            "lastUpdatedAfter": mapping.format_datetime(since),
            "fulfillmentStatuses": V2026_STATUSES,
            "fulfilledBy": "MERCHANT",
            "maxResultsPerPage": PAGE_SIZE,
            "includedData": mapping.V2026_INCLUDED_DATA,
        }
        if until is not None:
            params["lastUpdatedBefore"] = mapping.format_datetime(until)
        latest: dt.datetime | None = None
        while True:
            page = client.search_orders({**params, "paginationToken": token} if token else params)
            orders = tuple(mapping.order_from_v2026(raw) for raw in page.orders)
            latest = _latest(latest, (o.updated_at for o in orders))
            token = page.next_token
            logger.info("amazon.orders_page", extra={"count": len(orders), "more": bool(token)})
            if not token:
                yield OrderPage(orders=orders, watermark=page.upper_bound or until or latest, listed=len(orders))
                return
            # v2026 pagination tokens live 24 h: a stopped run resumes with it, or starts over.
            yield OrderPage(orders=orders, cursor={"next_token": token}, listed=len(orders))

    @staticmethod
    def _one_2026(client: AmazonClient, order_id: str) -> MarketplaceOrder:
        # searchOrders cannot look orders up by id (§10, issue 5140): getOrder per id.
        try:
            raw = client.get_order_2026(order_id, included_data=mapping.V2026_INCLUDED_DATA)
        except ProviderRejected as exc:
            return mapping.order_unreadable(order_id, f"{exc.message} Check the order number.")
        return mapping.order_from_v2026(raw)

    # --- fulfilment ------------------------------------------------------------------------------------

    def confirm_shipment(self, *, conn: Connection, shipment: ShipmentConfirmation) -> str:
        """confirmShipment for one package (§2.5). Amazon also accepts edits of shipped orders, so
        "once" is the caller's database row; a refusal (e.g. already shipped) is ProviderRejected."""
        if not shipment.items:
            raise ProviderRejected(f"Package {shipment.package_reference} has no items to confirm.")
        client, _ = self._client(conn)
        client.confirm_shipment(shipment.order_id,
                                mapping.confirm_shipment_body(shipment, marketplace_id=conn.marketplace_id))
        logger.info("amazon.shipment_confirmed",
                    extra={"order_id": shipment.order_id, "package_reference": shipment.package_reference})
        return ""

    def shipments_read_back(self, *, conn: Connection, order_id: str) -> ShipmentReadBack:
        """What Amazon already holds as shipped on this order, after a confirmShipment whose outcome
        is unknown (a timeout, a reset, a 5xx): v2026 getOrder lists packages with our reference and
        tracking number; v0 only has each item's QuantityShipped (§2.3)."""
        client, _ = self._client(conn)
        if _orders_api(conn) == ORDERS_API_2026:
            raw = client.get_order_2026(order_id, included_data="PACKAGES")
            return AmazonClient._read("getOrder", mapping.shipment_read_back_v2026, raw)
        return AmazonClient._read("getOrderItems", mapping.shipment_read_back_v0, self._items_v0(client, order_id))

    # --- stock -----------------------------------------------------------------------------------------

    def push_inventory(self, *, conn: Connection, levels: Sequence[StockLevelUpdate]) -> PushResult:
        """Merchant-fulfilled quantities: a few SKUs by patchListingsItem, more by one
        JSON_LISTINGS_FEED whose processing report says which SKUs Amazon rejected (§3)."""
        unique = list({level.sku: level for level in levels if level.sku}.values())   # last one wins
        if not unique:
            return PushResult()
        client, _ = self._client(conn)
        if len(unique) <= PATCH_LIMIT:
            return self._patch_each(client, conn, unique)
        return self._feed(client, conn, unique)

    @staticmethod
    def _patch_each(client: AmazonClient, conn: Connection, levels: Sequence[StockLevelUpdate]) -> PushResult:
        accepted: list[str] = []
        rejected: list[tuple[str, str]] = []
        for level in levels:
            try:
                ok, reason = client.patch_listings_item(conn.account_id, level.sku,
                                                        mapping.listing_patch_body(level.quantity))
            except ProviderRejected as exc:
                ok, reason = False, exc.message
            if ok:
                accepted.append(level.sku)
            else:
                rejected.append((level.sku, reason))
        return PushResult(accepted=tuple(accepted), rejected=tuple(rejected))

    @staticmethod
    def _feed(client: AmazonClient, conn: Connection, levels: Sequence[StockLevelUpdate]) -> PushResult:
        """Submits one JSON_LISTINGS_FEED and returns at once: Amazon processes it in minutes, and the
        outcome is read by `inventory_feed_outcome` when FEED_PROCESSING_FINISHED arrives (or getFeed
        says it is finished). Three calls: createFeedDocument, the upload, createFeed."""
        content, skus = mapping.listings_feed(seller_id=conn.account_id, levels=levels)
        document_id, upload_url = client.create_feed_document(mapping.FEED_CONTENT_TYPE)
        client.upload_feed_document(upload_url, content, mapping.FEED_CONTENT_TYPE)
        feed_id = client.create_feed(mapping.FEED_TYPE, document_id)
        logger.info("amazon.feed_submitted", extra={"feed_id": feed_id, "count": len(skus)})
        return PushResult(reference=feed_id, submitted=skus)

    def inventory_feed_outcome(self, *, conn: Connection, feed_id: str, messages: Mapping[int, str],
                               finished: FeedFinished | None = None) -> PushResult | None:
        """The feed's processing report, as accepted and rejected SKUs. With the notification's status and
        result document that is two calls (getFeedDocument, the download); without, one getFeed first,
        and None while Amazon is still processing."""
        client, _ = self._client(conn)
        if finished is not None and finished.status in mapping.FEED_FINAL_STATES:
            status, report_id = finished.status, finished.result_document_id
        else:
            status, report_id = client.get_feed(feed_id)
            if status not in mapping.FEED_FINAL_STATES:
                return None
        report: Mapping[str, Any] = {}
        if report_id:
            url, gzipped = client.get_feed_document(report_id)
            report = client.download_feed_document(url, gzipped=gzipped)
        elif status == "DONE":
            raise ProviderUnavailable(f"Amazon finished inventory feed {feed_id} without a processing report.")
        accepted, rejected = mapping.feed_outcome(report, skus=messages, status=status)
        logger.info("amazon.feed_processed", extra={"feed_id": feed_id, "status": status,
                                                    "accepted": len(accepted), "rejected": len(rejected)})
        return PushResult(accepted=accepted, rejected=rejected, reference=feed_id)

    # --- plumbing ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the connection pools this provider opened (the end of a run)."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _client(self, conn: Connection, *, grantless: bool = False) -> tuple[AmazonClient, Marketplace]:
        if not conn.refresh_token and not grantless:
            raise ProviderAuthError("This Amazon integration is not connected: connect it in the wizard.")
        marketplace = marketplace_get(conn.marketplace_id)
        key = (conn.account_id, conn.refresh_token, marketplace.marketplace_id)
        if key in self._clients:
            self._clients[key].observer = conn.observer
            return self._clients[key], marketplace
        config = ClientConfig(
            lwa_app_id=self.lwa_app_id, lwa_client_secret=self.lwa_client_secret,
            lwa_token_url=self.lwa_token_url, endpoint=self.spapi_endpoint or marketplace.endpoint,
            marketplace_id=marketplace.marketplace_id, aws_region=marketplace.aws_region,
            timeout=self.timeout,
        )
        # Grantless calls need only the app's LWA credentials; the library insists on some refresh token.
        client = AmazonClient(config, refresh_token=conn.refresh_token or "grantless", selling_partner_id=conn.account_id,
                              tokens=conn.tokens, limiter=self.limiter, retries=self.retries,
                              retry_base=self.retry_base, sleep=self.sleep, observer=conn.observer)
        self._clients[key] = client
        return client, marketplace


def _orders_api(conn: Connection) -> str:
    value = str(conn.options.get("orders_api") or ORDERS_API_V0)
    if value not in (ORDERS_API_V0, ORDERS_API_2026):
        raise ProviderRejected(f"Unknown Amazon Orders API version {value!r}: use {ORDERS_API_V0!r} or "
                               f"{ORDERS_API_2026!r}.")
    return value


def _latest(current: dt.datetime | None, candidates: Iterable[dt.datetime | None]) -> dt.datetime | None:
    # The watermark of last resort, should Amazon not echo the bound it applied.
    return max((d for d in (current, *candidates) if d is not None), default=None)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
