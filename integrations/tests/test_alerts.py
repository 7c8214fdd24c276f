"""E-mail alerts (issue 17), read from a real local SMTP server: reconnect needed, orders failing to import
for an hour, confirmations failing; at most one per integration and reason an hour; the tenant's own
recipients only; a link to the filtered connection log; no buyer data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integrations.models import AlertSent, ImportedOrder, Integration, PackageConfirmation, PendingImport
from integrations.services.alerts import alert_recipients_get, alert_recipients_set, alerts_due
from integrations.tasks import alerts_due_task
from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, TenantFactory, UserFactory, make_order
from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = "http://hub.example"


@pytest.fixture
def eager(settings):
    from config.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = old


def _integration(tenant, customer, **kw):
    defaults = {"marketplace": "amazon", "name": "Amazon AU", "status": "active", "account_id": "A1",
                "refresh_token": "x", "activated_at": timezone.now() - dt.timedelta(days=1),
                "last_import_at": timezone.now()}
    return Integration.objects.create(tenant=tenant, customer=customer, **{**defaults, **kw})


def test_each_reason_is_emailed_once_an_hour_with_a_link_to_the_filtered_log(tenant, customer, warehouse, eager,
                                                                              smtp_server):
    alert_recipients_set(tenant=tenant, text="ops@3pl.example\nboss@3pl.example")
    broken = _integration(tenant, customer, name="Broken", status="error",
                          status_message="Reconnect needed: the seller revoked the app")
    failing = _integration(tenant, customer, marketplace="etsy", name="Failing Etsy")
    pending = PendingImport.objects.create(integration=failing, marketplace_order_id="3141592",
                                           reason="SKU NOPE-1 is not a product of this customer.")
    PendingImport.objects.filter(pk=pending.pk).update(first_failed_at=timezone.now() - dt.timedelta(minutes=61))
    fine = _integration(tenant, CustomerFactory(tenant=tenant), marketplace="etsy", name="Fine", status="paused")
    PendingImport.objects.create(integration=fine, marketplace_order_id="1", reason="new")   # not an hour yet

    assert alerts_due_task.apply().get() == 2
    messages = smtp_server.wait_for(2)
    by_subject = {str(m["Subject"]).strip(): m for m in messages}
    assert set(by_subject) == {
        f"[{tenant.name}] Amazon · Broken ({customer.name}) needs reconnecting",
        f"[{tenant.name}] Etsy · Failing Etsy ({customer.name}): orders keep failing to import"}
    for message in messages:
        assert sorted(a.strip() for a in message["To"].split(",")) == ["boss@3pl.example", "ops@3pl.example"]
    reconnect = smtp_server.body(by_subject[f"[{tenant.name}] Amazon · Broken ({customer.name}) needs reconnecting"])
    assert "the seller revoked the app" in reconnect
    assert f"http://hub.example/integrations/{broken.id}/?level=ERROR#log" in reconnect
    failing_body = smtp_server.body(next(m for s, m in by_subject.items() if "Failing Etsy" in s))
    assert "Order 3141592: SKU NOPE-1 is not a product of this customer." in failing_body

    # Still broken a few minutes later: nothing more within the hour.
    assert alerts_due_task.apply().get() == 2
    assert len(smtp_server.wait_for(3, timeout=1.5)) == 2
    # An hour on, one more each.
    AlertSent.objects.update(last_sent_at=timezone.now() - dt.timedelta(minutes=61))
    alerts_due_task.apply()
    assert len(smtp_server.wait_for(4)) == 4


def test_confirmations_that_keep_failing_are_emailed_without_buyer_data(tenant, customer, warehouse, eager,
                                                                        smtp_server):
    alert_recipients_set(tenant=tenant, text="ops@3pl.example")
    integration = _integration(tenant, customer)
    product = ProductFactory(customer=customer, code="MUG-1")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=3)
    from warehouse.services import AddressData

    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(product, 1)], reference="113-555",
                       allocate=True, delivery_address=AddressData(contact_name="Ada Buyer", street_address="1 Secret St",
                                                                   city="Sydney", postcode="2000", country="AU"))
    link = ImportedOrder.objects.create(integration=integration, marketplace_order_id="113-555", order=order)
    consignment = consignment_create(order=order, carrier="AusPost", packages=[PackageSpec(tracking_number="AP9")])
    outbound_order_dispatch(order=order, consignment=consignment)
    PackageConfirmation.objects.create(integration=integration, package=consignment.packages.get(), imported_order=link,
                                       state="failed", tracking_number="AP9", attempts=5,
                                       last_error="Amazon refused the carrier code")
    assert alerts_due() == [(integration.id, "confirmations_failing")]
    alerts_due_task.apply()
    [message] = smtp_server.wait_for(1)
    body = smtp_server.body(message)
    assert "shipment confirmations keep failing" in message["Subject"]
    assert "Order 113-555, tracking AP9: Amazon refused the carrier code" in body
    assert "Ada" not in body and "Secret" not in body


def test_no_recipients_no_email_and_other_tenants_are_not_told(tenant, customer, eager, smtp_server):
    _integration(tenant, customer, status="error")
    stranger = TenantFactory()
    alert_recipients_set(tenant=stranger, text="them@other.example")
    assert alerts_due() == [] and alerts_due_task.apply().get() == 0
    assert smtp_server.wait_for(1, timeout=1) == []


def test_admin_sets_recipients_bad_input_changes_nothing_and_brands_may_not(client, tenant, customer, admin_user,
                                                                            customer_user):
    client.force_login(admin_user)
    response = client.post("/integrations/alerts/", {"recipients": "ops@3pl.example, night@3pl.example"}, follow=True)
    assert "Alerts go to ops@3pl.example, night@3pl.example." in response.content.decode()
    bad = client.post("/integrations/alerts/", {"recipients": "ops@3pl.example\nnot-an-address"})
    assert bad.status_code == 400 and "is not an e-mail address" in bad.content.decode()
    assert alert_recipients_get(tenant=tenant) == ["ops@3pl.example", "night@3pl.example"]
    page = client.get("/integrations/alerts/").content.decode()
    assert '<label for="id_recipients">Alert recipients:</label>' in page and "night@3pl.example" in page

    client.force_login(customer_user)
    assert client.get("/integrations/alerts/").status_code == 403
    assert client.post("/integrations/alerts/", {"recipients": "x@brand.example"}).status_code == 403
    other_admin = UserFactory(tenant=TenantFactory(), role="tenant_admin")
    client.force_login(other_admin)
    assert "ops@3pl.example" not in client.get("/integrations/alerts/").content.decode()
    assert alert_recipients_get(tenant=tenant) == ["ops@3pl.example", "night@3pl.example"]
