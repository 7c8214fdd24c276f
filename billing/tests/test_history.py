"""The billing history: every status change written by the integration services, in their transaction,
with who and when; append-only everywhere; read-only in the admin."""

from __future__ import annotations

import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from billing.models import AppendOnlyError, IntegrationEvent
from integrations.errors import IntegrationError
from integrations.models import Integration
from integrations.services.setup import integration_turn_off
from tests.factories import UserFactory

from .conftest import at, moment

pytestmark = pytest.mark.django_db


def history(integration):
    return list(IntegrationEvent.objects.filter(integration_id=integration.id).order_by("id").values_list(
        "kind", "from_status", "to_status", "actor", "actor_username", "at"))


def test_every_change_is_recorded_with_who_and_when(tenant, customer, admin_user, timeline):
    brand = UserFactory(tenant=tenant, role="customer_user", customer=customer, may_self_manage_integrations=True)
    amazon = timeline.activate("2026-03-01 09:00", user=brand)
    timeline.off(amazon, "2026-03-02 09:00", user=admin_user)
    timeline.on(amazon, "2026-03-03 09:00", user=brand)
    timeline.revoke(amazon, "2026-03-04 09:00")
    timeline.revoke(amazon, "2026-03-04 10:00")      # already needing a reconnect: no second record
    timeline.reconnect(amazon, "2026-03-05 09:00", user=brand)
    timeline.delete(amazon, "2026-03-06 09:00", user=admin_user)
    timeline.delete(amazon, "2026-03-07 09:00", user=admin_user)   # deleted once only
    assert history(amazon) == [
        ("activated", "setup", "active", "customer_user", brand.username, at("2026-03-01 09:00")),
        ("turned_off", "active", "paused", "admin", admin_user.username, at("2026-03-02 09:00")),
        ("turned_on", "paused", "active", "customer_user", brand.username, at("2026-03-03 09:00")),
        ("needs_reconnect", "active", "error", "system", "", at("2026-03-04 09:00")),
        ("reconnected", "error", "active", "customer_user", brand.username, at("2026-03-05 09:00")),
        ("deleted", "active", "deleted", "admin", admin_user.username, at("2026-03-06 09:00")),
    ]
    record = IntegrationEvent.objects.filter(integration_id=amazon.id).last()
    assert (record.tenant_id, record.customer_id, record.customer_code, record.integration_name,
            record.marketplace, record.created_by_username, record.created_by_role) == (
        tenant.id, customer.id, customer.code, amazon.name, "amazon", brand.username, "customer_user")


def test_a_refused_change_records_nothing(customer, timeline):
    amazon = timeline.activate("2026-03-01 09:00")
    timeline.off(amazon, "2026-03-02 09:00")
    before = history(amazon)
    with pytest.raises(IntegrationError):
        timeline.off(amazon, "2026-03-03 09:00")
    assert history(amazon) == before


def test_the_record_and_the_change_commit_or_roll_back_together(customer, timeline, admin_user):
    amazon = timeline.activate("2026-03-01 09:00")
    with pytest.raises(RuntimeError), transaction.atomic():
        integration_turn_off(integration=amazon, user=admin_user)
        raise RuntimeError("the request failed after the change")
    assert Integration.objects.get(pk=amazon.pk).status == Integration.Status.ACTIVE
    assert [h[0] for h in history(amazon)] == ["activated"]


def test_the_pages_record_who_clicked(client, tenant, customer, admin_user, timeline):
    amazon = timeline.activate("2026-03-01 09:00")
    client.force_login(admin_user)
    assert client.post(f"/integrations/{amazon.id}/off/").status_code == 302
    brand = UserFactory(tenant=tenant, role="customer_user", customer=customer, may_self_manage_integrations=True)
    brand_client = Client()
    brand_client.force_login(brand)
    assert brand_client.post(f"/integrations/{amazon.id}/on/").status_code == 302
    assert client.post(f"/integrations/{amazon.id}/delete/").status_code == 302
    assert [(h[0], h[3], h[4]) for h in history(amazon)][1:] == [
        ("turned_off", "admin", admin_user.username), ("turned_on", "customer_user", brand.username),
        ("deleted", "admin", admin_user.username)]


def test_the_history_is_append_only(customer, timeline):
    amazon = timeline.activate("2026-03-01 09:00")
    record = IntegrationEvent.objects.get(integration_id=amazon.id)
    record.kind = "deleted"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        IntegrationEvent.objects.filter(pk=record.pk).update(kind="deleted")
    with pytest.raises(AppendOnlyError):
        IntegrationEvent.objects.filter(pk=record.pk).delete()
    # Below the ORM too: the database refuses an UPDATE.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_integrationevent SET kind = 'deleted' WHERE id = %s", [record.pk])
    assert IntegrationEvent.objects.get(pk=record.pk).kind == "activated"


def test_the_admin_shows_the_history_read_only_and_only_the_tenants(client, tenant, customer, timeline,
                                                                     other_timeline):
    ours = timeline.activate("2026-03-01 09:00", name="Ours")
    theirs = other_timeline("THEIRS").activate("2026-03-01 09:00", name="Theirs")
    staff = UserFactory(tenant=tenant, role="tenant_admin", is_staff=True)
    client.force_login(staff)
    listing = client.get("/admin/billing/integrationevent/")
    assert listing.status_code == 200
    assert "Ours" in listing.content.decode() and "Theirs" not in listing.content.decode()
    record = IntegrationEvent.objects.get(integration_id=ours.id)
    page = client.get(f"/admin/billing/integrationevent/{record.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/billing/integrationevent/{record.pk}/change/", {"kind": "deleted"}).status_code == 403
    assert client.get("/admin/billing/integrationevent/add/").status_code == 403
    assert client.post(f"/admin/billing/integrationevent/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post("/admin/billing/integrationevent/", {"action": "delete_selected",
                                                           "_selected_action": [record.pk]}).status_code in (200, 302)
    other = IntegrationEvent.objects.get(integration_id=theirs.id)
    assert client.get(f"/admin/billing/integrationevent/{other.pk}/change/").status_code in (302, 404)
    assert IntegrationEvent.objects.count() == 2
    assert IntegrationEvent.objects.get(pk=record.pk).kind == "activated"


def test_disconnecting_is_recorded_and_billing_goes_on_until_deleted(tenant, customer, timeline, admin_user):
    from billing.selectors import Month, statement_for
    from integrations.services.setup import integration_disconnect

    amazon = timeline.activate("2026-04-01 09:00", name="Amazon AU")
    with moment("2026-04-10 09:00"):
        integration_disconnect(integration=Integration.objects.get(pk=amazon.pk), user=admin_user)
    assert [h[:4] for h in history(amazon)][-1] == ("disconnected", "active", "setup", "admin")
    april = statement_for(tenant=tenant, month=Month(2026, 4), now=at("2026-05-01 00:00"))
    assert [(line.name, line.billable_days) for line in april.customers[0].integrations] == [("Amazon AU", 30)]


@pytest.mark.django_db(transaction=True)
def test_a_record_outside_a_transaction_is_refused(customer, admin_user):
    from billing.services import integration_event_record

    integration = Integration.objects.create(tenant=customer.tenant, customer=customer, marketplace="amazon",
                                             name="Loose", status="active")
    with pytest.raises(RuntimeError):
        integration_event_record(integration=integration, kind="activated", from_status="setup", user=admin_user)
    assert not IntegrationEvent.objects.exists()


def test_the_integration_page_shows_its_history_to_admins_only(client, tenant, customer, admin_user, customer_user,
                                                               timeline):
    amazon = timeline.activate("2026-03-01 09:00", name="Amazon AU")
    timeline.off(amazon, "2026-03-02 09:30")
    timeline.revoke(amazon, "2026-03-03 10:00")
    client.force_login(admin_user)
    html = client.get(f"/integrations/{amazon.id}/").content.decode()
    rows = re.findall(r'<tr data-kind="(\w+)"><td>([^<]+)</td>', html)
    assert rows == [("needs_reconnect", "03 Mar 2026 10:00"), ("turned_off", "02 Mar 2026 09:30"),
                    ("activated", "01 Mar 2026 09:00")]
    assert f"{admin_user.username} <span class=\"muted\">(warehouse admin)</span>" in html and "System" in html
    client.force_login(customer_user)
    page = client.get(f"/integrations/{amazon.id}/")
    assert page.status_code == 200 and 'id="history"' not in page.content.decode()
