"""The connection log (issue 15): a level shows that level and above, an empty filtered result says so,
every marketplace call is a DEBUG line (operation, outcome, duration; never buyer data), and a long
value wraps instead of widening the page."""

from __future__ import annotations

import pytest

from integrations.models import ConnectionLogEntry
from integrations.services.orders import orders_import
from tests.browser import log_in
from tests.db import Commits

from .conftest import AU


def entry(integration, level, message):
    return ConnectionLogEntry.objects.create(integration=integration, level=level, event="x", message=message)


def shown(client, integration, level):
    """The filtered connection log only (the live sync panel above it shows the latest entries of any level)."""
    page = client.get(f"/integrations/{integration.id}/?level={level}").content.decode()
    return page.split('<h2 id="log">', 1)[1]


@pytest.mark.django_db
def test_a_level_shows_that_level_and_above(client, admin_user, amazon_integration):
    entry(amazon_integration, "ERROR", "an error line")
    entry(amazon_integration, "INFO", "an info line")
    entry(amazon_integration, "DEBUG", "a debug line")
    client.force_login(admin_user)
    errors = shown(client, amazon_integration, "ERROR")
    assert "an error line" in errors and "an info line" not in errors and "a debug line" not in errors
    info = shown(client, amazon_integration, "INFO")
    assert "an error line" in info and "an info line" in info and "a debug line" not in info
    everything = shown(client, amazon_integration, "DEBUG")
    assert all(text in everything for text in ("an error line", "an info line", "a debug line"))


@pytest.mark.django_db
def test_an_empty_filtered_log_says_no_entries_at_this_level(client, admin_user, amazon_integration):
    entry(amazon_integration, "DEBUG", "a debug line")
    client.force_login(admin_user)
    errors = shown(client, amazon_integration, "ERROR")
    assert "No entries at this level." in errors and "Nothing logged yet" not in errors
    ConnectionLogEntry.objects.all().delete()
    assert "Nothing logged yet." in shown(client, amazon_integration, "")


@pytest.mark.django_db(transaction=True)
def test_marketplace_calls_are_debug_lines_without_buyer_data(amazon, amazon_seller, amazon_integration):
    buyer = {"Name": "Zelda Quokkafield", "AddressLine1": "77 Wombat Crescent", "City": "Bendigo",
             "StateOrRegion": "VIC", "PostalCode": "3550", "CountryCode": "AU", "Phone": "+61 400 111 222"}
    order = amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders", {
        "MarketplaceId": AU, "ShippingAddress": buyer, "BuyerInfo": {"BuyerEmail": "zelda@example.com"},
        "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]})
    orders_import(integration=amazon_integration)
    calls = list(ConnectionLogEntry.objects.filter(event="api.call").values_list("level", "message"))
    assert calls and {level for level, _ in calls} == {"DEBUG"}
    messages = [m for _, m in calls]
    assert any(m.startswith("getOrders: HTTP 200 in ") and m.endswith(" ms.") for m in messages)
    assert any(m.startswith(f"getOrderItems {order['AmazonOrderId']}: HTTP 200") for m in messages)
    everything = " ".join(ConnectionLogEntry.objects.values_list("message", flat=True))
    for secret in ("Zelda", "Quokkafield", "Wombat", "400 111 222", "zelda@example.com"):
        assert secret not in everything


@pytest.mark.django_db(transaction=True)
def test_an_imports_calls_go_in_with_its_pages_not_a_commit_each(amazon, amazon_seller, amazon_integration):
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders",
                {"count": 250, "template": {"MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
    before = len([c for c in amazon.calls() if not c["path"].startswith("/auth/")])
    with Commits() as commits:
        result = orders_import(integration=amazon_integration)
    calls = len([c for c in amazon.calls() if not c["path"].startswith("/auth/")]) - before
    assert len(result.created) == 250 and calls > 250           # 3 list pages, an item call per order
    # Every call is in the log, once; they went in with the pages: a few commits, not one per call.
    assert ConnectionLogEntry.objects.filter(event="api.call").count() == calls
    assert commits.count <= result.run.pages + 6, commits.count


@pytest.mark.django_db(transaction=True)
def test_a_long_value_wraps_instead_of_widening_the_page(page, live_server, admin_user, amazon_integration):
    admin_user.set_password("pw-for-tests-1")
    admin_user.save()
    entry(amazon_integration, "ERROR", "SKU " + "X" * 980 + " is unknown")
    page.set_default_timeout(30_000)           # a shared, busy machine: assert layout, not speed
    log_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/integrations/{amazon_integration.id}/#log")
    cell = page.locator("table.log td.wrap").first
    box = cell.bounding_box()
    viewport = page.viewport_size
    assert box is not None and box["x"] + box["width"] <= viewport["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
