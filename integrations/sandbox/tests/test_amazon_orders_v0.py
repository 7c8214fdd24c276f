"""Orders v0 reads: filters, NextToken paging, the upper bound, and PII behind restricted data tokens
(ordersV0.json; reference/sp-api.md §2, §9). confirmShipment lives in test_amazon_confirm_shipment.py."""

from __future__ import annotations

import httpx
import pytest
from sp_api.base.exceptions import (
    SellingApiBadRequestException, SellingApiForbiddenException, SellingApiNotFoundException,
)
from sp_api.util import load_all_pages

from .amazon_support import AU, ORDER_ID, US, assert_valid, iso_ago

PII_ADDRESS = {"Name": "Olivia Test", "AddressLine1": "1 George Street", "AddressLine2": "Unit 5",
               "City": "SYDNEY", "StateOrRegion": "NSW", "PostalCode": "2000", "CountryCode": "AU",
               "Phone": "+61 400 000 001", "AddressType": "Residential"}
REDACTED_ADDRESS = {"City": "SYDNEY", "StateOrRegion": "NSW", "PostalCode": "2000", "CountryCode": "AU"}
BUYER = {"BuyerEmail": "olivia@marketplace.amazon.com.au", "BuyerName": "Olivia Test"}


def test_next_token_pages_through_1000_orders(kit, seller):
    seller_id, refresh = seller
    sandbox = kit.sandbox
    wanted = {o["AmazonOrderId"] for o in sandbox.create_orders(seller_id, 1000, PurchaseDate=iso_ago(sandbox, hours=2))}
    sandbox.create_orders(seller_id, 7, OrderStatus="Canceled", PurchaseDate=iso_ago(sandbox, hours=2))
    sandbox.create_orders(seller_id, 3, MarketplaceId=US, PurchaseDate=iso_ago(sandbox, hours=2))
    orders = kit.orders(refresh)

    @load_all_pages(throttle_by_seconds=0)
    def pages(**kwargs):
        return orders.get_orders(**kwargs)

    seen: list[str] = []
    bounds = set()
    for page in pages(CreatedAfter=iso_ago(sandbox, hours=3), OrderStatuses=["Unshipped"], MarketplaceIds=[AU],
                      MaxResultsPerPage=100):
        assert_valid("ordersV0", "GetOrdersResponse", kit.recorder.last("/orders/v0/orders").body)
        seen += [o["AmazonOrderId"] for o in page.payload["Orders"]]
        bounds.add(page.payload["CreatedBefore"])
    assert len(seen) == 1000 and set(seen) == wanted
    assert all(ORDER_ID.match(order_id) for order_id in seen)
    assert len(bounds) == 1                                      # every page reports the first page's bound
    assert [r.body["payload"].get("NextToken") is None for r in kit.recorder.responses] == [False] * 9 + [True]


def test_a_next_token_keeps_the_first_pages_filters_and_upper_bound(kit, seller):
    seller_id, refresh = seller
    sandbox = kit.sandbox
    sandbox.create_orders(seller_id, 3, PurchaseDate=iso_ago(sandbox, minutes=30))
    orders = kit.orders(refresh)
    since = iso_ago(sandbox, hours=1)
    first = orders.get_orders(CreatedAfter=since, MaxResultsPerPage=2)
    sandbox.set_clock(advance_seconds=5)
    late = sandbox.create_order(seller_id)["AmazonOrderId"]          # created after the first page's bound
    # The token carries the filters: what is sent next to it (here a different status filter) is ignored.
    second = orders.get_orders(CreatedAfter=since, OrderStatuses=["Shipped"], NextToken=first.next_token)
    assert len(first.payload["Orders"]) == 2 and len(second.payload["Orders"]) == 1
    assert late not in {o["AmazonOrderId"] for o in second.payload["Orders"]}
    assert second.payload["CreatedBefore"] == first.payload["CreatedBefore"] and second.next_token is None
    fresh = orders.get_orders(CreatedAfter=since)
    assert late in {o["AmazonOrderId"] for o in fresh.payload["Orders"]}
    assert fresh.payload["CreatedBefore"] > first.payload["CreatedBefore"]


def test_last_updated_search_echoes_last_updated_before_and_finds_changed_orders(kit, seller):
    seller_id, refresh = seller
    sandbox = kit.sandbox
    a_minute_ago = iso_ago(sandbox, minutes=1)
    changed, untouched = (o["AmazonOrderId"] for o in sandbox.create_orders(
        seller_id, 2, PurchaseDate=a_minute_ago, LastUpdateDate=a_minute_ago))
    orders = kit.orders(refresh)
    first = orders.get_orders(LastUpdatedAfter=iso_ago(sandbox, minutes=5))
    watermark = first.payload["LastUpdatedBefore"]
    assert "CreatedBefore" not in first.payload and len(first.payload["Orders"]) == 2
    sandbox.set_clock(advance_seconds=3)
    sandbox.update_order(seller_id, changed, OrderStatus="Canceled")
    sandbox.set_clock(advance_seconds=3)
    later = orders.get_orders(LastUpdatedAfter=watermark)
    assert_valid("ordersV0", "GetOrdersResponse", kit.recorder.last().body)
    assert [(o["AmazonOrderId"], o["OrderStatus"]) for o in later.payload["Orders"]] == [(changed, "Canceled")]
    assert untouched != changed and later.payload["LastUpdatedBefore"] > watermark


def test_filters_select_statuses_channels_marketplaces_and_supply_sources(kit, seller):
    seller_id, refresh = seller
    sandbox = kit.sandbox
    source = sandbox.add_supply_source(seller_id, supplySourceCode="SYD-01", alias="Sydney")["supplySourceId"]
    mfn = sandbox.create_order(seller_id, FulfillmentSupplySourceId=source)["AmazonOrderId"]
    afn = sandbox.create_order(seller_id, FulfillmentChannel="AFN", OrderStatus="Shipped",
                               items=[{"QuantityOrdered": 1, "QuantityShipped": 1}])["AmazonOrderId"]
    pending = sandbox.create_order(seller_id, OrderStatus="Pending")["AmazonOrderId"]
    us = sandbox.create_order(seller_id, MarketplaceId=US)["AmazonOrderId"]
    orders = kit.orders(refresh)
    since = iso_ago(sandbox, minutes=5)

    def ids(**filters) -> set[str]:
        answer = orders.get_orders(CreatedAfter=since, **filters)
        assert_valid("ordersV0", "GetOrdersResponse", kit.recorder.last().body)
        return {o["AmazonOrderId"] for o in answer.payload["Orders"]}

    assert ids() == {mfn, afn, pending}                               # the library adds MarketplaceIds=AU
    assert ids(MarketplaceIds=[AU, US]) == {mfn, afn, pending, us}
    assert ids(FulfillmentChannels=["AFN"]) == {afn}
    assert ids(OrderStatuses=["Unshipped", "PartiallyShipped"]) == {mfn}
    assert ids(ActualFulfillmentSupplySourceId=source) == {mfn}
    assert ids(AmazonOrderIds=[pending, us]) == {pending}
    routed = orders.get_order(mfn).payload
    assert routed["FulfillmentInstruction"] == {"FulfillmentSupplySourceId": source}
    assert routed["DefaultShipFromLocationAddress"]["City"] == "Huntingwood"


@pytest.mark.parametrize("params", [
    {},
    {"CreatedAfter": "2024-01-01T00:00:00Z", "LastUpdatedAfter": "2024-01-01T00:00:00Z"},
    {"CreatedAfter": "2024-01-01T00:00:00Z", "LastUpdatedBefore": "2024-01-02T00:00:00Z"},
    {"LastUpdatedAfter": "2024-01-01T00:00:00Z", "CreatedBefore": "2024-01-02T00:00:00Z"},
    {"CreatedAfter": "2024-01-02T00:00:00Z", "CreatedBefore": "2024-01-01T00:00:00Z"},
    {"CreatedAfter": "2024-01-01T00:00:00Z", "CreatedBefore": "2999-01-01T00:00:00Z"},
    {"CreatedAfter": "TEST_CASE_400"},                            # the model's own 400 example
    {"CreatedAfter": "2024-01-01T00:00:00Z", "MaxResultsPerPage": 0},
    {"CreatedAfter": "2024-01-01T00:00:00Z", "MaxResultsPerPage": 101},
    {"CreatedAfter": "2024-01-01T00:00:00Z", "OrderStatuses": "Unshipped,Lost"},
    {"CreatedAfter": "2024-01-01T00:00:00Z", "FulfillmentChannels": "FBA"},
    {"CreatedAfter": "2024-01-01T00:00:00Z", "NextToken": "not-a-token"},
])
def test_bad_searches_get_400_invalid_input(kit, seller, params):
    with pytest.raises(SellingApiBadRequestException) as raised:
        kit.orders(seller[1]).get_orders(**params)
    recorded = kit.recorder.last("/orders/v0/orders")
    assert raised.value.amzn_code == "InvalidInput" and raised.value.message
    assert_valid("ordersV0", "GetOrdersResponse", recorded.body)
    assert recorded.headers["x-amzn-ratelimit-limit"] == "0.0167"       # 400s carry the usage plan too


def test_marketplace_ids_are_required(amazon_sandbox, seller):
    token = httpx.post(f"{amazon_sandbox.url}/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": seller[1], "client_id": amazon_sandbox.lwa_client_id,
        "client_secret": amazon_sandbox.lwa_client_secret}).json()["access_token"]
    answer = httpx.get(f"{amazon_sandbox.url}/orders/v0/orders", params={"CreatedAfter": "2024-01-01T00:00:00Z"},
                       headers={"x-amz-access-token": token})
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "InvalidInput"
    ok = httpx.get(f"{amazon_sandbox.url}/orders/v0/orders", headers={"x-amz-access-token": token},
                   params={"CreatedAfter": "2024-01-01T00:00:00Z", "MarketplaceIds": AU, "foo": "bar",
                           "path": "/orders/v0/orders/{}", "RestrictedResources": "x"})    # strays are ignored
    assert ok.status_code == 200


def test_a_clock_lag_moves_the_upper_bound_back_like_amazons_two_minutes(kit, seller):
    seller_id, refresh = seller
    sandbox = kit.sandbox
    sandbox.set_clock(lag_seconds=120)
    old = sandbox.create_order(seller_id, PurchaseDate=iso_ago(sandbox, minutes=10))["AmazonOrderId"]
    sandbox.create_order(seller_id)                                   # just now: after the bound
    orders = kit.orders(refresh)
    answer = orders.get_orders(CreatedAfter=iso_ago(sandbox, hours=1))
    assert [o["AmazonOrderId"] for o in answer.payload["Orders"]] == [old]
    assert answer.payload["CreatedBefore"] <= iso_ago(sandbox, seconds=119)
    with pytest.raises(SellingApiBadRequestException):
        orders.get_orders(CreatedAfter=iso_ago(sandbox, hours=1), CreatedBefore=iso_ago(sandbox, seconds=60))


def test_pii_appears_only_with_a_restricted_data_token_that_covers_it(kit, seller):
    seller_id, refresh = seller
    sandbox = kit.sandbox
    order = sandbox.create_order(seller_id, ShippingAddress=PII_ADDRESS, BuyerInfo=BUYER, items=[
        {"SellerSKU": "MUG", "QuantityOrdered": 1, "IsGift": "true", "BuyerInfo": {"GiftMessageText": "Happy birthday"}},
    ])
    order_id = order["AmazonOrderId"]
    other_id = sandbox.create_order(seller_id, ShippingAddress=PII_ADDRESS)["AmazonOrderId"]
    orders = kit.orders(refresh)
    since = iso_ago(sandbox, minutes=5)

    # An LWA token alone: the same bodies with the personal fields removed.
    listed = orders.get_orders(CreatedAfter=since).payload["Orders"][0]
    assert listed["ShippingAddress"] == REDACTED_ADDRESS and "BuyerInfo" not in listed
    single = orders.get_order(order_id).payload
    assert single["ShippingAddress"] == REDACTED_ADDRESS and "BuyerInfo" not in single
    assert orders.get_order_address(order_id).payload == {"AmazonOrderId": order_id,
                                                          "ShippingAddress": REDACTED_ADDRESS}
    assert "BuyerInfo" not in orders.get_order_items(order_id).payload["OrderItems"][0]
    assert_valid("ordersV0", "GetOrderItemsResponse", kit.recorder.last().body)

    # The library's shortcut mints an RDT for /orders/v0/orders with the dataElements (§1.4).
    full = orders.get_orders(CreatedAfter=since, RestrictedResources=["shippingAddress", "buyerInfo"])
    first = next(o for o in full.payload["Orders"] if o["AmazonOrderId"] == order_id)
    assert first["ShippingAddress"] == PII_ADDRESS and first["BuyerInfo"] == BUYER
    assert_valid("ordersV0", "GetOrdersResponse", kit.recorder.last("/orders/v0/orders").body)

    # dataElements decide which PII: shippingAddress alone leaves BuyerInfo out.
    rdt = kit.rdt(refresh, {"method": "GET", "path": "/orders/v0/orders/{orderId}", "dataElements": ["shippingAddress"]})
    with_rdt = kit.orders(refresh, rdt=rdt).get_order(order_id).payload
    assert with_rdt["ShippingAddress"] == PII_ADDRESS and "BuyerInfo" not in with_rdt

    # An RDT for one order's address opens that address, nothing else.
    rdt = kit.rdt(refresh, {"method": "GET", "path": f"/orders/v0/orders/{order_id}/address"})
    restricted = kit.orders(refresh, rdt=rdt)
    address = restricted.get_order_address(order_id).payload
    assert address == {"AmazonOrderId": order_id, "ShippingAddress": PII_ADDRESS}
    assert_valid("ordersV0", "GetOrderAddressResponse", kit.recorder.last().body)
    for call in (lambda: restricted.get_order_address(other_id), lambda: restricted.get_order_items(order_id)):
        with pytest.raises(SellingApiForbiddenException) as raised:
            call()
        assert raised.value.amzn_code == "Unauthorized"

    items = orders.get_order_items(order_id, RestrictedResources=["buyerInfo"]).payload["OrderItems"]
    assert items[0]["BuyerInfo"] == {"GiftMessageText": "Happy birthday"}
    buyer = kit.orders(refresh, rdt=kit.rdt(refresh, {"method": "GET", "path": "/orders/v0/orders/{orderId}/buyerInfo"}))
    assert buyer.get_order_buyer_info(order_id).payload == {"AmazonOrderId": order_id, **BUYER}
    assert_valid("ordersV0", "GetOrderBuyerInfoResponse", kit.recorder.last().body)


def test_pending_orders_show_no_address_prices_or_latest_delivery(kit, seller):
    seller_id, refresh = seller
    order_id = kit.sandbox.create_order(seller_id, OrderStatus="Pending", ShippingAddress=PII_ADDRESS)["AmazonOrderId"]
    rdt = kit.rdt(refresh, {"method": "GET", "path": "/orders/v0/orders/{orderId}", "dataElements": ["shippingAddress"]})
    order = kit.orders(refresh, rdt=rdt).get_order(order_id).payload
    assert "ShippingAddress" not in order and "LatestDeliveryDate" not in order and order["OrderStatus"] == "Pending"
    item = kit.orders(refresh).get_order_items(order_id).payload["OrderItems"][0]
    assert "ItemPrice" not in item and item["QuantityOrdered"] == 1


def test_amazon_fulfilled_orders_never_show_a_phone_or_ship_window(kit, seller):
    seller_id, refresh = seller
    order_id = kit.sandbox.create_order(seller_id, FulfillmentChannel="AFN", ShippingAddress=PII_ADDRESS)["AmazonOrderId"]
    rdt = kit.rdt(refresh, {"method": "GET", "path": f"/orders/v0/orders/{order_id}/address"})
    address = kit.orders(refresh, rdt=rdt).get_order_address(order_id).payload["ShippingAddress"]
    assert address["Name"] == "Olivia Test" and "Phone" not in address
    assert "EarliestShipDate" not in kit.orders(refresh).get_order(order_id).payload


def test_order_items_page_with_next_token(kit, seller):
    seller_id, refresh = seller
    order = kit.sandbox.create_order(seller_id, items=[{"SellerSKU": f"SKU-{n}", "QuantityOrdered": 1}
                                                       for n in range(101)])
    orders = kit.orders(refresh)

    @load_all_pages(throttle_by_seconds=0)
    def pages(order_id, **kwargs):
        return orders.get_order_items(order_id, **kwargs)

    sizes, skus = [], []
    for page in pages(order["AmazonOrderId"]):
        assert_valid("ordersV0", "GetOrderItemsResponse", kit.recorder.last().body)
        assert page.payload["AmazonOrderId"] == order["AmazonOrderId"]
        sizes.append(len(page.payload["OrderItems"]))
        skus += [i["SellerSKU"] for i in page.payload["OrderItems"]]
    assert sizes == [100, 1] and skus == [f"SKU-{n}" for n in range(101)]


def test_get_order_answers_400_for_a_malformed_id_and_404_for_an_unknown_one(kit, seller):
    orders = kit.orders(seller[1])
    with pytest.raises(SellingApiBadRequestException):
        orders.get_order("TEST_CASE_400")
    with pytest.raises(SellingApiNotFoundException) as raised:
        orders.get_order("111-0000000-0000000")
    assert raised.value.amzn_code == "NotFound"
    assert kit.recorder.last().headers["x-amzn-ratelimit-limit"] == "0.5"
    assert_valid("ordersV0", "GetOrderResponse", kit.recorder.last().body)
