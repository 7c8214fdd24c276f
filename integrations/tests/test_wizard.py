"""The setup wizard through Django's test client, with the OAuth round trip through the sandboxes'
real consent pages over HTTP (issues 4 and 5)."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.db import connection
from django.test import Client
from django.utils import timezone

from integrations.models import ConnectionLogEntry, Integration, OAuthState, SupplySourceMapping
from tests.factories import CustomerFactory, TenantFactory, UserFactory
from warehouse.models import OutboundOrder

from .conftest import AU

US = "ATVPDKIKX0DER"

AMAZON_CALLBACK = "http://testserver/integrations/amazon/callback/"
ETSY_CALLBACK = "http://testserver/integrations/etsy/callback/"


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = "http://testserver"


@pytest.fixture
def amazon_app(amazon, amazon_sandbox):
    amazon_sandbox.set_redirect_uris(AMAZON_CALLBACK)
    return amazon


def amazon_consent(consent_url: str, *, seller_id: str, decision: str = "confirm") -> str:
    """Answer Seller Central's consent page as a person would; returns where it sends the browser."""
    page = requests.get(consent_url, timeout=10)
    assert page.status_code == 200, page.text
    fields = {unescape(n): unescape(v) for n, v in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    base = f"{urlsplit(consent_url).scheme}://{urlsplit(consent_url).netloc}"
    answer = requests.post(f"{base}/apps/authorize/consent", allow_redirects=False, timeout=10,
                           data={**fields, "decision": decision, "selling_partner_id": seller_id})
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def start_amazon_wizard(client, customer, name="Amazon AU"):
    response = client.post("/integrations/new/", {"customer": customer.id, "marketplace": "amazon", "name": name})
    integration = Integration.objects.filter(customer=customer, marketplace="amazon").latest("id")
    assert response.status_code == 302 and response["Location"] == f"/integrations/{integration.id}/setup/2/"
    return integration


def connect_amazon(client, integration, seller_id, decision="confirm", marketplace_id=AU):
    response = client.post(f"/integrations/{integration.id}/connect/", {"marketplace_id": marketplace_id})
    assert response.status_code == 302
    consent_url = response["Location"]
    return consent_url, amazon_consent(consent_url, seller_id=seller_id, decision=decision)


@pytest.mark.django_db(transaction=True)
def test_admin_connects_amazon_routes_supply_sources_and_activates(client, admin_user, customer, warehouse,
                                                                   second_warehouse, products, amazon_app,
                                                                   amazon_sandbox, eager_tasks):
    seller = amazon_sandbox.seed_seller(marketplace_ids=[AU])
    sp = seller["selling_partner_id"]
    la = amazon_sandbox.add_supply_source(sp, supplySourceCode="LA-1", alias="LA store", status="Active")
    amazon_sandbox.add_supply_source(sp, supplySourceCode="OLD", alias="Old shed", status="Inactive")
    order = amazon_sandbox.create_order(sp, MarketplaceId=AU, FulfillmentSupplySourceId=la["supplySourceId"],
                                        items=[{"SellerSKU": "MUG-01", "QuantityOrdered": 1}])
    client.force_login(admin_user)

    integration = start_amazon_wizard(client, customer)
    consent_url, callback = connect_amazon(client, integration, sp)
    query = parse_qs(urlsplit(consent_url).query)
    assert consent_url.startswith(amazon_sandbox.url + "/apps/authorize/consent")
    assert query["application_id"] == ["amzn1.sellerapps.app.sandbox"] and query["state"]
    assert callback.startswith(AMAZON_CALLBACK)

    response = client.get(local(callback))
    assert response.status_code == 302 and response["Location"] == f"/integrations/{integration.id}/setup/3/"
    integration.refresh_from_db()
    assert integration.account_id == sp and integration.marketplace_id == AU
    assert integration.refresh_token.startswith("Atzr|")     # exchanged from the one-time code
    with connection.cursor() as cursor:     # encrypted at rest
        cursor.execute("SELECT refresh_token FROM integrations_integration WHERE id = %s", [integration.id])
        stored = cursor.fetchone()[0]
    assert stored.startswith("gAAAA") and integration.refresh_token not in stored

    step3 = client.get(f"/integrations/{integration.id}/setup/3/").content.decode()
    assert "LA store" in step3 and "Old shed" in step3 and "inactive: not mappable" in step3
    old = SupplySourceMapping.objects.get(integration=integration, code="OLD")
    # No default warehouse and no supply source mapped: no order could come in, so nothing is saved.
    refused = client.post(f"/integrations/{integration.id}/setup/3/", {
        "default_warehouse": "", "match_by": "sku", "orders_api": "v0", f"source_{la['supplySourceId']}": ""})
    assert refused.status_code == 400 and "map at least one supply source" in refused.context["form"].errors[
        "default_warehouse"][0]
    integration.refresh_from_db()
    assert integration.wizard_step == 3 and integration.default_warehouse is None
    # Orders API 2026-01-01 names no supply source: a mapped one is no route, the default warehouse is.
    refused = client.post(f"/integrations/{integration.id}/setup/3/", {
        "default_warehouse": "", "match_by": "sku", "orders_api": "2026-01-01",
        f"source_{la['supplySourceId']}": second_warehouse.id})
    assert refused.status_code == 400 and "does not say which supply source" in refused.context["form"].errors[
        "default_warehouse"][0]
    integration.refresh_from_db()
    assert integration.orders_api == "v0" and not integration.supply_sources.filter(warehouse__isnull=False).exists()
    response = client.post(f"/integrations/{integration.id}/setup/3/", {
        "default_warehouse": warehouse.id, "match_by": "sku", "orders_api": "v0",
        f"source_{la['supplySourceId']}": second_warehouse.id, f"source_{old.supply_source_id}": warehouse.id,
        "ship_Standard": "Parcel Post"})
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.warehouse is None            # an inactive source cannot be mapped, whatever is posted
    assert SupplySourceMapping.objects.get(code="LA-1").warehouse == second_warehouse

    response = client.post(f"/integrations/{integration.id}/setup/4/", {
        "fulfilment_enabled": "on", "inventory_frequency_minutes": 60, "carrier_map": "AusPost = Australia Post"})
    # To the integration's page, which follows the first import closely (?watch=<when it was asked>).
    assert response.status_code == 302 and response["Location"].startswith(f"/integrations/{integration.id}/?watch=")
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ACTIVE and integration.fulfilment_enabled
    assert integration.carrier_map == {"AusPost": "Australia Post"}
    # Finishing queued the first import (run eagerly here): the sandbox order arrived in LA.
    outbound = OutboundOrder.objects.get(reference=order["AmazonOrderId"])
    assert outbound.warehouse == second_warehouse
    detail = client.get(f"/integrations/{integration.id}/").content.decode()
    assert "Active" in detail and order["AmazonOrderId"] in detail
    # Finish says how many open orders the first import found, and the page shows its progress.
    assert "Importing every open order of the last 30 days: 1 found so far." in unescape(detail)
    assert "First import after connecting" in detail and '<dd data-count="imported">1</dd>' in detail


@pytest.mark.django_db
def test_denied_consent_stores_nothing(client, admin_user, customer, amazon_app, amazon_sandbox):
    sp = amazon_sandbox.seed_seller()["selling_partner_id"]
    client.force_login(admin_user)
    integration = start_amazon_wizard(client, customer)
    _, callback = connect_amazon(client, integration, sp, decision="deny")
    response = client.get(local(callback))
    assert response.status_code == 400 and "not authorised" in response.content.decode()
    integration.refresh_from_db()
    assert not integration.is_connected and integration.refresh_token == ""


@pytest.mark.django_db
def test_forged_reused_stale_and_foreign_session_states_are_refused(client, admin_user, customer, amazon_app,
                                                                    amazon_sandbox):
    sp = amazon_sandbox.seed_seller()["selling_partner_id"]
    client.force_login(admin_user)
    integration = start_amazon_wizard(client, customer)

    forged = client.get(f"/integrations/amazon/callback/?state=forged&selling_partner_id={sp}&spapi_oauth_code=x")
    assert forged.status_code == 400 and "not recognised" in forged.content.decode()

    _, callback = connect_amazon(client, integration, sp)
    other_browser = Client()
    other_browser.force_login(admin_user)
    foreign = other_browser.get(local(callback))
    assert foreign.status_code == 400 and "another session" in foreign.content.decode()
    reused = client.get(local(callback))          # the state was burned by the first attempt
    assert reused.status_code == 400 and "already used" in reused.content.decode()

    _, callback = connect_amazon(client, integration, sp)
    OAuthState.objects.filter(used_at__isnull=True).update(created_at=timezone.now() - dt.timedelta(minutes=11))
    stale = client.get(local(callback))
    assert stale.status_code == 400 and "expired" in stale.content.decode()
    integration.refresh_from_db()
    assert not integration.is_connected

    _, callback = connect_amazon(client, integration, sp)
    assert client.get(local(callback)).status_code == 302
    integration.refresh_from_db()
    assert integration.is_connected
    # Connected: the marketplace can't be switched without disconnecting first.
    response = client.post(f"/integrations/{integration.id}/connect/", {"marketplace_id": "ATVPDKIKX0DER"})
    assert response.status_code == 302 and response["Location"].endswith("/setup/2/")
    page = client.get(response["Location"]).content.decode()
    assert "Disconnect it first" in page


@pytest.mark.django_db
def test_failed_code_exchange_shows_the_error(client, admin_user, customer, amazon_app, amazon_sandbox):
    sp = amazon_sandbox.seed_seller()["selling_partner_id"]
    client.force_login(admin_user)
    integration = start_amazon_wizard(client, customer)
    _, callback = connect_amazon(client, integration, sp)
    amazon_sandbox.set_faults(fail_next=1, error_statuses=[500], path_contains="/auth/o2/token")
    response = client.get(local(callback))
    assert response.status_code == 400 and "did not complete the connection" in response.content.decode()
    integration.refresh_from_db()
    assert not integration.is_connected


@pytest.mark.django_db
def test_customer_user_needs_the_self_manage_permission(client, tenant, customer, customer_user, amazon_app):
    client.force_login(customer_user)
    page = client.get("/integrations/").content.decode()
    assert "Ask them to allow self-managed integrations" in page
    denied = client.post("/integrations/new/", {"customer": customer.id, "marketplace": "amazon", "name": "x"})
    assert denied.status_code == 403 and not Integration.objects.exists()

    customer_user.may_self_manage_integrations = True
    customer_user.save()
    other = CustomerFactory(tenant=tenant)
    foreign = client.post("/integrations/new/", {"customer": other.id, "marketplace": "amazon", "name": "x"})
    assert foreign.status_code == 302 and not Integration.objects.exists()   # not a customer it may choose
    own = client.post("/integrations/new/", {"customer": customer.id, "marketplace": "amazon", "name": "Mine"})
    assert own.status_code == 302 and Integration.objects.get().customer == customer


@pytest.mark.django_db
def test_one_seller_connects_two_amazon_marketplaces_but_not_the_same_one_twice(client, admin_user, customer,
                                                                              amazon_app, amazon_sandbox):
    sp = amazon_sandbox.seed_seller(marketplace_ids=[AU, US])["selling_partner_id"]
    client.force_login(admin_user)
    au = start_amazon_wizard(client, customer, name="Amazon AU")
    _, callback = connect_amazon(client, au, sp, marketplace_id=AU)
    assert client.get(local(callback))["Location"] == f"/integrations/{au.id}/setup/3/"
    us = start_amazon_wizard(client, customer, name="Amazon US")
    _, callback = connect_amazon(client, us, sp, marketplace_id=US)
    assert client.get(local(callback))["Location"] == f"/integrations/{us.id}/setup/3/"
    au.refresh_from_db()
    us.refresh_from_db()
    assert (au.account_id, au.marketplace_id) == (sp, AU) and (us.account_id, us.marketplace_id) == (sp, US)

    again = start_amazon_wizard(client, customer, name="AU again")
    _, callback = connect_amazon(client, again, sp, marketplace_id=AU)
    page = client.get(local(callback), follow=True).content.decode()
    assert "already has a live Amazon integration for this account and marketplace" in unescape(page)
    again.refresh_from_db()
    assert not again.is_connected and again.account_id == ""      # nothing was saved
    assert Integration.objects.filter(account_id=sp).count() == 2


@pytest.mark.django_db(transaction=True)
def test_test_connection_turn_off_on_and_delete(client, admin_user, amazon_app, amazon_sandbox, amazon_integration,
                                                amazon_seller, eager_tasks):
    client.force_login(admin_user)
    url = f"/integrations/{amazon_integration.id}"
    ok = client.post(f"{url}/test/", follow=True).content.decode()
    assert amazon_seller["selling_partner_id"] in ok or "Connected" in ok

    amazon_sandbox.set_faults(error_rate=1.0, error_statuses=[503])
    failed = client.post(f"{url}/test/", follow=True).content.decode()
    assert "Connection test failed" in failed
    amazon_sandbox.set_faults()

    client.post(f"{url}/off/")
    amazon_integration.refresh_from_db()
    assert amazon_integration.status == Integration.Status.PAUSED
    order = amazon_sandbox.create_order(amazon_seller["selling_partner_id"], MarketplaceId=AU,
                                        items=[{"SellerSKU": "MUG-01", "QuantityOrdered": 1}])
    from integrations.tasks import orders_import_due

    orders_import_due.apply()
    assert not OutboundOrder.objects.exists()            # off: nothing syncs
    client.post(f"{url}/on/")                             # on again: what was placed meanwhile comes in
    assert OutboundOrder.objects.filter(reference=order["AmazonOrderId"]).exists()

    client.post(f"{url}/delete/")
    amazon_integration.refresh_from_db()
    assert amazon_integration.status == Integration.Status.DELETED and amazon_integration.refresh_token == ""
    assert OutboundOrder.objects.filter(reference=order["AmazonOrderId"]).exists()    # imported orders stay
    assert f'href="/integrations/{amazon_integration.id}/"' not in client.get("/integrations/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_import_missing_orders_by_number_from_the_page(client, admin_user, amazon_app, amazon_sandbox,
                                                       amazon_integration, amazon_seller, eager_tasks):
    sp = amazon_seller["selling_partner_id"]
    orders = [amazon_sandbox.create_order(sp, MarketplaceId=AU, items=[{"SellerSKU": "TEE-02", "QuantityOrdered": 1}])
              for _ in range(2)]
    client.force_login(admin_user)
    response = client.post(f"/integrations/{amazon_integration.id}/import/",
                           {"order_numbers": orders[0]["AmazonOrderId"]}, follow=True)
    assert "Importing 1 order" in response.content.decode()
    assert list(OutboundOrder.objects.values_list("reference", flat=True)) == [orders[0]["AmazonOrderId"]]
    too_many = client.post(f"/integrations/{amazon_integration.id}/import/",
                           {"order_numbers": ",".join(f"1-{n}" for n in range(51))}, follow=True)
    assert "At most 50 order numbers" in too_many.content.decode()


@pytest.mark.django_db
def test_connection_log_filters_by_level_and_hides_other_tenants(client, admin_user, amazon_integration):
    ConnectionLogEntry.objects.create(integration=amazon_integration, level="ERROR", event="x", message="SKU BAD-1 unknown")
    ConnectionLogEntry.objects.create(integration=amazon_integration, level="INFO", event="x", message="Imported fine")
    client.force_login(admin_user)
    page = client.get(f"/integrations/{amazon_integration.id}/?level=ERROR").content.decode()
    errors_only = page[page.index('<table class="log">'):]       # the log table (the sync panel shows the latest of all)
    assert "SKU BAD-1 unknown" in errors_only and "Imported fine" not in errors_only
    stranger = UserFactory(tenant=TenantFactory(), role="tenant_admin")
    client.force_login(stranger)
    assert client.get(f"/integrations/{amazon_integration.id}/").status_code == 404
    assert client.post(f"/integrations/{amazon_integration.id}/off/").status_code == 404
    assert f'href="/integrations/{amazon_integration.id}/"' not in client.get("/integrations/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_etsy_wizard_with_pkce(client, admin_user, customer, warehouse, products, etsy, etsy_sandbox, eager_tasks):
    etsy_sandbox.add_redirect_uri(ETSY_CALLBACK)
    shop = etsy_sandbox.create_shop(shop_name="KoalaMugsShop")
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], status="paid", transactions=[{"sku": "MUG-01", "quantity": 1}])
    client.force_login(admin_user)
    client.post("/integrations/new/", {"customer": customer.id, "marketplace": "etsy", "name": "Etsy"})
    integration = Integration.objects.get(marketplace="etsy")
    response = client.post(f"/integrations/{integration.id}/connect/")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [etsy_sandbox.keystring]
    assert "transactions_w" in query["scope"][0]
    callback = etsy_sandbox.consent(response["Location"], shop_id=shop["shop_id"])
    assert client.get(local(callback)).status_code == 302
    integration.refresh_from_db()
    assert integration.shop_id == str(shop["shop_id"]) and integration.shop_name == "KoalaMugsShop"
    assert integration.access_token and integration.refresh_token

    # Etsy receipts carry no supply source: without a default warehouse step 3 is refused on the field, and
    # nothing is saved (not even the shipping methods posted with it).
    step = integration.wizard_step
    refused = client.post(f"/integrations/{integration.id}/setup/3/", {"default_warehouse": "",
                                                                       "ship_Standard": "Parcel Post"})
    assert refused.status_code == 400
    assert refused.context["form"].errors["default_warehouse"] == [
        "Choose a default warehouse: no order can come in without one."]
    assert 'id="default-warehouse-error"' in refused.content.decode()
    integration.refresh_from_db()
    assert integration.default_warehouse is None and integration.wizard_step == step
    assert integration.shipping_method_map == {}

    client.post(f"/integrations/{integration.id}/setup/3/", {"default_warehouse": warehouse.id})
    client.post(f"/integrations/{integration.id}/setup/4/", {"fulfilment_enabled": "on", "inventory_frequency_minutes": 60})
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ACTIVE
    assert OutboundOrder.objects.get().reference == str(receipt["receipt_id"])


@pytest.mark.django_db
def test_etsy_denial_and_wrong_verifier_store_nothing(client, admin_user, customer, etsy, etsy_sandbox):
    etsy_sandbox.add_redirect_uri(ETSY_CALLBACK)
    etsy_sandbox.create_shop()
    client.force_login(admin_user)
    client.post("/integrations/new/", {"customer": customer.id, "marketplace": "etsy", "name": "Etsy"})
    integration = Integration.objects.get(marketplace="etsy")
    denied = etsy_sandbox.consent(client.post(f"/integrations/{integration.id}/connect/")["Location"], decision="deny")
    assert client.get(local(denied)).status_code == 400
    # A code from one attempt completed with another attempt's state: the PKCE verifier doesn't match.
    first = etsy_sandbox.consent(client.post(f"/integrations/{integration.id}/connect/")["Location"])
    second = etsy_sandbox.consent(client.post(f"/integrations/{integration.id}/connect/")["Location"])
    mixed = parse_qs(urlsplit(first).query)["code"][0]
    state = parse_qs(urlsplit(second).query)["state"][0]
    response = client.get(f"/integrations/etsy/callback/?code={mixed}&state={state}")
    assert response.status_code == 400 and "did not complete the connection" in response.content.decode()
    integration.refresh_from_db()
    assert not integration.is_connected


@pytest.mark.django_db
def test_admin_pages_never_show_tokens_and_stay_in_the_tenant(client, tenant, amazon_integration):
    staff = UserFactory(tenant=tenant, role="tenant_admin", is_staff=True)
    client.force_login(staff)
    page = client.get(f"/admin/integrations/integration/{amazon_integration.id}/change/").content.decode()
    assert amazon_integration.account_id in page and amazon_integration.refresh_token not in page
    assert "Atzr|" not in page
    stranger = UserFactory(tenant=TenantFactory(), role="tenant_admin", is_staff=True)
    client.force_login(stranger)
    assert amazon_integration.name not in client.get("/admin/integrations/integration/").content.decode()
    assert client.get(f"/admin/integrations/integration/{amazon_integration.id}/change/").status_code in (302, 404)


INTEGRATION_PAGES = [("get", "/integrations/{id}/"), ("get", "/integrations/{id}/setup/1/"),
                     ("get", "/integrations/{id}/setup/3/"), ("post", "/integrations/{id}/setup/4/"),
                     ("post", "/integrations/{id}/connect/"), ("post", "/integrations/{id}/import/"),
                     ("post", "/integrations/{id}/test/"), ("post", "/integrations/{id}/off/"),
                     ("post", "/integrations/{id}/delete/"), ("post", "/integrations/{id}/disconnect/"),
                     ("get", "/integrations/{id}/live/"), ("post", "/integrations/{id}/share/")]


@pytest.mark.django_db
@pytest.mark.parametrize("method,path", INTEGRATION_PAGES)
def test_every_integration_page_is_closed_to_other_tenants_and_customers(client, tenant, amazon_integration,
                                                                         method, path):
    url = path.format(id=amazon_integration.id)
    outsider = UserFactory(tenant=TenantFactory(), role="tenant_admin")
    other_customer_user = UserFactory(tenant=tenant, role="customer_user", customer=CustomerFactory(tenant=tenant),
                                      may_self_manage_integrations=True)
    for user in (outsider, other_customer_user):
        client.force_login(user)
        assert getattr(client, method)(url).status_code == 404
    amazon_integration.refresh_from_db()
    assert amazon_integration.status == Integration.Status.ACTIVE and amazon_integration.refresh_token


@pytest.mark.django_db
def test_integration_list_counts_recent_errors(client, admin_user, amazon_integration):
    for n in range(2):
        ConnectionLogEntry.objects.create(integration=amazon_integration, level="ERROR", event="x", message=f"e{n}")
    ConnectionLogEntry.objects.create(integration=amazon_integration, level="INFO", event="x", message="fine")
    client.force_login(admin_user)
    page = client.get("/integrations/").content.decode()
    assert f'href="/integrations/{amazon_integration.id}/?level=ERROR">2</a>' in page


@pytest.mark.django_db
def test_callback_refuses_a_customer_user_whose_permission_was_withdrawn(client, customer, customer_user,
                                                                         amazon_app, amazon_sandbox):
    """Permission is checked again in the callback: withdrawn after Connect was pressed, nothing is saved."""
    sp = amazon_sandbox.seed_seller()["selling_partner_id"]
    customer_user.may_self_manage_integrations = True
    customer_user.save()
    client.force_login(customer_user)
    integration = start_amazon_wizard(client, customer)
    _, callback = connect_amazon(client, integration, sp)
    customer_user.may_self_manage_integrations = False         # the admin withdraws it meanwhile
    customer_user.save()
    response = client.get(local(callback))
    assert response.status_code == 400
    assert "no longer set up integrations" in response.content.decode()
    integration.refresh_from_db()
    assert not integration.is_connected and integration.refresh_token == ""
