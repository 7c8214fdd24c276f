"""Every endpoint: a valid key works; no key, a revoked key or a malformed header is 401 and writes nothing;
a customer user's session may not do the warehouse's work."""

import pytest
from rest_framework.test import APIClient

from tests.factories import make_order
from warehouse.services import api_key_create, api_key_revoke

from .conftest import db_state, error

ENDPOINTS = [
    "customers.list", "customers.retrieve", "warehouses.list", "warehouses.retrieve", "products.list",
    "products.retrieve", "products.create", "stock-levels.list", "stock-levels.bulk", "orders.list",
    "orders.retrieve", "orders.create", "orders.allocate", "orders.pick", "orders.pack", "orders.dispatch",
    "orders.reject", "orders.cancel", "consignments.list", "consignments.retrieve", "consignments.create",
    "consignments.tracking",
]

# The warehouse's work: a customer user's session is refused these.
WAREHOUSE_ONLY = ["stock-levels.bulk", "orders.allocate", "orders.pick", "orders.pack", "orders.dispatch",
                  "orders.reject", "consignments.create", "consignments.tracking"]


@pytest.fixture
def calls(neighbour):
    """(method, path, body, success status) per endpoint; every write would change something if allowed."""
    n = neighbour
    draft = make_order(customer=n.customer, warehouse=n.warehouse, products_qty=[(n.product, 1)])
    orders = "/api/v1/outbound-orders"
    return {
        "customers.list": ("get", "/api/v1/customers/", None, 200),
        "customers.retrieve": ("get", f"/api/v1/customers/{n.customer.id}/", None, 200),
        "warehouses.list": ("get", "/api/v1/warehouses/", None, 200),
        "warehouses.retrieve": ("get", f"/api/v1/warehouses/{n.warehouse.id}/", None, 200),
        "products.list": ("get", "/api/v1/products/", None, 200),
        "products.retrieve": ("get", f"/api/v1/products/{n.product.id}/", None, 200),
        "products.create": ("post", "/api/v1/products/",
                            {"customer": n.customer.id, "code": "NEW", "name": "New"}, 201),
        "stock-levels.list": ("get", "/api/v1/stock-levels/", None, 200),
        "stock-levels.bulk": ("post", "/api/v1/stock-levels/bulk/", {"counts": [
            {"product": n.product.id, "warehouse": n.warehouse.id, "on_hand": 50}]}, 200),
        "orders.list": ("get", f"{orders}/", None, 200),
        "orders.retrieve": ("get", f"{orders}/{n.order.id}/", None, 200),
        "orders.create": ("post", f"{orders}/", {"customer": n.customer.id, "warehouse": n.warehouse.id,
                                                 "reference": "NEW-1",
                                                 "lines": [{"product": n.product.id, "quantity": 1}]}, 201),
        "orders.allocate": ("post", f"{orders}/{draft.id}/allocate/", None, 200),
        "orders.pick": ("post", f"{orders}/{n.order.id}/pick/", None, 200),
        "orders.pack": ("post", f"{orders}/{n.order.id}/pack/", None, 200),
        "orders.dispatch": ("post", f"{orders}/{n.order.id}/dispatch/", None, 200),
        "orders.reject": ("post", f"{orders}/{n.order.id}/reject/", {"reason": "Bad address"}, 200),
        "orders.cancel": ("post", f"{orders}/{n.order.id}/cancel/", {"reason": "Changed mind"}, 200),
        "consignments.list": ("get", "/api/v1/consignments/", None, 200),
        "consignments.retrieve": ("get", f"/api/v1/consignments/{n.consignment.id}/", None, 200),
        "consignments.create": ("post", "/api/v1/consignments/", {"order": draft.id, "carrier": "AusPost"},
                                201),
        "consignments.tracking": ("post", f"/api/v1/consignments/{n.consignment.id}/tracking/",
                                  {"packages": [{"id": n.package.id, "tracking_number": "TRK1"}]}, 200),
    }


def call(client, method, path, body):
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_valid_key_succeeds(tenant, calls, endpoint):
    method, path, body, expected = calls[endpoint]
    _, raw = api_key_create(tenant=tenant, name="wms")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    before = db_state()
    response = call(client, method, path, body)
    assert response.status_code == expected, response.content
    if method == "post":
        assert db_state() != before      # so the refusals below prove something


def _headers(tenant) -> dict[str, str | None]:
    live, raw = api_key_create(tenant=tenant, name="live")
    revoked, revoked_raw = api_key_create(tenant=tenant, name="old")
    api_key_revoke(tenant=tenant, key=revoked)
    return {
        "missing": None,
        "revoked": f"Api-Key {revoked_raw}",
        "no key": "Api-Key ",
        "no secret": f"Api-Key {live.prefix}",
        "wrong secret": f"Api-Key {live.prefix}.not-the-secret",
        "unknown prefix": "Api-Key 000000000000." + raw.partition(".")[2],
        "other scheme": f"Bearer {raw}",
        "no scheme": raw,
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_missing_revoked_or_malformed_key_is_401_and_writes_nothing(tenant, calls, endpoint):
    method, path, body, _ = calls[endpoint]
    headers = _headers(tenant)
    before = db_state()
    for case, header in headers.items():
        client = APIClient()
        if header is not None:
            client.credentials(HTTP_AUTHORIZATION=header)
        response = call(client, method, path, body)
        assert response.status_code == 401, case
        assert error(response)["code"] in {"not_authenticated", "authentication_failed"}, case
        assert response["WWW-Authenticate"] == "Api-Key", case
    assert db_state() == before


def test_revoked_key_says_so(tenant):
    key, raw = api_key_create(tenant=tenant, name="old")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get("/api/v1/customers/").status_code == 200
    api_key_revoke(tenant=tenant, key=key)
    response = client.get("/api/v1/customers/")
    assert response.status_code == 401
    assert error(response) == {"code": "authentication_failed", "message": "Unknown or revoked API key."}


@pytest.mark.parametrize("endpoint", WAREHOUSE_ONLY)
def test_customer_user_session_may_not_do_the_warehouses_work(customer_session, calls, endpoint):
    method, path, body, _ = calls[endpoint]
    before = db_state()
    response = call(customer_session, method, path, body)
    assert response.status_code == 403
    assert error(response)["code"] == "permission_denied"
    assert db_state() == before


def test_session_without_login_is_401(db):
    response = APIClient().get("/api/v1/outbound-orders/")
    assert response.status_code == 401
