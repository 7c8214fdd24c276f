"""In Chromium: an admin shares a setup link; the brand opens it from the e-mail (read from a real local
SMTP server) and connects its Etsy shop through the sandbox's consent page without logging in; the used
link, and an expired one, are refused (issue 17)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integrations.models import Integration, SetupLink
from tests.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_brand_connects_etsy_from_the_emailed_link_and_the_link_then_refuses(
        browser, page, live_server, settings, admin_user, customer, warehouse, etsy, etsy_sandbox, smtp_server):
    settings.PUBLIC_BASE_URL = live_server.url
    etsy_sandbox.add_redirect_uri(f"{live_server.url}/integrations/etsy/callback/")
    shop = etsy_sandbox.create_shop(shop_name="KoalaCraft")
    integration = Integration.objects.create(tenant=customer.tenant, customer=customer, marketplace="etsy",
                                             name="Koala Etsy", wizard_step=2)

    log_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/integrations/{integration.id}/setup/2/")
    share = page.get_by_role("region", name=re.compile("Share a setup link"))
    share.get_by_label("Brand's e-mail address").fill("owner@koalacraft.example")
    share.get_by_role("button", name="Send setup link").click()
    expect(page.locator(".msg.success")).to_contain_text("Setup link sent to owner@koalacraft.example")
    expect(page.locator("table.setup-links")).to_contain_text("Open until")

    [message] = smtp_server.wait_for(1)
    url = re.search(r"http://\S+/integrations/link/[\w-]+/", smtp_server.body(message)).group(0)

    brand = browser.new_context(viewport={"width": 375, "height": 740})     # a phone, never logged in
    phone = brand.new_page()
    phone.set_default_timeout(15_000)
    try:
        phone.goto(url)
        expect(phone.get_by_role("heading", level=1)).to_have_text("Connect your Etsy shop")
        expect(phone.get_by_role("navigation", name="Main")).to_have_count(0)
        phone.get_by_role("button", name="Connect to Etsy").click()
        phone.wait_for_url(f"{etsy_sandbox.url}/oauth/connect*")
        phone.locator("#allow").click()
        expect(phone.locator("#connected")).to_contain_text("KoalaCraft is connected")

        integration.refresh_from_db()
        assert integration.is_connected and integration.shop_id == str(shop["shop_id"])
        phone.goto(url)                                              # single use
        expect(phone.locator("#refusal")).to_contain_text("already used")
        phone.goto(f"{live_server.url}/integrations/{integration.id}/setup/3/")
        expect(phone.get_by_label("Username")).to_be_visible()      # the link opened nothing else
    finally:
        brand.close()

    page.reload()
    expect(page.locator("table.setup-links")).to_contain_text("Used ")


def test_an_expired_link_is_refused(page, live_server, settings, admin_user, customer, smtp_server):
    from integrations.services.setup_links import setup_link_create

    settings.PUBLIC_BASE_URL = live_server.url
    integration = Integration.objects.create(tenant=customer.tenant, customer=customer, marketplace="etsy",
                                             name="Koala Etsy", wizard_step=2)
    link, token = setup_link_create(integration=integration, email="owner@koalacraft.example", user=admin_user)
    SetupLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = page.goto(f"{live_server.url}/integrations/link/{token}/", timeout=30_000)
    assert response.status == 410
    expect(page.locator("#refusal")).to_contain_text("has expired")
    expect(page.get_by_role("button", name="Connect to Etsy")).to_have_count(0)
