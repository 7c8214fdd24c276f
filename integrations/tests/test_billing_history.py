"""The wizard and the sync tasks leave the billing history the statement reads (issue 14): activation
by whoever finished the wizard, a needs-reconnect by the system when Amazon refuses the grant, and the
reconnect by whoever completed Connect again, all through the sandbox over HTTP."""

from __future__ import annotations

import pytest

from billing.models import IntegrationEvent
from integrations.models import Integration

from .test_wizard import AMAZON_CALLBACK, connect_amazon, local, start_amazon_wizard


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = "http://testserver"


@pytest.fixture
def amazon_app(amazon, amazon_sandbox):
    amazon_sandbox.set_redirect_uris(AMAZON_CALLBACK)
    return amazon


@pytest.mark.django_db(transaction=True)
def test_wizard_revocation_and_reconnect_are_recorded(client, admin_user, customer, warehouse, products, amazon_app,
                                                      amazon_sandbox, eager_tasks):
    sp = amazon_sandbox.seed_seller()["selling_partner_id"]
    client.force_login(admin_user)
    integration = start_amazon_wizard(client, customer)
    _, callback = connect_amazon(client, integration, sp)
    assert client.get(local(callback)).status_code == 302
    assert client.post(f"/integrations/{integration.id}/setup/3/", {
        "default_warehouse": warehouse.id, "match_by": "sku", "orders_api": "v0"}).status_code == 302
    assert client.post(f"/integrations/{integration.id}/setup/4/", {
        "fulfilment_enabled": "on", "inventory_frequency_minutes": 60}).status_code == 302

    amazon_sandbox.revoke(sp)
    from integrations.tasks import orders_import_task

    orders_import_task.apply(args=[integration.id])
    assert Integration.objects.get(pk=integration.pk).status == Integration.Status.ERROR

    _, callback = connect_amazon(client, integration, sp)
    assert client.get(local(callback)).status_code == 302
    assert Integration.objects.get(pk=integration.pk).status == Integration.Status.ACTIVE

    assert list(IntegrationEvent.objects.filter(integration_id=integration.id).order_by("id").values_list(
        "kind", "from_status", "to_status", "actor", "actor_username")) == [
        ("activated", "setup", "active", "admin", admin_user.username),
        ("needs_reconnect", "active", "error", "system", ""),
        ("reconnected", "error", "active", "admin", admin_user.username),
    ]
