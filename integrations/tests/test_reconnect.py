"""Reconnect (issue 15): a revoked grant found by Test connection marks the integration at once; Reconnect
on its page and in step 2 signs in again to the same seller account and keeps every setting and
mapping; another account is refused (that needs Disconnect)."""

from __future__ import annotations

import pytest

from integrations.models import ConnectionLogEntry, Integration, SupplySourceMapping

from .test_wizard import AMAZON_CALLBACK, amazon_consent, local

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def revoked(client, admin_user, amazon, amazon_sandbox, amazon_integration, amazon_seller, second_warehouse, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    amazon_sandbox.set_redirect_uris(AMAZON_CALLBACK)
    SupplySourceMapping.objects.create(integration=amazon_integration, supply_source_id="src-1", code="LA-1",
                                       alias="LA store", status="Active", warehouse=second_warehouse)
    amazon_integration.carrier_map = {"AusPost": "Australia Post"}
    amazon_integration.shipping_method_map = {"Expedited": "Express"}
    amazon_integration.inventory_enabled = True
    amazon_integration.save()
    client.force_login(admin_user)
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/revoke")
    return amazon_integration


def reconnect(client, integration, seller_id):
    response = client.post(f"/integrations/{integration.id}/connect/", {"marketplace_id": integration.marketplace_id})
    assert response.status_code == 302, response.content
    return client.get(local(amazon_consent(response["Location"], seller_id=seller_id)))


def test_test_connection_finds_the_revoked_grant_and_reconnect_keeps_every_mapping(client, revoked, amazon_seller):
    integration = revoked
    response = client.post(f"/integrations/{integration.id}/test/", follow=True)
    html = response.content.decode()
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ERROR              # at once, not at the next import
    assert ConnectionLogEntry.objects.filter(integration=integration, event="connection.revoked").count() == 1
    assert 'id="reconnect"' in html and "Needs reconnecting" in html
    step2 = client.get(f"/integrations/{integration.id}/setup/2/").content.decode()
    assert 'id="reconnect"' in step2 and "every setting and mapping is kept" in step2
    old_token = integration.refresh_token

    response = reconnect(client, integration, amazon_seller["selling_partner_id"])
    assert response.status_code == 302 and response["Location"] == f"/integrations/{integration.id}/"
    integration.refresh_from_db()
    assert integration.status == Integration.Status.ACTIVE and integration.status_message == ""
    assert integration.refresh_token != old_token
    assert integration.carrier_map == {"AusPost": "Australia Post"}
    assert integration.shipping_method_map == {"Expedited": "Express"} and integration.inventory_enabled
    mapping = SupplySourceMapping.objects.get(integration=integration, supply_source_id="src-1")
    assert mapping.warehouse.code == "LAX"
    assert ConnectionLogEntry.objects.filter(integration=integration, event="connection.reconnected").exists()
    assert "Connected to Amazon" in client.post(f"/integrations/{integration.id}/test/", follow=True).content.decode()


def test_reconnecting_with_another_account_is_refused_and_changes_nothing(client, revoked, amazon, amazon_seller):
    integration = revoked
    client.post(f"/integrations/{integration.id}/test/")
    other = amazon.post("sellers", {"marketplace_ids": [integration.marketplace_id]})
    response = reconnect(client, integration, other["selling_partner_id"])
    assert response.status_code == 400
    assert "Disconnect first" in response.content.decode()
    integration.refresh_from_db()
    assert integration.account_id == amazon_seller["selling_partner_id"]
    assert integration.status == Integration.Status.ERROR
    assert SupplySourceMapping.objects.filter(integration=integration, warehouse__isnull=False).count() == 1
