"""What the operator sees about a marketplace order (issue 15): each package's confirmation on the
order page with Resend for a failed one, warnings when dispatching without tracking, an explicit
confirmation for a tracking number used twice, and why nothing is sent when the integration is off."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.models import ConnectionLogEntry, PackageConfirmation
from integrations.services import setup
from integrations.services.orders import orders_import
from tests.factories import UserFactory
from warehouse.models import OutboundOrder
from warehouse.services import (
    PackageSpec,
    api_key_create,
    consignment_create,
    outbound_order_allocate,
    outbound_order_dispatch,
)

from .conftest import AU

pytestmark = pytest.mark.django_db(transaction=True)


def import_amazon(amazon, seller, integration, items):
    order = amazon.post(f"sellers/{seller['selling_partner_id']}/orders", {"MarketplaceId": AU, "items": items})
    orders_import(integration=integration)
    outbound = OutboundOrder.objects.get(reference=order["AmazonOrderId"])
    if outbound.status == "draft":
        outbound = outbound_order_allocate(order=outbound)
    return order, outbound


def sent(amazon, seller, order_id):
    return [c for c in amazon.get(f"sellers/{seller['selling_partner_id']}")["confirmations"]
            if c["amazon_order_id"] == order_id]


@pytest.fixture
def staff(client, tenant):
    client.force_login(UserFactory(tenant=tenant, role="tenant_admin"))
    return client


def page(client, order):
    response = client.get(reverse("web:order_detail", args=[order.id]))
    assert response.status_code == 200
    return response.content.decode()


def package_cell(html: str, number: int) -> str:
    start = html.index(f'id="package-{number}"')
    return html[start:html.index("</tr>", start)]


def test_order_page_shows_each_packages_confirmation_and_resends_a_failed_one(
        amazon, amazon_seller, amazon_integration, eager_tasks, staff):
    order, outbound = import_amazon(amazon, amazon_seller, amazon_integration,
                                    [{"SellerSKU": "MUG-01", "QuantityOrdered": 3}])
    line = outbound.lines.get()
    # The first package Amazon refuses (400), the second it takes, the third has no tracking yet.
    amazon.post("faults", {"fail_next": 1, "error_statuses": [400], "path_contains": "shipmentConfirmation"})
    consignment = consignment_create(order=outbound, carrier="Australia Post", packages=[
        PackageSpec("AP-1", [(line, 1)]), PackageSpec("AP-2", [(line, 1)]), PackageSpec("", [(line, 1)])])
    outbound_order_dispatch(order=outbound, consignment=consignment)

    html = page(staff, outbound)
    assert "Amazon confirmation" in html
    first, second, third = (package_cell(html, n) for n in (1, 2, 3))
    assert "Failed" in first and "Resend" in first and "Injected failure" in first
    assert "Confirmed" in second and "Resend" not in second
    assert "Waiting for tracking" in third
    assert "nothing can reach Amazon until tracking is added" in html

    failed = PackageConfirmation.objects.get(tracking_number="AP-1")
    response = staff.post(reverse("integrations:confirmation_resend", args=[failed.id]))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.state == "confirmed"
    assert sorted(c["body"]["packageDetail"]["trackingNumber"] for c in sent(amazon, amazon_seller,
                                                                            order["AmazonOrderId"])) == ["AP-1", "AP-2"]
    assert ConnectionLogEntry.objects.filter(event="confirmation.resend").exists()
    assert "Confirmed" in package_cell(page(staff, outbound), 1)
    # Resending something that is not failed changes nothing.
    staff.post(reverse("integrations:confirmation_resend", args=[failed.id]))
    assert len(sent(amazon, amazon_seller, order["AmazonOrderId"])) == 2


def test_pending_and_sent_states_show_when_and_why(amazon, amazon_seller, amazon_integration, eager_tasks, staff,
                                                   settings):
    _, outbound = import_amazon(amazon, amazon_seller, amazon_integration,
                                [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}, {"SellerSKU": "TEE-02", "QuantityOrdered": 1}])
    mug, tee = outbound.lines.order_by("product__code")
    consignment = consignment_create(order=outbound, carrier="Sendle", packages=[
        PackageSpec("S-1", [(mug, 1)]), PackageSpec("S-2", [(tee, 1)])])
    # Throttled past the client's own retries: pending, with the next try.
    amazon.post("faults", {"throttle_next": settings.MARKETPLACE_RETRIES + 1, "path_contains": "shipmentConfirmation"})
    outbound_order_dispatch(order=outbound, consignment=consignment)
    html = page(staff, outbound)
    assert "Pending" in package_cell(html, 1) and "Next try" in package_cell(html, 1)
    assert "Confirmed" in package_cell(html, 2)
    PackageConfirmation.objects.filter(tracking_number="S-1").update(uncertain=True)
    assert "Sent" in package_cell(page(staff, outbound), 1)


def test_other_tenants_cannot_resend(amazon, amazon_seller, amazon_integration, eager_tasks, client, other_tenant):
    _, outbound = import_amazon(amazon, amazon_seller, amazon_integration, [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}])
    amazon.post("faults", {"fail_next": 1, "error_statuses": [400], "path_contains": "shipmentConfirmation"})
    outbound_order_dispatch(order=outbound, consignment=consignment_create(
        order=outbound, carrier="Sendle", packages=[PackageSpec("S-9")]))
    row = PackageConfirmation.objects.get()
    client.force_login(UserFactory(tenant=other_tenant, role="tenant_admin"))
    assert client.post(reverse("integrations:confirmation_resend", args=[row.id])).status_code == 404
    row.refresh_from_db()
    assert row.state == "failed"


def test_dispatch_form_without_tracking_says_nothing_reaches_the_marketplace(
        amazon, amazon_seller, amazon_integration, eager_tasks, staff):
    order, outbound = import_amazon(amazon, amazon_seller, amazon_integration,
                                    [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}])
    line = outbound.lines.get()
    response = staff.post(reverse("web:order_dispatch", args=[outbound.id]), {
        "package_count": 1, "carrier": "Sendle", "tracking_0": "", f"qty_{line.id}_0": 1}, follow=True)
    html = response.content.decode()
    assert "dispatched with Sendle" in html
    assert "no tracking number: nothing can reach Amazon until tracking is added" in html
    assert "Waiting for tracking" in package_cell(html, 1)
    assert sent(amazon, amazon_seller, order["AmazonOrderId"]) == []


def test_dispatch_api_answer_warns_about_missing_tracking(amazon, amazon_seller, amazon_integration, eager_tasks,
                                                         tenant):
    _, outbound = import_amazon(amazon, amazon_seller, amazon_integration,
                                [{"SellerSKU": "MUG-01", "QuantityOrdered": 2}])
    line = outbound.lines.get()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(tenant=tenant, name='t')[1]}")
    response = api.post(f"/api/v1/outbound-orders/{outbound.id}/dispatch/", {"carrier": "Sendle", "packages": [
        {"tracking_number": "S-1", "lines": [{"line": line.id, "quantity": 1}]},
        {"tracking_number": "", "lines": [{"line": line.id, "quantity": 1}]}]}, format="json")
    assert response.status_code == 200, response.content
    [warning] = response.json()["warnings"]
    assert "Package 2" in warning and "until tracking is added" in warning


def test_the_same_tracking_on_two_packages_needs_an_explicit_yes(amazon, amazon_seller, amazon_integration,
                                                                eager_tasks, staff, tenant):
    order, outbound = import_amazon(amazon, amazon_seller, amazon_integration,
                                    [{"SellerSKU": "MUG-01", "QuantityOrdered": 2}])
    line = outbound.lines.get()
    form = {"package_count": 2, "carrier": "Sendle", "tracking_0": "DUP-1", "tracking_1": "DUP-1",
            f"qty_{line.id}_0": 1, f"qty_{line.id}_1": 1}
    response = staff.post(reverse("web:order_dispatch", args=[outbound.id]), form)
    assert response.status_code == 400
    assert "same tracking number DUP-1" in response.content.decode()
    assert 'name="allow_duplicate_tracking"' in response.content.decode()
    outbound.refresh_from_db()
    assert outbound.status != "dispatched"

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(tenant=tenant, name='t')[1]}")
    packages = [{"tracking_number": "DUP-1", "lines": [{"line": line.id, "quantity": 1}]},
                {"tracking_number": "DUP-1", "lines": [{"line": line.id, "quantity": 1}]}]
    refused = api.post(f"/api/v1/outbound-orders/{outbound.id}/dispatch/",
                       {"carrier": "Sendle", "packages": packages}, format="json")
    assert refused.status_code == 400 and "same tracking number" in refused.json()["error"]["message"]
    outbound.refresh_from_db()
    assert outbound.status != "dispatched"

    response = staff.post(reverse("web:order_dispatch", args=[outbound.id]),
                          {**form, "allow_duplicate_tracking": "on"})
    assert response.status_code == 302
    outbound.refresh_from_db()
    assert outbound.status == "dispatched"


@pytest.mark.parametrize("how,why", [
    ("off", "is turned off"), ("delete", "was deleted"), ("fulfilment", "fulfilment is turned off"),
])
def test_dispatch_when_nothing_will_be_sent_says_so_and_why(amazon, amazon_seller, amazon_integration, eager_tasks,
                                                            staff, how, why):
    order, outbound = import_amazon(amazon, amazon_seller, amazon_integration,
                                    [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}])
    if how == "off":
        setup.integration_turn_off(integration=amazon_integration)
    elif how == "delete":
        setup.integration_delete(integration=amazon_integration)
    else:
        amazon_integration.fulfilment_enabled = False
        amazon_integration.save()
    line = outbound.lines.get()
    response = staff.post(reverse("web:order_dispatch", args=[outbound.id]), {
        "package_count": 1, "carrier": "Sendle", "tracking_0": "S-5", f"qty_{line.id}_0": 1}, follow=True)
    html = response.content.decode()
    assert "Nothing is sent to Amazon" in html and why in html
    assert sent(amazon, amazon_seller, order["AmazonOrderId"]) == []
    assert "Not sent" in package_cell(html, 1)
