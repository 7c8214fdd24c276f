"""Etsy JSON in, the hub's dataclasses out. The only module that knows Etsy's payload shapes.

Pure functions: no I/O, no clock, no logging. A receipt the hub cannot use is still mapped; what
is wrong with it goes into `problems`, written for the person who has to fix it, so one bad receipt
never stops a page of good ones.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from integrations.providers.base import (
    MarketplaceAddress,
    MarketplaceOrder,
    MarketplaceOrderLine,
    OrderState,
    PushEvent,
)

# reference §4.2: the spec's status enum and the Definitions page's meaning of each value.
_STATES: dict[str, OrderState] = {
    "open": OrderState.PENDING,                 # created, unpaid (legacy)
    "payment processing": OrderState.PENDING,   # paid, not settled yet
    "paid": OrderState.READY,                   # paid and ready to ship
    "completed": OrderState.SHIPPED,            # shipped and considered complete
    "canceled": OrderState.CANCELLED,
    "fully refunded": OrderState.CANCELLED,
    "partially refunded": OrderState.READY,     # still to ship, but see _partial_refund_problem
}

# Etsy has no pickup flag on a receipt; local pickup shows only as the buyer's shipping method.
_PICKUP = re.compile(r"\bpick[\s-]?up\b", re.IGNORECASE)
_NEXT_DAY = re.compile(r"next[\s-]?day|overnight|1[\s-]?day", re.IGNORECASE)
_SECOND_DAY = re.compile(r"2[\s-]?day|two[\s-]?day|second[\s-]?day", re.IGNORECASE)

# reference §7.2: the fields updateListingInventory accepts. Everything else in the GET
# (product_id, offering_id, scale_name, is_deleted, value_pairs, "listing") is read-only.
_PRODUCT_FIELDS = ("sku", "property_values", "offerings")
_PROPERTY_VALUE_FIELDS = ("property_id", "property_name", "scale_id", "value_ids", "values")
_OFFERING_FIELDS = ("price", "quantity", "is_enabled", "readiness_state_id")
_ON_PROPERTY_FIELDS = (
    "price_on_property",
    "quantity_on_property",
    "sku_on_property",
    "readiness_state_on_property",
)


# --- small readers ------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _id(value: Any) -> str:
    """Etsy ids are integers in JSON; the hub keeps them as text."""
    if isinstance(value, bool) or value is None:
        return ""
    return str(value).strip()


def epoch_to_datetime(value: Any) -> dt.datetime | None:
    """reference §8: every Etsy timestamp is integer epoch seconds in UTC."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)


def datetime_to_epoch(value: dt.datetime) -> int:
    """Query filters are epoch seconds too; a naive datetime is taken as UTC, never as local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def _first(receipt: Mapping[str, Any], *keys: str) -> Any:
    # reference §4.2: create_timestamp/created_timestamp (and update_…) are duplicates; either may do.
    for key in keys:
        if receipt.get(key) is not None:
            return receipt[key]
    return None


# --- receipts -----------------------------------------------------------------------------------
def receipt_to_order(receipt: Mapping[str, Any]) -> MarketplaceOrder:
    """One getShopReceipt(s) result → MarketplaceOrder (reference §4.2, §4.3)."""
    raw_status = _text(receipt.get("status"))
    transactions = _transactions(receipt)
    physical = [t for t in transactions if not t.get("is_digital")]
    problems: list[str] = []
    order_id = _id(receipt.get("receipt_id"))
    if not order_id:
        problems.append("Etsy sent a receipt without a receipt_id; it cannot be imported.")

    state = _STATES.get(raw_status.lower(), OrderState.OTHER)
    if raw_status.lower() == "partially refunded":
        problems.append(_partial_refund_problem(order_id))

    lines = tuple(_line(t, problems) for t in physical)
    if transactions and not physical:
        problems.append(f"Etsy receipt {order_id} holds only digital items: there is nothing to ship.")

    pickup = is_pickup(physical)
    withheld = not pickup and address_is_withheld(receipt)
    upgrade = _shipping_upgrade(physical)
    return MarketplaceOrder(
        order_id=order_id,
        state=state,
        raw_status=raw_status,
        purchased_at=epoch_to_datetime(_first(receipt, "created_timestamp", "create_timestamp")),
        updated_at=epoch_to_datetime(_first(receipt, "updated_timestamp", "update_timestamp")),
        lines=lines,
        address=None if withheld else _address(receipt),
        address_withheld=withheld,
        service_level=service_level(upgrade),
        shipping_method=_shipping_method(physical, upgrade),
        latest_ship_at=latest_ship_at(physical),
        is_pickup=pickup,
        problems=tuple(problems),
    )


def _transactions(receipt: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    transactions = receipt.get("transactions")
    if not isinstance(transactions, list):
        return []
    return [t for t in transactions if isinstance(t, Mapping)]


def _partial_refund_problem(order_id: str) -> str:
    # The transactions still list every item bought; Etsy does not say which ones were refunded.
    return (f"Etsy receipt {order_id} is partially refunded: check in Etsy which items still have to "
            "ship before importing it.")


def _line(transaction: Mapping[str, Any], problems: list[str]) -> MarketplaceOrderLine:
    transaction_id = _id(transaction.get("transaction_id"))
    sku = _text(transaction.get("sku"))
    title = _text(transaction.get("title"))
    quantity = transaction.get("quantity")
    if not sku:
        # reference §4.2: sku is null or "" when the seller set none on the listing's product.
        problems.append(
            f"Etsy transaction {transaction_id} (listing {_id(transaction.get('listing_id')) or 'unknown'}, "
            f"\"{title}\") has no SKU: set the SKU on that listing's product in Etsy to the warehouse "
            "product code, then import the order again."
        )
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        problems.append(f"Etsy transaction {transaction_id} has no usable quantity ({quantity!r}).")
        quantity = 0
    shipped = epoch_to_datetime(transaction.get("shipped_timestamp")) is not None
    return MarketplaceOrderLine(
        line_id=transaction_id,
        sku=sku,
        quantity=quantity,
        title=title,
        # Etsy ships a receipt as a whole: a shipped transaction is shipped in full.
        quantity_shipped=quantity if shipped else 0,
    )


def address_is_withheld(receipt: Mapping[str, Any]) -> bool:
    """reference §4.2: without preferred-partner access the address fields come back null or empty.

    Without a first line, city and postcode nothing can be delivered, whatever else is present.
    """
    return not any(_text(receipt.get(key)) for key in ("first_line", "city", "zip"))


def _address(receipt: Mapping[str, Any]) -> MarketplaceAddress:
    return MarketplaceAddress(
        name=_text(receipt.get("name")),
        line1=_text(receipt.get("first_line")),
        line2=_text(receipt.get("second_line")),
        city=_text(receipt.get("city")),
        state=_text(receipt.get("state")),
        postcode=_text(receipt.get("zip")),
        country=_text(receipt.get("country_iso")).upper(),
        email=_text(receipt.get("buyer_email")),    # null unless granted case by case (§4.2)
    )


def is_pickup(transactions: Iterable[Mapping[str, Any]]) -> bool:
    """Etsy exposes local pickup only as the transactions' shipping method (e.g. "Local pickup")."""
    return any(
        _PICKUP.search(_text(t.get(key)))
        for t in transactions
        for key in ("shipping_method", "shipping_upgrade")
    )


def _shipping_upgrade(transactions: Sequence[Mapping[str, Any]]) -> str:
    return _distinct(_text(t.get("shipping_upgrade")) for t in transactions)


def _shipping_method(transactions: Sequence[Mapping[str, Any]], upgrade: str) -> str:
    # reference §4.2: shipping_method says "Standard Shipping" unless the buyer chose an upgrade.
    return upgrade or _distinct(_text(t.get("shipping_method")) for t in transactions)


def _distinct(values: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(v for v in values if v))


def service_level(upgrade: str) -> str:
    """Normalised service level: Standard unless the buyer paid for an upgrade."""
    if not upgrade:
        return "Standard"
    if _NEXT_DAY.search(upgrade):
        return "NextDay"
    if _SECOND_DAY.search(upgrade):
        return "SecondDay"
    return "Expedited"


def latest_ship_at(transactions: Iterable[Mapping[str, Any]]) -> dt.datetime | None:
    """The earliest expected_ship_date: the receipt is late once any of its items is late.

    reference §4.2: expected_ship_date is epoch seconds and null once shipped.
    """
    dates = [d for d in (epoch_to_datetime(t.get("expected_ship_date")) for t in transactions) if d]
    return min(dates) if dates else None


# --- users and shops ----------------------------------------------------------------------------
@dataclass(frozen=True)
class EtsyMe:
    user_id: str
    shop_id: str        # "" when the user owns no shop: the spec types shop_id as optional (§3)


def me_from_json(me: Mapping[str, Any]) -> EtsyMe:
    return EtsyMe(user_id=_id(me.get("user_id")), shop_id=_id(me.get("shop_id")))


def shop_name_from_json(shop: Mapping[str, Any]) -> str:
    return _text(shop.get("shop_name"))


def results_page(payload: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], int]:
    """reference §11: every list endpoint answers {"count": total before limit, "results": [...]}."""
    results = payload.get("results")
    count = payload.get("count")
    rows = [r for r in results if isinstance(r, Mapping)] if isinstance(results, list) else []
    return rows, count if isinstance(count, int) and not isinstance(count, bool) else len(rows)


def receipt_created_epoch(receipt: Mapping[str, Any]) -> int | None:
    return _epoch(_first(receipt, "created_timestamp", "create_timestamp"))


def receipt_modified_epoch(receipt: Mapping[str, Any]) -> int | None:
    return _epoch(_first(receipt, "updated_timestamp", "update_timestamp"))


def _epoch(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def receipt_has_tracking(receipt: Mapping[str, Any], tracking_code: str) -> bool:
    """createReceiptShipment answers with the whole receipt; its shipments show what Etsy kept (§5)."""
    shipments = receipt.get("shipments")
    return isinstance(shipments, list) and any(
        isinstance(s, Mapping) and _text(s.get("tracking_code")) == tracking_code for s in shipments
    )


def receipt_tracking_codes(receipt: Mapping[str, Any]) -> frozenset[str]:
    """Every tracking code on the receipt's shipments[]: the read-back after an ambiguous send (§4.2)."""
    shipments = receipt.get("shipments")
    if not isinstance(shipments, list):
        raise ValueError("the receipt has no shipments list")
    return frozenset(code for code in (_text(s.get("tracking_code")) for s in shipments if isinstance(s, Mapping))
                     if code)


# Etsy's carrier slugs for createReceiptShipment's carrier_name (§5); anything else goes as "other".
ETSY_CARRIERS = frozenset({"usps", "ups", "fedex", "dhl", "royal-mail", "canada-post", "australia-post", "dpd",
                           "gls", "postnl", "deutsch-post", "other"})
ETSY_OTHER_CARRIER = "other"


def carrier_slug(carrier: str) -> str:
    """"Australia Post" -> "australia-post"; "" when the carrier is none of Etsy's."""
    slug = re.sub(r"[\s_]+", "-", carrier.strip().lower())
    return slug if slug in ETSY_CARRIERS else ""


# --- listings and inventory ---------------------------------------------------------------------
def listing_id(listing: Mapping[str, Any]) -> str:
    return _id(listing.get("listing_id"))


def listing_skus(listing: Mapping[str, Any]) -> frozenset[str]:
    """reference §6: getListingsByShop's `skus` array, filled for the shop's owner."""
    skus = listing.get("skus")
    return frozenset(_text(s) for s in skus if _text(s)) if isinstance(skus, list) else frozenset()


@dataclass(frozen=True)
class InventoryUpdate:
    body: dict[str, Any]            # the whole product set for updateListingInventory
    skus: frozenset[str]            # requested SKUs this listing holds
    changed: bool                   # False: every matching offering already has its quantity


def inventory_update(inventory: Mapping[str, Any], quantities: Mapping[str, int]) -> InventoryUpdate:
    """getListingInventory JSON + wanted quantities per SKU → the PUT body (reference §7.2).

    Etsy replaces the whole product set on PUT, so every product goes back, each with its
    variations, price and processing profile unchanged; only matching offerings' quantities move.
    """
    products = [p for p in inventory.get("products") or []
                if isinstance(p, Mapping) and not p.get("is_deleted")]
    body_products: list[dict[str, Any]] = []
    matched: set[str] = set()
    changed = False
    for product in products:
        sku = _text(product.get("sku"))
        wanted = quantities.get(sku) if sku else None
        if wanted is not None:
            matched.add(sku)
        body_product, product_changed = _product_body(product, wanted)
        body_products.append(body_product)
        changed = changed or product_changed
    body: dict[str, Any] = {"products": body_products}
    for key in _ON_PROPERTY_FIELDS:
        # Keep the arrays exactly as read: they must agree with the products (rule 3).
        if key in inventory:
            body[key] = list(inventory.get(key) or [])
    return InventoryUpdate(body=body, skus=frozenset(matched), changed=changed)


def offered_quantity(body: Mapping[str, Any]) -> int:
    """What a PUT body would offer in all: Etsy refuses a listing whose enabled offerings are all 0."""
    return sum(int(o.get("quantity") or 0) for p in body.get("products") or [] for o in p.get("offerings") or []
               if o.get("is_enabled", True))


def listing_state(listing: Mapping[str, Any]) -> str:
    return _text(listing.get("state"))


def _product_body(product: Mapping[str, Any], wanted: int | None) -> tuple[dict[str, Any], bool]:
    body: dict[str, Any] = {key: product[key] for key in _PRODUCT_FIELDS if key in product}
    body["property_values"] = [
        {key: value[key] for key in _PROPERTY_VALUE_FIELDS if key in value}
        for value in product.get("property_values") or []
        if isinstance(value, Mapping)
    ]
    offerings: list[dict[str, Any]] = []
    changed = False
    for offering in product.get("offerings") or []:
        if not isinstance(offering, Mapping) or offering.get("is_deleted"):
            continue
        offering_body = _offering_body(offering)
        if wanted is not None and offering_body.get("quantity") != wanted:
            offering_body["quantity"] = wanted
            changed = True
        offerings.append(offering_body)
    body["offerings"] = offerings
    return body, changed


def _offering_body(offering: Mapping[str, Any]) -> dict[str, Any]:
    # readiness_state_id is copied as read, absent or null included (reference §7.4).
    body = {key: offering[key] for key in _OFFERING_FIELDS if key in offering}
    if "price" in body:
        body["price"] = money_to_float(body["price"])
    return body


def money_to_float(value: Any) -> Any:
    """reference §8: Money {amount, divisor} → amount / divisor, the float the PUT takes."""
    if isinstance(value, Mapping):
        divisor = value.get("divisor") or 1
        return round(value.get("amount", 0) / divisor, 6)
    return value


# --- webhooks (ORDER_PAID) ----------------------------------------------------------------------------

_RECEIPT_URL = re.compile(r"/v3/application/shops/(?P<shop>\d+)/receipts/(?P<receipt>\d+)/?$")


def webhook_event(payload: Any) -> PushEvent | None:
    """An Etsy webhook body -> PushEvent, or None for an event we do not act on. Etsy's developers report
    two shapes: the fields at the top level, or inside `data`. Raises ValueError when unreadable."""
    if not isinstance(payload, Mapping):
        raise ValueError("the body is not a JSON object")
    data = payload.get("data") if isinstance(payload.get("data"), Mapping) else payload
    event_type = str(data.get("event_type") or payload.get("event_type") or payload.get("type") or "")
    if event_type not in ("order.paid", "ORDER_PAID"):
        return None
    url = str(data.get("resource_url") or "")
    match = _RECEIPT_URL.search(urlsplit(url).path)
    if match is None:
        raise ValueError("resource_url is not a shop receipt URL")
    shop_id = str(data.get("shop_id") or payload.get("shop_id") or match["shop"])
    if shop_id != match["shop"]:
        raise ValueError("shop_id and resource_url name different shops")
    return PushEvent(account_id=shop_id, order_id=match["receipt"], change="order.paid")
