"""Wording a person reads (issue 15): "every every hour", sentences ending in "..", "Connection log entrys"."""

from __future__ import annotations

import pytest

from integrations.errors import IntegrationError
from integrations.models import ConnectionLogEntry
from integrations.tasks import inventory_push_task
from tests.factories import UserFactory


@pytest.mark.django_db
def test_stock_frequency_reads_every_hour_once(client, admin_user, amazon_integration):
    amazon_integration.inventory_enabled = True
    amazon_integration.inventory_frequency_minutes = 60
    amazon_integration.save()
    client.force_login(admin_user)
    page = client.get(f"/integrations/{amazon_integration.id}/").content.decode()
    assert "Every hour" in page and "every every" not in page.lower()


@pytest.mark.django_db(transaction=True)
def test_a_reason_ending_in_a_full_stop_is_not_followed_by_another(amazon, amazon_integration, warehouse):
    amazon_integration.inventory_enabled = True
    amazon_integration.save()
    amazon_integration.inventory_warehouses.set([warehouse])
    amazon.post("faults", {"fail_next": 5, "error_statuses": [503], "path_contains": "/listings/"})
    inventory_push_task(amazon_integration.id)
    [failed] = ConnectionLogEntry.objects.filter(event="inventory.failed")
    assert "HTTP 503" in failed.message and ".." not in failed.message
    assert IntegrationError("It failed: Amazon said no.. Nothing was saved...").message == \
        "It failed: Amazon said no. Nothing was saved..."


@pytest.mark.django_db
def test_the_admin_says_connection_log_entries(client, tenant):
    client.force_login(UserFactory(tenant=tenant, username="ops", role="tenant_admin", is_staff=True))
    page = client.get("/admin/").content.decode()
    assert "Connection log entries" in page and "entrys" not in page
