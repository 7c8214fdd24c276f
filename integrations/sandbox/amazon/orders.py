"""Orders API v0 (ordersV0.json) and v2026-01-01 (orders_2026-01-01.json).

One store of orders, two views: v0 in PascalCase with PII behind restricted data tokens, v2026 in
camelCase with `includedData` datasets and no RDT (sp-api.md §0, §2, §9).
"""

from __future__ import annotations

import copy
import heapq
import re
from datetime import datetime, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from integrations.sandbox.http import Request, Response, empty_response, json_response

from .common import (
    SpApiError, csv_values, int_arg, invalid_input, iso, json_body, not_found, parse_iso, seal, unseal,
)
from .seeding import format_amount, refresh_counts
from .state import CallContext, Order, Seller

if TYPE_CHECKING:
    from .app import AmazonSandbox

ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
V0_STATUSES = ("PendingAvailability", "Pending", "Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed",
               "Canceled", "Unfulfillable")
# "ShippingAddress is only available for orders with the following status values: Unshipped,
# PartiallyShipped, Shipped and InvoiceUnconfirmed" (ordersV0.json, Order.ShippingAddress).
ADDRESS_STATUSES = frozenset({"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"})
# "...contains restricted data ... For example, Name, AddressLine1, AddressLine2, AddressLine3, Phone,
# AddressType, and ExtendedFields" (same note). City, StateOrRegion, PostalCode, CountryCode stay.
RESTRICTED_ADDRESS_FIELDS = ("Name", "AddressLine1", "AddressLine2", "AddressLine3", "Phone", "AddressType",
                             "ExtendedFields")
# "getOrderItems does not return information about pricing, taxes, shipping charges, gift status or
# promotions" while the order is Pending (ordersV0.json, getOrderItems).
PENDING_HIDDEN_ITEM_FIELDS = ("ItemPrice", "ShippingPrice", "ItemTax", "ShippingTax", "ShippingDiscount",
                              "ShippingDiscountTax", "PromotionDiscount", "PromotionDiscountTax", "PromotionIds",
                              "CODFee", "CODFeeDiscount", "IsGift", "PointsGranted", "BuyerInfo")
ITEM_BUYER_INFO_FIELDS = ("BuyerCustomizedInfo", "GiftWrapPrice", "GiftWrapTax", "GiftMessageText", "GiftWrapLevel")

# v2026-01-01 vocabulary
V2026_STATUS = {"Pending": "PENDING", "PendingAvailability": "PENDING_AVAILABILITY", "Unshipped": "UNSHIPPED",
                "PartiallyShipped": "PARTIALLY_SHIPPED", "Shipped": "SHIPPED", "InvoiceUnconfirmed": "SHIPPED",
                "Canceled": "CANCELLED", "Unfulfillable": "UNFULFILLABLE"}
SERVICE_LEVELS = {"Expedited": "EXPEDITED", "FreeEconomy": "FREE_ECONOMY", "NextDay": "NEXT_DAY",
                  "Priority": "PRIORITY", "SameDay": "SAME_DAY", "SecondDay": "SECOND_DAY", "Scheduled": "SCHEDULED",
                  "Standard": "STANDARD"}
INCLUDED_DATA = frozenset({"BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT",
                           "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS"})
FULFILLED_BY = {"MERCHANT": "MFN", "AMAZON": "AFN"}
PAGINATION_TOKEN_HOURS = 24          # "The token will expire after 24 hours" (orders_2026-01-01.json, Pagination)


# -- shared ----------------------------------------------------------------------------------------

def own_order(ctx: CallContext, order_id: str) -> Order:
    if not ORDER_ID.match(order_id):
        raise invalid_input("Invalid Input", f"{order_id!r} is not an Amazon order id in 3-7-7 format")
    order = ctx.seller.orders.get(order_id)
    if order is None:
        raise not_found(f"Order {order_id} was not found")
    return order


def phone_suppressed(order: Order, now: datetime) -> bool:
    """Phone is suppressed for every AFN order and for shipped MFN orders past LatestDeliveryDate
    (ordersV0.json, Address.Phone)."""
    if order.is_afn:
        return True
    latest = order.data.get("LatestDeliveryDate")
    return order.status == "Shipped" and bool(latest) and now > parse_iso(latest)


def shipping_address(order: Order, now: datetime, *, pii: bool) -> dict[str, Any] | None:
    address = order.data.get("ShippingAddress")
    if not address or order.status not in ADDRESS_STATUSES:
        return None
    view = copy.deepcopy(address)
    for name in (() if pii else RESTRICTED_ADDRESS_FIELDS):
        view.pop(name, None)
    if phone_suppressed(order, now):
        view.pop("Phone", None)
    return view


def _matches(order: Order, f: dict[str, Any]) -> bool:
    d = order.data
    return not (
        (f.get("marketplaces") and d.get("MarketplaceId") not in f["marketplaces"])
        or (f.get("statuses") and d["OrderStatus"] not in f["statuses"])
        or (f.get("channels") and d.get("FulfillmentChannel") not in f["channels"])
        or (f.get("payments") and d.get("PaymentMethod") not in f["payments"])
        or (f.get("order_ids") and order.id not in f["order_ids"])
        or (f.get("buyer_email") and (d.get("BuyerInfo") or {}).get("BuyerEmail") != f["buyer_email"])
        or (f.get("seller_order_id") and d.get("SellerOrderId") != f["seller_order_id"])
        or (f.get("supply_source")
            and (d.get("FulfillmentInstruction") or {}).get("FulfillmentSupplySourceId") != f["supply_source"])
        or (f.get("is_ispu") is not None and bool(d.get("IsISPU")) != f["is_ispu"])
        or (f.get("easy_ship") and d.get("EasyShipShipmentStatus") not in f["easy_ship"])
        or (f.get("einvoice") and d.get("ElectronicInvoiceStatus") not in f["einvoice"])
        or not _delivery_dates_match(d, f.get("delivery") or {})
    )


def search_page(seller: Seller, f: dict[str, Any], key: list[str] | None,
                size: int) -> tuple[list[Order], list[str] | None]:
    """One page of a search, oldest first by the searched date, then by id.

    Keyset paging: the page starts after the last (date, id) already returned, so an order that
    changes while a client pages moves past the frozen upper bound instead of shifting the pages.
    Returns the page and the key to continue from (None on the last page)."""
    after, before = parse_iso(f["after"]), parse_iso(f["before"])
    created = f["by"] == "created"
    last = (parse_iso(key[0]), key[1]) if key else None
    candidates = []
    for order in seller.orders.values():
        when = order.purchase_date if created else order.last_update
        if after <= when <= before and (last is None or (when, order.id) > last) and _matches(order, f):
            candidates.append((when, order.id, order))
    rows = heapq.nsmallest(size + 1, candidates, key=itemgetter(0, 1))
    page = [row[2] for row in rows[:size]]
    if len(rows) <= size:
        return page, None
    return page, [iso(rows[size - 1][0]), rows[size - 1][1]]


def _delivery_dates_match(data: dict[str, Any], bounds: dict[str, str]) -> bool:
    for name, value in bounds.items():
        field = "EarliestDeliveryDate" if name.startswith("Earliest") else "LatestDeliveryDate"
        if not data.get(field):
            return False
        when, limit = parse_iso(data[field]), parse_iso(value)
        if (name.endswith("Before") and when > limit) or (name.endswith("After") and when < limit):
            return False
    return True


def _date_arg(request: Request, name: str) -> datetime | None:
    raw = request.arg(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise invalid_input(f"{name} must be an ISO-8601 date-time", f"Invalid {name}: {raw!r}") from None


def _time_window(sb: AmazonSandbox, request: Request, names: tuple[str, str, str, str]) -> dict[str, Any]:
    """Exactly one of CreatedAfter/LastUpdatedAfter; a Before only with its own After; Before at least
    the clock lag before now (Amazon: two minutes) and not before After (ordersV0.json, getOrders)."""
    created_after_n, created_before_n, updated_after_n, updated_before_n = names
    created_after, created_before = _date_arg(request, created_after_n), _date_arg(request, created_before_n)
    updated_after, updated_before = _date_arg(request, updated_after_n), _date_arg(request, updated_before_n)
    if created_after and updated_after:
        raise invalid_input(f"Only one of {created_after_n} and {updated_after_n} may be specified")
    if created_after and updated_before:
        raise invalid_input(f"{updated_before_n} cannot be set when {created_after_n} is set")
    if updated_after and created_before:
        raise invalid_input(f"{created_before_n} cannot be set when {updated_after_n} is set")
    if created_after is not None:
        by, after, after_name, given, before_name = "created", created_after, created_after_n, created_before, \
            created_before_n
    elif updated_after is not None:
        by, after, after_name, given, before_name = "updated", updated_after, updated_after_n, updated_before, \
            updated_before_n
    else:
        raise invalid_input(f"Either {created_after_n} or {updated_after_n} is required")
    clock = sb.state.clock
    if after > clock.now():
        raise invalid_input(f"{after_name} cannot be in the future")
    if given is not None:
        if given > clock.latest_allowed_before():
            raise invalid_input(f"{before_name} must be at least {clock.lag_seconds:g} seconds before "
                                f"the time of the request")
        if given < after:
            raise invalid_input(f"{before_name} must be equal to or after the {by} after date")
    return {"by": by, "after": iso(after), "before": iso(given if given is not None else clock.search_upper_bound())}


def _enum_list(request: Request, name: str, allowed: tuple[str, ...] | frozenset[str]) -> list[str]:
    values = csv_values(request, name)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise invalid_input(f"Invalid {name} value(s): {', '.join(bad)}")
    return values


# -- Orders v0 ---------------------------------------------------------------------------------------

def v0_order(order: Order, now: datetime, elements: set[str]) -> dict[str, Any]:
    view = copy.deepcopy(order.data)
    address = shipping_address(order, now, pii="shippingAddress" in elements)
    if address is None:
        view.pop("ShippingAddress", None)
    else:
        view["ShippingAddress"] = address
    if "buyerInfo" not in elements:
        view.pop("BuyerInfo", None)
    if "buyerTaxInformation" not in elements:
        view.pop("BuyerTaxInformation", None)
    # "LatestDeliveryDate ... only returned for seller-fulfilled orders that do not have a
    # PendingAvailability, Pending, or Canceled status" (ordersV0.json).
    if order.status in ("Pending", "PendingAvailability", "Canceled"):
        view.pop("LatestDeliveryDate", None)
    return view


def v0_item(order: Order, item: dict[str, Any], elements: set[str]) -> dict[str, Any]:
    view = copy.deepcopy(item)
    if order.status in ("Pending", "PendingAvailability"):
        for name in PENDING_HIDDEN_ITEM_FIELDS:
            view.pop(name, None)
    if "buyerInfo" not in elements:
        view.pop("BuyerInfo", None)
    return view


def get_orders(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    next_token = request.arg("NextToken")
    if next_token:
        # "NextToken doesn't affect any filters": the token carries the first call's filters and upper
        # bound; what the client re-sends alongside it (python-amazon-sp-api re-sends everything) is ignored.
        page = _open_token(sb, ctx, next_token, "v0", "NextToken")
        filters, key, default_size = page["f"], page["k"], page["n"]
    else:
        filters, key, default_size = _v0_filters(sb, request), None, 100
    size = int_arg(request, "MaxResultsPerPage", default_size, 1, 100)
    orders, next_key = search_page(ctx.seller, filters, key, size)
    elements = ctx.data_elements("GET", "/orders/v0/orders") or set()
    now = sb.state.clock.now()
    payload: dict[str, Any] = {"Orders": [v0_order(o, now, elements) for o in orders]}
    if next_key:
        payload["NextToken"] = seal({"t": "v0", "s": ctx.seller.selling_partner_id, "f": filters, "k": next_key,
                                     "n": size}, sb.state.secret)
    payload["CreatedBefore" if filters["by"] == "created" else "LastUpdatedBefore"] = filters["before"]
    return json_response({"payload": payload})


def _v0_filters(sb: AmazonSandbox, request: Request) -> dict[str, Any]:
    marketplaces = csv_values(request, "MarketplaceIds")
    if not marketplaces:
        raise invalid_input("MarketplaceIds is required", "Missing required parameter MarketplaceIds")
    if len(marketplaces) > 50:
        raise invalid_input("MarketplaceIds accepts at most 50 values")
    order_ids = csv_values(request, "AmazonOrderIds")
    if len(order_ids) > 50:
        raise invalid_input("AmazonOrderIds accepts at most 50 values")
    filters = _time_window(sb, request, ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore"))
    is_ispu = request.arg("IsISPU")
    if is_ispu not in (None, "", "true", "false"):
        raise invalid_input("IsISPU must be true or false")
    delivery = {}
    for name in ("EarliestDeliveryDateBefore", "EarliestDeliveryDateAfter", "LatestDeliveryDateBefore",
                 "LatestDeliveryDateAfter"):
        value = _date_arg(request, name)
        if value is not None:
            delivery[name] = iso(value)
    filters.update({
        "marketplaces": marketplaces,
        "statuses": _enum_list(request, "OrderStatuses", V0_STATUSES),
        "channels": _enum_list(request, "FulfillmentChannels", ("AFN", "MFN")),
        "payments": _enum_list(request, "PaymentMethods", ("COD", "CVS", "Other")),
        "order_ids": order_ids,
        "buyer_email": request.arg("BuyerEmail") or None,
        "seller_order_id": request.arg("SellerOrderId") or None,
        "supply_source": request.arg("ActualFulfillmentSupplySourceId") or None,
        "is_ispu": None if not is_ispu else is_ispu == "true",
        "easy_ship": csv_values(request, "EasyShipShipmentStatuses"),
        "einvoice": csv_values(request, "ElectronicInvoiceStatuses"),
        "delivery": delivery,
    })
    return filters


def _open_token(sb: AmazonSandbox, ctx: CallContext, token: str, kind: str, name: str) -> dict[str, Any]:
    try:
        page = unseal(token, sb.state.secret)
    except ValueError:
        raise invalid_input(f"Invalid {name}", f"The {name} is malformed or was not issued for this request") from None
    if page.get("t") != kind or page.get("s") != ctx.seller.selling_partner_id:
        raise invalid_input(f"Invalid {name}", f"The {name} was not issued for this request")
    return page


def get_order(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    order = own_order(ctx, request.params["orderId"])
    elements = ctx.data_elements("GET", request.path) or set()
    return json_response({"payload": v0_order(order, sb.state.clock.now(), elements)})


def get_order_items(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    order = own_order(ctx, request.params["orderId"])
    start = 0
    next_token = request.arg("NextToken")
    if next_token:
        page = _open_token(sb, ctx, next_token, "items", "NextToken")
        if page.get("o") != order.id:
            raise invalid_input("Invalid NextToken", "The NextToken belongs to another order")
        start = int(page["i"])
    size = sb.state.settings.order_items_page_size
    elements = ctx.data_elements("GET", request.path) or set()
    payload: dict[str, Any] = {
        "AmazonOrderId": order.id,
        "OrderItems": [v0_item(order, item, elements) for item in order.items[start:start + size]],
    }
    if start + size < len(order.items):
        payload["NextToken"] = seal({"t": "items", "s": ctx.seller.selling_partner_id, "o": order.id,
                                     "i": start + size}, sb.state.secret)
    return json_response({"payload": payload})


def get_order_address(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    order = own_order(ctx, request.params["orderId"])
    # An RDT for /orders/v0/orders/{orderId}/address needs no dataElements (the Tokens sandbox example).
    pii = ctx.data_elements("GET", request.path) is not None
    payload: dict[str, Any] = {"AmazonOrderId": order.id}
    address = shipping_address(order, sb.state.clock.now(), pii=pii)
    if address is not None:
        payload["ShippingAddress"] = address
    if pii and order.buyer_company_name:
        payload["BuyerCompanyName"] = order.buyer_company_name
    if pii and order.delivery_preferences:
        payload["DeliveryPreferences"] = copy.deepcopy(order.delivery_preferences)
    return json_response({"payload": payload})


def get_order_buyer_info(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    order = own_order(ctx, request.params["orderId"])
    payload: dict[str, Any] = {"AmazonOrderId": order.id}
    if ctx.data_elements("GET", request.path) is not None:
        payload.update(copy.deepcopy(order.data.get("BuyerInfo") or {}))
    return json_response({"payload": payload})


def get_order_items_buyer_info(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    order = own_order(ctx, request.params["orderId"])
    pii = ctx.data_elements("GET", request.path) is not None
    items = []
    for item in order.items:
        row: dict[str, Any] = {"OrderItemId": item["OrderItemId"]}
        if pii:
            row.update({k: v for k, v in (item.get("BuyerInfo") or {}).items() if k in ITEM_BUYER_INFO_FIELDS})
        items.append(row)
    return json_response({"payload": {"AmazonOrderId": order.id, "OrderItems": items}})


# -- confirmShipment -----------------------------------------------------------------------------

def confirm_problems(body: dict[str, Any]) -> list[str]:
    """ConfirmShipmentRequest (ordersV0.json) checked by hand: the sandbox has no model files at run
    time; a test keeps this in step with jsonschema over the model. Beyond the schema: non-empty ids,
    tracking number and item list, and carrierName when carrierCode is "Other" (sp-api.md §2.5)."""
    problems: list[str] = []
    if not isinstance(body.get("marketplaceId"), str):
        problems.append("marketplaceId is required and must be a string")
    if "codCollectionMethod" in body and body["codCollectionMethod"] != "DirectPayment":
        problems.append("codCollectionMethod must be DirectPayment")
    detail = body.get("packageDetail")
    if not isinstance(detail, dict):
        return problems + ["packageDetail is required and must be an object"]
    for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate"):
        if not isinstance(detail.get(name), str):
            problems.append(f"packageDetail.{name} is required and must be a string")
        elif name != "shipDate" and not detail[name].strip():
            problems.append(f"packageDetail.{name} must not be empty")
    for name in ("carrierName", "shippingMethod", "shipFromSupplySourceId"):
        if name in detail and not isinstance(detail[name], str):
            problems.append(f"packageDetail.{name} must be a string")
    ship_date = detail.get("shipDate")
    if isinstance(ship_date, str):
        try:
            valid = bool(RFC3339.match(ship_date)) and parse_iso(ship_date) is not None
        except ValueError:
            valid = False
        if not valid:
            problems.append("packageDetail.shipDate must be an ISO-8601 date-time, e.g. 2022-02-11T01:00:00.000Z")
    if detail.get("carrierCode") == "Other" and not detail.get("carrierName"):
        problems.append("packageDetail.carrierName is required when carrierCode is Other")
    items = detail.get("orderItems")
    if not isinstance(items, list):
        return problems + ["packageDetail.orderItems is required and must be a list"]
    if not items:
        problems.append("packageDetail.orderItems must not be empty")
    for index, item in enumerate(items):
        where = f"packageDetail.orderItems[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object")
            continue
        if not isinstance(item.get("orderItemId"), str):
            problems.append(f"{where}.orderItemId is required and must be a string")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            problems.append(f"{where}.quantity is required and must be an integer")
        elif quantity < 1:
            problems.append(f"{where}.quantity must be at least 1")
        codes = item.get("transparencyCodes")
        if codes is not None and (not isinstance(codes, list) or not all(isinstance(c, str) for c in codes)):
            problems.append(f"{where}.transparencyCodes must be a list of strings")
    return problems


def _confirm_error(message: str) -> SpApiError:
    # The model's own 400 example for this operation spells the code with a space (sp-api.md §2.5).
    return SpApiError(400, "Invalid Input", message)


def confirm_shipment(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    order = own_order(ctx, request.params["orderId"])
    body = json_body(request)
    problems = confirm_problems(body)
    if problems:
        raise _confirm_error("Invalid Input: " + "; ".join(problems))
    if order.is_afn:
        raise _confirm_error(f"Order {order.id} is fulfilled by Amazon; only seller-fulfilled orders can be confirmed")
    if order.status in ("Pending", "PendingAvailability"):
        raise _confirm_error(f"Order {order.id} is {order.status} and not ready for shipment")
    if order.status in ("Canceled", "Unfulfillable"):
        raise _confirm_error(f"Order {order.id} is {order.status} and cannot be shipped")
    if body["marketplaceId"] != order.data.get("MarketplaceId"):
        raise _confirm_error(f"marketplaceId {body['marketplaceId']} does not match the order's marketplace")
    detail = body["packageDetail"]
    wanted: dict[str, int] = {}
    for line in detail["orderItems"]:
        wanted[line["orderItemId"]] = wanted.get(line["orderItemId"], 0) + line["quantity"]
    items = {item["OrderItemId"]: item for item in order.items}
    for item_id, quantity in wanted.items():
        item = items.get(item_id)
        if item is None:
            raise _confirm_error(f"Order item {item_id} is not part of order {order.id}")
        left = item["QuantityOrdered"] - item.get("QuantityShipped", 0)
        if left <= 0:
            # Amazon's guide says this call can also edit a shipped order's details; the sandbox refuses a
            # second confirmation of shipped items so that "confirm once" is proven by the product, not here.
            raise _confirm_error(f"Order item {item_id} has already been shipped in full")
        if quantity > left:
            raise _confirm_error(f"Order item {item_id}: quantity {quantity} is more than the {left} left to ship")
    now = sb.state.clock.stamp()
    for item_id, quantity in wanted.items():
        items[item_id]["QuantityShipped"] = items[item_id].get("QuantityShipped", 0) + quantity
    refresh_counts(order)
    order.data["OrderStatus"] = "Shipped" if order.data["NumberOfItemsUnshipped"] == 0 else "PartiallyShipped"
    order.data["LastUpdateDate"] = iso(max(now, order.last_update))
    order.packages.append({**copy.deepcopy(detail), "createdTime": iso(now)})
    ctx.seller.confirmations.append({"amazon_order_id": order.id, "body": copy.deepcopy(body), "at": iso(now),
                                     "package_reference_id": detail["packageReferenceId"]})
    return empty_response(204)


# -- Orders v2026-01-01 ------------------------------------------------------------------------------

def _camel_money(money: dict[str, Any] | None) -> dict[str, str] | None:
    if not money:
        return None
    return {"amount": str(money.get("Amount", "0")), "currencyCode": money.get("CurrencyCode", "")}


def _customer_address(address: dict[str, Any]) -> dict[str, Any]:
    mapping = {"Name": "name", "CompanyName": "companyName", "AddressLine1": "addressLine1",
               "AddressLine2": "addressLine2", "AddressLine3": "addressLine3", "City": "city",
               "StateOrRegion": "stateOrRegion", "Municipality": "municipality", "PostalCode": "postalCode",
               "CountryCode": "countryCode", "Phone": "phone"}
    view = {new: address[old] for old, new in mapping.items() if old in address}
    county = address.get("County") or address.get("District")
    if county:
        view["districtOrCounty"] = county
    if address.get("AddressType"):
        view["addressType"] = str(address["AddressType"]).upper()
    extended = address.get("ExtendedFields")
    if extended:
        view["extendedFields"] = {k[0].lower() + k[1:]: v for k, v in extended.items()
                                  if k in ("StreetName", "StreetNumber", "Complement", "Neighborhood")}
    return view


def _merchant_address(address: dict[str, Any]) -> dict[str, Any]:
    view = _customer_address(address)
    return {k: v for k, v in view.items() if k not in ("companyName", "phone", "addressType", "extendedFields")}


def _window(earliest: str | None, latest: str | None) -> dict[str, str] | None:
    window = {k: v for k, v in (("earliestDateTime", earliest), ("latestDateTime", latest)) if v}
    return window or None


def v2026_item(order: Order, item: dict[str, Any], included: set[str]) -> dict[str, Any]:
    quantity = item["QuantityOrdered"]
    priced = order.status not in ("Pending", "PendingAvailability")
    product: dict[str, Any] = {"asin": item.get("ASIN"), "title": item.get("Title"), "sellerSku": item.get("SellerSKU"),
                               "condition": {"conditionType": str(item.get("ConditionId", "New")).upper(),
                                             "conditionSubtype": str(item.get("ConditionSubtypeId", "New"))
                                             .upper().replace(" ", "_")}}
    price = item.get("ItemPrice")
    if priced and price:
        unit = float(price["Amount"]) / quantity
        product["price"] = {"unitPrice": {"amount": format_amount(price["CurrencyCode"], unit),
                                          "currencyCode": price["CurrencyCode"]}}
        if item.get("PriceDesignation") == "BusinessPrice":         # v0 BusinessPrice, v2026 BUSINESS_PRICE
            product["price"]["priceDesignation"] = "BUSINESS_PRICE"
    view: dict[str, Any] = {"orderItemId": item["OrderItemId"], "quantityOrdered": quantity,
                            "product": {k: v for k, v in product.items() if v is not None}}
    if item.get("IsTransparency"):
        view["programs"] = ["TRANSPARENCY"]
    if "PROCEEDS" in included and priced and price:
        breakdowns = [{"type": "ITEM", "subtotal": _camel_money(price)}]
        shipping = item.get("ShippingPrice")
        total = float(price["Amount"])
        if shipping and float(shipping.get("Amount", 0)):
            breakdowns.append({"type": "SHIPPING", "subtotal": _camel_money(shipping)})
            total += float(shipping["Amount"])
        view["proceeds"] = {"proceedsTotal": {"amount": format_amount(price["CurrencyCode"], total),
                                              "currencyCode": price["CurrencyCode"]},
                            "breakdowns": breakdowns}
    if "PROMOTION" in included and item.get("PromotionIds"):
        view["promotion"] = {"breakdowns": [{"promotionId": p} for p in item["PromotionIds"]]}
    if "CANCELLATION" in included and (item.get("BuyerRequestedCancel") or {}).get("IsBuyerRequestedCancel") == "true":
        view["cancellation"] = {"cancellationRequest": {
            "requester": "BUYER", "cancelReason": item["BuyerRequestedCancel"].get("BuyerCancelReason", "")}}
    if "FULFILLMENT" in included:
        shipped = item.get("QuantityShipped", 0)
        fulfillment: dict[str, Any] = {"quantityFulfilled": shipped, "quantityUnfulfilled": quantity - shipped}
        gift = item.get("BuyerInfo") or {}
        if item.get("IsGift") == "true" and (gift.get("GiftMessageText") or gift.get("GiftWrapLevel")):
            fulfillment["packing"] = {"giftOption": {k: v for k, v in (("giftMessage", gift.get("GiftMessageText")),
                                                                        ("giftWrapLevel", gift.get("GiftWrapLevel")))
                                                     if v}}
        view["fulfillment"] = fulfillment
    return view


def v2026_order(sb: AmazonSandbox, order: Order, included: set[str], now: datetime) -> dict[str, Any]:
    d = order.data
    view: dict[str, Any] = {"orderId": order.id, "createdTime": d["PurchaseDate"], "lastUpdatedTime": d["LastUpdateDate"]}
    if d.get("SellerOrderId"):
        view["orderAliases"] = [{"aliasId": d["SellerOrderId"], "aliasType": "SELLER_ORDER_ID"}]
    programs = [name for flag, name in (("IsPrime", "PRIME"), ("IsBusinessOrder", "AMAZON_BUSINESS"),
                                        ("IsPremiumOrder", "PREMIUM"), ("IsISPU", "IN_STORE_PICK_UP"))
                if d.get(flag)]
    if d.get("OrderType") == "Preorder":
        programs.append("PREORDER")
    if programs:
        view["programs"] = programs
    view["salesChannel"] = {"channelName": "AMAZON", "marketplaceId": d.get("MarketplaceId"),
                            "marketplaceName": d.get("SalesChannel")}
    # PII in v2026 is role-based, not RDT-based (sp-api.md §0): the sandbox app holds every role.
    buyer = d.get("BuyerInfo") or {}
    if "BUYER" in included and buyer:
        view["buyer"] = {k: v for k, v in (("buyerName", buyer.get("BuyerName")),
                                           ("buyerEmail", None if order.is_afn else buyer.get("BuyerEmail")),
                                           ("buyerCompanyName", order.buyer_company_name),
                                           ("buyerPurchaseOrderNumber", buyer.get("PurchaseOrderNumber"))) if v}
    if "RECIPIENT" in included:
        address = shipping_address(order, now, pii=True)
        if address is not None:
            view["recipient"] = {"deliveryAddress": _customer_address(address)}
    if "PROCEEDS" in included and d.get("OrderTotal") and order.status not in ("Pending", "PendingAvailability"):
        view["proceeds"] = {"grandTotal": _camel_money(d["OrderTotal"])}
    if "PAYMENT" in included and d.get("PaymentExecutionDetail"):
        view["payment"] = {"paymentExecutions": [
            {k: v for k, v in (("paymentMethod", p.get("PaymentMethod")), ("paymentAmount", _camel_money(p.get("Payment"))),
                               ("acquirerId", p.get("AcquirerId")), ("cardBrand", p.get("CardBrand")),
                               ("authorizationCode", p.get("AuthorizationCode"))) if v}
            for p in d["PaymentExecutionDetail"]]}
    if "TAX" in included and d.get("BuyerInvoicePreference"):
        view["tax"] = {"taxInvoicing": {"buyerInvoicePreference": d["BuyerInvoicePreference"]}}
    if "FULFILLMENT" in included:
        fulfillment: dict[str, Any] = {"fulfillmentStatus": V2026_STATUS[order.status],
                                       "fulfilledBy": "AMAZON" if order.is_afn else "MERCHANT"}
        level = SERVICE_LEVELS.get(d.get("ShipmentServiceLevelCategory", ""))
        if level:
            fulfillment["fulfillmentServiceLevel"] = level
        ship = _window(d.get("EarliestShipDate"), d.get("LatestShipDate"))
        deliver = _window(d.get("EarliestDeliveryDate"),
                          None if order.status in ("Pending", "PendingAvailability", "Canceled")
                          else d.get("LatestDeliveryDate"))
        if ship:
            fulfillment["shipByWindow"] = ship
        if deliver:
            fulfillment["deliverByWindow"] = deliver
        view["fulfillment"] = fulfillment
    view["orderItems"] = [v2026_item(order, item, included) for item in order.items]
    # "packages ... Only available for merchant-fulfilled (FBM) orders" (Order.packages)
    if "PACKAGES" in included and order.packages and not order.is_afn:
        view["packages"] = [_v2026_package(sb, order, p) for p in order.packages]
    return view


def _v2026_package(sb: AmazonSandbox, order: Order, package: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"packageReferenceId": package["packageReferenceId"], "createdTime": package["createdTime"],
                            "packageStatus": {"status": "SHIPPED"},
                            "carrier": package.get("carrierName") or package["carrierCode"],
                            "shipTime": iso(parse_iso(package["shipDate"])),
                            "trackingNumber": package["trackingNumber"],
                            "packageItems": [{k: v for k, v in (("orderItemId", i["orderItemId"]), ("quantity", i["quantity"]),
                                                                ("transparencyCodes", i.get("transparencyCodes"))) if v}
                                             for i in package["orderItems"]]}
    if package.get("shippingMethod"):
        view["shippingService"] = package["shippingMethod"]
    seller = sb.state.sellers[order.seller_id]
    source = seller.supply_sources.get(package.get("shipFromSupplySourceId") or "")
    if source:
        view["shipFromAddress"] = {k: v for k, v in source["address"].items()
                                   if k in ("name", "addressLine1", "addressLine2", "addressLine3", "city",
                                            "stateOrRegion", "postalCode", "countryCode")}
    elif order.data.get("DefaultShipFromLocationAddress"):
        view["shipFromAddress"] = _merchant_address(order.data["DefaultShipFromLocationAddress"])
    return view


def _included(request: Request) -> set[str]:
    return set(_enum_list(request, "includedData", INCLUDED_DATA))


V2026_FILTER_PARAMS = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore",
                       "fulfillmentStatuses", "marketplaceIds", "fulfilledBy")


def search_orders(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    included = _included(request)
    size = int_arg(request, "maxResultsPerPage", 100, 1, 100)
    asked = {name: sorted(csv_values(request, name)) for name in V2026_FILTER_PARAMS}
    token = request.arg("paginationToken")
    if token:
        page = _open_token(sb, ctx, token, "v2026", "paginationToken")
        if sb.state.clock.now() > parse_iso(page["at"]) + timedelta(hours=PAGINATION_TOKEN_HOURS):
            raise invalid_input("Invalid paginationToken", "The paginationToken has expired")
        # "All other parameters must be provided with the same values that were provided with the request
        # that generated this token, with the exception of maxResultsPerPage and includedData" (Pagination).
        if page["q"] != asked:
            raise invalid_input("Invalid paginationToken",
                                "The request parameters differ from those of the request that produced the token")
        filters, key, issued = page["f"], page["k"], page["at"]
    else:
        filters = _time_window(sb, request, ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore"))
        marketplaces = asked["marketplaceIds"]
        if len(marketplaces) > 50:
            raise invalid_input("marketplaceIds accepts at most 50 values")
        statuses = _enum_list(request, "fulfillmentStatuses", tuple(set(V2026_STATUS.values())))
        fulfilled_by = _enum_list(request, "fulfilledBy", tuple(FULFILLED_BY))
        filters.update({"marketplaces": marketplaces,
                        "statuses": [v0 for v0, v2 in V2026_STATUS.items() if v2 in statuses],
                        "channels": [FULFILLED_BY[f] for f in fulfilled_by]})
        key, issued = None, iso(sb.state.clock.now())
    orders, next_key = search_page(ctx.seller, filters, key, size)
    now = sb.state.clock.now()
    body: dict[str, Any] = {"orders": [v2026_order(sb, o, included, now) for o in orders]}
    if next_key:
        body["pagination"] = {"nextToken": seal({"t": "v2026", "s": ctx.seller.selling_partner_id, "f": filters,
                                                 "k": next_key, "q": asked, "at": issued}, sb.state.secret)}
    body["createdBefore" if filters["by"] == "created" else "lastUpdatedBefore"] = filters["before"]
    return json_response(body)


def get_order_2026(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    order = own_order(ctx, request.params["orderId"])
    return json_response({"order": v2026_order(sb, order, _included(request), sb.state.clock.now())})
