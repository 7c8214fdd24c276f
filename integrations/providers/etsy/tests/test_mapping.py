"""mapping.py as pure functions over recorded Etsy JSON (reference §4.3, §7.1)."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.providers.base import MarketplaceAddress, MarketplaceOrderLine, OrderState
from integrations.providers.etsy import mapping

from .recorded import inventory, receipt, transaction

UTC = dt.UTC


def test_paid_receipt_maps_to_a_ready_order_with_lines_address_and_utc_dates():
    order = mapping.receipt_to_order(receipt())

    assert order.order_id == "3456789012"
    assert order.state is OrderState.READY
    assert order.raw_status == "paid"
    assert order.purchased_at == dt.datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert order.updated_at == dt.datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    assert order.latest_ship_at == dt.datetime(2026, 1, 4, 0, 0, tzinfo=UTC)   # 1767484800
    assert order.lines == (
        MarketplaceOrderLine(line_id="4567890123", sku="MUG-BLUE-12", quantity=2, title="Ceramic Mug - Blue"),
    )
    assert order.address == MarketplaceAddress(
        name="Jane Doe", line1="123 Main St", line2="Apt 4", city="Brooklyn", state="NY", postcode="11201",
        country="US", email="buyer@example.com",
    )
    assert not order.address_withheld
    assert not order.is_pickup
    assert order.shipping_method == "Standard Shipping"
    assert order.service_level == "Standard"
    assert order.problems == ()


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("paid", OrderState.READY),
        ("completed", OrderState.SHIPPED),
        ("canceled", OrderState.CANCELLED),
        ("fully refunded", OrderState.CANCELLED),
        ("open", OrderState.PENDING),
        ("payment processing", OrderState.PENDING),
        ("Paid", OrderState.READY),
        ("something new", OrderState.OTHER),
    ],
)
def test_receipt_status_maps_to_order_state(status, state):
    order = mapping.receipt_to_order(receipt(status=status))

    assert order.state is state
    assert order.raw_status == status


def test_partially_refunded_receipt_is_held_for_a_person():
    order = mapping.receipt_to_order(receipt(status="partially refunded"))

    assert order.state is OrderState.READY
    assert len(order.problems) == 1
    assert "partially refunded" in order.problems[0]


@pytest.mark.parametrize("blank", [None, ""])
def test_withheld_address_is_flagged_and_not_invented(blank):
    fields = {k: blank for k in ("first_line", "second_line", "city", "state", "zip", "country_iso",
                                 "formatted_address")}
    order = mapping.receipt_to_order(receipt(**fields))

    assert order.address_withheld is True
    assert order.address is None
    assert order.state is OrderState.READY       # still an order; the service decides what to do


def test_address_with_a_first_line_is_not_withheld():
    order = mapping.receipt_to_order(receipt(second_line=None, state=""))

    assert order.address_withheld is False
    assert order.address is not None and order.address.line2 == "" and order.address.state == ""


def test_missing_buyer_email_gives_an_empty_email():
    order = mapping.receipt_to_order(receipt(buyer_email=None))

    assert order.address is not None and order.address.email == ""


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_sku_is_a_problem_naming_the_transaction_and_listing(blank):
    order = mapping.receipt_to_order(receipt(transactions=[transaction(sku=blank)]))

    assert order.lines[0].sku == ""
    assert len(order.problems) == 1
    problem = order.problems[0]
    assert "4567890123" in problem and "1234567890" in problem and "no SKU" in problem
    assert "Jane" not in problem and "Main St" not in problem   # a person reads it; no buyer data


def test_local_pickup_receipt_is_pickup_and_not_withheld():
    empty = {k: "" for k in ("first_line", "second_line", "city", "state", "zip", "country_iso")}
    order = mapping.receipt_to_order(
        receipt(transactions=[transaction(shipping_method="Local pickup")], **empty)
    )

    assert order.is_pickup is True
    assert order.address_withheld is False


def test_latest_ship_at_is_the_earliest_expected_ship_date():
    order = mapping.receipt_to_order(receipt(transactions=[
        transaction(transaction_id=1, expected_ship_date=1767571200),    # 2026-01-05
        transaction(transaction_id=2, expected_ship_date=1767398400),    # 2026-01-03
        transaction(transaction_id=3, expected_ship_date=None),
    ]))

    assert order.latest_ship_at == dt.datetime(2026, 1, 3, tzinfo=UTC)
    assert [line.line_id for line in order.lines] == ["1", "2", "3"]


def test_no_expected_ship_date_gives_none():
    order = mapping.receipt_to_order(receipt(transactions=[transaction(expected_ship_date=None)]))

    assert order.latest_ship_at is None


@pytest.mark.parametrize(
    ("upgrade", "level"),
    [
        ("Priority Mail Express", "Expedited"),
        ("Next Day Delivery", "NextDay"),
        ("2-Day Shipping", "SecondDay"),
    ],
)
def test_shipping_upgrade_sets_method_and_service_level(upgrade, level):
    order = mapping.receipt_to_order(receipt(transactions=[transaction(shipping_upgrade=upgrade)]))

    assert order.shipping_method == upgrade
    assert order.service_level == level


def test_shipped_transaction_counts_as_shipped_in_full():
    order = mapping.receipt_to_order(receipt(
        status="completed", is_shipped=True,
        transactions=[transaction(shipped_timestamp=1767312000, expected_ship_date=None)],
    ))

    assert order.state is OrderState.SHIPPED
    assert order.lines[0].quantity_shipped == 2


def test_digital_items_are_not_warehouse_lines():
    order = mapping.receipt_to_order(receipt(transactions=[
        transaction(transaction_id=1, sku="PDF-PATTERN", is_digital=True),
        transaction(transaction_id=2),
    ]))

    assert [line.line_id for line in order.lines] == ["2"]
    assert order.problems == ()


def test_receipt_of_only_digital_items_says_there_is_nothing_to_ship():
    order = mapping.receipt_to_order(receipt(transactions=[transaction(is_digital=True)]))

    assert order.lines == ()
    assert "only digital items" in order.problems[0]


def test_me_without_shop_has_empty_shop_id():
    assert mapping.me_from_json({"user_id": 12345678}) == mapping.EtsyMe(user_id="12345678", shop_id="")
    assert mapping.me_from_json({"user_id": 1, "shop_id": 2}) == mapping.EtsyMe(user_id="1", shop_id="2")


# --- inventory (reference §7.2) -------------------------------------------------------------------
def test_inventory_update_changes_only_the_matching_quantity_and_keeps_variations():
    update = mapping.inventory_update(inventory(), {"MUG-BLUE-12": 7, "NOT-HERE": 3})

    assert update.changed is True
    assert update.skus == frozenset({"MUG-BLUE-12"})
    # reference §7.2's PUT example, exactly.
    assert update.body == {
        "products": [
            {
                "sku": "MUG-BLUE-12",
                "property_values": [
                    {"property_id": 200, "property_name": "Primary color", "scale_id": None,
                     "value_ids": [1213], "values": ["Blue"]}
                ],
                "offerings": [
                    {"price": 12.99, "quantity": 7, "is_enabled": True, "readiness_state_id": 5566778899}
                ],
            },
            {
                "sku": "MUG-RED-12",
                "property_values": [
                    {"property_id": 200, "property_name": "Primary color", "scale_id": None,
                     "value_ids": [1214], "values": ["Red"]}
                ],
                "offerings": [
                    {"price": 12.99, "quantity": 4, "is_enabled": True, "readiness_state_id": 5566778899}
                ],
            },
        ],
        "price_on_property": [],
        "quantity_on_property": [200],
        "sku_on_property": [200],
        "readiness_state_on_property": [],
    }


def test_inventory_update_with_equal_quantities_is_unchanged():
    update = mapping.inventory_update(inventory(), {"MUG-BLUE-12": 10, "MUG-RED-12": 4})

    assert update.changed is False
    assert update.skus == frozenset({"MUG-BLUE-12", "MUG-RED-12"})


def test_inventory_update_tolerates_missing_readiness_state_and_drops_deleted_products():
    data = inventory()
    for product in data["products"]:
        del product["offerings"][0]["readiness_state_id"]
    data["products"][1]["is_deleted"] = True
    del data["readiness_state_on_property"]

    update = mapping.inventory_update(data, {"MUG-BLUE-12": 0})

    assert [p["sku"] for p in update.body["products"]] == ["MUG-BLUE-12"]
    assert update.body["products"][0]["offerings"] == [{"price": 12.99, "quantity": 0, "is_enabled": True}]
    assert "readiness_state_on_property" not in update.body


def test_money_becomes_the_float_the_put_takes():
    assert mapping.money_to_float({"amount": 1299, "divisor": 100, "currency_code": "USD"}) == 12.99
    assert mapping.money_to_float({"amount": 5, "divisor": 1000, "currency_code": "KWD"}) == 0.005
    assert mapping.money_to_float(9.5) == 9.5


def test_listing_skus_ignore_blanks():
    assert mapping.listing_skus({"listing_id": 1, "skus": ["A", "", None, " B "]}) == frozenset({"A", "B"})
    assert mapping.listing_skus({"listing_id": 1}) == frozenset()
