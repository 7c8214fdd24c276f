"""The --seed-demo data: one shop with three listings and a few paid receipts.

The SKUs match the product's demo catalogue: DEMO-MUG-01, DEMO-TEE-02 (one SKU over three colour
variations, so a stock push must give every colour the same quantity) and DEMO-CAP-03.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .inventory import parse_inventory
from .receipts import build_receipt
from .state import DAY

if TYPE_CHECKING:
    from .app import EtsySandbox

DEMO_SHOP_NAME = "SandboxCraftCo"
COLOURS = ("Black", "White", "Heather Grey")


def _single(sku: str, price: float, quantity: int) -> dict[str, Any]:
    return {"products": [{"sku": sku, "property_values": [],
                          "offerings": [{"price": price, "quantity": quantity, "is_enabled": True}]}]}


def seed_demo_shop(app: EtsySandbox) -> None:
    store, now = app.store, app.now()
    shop = store.create_shop(now=now - 400 * DAY, shop_name=DEMO_SHOP_NAME, login_name="sandboxseller")

    def listing(title: str, body: dict[str, Any]) -> None:
        store.create_listing(shop, title=title, spec=parse_inventory(body, value_id_for=store.value_id_for),
                             now=now - 30 * DAY)

    listing("Stoneware Mug, 12 oz", _single("DEMO-MUG-01", 18.00, 25))
    tees = [{"sku": "DEMO-TEE-02",
             "property_values": [{"property_id": 200, "property_name": "Primary color", "value_ids": [],
                                  "values": [colour]}],
             "offerings": [{"price": 24.00, "quantity": 12, "is_enabled": True}]} for colour in COLOURS]
    listing("Organic Cotton Tee", {"products": tees, "price_on_property": [], "quantity_on_property": [],
                                   "sku_on_property": []})
    listing("Canvas Cap", _single("DEMO-CAP-03", 15.50, 40))

    orders: list[dict[str, Any]] = [
        {"created_timestamp": now - 2 * DAY, "transactions": [{"sku": "DEMO-MUG-01", "quantity": 2}]},
        {"created_timestamp": now - DAY, "message_from_buyer": "Gift, please no invoice in the box.",
         "transactions": [{"sku": "DEMO-TEE-02", "quantity": 1}, {"sku": "DEMO-CAP-03", "quantity": 1}]},
        {"created_timestamp": now - 3 * 3600, "transactions": [{"sku": "DEMO-CAP-03", "quantity": 3}]},
        {"created_timestamp": now - 5 * DAY, "status": "completed",
         "shipments": [{"carrier_name": "usps", "tracking_code": "9400111899223344556677"}],
         "transactions": [{"sku": "DEMO-MUG-01", "quantity": 1}]},
    ]
    for fields in orders:
        receipt = build_receipt(store, shop, fields, now=now)
        store.receipts[receipt.receipt_id] = receipt
