"""Share setup link (issue 17): an admin e-mails a brand a single-use, expiring link (stored hashed) that
completes the marketplace Connect of one integration without a login, and nothing else. The e-mail goes
through a real local SMTP server."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from integrations.models import ConnectionLogEntry, Integration, OAuthState, SetupLink
from tests.factories import CustomerFactory, TenantFactory, UserFactory

ETSY_CALLBACK = "http://testserver/integrations/etsy/callback/"


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = "http://testserver"


@pytest.fixture
def etsy_setup(tenant, customer):
    return Integration.objects.create(tenant=tenant, customer=customer, marketplace="etsy", name="Etsy shop",
                                      wizard_step=2)


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def share(client, integration, email="owner@koala.example") -> str:
    response = client.post(f"/integrations/{integration.id}/share/", {"email": email}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def link_from(message) -> str:
    return re.search(r"http://testserver/integrations/link/[\w-]+/", message.get_body(("plain",)).get_content()).group(0)


@pytest.mark.django_db(transaction=True)
def test_brand_connects_etsy_through_the_emailed_link_without_logging_in(client, admin_user, etsy_setup, etsy,
                                                                         etsy_sandbox, smtp_server):
    etsy_sandbox.add_redirect_uri(ETSY_CALLBACK)
    shop = etsy_sandbox.create_shop(shop_name="KoalaCraft")
    client.force_login(admin_user)
    page = share(client, etsy_setup)
    assert "Setup link sent to owner@koala.example" in page

    [message] = smtp_server.wait_for(1)
    assert message["To"] == "owner@koala.example" and "connect your Etsy account" in message["Subject"]
    url = link_from(message)
    token = url.rstrip("/").rsplit("/", 1)[1]
    link = SetupLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(SetupLink.objects.values()))              # only the hash is stored
    assert dt.timedelta(days=6, hours=23) < link.expires_at - timezone.now() <= dt.timedelta(days=7)

    brand = Client()                                                        # no login at all
    landing = brand.get(_local(url))
    assert landing.status_code == 200 and "Connect your Etsy shop" in landing.content.decode()
    consent = brand.post(_local(url))
    assert consent.status_code == 302 and consent["Location"].startswith(etsy_sandbox.url)
    state = OAuthState.objects.get()
    assert state.user is None and state.setup_link == link
    done = brand.get(_local(etsy_sandbox.consent(consent["Location"], shop_id=shop["shop_id"])))
    assert done.status_code == 200 and "KoalaCraft is connected" in done.content.decode()

    etsy_setup.refresh_from_db()
    link.refresh_from_db()
    assert etsy_setup.is_connected and etsy_setup.shop_name == "KoalaCraft" and link.used_at is not None
    assert ConnectionLogEntry.objects.filter(integration=etsy_setup, event="setup_link.used").exists()
    # The admin sees that it was used.
    admin_view = client.get(f"/integrations/{etsy_setup.id}/setup/2/").content.decode()
    assert f'<span class="badge used">Used {timezone.localtime(link.used_at):%d %b %Y %H:%M}</span>' in admin_view
    # Used: the link refuses, and it opened nothing else for the brand.
    again = brand.get(_local(url))
    assert again.status_code == 410 and "already used" in again.content.decode()
    assert brand.get("/integrations/").status_code == 302                     # the login page
    assert brand.get(f"/integrations/{etsy_setup.id}/setup/3/").status_code == 302
    assert brand.get("/orders/").status_code == 302


@pytest.mark.django_db
def test_expired_revoked_and_made_up_links_are_refused(client, admin_user, etsy_setup, smtp_server):
    client.force_login(admin_user)
    share(client, etsy_setup, "a@koala.example")
    share(client, etsy_setup, "b@koala.example")
    expired_url, revoked_url = (link_from(m) for m in smtp_server.wait_for(2))
    expired, revoked = SetupLink.objects.get(email="a@koala.example"), SetupLink.objects.get(email="b@koala.example")
    SetupLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.post(f"/integrations/{etsy_setup.id}/links/{revoked.id}/revoke/", follow=True)
    assert "no longer works" in response.content.decode()

    brand = Client()
    for url, reason in ((expired_url, "has expired"), (revoked_url, "was revoked"),
                        ("http://testserver/integrations/link/not-a-real-token/", "not valid")):
        for method in (brand.get, brand.post):
            response = method(_local(url))
            assert response.status_code == 410 and reason in response.content.decode()
    assert not OAuthState.objects.exists()


@pytest.mark.django_db
def test_only_the_tenants_admins_share_and_revoke_and_only_unconnected_integrations(client, tenant, customer,
                                                                                    customer_user, admin_user,
                                                                                    etsy_setup, smtp_server):
    customer_user.may_self_manage_integrations = True
    customer_user.save()
    client.force_login(customer_user)
    assert client.post(f"/integrations/{etsy_setup.id}/share/", {"email": "x@koala.example"}).status_code == 403
    stranger = UserFactory(tenant=TenantFactory(), role="tenant_admin")
    client.force_login(stranger)
    assert client.post(f"/integrations/{etsy_setup.id}/share/", {"email": "x@koala.example"}).status_code == 404
    assert not SetupLink.objects.exists() and smtp_server.messages == []

    client.force_login(admin_user)
    assert "Enter the brand" in share(client, etsy_setup, "not an address")
    connected = Integration.objects.create(tenant=tenant, customer=CustomerFactory(tenant=tenant), marketplace="amazon",
                                           name="Done", account_id="A1", refresh_token="x")
    assert "already connected" in share(client, connected)
    assert not SetupLink.objects.exists()

    share(client, etsy_setup)
    link = SetupLink.objects.get()
    client.force_login(stranger)
    assert client.post(f"/integrations/{etsy_setup.id}/links/{link.id}/revoke/").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


@pytest.mark.django_db
def test_a_link_state_finished_in_another_browser_is_refused(client, admin_user, etsy_setup, etsy, smtp_server):
    client.force_login(admin_user)
    share(client, etsy_setup)
    url = link_from(smtp_server.wait_for(1)[0])
    Client().post(_local(url))
    state = OAuthState.objects.get()
    other_browser = Client()
    response = other_browser.get(f"/integrations/etsy/callback/?state={state.state}&code=whatever")
    assert response.status_code == 400 and "another browser" in response.content.decode()
    etsy_setup.refresh_from_db()
    assert not etsy_setup.is_connected and SetupLink.objects.get().used_at is None
