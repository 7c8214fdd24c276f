"""In Chromium, the operator's way through issue 17: an admin picks a customer, opens the Amazon tile, runs
the wizard against the Amazon sandbox, watches the import's progress bar reach the sandbox's order count
without reloading, and sees the orders in the integration's chart and on the dashboard."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integrations.models import ImportRun, Integration
from integrations.tasks import orders_import_task
from tests.browser import log_in
from warehouse.charts import day_label

from .conftest import AU

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORDERS = 3


def test_admin_tile_wizard_live_progress_and_charts(page, live_server, settings, admin_user, customer, warehouse,
                                                    products, amazon, amazon_sandbox):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.LIVE_REFRESH_SECONDS = 1
    amazon_sandbox.set_redirect_uris(f"{live_server.url}/integrations/amazon/callback/")
    seller = amazon_sandbox.seed_seller(name="Koala Mugs AU", marketplace_ids=[AU])
    sp = seller["selling_partner_id"]
    for _ in range(ORDERS):
        amazon_sandbox.create_order(sp, MarketplaceId=AU, items=[{"SellerSKU": "MUG-01", "QuantityOrdered": 1}])

    log_in(page, live_server, admin_user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    page.get_by_label("Customer").select_option(str(customer.id))
    page.get_by_role("button", name="Show").click()
    tile = page.get_by_role("region", name="Amazon")
    expect(tile).to_contain_text("No Amazon integration yet.")
    tile.get_by_label("Name of a new Amazon integration").fill("Koala Mugs on Amazon AU")
    tile.get_by_role("button", name="Configure").click()

    page.get_by_label("Marketplace").select_option(AU)
    page.locator("#connect").click()
    page.wait_for_url(f"{amazon_sandbox.url}/apps/authorize/consent*")
    page.get_by_label("Koala Mugs AU").check()
    page.locator("#confirm").click()
    page.wait_for_url("**/setup/3/")
    page.get_by_label("Default warehouse").select_option(str(warehouse.id))
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url("**/setup/4/")
    page.locator("#finish").click()

    # Finish queued the first import (the test's broker keeps it); the page waits for it by itself.
    expect(page.locator("#integration-status")).to_have_text("Active")
    integration = Integration.objects.get(customer=customer, marketplace="amazon")
    page.evaluate("window.stillTheSamePage = true")
    orders_import_task.apply(args=[integration.id])            # the worker's part, in this thread

    progress = page.locator("#import-progress")
    expect(progress.locator("[data-count=found]")).to_have_text(str(ORDERS), timeout=15_000)
    expect(progress.locator("[data-count=imported]")).to_have_text(str(ORDERS))
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    expect(progress).to_have_attribute("data-state", ImportRun.State.FINISHED)
    expect(page.locator("[data-live=last-import]")).not_to_have_text("never")
    assert page.evaluate("window.stillTheSamePage") is True

    # The chart (and its table for screen readers) shows the orders that came in today.
    page.reload()
    chart = page.locator(f"#chart-integration-{integration.id}-activity")
    expect(chart.locator("svg rect.series-0")).to_have_count(1)
    today = day_label(timezone.localdate())
    expect(chart.locator("table.chart-data tr", has_text=today).locator("td").first).to_have_text(str(ORDERS))
    page.get_by_role("link", name="Dashboard").click()
    per_source = page.locator("#chart-orders-per-source")
    expect(per_source.locator("table.chart-data thead")).to_contain_text("Amazon")
    expect(per_source.locator("table.chart-data tr", has_text=today).locator("td").first).to_have_text(str(ORDERS))
    expect(page.locator("#integration-health")).to_contain_text("Koala Mugs on Amazon AU")
