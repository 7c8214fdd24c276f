"""The server-rendered pages through Django's test client: content, login, tenant and customer scoping,
the order actions and the dispatch form (against the real services and PostgreSQL)."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client

from tests.factories import (
    CustomerFactory,
    ProductFactory,
    StockLevelFactory,
    UserFactory,
    WarehouseFactory,
    make_order,
)
from warehouse.models import Consignment, Package, StockLevel
from warehouse.services import AddressData, PackageSpec, consignment_create, outbound_order_dispatch

pytestmark = pytest.mark.django_db


# --- data ----------------------------------------------------------------------------------------

@pytest.fixture
def products(customer, warehouse):
    mug = ProductFactory(customer=customer, code="MUG-1", name="Blue mug")
    tee = ProductFactory(customer=customer, code="TEE-1", name="Koala tee")
    StockLevelFactory(product=mug, warehouse=warehouse, on_hand=10)
    StockLevelFactory(product=tee, warehouse=warehouse, on_hand=5)
    return mug, tee


@pytest.fixture
def order(customer, warehouse, products):
    """Allocated, ready to dispatch: 3 mugs and 2 tees."""
    mug, tee = products
    return make_order(
        customer=customer, warehouse=warehouse, products_qty=[(mug, 3), (tee, 2)], reference="SO-A1",
        allocate=True, shipping_method="Express",
        delivery_address=AddressData(contact_name="Ada Buyer", street_address="1 George St", city="Sydney",
                                     postcode="2000", country="AU"))


@pytest.fixture
def draft(customer, warehouse, products):
    mug, _ = products
    return make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 4)], reference="SO-DRAFT")


def dispatched_order(*, customer, warehouse, reference, tracking):
    product = ProductFactory(customer=customer, code=f"SKU-{reference}")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=4)
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(product, 1)],
                       reference=reference, allocate=True)
    consignment = consignment_create(order=order, carrier="Sendle", packages=[PackageSpec(tracking)])
    order = outbound_order_dispatch(order=order, consignment=consignment)
    return SimpleNamespace(customer=customer, order=order, consignment=consignment,
                           package=consignment.packages.get())


@pytest.fixture
def sibling(tenant, warehouse):
    """Another customer of the same 3PL, with a dispatched order."""
    customer = CustomerFactory(tenant=tenant, code="SIB", name="Sibling Brand")
    customer.warehouses.add(warehouse)
    return dispatched_order(customer=customer, warehouse=warehouse, reference="SO-SIBLING",
                            tracking="TRK-SIBLING")


@pytest.fixture
def foreign(other_tenant):
    """Tenant B: its own customer, warehouse and a dispatched order, an open order and a user."""
    customer = CustomerFactory(tenant=other_tenant, code="FOREIGN", name="Foreign Brand")
    warehouse = WarehouseFactory(tenant=other_tenant, code="FWH")
    customer.warehouses.add(warehouse)
    data = dispatched_order(customer=customer, warehouse=warehouse, reference="SO-FOREIGN",
                            tracking="TRK-FOREIGN")
    product = ProductFactory(customer=customer, code="FOREIGN-SKU")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=5)
    data.open_order = make_order(customer=customer, warehouse=warehouse, products_qty=[(product, 2)],
                                 reference="SO-FOREIGN-OPEN", allocate=True)
    data.product = product
    return data


@pytest.fixture
def as_admin(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def as_customer(customer_user):
    client = Client()
    client.force_login(customer_user)
    return client


def level(product, warehouse):
    row = StockLevel.objects.get(product=product, warehouse=warehouse)
    return row.on_hand, row.allocated


def text(response) -> str:
    return response.content.decode()


def test_runs_on_postgresql():
    assert connection.vendor == "postgresql"


# --- login -----------------------------------------------------------------------------------------

def test_login_page_logs_a_tenant_admin_in(client, admin_user, tenant):
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'name="username"' in text(page) and 'name="password"' in text(page)

    response = client.post("/login/", {"username": admin_user.username, "password": "pw-for-tests-1"},
                           follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert f"{admin_user.username} · {tenant.name}" in text(response)


def test_login_refuses_a_wrong_password(client, admin_user):
    response = client.post("/login/", {"username": admin_user.username, "password": "wrong"})
    assert response.status_code == 200
    assert "didn't match" in text(response)
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(as_admin):
    response = as_admin.post("/logout/")
    assert response.status_code == 302 and response.url == "/login/"
    assert as_admin.get("/orders/").url == "/login/?next=/orders/"


@pytest.mark.parametrize("path", ["/", "/customers/", "/orders/", "/orders/{id}/", "/consignments/"])
def test_pages_need_a_login(client, order, path):
    url = path.format(id=order.id)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"/login/?next={url}"


@pytest.mark.parametrize("path", ["allocate", "pick", "pack", "reject", "cancel", "dispatch", "tracking"])
def test_order_posts_need_a_login(client, order, path):
    response = client.post(f"/orders/{order.id}/{path}/", {"carrier": "DHL"})
    assert response.status_code == 302 and response.url.startswith("/login/")
    order.refresh_from_db()
    assert order.status == "awaiting_pick"
    assert not Consignment.objects.filter(order=order).exists()


def test_a_login_without_a_tenant_is_refused(client, db):
    platform = UserFactory(tenant=None, username="platform")
    client.force_login(platform)
    assert client.get("/orders/").status_code == 403


# --- every page renders for a tenant admin -------------------------------------------------------

def test_dashboard_counts_orders_by_status(as_admin, tenant, order, draft, sibling):
    response = as_admin.get("/")
    assert response.status_code == 200
    body = text(response)
    assert f"<h1>{tenant.name}</h1>" in body
    assert 'data-status="awaiting_pick">1</div>' in body
    assert 'data-status="draft">1</div>' in body
    assert 'data-status="dispatched">1</div>' in body
    assert 'data-status="cancelled">0</div>' in body
    for reference in ("SO-A1", "SO-DRAFT", "SO-SIBLING"):
        assert reference in body
    assert 'href="/admin/"' not in body        # this admin has no staff access


def test_dashboard_links_the_admin_for_staff(client, admin_user):
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    assert 'href="/admin/"' in text(client.get("/"))


def test_customer_list_shows_customers_and_their_warehouses(as_admin, customer, warehouse, sibling):
    response = as_admin.get("/customers/")
    assert response.status_code == 200
    body = text(response)
    assert customer.name in body and "Sibling Brand" in body
    assert f'<span class="badge">{warehouse.code}</span>' in body
    assert f'href="/orders/?customer={customer.id}"' in body


def test_order_list_shows_orders(as_admin, order, sibling):
    response = as_admin.get("/orders/")
    assert response.status_code == 200
    body = text(response)
    assert f'<a href="/orders/{order.id}/">SO-A1</a>' in body
    assert f'<a href="/orders/{sibling.order.id}/">SO-SIBLING</a>' in body
    assert "Awaiting pick" in body and "Express" in body
    assert "2 orders" in body


@pytest.mark.parametrize("query, shown, hidden", [
    ("status=draft", ["SO-DRAFT"], ["SO-A1", "SO-SIBLING"]),
    ("status=dispatched", ["SO-SIBLING"], ["SO-A1", "SO-DRAFT"]),
    ("q=a1", ["SO-A1"], ["SO-DRAFT", "SO-SIBLING"]),
    ("customer={sibling}", ["SO-SIBLING"], ["SO-A1", "SO-DRAFT"]),
    ("customer={customer}&status=awaiting_pick", ["SO-A1"], ["SO-DRAFT", "SO-SIBLING"]),
])
def test_order_list_filters(as_admin, customer, order, draft, sibling, query, shown, hidden):
    body = text(as_admin.get("/orders/?" + query.format(customer=customer.id, sibling=sibling.customer.id)))
    for reference in shown:
        assert f">{reference}</a>" in body
    for reference in hidden:
        assert f">{reference}</a>" not in body


def test_order_list_filters_by_warehouse(as_admin, customer, tenant, order, products):
    second = WarehouseFactory(tenant=tenant, code="LAX")
    customer.warehouses.add(second)
    mug, _ = products
    make_order(customer=customer, warehouse=second, products_qty=[(mug, 1)], reference="SO-LAX")
    body = text(as_admin.get(f"/orders/?warehouse={second.id}"))
    assert ">SO-LAX</a>" in body and ">SO-A1</a>" not in body
    assert f'<option value="{second.id}" selected>' in body


def test_order_list_paginates_and_keeps_the_filters(as_admin, customer, warehouse, products):
    mug, _ = products
    for n in range(51):
        make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 1)], reference=f"SO-P{n:03d}")
    first = text(as_admin.get("/orders/?status=draft"))
    assert "Page 1 of 2 · 51 orders" in first
    assert first.count('<tr>\n      <td><a href="/orders/') == 50
    assert ">SO-P050</a>" in first and ">SO-P000</a>" not in first      # newest first
    assert 'href="?status=draft&page=2"' in first
    second = text(as_admin.get("/orders/?status=draft&page=2"))
    assert "Page 2 of 2" in second and ">SO-P000</a>" in second and ">SO-P050</a>" not in second


def test_order_detail_shows_the_order_and_the_dispatch_form(as_admin, order, products):
    response = as_admin.get(f"/orders/{order.id}/")
    assert response.status_code == 200
    body = text(response)
    assert "Order SO-A1" in body
    assert '<span class="badge awaiting_pick" id="order-status">Awaiting pick</span>' in body
    assert "Ada Buyer" in body and "1 George St" in body and "Express" in body
    mug, tee = products
    assert "<td>MUG-1</td><td>Blue mug</td><td>3</td>" in body
    assert "<td>TEE-1</td><td>Koala tee</td><td>2</td>" in body
    assert "Mark picked" in body and "Cancel order" in body and "Allocate stock" not in body
    # One package by default, holding everything.
    mug_line, tee_line = order.lines.all()
    assert 'name="tracking_0"' in body and 'name="tracking_1"' not in body
    assert f'name="qty_{mug_line.id}_0" value="3"' in body
    assert f'name="qty_{tee_line.id}_0" value="2"' in body


def test_order_detail_renders_a_grid_for_several_packages(as_admin, order):
    body = text(as_admin.get(f"/orders/{order.id}/?packages=3"))
    mug_line, _ = order.lines.all()
    assert 'name="package_count" value="3"' in body
    assert all(f'name="tracking_{p}"' in body for p in range(3))
    assert f'name="qty_{mug_line.id}_0" value="3"' in body
    assert f'name="qty_{mug_line.id}_1" value="0"' in body
    assert f'name="qty_{mug_line.id}_2" value="0"' in body
    assert "<th>Package 3</th>" in body
    assert 'aria-label="MUG-1 in package 3"' in body
    assert f'href="/orders/{order.id}/?packages=3#dispatch" aria-current="true">3</a>' in body


def test_order_detail_of_a_draft_has_no_dispatch_form(as_admin, draft):
    body = text(as_admin.get(f"/orders/{draft.id}/"))
    assert "Allocate stock" in body
    assert 'id="dispatch"' not in body


def test_consignment_list_shows_carrier_and_tracking(as_admin, sibling):
    response = as_admin.get("/consignments/")
    assert response.status_code == 200
    body = text(response)
    assert f'<a href="/orders/{sibling.order.id}/">SO-SIBLING</a>' in body
    assert "Sendle" in body and "TRK-SIBLING" in body and "Sibling Brand" in body


# --- tenant isolation ------------------------------------------------------------------------------

def test_lists_never_show_another_tenants_rows(as_admin, order, foreign):
    for path in ("/", "/customers/", "/orders/", "/consignments/",
                 f"/orders/?customer={foreign.customer.id}", "/orders/?q=FOREIGN"):
        response = as_admin.get(path)
        assert response.status_code == 200, path
        body = text(response)
        assert "SO-FOREIGN" not in body and "Foreign Brand" not in body and "TRK-FOREIGN" not in body, path
    assert ">SO-A1</a>" in text(as_admin.get("/orders/"))


def test_an_unknown_filter_value_shows_no_orders(as_admin, order, foreign):
    """Another tenant's customer id is not a filter that silently falls back to every order."""
    body = text(as_admin.get(f"/orders/?customer={foreign.customer.id}"))
    assert ">SO-A1</a>" not in body
    assert "0 orders" in body
    assert "Select a valid choice." in body


def test_another_tenants_order_is_not_found(as_admin, foreign):
    assert as_admin.get(f"/orders/{foreign.order.id}/").status_code == 404
    assert as_admin.get(f"/orders/{foreign.open_order.id}/").status_code == 404


@pytest.mark.parametrize("action", ["allocate", "pick", "pack", "reject", "cancel"])
def test_actions_on_another_tenants_order_are_not_found(as_admin, foreign, action):
    assert as_admin.post(f"/orders/{foreign.open_order.id}/{action}/").status_code == 404
    foreign.open_order.refresh_from_db()
    assert foreign.open_order.status == "awaiting_pick"


def test_dispatch_and_tracking_on_another_tenants_order_are_not_found(as_admin, foreign):
    line = foreign.open_order.lines.get()
    response = as_admin.post(f"/orders/{foreign.open_order.id}/dispatch/", {
        "carrier": "DHL", "package_count": "1", "tracking_0": "X1", f"qty_{line.id}_0": "2"})
    assert response.status_code == 404
    response = as_admin.post(f"/orders/{foreign.order.id}/tracking/",
                             {f"tracking_{foreign.package.id}": "X2"})
    assert response.status_code == 404
    foreign.open_order.refresh_from_db()
    assert foreign.open_order.status == "awaiting_pick"
    assert not Consignment.objects.filter(order=foreign.open_order).exists()
    assert level(foreign.product, foreign.open_order.warehouse) == (5, 2)


def test_tracking_form_ignores_another_tenants_package(as_admin, order, foreign):
    Package.objects.filter(pk=foreign.package.pk).update(tracking_number="")
    mine = consignment_create(order=order, carrier="DHL", packages=[PackageSpec("")])
    outbound_order_dispatch(order=order, consignment=mine)
    response = as_admin.post(f"/orders/{order.id}/tracking/", {f"tracking_{foreign.package.id}": "STOLEN"},
                             follow=True)
    assert "Give at least one package" in text(response)
    foreign.package.refresh_from_db()
    assert foreign.package.tracking_number == ""


# --- customer users ------------------------------------------------------------------------------

def test_customer_user_sees_only_its_customer(as_customer, customer, order, sibling, foreign):
    body = text(as_customer.get("/"))
    assert f"<h1>{customer.name}</h1>" in body
    assert "SO-A1" in body and "SO-SIBLING" not in body
    assert 'data-status="dispatched">0</div>' in body      # the sibling's dispatched order is not counted

    body = text(as_customer.get("/customers/"))
    assert customer.name in body and "Sibling Brand" not in body and "Foreign Brand" not in body

    body = text(as_customer.get("/orders/"))
    assert ">SO-A1</a>" in body and "SO-SIBLING" not in body and "SO-FOREIGN" not in body
    assert "Sibling Brand" not in body      # not even as a filter choice

    body = text(as_customer.get(f"/orders/?customer={sibling.customer.id}"))
    assert "SO-SIBLING" not in body

    body = text(as_customer.get("/consignments/"))
    assert "TRK-SIBLING" not in body and "TRK-FOREIGN" not in body and "No consignments yet." in body


def test_customer_user_sees_its_dispatched_consignment(as_customer, customer, warehouse):
    mine = dispatched_order(customer=customer, warehouse=warehouse, reference="SO-MINE", tracking="TRK-MINE")
    body = text(as_customer.get("/consignments/"))
    assert ">SO-MINE</a>" in body and "TRK-MINE" in body
    assert "TRK-MINE" in text(as_customer.get(f"/orders/{mine.order.id}/"))


def test_customer_user_cannot_open_another_customers_order(as_customer, sibling, foreign):
    assert as_customer.get(f"/orders/{sibling.order.id}/").status_code == 404
    assert as_customer.get(f"/orders/{foreign.order.id}/").status_code == 404


def test_customer_user_reads_its_order_without_actions(as_customer, order):
    response = as_customer.get(f"/orders/{order.id}/")
    assert response.status_code == 200
    body = text(response)
    assert "Order SO-A1" in body and "Ada Buyer" in body
    assert "Mark picked" not in body and "Cancel order" not in body and 'id="dispatch"' not in body
    assert 'href="/admin/"' not in body


@pytest.mark.parametrize("action", ["allocate", "pick", "pack", "reject", "cancel", "dispatch", "tracking"])
def test_customer_user_cannot_act(as_customer, order, products, warehouse, action):
    mug_line, tee_line = order.lines.all()
    response = as_customer.post(f"/orders/{order.id}/{action}/", {
        "carrier": "DHL", "package_count": "1", f"qty_{mug_line.id}_0": "3", f"qty_{tee_line.id}_0": "2"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "awaiting_pick"
    assert not Consignment.objects.exists()
    assert level(products[0], warehouse) == (10, 3)


# --- actions ---------------------------------------------------------------------------------------

def test_allocate_pick_pack_show_messages_and_move_stock(as_admin, draft, products, warehouse):
    mug, _ = products
    response = as_admin.post(f"/orders/{draft.id}/allocate/", follow=True)
    assert response.redirect_chain == [(f"/orders/{draft.id}/", 302)]
    assert "Order SO-DRAFT is now awaiting pick." in text(response)
    assert level(mug, warehouse) == (10, 4)

    assert "Order SO-DRAFT is now picked." in text(as_admin.post(f"/orders/{draft.id}/pick/", follow=True))
    response = as_admin.post(f"/orders/{draft.id}/pack/", follow=True)
    assert "Order SO-DRAFT is now packed." in text(response)
    assert '<span class="badge packed" id="order-status">Packed</span>' in text(response)
    draft.refresh_from_db()
    assert draft.status == "packed"


def test_reject_releases_stock_and_shows_the_reason(as_admin, order, products, warehouse):
    response = as_admin.post(f"/orders/{order.id}/reject/", {"reason": "Undeliverable address"}, follow=True)
    body = text(response)
    assert "Order SO-A1 is now rejected." in body
    assert "<dt>Reason</dt><dd>Undeliverable address</dd>" in body
    assert level(products[0], warehouse) == (10, 0)


def test_cancel_releases_stock(as_admin, order, products, warehouse):
    assert "Order SO-A1 is now cancelled." in text(as_admin.post(f"/orders/{order.id}/cancel/", follow=True))
    assert level(products[1], warehouse) == (5, 0)


def test_refused_transitions_are_shown_as_errors(as_admin, draft, order, products, warehouse):
    response = as_admin.post(f"/orders/{draft.id}/pick/", follow=True)
    assert ('<li class="msg error" role="status">Order SO-DRAFT is draft; it cannot be marked picked.</li>'
            in text(response))
    draft.refresh_from_db()
    assert draft.status == "draft"

    response = as_admin.post(f"/orders/{order.id}/allocate/", follow=True)
    assert "Order SO-A1 is awaiting pick; it cannot be allocated." in text(response)
    assert level(products[0], warehouse) == (10, 3)


def test_allocation_short_of_stock_is_shown(as_admin, customer, warehouse, products):
    mug, _ = products
    big = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 11)], reference="SO-BIG")
    response = as_admin.post(f"/orders/{big.id}/allocate/", follow=True)
    assert "MUG-1 (needs 11, 10 available)" in text(response)
    assert level(mug, warehouse) == (10, 0)


def test_unknown_action_is_not_found(as_admin, order):
    assert as_admin.post(f"/orders/{order.id}/teleport/").status_code == 404


def test_actions_are_posts_only(as_admin, order):
    assert as_admin.get(f"/orders/{order.id}/cancel/").status_code == 405
    order.refresh_from_db()
    assert order.status == "awaiting_pick"


# --- the dispatch form -----------------------------------------------------------------------------

def dispatch(client, order, packages, *, carrier="Australia Post", service="Parcel Post",
             run_date="2030-05-01"):
    """packages: [(tracking, {line: qty})]."""
    data = {"carrier": carrier, "service": service, "delivery_run_date": run_date,
            "package_count": str(len(packages))}
    for p, (tracking, quantities) in enumerate(packages):
        data[f"tracking_{p}"] = tracking
        for line in order.lines.all():
            data[f"qty_{line.id}_{p}"] = str(quantities.get(line, 0))
    return client.post(f"/orders/{order.id}/dispatch/", data, follow=True)


def test_dispatch_with_one_package(as_admin, order, products, warehouse):
    mug_line, tee_line = order.lines.all()
    response = dispatch(as_admin, order, [("AP-0001", {mug_line: 3, tee_line: 2})])
    assert response.redirect_chain == [(f"/orders/{order.id}/", 302)]
    body = text(response)
    assert "Order SO-A1 dispatched with Australia Post." in body
    assert '<span class="badge dispatched" id="order-status">Dispatched</span>' in body
    assert '<td class="tracking">AP-0001</td>' in body

    order.refresh_from_db()
    assert order.status == "dispatched" and order.dispatched_at is not None
    consignment = Consignment.objects.get(order=order)
    assert (consignment.carrier, consignment.service, str(consignment.delivery_run_date),
            consignment.status) == ("Australia Post", "Parcel Post", "2030-05-01", "dispatched")
    package = consignment.packages.get()
    assert package.tracking_number == "AP-0001"
    assert sorted((pl.order_line_id, pl.quantity) for pl in package.lines.all()) == [
        (mug_line.id, 3), (tee_line.id, 2)]
    mug, tee = products
    assert level(mug, warehouse) == (7, 0)
    assert level(tee, warehouse) == (3, 0)


def test_dispatch_with_three_packages_and_tracking(as_admin, order, products, warehouse):
    mug_line, tee_line = order.lines.all()
    response = dispatch(as_admin, order, [
        ("TRK-1", {mug_line: 1, tee_line: 2}),
        ("TRK-2", {mug_line: 1}),
        ("TRK-3", {mug_line: 1}),
    ])
    assert response.status_code == 200
    body = text(response)
    assert all(f'<td class="tracking">TRK-{n}</td>' in body for n in (1, 2, 3))
    assert "<td>1 × MUG-1, 2 × TEE-1</td>" in body

    consignment = Consignment.objects.get(order=order)
    contents = [(p.tracking_number, sorted((pl.order_line.product.code, pl.quantity) for pl in p.lines.all()))
                for p in consignment.packages.all()]
    assert contents == [("TRK-1", [("MUG-1", 1), ("TEE-1", 2)]), ("TRK-2", [("MUG-1", 1)]),
                        ("TRK-3", [("MUG-1", 1)])]
    mug, tee = products
    assert level(mug, warehouse) == (7, 0)
    assert level(tee, warehouse) == (3, 0)
    order.refresh_from_db()
    assert order.status == "dispatched"


def test_dispatch_with_quantities_not_matching_the_order_writes_nothing(as_admin, order, products, warehouse):
    mug_line, tee_line = order.lines.all()
    response = dispatch(as_admin, order, [("TRK-1", {mug_line: 1, tee_line: 2}), ("TRK-2", {mug_line: 1})])
    assert response.status_code == 400
    body = text(response)
    assert "Line MUG-1: the packages hold 2 but the order has 3." in body
    # The grid comes back as it was typed, to be corrected.
    assert 'name="package_count" value="2"' in body
    assert f'name="qty_{mug_line.id}_1" value="1"' in body
    assert 'name="tracking_1" value="TRK-2"' in body
    # This page sits at the dispatch URL, which takes POSTs only: the package links go to the order.
    assert f'href="/orders/{order.id}/?packages=3#dispatch"' in body
    assert 'href="?packages' not in body

    assert not Consignment.objects.exists() and not Package.objects.exists()
    order.refresh_from_db()
    assert order.status == "awaiting_pick" and order.dispatched_at is None
    assert level(products[0], warehouse) == (10, 3)
    assert level(products[1], warehouse) == (5, 2)


def test_dispatch_with_an_empty_extra_package_is_refused(as_admin, order, products, warehouse):
    mug_line, tee_line = order.lines.all()
    response = dispatch(as_admin, order, [("TRK-1", {mug_line: 3, tee_line: 2}), ("TRK-2", {})])
    assert response.status_code == 400
    assert "Package 2: with several packages, each must list its lines." in text(response)
    assert not Consignment.objects.exists()
    assert level(products[0], warehouse) == (10, 3)


def test_dispatch_without_a_carrier_shows_the_field_error(as_admin, order, products, warehouse):
    mug_line, tee_line = order.lines.all()
    response = dispatch(as_admin, order, [("TRK-1", {mug_line: 3, tee_line: 2})], carrier="")
    assert response.status_code == 400
    assert '<ul class="errorlist"' in text(response) and "This field is required." in text(response)
    assert not Consignment.objects.exists()


def test_dispatch_with_a_negative_quantity_is_refused(as_admin, order, products, warehouse):
    mug_line, tee_line = order.lines.all()
    response = dispatch(as_admin, order, [("TRK-1", {mug_line: 4, tee_line: 2}), ("TRK-2", {mug_line: -1})])
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in text(response)
    assert not Consignment.objects.exists()
    assert level(products[0], warehouse) == (10, 3)


def test_dispatch_of_a_draft_is_refused(as_admin, draft, products, warehouse):
    (line,) = draft.lines.all()
    response = dispatch(as_admin, draft, [("TRK-1", {line: 4})])
    assert response.status_code == 400
    assert "Order SO-DRAFT is draft; it cannot be dispatched." in text(response)
    assert not Consignment.objects.exists()
    assert level(products[0], warehouse) == (10, 0)


def test_dispatch_twice_is_refused(as_admin, order, products, warehouse):
    mug_line, tee_line = order.lines.all()
    dispatch(as_admin, order, [("TRK-1", {mug_line: 3, tee_line: 2})])
    response = dispatch(as_admin, order, [("TRK-9", {mug_line: 3, tee_line: 2})])
    assert response.status_code == 400
    assert "Order SO-A1 is dispatched; it cannot be given a consignment." in text(response)
    assert Consignment.objects.count() == 1 and Package.objects.get().tracking_number == "TRK-1"
    assert level(products[0], warehouse) == (7, 0)


# --- tracking added later --------------------------------------------------------------------------

def test_add_tracking_to_a_dispatched_package_later(as_admin, order):
    mug_line, tee_line = order.lines.all()
    dispatch(as_admin, order, [("TRK-1", {mug_line: 3}), ("", {tee_line: 2})])
    first, second = Package.objects.filter(consignment__order=order).order_by("id")

    body = text(as_admin.get(f"/orders/{order.id}/"))
    assert "Add tracking" in body
    assert f'name="tracking_{second.id}"' in body and f'name="tracking_{first.id}"' not in body
    assert f'<label for="id_tracking_{second.id}">Package 2 tracking number:</label>' in body

    response = as_admin.post(f"/orders/{order.id}/tracking/", {f"tracking_{second.id}": "TRK-2"}, follow=True)
    body = text(response)
    assert "Tracking saved." in body
    assert '<td class="tracking">TRK-2</td>' in body
    assert "Add tracking" not in body           # every package has tracking now
    second.refresh_from_db()
    assert second.tracking_number == "TRK-2"


def test_add_tracking_with_nothing_filled_in_is_an_error(as_admin, order):
    mug_line, tee_line = order.lines.all()
    dispatch(as_admin, order, [("", {mug_line: 3, tee_line: 2})])
    package = Package.objects.get(consignment__order=order)
    response = as_admin.post(f"/orders/{order.id}/tracking/", {f"tracking_{package.id}": "  "}, follow=True)
    assert "Give at least one package" in text(response)
    package.refresh_from_db()
    assert package.tracking_number == ""


def test_add_tracking_to_an_order_without_consignment_is_not_found(as_admin, order):
    assert as_admin.post(f"/orders/{order.id}/tracking/", {"tracking_1": "X"}).status_code == 404



def test_order_with_consignment_made_beforehand_dispatches_from_the_page(client, admin_user, customer, warehouse):
    from tests.factories import ProductFactory, StockLevelFactory, make_order
    from warehouse.services import PackageSpec, consignment_create

    product = ProductFactory(customer=customer)
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=5)
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(product, 2)], allocate=True)
    consignment_create(order=order, carrier="DHL", packages=[PackageSpec("DHL1")])
    client.force_login(admin_user)
    page = client.get(f"/orders/{order.id}/")
    assert b'id="dispatch-existing"' in page.content
    client.post(f"/orders/{order.id}/dispatch/", {"use_existing": "1"})
    order.refresh_from_db()
    assert order.status == "dispatched"
    assert product.stock_levels.get().on_hand == 3
