"""In Chromium: the integration page follows the sync by itself (htmx), without reloading (issue 17)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from integrations.models import ConnectionLogEntry, Integration
from tests.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_status_last_import_and_log_refresh_without_a_reload(page, live_server, settings, admin_user, customer):
    settings.LIVE_REFRESH_SECONDS = 1
    integration = Integration.objects.create(tenant=customer.tenant, customer=customer, marketplace="etsy",
                                             name="Koala Etsy", status="active", account_id="7", refresh_token="x")
    log_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/integrations/{integration.id}/")
    expect(page.locator("#integration-status")).to_have_text("Active")
    expect(page.locator("[data-live=last-import]")).to_have_text("never")
    page.evaluate("window.stillTheSamePage = true")

    Integration.objects.filter(pk=integration.pk).update(status="error", last_import_at=timezone.now())
    ConnectionLogEntry.objects.create(integration=integration, level="ERROR", event="connection.revoked",
                                      message="Etsy refused our access. Reconnect the integration.")

    expect(page.locator("#integration-status")).to_have_text("Needs reconnecting", timeout=10_000)
    expect(page.locator("[data-live=status]")).to_have_text("Needs reconnecting")
    expect(page.locator("[data-live=log]")).to_contain_text("Etsy refused our access")
    expect(page.locator("[data-live=last-import]")).not_to_have_text("never")
    assert page.evaluate("window.stillTheSamePage") is True
