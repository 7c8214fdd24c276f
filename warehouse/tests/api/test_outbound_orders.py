import datetime as dt

import pytest

from tests.factories import make_order
from warehouse.models import Address, Consignment, OutboundOrder, StockLevel
from warehouse.services import PackageSpec, consignment_create

from .conftest import collect, db_state, error

ORDERS = "/api/v1/outbound-orders/"


def level(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse)


@pytest.fixture
def body(customer, warehouse, stocked):
    return {
        "customer": customer.id, "warehouse": warehouse.id, "reference": "WEB-1001",
        "shipping_method": "Express",
        "required_collection_date": "2025-03-03", "required_delivery_date": "2025-03-05",
        "delivery_address": {"contact_name": "Sam Buyer", "street_address": "1 Main St", "city": "Perth",
                             "postcode": "6000", "country": "AU", "telephone": "0400000000"},
        "lines": [{"product": stocked.mug.id, "quantity": 3},
                  {"product_code": "TEE", "quantity": 2, "external_line_id": "L-2"}],
    }


def test_create_order_with_address_and_lines(api, body, customer, warehouse, stocked):
    response = api.post(ORDERS, body, format="json")
    assert response.status_code == 201, response.content
    order = OutboundOrder.objects.get(pk=response.json()["id"])
    assert (order.tenant, order.customer, order.warehouse, order.reference, order.status, order.source) == (
        customer.tenant, customer, warehouse, "WEB-1001", "draft", "api")
    assert order.required_collection_date == dt.date(2025, 3, 3)
    assert [(line.product, line.quantity, line.external_line_id) for line in order.lines.all()] == [
        (stocked.mug, 3, ""), (stocked.tee, 2, "L-2")]
    assert (order.delivery_address.city, order.delivery_address.tenant) == ("Perth", customer.tenant)
    data = response.json()
    assert [(line["product_code"], line["quantity"]) for line in data["lines"]] == [("MUG", 3), ("TEE", 2)]
    assert data["delivery_address"]["contact_name"] == "Sam Buyer"
    assert level(stocked.mug, warehouse).allocated == 0


def test_create_with_allocate_reserves_stock(api, body, warehouse, stocked):
    response = api.post(ORDERS, {**body, "allocate": True}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "awaiting_pick"
    assert (level(stocked.mug, warehouse).allocated, level(stocked.tee, warehouse).allocated) == (3, 2)


def test_create_with_allocate_and_short_stock_creates_nothing(api, body):
    body["lines"][1]["quantity"] = 6        # 5 TEE on hand
    before = db_state()
    response = api.post(ORDERS, {**body, "allocate": True}, format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "insufficient_stock"
    assert "TEE (needs 6, 5 available)" in error(response)["message"]
    assert db_state() == before


@pytest.mark.parametrize("change, field, message", [
    (lambda b: b.pop("lines"), "lines", "This field is required."),
    (lambda b: b.update(lines=[]), "lines", "may not be empty"),
    (lambda b: b["lines"][0].update(quantity=0), "lines[0].quantity", "greater than or equal to 1"),
    (lambda b: b["lines"][0].update(product_code="MUG"), "lines[0]", "one of them"),
    (lambda b: b["lines"][1].update(product_code="NOPE"), "lines[1].product_code",
     "has no product with code NOPE"),
    (lambda b: b["lines"][0].update(product=987654321), "lines[0].product", "Product 987654321 not found."),
    (lambda b: b.update(reference=""), "reference", "may not be blank"),
    (lambda b: b.update(customer=None), "customer", "may not be null"),
    (lambda b: b.update(required_delivery_date="next tuesday"), "required_delivery_date", "wrong format"),
    (lambda b: b["delivery_address"].update(email="not-an-email"), "delivery_address.email", "valid email"),
    (lambda b: b["delivery_address"].update(country="Australia"), "delivery_address.country",
     "no more than 2"),
])
def test_invalid_order_is_refused_and_nothing_written(api, body, change, field, message):
    change(body)
    before = db_state()
    response = api.post(ORDERS, body, format="json")
    assert response.status_code == 400, response.content
    assert error(response)["code"] == "invalid"
    assert message in str(error(response)["fields"][field])
    assert db_state() == before


def test_another_customers_product_or_warehouse_is_refused(api, body, neighbour):
    before = db_state()
    response = api.post(ORDERS, {**body, "lines": [{"product": neighbour.product.id, "quantity": 1}]},
                        format="json")
    assert response.status_code == 400
    assert "does not belong to" in error(response)["message"]
    response = api.post(ORDERS, {**body, "lines": [{"product_code": "N-MUG", "quantity": 1}]}, format="json")
    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["lines[0].product_code"]
    response = api.post(ORDERS, {**body, "warehouse": neighbour.warehouse.id}, format="json")
    assert response.status_code == 400
    assert error(response)["fields"] == {"warehouse": [error(response)["message"]]}
    assert "may not use warehouse" in error(response)["message"]
    assert db_state() == before


def test_another_tenants_ids_in_the_body_are_refused(api, body, theirs):
    before = db_state()
    for field, value in (("customer", theirs.customer.id), ("warehouse", theirs.warehouse.id)):
        response = api.post(ORDERS, {**body, field: value}, format="json")
        assert response.status_code == 400
        assert error(response)["fields"] == {field: [f"{field.capitalize()} {value} not found."]}
    response = api.post(ORDERS, {**body, "lines": [{"product": theirs.product.id, "quantity": 1}]},
                        format="json")
    assert response.status_code == 400
    assert error(response)["fields"] == {"lines[0].product": [f"Product {theirs.product.id} not found."]}
    assert db_state() == before


def test_retrieve_shows_lines_address_and_consignments(api, customer, warehouse, stocked):
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 2)], allocate=True)
    consignment_create(order=order, carrier="AusPost", service="Parcel Post", packages=[PackageSpec("AP1")])
    response = api.get(f"{ORDERS}{order.id}/")
    assert response.status_code == 200
    data = response.json()
    assert (data["reference"], data["status"], data["customer"], data["warehouse_code"]) == (
        order.reference, "awaiting_pick", customer.id, warehouse.code)
    assert data["delivery_address"] is None and data["dispatched_at"] is None and data["updated_at"]
    [line] = data["lines"]
    [consignment] = data["consignments"]
    assert (consignment["carrier"], consignment["service"], consignment["status"]) == (
        "AusPost", "Parcel Post", "open")
    assert consignment["packages"][0]["tracking_number"] == "AP1"
    assert consignment["packages"][0]["lines"] == [{"line": line["id"], "product_code": "MUG", "quantity": 2}]


def test_list_filters(api, customer, warehouse, stocked, neighbour):
    draft = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)])
    allocated = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)],
                           allocate=True)
    assert collect(api, ORDERS, status="draft")[0] == [draft.id]
    assert set(collect(api, ORDERS, status="awaiting_pick")[0]) == {allocated.id, neighbour.order.id}
    assert set(collect(api, ORDERS, customer=customer.id)[0]) == {draft.id, allocated.id}
    assert collect(api, ORDERS, warehouse=neighbour.warehouse.id)[0] == [neighbour.order.id]
    response = api.get(ORDERS, {"status": "lost"})
    assert response.status_code == 400 and "status" in error(response)["fields"]


def test_list_modified_since(api, customer, warehouse, stocked):
    old = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)])
    new = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)])
    OutboundOrder.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    OutboundOrder.objects.filter(pk=new.pk).update(updated_at=dt.datetime(2025, 2, 1, tzinfo=dt.UTC))
    assert collect(api, ORDERS, modified_since="2025-01-15T00:00:00Z")[0] == [new.id]
    assert collect(api, ORDERS, modified_since="2025-01-15T10:00:00+10:00")[0] == [new.id]
    assert set(collect(api, ORDERS, modified_since="2024-12-31")[0]) == {old.id, new.id}
    # An unescaped "+" arrives as a space; it still means the offset.
    response = api.get(f"{ORDERS}?modified_since=2025-02-01T10:00:01+10:00")
    assert [row["id"] for row in response.json()["results"]] == []
    response = api.get(f"{ORDERS}?modified_since=2025-02-01T09:59:59+10:00")
    assert [row["id"] for row in response.json()["results"]] == [new.id]


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01T00:00:00Z", "2025-01-01T25:00"])
def test_bad_modified_since_says_so(api, value):
    response = api.get(ORDERS, {"modified_since": value})
    assert response.status_code == 400
    body = error(response)
    assert "ISO-8601" in body["message"] and list(body["fields"]) == ["modified_since"]


def test_list_pages_through_every_order_once(api, customer, warehouse, stocked):
    made = {make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)]).id
            for _ in range(7)}
    ids, pages = collect(api, ORDERS, page_size=3, customer=customer.id)
    assert pages == 3
    assert len(ids) == len(set(ids)) and set(ids) == made


def test_allocate_pick_pack_dispatch_with_existing_consignment(api, customer, warehouse, stocked,
                                                              django_capture_on_commit_callbacks):
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 4)])
    url = f"{ORDERS}{order.id}"
    assert api.post(f"{url}/allocate/").json()["status"] == "awaiting_pick"
    assert level(stocked.mug, warehouse).allocated == 4
    assert api.post(f"{url}/pick/").json()["status"] == "picked"
    assert api.post(f"{url}/pack/").json()["status"] == "packed"
    consignment_create(order=order, carrier="AusPost", packages=[PackageSpec("AP9")])
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"{url}/dispatch/", format="json")
    assert response.status_code == 200
    assert len(callbacks) == 1          # the dispatched event, published after commit
    data = response.json()
    assert data["status"] == "dispatched" and data["dispatched_at"]
    assert data["consignments"][0]["status"] == "dispatched"
    assert (level(stocked.mug, warehouse).on_hand, level(stocked.mug, warehouse).allocated) == (6, 0)


def test_dispatch_with_inline_consignment(api, customer, warehouse, stocked):
    order = make_order(customer=customer, warehouse=warehouse,
                       products_qty=[(stocked.mug, 2), (stocked.tee, 1)], allocate=True)
    response = api.post(f"{ORDERS}{order.id}/dispatch/", {"carrier": "DHL", "service": "Express",
                                                          "delivery_run_date": "2025-03-04"}, format="json")
    assert response.status_code == 200, response.content
    [consignment] = response.json()["consignments"]
    assert (consignment["carrier"], consignment["delivery_run_date"], consignment["status"]) == (
        "DHL", "2025-03-04", "dispatched")
    assert sorted((p["product_code"], p["quantity"]) for p in consignment["packages"][0]["lines"]) == [
        ("MUG", 2), ("TEE", 1)]


def test_dispatch_without_consignment_or_allocation_is_refused(api, customer, warehouse, stocked):
    allocated = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 2)],
                           allocate=True)
    draft = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 2)])
    before = db_state()
    response = api.post(f"{ORDERS}{allocated.id}/dispatch/")
    assert response.status_code == 400
    assert error(response)["fields"] == {"consignment": [error(response)["message"]]}
    response = api.post(f"{ORDERS}{draft.id}/dispatch/", {"carrier": "DHL"}, format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "invalid_transition"
    assert db_state() == before


def test_dispatch_with_bad_inline_consignment_writes_nothing(api, customer, warehouse, stocked, neighbour):
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 2)], allocate=True)
    line = order.lines.get()
    before = db_state()
    for body, field in (
        ({"carrier": "DHL", "packages": [{"lines": [{"line": neighbour.line.id, "quantity": 1}]}]},
         "packages[0].lines[0].line"),
        ({"carrier": "DHL", "packages": [{"lines": [{"line": line.id, "quantity": 1}]}]}, "packages"),
        ({"carrier": "DHL", "packages": []}, "packages"),
        ({"service": "Express"}, "carrier"),
        ({"carrier": ""}, "carrier"),
    ):
        response = api.post(f"{ORDERS}{order.id}/dispatch/", body, format="json")
        assert response.status_code == 400, body
        assert field in error(response)["fields"], (body, error(response))
    assert db_state() == before


@pytest.mark.parametrize("action, status", [("reject", "rejected"), ("cancel", "cancelled")])
def test_reject_and_cancel_release_stock(api, customer, warehouse, stocked, action, status):
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 4)], allocate=True)
    response = api.post(f"{ORDERS}{order.id}/{action}/", {"reason": "Address undeliverable"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["status_reason"]) == (status, "Address undeliverable")
    assert level(stocked.mug, warehouse).allocated == 0
    before = db_state()
    response = api.post(f"{ORDERS}{order.id}/{action}/", {"reason": "again"}, format="json")
    assert response.status_code == 409
    response = api.post(f"{ORDERS}{order.id}/allocate/")
    assert response.status_code == 409
    assert db_state() == before


def test_reason_too_long_is_refused(api, customer, warehouse, stocked):
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)])
    before = db_state()
    response = api.post(f"{ORDERS}{order.id}/cancel/", {"reason": "x" * 301}, format="json")
    assert response.status_code == 400 and "reason" in error(response)["fields"]
    assert db_state() == before


def test_other_tenants_orders_are_invisible_and_untouchable(api, customer, warehouse, stocked, theirs):
    make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)])
    ids, _ = collect(api, ORDERS)
    assert theirs.order.id not in ids and len(ids) == 1
    assert api.get(ORDERS, {"customer": theirs.customer.id}).status_code == 400
    assert api.get(f"{ORDERS}{theirs.order.id}/").status_code == 404
    before = db_state()
    for action in ("allocate", "pick", "pack", "dispatch", "reject", "cancel"):
        response = api.post(f"{ORDERS}{theirs.order.id}/{action}/", {}, format="json")
        assert response.status_code == 404, action
        assert error(response) == {"code": "not_found", "message": "Order not found."}
    assert db_state() == before


def test_customer_user_sees_creates_and_cancels_only_its_own_orders(customer_session, body, customer,
                                                                     neighbour):
    response = customer_session.post(ORDERS, body, format="json")
    assert response.status_code == 201
    own = response.json()["id"]
    assert collect(customer_session, ORDERS)[0] == [own]
    assert customer_session.get(f"{ORDERS}{neighbour.order.id}/").status_code == 404
    before = db_state()
    assert customer_session.post(f"{ORDERS}{neighbour.order.id}/cancel/").status_code == 404
    response = customer_session.post(ORDERS, {**body, "customer": neighbour.customer.id}, format="json")
    assert response.status_code == 400
    assert customer_session.post(f"{ORDERS}{own}/allocate/").status_code == 403
    assert db_state() == before
    assert customer_session.post(f"{ORDERS}{own}/cancel/").json()["status"] == "cancelled"
    assert Address.objects.filter(customer=customer).count() == 1
    assert not Consignment.objects.filter(order_id=own).exists()


@pytest.mark.django_db
def test_the_list_pages_walk_an_index_within_a_tenant_and_status():
    # A page is the tenant's (and status's) newest ids: (tenant, id) and (tenant, status, id) let PostgreSQL
    # stop after one page instead of reading and sorting every order the tenant has.
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, OutboundOrder._meta.db_table)
    indexed = {tuple(c["columns"]) for c in constraints.values() if c["index"]}
    assert {("tenant_id", "id"), ("tenant_id", "status", "id")} <= indexed
