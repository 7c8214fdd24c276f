"""Amazon's JSON <-> the hub's dataclasses. The only module that knows Amazon's shapes.

Pure functions, tested on recorded JSON (Amazon's own `x-amzn-api-sandbox` examples and realistic
pages). Section numbers refer to reference/sp-api.md. A problem string never quotes a buyer's name,
address, phone or email: only field names, ids, SKUs, dates and what a person should do.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from integrations.providers.base import (
    FeedFinished,
    MarketplaceAddress,
    MarketplaceOrder,
    MarketplaceOrderLine,
    OrderState,
    PushEvent,
    ShipmentConfirmation,
    ShipmentReadBack,
    StockLevelUpdate,
    SupplySource,
    TokenGrant,
)

Json = Mapping[str, Any]

# --- shared helpers -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _dict(value: Any) -> Json:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_datetime(value: Any) -> dt.datetime | None:
    """ISO-8601 -> aware UTC datetime; None when absent. ValueError when present but unreadable.

    Amazon sends UTC with `Z` (§7); a value without an offset is read as UTC for the same reason.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    parsed = dt.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    """Aware datetime -> `2024-01-01T00:00:00Z`: strings, not datetimes, go to the library (§7)."""
    if value.tzinfo is None:
        raise ValueError("Amazon timestamps need an aware datetime")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Problems:
    """Collects what could not be read, so one bad field never hides the rest of an order."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        self.items.append(text)

    def date(self, source: Json, key: str, label: str = "") -> dt.datetime | None:
        try:
            return parse_datetime(source.get(key))
        except (TypeError, ValueError):
            self.add(f"{label or key} {str(source.get(key))[:40]!r} is not an ISO-8601 date: check the order "
                     "in Seller Central; the import retries it on the next poll.")
            return None

    def quantity(self, source: Json, key: str, where: str, *, required: bool) -> int:
        value = source.get(key)
        if value is None and not required:
            return 0
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
            self.add(f"{where}: {key} {str(value)[:20]!r} is not a whole number; check the order in Seller "
                     "Central.")
            return 0
        return int(value)


def errors_text(body: Any) -> str:
    """`{"errors":[{"code","message","details"}]}` -> one short line (no buyer data is ever in it)."""
    parts = []
    for error in _list(_dict(body).get("errors"))[:3]:
        error = _dict(error)
        code, message = _text(error.get("code")), _text(error.get("message"))
        piece = ": ".join(dict.fromkeys(p for p in (code, message) if p))     # "Invalid Input: Invalid Input"
        details = _text(error.get("details"))
        parts.append(f"{piece} ({details})" if details and details != piece else piece)
    return "; ".join(p for p in parts if p)[:300]


# --- LWA (§6) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LwaTokens:
    access_token: str
    refresh_token: str
    expires_in: int


def lwa_tokens(payload: Any) -> LwaTokens:
    """The LWA token response; ValueError when it carries no access token."""
    body = _dict(payload)
    access_token = _text(body.get("access_token"))
    if not access_token:
        raise ValueError("LWA answered without an access_token")
    expires_in = body.get("expires_in")
    return LwaTokens(access_token=access_token, refresh_token=_text(body.get("refresh_token")),
                     expires_in=expires_in if isinstance(expires_in, int) else 3600)


def lwa_error(payload: Any) -> tuple[str, str]:
    """`{"error": "invalid_grant", "error_description": "..."}` -> (code, description)."""
    body = _dict(payload)
    return _text(body.get("error")), _text(body.get("error_description"))[:200]


def token_grant(tokens: LwaTokens, *, refresh_token: str, now: dt.datetime) -> TokenGrant:
    # Amazon refresh tokens do not rotate: keep the one we hold unless LWA sends another.
    return TokenGrant(access_token=tokens.access_token, refresh_token=tokens.refresh_token or refresh_token,
                      expires_at=now + dt.timedelta(seconds=tokens.expires_in))


# --- restricted data tokens (§9) ----------------------------------------------------------------

RDT_BULK_ORDERS = {"method": "GET", "path": "/orders/v0/orders",
                   "dataElements": ["shippingAddress", "buyerInfo"]}
RDT_ONE_ORDER = {"method": "GET", "path": "/orders/v0/orders/{orderId}",
                 "dataElements": ["shippingAddress", "buyerInfo"]}


def restricted_data_token(payload: Any) -> str:
    """The token from createRestrictedDataToken; the 2021 guide wrapped it in `payload` (§9)."""
    body = _dict(payload)
    wrapped = _dict(body.get("payload"))
    token = _text(body.get("restrictedDataToken")) or _text(wrapped.get("restrictedDataToken"))
    if not token:
        raise ValueError("createRestrictedDataToken answered without a token")
    return token


# --- orders: pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrdersPageData:
    orders: list[Any]
    next_token: str
    upper_bound: dt.datetime | None      # the LastUpdatedBefore Amazon applied


def _upper_bound(value: Any) -> dt.datetime | None:
    try:
        return parse_datetime(value)
    except (TypeError, ValueError):
        return None     # the sandbox examples carry "1.569521782042E9" here (§8): unusable, not fatal


def v0_orders_page(body: Any) -> OrdersPageData:
    """getOrders: `{"payload": {"Orders": [...], "NextToken"?, "LastUpdatedBefore"?}}` (§2.1)."""
    payload = _dict(_dict(body).get("payload"))
    if not isinstance(payload.get("Orders"), list):
        raise ValueError("getOrders answered without payload.Orders")
    return OrdersPageData(orders=payload["Orders"], next_token=_text(payload.get("NextToken")),
                          upper_bound=_upper_bound(payload.get("LastUpdatedBefore")))


def v0_order_items_page(body: Any) -> tuple[list[Any], str]:
    """getOrderItems: `{"payload": {"AmazonOrderId", "OrderItems": [...], "NextToken"?}}` (§2.3)."""
    payload = _dict(_dict(body).get("payload"))
    if not isinstance(payload.get("OrderItems"), list):
        raise ValueError("getOrderItems answered without payload.OrderItems")
    return payload["OrderItems"], _text(payload.get("NextToken"))


def v0_order(body: Any) -> Json:
    """getOrder: `{"payload": Order}` (§2.2)."""
    payload = _dict(_dict(body).get("payload"))
    if not payload:
        raise ValueError("getOrder answered without a payload")
    return payload


def v2026_orders_page(body: Any) -> OrdersPageData:
    """searchOrders: `{"orders": [...], "pagination": {"nextToken"}, "lastUpdatedBefore"}`."""
    data = _dict(body)
    if not isinstance(data.get("orders"), list):
        raise ValueError("searchOrders answered without orders")
    next_token = _text(_dict(data.get("pagination")).get("nextToken"))
    return OrdersPageData(orders=data["orders"], next_token=next_token,
                          upper_bound=_upper_bound(data.get("lastUpdatedBefore")))


def v2026_order(body: Any) -> Json:
    """getOrder 2026-01-01: `{"order": Order}`."""
    order = _dict(_dict(body).get("order"))
    if not order:
        raise ValueError("getOrder answered without an order")
    return order


# --- orders v0: one order -------------------------------------------------------------------------

_V0_STATES = {
    "PendingAvailability": OrderState.PENDING,
    "Pending": OrderState.PENDING,
    "Unshipped": OrderState.READY,
    "PartiallyShipped": OrderState.PARTIALLY_SHIPPED,
    "Shipped": OrderState.SHIPPED,
    "InvoiceUnconfirmed": OrderState.SHIPPED,     # shipped; only the invoice confirmation is missing
    "Canceled": OrderState.CANCELLED,
    "Unfulfillable": OrderState.OTHER,
}
# Amazon sends ShippingAddress only in these states (§2.1); elsewhere a missing address is normal.
_V0_ADDRESSED = {"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"}


def _join(*parts: Any) -> str:
    return ", ".join(t for t in (_text(p) for p in parts) if t)


def address_from_v0(address: Any, *, buyer_info: Any = None,
                    buyer_company: str = "") -> MarketplaceAddress | None:
    """v0 `Address` (PascalCase, §2.1) + BuyerInfo -> MarketplaceAddress; None when there is none."""
    a = _dict(address)
    if not a:
        return None
    return MarketplaceAddress(
        name=_text(a.get("Name")),
        company=_text(a.get("CompanyName")) or _text(buyer_company),
        line1=_text(a.get("AddressLine1")),
        line2=_join(a.get("AddressLine2"), a.get("AddressLine3")),
        city=_text(a.get("City")) or _text(a.get("Municipality")),
        state=_text(a.get("StateOrRegion")),
        postcode=_text(a.get("PostalCode")),
        country=_text(a.get("CountryCode")).upper(),
        phone=_text(a.get("Phone")),
        email=_text(_dict(buyer_info).get("BuyerEmail")),
    )


def _is_complete(address: MarketplaceAddress | None) -> bool:
    # Without an RDT Amazon still sends City/State/PostalCode/Country but drops Name and lines (§2.1, §9).
    return address is not None and bool(address.name and address.line1)


def _line(problems: _Problems, *, line_id: str, asin: str, sku: str, title: str, names: tuple[str, str],
          ordered: tuple[dict, str], shipped: tuple[dict, str]) -> MarketplaceOrderLine | None:
    """The checks both Orders API versions share; `names` are the version's id and SKU field names."""
    id_name, sku_name = names
    if not line_id:
        problems.add(f"An order item (ASIN {asin or 'unknown'}) has no {id_name}; check the order in "
                     "Seller Central.")
        return None
    where = f"Item {line_id}"
    if not sku:
        problems.add(f"{where} (ASIN {asin or 'unknown'}) has no {sku_name}: give the listing a SKU in Seller "
                     "Central or match products by ASIN for this integration.")
    return MarketplaceOrderLine(
        line_id=line_id, sku=sku, alternative_code=asin, title=title,
        quantity=problems.quantity(ordered[0], ordered[1], where, required=True),
        quantity_shipped=problems.quantity(shipped[0], shipped[1], where, required=False),
    )


def line_from_v0(item: Any, problems: _Problems) -> MarketplaceOrderLine | None:
    """v0 `OrderItem` (§2.3) -> a line; None (with a problem) when it cannot be used at all."""
    i = _dict(item)
    return _line(problems, line_id=_text(i.get("OrderItemId")), asin=_text(i.get("ASIN")),
                 sku=_text(i.get("SellerSKU")), title=_text(i.get("Title")), names=("OrderItemId", "SellerSKU"),
                 ordered=(i, "QuantityOrdered"), shipped=(i, "QuantityShipped"))


def order_from_v0(order: Any, items: Sequence[Any] | None, *,
                  address_body: Any = None, extra_problems: Iterable[str] = (),
                  pushed_lines: Sequence[MarketplaceOrderLine] = ()) -> MarketplaceOrder:
    """A v0 `Order` (§2.1) plus its `OrderItems` (§2.3) -> MarketplaceOrder.

    `items` is None when they were not read (AFN, or the call failed: see `extra_problems`), or when
    `pushed_lines` (an ORDER_CHANGE's items, checked with `v0_pushed_lines_match`) stand in for them.
    `address_body` is a getOrderAddress payload, used when the order itself came without one.
    Never raises on bad data: whatever cannot be read becomes a line in `problems`.
    """
    o = _dict(order)
    problems = _Problems()
    if not o:
        problems.add("Amazon sent an order entry that is not an object; it is retried on the next poll.")
    order_id = _text(o.get("AmazonOrderId"))
    if o and not order_id:
        problems.add("An order has no AmazonOrderId; it is retried on the next poll.")
    raw_status = _text(o.get("OrderStatus"))
    afn = _text(o.get("FulfillmentChannel")) == "AFN"
    purchased_at = problems.date(o, "PurchaseDate")
    if o and o.get("PurchaseDate") in (None, ""):
        problems.add("PurchaseDate is missing; check the order in Seller Central.")

    extra = _dict(address_body)
    address = address_from_v0(o.get("ShippingAddress") or extra.get("ShippingAddress"),
                              buyer_info=o.get("BuyerInfo"),
                              buyer_company=_text(extra.get("BuyerCompanyName")))
    lines: list[MarketplaceOrderLine] = list(pushed_lines)
    for item in items or ():
        line = line_from_v0(item, problems)
        if line is not None:
            lines.append(line)
    state = _V0_STATES.get(raw_status, OrderState.OTHER)
    if items is not None and not lines and state in (OrderState.READY, OrderState.PARTIALLY_SHIPPED):
        problems.add("Amazon returned no order items for this order; it is retried on the next poll.")
    for text in extra_problems:
        problems.add(text)

    return MarketplaceOrder(
        order_id=order_id,
        state=state,
        raw_status=raw_status,
        purchased_at=purchased_at,
        updated_at=problems.date(o, "LastUpdateDate"),
        lines=tuple(lines),
        address=address,
        address_withheld=(not afn and raw_status in _V0_ADDRESSED and not _is_complete(address)),
        fulfilled_by_marketplace=afn,
        service_level=_text(o.get("ShipmentServiceLevelCategory")),
        shipping_method=_text(o.get("ShipServiceLevel")),
        latest_ship_at=problems.date(o, "LatestShipDate"),
        latest_delivery_at=problems.date(o, "LatestDeliveryDate"),
        supply_source_id=_text(_dict(o.get("FulfillmentInstruction")).get("FulfillmentSupplySourceId")),
        is_pickup=o.get("IsISPU") is True,
        problems=tuple(problems.items),
        marketplace_id=_text(o.get("MarketplaceId")),
    )


def order_unreadable(order_id: str, problem: str) -> MarketplaceOrder:
    """An order we could not read at all (e.g. an unknown number in "import missing orders")."""
    return MarketplaceOrder(order_id=order_id, state=OrderState.OTHER, raw_status="", purchased_at=None,
                            updated_at=None, problems=(problem,))


def v0_order_id(order: Any) -> str:
    return _text(_dict(order).get("AmazonOrderId"))


def v0_needs_items(order: Any) -> bool:
    """Only an MFN order ready to ship can become an outbound order: only its items are worth a call."""
    o = _dict(order)
    return (_text(o.get("FulfillmentChannel")) != "AFN"
            and _V0_STATES.get(_text(o.get("OrderStatus"))) in (OrderState.READY, OrderState.PARTIALLY_SHIPPED))


def v0_is_afn(order: Any) -> bool:
    return _text(_dict(order).get("FulfillmentChannel")) == "AFN"


def v0_last_update(order: Any) -> dt.datetime | None:
    return _upper_bound(_dict(order).get("LastUpdateDate"))


# --- orders v2026-01-01 -----------------------------------------------------------------------------

_V2026_STATES = {
    "PENDING_AVAILABILITY": OrderState.PENDING,
    "PENDING": OrderState.PENDING,
    "UNSHIPPED": OrderState.READY,
    "PARTIALLY_SHIPPED": OrderState.PARTIALLY_SHIPPED,
    "SHIPPED": OrderState.SHIPPED,
    "CANCELLED": OrderState.CANCELLED,
    "UNFULFILLABLE": OrderState.OTHER,
}
_V2026_ADDRESSED = {"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"}
# v2026 spells the service levels in upper snake case; the hub uses v0's names.
_V2026_SERVICE_LEVELS = {
    "STANDARD": "Standard", "EXPEDITED": "Expedited", "SECOND_DAY": "SecondDay", "NEXT_DAY": "NextDay",
    "SAME_DAY": "SameDay", "SCHEDULED": "Scheduled", "FREE_ECONOMY": "FreeEconomy", "PRIORITY": "Priority",
}
V2026_INCLUDED_DATA = "BUYER,RECIPIENT,FULFILLMENT"


def address_from_v2026(recipient: Any, buyer: Any) -> MarketplaceAddress | None:
    """v2026 `recipient.deliveryAddress` (camelCase) + `buyer` -> MarketplaceAddress."""
    a = _dict(_dict(recipient).get("deliveryAddress"))
    if not a:
        return None
    b = _dict(buyer)
    return MarketplaceAddress(
        name=_text(a.get("name")),
        company=_text(a.get("companyName")) or _text(b.get("buyerCompanyName")),
        line1=_text(a.get("addressLine1")),
        line2=_join(a.get("addressLine2"), a.get("addressLine3")),
        city=_text(a.get("city")) or _text(a.get("municipality")),
        state=_text(a.get("stateOrRegion")),
        postcode=_text(a.get("postalCode")),
        country=_text(a.get("countryCode")).upper(),
        phone=_text(a.get("phone")),
        email=_text(b.get("buyerEmail")),
    )


def line_from_v2026(item: Any, problems: _Problems) -> MarketplaceOrderLine | None:
    i = _dict(item)
    product = _dict(i.get("product"))
    return _line(problems, line_id=_text(i.get("orderItemId")), asin=_text(product.get("asin")),
                 sku=_text(product.get("sellerSku")), title=_text(product.get("title")),
                 names=("orderItemId", "sellerSku"), ordered=(i, "quantityOrdered"),
                 shipped=(_dict(i.get("fulfillment")), "quantityFulfilled"))


def order_from_v2026(order: Any) -> MarketplaceOrder:
    """A v2026-01-01 `Order` with includedData BUYER, RECIPIENT, FULFILLMENT -> MarketplaceOrder.

    v2026 carries no supply-source id (§10), so `supply_source_id` stays empty: route by default.
    """
    o = _dict(order)
    problems = _Problems()
    if not o:
        problems.add("Amazon sent an order entry that is not an object; it is retried on the next poll.")
    order_id = _text(o.get("orderId"))
    if o and not order_id:
        problems.add("An order has no orderId; it is retried on the next poll.")
    fulfillment = _dict(o.get("fulfillment"))
    raw_status = _text(fulfillment.get("fulfillmentStatus"))
    if o and not raw_status:
        problems.add("The order has no fulfillment.fulfillmentStatus; it is retried on the next poll.")
    afn = _text(fulfillment.get("fulfilledBy")) == "AMAZON"
    address = address_from_v2026(o.get("recipient"), o.get("buyer"))
    lines = [line for line in (line_from_v2026(i, problems) for i in _list(o.get("orderItems"))) if line]
    state = _V2026_STATES.get(raw_status, OrderState.OTHER)
    if not lines and state in (OrderState.READY, OrderState.PARTIALLY_SHIPPED):
        problems.add("Amazon returned no order items for this order; it is retried on the next poll.")
    level = _text(fulfillment.get("fulfillmentServiceLevel"))
    return MarketplaceOrder(
        order_id=order_id,
        state=state,
        raw_status=raw_status,
        purchased_at=problems.date(o, "createdTime"),
        updated_at=problems.date(o, "lastUpdatedTime"),
        lines=tuple(lines),
        address=address,
        address_withheld=(not afn and raw_status in _V2026_ADDRESSED and not _is_complete(address)),
        fulfilled_by_marketplace=afn,
        service_level=_V2026_SERVICE_LEVELS.get(level, level),
        shipping_method="",          # v2026 has no ShipServiceLevel text before shipment
        latest_ship_at=problems.date(_dict(fulfillment.get("shipByWindow")), "latestDateTime",
                                     "fulfillment.shipByWindow.latestDateTime"),
        latest_delivery_at=problems.date(_dict(fulfillment.get("deliverByWindow")), "latestDateTime",
                                         "fulfillment.deliverByWindow.latestDateTime"),
        supply_source_id="",
        is_pickup="IN_STORE_PICK_UP" in _list(o.get("programs")),
        marketplace_id=_text(_dict(o.get("salesChannel")).get("marketplaceId")),
        problems=tuple(problems.items),
    )


# --- shipment confirmation (§2.5) -----------------------------------------------------------------


def _ship_date(value: dt.datetime) -> str:
    # ISO-8601 UTC with milliseconds, as in Amazon's own example ("2022-02-11T01:00:00.000Z", §2.5).
    if value.tzinfo is None:
        raise ValueError("Amazon timestamps need an aware datetime")
    utc = value.astimezone(dt.UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


CARRIER_OTHER = "Other"


def shipment_read_back_v0(items: Sequence[Any]) -> ShipmentReadBack:
    """getOrderItems' QuantityShipped per OrderItemId: v0 keeps no package or tracking (§2.3)."""
    shipped: dict[str, int] = {}
    for raw in items:
        item = _dict(raw)
        item_id = _text(item.get("OrderItemId"))
        if not item_id:
            raise ValueError("an order item has no OrderItemId")
        quantity = item.get("QuantityShipped", 0)
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise ValueError(f"order item {item_id} has no readable QuantityShipped")
        shipped[item_id] = shipped.get(item_id, 0) + quantity
    return ShipmentReadBack(shipped_quantities=shipped)


def shipment_read_back_v2026(order: Any) -> ShipmentReadBack:
    """getOrder with includedData PACKAGES: each package's packageReferenceId and trackingNumber."""
    packages = [_dict(p) for p in _list(_dict(order).get("packages"))]
    return ShipmentReadBack(
        package_references=frozenset(r for r in (_text(p.get("packageReferenceId")) for p in packages) if r),
        tracking_numbers=frozenset(t for t in (_text(p.get("trackingNumber")) for p in packages) if t))


def confirm_shipment_body(shipment: ShipmentConfirmation, *, marketplace_id: str) -> dict[str, Any]:
    """ConfirmShipmentRequest: marketplaceId + packageDetail, optional keys only when we have them."""
    detail: dict[str, Any] = {
        "packageReferenceId": shipment.package_reference,
        "carrierCode": shipment.carrier_code,
    }
    if shipment.carrier_code == CARRIER_OTHER:
        # carrierName is read only beside carrierCode "Other" (§2.5): a mapped code says it all.
        detail["carrierName"] = shipment.carrier_name or CARRIER_OTHER
    if shipment.shipping_method:
        detail["shippingMethod"] = shipment.shipping_method
    detail["trackingNumber"] = shipment.tracking_number
    detail["shipDate"] = _ship_date(shipment.ship_date)
    if shipment.ship_from_supply_source_id:
        # Amazon may ignore it on a first confirmation (§10, issue 5163): sent anyway, never read back.
        detail["shipFromSupplySourceId"] = shipment.ship_from_supply_source_id
    detail["orderItems"] = [{"orderItemId": i.line_id, "quantity": i.quantity} for i in shipment.items]
    return {"marketplaceId": marketplace_id, "packageDetail": detail}


# --- inventory: listings patch (§3.1) and JSON_LISTINGS_FEED (§3.2) --------------------------------

LISTINGS_PRODUCT_TYPE = "PRODUCT"      # offer-only patches need no real product type (§3.1)
FEED_TYPE = "JSON_LISTINGS_FEED"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
FEED_FINAL_STATES = {"DONE", "FATAL", "CANCELLED"}
# Sent when a feed reaches DONE, FATAL or CANCELLED: its outcome without polling getFeed.
FEED_PROCESSING_FINISHED = "FEED_PROCESSING_FINISHED"


def _quantity_patch(quantity: int) -> list[dict[str, Any]]:
    # DEFAULT is the merchant-fulfilled channel (§3.1); negative stock is not a quantity Amazon accepts.
    return [{"op": "replace", "path": "/attributes/fulfillment_availability",
             "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": max(quantity, 0)}]}]


def listing_patch_body(quantity: int) -> dict[str, Any]:
    return {"productType": LISTINGS_PRODUCT_TYPE, "patches": _quantity_patch(quantity)}


def _issues_text(issues: Any) -> str:
    errors = [_dict(i) for i in _list(issues) if _text(_dict(i).get("severity")) == "ERROR"]
    return "; ".join(": ".join(p for p in (_text(e.get("code")), _text(e.get("message"))) if p)
                     for e in errors)[:300]


def listing_submission(body: Any) -> tuple[bool, str]:
    """patchListingsItem 200 -> (accepted, reason). ACCEPTED (or VALID) means taken."""
    data = _dict(body)
    status = _text(data.get("status"))
    if status in ("ACCEPTED", "VALID"):
        return True, ""
    return False, _issues_text(data.get("issues")) or f"Amazon answered status {status or 'unknown'}"


def listings_feed(*, seller_id: str, levels: Sequence[StockLevelUpdate]) -> tuple[bytes, dict[int, str]]:
    """A JSON_LISTINGS_FEED document (schema 2.0) of PATCH messages, and messageId -> SKU.

    Encoded here as UTF-8 bytes: the library would encode a str as ISO-8859-1 (§1.6).
    """
    skus = {n: level.sku for n, level in enumerate(levels, start=1)}
    document = {
        "header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
        "messages": [
            {"messageId": n, "sku": level.sku, "operationType": "PATCH", "productType": LISTINGS_PRODUCT_TYPE,
             "patches": _quantity_patch(level.quantity)}
            for n, level in enumerate(levels, start=1)
        ],
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8"), skus


def feed_document_created(body: Any) -> tuple[str, str]:
    """createFeedDocument 201 -> (feedDocumentId, presigned upload url)."""
    data = _dict(body)
    document_id, url = _text(data.get("feedDocumentId")), _text(data.get("url"))
    if not (document_id and url):
        raise ValueError("createFeedDocument answered without feedDocumentId/url")
    return document_id, url


def feed_created(body: Any) -> str:
    feed_id = _text(_dict(body).get("feedId"))
    if not feed_id:
        raise ValueError("createFeed answered without feedId")
    return feed_id


def feed_state(body: Any) -> tuple[str, str]:
    """getFeed -> (processingStatus, resultFeedDocumentId)."""
    data = _dict(body)
    return _text(data.get("processingStatus")), _text(data.get("resultFeedDocumentId"))


def feed_document_location(body: Any) -> tuple[str, bool]:
    """getFeedDocument -> (download url, gzipped?)."""
    data = _dict(body)
    url = _text(data.get("url"))
    if not url:
        raise ValueError("getFeedDocument answered without url")
    return url, _text(data.get("compressionAlgorithm")).upper() == "GZIP"


def feed_report_json(content: bytes, *, gzipped: bool) -> Json:
    """The processing report's bytes -> JSON object; ValueError when unreadable."""
    raw = gzip.decompress(content) if gzipped else content
    data = json.loads(raw.decode("utf-8-sig"))
    if not isinstance(data, Mapping):
        raise ValueError("the processing report is not a JSON object")
    return data


def feed_outcome(report: Json, *, skus: Mapping[int, str],
                 status: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Processing report (§3.2) -> (accepted SKUs, (sku, reason) rejected), in feed order.

    A message with an ERROR issue is rejected; the others were accepted. In a FATAL or CANCELLED
    feed nothing was applied, so every SKU is rejected with the feed-level reason.
    """
    reasons: dict[str, list[str]] = {}
    feed_level: list[str] = []
    for issue in _list(report.get("issues")):
        issue = _dict(issue)
        if _text(issue.get("severity")) != "ERROR":
            continue
        text = ": ".join(p for p in (_text(issue.get("code")), _text(issue.get("message"))) if p)
        message_id = issue.get("messageId")
        sku = skus.get(message_id) if isinstance(message_id, int) else None
        sku = sku or _text(issue.get("sku")) or None
        if sku is None:
            feed_level.append(text)
        else:
            reasons.setdefault(sku, []).append(text)
    ordered = list(skus.values())
    if status != "DONE":
        reason = "; ".join(feed_level)[:300] or f"Amazon ended the feed as {status}"
        return (), tuple((sku, reason) for sku in ordered)
    accepted = tuple(sku for sku in ordered if sku not in reasons)
    rejected = tuple((sku, "; ".join(reasons[sku])[:300]) for sku in ordered if sku in reasons)
    return accepted, rejected


# --- supply sources (§4) --------------------------------------------------------------------------


def supply_sources_page(body: Any) -> tuple[list[Json], str]:
    """getSupplySources: `{"supplySources": [...], "nextPageToken"?}` (no status in the items)."""
    data = _dict(body)
    if not isinstance(data.get("supplySources"), list):
        raise ValueError("getSupplySources answered without supplySources")
    return [_dict(s) for s in data["supplySources"]], _text(data.get("nextPageToken"))


def supply_source_id(summary: Json) -> str:
    return _text(summary.get("supplySourceId"))


def supply_source(detail: Any, summary: Json | None = None) -> SupplySource:
    """getSupplySource (full, with status and timezone), falling back on the list item's fields."""
    d, s = _dict(detail), _dict(summary)
    return SupplySource(
        supply_source_id=_text(d.get("supplySourceId")) or _text(s.get("supplySourceId")),
        code=_text(d.get("supplySourceCode")) or _text(s.get("supplySourceCode")),
        alias=_text(d.get("alias")) or _text(s.get("alias")),
        status=_text(d.get("status")),
        timezone=_text(_dict(d.get("configuration")).get("timezone")),
    )


# --- Notifications v1 (ORDER_CHANGE over SQS) -------------------------------------------------------


def destinations(body: Any) -> list[Json]:
    return [d for d in _list(_dict(body).get("payload")) if isinstance(d, Mapping)]


def destination(body: Any) -> Json:
    payload = _dict(_dict(body).get("payload"))
    if not payload.get("destinationId"):
        raise ValueError("no destinationId in the answer")
    return payload


def destination_sqs_arn(dest: Json) -> str:
    return _text(_dict(_dict(dest.get("resource")).get("sqs")).get("arn"))


def subscription(body: Any) -> Json:
    payload = _dict(_dict(body).get("payload"))
    if not payload.get("subscriptionId"):
        raise ValueError("no subscriptionId in the answer")
    return payload


def order_change_event(message_body: str) -> PushEvent | None:
    """An SQS message body holding one ORDER_CHANGE notification (NotificationVersion 1.0), or None when
    it is another notification type. Raises ValueError when it cannot be read."""
    body = _notification(message_body)
    if body.get("NotificationType") != "ORDER_CHANGE":
        return None
    change = _dict(_dict(body.get("Payload")).get("OrderChangeNotification"))
    summary = _dict(change.get("Summary"))
    order_id, seller_id = _text(change.get("AmazonOrderId")), _text(change.get("SellerId"))
    if not order_id or not seller_id:
        raise ValueError("an ORDER_CHANGE notification without AmazonOrderId or SellerId")
    meta = _dict(body.get("NotificationMetadata"))
    return PushEvent(
        event_id=_text(meta.get("NotificationId")), account_id=seller_id, order_id=order_id,
        change=_text(change.get("OrderChangeType")) or "OrderStatusChange",
        marketplace_id=_text(summary.get("MarketplaceId")), status=_text(summary.get("OrderStatus")),
        occurred_at=parse_datetime(body.get("EventTime")), lines=_order_change_lines(summary))


def feed_finished_event(message_body: str) -> FeedFinished | None:
    """An SQS message body holding one FEED_PROCESSING_FINISHED notification (version 2020-09-04, whose
    keys are camelCase), or None when it is another notification type. Raises ValueError when it cannot
    be read."""
    body = _notification(message_body)
    if (body.get("notificationType") or body.get("NotificationType")) != FEED_PROCESSING_FINISHED:
        return None
    payload = _dict(body.get("payload") or body.get("Payload"))
    data = _dict(payload.get("feedProcessingFinishedNotification"))
    seller_id, feed_id = _text(data.get("sellerId")), _text(data.get("feedId"))
    status = _text(data.get("processingStatus"))
    if not seller_id or not feed_id or status not in FEED_FINAL_STATES:
        raise ValueError("a FEED_PROCESSING_FINISHED notification without sellerId, feedId or a final status")
    return FeedFinished(account_id=seller_id, feed_id=feed_id, status=status,
                        result_document_id=_text(data.get("resultFeedDocumentId")),
                        occurred_at=parse_datetime(body.get("eventTime") or body.get("EventTime")))


def _notification(message_body: str) -> Json:
    try:
        body = json.loads(message_body)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(body, Mapping):
        raise ValueError("not a JSON object")
    return body


def _order_change_lines(summary: Json) -> tuple[MarketplaceOrderLine, ...]:
    """The summary's OrderItems (OrderItemId, SellerSKU, Quantity), or () when any of them is incomplete:
    then the items are read from the API as usual."""
    lines = []
    for item in _list(summary.get("OrderItems")):
        i = _dict(item)
        line_id, sku, quantity = _text(i.get("OrderItemId")), _text(i.get("SellerSKU")), i.get("Quantity")
        if not line_id or not sku or isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            return ()
        lines.append(MarketplaceOrderLine(line_id=line_id, sku=sku, quantity=quantity))
    return tuple(lines)


def v0_pushed_lines_match(order: Any, lines: Sequence[MarketplaceOrderLine]) -> bool:
    """Whether an ORDER_CHANGE's items can stand in for getOrderItems on this read-back v0 order: it is
    Unshipped with nothing shipped, and its item count is exactly the notification's. (A partly shipped
    or changed order, or an ASIN-matched integration, reads its items from the API.)"""
    o = _dict(order)
    if not lines or _text(o.get("OrderStatus")) != "Unshipped":
        return False
    shipped, unshipped = o.get("NumberOfItemsShipped"), o.get("NumberOfItemsUnshipped")
    if not isinstance(shipped, int) or not isinstance(unshipped, int) or isinstance(unshipped, bool):
        return False
    return shipped == 0 and unshipped == sum(line.quantity for line in lines)
