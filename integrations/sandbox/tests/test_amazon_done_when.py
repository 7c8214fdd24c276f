"""Issue 3's "Done when", Amazon half: python-amazon-sp-api gets a token, pages orders, reads items and
an address with a restricted data token, confirms a shipment, reads supply sources and submits a
listings feed, against the sandbox, with every Amazon answer valid against Amazon's models."""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qs, urlsplit

from sp_api.util import load_all_pages

from .amazon_support import AU, assert_valid, iso_ago, spapi_kit

VALIDATED = {
    "/orders/v0/orders": ("ordersV0", "GetOrdersResponse"),
    "/orderItems": ("ordersV0", "GetOrderItemsResponse"),
    "/address": ("ordersV0", "GetOrderAddressResponse"),
    "/restrictedDataToken": ("tokens_2021-03-01", "CreateRestrictedDataTokenResponse"),
    "/supplySources": ("supplySources_2020-07-01", "GetSupplySourcesResponse"),
    "/feeds/2021-06-30/documents": ("feeds_2021-06-30", "CreateFeedDocumentResponse"),
    "/feeds/2021-06-30/feeds": ("feeds_2021-06-30", "CreateFeedResponse"),
}


def test_the_client_does_the_whole_amazon_round_trip(amazon_sandbox):
    sandbox = amazon_sandbox
    # A seller with two warehouses, three listings and 150 orders routed to Sydney.
    seller_id = sandbox.seed_seller(name="Harbour Goods")["selling_partner_id"]
    sydney = sandbox.add_supply_source(seller_id, supplySourceCode="SYD-01", alias="Sydney")["supplySourceId"]
    sandbox.add_supply_source(seller_id, supplySourceCode="LAX-01", alias="Los Angeles", status="Inactive")
    for sku in ("DEMO-MUG-01", "DEMO-TEE-02", "DEMO-CAP-03"):
        sandbox.add_listing(seller_id, sku, quantity=5)
    sandbox.create_orders(seller_id, 150, FulfillmentSupplySourceId=sydney, PurchaseDate=iso_ago(sandbox, hours=2),
                          items=[{"SellerSKU": "DEMO-MUG-01", "QuantityOrdered": 2},
                                 {"SellerSKU": "DEMO-TEE-02", "QuantityOrdered": 1}])

    with spapi_kit(sandbox) as kit:
        # 1. Consent in "Seller Central", then the code for tokens.
        consent = sandbox.http.post("/apps/authorize/consent", data={
            "application_id": sandbox.application_id, "state": "wizard-42", "version": "beta",
            "selling_partner_id": seller_id, "decision": "confirm"})
        query = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["location"]).query).items()}
        assert query["state"] == "wizard-42" and query["selling_partner_id"] == seller_id
        refresh = kit.lwa().authorize_auth_code(query["spapi_oauth_code"])["refresh_token"]

        # 2. Page the orders.
        orders = kit.orders(refresh)

        @load_all_pages(throttle_by_seconds=0)
        def pages(**kwargs):
            return orders.get_orders(**kwargs)

        found = [o for page in pages(CreatedAfter=iso_ago(sandbox, hours=3), OrderStatuses=["Unshipped"],
                                     MarketplaceIds=[AU], MaxResultsPerPage=100) for o in page.payload["Orders"]]
        assert len(found) == 150
        assert {o["FulfillmentInstruction"]["FulfillmentSupplySourceId"] for o in found} == {sydney}
        order_id = found[0]["AmazonOrderId"]

        # 3. Items, and the address with a restricted data token.
        items = orders.get_order_items(order_id).payload["OrderItems"]
        rdt = kit.rdt(refresh, {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"})
        address = kit.orders(refresh, rdt=rdt).get_order_address(order_id).payload["ShippingAddress"]
        assert address["Name"] and address["AddressLine1"] and "Name" not in found[0]["ShippingAddress"]

        # 4. Confirm the shipment, one package with everything.
        orders.confirm_shipment(order_id, marketplaceId=AU, packageDetail={
            "packageReferenceId": "CON-0001", "carrierCode": "Australia Post", "trackingNumber": "33ABC0001",
            "shipDate": iso_ago(sandbox, minutes=1), "shipFromSupplySourceId": sydney,
            "orderItems": [{"orderItemId": i["OrderItemId"], "quantity": i["QuantityOrdered"]} for i in items]})
        assert orders.get_order(order_id).payload["OrderStatus"] == "Shipped"

        # 5. Supply sources, to map onto warehouses.
        sources = kit.supply_sources(refresh).get_supply_sources().payload["supplySources"]
        assert {s["supplySourceCode"] for s in sources} == {"SYD-01", "LAX-01"}

        # 6. Push stock with a JSON_LISTINGS_FEED and read the processing report.
        feed = {"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"},
                "messages": [{"messageId": n, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT",
                              "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                           "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": qty}]}]}
                             for n, (sku, qty) in enumerate((("DEMO-MUG-01", 38), ("DEMO-TEE-02", 0)), start=1)]}
        feeds = kit.feeds(refresh)
        _, created = feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(json.dumps(feed).encode("utf-8")),
                                       content_type="application/json; charset=UTF-8")
        status = None
        while status not in ("DONE", "FATAL"):
            status = feeds.get_feed(created.payload["feedId"]).payload["processingStatus"]
        report = json.loads(feeds.get_feed_result_document(
            feeds.get_feed(created.payload["feedId"]).payload["resultFeedDocumentId"]))
        assert status == "DONE" and report["summary"]["messagesAccepted"] == 2 and report["issues"] == []

        for recorded in kit.recorder.responses:
            for suffix, (model_name, definition) in VALIDATED.items():
                if recorded.path.endswith(suffix) and recorded.status < 300:
                    assert_valid(model_name, definition, recorded.body)

    state = sandbox.state(seller_id)
    assert {sku: listing["quantity"] for sku, listing in state["listings"].items()} == \
        {"DEMO-MUG-01": 38, "DEMO-TEE-02": 0, "DEMO-CAP-03": 5}
    [confirmation] = state["confirmations"]
    assert confirmation["amazon_order_id"] == order_id
    assert confirmation["body"]["packageDetail"]["trackingNumber"] == "33ABC0001"
