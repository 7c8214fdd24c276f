"""getShopReceipts / getShopReceipt / createReceiptShipment / updateShopReceipt (reference §4, §5)."""

from __future__ import annotations

import json

import pytest
import requests

# §4.2, in the spec's order.
RECEIPT_FIELDS = """
    receipt_id receipt_type seller_user_id seller_email buyer_user_id buyer_email name first_line second_line
    city state zip status formatted_address country_iso payment_method payment_email message_from_seller
    message_from_buyer message_from_payment is_paid is_shipped create_timestamp created_timestamp
    update_timestamp updated_timestamp is_gift gift_message gift_sender grandtotal subtotal total_price
    total_shipping_cost total_tax_cost total_vat_cost discount_amt gift_wrap_price shipments transactions
    refunds
""".split()
TRANSACTION_FIELDS = """
    transaction_id title description seller_user_id buyer_user_id create_timestamp created_timestamp
    paid_timestamp shipped_timestamp quantity listing_image_id receipt_id is_digital file_data listing_id
    transaction_type product_id sku price shipping_cost variations product_data shipping_profile_id
    min_processing_days max_processing_days shipping_method shipping_upgrade expected_ship_date buyer_coupon
    shop_coupon
""".split()
MONEY_FIELDS = """
    grandtotal subtotal total_price total_shipping_cost total_tax_cost total_vat_cost discount_amt
    gift_wrap_price
""".split()
USPS_TRACKING = "9400111899223344556677"
T0 = 1767225600          # 2026-01-01T00:00:00Z


@pytest.fixture
def shop(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop(shop_name="TeeShop")
    shop["token"] = grant["access_token"]
    return shop


def receipts(etsy_sandbox, shop, **params) -> requests.Response:
    return requests.get(f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/receipts", params=params,
                        headers=etsy_sandbox.headers(shop["token"]), timeout=10)


def tracking_url(etsy_sandbox, shop, receipt) -> str:
    return f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/receipts/{receipt['receipt_id']}/tracking"


def ship(etsy_sandbox, shop, receipt, **body) -> requests.Response:
    return requests.post(tracking_url(etsy_sandbox, shop, receipt),
                         headers=etsy_sandbox.headers(shop["token"]), timeout=10, **body)


def test_receipt_carries_every_shop_receipt_field_with_money_and_epochs(etsy_sandbox, shop):
    listing = etsy_sandbox.create_listing(shop["shop_id"], title="Tee", products=[
        {"sku": "TEE-BLUE", "quantity": 5, "price": 12.99,
         "property_values": [{"property_id": 200, "property_name": "Primary color", "values": ["Blue"]}]},
        {"sku": "TEE-RED", "quantity": 5, "price": 12.99,
         "property_values": [{"property_id": 200, "property_name": "Primary color", "values": ["Red"]}]}])
    created = etsy_sandbox.create_receipt(shop["shop_id"], created_timestamp=T0, shipping_cost=6,
                                          transactions=[{"sku": "TEE-RED", "quantity": 2}])

    fetched = requests.get(f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/receipts/{created['receipt_id']}",
                           headers=etsy_sandbox.headers(shop["token"]), timeout=10).json()

    assert fetched == created
    assert list(fetched) == RECEIPT_FIELDS
    assert list(fetched["transactions"][0]) == TRANSACTION_FIELDS
    for name in MONEY_FIELDS:
        assert set(fetched[name]) == {"amount", "divisor", "currency_code"}
    assert fetched["total_price"] == {"amount": 2598, "divisor": 100, "currency_code": "USD"}
    assert fetched["grandtotal"]["amount"] == 2598 + 600
    assert fetched["status"] == "paid" and fetched["is_paid"] and not fetched["is_shipped"]
    assert fetched["created_timestamp"] == fetched["create_timestamp"] == T0
    assert fetched["buyer_email"] is None and isinstance(fetched["zip"], str)
    line = fetched["transactions"][0]
    red = listing["inventory"]["products"][1]
    assert (line["listing_id"], line["product_id"]) == (listing["listing_id"], red["product_id"])
    assert line["sku"] == "TEE-RED"
    assert line["variations"] == [{"property_id": 200, "value_id": red["property_values"][0]["value_ids"][0],
                                   "formatted_name": "Primary color", "formatted_value": "Red"}]
    assert line["expected_ship_date"] > T0 and line["shipped_timestamp"] is None
    assert fetched["formatted_address"].startswith(fetched["name"] + "\n")


def test_filters_select_by_state(etsy_sandbox, shop):
    sid = shop["shop_id"]
    paid = etsy_sandbox.create_receipt(sid)
    completed = etsy_sandbox.create_receipt(sid, status="completed")
    canceled = etsy_sandbox.create_receipt(sid, status="canceled")
    unpaid = etsy_sandbox.create_receipt(sid, status="payment processing")

    def ids(**params) -> set[int]:
        body = receipts(etsy_sandbox, shop, **params).json()
        assert body["count"] == len(body["results"])
        return {r["receipt_id"] for r in body["results"]}

    assert ids(was_paid="true", was_shipped="false", was_canceled="false") == {paid["receipt_id"]}
    assert ids(was_shipped=1) == {completed["receipt_id"]}
    assert ids(was_canceled="true") == {canceled["receipt_id"]}
    assert ids(was_paid=0) == {unpaid["receipt_id"]}
    assert ids() == {r["receipt_id"] for r in (paid, completed, canceled, unpaid)}


def test_time_windows_on_created_and_last_modified(etsy_sandbox, shop):
    sid = shop["shop_id"]
    old = etsy_sandbox.create_receipt(sid, created_timestamp=T0)
    new = etsy_sandbox.create_receipt(sid, created_timestamp=T0 + 3600)
    etsy_sandbox.update_receipt(sid, old["receipt_id"], updated_timestamp=T0 + 7200, message_from_buyer="hi")

    def ids(**params) -> list[int]:
        return [r["receipt_id"] for r in receipts(etsy_sandbox, shop, **params).json()["results"]]

    assert ids(min_created=T0 + 1) == [new["receipt_id"]]
    assert ids(max_created=T0) == [old["receipt_id"]]
    assert ids(min_last_modified=T0 + 7000) == [old["receipt_id"]]
    assert ids(max_last_modified=T0 + 3600) == [new["receipt_id"]]


def test_paging_over_250_receipts_returns_each_once(etsy_sandbox, shop):
    made = etsy_sandbox.create_receipts(shop["shop_id"], 250, created_timestamp=T0 + 10_000)
    seen: list[int] = []
    offset = 0
    while True:
        body = receipts(etsy_sandbox, shop, limit=100, offset=offset).json()
        assert body["count"] == 250
        seen += [r["receipt_id"] for r in body["results"]]
        offset += len(body["results"])
        if offset >= body["count"] or not body["results"]:
            break
    assert len(seen) == len(set(seen)) == 250
    assert seen[0] == made[-1]["receipt_id"]                     # default: newest first
    default_page = receipts(etsy_sandbox, shop).json()["results"]
    assert len(default_page) == 25
    oldest_first = receipts(etsy_sandbox, shop, sort_on="created", sort_order="asc", limit=3).json()
    oldest_first = oldest_first["results"]
    assert [r["receipt_id"] for r in oldest_first] == [r["receipt_id"] for r in made[:3]]


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 101}, {"offset": 12001}, {"offset": -1}, {"min_created": 946684799},
    {"was_paid": "yes"}, {"sort_on": "price"}, {"sort_order": "sideways"},
])
def test_invalid_query_parameters_are_400(etsy_sandbox, shop, params):
    answer = receipts(etsy_sandbox, shop, **params)
    assert answer.status_code == 400
    assert set(answer.json()) == {"error"}


def test_offset_at_the_documented_maximum_is_allowed(etsy_sandbox, shop):
    answer = receipts(etsy_sandbox, shop, offset=12000)
    assert answer.status_code == 200 and answer.json()["results"] == []


def test_withheld_address_nulls_the_address_fields_but_keeps_the_name(etsy_sandbox, shop):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], withhold_address=True, name="Ada Lovelace")
    for name in ("first_line", "second_line", "city", "state", "zip", "country_iso", "formatted_address"):
        assert receipt[name] is None
    assert receipt["name"] == "Ada Lovelace"


def test_pickup_marker_gives_an_empty_address_and_local_pickup(etsy_sandbox, shop):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], is_pickup=True)
    assert receipt["first_line"] == receipt["city"] == receipt["zip"] == receipt["formatted_address"] == ""
    assert {t["shipping_method"] for t in receipt["transactions"]} == {"Local pickup"}


def test_shipment_posted_as_a_form_completes_the_receipt(etsy_sandbox, shop):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "A", "quantity": 1},
                                                                         {"sku": "B", "quantity": 2}])
    answer = ship(etsy_sandbox, shop, receipt, data={"tracking_code": USPS_TRACKING, "carrier_name": "usps",
                                                     "send_bcc": "false", "note_to_buyer": "Thanks!"})

    assert answer.status_code == 200
    shipped = answer.json()
    assert list(shipped) == RECEIPT_FIELDS                      # the whole receipt comes back
    assert shipped["status"] == "completed" and shipped["is_shipped"] is True
    assert [(s["carrier_name"], s["tracking_code"]) for s in shipped["shipments"]] == [
        ("usps", USPS_TRACKING)]
    assert all(t["shipped_timestamp"] and t["expected_ship_date"] is None for t in shipped["transactions"])
    assert shipped["updated_timestamp"] >= receipt["updated_timestamp"]
    stored = etsy_sandbox.state(shop["shop_id"])["shipments"]
    assert stored[0]["note_to_buyer"] == "Thanks!"
    assert stored[0]["content_type"] == "application/x-www-form-urlencoded"


def test_shipment_posted_as_json_completes_the_receipt(etsy_sandbox, shop):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"])
    answer = ship(etsy_sandbox, shop, receipt, json={"tracking_code": "1Z999AA10123456784",
                                                     "carrier_name": "ups", "send_bcc": True,
                                                     "ship_date": "2026-03-30T10:00:00Z"})
    assert answer.status_code == 200
    assert answer.json()["shipments"][0]["tracking_code"] == "1Z999AA10123456784"
    stored = etsy_sandbox.state(shop["shop_id"])["shipments"][0]
    assert stored["send_bcc"] is True and stored["details"] == {"ship_date": "2026-03-30T10:00:00Z"}
    assert stored["content_type"] == "application/json"


def test_json_body_under_a_form_content_type_ships_without_tracking(etsy_sandbox, shop):
    # Etsy issue #201: the receipt was marked shipped, the tracking code was lost.
    receipt = etsy_sandbox.create_receipt(shop["shop_id"])
    headers = {**etsy_sandbox.headers(shop["token"]), "Content-Type": "application/x-www-form-urlencoded"}
    answer = requests.post(tracking_url(etsy_sandbox, shop, receipt), headers=headers, timeout=10,
                           data=json.dumps({"tracking_code": USPS_TRACKING, "carrier_name": "usps"}))
    assert answer.status_code == 200
    assert answer.json()["is_shipped"] is True and answer.json()["status"] == "completed"
    assert answer.json()["shipments"] == []
    assert etsy_sandbox.state(shop["shop_id"])["shipments"] == []


def test_a_second_package_adds_a_second_shipment(etsy_sandbox, shop):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"])
    for code in ("PKG1", "PKG2"):
        answer = ship(etsy_sandbox, shop, receipt, data={"tracking_code": code, "carrier_name": "dhl"})
        assert answer.status_code == 200
    assert [s["tracking_code"] for s in answer.json()["shipments"]] == ["PKG1", "PKG2"]


def test_tracking_code_without_carrier_is_400(etsy_sandbox, shop):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"])
    answer = ship(etsy_sandbox, shop, receipt, data={"tracking_code": "PKG1"})
    assert answer.status_code == 400 and "carrier_name" in answer.json()["error"]
    assert etsy_sandbox.state(shop["shop_id"])["receipts"][0]["is_shipped"] is False


@pytest.mark.parametrize("status", ["canceled", "open", "payment processing"])
def test_canceled_or_unpaid_receipt_cannot_be_shipped(etsy_sandbox, shop, status):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"])
    etsy_sandbox.update_receipt(shop["shop_id"], receipt["receipt_id"], status=status)
    answer = ship(etsy_sandbox, shop, receipt, data={"tracking_code": "X1", "carrier_name": "usps"})
    assert answer.status_code == 409
    assert set(answer.json()) == {"error"}
    assert etsy_sandbox.state(shop["shop_id"])["shipments"] == []


def test_cancellation_through_the_control_api_is_consistent(etsy_sandbox, shop):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], created_timestamp=T0)
    canceled = etsy_sandbox.update_receipt(shop["shop_id"], receipt["receipt_id"], status="canceled")
    assert canceled["status"] == "canceled" and canceled["is_shipped"] is False
    assert canceled["updated_timestamp"] > receipt["updated_timestamp"]
    listed = receipts(etsy_sandbox, shop, was_canceled="true").json()["results"]
    assert [r["receipt_id"] for r in listed] == [receipt["receipt_id"]]


def test_static_receipt_change_can_leave_update_timestamp_alone(etsy_sandbox, shop):
    # Etsy issue #232: a new ship-by date did not move update_timestamp.
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], created_timestamp=T0)
    changed = etsy_sandbox.update_receipt(shop["shop_id"], receipt["receipt_id"],
                                          expected_ship_date=T0 + 5 * 86400, bump_updated=False)
    assert changed["updated_timestamp"] == T0
    assert changed["transactions"][0]["expected_ship_date"] == T0 + 5 * 86400


def test_update_shop_receipt_marks_shipped_without_tracking(etsy_sandbox, shop):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"])
    answer = requests.put(f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/receipts/{receipt['receipt_id']}",
                          data={"was_shipped": "true"}, headers=etsy_sandbox.headers(shop["token"]),
                          timeout=10)
    assert answer.status_code == 200
    assert answer.json()["is_shipped"] is True and answer.json()["status"] == "completed"
    assert answer.json()["shipments"] == []


def test_restricted_shop_refuses_shipments(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop(shipment_api_restricted=True)
    shop["token"] = grant["access_token"]
    receipt = etsy_sandbox.create_receipt(shop["shop_id"])
    answer = ship(etsy_sandbox, shop, receipt, data={"tracking_code": "X1", "carrier_name": "usps"})
    assert answer.status_code == 403
    assert etsy_sandbox.state(shop["shop_id"])["receipts"][0]["is_shipped"] is False


def test_control_api_rejects_unknown_receipt_fields(etsy_sandbox, shop):
    answer = requests.post(f"{etsy_sandbox.url}/_sandbox/shops/{shop['shop_id']}/receipts",
                           json={"stauts": "paid"}, timeout=10)
    assert answer.status_code == 400 and "stauts" in answer.json()["error"]
