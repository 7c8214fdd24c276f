"""The wizard in headless Chromium against the live server and the sandboxes' consent pages: a customer
user with the self-manage permission connects Amazon, an admin connects Etsy (issues 4 and 5)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from integrations.models import Integration
from tests.browser import log_in
from warehouse.models import OutboundOrder

from .conftest import AU

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_user_connects_amazon_in_the_browser(page, live_server, settings, customer_user, customer, warehouse,
                                                      products, amazon, amazon_sandbox, eager_tasks):
    settings.PUBLIC_BASE_URL = live_server.url
    amazon_sandbox.set_redirect_uris(f"{live_server.url}/integrations/amazon/callback/")
    seller = amazon_sandbox.seed_seller(name="Koala Mugs AU", marketplace_ids=[AU])
    sp = seller["selling_partner_id"]
    amazon_sandbox.add_supply_source(sp, supplySourceCode="SYD-1", alias="Sydney shed", status="Active")
    amazon_sandbox.add_supply_source(sp, supplySourceCode="OLD-1", alias="Closed shed", status="Inactive")
    order = amazon_sandbox.create_order(sp, MarketplaceId=AU, items=[{"SellerSKU": "MUG-01", "QuantityOrdered": 1}])
    customer_user.may_self_manage_integrations = True
    customer_user.save()

    log_in(page, live_server, customer_user)
    page.get_by_role("link", name="Integrations").click()
    tile = page.get_by_role("region", name="Amazon")       # the brand sees its own tiles, no customer picker
    expect(page.get_by_label("Customer")).to_have_count(0)
    tile.get_by_label("Name of a new Amazon integration").fill("Koala Mugs on Amazon AU")
    tile.get_by_role("button", name="Configure").click()

    page.get_by_label("Marketplace").select_option(AU)
    page.locator("#connect").click()
    page.wait_for_url(f"{amazon_sandbox.url}/apps/authorize/consent*")      # Seller Central's consent page
    page.get_by_label("Koala Mugs AU").check()
    page.locator("#confirm").click()

    page.wait_for_url("**/setup/3/")
    expect(page.locator(".msg.success")).to_contain_text(sp)
    expect(page.get_by_text("inactive: not mappable")).to_be_visible()
    page.get_by_label("Default warehouse").select_option(str(warehouse.id))
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url("**/setup/4/")
    expect(page.get_by_label("Send tracking to the marketplace when an order is dispatched")).to_be_checked()
    page.locator("#finish").click()

    expect(page.locator("#integration-status")).to_have_text("Active")
    integration = Integration.objects.get(customer=customer)
    assert integration.status == "active" and integration.account_id == sp
    page.get_by_role("link", name="Outbound orders").click()
    expect(page.get_by_role("link", name=order["AmazonOrderId"])).to_be_visible()
    assert OutboundOrder.objects.get(reference=order["AmazonOrderId"]).customer == customer


def test_admin_connects_etsy_in_the_browser(page, live_server, settings, admin_user, customer, warehouse, products,
                                            etsy, etsy_sandbox, eager_tasks):
    settings.PUBLIC_BASE_URL = live_server.url
    etsy_sandbox.add_redirect_uri(f"{live_server.url}/integrations/etsy/callback/")
    shop = etsy_sandbox.create_shop(shop_name="KoalaCraft")
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], status="paid", transactions=[{"sku": "TEE-02", "quantity": 1}])

    log_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/integrations/")
    page.get_by_label("Customer").select_option(str(customer.id))
    page.get_by_role("button", name="Show").click()
    tile = page.get_by_role("region", name="Etsy")
    tile.get_by_label("Name of a new Etsy integration").fill("Etsy shop")
    tile.get_by_role("button", name="Configure").click()
    page.locator("#connect").click()
    page.wait_for_url(f"{etsy_sandbox.url}/oauth/connect*")
    page.locator("#allow").click()

    page.wait_for_url("**/setup/3/")
    expect(page.locator(".msg.success")).to_contain_text("KoalaCraft")
    page.get_by_role("button", name="Save and continue").click()          # no default warehouse chosen
    expect(page.locator("#default-warehouse-error")).to_have_text(
        "Choose a default warehouse: no order can come in without one.")
    assert page.url.endswith("/setup/3/")
    assert Integration.objects.get(shop_id=str(shop["shop_id"])).default_warehouse is None
    page.get_by_label("Default warehouse").select_option(str(warehouse.id))
    page.get_by_role("button", name="Save and continue").click()
    page.locator("#finish").click()
    expect(page.locator("#integration-status")).to_have_text("Active")
    page.get_by_role("link", name="Outbound orders").click()
    expect(page.get_by_role("link", name=str(receipt["receipt_id"]))).to_be_visible()
