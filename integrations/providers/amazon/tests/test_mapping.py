"""mapping.py as pure functions on recorded JSON.

`recorded/*_sandbox.json` are Amazon's own `x-amzn-api-sandbox` examples from the OpenAPI models
(shared/spapi-models); the others are realistic answers (an AU page read with a bulk RDT, a feed
processing report) written from the same models.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from integrations.providers.amazon import mapping
from integrations.providers.base import (
    OrderState,
    ShipmentConfirmation,
    ShipmentItem,
    StockLevelUpdate,
)

RECORDED = Path(__file__).parent / "recorded"
UTC = dt.UTC


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def au_page_orders() -> dict[str, Any]:
    page = mapping.v0_orders_page(recorded("v0_getOrders_au_rdt.json"))
    return {o["AmazonOrderId"]: o for o in page.orders}


# --- Orders v0 ----------------------------------------------------------------------------------


def test_v0_sandbox_order_maps_status_dates_service_level_and_supply_source():
    page = mapping.v0_orders_page(recorded("v0_getOrders_sandbox.json"))
    items, items_token = mapping.v0_order_items_page(recorded("v0_getOrderItems_sandbox.json"))

    order = mapping.order_from_v0(page.orders[0], items)

    assert order.order_id == "902-1845936-5435065"
    assert (order.state, order.raw_status) == (OrderState.READY, "Unshipped")
    assert order.purchased_at == dt.datetime(1970, 1, 19, 3, 58, 30, tzinfo=UTC)
    assert order.latest_ship_at == dt.datetime(1970, 1, 19, 4, 5, 13, tzinfo=UTC)
    assert order.latest_delivery_at == dt.datetime(1970, 1, 19, 4, 15, 17, tzinfo=UTC)
    assert order.service_level == "Standard"
    assert order.shipping_method == "Std US D2D Dom"
    assert order.supply_source_id == "sampleSupplySourceId"
    assert order.fulfilled_by_marketplace is False
    assert items_token == ""
    (line,) = order.lines
    assert (line.line_id, line.sku, line.alternative_code) == (
        "05015851154158", "NABetaASINB00551Q3CS", "B00551Q3CS")
    assert (line.quantity, line.quantity_shipped, line.title) == (1, 0, "B00551Q3CS [Card Book]")
    assert order.problems == ()


def test_v0_order_read_without_rdt_is_marked_address_withheld():
    # Amazon's sandbox getOrders carries no ShippingAddress for an Unshipped MFN order: not readable
    # without a restricted data token, so the service must not ship it to an empty address.
    page = mapping.v0_orders_page(recorded("v0_getOrders_sandbox.json"))
    order = mapping.order_from_v0(page.orders[0], [])
    assert order.address is None
    assert order.address_withheld is True


def test_v0_page_reader_reads_next_token_and_upper_bound():
    first = mapping.v0_orders_page(recorded("v0_getOrders_next_token_sandbox.json"))
    au = mapping.v0_orders_page(recorded("v0_getOrders_au_rdt.json"))
    odd = mapping.v0_orders_page(recorded("v0_getOrders_sandbox.json"))

    assert first.next_token == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    assert au.next_token == ""
    assert au.upper_bound == dt.datetime(2026, 11, 24, 9, 58, tzinfo=UTC)
    assert odd.upper_bound is None        # the sandbox's "1.569521782042E9" is not a date and not fatal


def test_v0_order_with_rdt_maps_the_full_address_and_buyer_email():
    raw = au_page_orders()["250-4715566-1209943"]
    items, _ = mapping.v0_order_items_page(recorded("v0_getOrderItems_au.json"))

    order = mapping.order_from_v0(raw, items)

    assert order.address is not None
    assert order.address.name == "Jane Citizen"
    assert order.address.company == "Citizen Joinery Pty Ltd"
    assert order.address.line1 == "Unit 4"
    assert order.address.line2 == "18 Example Street, Rear entrance"     # AddressLine2 + AddressLine3
    assert (order.address.city, order.address.state, order.address.postcode, order.address.country) == (
        "SURRY HILLS", "NSW", "2010", "AU")
    assert order.address.phone == "+61 2 5550 1234"
    assert order.address.email == "k8s2ld0q9xv7m3p@marketplace.amazon.com.au"
    assert order.address_withheld is False
    assert order.service_level == "Expedited"
    assert order.shipping_method == "Exp AU Dom_2"
    assert order.supply_source_id == "3a8c1f52-9d0e-4b6a-8f1e-2c7d5b9e0a41"
    # Amazon's UTC instant, kept aware: in Sydney (UTC+11 in November) this is the next day, 23:59:59.
    assert order.latest_ship_at == dt.datetime(2026, 11, 24, 12, 59, 59, tzinfo=UTC)
    assert order.latest_ship_at.utcoffset() == dt.timedelta(0)
    assert order.latest_delivery_at == dt.datetime(2026, 11, 27, 12, 59, 59, tzinfo=UTC)
    assert [(li.sku, li.quantity, li.quantity_shipped) for li in order.lines] == [
        ("MUG-BLUE-350", 2, 0), ("COASTER-SET-4", 1, 1)]
    assert order.problems == ()


def test_v0_company_falls_back_to_get_order_address_buyer_company():
    raw = dict(au_page_orders()["250-4715566-1209943"])
    address = dict(raw.pop("ShippingAddress"))
    address.pop("CompanyName")
    order = mapping.order_from_v0(raw, [], address_body={"AmazonOrderId": raw["AmazonOrderId"],
                                                         "BuyerCompanyName": "Citizen Joinery",
                                                         "ShippingAddress": address})
    assert order.address is not None
    assert (order.address.name, order.address.company) == ("Jane Citizen", "Citizen Joinery")


def test_v0_get_order_address_payload_supplies_a_missing_address():
    page = mapping.v0_orders_page(recorded("v0_getOrders_sandbox.json"))
    address_body = recorded("v0_getOrderAddress_sandbox.json")["payload"]

    order = mapping.order_from_v0(page.orders[0], [], address_body=address_body)

    assert order.address is not None
    assert (order.address.name, order.address.line1, order.address.city) == (
        "MFNIntegrationTestMerchant", "2201 WESTLAKE AVE", "SEATTLE")
    assert order.address_withheld is False


def test_v0_cancelled_order_is_cancelled_without_an_address():
    order = mapping.order_from_v0(au_page_orders()["250-9921874-5530118"], [])
    assert (order.state, order.raw_status) == (OrderState.CANCELLED, "Canceled")
    assert order.address is None
    assert order.address_withheld is False      # Amazon sends none for Canceled: nothing withheld
    assert order.latest_delivery_at is None
    assert order.problems == ()


def test_v0_afn_order_is_fulfilled_by_marketplace():
    raw = mapping.v0_order(recorded("v0_getOrder_afn_sandbox.json"))
    order = mapping.order_from_v0(raw, None)
    assert order.fulfilled_by_marketplace is True
    assert order.state is OrderState.SHIPPED
    assert order.purchased_at == dt.datetime(2019, 5, 7, 15, 42, 57, 58000, tzinfo=UTC)
    assert order.address_withheld is False


def test_v0_malformed_order_is_mapped_with_problems_a_person_can_act_on():
    raw = au_page_orders()["250-3318450-7764021"]
    items, _ = mapping.v0_order_items_page(recorded("v0_getOrderItems_malformed.json"))

    order = mapping.order_from_v0(raw, items)

    assert order.order_id == "250-3318450-7764021"
    assert order.latest_ship_at is None
    assert order.latest_delivery_at == dt.datetime(2026, 11, 29, 12, 59, 59, tzinfo=UTC)
    text = " | ".join(order.problems)
    assert "LatestShipDate '26/11/2026' is not an ISO-8601 date" in text
    assert "Item 55120938475102 (ASIN B0D1ZZ7Q3L) has no SellerSKU" in text
    assert "Item 55120938475110: QuantityOrdered 'two' is not a whole number" in text
    assert len(order.problems) == 3
    assert order.address_withheld is True       # City/State/PostalCode only: no name, no street
    assert "PARRAMATTA" not in text and "2150" not in text


@pytest.mark.parametrize("raw", [
    "not an order", {"OrderStatus": "Unshipped", "PurchaseDate": "2026-01-01T00:00:00Z"}])
def test_v0_unusable_order_entry_becomes_problems_not_an_exception(raw):
    order = mapping.order_from_v0(raw, None)
    assert order.order_id == ""
    assert order.problems and "retried on the next poll" in order.problems[0]


def test_v0_items_fetch_problem_is_carried_on_the_order():
    order = mapping.order_from_v0(au_page_orders()["250-4715566-1209943"], None,
                                  extra_problems=["Its items could not be read (InvalidInput)."])
    assert order.lines == ()
    assert order.problems == ("Its items could not be read (InvalidInput).",)


@pytest.mark.parametrize(("status", "state"), [
    ("Pending", OrderState.PENDING), ("PendingAvailability", OrderState.PENDING),
    ("Unshipped", OrderState.READY), ("PartiallyShipped", OrderState.PARTIALLY_SHIPPED),
    ("Shipped", OrderState.SHIPPED), ("InvoiceUnconfirmed", OrderState.SHIPPED),
    ("Canceled", OrderState.CANCELLED), ("Unfulfillable", OrderState.OTHER),
    ("SomethingNew", OrderState.OTHER),
])
def test_v0_order_status_maps_to_order_state(status, state):
    raw = {"AmazonOrderId": "250-0000000-0000001", "PurchaseDate": "2026-11-01T00:00:00Z",
           "LastUpdateDate": "2026-11-01T00:00:00Z", "OrderStatus": status, "FulfillmentChannel": "MFN"}
    assert mapping.order_from_v0(raw, None).state is state


# --- Orders v2026-01-01 -----------------------------------------------------------------------------


def test_v2026_search_page_maps_items_address_and_amazon_fulfilment():
    page = mapping.v2026_orders_page(recorded("v2026_searchOrders_sandbox.json"))
    order = mapping.order_from_v2026(page.orders[0])

    assert page.next_token == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    assert order.order_id == "250-1234567-8901234"
    assert (order.state, order.raw_status) == (OrderState.SHIPPED, "SHIPPED")
    assert order.fulfilled_by_marketplace is True
    assert order.service_level == "Standard"
    assert order.supply_source_id == ""            # v2026 has no supply-source field (§10)
    lines = [(li.line_id, li.sku, li.alternative_code, li.quantity, li.quantity_shipped)
             for li in order.lines]
    assert lines == [
        ("25012345678901", "ECHO-DOT-4-JP-CHARCOAL", "B08C1W5N87", 1, 1),
        ("25012345678902", "FIRE-TV-4K-MAX-JP", "B07PFFMP9P", 2, 2),
    ]
    assert order.address is not None
    assert (order.address.line1, order.address.line2, order.address.city, order.address.country) == (
        "123 Business Park", "Suite 456", "Tokyo", "JP")
    assert order.address.email == "buyer-email@marketplace.amazon.co.jp"


def test_v2026_get_order_maps_merchant_order_windows_and_state():
    order = mapping.order_from_v2026(mapping.v2026_order(recorded("v2026_getOrder_sandbox.json")))

    assert (order.state, order.fulfilled_by_marketplace) == (OrderState.READY, False)
    assert order.purchased_at == dt.datetime(2024, 12, 24, 20, 30, tzinfo=UTC)
    assert order.latest_ship_at == dt.datetime(2024, 12, 27, 23, 59, 59, tzinfo=UTC)
    assert order.latest_delivery_at == dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert order.address is not None
    assert (order.address.name, order.address.line2, order.address.postcode) == (
        "Maria Silva Santos", "Apartamento 45", "01234-567")
    assert order.address_withheld is False
    lines = [(li.sku, li.quantity, li.quantity_shipped) for li in order.lines]
    assert lines == [("ECHO-DOT-4-BR-PRETO", 1, 0)]
    assert order.problems == ()


@pytest.mark.parametrize(("level", "normalised"), [
    ("STANDARD", "Standard"), ("EXPEDITED", "Expedited"), ("SECOND_DAY", "SecondDay"),
    ("NEXT_DAY", "NextDay"), ("SAME_DAY", "SameDay"), ("SCHEDULED", "Scheduled"),
    ("FREE_ECONOMY", "FreeEconomy"), ("PRIORITY", "Priority"),
])
def test_v2026_service_level_uses_the_v0_names(level, normalised):
    raw = mapping.v2026_order(recorded("v2026_getOrder_sandbox.json"))
    raw = {**raw, "fulfillment": {**raw["fulfillment"], "fulfillmentServiceLevel": level}}
    assert mapping.order_from_v2026(raw).service_level == normalised


def test_v2026_malformed_order_is_mapped_with_problems():
    raw = mapping.v2026_order(recorded("v2026_getOrder_sandbox.json"))
    item = {**raw["orderItems"][0], "product": {"asin": "B08N5WRWNW"}}
    raw = {**raw, "orderItems": [item],
           "fulfillment": {**raw["fulfillment"], "shipByWindow": {"latestDateTime": "tomorrow"}}}
    order = mapping.order_from_v2026(raw)
    text = " | ".join(order.problems)
    assert "fulfillment.shipByWindow.latestDateTime 'tomorrow' is not an ISO-8601 date" in text
    assert "has no sellerSku" in text
    assert order.order_id == "171-9876543-2109876"


# --- shipment confirmation --------------------------------------------------------------------------


def test_confirm_shipment_body_is_exactly_amazons_example():
    example = recorded("v0_confirmShipment_request_sandbox.json")["parameters"]["body"]["value"]
    shipment = ShipmentConfirmation(
        order_id="902-1106328-1059050", package_reference="1", carrier_code="FedEx", carrier_name="FedEx",
        shipping_method="FedEx Ground", tracking_number="112345678",
        ship_date=dt.datetime(2022, 2, 11, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=11))),   # Sydney
        ship_from_supply_source_id="057d3fcc-b750-419f-bbcd-4d340c60c430",
        items=(ShipmentItem(line_id="79039765272157", quantity=1),),
    )
    expected = json.loads(json.dumps(example))
    del expected["packageDetail"]["orderItems"][0]["transparencyCodes"]     # we sell no Transparency items
    # carrierName is only for carrierCode "Other" (§2.5): beside a known code it is left out.
    del expected["packageDetail"]["carrierName"]

    body = mapping.confirm_shipment_body(shipment, marketplace_id="ATVPDKIKX0DER")

    assert body == expected


def test_confirm_shipment_body_names_the_carrier_only_with_code_other():
    shipment = ShipmentConfirmation(
        order_id="250-4715566-1209943", package_reference="PKG-78", carrier_code="Other",
        carrier_name="Fastway Couriers", tracking_number="FW1",
        ship_date=dt.datetime(2026, 11, 24, 4, 5, 6, tzinfo=UTC), items=(ShipmentItem("68472930184527", 1),))
    detail = mapping.confirm_shipment_body(shipment, marketplace_id="A39IBJ37TRP1C6")["packageDetail"]
    assert (detail["carrierCode"], detail["carrierName"]) == ("Other", "Fastway Couriers")


def test_read_back_from_order_items_and_packages():
    items = recorded("v0_getOrderItems_sandbox.json")["payload"]["OrderItems"]
    assert mapping.shipment_read_back_v0(items).shipped_quantities == {"05015851154158": 0}
    found = mapping.shipment_read_back_v2026({"orderId": "1", "packages": [
        {"packageReferenceId": "42", "trackingNumber": "AP-1"}, {"packageReferenceId": "43"}]})
    assert found.package_references == {"42", "43"} and found.tracking_numbers == {"AP-1"}
    with pytest.raises(ValueError):
        mapping.shipment_read_back_v0([{"OrderItemId": "9", "QuantityShipped": "two"}])


def test_confirm_shipment_body_leaves_out_what_we_do_not_have():
    shipment = ShipmentConfirmation(
        order_id="250-4715566-1209943", package_reference="PKG-77", carrier_code="Australia Post",
        carrier_name="", tracking_number="33XYZ000123",
        ship_date=dt.datetime(2026, 11, 24, 4, 5, 6, 789000, tzinfo=UTC),
        items=(ShipmentItem("68472930184527", 2), ShipmentItem("68472930184535", 1)))
    detail = mapping.confirm_shipment_body(shipment, marketplace_id="A39IBJ37TRP1C6")["packageDetail"]
    assert set(detail) == {"packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems"}
    assert detail["shipDate"] == "2026-11-24T04:05:06.789Z"
    assert detail["orderItems"] == [{"orderItemId": "68472930184527", "quantity": 2},
                                    {"orderItemId": "68472930184535", "quantity": 1}]


def test_amazon_error_body_becomes_one_line():
    assert mapping.errors_text(recorded("v0_confirmShipment_400_sandbox.json")) == "Invalid Input"
    assert mapping.errors_text({"errors": [{"code": "InvalidInput", "message": "Invalid Input",
                                            "details": "Order is already shipped"}]}) == (
        "InvalidInput: Invalid Input (Order is already shipped)")
    assert mapping.errors_text("<html>") == ""


# --- inventory -------------------------------------------------------------------------------------


def test_listing_patch_body_replaces_default_fulfillment_availability():
    assert mapping.listing_patch_body(7) == {
        "productType": "PRODUCT",
        "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                     "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}]}],
    }
    assert mapping.listing_patch_body(-3)["patches"][0]["value"][0]["quantity"] == 0


def test_listing_submission_reads_accepted_and_invalid():
    assert mapping.listing_submission(recorded("listings_patch_accepted_sandbox.json")) == (True, "")
    assert mapping.listing_submission(recorded("listings_patch_invalid_sandbox.json")) == (
        False, "90000900: The attributes are invalid.")


def test_listings_feed_is_utf8_json_with_one_patch_message_per_sku():
    levels = [StockLevelUpdate("MUG-BLUE-350", 12), StockLevelUpdate("TASSE-BLÅ-€", 3)]
    content, skus = mapping.listings_feed(seller_id="A2SANDBOXSELLER", levels=levels)

    document = json.loads(content.decode("utf-8"))
    assert "TASSE-BLÅ-€".encode() in content                # UTF-8, not ISO-8859-1 (§1.6)
    assert document["header"] == {"sellerId": "A2SANDBOXSELLER", "version": "2.0", "issueLocale": "en_US"}
    assert skus == {1: "MUG-BLUE-350", 2: "TASSE-BLÅ-€"}
    assert document["messages"][1] == {
        "messageId": 2, "sku": "TASSE-BLÅ-€", "operationType": "PATCH", "productType": "PRODUCT",
        "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                     "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}]}],
    }


def test_feed_report_rejects_only_skus_with_errors():
    skus = {1: "MUG-BLUE-350", 2: "COASTER-SET-4", 3: "NO-SUCH-SKU", 4: "TEAPOT-1L"}
    report = recorded("feeds_processing_report.json")
    accepted, rejected = mapping.feed_outcome(report, skus=skus, status="DONE")
    assert accepted == ("MUG-BLUE-350", "COASTER-SET-4", "TEAPOT-1L")          # a WARNING is still accepted
    assert rejected == (("NO-SUCH-SKU", "4000001: The SKU does not match any listing in this marketplace."),)


def test_fatal_feed_rejects_every_sku_with_the_feed_reason():
    reason = "sellerId does not match the token"
    report = {"issues": [{"code": "90001", "severity": "ERROR", "message": reason}]}
    accepted, rejected = mapping.feed_outcome(report, skus={1: "A", 2: "B"}, status="FATAL")
    assert accepted == ()
    assert rejected == (("A", f"90001: {reason}"), ("B", f"90001: {reason}"))


def test_feed_report_json_reads_gzipped_and_plain():
    content = json.dumps(recorded("feeds_processing_report.json")).encode()
    assert mapping.feed_report_json(gzip.compress(content), gzipped=True)["summary"]["errors"] == 1
    assert mapping.feed_report_json(content, gzipped=False)["header"]["feedId"] == "50012019061"
    with pytest.raises(ValueError):
        mapping.feed_report_json(b"<html>", gzipped=False)


# --- supply sources, tokens, LWA ------------------------------------------------------------------------


def test_supply_sources_list_and_detail_give_status_and_timezone():
    summaries, token = mapping.supply_sources_page(recorded("supplySources_getSupplySources_sandbox.json"))
    detail = recorded("supplySources_getSupplySource_sandbox.json")

    source = mapping.supply_source(detail, summaries[0])

    assert token.startswith("eyJzMl9zb3J0X2tleSI6")
    assert mapping.supply_source_id(summaries[0]) == "ed85fcf9-798c-4b63-a47e-8d4f0d273ddb"
    assert (source.code, source.alias, source.status, source.timezone) == (
        "test-gw-435dgh2o39", "test-gw-ssss", "Inactive", "Africa/Accra")
    assert source.is_active is False


def test_restricted_data_token_is_read_bare_or_wrapped():
    token = "Atz.sprdt|IQEBLjAsAhRmHjNgHpi0U-Dme37rR6CuUpSR"
    assert mapping.restricted_data_token(recorded("tokens_createRestrictedDataToken_sandbox.json")) == token
    assert mapping.restricted_data_token({"payload": {"restrictedDataToken": "x", "expiresIn": 3600}}) == "x"
    with pytest.raises(ValueError):
        mapping.restricted_data_token({})


def test_lwa_token_becomes_a_grant_that_keeps_the_refresh_token():
    now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    tokens = mapping.lwa_tokens(recorded("lwa_token.json"))
    refreshed = mapping.lwa_tokens({"access_token": "Atza|new", "token_type": "bearer", "expires_in": 3600})

    assert tokens.refresh_token == "Atzr|IQEBLzAtAhexamplewVz2Nn6f2y-tpJX2DeX"
    grant = mapping.token_grant(refreshed, refresh_token="Atzr|held", now=now)
    assert (grant.access_token, grant.refresh_token) == ("Atza|new", "Atzr|held")
    assert grant.expires_at == dt.datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    error = {"error": "invalid_grant", "error_description": "bad code"}
    assert mapping.lwa_error(error) == ("invalid_grant", "bad code")


@pytest.mark.parametrize(("text", "expected"), [
    ("2019-05-07T15:42:57.058Z", dt.datetime(2019, 5, 7, 15, 42, 57, 58000, tzinfo=UTC)),
    ("2026-11-25T10:59:59+11:00", dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC)),
    ("2026-11-24T23:59:59", dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC)),
])
def test_dates_become_aware_utc(text, expected):
    parsed = mapping.parse_datetime(text)
    assert parsed == expected and parsed.tzinfo is UTC


def test_query_dates_are_utc_strings_and_naive_ones_are_refused():
    sydney = dt.timezone(dt.timedelta(hours=11))
    morning = dt.datetime(2026, 11, 25, 9, 0, 30, 999, tzinfo=sydney)
    assert mapping.format_datetime(morning) == "2026-11-24T22:00:30Z"
    with pytest.raises(ValueError):
        mapping.format_datetime(dt.datetime(2026, 11, 25, 9, 0))


# --- ORDER_CHANGE ---------------------------------------------------------------------------------------


def _order_change(items: list[dict[str, Any]]) -> str:
    return json.dumps({"NotificationType": "ORDER_CHANGE", "EventTime": "2026-12-01T10:00:00Z", "Payload": {
        "OrderChangeNotification": {"SellerId": "A1SELLER", "AmazonOrderId": "250-1234567-7654321",
                                    "OrderChangeType": "OrderStatusChange",
                                    "Summary": {"MarketplaceId": "A39IBJ37TRP1C6", "OrderStatus": "Unshipped",
                                                "OrderItems": items}}}})


def test_order_change_items_become_lines_only_when_every_item_is_complete():
    event = mapping.order_change_event(_order_change([
        {"OrderItemId": "111", "SellerSKU": "MUG", "Quantity": 2, "SupplySourceId": "s"},
        {"OrderItemId": "112", "SellerSKU": "CUP", "Quantity": 1}]))
    assert [(line.line_id, line.sku, line.quantity) for line in event.lines] == [("111", "MUG", 2), ("112", "CUP", 1)]
    assert mapping.order_change_event(_order_change([{"OrderItemId": "111", "Quantity": 2}])).lines == ()
    assert mapping.order_change_event(_order_change([{"OrderItemId": "1", "SellerSKU": "M", "Quantity": "2"}])).lines == ()


def test_pushed_lines_stand_in_for_items_only_for_an_unshipped_order_with_the_same_count():
    lines = mapping.order_change_event(_order_change([{"OrderItemId": "111", "SellerSKU": "MUG", "Quantity": 2}])).lines
    header = {"AmazonOrderId": "250-1234567-7654321", "OrderStatus": "Unshipped", "NumberOfItemsShipped": 0,
              "NumberOfItemsUnshipped": 2}
    assert mapping.v0_pushed_lines_match(header, lines)
    assert not mapping.v0_pushed_lines_match({**header, "NumberOfItemsUnshipped": 3}, lines)
    assert not mapping.v0_pushed_lines_match({**header, "OrderStatus": "PartiallyShipped"}, lines)
    assert not mapping.v0_pushed_lines_match({k: v for k, v in header.items() if k != "NumberOfItemsShipped"}, lines)
    assert not mapping.v0_pushed_lines_match(header, ())
    order = mapping.order_from_v0({**header, "PurchaseDate": "2026-12-01T09:59:00Z", "FulfillmentChannel": "MFN"},
                                  None, pushed_lines=lines)
    assert [(line.line_id, line.sku, line.quantity) for line in order.lines] == [("111", "MUG", 2)]
