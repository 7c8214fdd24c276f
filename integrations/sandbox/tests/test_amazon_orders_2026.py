"""Orders v2026-01-01: searchOrders and getOrder with includedData, no RDT (orders_2026-01-01.json;
reference/sp-api.md §0, §10)."""

from __future__ import annotations

import json

import pytest
from sp_api.auth import access_token_client
from sp_api.base.exceptions import SellingApiBadRequestException, SellingApiNotFoundException

from .amazon_support import AU, assert_valid, iso_ago

EVERYTHING = ["BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES",
              "TAX", "PAYMENT", "FULFILLMENT_ORDERS"]


def shipped_in_part(kit, seller_id: str, refresh: str) -> dict:
    sandbox = kit.sandbox
    source = sandbox.add_supply_source(seller_id, supplySourceCode="SYD-01", alias="Sydney")["supplySourceId"]
    order = sandbox.create_order(seller_id, FulfillmentSupplySourceId=source, SellerOrderId="HUB-1001",
                                 ShipmentServiceLevelCategory="Expedited",
                                 ShippingAddress={"Name": "Jack Thompson", "AddressLine1": "12 Crown Street",
                                                  "City": "SURRY HILLS", "StateOrRegion": "NSW", "PostalCode": "2010",
                                                  "CountryCode": "AU", "Phone": "+61 400 000 002",
                                                  "AddressType": "Residential"},
                                 BuyerInfo={"BuyerName": "Jack Thompson", "BuyerEmail": "jt@marketplace.amazon.com.au"},
                                 items=[{"SellerSKU": "MUG", "QuantityOrdered": 2, "ItemPrice": "50.00"},
                                        {"SellerSKU": "TEE", "QuantityOrdered": 1}])
    mug = order["OrderItems"][0]["OrderItemId"]
    kit.orders(refresh).confirm_shipment(order["AmazonOrderId"], marketplaceId=AU, packageDetail={
        "packageReferenceId": "PKG-1", "carrierCode": "Australia Post", "trackingNumber": "AP123",
        "shipDate": "2026-03-02T01:00:00Z", "shipFromSupplySourceId": source,
        "orderItems": [{"orderItemId": mug, "quantity": 2}]})
    return order


def test_search_orders_with_every_dataset_matches_the_model(kit, seller):
    seller_id, refresh = seller
    order = shipped_in_part(kit, seller_id, refresh)
    answer = kit.orders_2026(refresh).search_orders(createdAfter=iso_ago(kit.sandbox, hours=1), marketplaceIds=[AU],
                                                    includedData=EVERYTHING)
    body = kit.recorder.last("/orders/2026-01-01/orders").body
    assert_valid("orders_2026-01-01", "SearchOrdersResponse", body)
    assert "createdBefore" in body and "pagination" not in body and answer.next_token is None
    [found] = body["orders"]
    assert found["orderId"] == order["AmazonOrderId"]
    assert found["orderAliases"] == [{"aliasId": "HUB-1001", "aliasType": "SELLER_ORDER_ID"}]
    assert found["salesChannel"] == {"channelName": "AMAZON", "marketplaceId": AU, "marketplaceName": "Amazon.com.au"}
    assert found["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    assert found["fulfillment"]["fulfilledBy"] == "MERCHANT"
    assert found["fulfillment"]["fulfillmentServiceLevel"] == "EXPEDITED"
    # No RDT, yet the personal data is there: v2026 access is role-based.
    assert found["recipient"]["deliveryAddress"]["name"] == "Jack Thompson"
    assert found["recipient"]["deliveryAddress"]["addressType"] == "RESIDENTIAL"
    assert found["buyer"] == {"buyerName": "Jack Thompson", "buyerEmail": "jt@marketplace.amazon.com.au"}
    mug, tee = found["orderItems"]
    assert mug["product"]["sellerSku"] == "MUG" and mug["product"]["price"]["unitPrice"]["amount"] == "25.00"
    assert mug["fulfillment"] == {"quantityFulfilled": 2, "quantityUnfulfilled": 0}
    assert tee["fulfillment"] == {"quantityFulfilled": 0, "quantityUnfulfilled": 1}
    [pkg] = found["packages"]
    assert (pkg["trackingNumber"], pkg["carrier"], pkg["shipFromAddress"]["city"]) == ("AP123", "Australia Post",
                                                                                      "Huntingwood")
    assert pkg["packageItems"] == [{"orderItemId": mug["orderItemId"], "quantity": 2}]
    # v2026 has no supply-source field (sp-api.md §4, §10)
    assert "SupplySource" not in json.dumps(body) and "supplySource" not in json.dumps(body)


def test_without_included_data_only_the_core_order_comes_back(kit, seller):
    seller_id, refresh = seller
    shipped_in_part(kit, seller_id, refresh)
    kit.orders_2026(refresh).search_orders(createdAfter=iso_ago(kit.sandbox, hours=1), marketplaceIds=[AU])
    body = kit.recorder.last("/orders/2026-01-01/orders").body
    assert_valid("orders_2026-01-01", "SearchOrdersResponse", body)
    [found] = body["orders"]
    assert not {"buyer", "recipient", "fulfillment", "packages", "proceeds"} & set(found)
    assert {"orderId", "createdTime", "lastUpdatedTime", "salesChannel", "orderItems"} <= set(found)
    assert all(set(item) <= {"orderItemId", "quantityOrdered", "product", "programs"} for item in found["orderItems"])


def test_pagination_tokens_need_the_same_parameters_and_expire_after_a_day(kit, seller):
    seller_id, refresh = seller
    sandbox = kit.sandbox
    made = [o["AmazonOrderId"] for o in sandbox.create_orders(seller_id, 5, PurchaseDate=iso_ago(sandbox, minutes=30))]
    orders = kit.orders_2026(refresh)
    params = {"createdAfter": iso_ago(sandbox, hours=1), "marketplaceIds": [AU], "fulfillmentStatuses": ["UNSHIPPED"]}
    seen, token, pages = [], None, 0
    while True:
        extra = {"paginationToken": token} if token else {}
        answer = orders.search_orders(maxResultsPerPage=2, **params, **extra)
        assert_valid("orders_2026-01-01", "SearchOrdersResponse", kit.recorder.last().body)
        seen += [o["orderId"] for o in answer.payload["orders"]]
        pages += 1
        token = answer.next_token
        if not token:
            break
    assert pages == 3 and sorted(seen) == sorted(made)

    first = orders.search_orders(maxResultsPerPage=2, **params)
    with pytest.raises(SellingApiBadRequestException):
        orders.search_orders(paginationToken=first.next_token, **{**params, "fulfillmentStatuses": ["SHIPPED"]})
    more = orders.search_orders(paginationToken=first.next_token, maxResultsPerPage=1, includedData=["FULFILLMENT"],
                                **params)                       # page size and datasets may change
    assert len(more.payload["orders"]) == 1 and "fulfillment" in more.payload["orders"][0]
    sandbox.set_clock(advance_seconds=25 * 3600)
    access_token_client.cache.clear()                  # the access token expired too; fetch a fresh one
    with pytest.raises(SellingApiBadRequestException) as raised:
        orders.search_orders(paginationToken=first.next_token, **params)
    assert "expired" in raised.value.error[0]["details"]


@pytest.mark.parametrize("params", [
    {"createdAfter": "2024-01-01T00:00:00Z", "lastUpdatedAfter": "2024-01-01T00:00:00Z"},
    {"createdAfter": "2024-01-01T00:00:00Z", "lastUpdatedBefore": "2024-01-02T00:00:00Z"},
    {"lastUpdatedBefore": "2024-01-02T00:00:00Z"},
    {"createdAfter": "TEST_CASE_400"},
    {"createdAfter": "2024-01-01T00:00:00Z", "includedData": ["EVERYTHING"]},
    {"createdAfter": "2024-01-01T00:00:00Z", "maxResultsPerPage": 101},
    {"createdAfter": "2024-01-01T00:00:00Z", "fulfillmentStatuses": ["Unshipped"]},
    {"createdAfter": "2024-01-01T00:00:00Z", "fulfilledBy": ["MFN"]},
])
def test_bad_searches_are_400(kit, seller, params):
    with pytest.raises(SellingApiBadRequestException):
        kit.orders_2026(seller[1]).search_orders(marketplaceIds=[AU], **params)
    assert_valid("orders_2026-01-01", "ErrorList", kit.recorder.last().body)


def test_get_order_and_filters_by_status_and_channel(kit, seller):
    seller_id, refresh = seller
    sandbox = kit.sandbox
    mfn = sandbox.create_order(seller_id)["AmazonOrderId"]
    afn = sandbox.create_order(seller_id, FulfillmentChannel="AFN", OrderStatus="Shipped",
                               items=[{"QuantityOrdered": 1, "QuantityShipped": 1}])["AmazonOrderId"]
    canceled = sandbox.create_order(seller_id, OrderStatus="Canceled")["AmazonOrderId"]
    orders = kit.orders_2026(refresh)
    since = iso_ago(sandbox, minutes=5)

    def ids(**filters) -> list[str]:
        return [o["orderId"] for o in orders.search_orders(createdAfter=since, marketplaceIds=[AU], **filters)
                .payload["orders"]]

    assert ids(fulfilledBy=["AMAZON"]) == [afn]
    assert ids(fulfillmentStatuses=["CANCELLED"]) == [canceled]
    assert sorted(ids()) == sorted([mfn, afn, canceled])
    got = orders.get_order(afn, includedData=["FULFILLMENT", "RECIPIENT"])
    body = kit.recorder.last(afn).body
    assert_valid("orders_2026-01-01", "GetOrderResponse", body)
    assert got.payload["order"]["fulfillment"]["fulfilledBy"] == "AMAZON"
    assert "phone" not in got.payload["order"]["recipient"]["deliveryAddress"]       # suppressed for FBA
    with pytest.raises(SellingApiNotFoundException):
        orders.get_order("249-0000000-0000000")
    assert_valid("orders_2026-01-01", "ErrorList", kit.recorder.last().body)
