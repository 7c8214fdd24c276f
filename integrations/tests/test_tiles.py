"""The integrations page as marketplace tiles (issue 17): admins pick a customer, brands see their own."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from integrations.models import ConnectionLogEntry, Integration
from integrations.providers import registry
from tests.factories import CustomerFactory, TenantFactory, UserFactory


def _tile(html: str, key: str) -> str:
    match = re.search(rf'<section class="card tile"[^>]*data-marketplace="{key}">(.*?)</section>', html, re.S)
    assert match, f"no {key} tile"
    return match.group(1)


@pytest.fixture
def shop(tenant, customer):
    integration = Integration.objects.create(
        tenant=tenant, customer=customer, marketplace="etsy", name="Koala Etsy", status="active",
        account_id="77", shop_id="9", shop_name="KoalaCraft", refresh_token="x",
        last_import_at=timezone.now() - dt.timedelta(minutes=3))
    for n in range(2):
        ConnectionLogEntry.objects.create(integration=integration, level="ERROR", event="x", message=f"bad {n}")
    old = ConnectionLogEntry.objects.create(integration=integration, level="ERROR", event="x", message="old")
    ConnectionLogEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    return integration


@pytest.mark.django_db
def test_admin_picks_a_customer_and_sees_one_tile_per_marketplace(client, admin_user, customer, shop):
    client.force_login(admin_user)
    overview = client.get("/integrations/").content.decode()
    assert 'class="card tile"' not in overview and "Koala Etsy" in overview     # all customers, no tiles yet

    html = client.get(f"/integrations/?customer={customer.id}").content.decode()
    assert [m.key for m in registry.marketplaces()] == ["amazon", "etsy"]
    amazon, etsy = _tile(html, "amazon"), _tile(html, "etsy")
    assert "No Amazon integration yet." in amazon and "Configure" in amazon
    assert "Koala Etsy" in etsy and "KoalaCraft" in etsy and "Active" in etsy
    # Errors of the last 7 days only, linked to the filtered connection log.
    assert f'href="/integrations/{shop.id}/?level=ERROR#log">2</a>' in etsy
    assert timezone.localtime(shop.last_import_at).strftime("%d %b %Y %H:%M") in etsy
    assert 'name="etsy-name"' in etsy and "Configure" in etsy


@pytest.mark.django_db
def test_configure_on_a_tile_starts_the_wizard_for_that_customer_and_marketplace(client, admin_user, customer):
    client.force_login(admin_user)
    response = client.post("/integrations/new/", {"prefix": "amazon", "amazon-customer": customer.id,
                                                  "amazon-marketplace": "amazon", "amazon-name": "Mugs on Amazon"})
    integration = Integration.objects.get()
    assert (integration.customer, integration.marketplace, integration.name) == (customer, "amazon", "Mugs on Amazon")
    assert response.status_code == 302 and response["Location"] == f"/integrations/{integration.id}/setup/2/"


@pytest.mark.django_db
def test_a_third_marketplace_in_the_registry_gets_its_own_tile(client, admin_user, customer, monkeypatch):
    extra = registry.MarketplaceInfo("shopify", "Shopify", "Shopify store", "Orders in, tracking back.")
    monkeypatch.setattr(registry, "MARKETPLACES", (*registry.MARKETPLACES, extra))
    client.force_login(admin_user)
    html = client.get(f"/integrations/?customer={customer.id}").content.decode()
    assert "No Shopify integration yet." in _tile(html, "shopify")


@pytest.mark.django_db
def test_brand_sees_only_its_own_tiles_and_cannot_pick_another_customer(client, tenant, customer, customer_user, shop):
    sibling = CustomerFactory(tenant=tenant, name="Sibling Brand")
    theirs = Integration.objects.create(tenant=tenant, customer=sibling, marketplace="etsy", name="Sibling Etsy")
    client.force_login(customer_user)
    html = client.get("/integrations/").content.decode()
    assert "Koala Etsy" in _tile(html, "etsy") and "Sibling" not in html
    assert 'id="pick-customer"' not in html
    # Asking for the sibling changes nothing: a brand always sees its own customer.
    html = client.get(f"/integrations/?customer={sibling.id}").content.decode()
    assert "Sibling" not in html and f"/integrations/{theirs.id}/" not in html
    # Without the self-manage permission there is no Configure, and a note says why.
    assert 'name="etsy-name"' not in html and "Ask them to allow self-managed integrations" in html


@pytest.mark.django_db
def test_admin_cannot_open_tiles_of_another_tenants_customer(client, admin_user, customer, shop):
    stranger = CustomerFactory(tenant=TenantFactory())
    Integration.objects.create(tenant=stranger.tenant, customer=stranger, marketplace="amazon", name="Their Amazon")
    client.force_login(admin_user)
    for bad in (stranger.id, "abc", 999999):
        response = client.get(f"/integrations/?customer={bad}")
        assert response.status_code == 404 and "Their Amazon" not in response.content.decode()
    other_admin = UserFactory(tenant=stranger.tenant, role="tenant_admin")
    client.force_login(other_admin)
    assert client.get(f"/integrations/?customer={customer.id}").status_code == 404


@pytest.mark.django_db
def test_the_sync_panel_refreshes_on_its_own_with_status_last_import_and_latest_log(client, admin_user, shop,
                                                                                  settings):
    settings.LIVE_REFRESH_SECONDS = 7
    client.force_login(admin_user)
    page = client.get(f"/integrations/{shop.id}/").content.decode()
    assert f'hx-get="/integrations/{shop.id}/live/" hx-trigger="every 7s" hx-swap="outerHTML"' in page
    Integration.objects.filter(pk=shop.pk).update(status="error", last_import_at=timezone.now())
    ConnectionLogEntry.objects.create(integration=shop, level="ERROR", event="x", message="Etsy refused the token")
    panel = client.get(f"/integrations/{shop.id}/live/", HTTP_HX_REQUEST="true").content.decode()
    assert '<section class="card live" id="live"' in panel
    assert "Needs reconnecting" in panel and "Etsy refused the token" in panel
    # The heading's badge is swapped out of band.
    assert '<span class="badge error" id="integration-status" hx-swap-oob="true">Needs reconnecting</span>' in panel
    assert "<html" not in panel


@pytest.mark.django_db
def test_after_import_missing_orders_the_panel_polls_fast_until_that_run_has_ended(client, admin_user, shop,
                                                                                   settings):
    from integrations.models import ImportRun

    settings.LIVE_REFRESH_SECONDS = 9
    client.force_login(admin_user)
    response = client.post(f"/integrations/{shop.id}/import/", {"order_numbers": "3141592"})
    location = response["Location"]
    assert location.startswith(f"/integrations/{shop.id}/?watch=")
    watch = location.split("watch=")[1]
    live = f"/integrations/{shop.id}/live/?watch={watch}"
    # Queued, not started: poll every second and keep watching.
    assert f'hx-get="{live}" hx-trigger="every 1s"' in client.get(location).content.decode()
    run = ImportRun.objects.create(integration=shop, kind="missing_orders", state="running", found=1)
    running = client.get(live, HTTP_HX_REQUEST="true").content.decode()      # started: follow the run itself
    assert f'hx-get="/integrations/{shop.id}/live/" hx-trigger="every 1s"' in running
    ImportRun.objects.filter(pk=run.pk).update(state="finished", imported=1)
    done = client.get(live, HTTP_HX_REQUEST="true").content.decode()
    assert f'hx-get="/integrations/{shop.id}/live/" hx-trigger="every 9s"' in done
    assert '<dd data-count="imported">1</dd>' in done
    # A made-up watch value is ignored.
    assert 'hx-trigger="every 9s"' in client.get(f"/integrations/{shop.id}/live/?watch=soon").content.decode()
