"""What a warehouse admin sees in Chromium: the buyer on the order page, then, after the purge, the
notice in its place, with the city and postcode still there for the paperwork."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pii.services import pii_purge_tenant
from tests.browser import log_in

from .conftest import BUYER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_order_page_shows_personal_data_removed_after_the_purge(page, live_server, orders, tenant, admin_user,
                                                                     now):
    order = orders.dispatched(days=31)
    log_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/orders/{order.id}/")
    deliver_to = page.locator("section", has=page.get_by_role("heading", name="Deliver to"))
    expect(deliver_to).to_contain_text(BUYER["contact_name"])
    expect(deliver_to).to_contain_text(BUYER["street_address"])

    pii_purge_tenant(tenant=tenant, now=now)
    page.reload()

    expect(deliver_to.locator("#personal-data-removed")).to_have_text(
        f"Personal data removed on {now.day} {now:%b %Y}")
    for value in ("contact_name", "company_name", "street_address", "telephone", "email"):
        expect(deliver_to).not_to_contain_text(BUYER[value])
    expect(deliver_to).to_contain_text("Newtown")
    expect(deliver_to).to_contain_text("2042")
