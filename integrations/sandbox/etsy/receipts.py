"""Receipt life cycle: building one from control input, status changes, and shipping (reference §4, §5).

Status and flags stay consistent the way Etsy's Definitions page describes them: `open` and
`payment processing` are unpaid; `paid` is ready to ship; `completed` is shipped; shipping a
paid receipt completes it, sets each transaction's shipped_timestamp and nulls expected_ship_date.
"""

from __future__ import annotations

from typing import Any

from .state import (DAY, LOCAL_PICKUP, PAID_STATUSES, RECEIPT_STATUSES, UNPAID_STATUSES, EtsyError, Receipt,
                    Refund, Shipment, Shop, Store, Transaction)
from .values import bad, parse_amount, parse_bool, parse_int, parse_optional_int, parse_str

MIN_TIMESTAMP = 946684800           # 2000-01-01, Etsy's floor for epoch parameters (§8)
DEFAULT_SHIPPING_METHOD = "Standard Shipping"
DEFAULT_ITEM_PRICE = 1000           # 10.00 when neither the input nor a listing gives a price
DEFAULT_SHIPPING_COST = 499

# Fake buyers for receipts created without a name or address.
BUYERS = (
    ("Jane Doe", "123 Main St", "Apt 4", "Brooklyn", "NY", "11201"),
    ("Carlos Rivera", "88 Harbor Way", "", "Seattle", "WA", "98101"),
    ("Priya Natarajan", "4100 Oak Lane", "Suite 210", "Austin", "TX", "78701"),
    ("Tom Becker", "9 Elm Court", "", "Portland", "OR", "97205"),
    ("Amara Okafor", "250 Lake Shore Dr", "Unit 12B", "Chicago", "IL", "60611"),
    ("Lena Fischer", "77 Pine Street", "", "Denver", "CO", "80202"),
)
ADDRESS_FIELDS = ("name", "first_line", "second_line", "city", "state", "zip", "country_iso")
RECEIPT_INPUT_KEYS = frozenset(ADDRESS_FIELDS) | {
    "receipt_id", "status", "transactions", "withhold_address", "created_timestamp", "updated_timestamp",
    "is_pickup", "buyer_email", "buyer_user_id", "message_from_buyer", "is_gift", "gift_message",
    "payment_method", "shipping_cost", "tax", "discount", "gift_wrap_price", "shipments", "is_delivered",
}
TRANSACTION_INPUT_KEYS = frozenset({
    "sku", "quantity", "listing_id", "product_id", "title", "price", "expected_ship_date", "shipping_method",
    "shipping_upgrade", "description",
})
PATCH_INPUT_KEYS = frozenset(ADDRESS_FIELDS) | {
    "status", "withhold_address", "is_pickup", "buyer_email", "message_from_buyer", "is_gift", "gift_message",
    "expected_ship_date", "created_timestamp", "updated_timestamp", "bump_updated", "refunds", "is_delivered",
}


def _check_keys(data: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise bad(f"Unknown {what} field(s): {', '.join(unknown)}")


def _timestamp(value: Any, name: str) -> int:
    return parse_int(value, name, minimum=MIN_TIMESTAMP)


def build_receipt(store: Store, shop: Shop, data: dict[str, Any], *, now: int) -> Receipt:
    """A receipt from the control API's input, with realistic defaults for everything left out."""
    _check_keys(data, RECEIPT_INPUT_KEYS, "receipt")
    if "receipt_id" in data:
        receipt_id = parse_int(data["receipt_id"], "receipt_id", minimum=1)
        if receipt_id in store.receipts:
            raise EtsyError(409, f"Receipt {receipt_id} already exists")
    else:
        receipt_id = store.new_receipt_id()
    status = parse_str(data.get("status", "paid"), "status")
    if status not in RECEIPT_STATUSES:
        raise bad(f"Invalid value for [status]: one of {', '.join(sorted(RECEIPT_STATUSES))}")
    raw_transactions = data.get("transactions")
    if not isinstance(raw_transactions, list) or not raw_transactions:
        raise bad("A receipt needs a non-empty transactions array")
    created = _timestamp(data.get("created_timestamp", now), "created_timestamp")
    buyer = BUYERS[next(store.buyer_seq) % len(BUYERS)]
    defaults = dict(zip(ADDRESS_FIELDS, (*buyer, "US"), strict=False))
    address = {key: parse_str(data.get(key, defaults[key]), key) for key in ADDRESS_FIELDS}
    is_pickup = parse_bool(data.get("is_pickup", False), "is_pickup")
    if is_pickup:
        address.update({key: "" for key in ADDRESS_FIELDS if key != "name"})
    buyer_email = data.get("buyer_email")
    receipt = Receipt(
        receipt_id=receipt_id, shop_id=shop.shop_id, currency_code=shop.currency_code,
        seller_user_id=shop.user_id, seller_email=f"{store.users[shop.user_id].login_name}@example.com",
        buyer_user_id=(parse_int(data["buyer_user_id"], "buyer_user_id", minimum=1) if "buyer_user_id" in data
                       else store.new_buyer_user_id()),
        # Null unless the app was granted access case by case (§4.2).
        buyer_email=parse_str(buyer_email, "buyer_email") if buyer_email is not None else None,
        status=status, is_paid=False, is_shipped=False,
        payment_method=parse_str(data.get("payment_method", "cc"), "payment_method"),
        message_from_buyer=parse_str(data.get("message_from_buyer", ""), "message_from_buyer"),
        is_gift=parse_bool(data.get("is_gift", False), "is_gift"),
        gift_message=parse_str(data.get("gift_message", ""), "gift_message"),
        created_timestamp=created, updated_timestamp=created,
        total_shipping_cost=(parse_amount(data["shipping_cost"], "shipping_cost") if "shipping_cost" in data
                             else DEFAULT_SHIPPING_COST),
        total_tax_cost=parse_amount(data.get("tax", 0), "tax"),
        discount_amt=parse_amount(data.get("discount", 0), "discount"),
        gift_wrap_price=parse_amount(data.get("gift_wrap_price", 0), "gift_wrap_price"),
        withhold_address=parse_bool(data.get("withhold_address", False), "withhold_address"),
        is_pickup=is_pickup, is_delivered=parse_bool(data.get("is_delivered", False), "is_delivered"),
        **address,
    )
    for index, raw in enumerate(raw_transactions):
        # The receipt's shipping cost sits on its first transaction; the others ship with it.
        shipping = receipt.total_shipping_cost if index == 0 else 0
        receipt.transactions.append(_transaction(store, shop, raw, index, created=created,
                                                 shipping_cost=shipping, pickup=is_pickup))
    if status == "canceled":
        # A canceled receipt was usually paid first; cancelling keeps is_paid as it was.
        apply_status(receipt, "paid", now=created)
    apply_status(receipt, status, now=created)
    for raw in data.get("shipments") or []:
        if not isinstance(raw, dict):
            raise bad("Invalid value for [shipments]: expected objects")
        carrier = parse_str(raw.get("carrier_name", ""), "carrier_name")
        tracking = parse_str(raw.get("tracking_code", ""), "tracking_code")
        receipt.shipments.append(Shipment(receipt_shipping_id=store.next_shipment_id(),
                                          shipment_notification_timestamp=created, carrier_name=carrier,
                                          tracking_code=tracking))
    if "updated_timestamp" in data:
        receipt.updated_timestamp = _timestamp(data["updated_timestamp"], "updated_timestamp")
    return receipt


def _transaction(store: Store, shop: Shop, raw: Any, index: int, *, created: int, shipping_cost: int,
                 pickup: bool) -> Transaction:
    where = f"transactions[{index}]"
    if not isinstance(raw, dict):
        raise bad(f"Invalid value for [{where}]: expected an object")
    _check_keys(raw, TRANSACTION_INPUT_KEYS, "transaction")
    sku = raw.get("sku")
    listing_id = parse_optional_int(raw.get("listing_id"), f"{where}.listing_id")
    product_id = parse_optional_int(raw.get("product_id"), f"{where}.product_id")
    found = store.find_product(shop.shop_id, sku=sku, listing_id=listing_id, product_id=product_id)
    if found is None and (listing_id is not None or product_id is not None):
        raise bad(f"{where}: shop {shop.shop_id} has no such listing/product")
    listing, product = found if found else (None, None)
    title = parse_str(raw.get("title") or (listing.title if listing else f"Item {sku or index + 1}"), "title")
    if "price" in raw:
        price = parse_amount(raw["price"], f"{where}.price")
    else:
        price = product.price if product else DEFAULT_ITEM_PRICE
    values = product.property_values if product else []
    description = raw.get("description", listing.description if listing else title)
    expected = raw.get("expected_ship_date")
    return Transaction(
        transaction_id=store.next_transaction_id(), title=title,
        description=parse_str(description, "description"),
        quantity=parse_int(raw.get("quantity", 1), f"{where}.quantity", minimum=1), price=price,
        shipping_cost=shipping_cost,
        listing_id=listing.listing_id if listing else None,
        product_id=product.product_id if product else None,
        sku=parse_str(sku, "sku") if sku is not None else (product.sku if product else None),
        variations=[{"property_id": pv["property_id"], "value_id": pv["value_ids"][0],
                     "formatted_name": pv["property_name"], "formatted_value": pv["values"][0]}
                    for pv in values],
        product_data=[dict(pv) for pv in values],
        created_timestamp=created, paid_timestamp=None, shipped_timestamp=None,
        expected_ship_date=(_timestamp(expected, f"{where}.expected_ship_date") if expected is not None
                            else created + 3 * DAY),
        shipping_method=(LOCAL_PICKUP if pickup else
                         parse_str(raw.get("shipping_method") or DEFAULT_SHIPPING_METHOD, "shipping_method")),
        shipping_upgrade=raw.get("shipping_upgrade"),
        listing_image_id=(listing.listing_id + 7 if listing else None),
        shipping_profile_id=listing.shipping_profile_id if listing else shop.shipping_profile_id,
    )


def apply_status(receipt: Receipt, status: str, *, now: int) -> None:
    """Set a status and the flags and timestamps that go with it."""
    if status not in RECEIPT_STATUSES:
        raise bad(f"Invalid value for [status]: one of {', '.join(sorted(RECEIPT_STATUSES))}")
    if status in UNPAID_STATUSES:
        receipt.is_paid = receipt.is_shipped = False
        for t in receipt.transactions:
            t.paid_timestamp = None
    elif status in PAID_STATUSES:
        receipt.is_paid = True
        for t in receipt.transactions:
            if t.paid_timestamp is None:
                t.paid_timestamp = now
        if status == "paid" and receipt.is_shipped:        # moved back from completed
            receipt.is_shipped = False
            for t in receipt.transactions:
                t.shipped_timestamp = None
                t.expected_ship_date = now + 3 * DAY
        if status == "completed":
            _mark_shipped(receipt, now)
        if status == "fully refunded" and not receipt.refunds:
            receipt.refunds.append(Refund(amount=receipt.grandtotal, created_timestamp=now,
                                          reason="Order canceled", note_from_issuer="", status="completed"))
    receipt.status = status


def _mark_shipped(receipt: Receipt, now: int) -> None:
    receipt.is_shipped = True
    if receipt.status == "paid":
        receipt.status = "completed"
    for t in receipt.transactions:
        if t.shipped_timestamp is None:
            t.shipped_timestamp = now
        t.expected_ship_date = None


def _assert_shippable(receipt: Receipt) -> None:
    # 409 "conflict with the current state": the reference suggests canceled or unpaid (§5).
    if receipt.status in ("canceled", "fully refunded"):
        raise EtsyError(409, f"Receipt {receipt.receipt_id} is {receipt.status} and cannot be shipped")
    if not receipt.is_paid:
        raise EtsyError(409, f"Receipt {receipt.receipt_id} is not paid and cannot be shipped")


def ship_receipt(store: Store, receipt: Receipt, *, tracking_code: str, carrier_name: str, note_to_buyer: str,
                 send_bcc: bool, details: dict[str, Any], content_type: str, now: int) -> None:
    """createReceiptShipment. Without tracking code and carrier the receipt is "marked as shipped
    only" (§5): no shipments[] entry, which is also what a JSON body under a form Content-Type
    leaves behind (issue #201)."""
    _assert_shippable(receipt)
    if tracking_code or carrier_name:
        receipt.shipments.append(Shipment(receipt_shipping_id=store.next_shipment_id(),
                                          shipment_notification_timestamp=now, carrier_name=carrier_name,
                                          tracking_code=tracking_code, note_to_buyer=note_to_buyer,
                                          send_bcc=send_bcc, details=details, content_type=content_type))
    _mark_shipped(receipt, now)
    receipt.updated_timestamp = now


def update_receipt(receipt: Receipt, *, was_paid: bool | None, was_shipped: bool | None, now: int) -> None:
    """updateShopReceipt: mark paid and/or shipped without tracking (§5)."""
    if receipt.status in ("canceled", "fully refunded"):
        raise EtsyError(409, f"Receipt {receipt.receipt_id} is {receipt.status} and cannot be changed")
    if was_paid and not receipt.is_paid:
        apply_status(receipt, "paid", now=now)
    if was_shipped and not receipt.is_shipped:
        _assert_shippable(receipt)
        _mark_shipped(receipt, now)
    receipt.updated_timestamp = now


def patch_receipt(receipt: Receipt, data: dict[str, Any], *, now: int) -> None:
    """The control API's PATCH: change fields as Etsy's side would, e.g. a cancellation."""
    _check_keys(data, PATCH_INPUT_KEYS, "receipt")
    for key in ADDRESS_FIELDS:
        if key in data:
            setattr(receipt, key, parse_str(data[key], key))
    for key in ("withhold_address", "is_pickup", "is_gift", "is_delivered"):
        if key in data:
            setattr(receipt, key, parse_bool(data[key], key))
    if receipt.is_pickup:
        for key in ADDRESS_FIELDS[1:]:
            setattr(receipt, key, "")
        for t in receipt.transactions:
            t.shipping_method = LOCAL_PICKUP
    if "buyer_email" in data:
        receipt.buyer_email = parse_str(data["buyer_email"], "buyer_email") if data["buyer_email"] else None
    for key in ("message_from_buyer", "gift_message"):
        if key in data:
            setattr(receipt, key, parse_str(data[key], key))
    if "expected_ship_date" in data:
        value = data["expected_ship_date"]
        for t in receipt.transactions:
            t.expected_ship_date = _timestamp(value, "expected_ship_date") if value is not None else None
    if "created_timestamp" in data:
        receipt.created_timestamp = _timestamp(data["created_timestamp"], "created_timestamp")
    for raw in data.get("refunds") or []:
        if not isinstance(raw, dict) or "amount" not in raw:
            raise bad("Invalid value for [refunds]: objects with an amount")
        receipt.refunds.append(Refund(amount=parse_amount(raw["amount"], "refunds.amount"),
                                      created_timestamp=now,
                                      reason=parse_str(raw.get("reason", "Refund"), "reason"),
                                      note_from_issuer=parse_str(raw.get("note_from_issuer", ""), "note"),
                                      status="completed"))
    if "status" in data:
        apply_status(receipt, parse_str(data["status"], "status"), now=now)
    if "updated_timestamp" in data:
        receipt.updated_timestamp = _timestamp(data["updated_timestamp"], "updated_timestamp")
    elif parse_bool(data.get("bump_updated", True), "bump_updated"):
        # Etsy's receipts are "static" for some changes (issue #232: a new ship-by date left
        # update_timestamp alone); bump_updated=false reproduces that.
        receipt.updated_timestamp = max(receipt.updated_timestamp, now)
