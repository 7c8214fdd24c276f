"""Buyer data on the pages, the API and the admin: decrypted for those allowed, never searchable,
"Personal data removed on DATE" once purged."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from pii.services import pii_purge_tenant
from tests.factories import CustomerFactory, UserFactory
from warehouse.models import Address
from warehouse.tests.api.conftest import keyed_client

from .conftest import BUYER

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(tenant):
    return UserFactory(tenant=tenant, role="tenant_admin", is_staff=True)


def test_the_order_page_shows_the_buyer_then_personal_data_removed(orders, tenant, admin_user, customer_user, now):
    order = orders.dispatched(days=31)
    for user in (admin_user, customer_user):
        body = logged_in(user).get(f"/orders/{order.id}/").content.decode()
        for value in ("contact_name", "street_address", "telephone", "email", "city"):
            assert BUYER[value].replace("&", "&amp;") in body

    pii_purge_tenant(tenant=tenant, now=now)

    body = logged_in(admin_user).get(f"/orders/{order.id}/").content.decode()
    assert f"Personal data removed on {now.day} {now:%b %Y}" in body
    for value in ("contact_name", "company_name", "street_address", "telephone", "email"):
        assert BUYER[value].replace("&", "&amp;") not in body
    assert "Newtown" in body and "2042" in body          # city and postcode stay


def test_another_customers_user_never_sees_the_buyer(orders, tenant):
    order = orders.dispatched(days=1)
    stranger = UserFactory(tenant=tenant, role="customer_user", customer=CustomerFactory(tenant=tenant))
    response = logged_in(stranger).get(f"/orders/{order.id}/")
    assert response.status_code == 404 and BUYER["contact_name"] not in response.content.decode()


def test_the_api_gives_decrypted_values_then_the_removal_notice(orders, tenant, other_tenant, now):
    order = orders.dispatched(days=31)
    api = keyed_client(tenant)
    address = api.get(f"/api/v1/outbound-orders/{order.id}/").json()["delivery_address"]
    assert (address["contact_name"], address["street_address"], address["telephone"], address["email"]) == (
        BUYER["contact_name"], BUYER["street_address"], BUYER["telephone"], BUYER["email"])
    assert address["latitude"] == "-33.868800" and address["personal_data_notice"] == ""
    assert keyed_client(other_tenant).get(f"/api/v1/outbound-orders/{order.id}/").status_code == 404

    pii_purge_tenant(tenant=tenant, now=now)

    address = api.get(f"/api/v1/outbound-orders/{order.id}/").json()["delivery_address"]
    assert address["personal_data_notice"] == f"Personal data removed on {now.date().isoformat()}"
    assert [address[f] for f in Address.PERSONAL_FIELDS] == ["", "", "", "", "", "", None, None]
    assert (address["city"], address["postcode"], address["country"]) == ("Newtown", "2042", "AU")
    assert address["personal_data_purged_at"] is not None


def test_the_api_stores_posted_addresses_encrypted(tenant, customer, warehouse, product):
    api = keyed_client(tenant)
    response = api.post("/api/v1/outbound-orders/", {
        "customer": customer.id, "warehouse": warehouse.id, "reference": "API-1",
        "lines": [{"product": product.id, "quantity": 1}],
        "delivery_address": {"contact_name": "Posted Person", "street_address": "9 Api Lane", "city": "Perth",
                             "latitude": "-31.950527", "email": "posted@buyer.example"},
    }, format="json")
    assert response.status_code == 201, response.content
    address = Address.objects.get()
    assert (address.contact_name, address.latitude) == ("Posted Person", __import__("decimal").Decimal("-31.950527"))
    assert not Address.objects.filter(contact_name="Posted Person").exists()    # the column holds a token
    bad = api.post("/api/v1/outbound-orders/", {
        "customer": customer.id, "warehouse": warehouse.id, "reference": "API-2",
        "lines": [{"product": product.id, "quantity": 1}],
        "delivery_address": {"email": "not an email", "latitude": "123"}}, format="json")
    assert bad.status_code == 400 and Address.objects.count() == 1


def test_searches_never_match_personal_fields(orders, tenant, admin_user, staff, now):
    kept = orders.dispatched(days=1)
    gone = orders.dispatched(days=31)
    pii_purge_tenant(tenant=tenant, now=now)

    # Orders by the buyer's name or street: nothing, the columns are encrypted.
    for term in (BUYER["contact_name"], BUYER["street_address"], "Zebedee"):
        body = logged_in(admin_user).get("/orders/", {"q": term}).content.decode()
        assert kept.reference not in body and gone.reference not in body
    admin = logged_in(staff)
    assert f"/admin/warehouse/address/{kept.delivery_address_id}/change/" not in admin.get(
        "/admin/warehouse/address/", {"q": "Zebedee"}).content.decode()
    # By city, the admin finds the live address and hides the purged one.
    body = admin.get("/admin/warehouse/address/", {"q": "Newtown"}).content.decode()
    assert f"/admin/warehouse/address/{kept.delivery_address_id}/change/" in body
    assert f"/admin/warehouse/address/{gone.delivery_address_id}/change/" not in body


def test_the_admin_cannot_type_purged_data_back_and_its_history_holds_no_buyer_data(orders, tenant, staff, now):
    order = orders.dispatched(days=31)
    admin = logged_in(staff)
    url = f"/admin/warehouse/address/{order.delivery_address_id}/change/"
    page = admin.get(url)
    assert page.status_code == 200 and BUYER["contact_name"] in page.content.decode()   # decrypted for staff
    fields = {"contact_name": "Zebedee Q. Quillfeather", "company_name": "", "street_address": "78 Wombat Crescent",
              "street_address_2": "", "city": "Newtown", "state": "NSW", "postcode": "2042", "country": "AU",
              "telephone": "+61 400 123 988", "email": "", "latitude": "", "longitude": "", "customer": ""}
    assert admin.post(url, fields).status_code == 302
    entry = LogEntry.objects.get(object_id=str(order.delivery_address_id))
    history = f"{entry.object_repr} {entry.change_message} {entry.get_change_message()}"
    assert "Quillfeather" not in history and "Wombat" not in history and "+61" not in history

    pii_purge_tenant(tenant=tenant, now=now)

    page = admin.get(url).content.decode()
    assert "Quillfeather" not in page
    assert admin.post(url, {**fields, "contact_name": "Back Again"}).status_code == 403
    assert Address.objects.get(pk=order.delivery_address_id).contact_name == ""
    assert "Back Again" not in str(list(LogEntry.objects.values()))
