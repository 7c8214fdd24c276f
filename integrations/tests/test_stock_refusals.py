"""Stock (issue 15): refused SKUs are remembered, not resent every run and listed once; an Etsy listing
with no stock left is turned inactive and active again when stock returns; Export stock now sends
every level and shows what was accepted and refused."""

from __future__ import annotations

import pytest

from integrations.models import ConnectionLogEntry, Integration, InventoryRefusal
from integrations.services.inventory import inventory_push
from tests.factories import ProductFactory, StockLevelFactory
from warehouse.models import StockLevel

pytestmark = pytest.mark.django_db(transaction=True)


def patches_for(amazon, sku):
    return [c for c in amazon.calls("/listings/") if c["method"] == "PATCH" and c["path"].endswith(f"/{sku}")]


def test_a_refused_sku_is_remembered_not_resent_and_listed_once(amazon, amazon_seller, amazon_integration, customer,
                                                               warehouse, products, client, admin_user):
    sp = amazon_seller["selling_partner_id"]
    for code in products:
        amazon.post(f"sellers/{sp}/listings", {"sku": code, "quantity": 0})
    ghost = ProductFactory(customer=customer, code="GHOST-9")          # Amazon has no listing for it
    StockLevelFactory(product=ghost, warehouse=warehouse, on_hand=7)
    amazon_integration.inventory_warehouses.set([warehouse])

    first = inventory_push(integration=amazon_integration)
    assert [sku for sku, _ in first.rejected] == ["GHOST-9"]
    StockLevel.objects.filter(product=products["MUG-01"], warehouse=warehouse).update(on_hand=450)
    second = inventory_push(integration=amazon_integration)
    inventory_push(integration=amazon_integration)
    assert second.accepted == ("MUG-01",) and second.rejected == ()
    assert len(patches_for(amazon, "GHOST-9")) == 1                   # not sent again on every run
    errors = ConnectionLogEntry.objects.filter(integration=amazon_integration, level="ERROR")
    assert [e.message for e in errors if "GHOST-9" in e.message] and errors.count() == 1

    client.force_login(admin_user)
    page = client.get(f"/integrations/{amazon_integration.id}/").content.decode()
    assert page.count("<td>GHOST-9</td>") == 1

    # A new quantity is worth trying again; once the listing exists it is accepted and forgotten.
    amazon.post(f"sellers/{sp}/listings", {"sku": "GHOST-9", "quantity": 0})
    StockLevel.objects.filter(product=ghost, warehouse=warehouse).update(on_hand=8)
    assert inventory_push(integration=amazon_integration).accepted == ("GHOST-9",)
    assert not InventoryRefusal.objects.exists()


def test_etsy_listing_without_stock_is_turned_inactive_and_back(etsy, etsy_shop, etsy_integration, warehouse,
                                                                products):
    shop_id = etsy_shop["shop_id"]
    listing = etsy.post(f"shops/{shop_id}/listings", {"title": "Mug", "products": [
        {"sku": "MUG-01", "quantity": 40, "price": 12.99, "property_values": []}]})
    etsy_integration.inventory_warehouses.set([warehouse])
    StockLevel.objects.filter(product=products["MUG-01"], warehouse=warehouse).update(on_hand=0)

    inventory_push(integration=etsy_integration)
    state = {li["listing_id"]: li for li in etsy.get(f"shops/{shop_id}")["listings"]}[listing["listing_id"]]
    assert state["state"] == "inactive"               # Etsy shows nothing the warehouse does not have
    etsy_integration.refresh_from_db()
    assert etsy_integration.inactive_listings == [str(listing["listing_id"])]
    assert ConnectionLogEntry.objects.filter(event="inventory.listing_deactivated", level="INFO").count() == 1
    inventory_push(integration=etsy_integration)                      # nothing changed: nothing more done
    assert ConnectionLogEntry.objects.filter(event="inventory.listing_deactivated").count() == 1

    StockLevel.objects.filter(product=products["MUG-01"], warehouse=warehouse).update(on_hand=5)
    inventory_push(integration=etsy_integration)
    state = {li["listing_id"]: li for li in etsy.get(f"shops/{shop_id}")["listings"]}[listing["listing_id"]]
    assert state["state"] == "active"
    assert state["inventory"]["products"][0]["offerings"][0]["quantity"] == 5
    etsy_integration.refresh_from_db()
    assert etsy_integration.inactive_listings == []


def test_export_stock_now_sends_every_level_and_shows_accepted_and_refused(amazon, amazon_seller, amazon_integration,
                                                                          warehouse, products, client, admin_user,
                                                                          eager_tasks):
    sp = amazon_seller["selling_partner_id"]
    for code in ("MUG-01", "TEE-02"):
        amazon.post(f"sellers/{sp}/listings", {"sku": code, "quantity": 0})
    amazon_integration.inventory_enabled = True
    amazon_integration.save()
    amazon_integration.inventory_warehouses.set([warehouse])
    inventory_push(integration=amazon_integration)                   # everything sent once already
    before = len(patches_for(amazon, "MUG-01"))
    client.force_login(admin_user)
    response = client.post(f"/integrations/{amazon_integration.id}/export-stock/", follow=True)
    html = response.content.decode()
    assert len(patches_for(amazon, "MUG-01")) == before + 1          # sent again though unchanged
    assert "Last export: 2 SKU(s) accepted, 1 refused." in html
    assert "CAP-03" in html
    export = Integration.objects.get(pk=amazon_integration.pk).inventory_last_export
    assert sorted(export["accepted"]) == ["MUG-01", "TEE-02"] and [s for s, _ in export["refused"]] == ["CAP-03"]
