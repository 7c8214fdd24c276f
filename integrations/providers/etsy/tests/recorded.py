"""Recorded Etsy payloads, built from the examples in the reference (etsy-api.md §4.3, §5, §7.1).

Each test copies one with `receipt(...)` / `inventory()` and changes only what it is about.
"""

from __future__ import annotations

import copy
from typing import Any

# reference §4.3 (1767225600 = 2026-01-01T00:00:00Z), verbatim.
RECEIPT: dict[str, Any] = {
    "receipt_id": 3456789012,
    "receipt_type": 0,
    "seller_user_id": 12345678,
    "seller_email": "seller@example.com",
    "buyer_user_id": 87654321,
    "buyer_email": "buyer@example.com",
    "name": "Jane Doe",
    "first_line": "123 Main St",
    "second_line": "Apt 4",
    "city": "Brooklyn",
    "state": "NY",
    "zip": "11201",
    "status": "paid",
    "formatted_address": "Jane Doe\n123 Main St\nApt 4\nBrooklyn, NY 11201\nUnited States",
    "country_iso": "US",
    "payment_method": "cc",
    "payment_email": "",
    "message_from_seller": None,
    "message_from_buyer": "",
    "message_from_payment": None,
    "is_paid": True,
    "is_shipped": False,
    "create_timestamp": 1767225600,
    "created_timestamp": 1767225600,
    "update_timestamp": 1767225900,
    "updated_timestamp": 1767225900,
    "is_gift": False,
    "gift_message": "",
    "gift_sender": "",
    "grandtotal": {"amount": 3198, "divisor": 100, "currency_code": "USD"},
    "subtotal": {"amount": 2598, "divisor": 100, "currency_code": "USD"},
    "total_price": {"amount": 2598, "divisor": 100, "currency_code": "USD"},
    "total_shipping_cost": {"amount": 600, "divisor": 100, "currency_code": "USD"},
    "total_tax_cost": {"amount": 0, "divisor": 100, "currency_code": "USD"},
    "total_vat_cost": {"amount": 0, "divisor": 100, "currency_code": "USD"},
    "discount_amt": {"amount": 0, "divisor": 100, "currency_code": "USD"},
    "gift_wrap_price": {"amount": 0, "divisor": 100, "currency_code": "USD"},
    "shipments": [],
    "transactions": [
        {
            "transaction_id": 4567890123,
            "title": "Ceramic Mug - Blue",
            "description": "Hand-thrown stoneware mug, 12 oz.",
            "seller_user_id": 12345678,
            "buyer_user_id": 87654321,
            "create_timestamp": 1767225600,
            "created_timestamp": 1767225600,
            "paid_timestamp": 1767225620,
            "shipped_timestamp": None,
            "quantity": 2,
            "listing_image_id": 5678901234,
            "receipt_id": 3456789012,
            "is_digital": False,
            "file_data": "",
            "listing_id": 1234567890,
            "transaction_type": "listing",
            "product_id": 9876543210,
            "sku": "MUG-BLUE-12",
            "price": {"amount": 1299, "divisor": 100, "currency_code": "USD"},
            "shipping_cost": {"amount": 600, "divisor": 100, "currency_code": "USD"},
            "variations": [
                {"property_id": 200, "value_id": 1213, "formatted_name": "Primary color",
                 "formatted_value": "Blue"}
            ],
            "product_data": [
                {"property_id": 200, "property_name": "Primary color", "scale_id": None, "scale_name": None,
                 "value_ids": [1213], "values": ["Blue"]}
            ],
            "shipping_profile_id": 111222333,
            "min_processing_days": 1,
            "max_processing_days": 3,
            "shipping_method": "Standard Shipping",
            "shipping_upgrade": None,
            "expected_ship_date": 1767484800,
            "buyer_coupon": 0,
            "shop_coupon": 0,
        }
    ],
    "refunds": [],
}

# reference §7.1, verbatim.
INVENTORY: dict[str, Any] = {
    "products": [
        {
            "product_id": 9876543210,
            "sku": "MUG-BLUE-12",
            "is_deleted": False,
            "offerings": [
                {"offering_id": 1122334455, "quantity": 10, "is_enabled": True, "is_deleted": False,
                 "price": {"amount": 1299, "divisor": 100, "currency_code": "USD"},
                 "readiness_state_id": 5566778899}
            ],
            "property_values": [
                {"property_id": 200, "property_name": "Primary color", "scale_id": None, "scale_name": None,
                 "value_ids": [1213], "values": ["Blue"]}
            ],
        },
        {
            "product_id": 9876543211,
            "sku": "MUG-RED-12",
            "is_deleted": False,
            "offerings": [
                {"offering_id": 1122334456, "quantity": 4, "is_enabled": True, "is_deleted": False,
                 "price": {"amount": 1299, "divisor": 100, "currency_code": "USD"},
                 "readiness_state_id": 5566778899}
            ],
            "property_values": [
                {"property_id": 200, "property_name": "Primary color", "scale_id": None, "scale_name": None,
                 "value_ids": [1214], "values": ["Red"]}
            ],
        },
    ],
    "price_on_property": [],
    "quantity_on_property": [200],
    "sku_on_property": [200],
    "readiness_state_on_property": [],
    "listing": None,
}


def receipt(**fields: Any) -> dict[str, Any]:
    data = copy.deepcopy(RECEIPT)
    data.update(fields)
    return data


def transaction(**fields: Any) -> dict[str, Any]:
    data = copy.deepcopy(RECEIPT["transactions"][0])
    data.update(fields)
    return data


def inventory() -> dict[str, Any]:
    return copy.deepcopy(INVENTORY)
