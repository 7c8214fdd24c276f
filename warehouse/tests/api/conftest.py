"""Shared set-up for the API tests: keyed clients, a stocked customer, a neighbour customer in the same
tenant, and a second tenant with one of everything that tenant A must never see or use."""

from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, WarehouseFactory, make_order
from warehouse.models import (
    Address,
    ApiKey,
    Consignment,
    OutboundOrder,
    OutboundOrderLine,
    Package,
    PackageLine,
    Product,
    ProductAlternativeCode,
    StockLevel,
)
from warehouse.services import PackageSpec, api_key_create, consignment_create


def keyed_client(tenant) -> APIClient:
    _, raw = api_key_create(tenant=tenant, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def collect(client: APIClient, url: str, **params) -> tuple[list[int], int]:
    """Every id a list returns, following `next` to the end; and the number of pages read."""
    ids, pages = [], 0
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        pages += 1
        ids += [row["id"] for row in body["results"]]
        if not body["next"]:
            return ids, pages
        response = client.get(body["next"])


def error(response) -> dict:
    """The API's error body; every error has a code and a message for a person."""
    body = response.json()["error"]
    assert body["code"] and body["message"]
    return body


def db_state() -> dict:
    """What a write could change: row counts, stock figures, order and consignment states, tracking."""
    models = (OutboundOrder, OutboundOrderLine, Address, Consignment, Package, PackageLine, Product,
              ProductAlternativeCode, StockLevel, ApiKey)
    return {
        "counts": {m.__name__: m.objects.count() for m in models},
        "stock": list(StockLevel.objects.order_by("id").values_list("id", "on_hand", "allocated")),
        "orders": list(OutboundOrder.objects.order_by("id").values_list("id", "status", "updated_at")),
        "consignments": list(Consignment.objects.order_by("id").values_list("id", "status", "updated_at")),
        "tracking": list(Package.objects.order_by("id").values_list("id", "tracking_number")),
    }


@pytest.fixture
def api(tenant) -> APIClient:
    return keyed_client(tenant)


@pytest.fixture
def stocked(customer, warehouse):
    mug = ProductFactory(customer=customer, code="MUG", name="Mug")
    tee = ProductFactory(customer=customer, code="TEE", name="Tee")
    StockLevelFactory(product=mug, warehouse=warehouse, on_hand=10)
    StockLevelFactory(product=tee, warehouse=warehouse, on_hand=5)
    return SimpleNamespace(mug=mug, tee=tee)


@pytest.fixture
def customer_session(customer_user) -> APIClient:
    """A customer user logged in through the browser session, calling the API."""
    client = APIClient()
    client.force_login(customer_user)
    return client


@pytest.fixture
def neighbour(tenant):
    """Another customer of the same tenant, with a warehouse only it uses, a product, an order and a
    consignment: invisible to `customer`'s users."""
    customer = CustomerFactory(tenant=tenant)
    warehouse = WarehouseFactory(tenant=tenant)
    customer.warehouses.add(warehouse)
    product = ProductFactory(customer=customer, code="N-MUG")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=10)
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(product, 1)], allocate=True)
    consignment = consignment_create(order=order, carrier="N Post", packages=[PackageSpec()])
    return SimpleNamespace(customer=customer, warehouse=warehouse, product=product, order=order,
                           line=order.lines.get(), consignment=consignment,
                           package=consignment.packages.get(), stock=StockLevel.objects.get(product=product))


@pytest.fixture
def theirs(other_tenant):
    """Tenant B with one of everything. Its product has the same code as tenant A's on purpose."""
    customer = CustomerFactory(tenant=other_tenant)
    warehouse = WarehouseFactory(tenant=other_tenant)
    customer.warehouses.add(warehouse)
    product = ProductFactory(customer=customer, code="MUG")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=10)
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(product, 2)], allocate=True)
    consignment = consignment_create(order=order, carrier="B Post", packages=[PackageSpec()])
    return SimpleNamespace(tenant=other_tenant, customer=customer, warehouse=warehouse, product=product,
                           order=order, line=order.lines.get(), consignment=consignment,
                           package=consignment.packages.get(), stock=StockLevel.objects.get(product=product))
