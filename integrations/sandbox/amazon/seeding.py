"""Building orders, supply sources and listings from the control API's small JSON specs, with
realistic fake buyers and addresses (Sydney and Los Angeles flavoured), and the `--seed-demo` data."""

from __future__ import annotations

import zlib
from datetime import timedelta
from typing import Any

from .common import iso, marketplace_info, parse_iso
from .state import Listing, Order, SandboxState, Seller

# Every property of the v0 `Order` definition (ordersV0.json); a test keeps this list in step with the model.
ORDER_FIELDS = frozenset({
    "AmazonOrderId", "SellerOrderId", "PurchaseDate", "LastUpdateDate", "OrderStatus", "FulfillmentChannel",
    "SalesChannel", "OrderChannel", "ShipServiceLevel", "OrderTotal", "NumberOfItemsShipped",
    "NumberOfItemsUnshipped", "PaymentExecutionDetail", "PaymentMethod", "PaymentMethodDetails", "MarketplaceId",
    "ShipmentServiceLevelCategory", "EasyShipShipmentStatus", "CbaDisplayableShippingLabel", "OrderType",
    "EarliestShipDate", "LatestShipDate", "EarliestDeliveryDate", "LatestDeliveryDate", "IsBusinessOrder",
    "IsPrime", "IsPremiumOrder", "IsGlobalExpressEnabled", "ReplacedOrderId", "IsReplacementOrder",
    "PromiseResponseDueDate", "IsEstimatedShipDateSet", "IsSoldByAB", "IsIBA", "DefaultShipFromLocationAddress",
    "BuyerInvoicePreference", "BuyerTaxInformation", "FulfillmentInstruction", "IsISPU", "IsAccessPointOrder",
    "MarketplaceTaxInfo", "SellerDisplayName", "ShippingAddress", "BuyerInfo", "AutomatedShippingSettings",
    "HasRegulatedItems", "ElectronicInvoiceStatus",
})
# Every property of the v0 `OrderItem` definition.
ITEM_FIELDS = frozenset({
    "ASIN", "SellerSKU", "OrderItemId", "AssociatedItems", "Title", "QuantityOrdered", "QuantityShipped",
    "ProductInfo", "PointsGranted", "ItemPrice", "ShippingPrice", "ItemTax", "ShippingTax", "ShippingDiscount",
    "ShippingDiscountTax", "PromotionDiscount", "PromotionDiscountTax", "PromotionIds", "CODFee",
    "CODFeeDiscount", "IsGift", "ConditionNote", "ConditionId", "ConditionSubtypeId",
    "ScheduledDeliveryStartDate", "ScheduledDeliveryEndDate", "PriceDesignation", "TaxCollection",
    "SerialNumberRequired", "IsTransparency", "IossNumber", "StoreChainStoreId", "DeemedResellerCategory",
    "BuyerInfo", "BuyerRequestedCancel", "SerialNumbers", "SubstitutionPreferences", "Measurement",
    "ShippingConstraints", "AmazonPrograms",
})
# Control-API conveniences on top of the v0 fields.
ORDER_EXTRAS = frozenset({"items", "FulfillmentSupplySourceId", "DeliveryPreferences", "BuyerCompanyName"})
ORDER_STATUSES = ("Pending", "Unshipped", "PartiallyShipped", "Shipped", "Canceled", "Unfulfillable",
                  "InvoiceUnconfirmed", "PendingAvailability")
DATE_FIELDS = ("PurchaseDate", "LastUpdateDate", "EarliestShipDate", "LatestShipDate", "EarliestDeliveryDate",
               "LatestDeliveryDate", "PromiseResponseDueDate")

BUYER_NAMES = [
    "Olivia Nguyen", "Jack Thompson", "Charlotte Kelly", "Liam O'Brien", "Mia Patel", "Noah Williams",
    "Isla Chen", "Lucas Rossi", "Ava Martinez", "Ethan Brooks", "Zoe Tanaka", "Harper Singh",
]
# (AddressLine1, City, StateOrRegion, PostalCode)
STREETS = {
    "AU": [("Level 3, 44 Market Street", "SYDNEY", "NSW", "2000"), ("12 Crown Street", "SURRY HILLS", "NSW", "2010"),
           ("7/88 Glebe Point Road", "GLEBE", "NSW", "2037"), ("15 Campbell Parade", "BONDI BEACH", "NSW", "2026"),
           ("210 Chapel Street", "PRAHRAN", "VIC", "3181"), ("31 Brunswick Street", "FORTITUDE VALLEY", "QLD", "4006")],
    "US": [("1200 S Figueroa St", "Los Angeles", "CA", "90015"), ("6801 Hollywood Blvd", "Los Angeles", "CA", "90028"),
           ("2114 W Sunset Blvd", "Los Angeles", "CA", "90026"), ("310 Arizona Ave", "Santa Monica", "CA", "90401"),
           ("455 N Rexford Dr", "Beverly Hills", "CA", "90210"), ("3939 S Figueroa St", "Los Angeles", "CA", "90037")],
    "GB": [("45 Oak Avenue", "London", "England", "SW1A 1AA"), ("12 Deansgate", "Manchester", "England", "M3 2BW")],
}
WAREHOUSES = {
    "AU": {"name": "Harbour 3PL Sydney", "addressLine1": "Unit 4, 17 Huntingwood Drive", "city": "Huntingwood",
           "stateOrRegion": "NSW", "postalCode": "2148", "countryCode": "AU", "phone": "+61 2 9000 0142"},
    "US": {"name": "Harbour 3PL Los Angeles", "addressLine1": "2800 E Washington Blvd", "city": "Los Angeles",
           "stateOrRegion": "CA", "postalCode": "90023", "countryCode": "US", "phone": "+1 213-555-0170"},
}
TIMEZONES = {"AU": "Australia/Sydney", "US": "America/Los_Angeles", "GB": "Europe/London"}


ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})


def format_amount(currency: str, amount: float | str) -> str:
    return f"{float(amount):.0f}" if currency in ZERO_DECIMAL_CURRENCIES else f"{float(amount):.2f}"


def _money(currency: str, amount: float | str) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": format_amount(currency, amount)}


def _unit_price(sku: str) -> float:
    """A stable made-up price per SKU, so the same SKU costs the same in every order."""
    return 9.95 + (zlib.crc32(sku.encode("utf-8")) % 40)


def fake_phone(state: SandboxState, country: str) -> str:
    if country == "US":
        return f"+1 213-555-01{state.rng.randint(0, 99):02d}"          # 555-01xx: reserved for fiction
    return f"+61 4{state.rng.randint(0, 99):02d} {state.rng.randint(0, 999):03d} {state.rng.randint(0, 999):03d}"


def fake_address(state: SandboxState, country: str, name: str) -> dict[str, Any]:
    line1, city, region, postcode = state.rng.choice(STREETS.get(country, STREETS["US"]))
    return {"Name": name, "AddressLine1": line1, "City": city, "StateOrRegion": region, "PostalCode": postcode,
            "CountryCode": country if country in STREETS else "US", "Phone": fake_phone(state, country),
            "AddressType": "Residential"}


def _check_keys(spec: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(f"unknown {what} field(s): {', '.join(unknown)}")


def _normalise_date(value: Any, name: str) -> str:
    try:
        return iso(parse_iso(value))
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be an ISO-8601 date-time") from None


def build_item(state: SandboxState, seller: Seller, spec: dict[str, Any], currency: str, index: int) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ValueError("each item must be an object")
    _check_keys(spec, ITEM_FIELDS, "order item")
    sku = spec.get("SellerSKU") or (sorted(seller.listings)[index % len(seller.listings)] if seller.listings
                                   else f"SKU-{index + 1:04d}")
    listing = seller.listings.get(sku)
    quantity = spec.get("QuantityOrdered", 1)
    if not isinstance(quantity, int) or quantity < 1:
        raise ValueError("QuantityOrdered must be a positive integer")
    shipped = spec.get("QuantityShipped", 0)
    if not isinstance(shipped, int) or not 0 <= shipped <= quantity:
        raise ValueError("QuantityShipped must be an integer between 0 and QuantityOrdered")
    price = spec.get("ItemPrice")
    if isinstance(price, (int, float, str)) and not isinstance(price, bool):
        price = _money(currency, price)          # a bare number is the line total, as Amazon's ItemPrice is
    item: dict[str, Any] = {
        "ASIN": spec.get("ASIN") or (listing.asin if listing else state.new_asin()),
        "OrderItemId": str(spec.get("OrderItemId") or state.new_order_item_id()),
        "SellerSKU": sku,
        "Title": spec.get("Title") or (listing.item_name if listing else f"Sandbox product {sku}"),
        "QuantityOrdered": quantity,
        "QuantityShipped": shipped,
        "ProductInfo": {"NumberOfItems": "1"},
        "ItemPrice": price or _money(currency, _unit_price(sku) * quantity),
        "ShippingPrice": _money(currency, 0),
        "ItemTax": _money(currency, 0),
        "PromotionDiscount": _money(currency, 0),
        "IsGift": "false",
        "ConditionId": "New",
        "ConditionSubtypeId": "New",
        "IsTransparency": False,
    }
    handled = {"ASIN", "OrderItemId", "SellerSKU", "Title", "QuantityOrdered", "QuantityShipped", "ItemPrice"}
    item.update({key: value for key, value in spec.items() if key not in handled})
    return item


def derive_status(items: list[dict[str, Any]]) -> str:
    shipped = sum(i["QuantityShipped"] for i in items)
    ordered = sum(i["QuantityOrdered"] for i in items)
    if shipped == 0:
        return "Unshipped"
    return "Shipped" if shipped >= ordered else "PartiallyShipped"


def refresh_counts(order: Order) -> None:
    shipped = sum(i.get("QuantityShipped", 0) for i in order.items)
    ordered = sum(i["QuantityOrdered"] for i in order.items)
    order.data["NumberOfItemsShipped"] = shipped
    order.data["NumberOfItemsUnshipped"] = ordered - shipped


def supply_source_address_v0(source: dict[str, Any]) -> dict[str, Any]:
    """Supply sources speak camelCase, Orders v0 PascalCase (sp-api.md §4)."""
    address = source.get("address") or {}
    mapping = {"name": "Name", "addressLine1": "AddressLine1", "addressLine2": "AddressLine2",
               "addressLine3": "AddressLine3", "city": "City", "county": "County", "district": "District",
               "stateOrRegion": "StateOrRegion", "postalCode": "PostalCode", "countryCode": "CountryCode",
               "phone": "Phone"}
    result = {mapping[k]: v for k, v in address.items() if k in mapping and v not in (None, "")}
    result["AddressType"] = "Commercial"
    return result


def build_order(state: SandboxState, seller: Seller, spec: dict[str, Any]) -> Order:
    if not isinstance(spec, dict):
        raise ValueError("an order must be an object")
    _check_keys(spec, ORDER_FIELDS | ORDER_EXTRAS, "order")
    now = state.clock.stamp()
    marketplace_id = spec.get("MarketplaceId") or seller.marketplace_ids[0]
    country, currency, channel, prefix = marketplace_info(marketplace_id)
    order_id = spec.get("AmazonOrderId") or state.new_order_id(prefix)
    if state.find_order(order_id):
        raise ValueError(f"order {order_id} already exists")
    item_specs = spec.get("items") or [{}]
    if not isinstance(item_specs, list):
        raise ValueError("items must be a list")
    items = [build_item(state, seller, s, currency, i) for i, s in enumerate(item_specs)]
    ids = [i["OrderItemId"] for i in items]
    if len(set(ids)) != len(ids):
        raise ValueError("OrderItemId values must be unique within an order")

    purchase = parse_iso(_normalise_date(spec["PurchaseDate"], "PurchaseDate")) if spec.get("PurchaseDate") else now
    channel_code = spec.get("FulfillmentChannel", "MFN")
    if channel_code not in ("MFN", "AFN"):
        raise ValueError("FulfillmentChannel must be MFN or AFN")
    status = spec.get("OrderStatus") or derive_status(items)
    if status not in ORDER_STATUSES:
        raise ValueError(f"OrderStatus must be one of {', '.join(ORDER_STATUSES)}")
    name = state.rng.choice(BUYER_NAMES)
    data: dict[str, Any] = {
        "AmazonOrderId": order_id,
        "PurchaseDate": iso(purchase),
        # A seeded order is news to the marketplace now, unless the spec says otherwise.
        "LastUpdateDate": iso(max(purchase, now)),
        "OrderStatus": status,
        "FulfillmentChannel": channel_code,
        "SalesChannel": channel,
        "ShipServiceLevel": "Std Dom" if channel_code == "MFN" else "Standard",
        "OrderTotal": _money(currency, sum(float(i["ItemPrice"]["Amount"]) + float(i["ShippingPrice"]["Amount"])
                                           for i in items)),
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": marketplace_id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "IsBusinessOrder": False,
        "IsPrime": False,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsIBA": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "AutomatedShippingSettings": {"HasAutomatedShippingSettings": False},
        "ShippingAddress": fake_address(state, country, name),
        "BuyerInfo": {"BuyerEmail": f"{state.rng.getrandbits(40):010x}@marketplace.{channel.lower()}",
                      "BuyerName": name},
    }
    if channel_code == "MFN":       # ship and delivery windows are "only returned for seller-fulfilled orders"
        data.update({"EarliestShipDate": iso(purchase), "LatestShipDate": iso(purchase + timedelta(days=2)),
                     "EarliestDeliveryDate": iso(purchase + timedelta(days=3)),
                     "LatestDeliveryDate": iso(purchase + timedelta(days=7))})
    for key, value in spec.items():
        if key in ORDER_FIELDS and key not in ("AmazonOrderId", "PurchaseDate"):
            data[key] = _normalise_date(value, key) if key in DATE_FIELDS else value
    source_id = spec.get("FulfillmentSupplySourceId")
    if source_id:
        data["FulfillmentInstruction"] = {"FulfillmentSupplySourceId": source_id}
        source = seller.supply_sources.get(source_id)
        if source and "DefaultShipFromLocationAddress" not in spec:
            data["DefaultShipFromLocationAddress"] = supply_source_address_v0(source)
    order = Order(seller_id=seller.selling_partner_id, data=data, items=items,
                  delivery_preferences=spec.get("DeliveryPreferences"),
                  buyer_company_name=spec.get("BuyerCompanyName"))
    refresh_counts(order)
    return order


def update_order(state: SandboxState, seller: Seller, order: Order, spec: dict[str, Any]) -> Order:
    """Control-API edit: change fields, items (matched by OrderItemId) and bump LastUpdateDate."""
    if not isinstance(spec, dict):
        raise ValueError("the update must be an object")
    _check_keys(spec, (ORDER_FIELDS | ORDER_EXTRAS) - {"AmazonOrderId"}, "order")
    if "OrderStatus" in spec and spec["OrderStatus"] not in ORDER_STATUSES:
        raise ValueError(f"OrderStatus must be one of {', '.join(ORDER_STATUSES)}")
    for item_spec in spec.get("items") or []:
        _check_keys(item_spec, ITEM_FIELDS, "order item")
        match = next((i for i in order.items if i["OrderItemId"] == str(item_spec.get("OrderItemId"))), None)
        if match is None:
            raise ValueError(f"no order item {item_spec.get('OrderItemId')!r} in {order.id}")
        match.update(item_spec)
    for key, value in spec.items():
        if key in ORDER_FIELDS:
            order.data[key] = _normalise_date(value, key) if key in DATE_FIELDS else value
    if spec.get("items") and "OrderStatus" not in spec and order.status in ("Unshipped", "PartiallyShipped", "Shipped"):
        order.data["OrderStatus"] = derive_status(order.items)       # shipped quantities changed the status
    if spec.get("FulfillmentSupplySourceId"):
        order.data["FulfillmentInstruction"] = {"FulfillmentSupplySourceId": spec["FulfillmentSupplySourceId"]}
    if "DeliveryPreferences" in spec:
        order.delivery_preferences = spec["DeliveryPreferences"]
    if "BuyerCompanyName" in spec:
        order.buyer_company_name = spec["BuyerCompanyName"]
    if "LastUpdateDate" not in spec:
        order.data["LastUpdateDate"] = iso(max(state.clock.stamp(), order.last_update))
    refresh_counts(order)
    return order


def build_supply_source(state: SandboxState, seller: Seller, spec: dict[str, Any]) -> dict[str, Any]:
    allowed = frozenset({"supplySourceId", "supplySourceCode", "alias", "status", "address", "timezone",
                         "configuration", "capabilities"})
    _check_keys(spec, allowed, "supply source")
    for required in ("supplySourceCode", "alias"):
        if not isinstance(spec.get(required), str) or not spec[required]:
            raise ValueError(f"{required} is required")
    if any(s["supplySourceCode"] == spec["supplySourceCode"] for s in seller.supply_sources.values()):
        raise ValueError(f"supplySourceCode {spec['supplySourceCode']!r} already exists")
    status = spec.get("status", "Active")
    if status not in ("Active", "Inactive"):
        raise ValueError("status must be Active or Inactive")
    country = marketplace_info(seller.marketplace_ids[0])[0]
    address = spec.get("address") or dict(WAREHOUSES.get(country, WAREHOUSES["AU"]), name=spec["alias"])
    for required in ("name", "addressLine1", "countryCode", "stateOrRegion"):     # required by the model's Address
        if not address.get(required):
            raise ValueError(f"address.{required} is required")
    timezone_name = spec.get("timezone") or TIMEZONES.get(address["countryCode"], "Australia/Sydney")
    now = iso(state.clock.stamp())
    return {
        "supplySourceId": spec.get("supplySourceId") or state.new_uuid(),
        "supplySourceCode": spec["supplySourceCode"],
        "alias": spec["alias"],
        "status": status,
        "address": address,
        "configuration": spec.get("configuration") or {
            "operationalConfiguration": {
                "contactDetails": {"primary": {"email": "ops@harbour3pl.example.com",
                                               "phone": address.get("phone", "")}},
                "throughputConfig": {"throughputCap": {"value": 500, "timeUnit": "Days"}, "throughputUnit": "Order"},
                "operatingHoursByDay": {day: [{"startTime": "08:00", "endTime": "17:00"}]
                                        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")},
                "handlingTime": {"value": 1, "timeUnit": "Days"},
            },
            "timezone": timezone_name,
        },
        "capabilities": spec.get("capabilities") or {
            "outbound": {"isSupported": True, "deliveryChannel": {"isSupported": True},
                         "pickupChannel": {"isSupported": False}},
            "services": {"isSupported": False},
        },
        "createdAt": now,
        "updatedAt": now,
    }


def build_listing(state: SandboxState, seller: Seller, spec: dict[str, Any]) -> Listing:
    allowed = frozenset({"sku", "quantity", "productType", "asin", "item_name", "title", "marketplace_id",
                         "attributes"})
    _check_keys(spec, allowed, "listing")
    sku = spec.get("sku")
    if not isinstance(sku, str) or not sku:
        raise ValueError("sku is required")
    quantity = spec.get("quantity", 0)
    if not isinstance(quantity, int) or quantity < 0:
        raise ValueError("quantity must be a non-negative integer")
    now = state.clock.stamp()
    attributes = dict(spec.get("attributes") or {})
    attributes["fulfillment_availability"] = [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]
    return Listing(sku=sku, product_type=spec.get("productType", "PRODUCT"),
                   marketplace_id=spec.get("marketplace_id") or seller.marketplace_ids[0],
                   asin=spec.get("asin") or state.new_asin(),
                   item_name=spec.get("item_name") or spec.get("title") or f"Sandbox product {sku}",
                   created=now, updated=now, attributes=attributes)


# -- the demo seller for `make run` ----------------------------------------------------------------

DEMO_SELLER_ID = "A2DEMOSANDBOX1"
DEMO_REFRESH_TOKEN = "Atzr|IwEBSandboxDemoRefreshToken"        # stable, so dev settings can name it
AU, US = "A39IBJ37TRP1C6", "ATVPDKIKX0DER"


def seed_demo(state: SandboxState) -> Seller:
    seller = state.add_seller(selling_partner_id=DEMO_SELLER_ID, name="Harbour Goods (demo)",
                              marketplace_ids=[AU, US])
    state.issue_refresh_token(seller.selling_partner_id, token=DEMO_REFRESH_TOKEN)
    sources = {}
    for spec in (
        {"supplySourceCode": "SYD-01", "alias": "Sydney warehouse", "address": dict(WAREHOUSES["AU"])},
        {"supplySourceCode": "LAX-01", "alias": "Los Angeles warehouse", "address": dict(WAREHOUSES["US"])},
        {"supplySourceCode": "MEL-OLD", "alias": "Melbourne (closed)", "status": "Inactive",
         "address": {"name": "Melbourne (closed)", "addressLine1": "88 Kensington Road", "city": "West Melbourne",
                     "stateOrRegion": "VIC", "postalCode": "3003", "countryCode": "AU"},
         "timezone": "Australia/Melbourne"},
    ):
        source = build_supply_source(state, seller, spec)
        seller.supply_sources[source["supplySourceId"]] = source
        sources[spec["supplySourceCode"]] = source["supplySourceId"]
    for sku, title, qty in (("DEMO-MUG-01", "Harbour enamel mug, 350 ml", 40),
                            ("DEMO-TEE-02", "Harbour organic tee, navy, M", 25),
                            ("DEMO-CAP-03", "Harbour six-panel cap", 0)):
        listing = build_listing(state, seller, {"sku": sku, "title": title, "quantity": qty})
        seller.listings[sku] = listing
    base = state.clock.stamp() - timedelta(hours=6)
    orders: list[dict[str, Any]] = [
        {"MarketplaceId": AU, "FulfillmentSupplySourceId": sources["SYD-01"], "PurchaseDate": base,
         "items": [{"SellerSKU": "DEMO-MUG-01", "QuantityOrdered": 2}]},
        {"MarketplaceId": AU, "FulfillmentSupplySourceId": sources["SYD-01"], "PurchaseDate": base + timedelta(hours=1),
         "ShipmentServiceLevelCategory": "Expedited", "ShipServiceLevel": "Exp Dom",
         "items": [{"SellerSKU": "DEMO-TEE-02", "QuantityOrdered": 1}, {"SellerSKU": "DEMO-CAP-03", "QuantityOrdered": 1}]},
        {"MarketplaceId": AU, "FulfillmentSupplySourceId": sources["SYD-01"], "PurchaseDate": base + timedelta(hours=2),
         "items": [{"SellerSKU": "DEMO-MUG-01", "QuantityOrdered": 1, "QuantityShipped": 1},
                   {"SellerSKU": "DEMO-TEE-02", "QuantityOrdered": 2}]},
        {"MarketplaceId": AU, "PurchaseDate": base + timedelta(hours=3), "OrderStatus": "Pending",
         "items": [{"SellerSKU": "DEMO-CAP-03", "QuantityOrdered": 1}]},
        {"MarketplaceId": US, "FulfillmentSupplySourceId": sources["LAX-01"], "PurchaseDate": base + timedelta(hours=4),
         "items": [{"SellerSKU": "DEMO-TEE-02", "QuantityOrdered": 3}]},
        {"MarketplaceId": US, "FulfillmentSupplySourceId": sources["LAX-01"], "PurchaseDate": base + timedelta(hours=5),
         "OrderStatus": "Canceled", "items": [{"SellerSKU": "DEMO-MUG-01", "QuantityOrdered": 1}]},
    ]
    for spec in orders:
        spec["PurchaseDate"] = iso(spec["PurchaseDate"])
        spec["LastUpdateDate"] = spec["PurchaseDate"]
        order = build_order(state, seller, spec)
        seller.orders[order.id] = order
    return seller

