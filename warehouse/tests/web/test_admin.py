"""The Django admin as a tenant admin uses it: only its own tenant's rows and choices, API keys shown
once, and no way in for customer users."""

import re
from types import SimpleNamespace

import pytest
from django.test import Client

from tests.factories import (
    CustomerFactory,
    ProductFactory,
    StockLevelFactory,
    UserFactory,
    WarehouseFactory,
    make_order,
)
from warehouse.models import ApiKey, Customer, User
from warehouse.services import PackageSpec, api_key_authenticate, api_key_create, consignment_create

pytestmark = pytest.mark.django_db


def world(tenant, label):
    """A tenant's customer, warehouse, product, order with a consignment, API key and customer user."""
    customer = CustomerFactory(tenant=tenant, code=f"C-{label}", name=f"Customer {label}")
    warehouse = WarehouseFactory(tenant=tenant, code=f"W-{label}", name=f"Warehouse {label}")
    customer.warehouses.add(warehouse)
    product = ProductFactory(customer=customer, code=f"SKU-{label}", name=f"Product {label}")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=5)
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(product, 1)],
                       reference=f"SO-{label}", allocate=True)
    consignment = consignment_create(order=order, carrier="DHL", packages=[PackageSpec(f"TRK-{label}")])
    key, _ = api_key_create(tenant=tenant, name=f"Key {label}")
    user = UserFactory(tenant=tenant, username=f"brand-{label.lower()}", role="customer_user",
                       customer=customer)
    return SimpleNamespace(customer=customer, warehouse=warehouse, product=product, order=order,
                           consignment=consignment, package=consignment.packages.get(),
                           line=order.lines.get(), key=key, user=user)


@pytest.fixture
def mine(tenant):
    return world(tenant, "MINE")


@pytest.fixture
def theirs(other_tenant):
    return world(other_tenant, "THEIRS")


@pytest.fixture
def staff(tenant):
    return UserFactory(tenant=tenant, username="ops-admin", role="tenant_admin", is_staff=True)


@pytest.fixture
def as_staff(staff):
    client = Client()
    client.force_login(staff)
    return client


def text(response) -> str:
    return response.content.decode()


def options(body: str, name: str) -> set[str]:
    """The non-empty option values of the <select name=...>."""
    match = re.search(rf'<select name="{re.escape(name)}"[^>]*>(.*?)</select>', body, re.S)
    assert match, f"no select {name}"
    return {v for v in re.findall(r'<option value="([^"]*)"', match.group(1)) if v}


# --- changelists ---------------------------------------------------------------------------------

@pytest.mark.parametrize("model, shown, hidden", [
    ("customer", "Customer MINE", "Customer THEIRS"),
    ("warehouse", "W-MINE", "W-THEIRS"),
    ("product", "SKU-MINE", "SKU-THEIRS"),
    ("stocklevel", "SKU-MINE", "SKU-THEIRS"),
    ("outboundorder", "SO-MINE", "SO-THEIRS"),
    ("consignment", "SO-MINE", "SO-THEIRS"),
    ("package", "TRK-MINE", "TRK-THEIRS"),
    ("apikey", "Key MINE", "Key THEIRS"),
    ("user", "brand-mine", "brand-theirs"),
])
def test_changelist_shows_only_the_admins_tenant(as_staff, mine, theirs, model, shown, hidden):
    response = as_staff.get(f"/admin/warehouse/{model}/")
    assert response.status_code == 200
    body = text(response)
    assert shown in body
    assert hidden not in body


def test_user_changelist_hides_other_tenants_and_platform_users(as_staff, staff, mine, theirs):
    UserFactory(tenant=None, username="platform-root", is_staff=True, is_superuser=True)
    body = text(as_staff.get("/admin/warehouse/user/"))
    assert "ops-admin" in body and "brand-mine" in body
    assert "platform-root" not in body and "brand-theirs" not in body


def test_tenant_changelist_shows_only_the_admins_tenant(as_staff, tenant, other_tenant):
    response = as_staff.get("/admin/warehouse/tenant/")
    assert response.status_code == 200
    body = text(response)
    assert tenant.name in body and f">{other_tenant.name}<" not in body


@pytest.mark.parametrize("model", ["tenant", "customer", "warehouse", "product", "stocklevel",
                                   "outboundorder", "consignment", "package", "apikey", "user"])
def test_the_admins_own_objects_open(as_staff, tenant, mine, model):
    obj = {"tenant": tenant, "customer": mine.customer, "warehouse": mine.warehouse, "product": mine.product,
           "stocklevel": mine.product.stock_levels.get(), "outboundorder": mine.order,
           "consignment": mine.consignment, "package": mine.package, "apikey": mine.key,
           "user": mine.user}[model]
    response = as_staff.get(f"/admin/warehouse/{model}/{obj.pk}/change/")
    assert response.status_code == 200
    assert 'type="submit"' in text(response)


@pytest.mark.parametrize("model", ["customer", "outboundorder", "consignment", "package", "apikey", "user"])
def test_another_tenants_object_cannot_be_opened(as_staff, mine, theirs, model):
    obj = {"customer": theirs.customer, "outboundorder": theirs.order, "consignment": theirs.consignment,
           "package": theirs.package, "apikey": theirs.key, "user": theirs.user}[model]
    response = as_staff.get(f"/admin/warehouse/{model}/{obj.pk}/change/")
    assert response.status_code == 302 and response.url == "/admin/"
    response = as_staff.post(f"/admin/warehouse/{model}/{obj.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and response.url == "/admin/"
    assert type(obj).objects.filter(pk=obj.pk).exists()


# --- foreign key choices ---------------------------------------------------------------------------

def test_foreign_key_choices_are_limited_to_the_tenant(as_staff, mine, theirs):
    body = text(as_staff.get("/admin/warehouse/product/add/"))
    assert options(body, "customer") == {str(mine.customer.pk)}

    body = text(as_staff.get("/admin/warehouse/stocklevel/add/"))
    assert options(body, "product") == {str(mine.product.pk)}
    assert options(body, "warehouse") == {str(mine.warehouse.pk)}

    body = text(as_staff.get("/admin/warehouse/outboundorder/add/"))
    assert options(body, "customer") == {str(mine.customer.pk)}
    assert options(body, "warehouse") == {str(mine.warehouse.pk)}

    body = text(as_staff.get("/admin/warehouse/consignment/add/"))
    assert options(body, "order") == {str(mine.order.pk)}

    body = text(as_staff.get("/admin/warehouse/package/add/"))
    assert options(body, "consignment") == {str(mine.consignment.pk)}

    body = text(as_staff.get("/admin/warehouse/customer/add/"))
    assert options(body, "warehouses") == {str(mine.warehouse.pk)}

    body = text(as_staff.get("/admin/warehouse/user/add/"))
    assert options(body, "customer") == {str(mine.customer.pk)}
    assert 'name="tenant"' not in body and 'name="is_superuser"' not in body


def test_inline_choices_are_limited_to_the_tenant(as_staff, mine, theirs):
    # A draft: an allocated order's lines are read-only.
    draft = make_order(customer=mine.customer, warehouse=mine.warehouse, products_qty=[(mine.product, 1)])
    body = text(as_staff.get(f"/admin/warehouse/outboundorder/{draft.pk}/change/"))
    assert options(body, "lines-__prefix__-product") == {str(mine.product.pk)}

    body = text(as_staff.get(f"/admin/warehouse/package/{mine.package.pk}/change/"))
    assert options(body, "lines-__prefix__-order_line") == {str(mine.line.pk), str(draft.lines.get().pk)}


def test_a_foreign_choice_posted_anyway_is_refused(as_staff, mine, theirs):
    response = as_staff.post("/admin/warehouse/product/add/", {
        "customer": theirs.customer.pk, "code": "SNEAKY", "name": "Sneaky",
        "alternative_codes-TOTAL_FORMS": "0", "alternative_codes-INITIAL_FORMS": "0"})
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert not theirs.customer.products.filter(code="SNEAKY").exists()


# --- creating rows ---------------------------------------------------------------------------------

def test_created_customer_belongs_to_the_admins_tenant(as_staff, tenant, mine):
    response = as_staff.post("/admin/warehouse/customer/add/", {
        "code": "NEW", "name": "New Brand", "email": "", "phone": "", "warehouses": [mine.warehouse.pk]})
    assert response.status_code == 302
    created = Customer.objects.get(code="NEW")
    assert created.tenant == tenant
    assert list(created.warehouses.all()) == [mine.warehouse]


def test_duplicate_customer_code_is_a_form_error(as_staff, tenant, mine, theirs):
    response = as_staff.post("/admin/warehouse/customer/add/", {"code": "C-MINE", "name": "Again"})
    assert response.status_code == 200
    assert "already exists" in text(response)
    assert Customer.objects.filter(tenant=tenant, code="C-MINE").count() == 1
    # Saving a customer with its own code is not a duplicate.
    response = as_staff.post(f"/admin/warehouse/customer/{mine.customer.pk}/change/",
                             {"code": "C-MINE", "name": "Renamed", "warehouses": [mine.warehouse.pk]})
    assert response.status_code == 302
    mine.customer.refresh_from_db()
    assert mine.customer.name == "Renamed"
    # Another tenant's code is free to use.
    response = as_staff.post("/admin/warehouse/customer/add/", {"code": "C-THEIRS", "name": "Same code"})
    assert response.status_code == 302
    assert Customer.objects.get(tenant=tenant, code="C-THEIRS").name == "Same code"


def test_created_user_belongs_to_the_admins_tenant(as_staff, tenant, mine):
    response = as_staff.post("/admin/warehouse/user/add/", {
        "username": "new-brand-user", "usable_password": "true", "password1": "a-long-pass-phrase-42",
        "password2": "a-long-pass-phrase-42", "role": "customer_user", "customer": mine.customer.pk})
    assert response.status_code == 302, text(response)
    user = User.objects.get(username="new-brand-user")
    assert (user.tenant, user.customer, user.is_superuser) == (tenant, mine.customer, False)


# --- API keys --------------------------------------------------------------------------------------

def test_api_key_created_in_the_admin_is_shown_once_and_lists_orders(as_staff, staff, tenant, mine, theirs):
    response = as_staff.post("/admin/warehouse/apikey/add/",
                             {"name": "WMS", "revoked_at_0": "", "revoked_at_1": ""}, follow=True)
    assert response.status_code == 200
    body = text(response)
    match = re.search(r"Copy this API key now, it is not shown again: ([\w.-]+)", body)
    assert match, body
    raw = match.group(1)

    key = ApiKey.objects.get(name="WMS")
    assert (key.tenant, key.created_by) == (tenant, staff)
    assert raw.startswith(key.prefix + ".")
    assert raw.split(".", 1)[1] not in key.hashed_key       # only a digest is stored
    # Once: neither the changelist nor the key's own page shows it again.
    assert raw not in text(as_staff.get("/admin/warehouse/apikey/"))
    assert raw not in text(as_staff.get(f"/admin/warehouse/apikey/{key.pk}/change/"))

    assert api_key_authenticate(raw_key=raw) == key
    api = Client()
    response = api.get("/api/v1/outbound-orders/", HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert response.status_code == 200, text(response)
    body = text(response)
    assert "SO-MINE" in body and "SO-THEIRS" not in body


def test_revoking_keys_in_the_admin(as_staff, mine, theirs):
    _, raw = api_key_create(tenant=mine.customer.tenant, name="Temp")
    temp = ApiKey.objects.get(name="Temp")
    response = as_staff.post("/admin/warehouse/apikey/", {
        "action": "revoke", "_selected_action": [temp.pk, theirs.key.pk]}, follow=True)
    assert "1 key(s) revoked." in text(response)
    assert api_key_authenticate(raw_key=raw) is None
    theirs.key.refresh_from_db()
    assert theirs.key.revoked_at is None


# --- who gets in -----------------------------------------------------------------------------------

def test_customer_user_cannot_get_into_the_admin(client, mine):
    client.force_login(mine.user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")
    assert client.get("/admin/warehouse/outboundorder/").status_code == 302


def test_customer_user_with_the_staff_flag_still_cannot_get_in(client, mine):
    mine.user.is_staff = True
    mine.user.save()
    client.force_login(mine.user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")
    response = client.get("/admin/warehouse/outboundorder/", follow=True)
    assert "SO-MINE" not in text(response)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert 'id="login-form"' in text(response)


def test_customer_user_cannot_log_in_through_the_admin_login(client, mine):
    response = client.post("/admin/login/?next=/admin/",
                           {"username": mine.user.username, "password": "pw-for-tests-1", "next": "/admin/"})
    assert response.status_code == 200
    assert "staff account" in text(response)


def test_tenant_admin_without_staff_access_cannot_get_in(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_superuser_without_tenant_sees_every_tenant(client, mine, theirs):
    root = UserFactory(tenant=None, username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    body = text(client.get("/admin/warehouse/outboundorder/"))
    assert "SO-MINE" in body and "SO-THEIRS" in body
