"""Stocktakes and allocations running at once, over real PostgreSQL connections: they lock stock rows in
one order, so none deadlocks; and a deadlock that still happens is a JSON 503 that says to retry."""

import threading

import pytest
from django.db import OperationalError, connection, connections
from rest_framework.test import APIClient

from tests.factories import ProductFactory, StockLevelFactory
from warehouse.models import StockLevel
from warehouse.services import api_key_create

from .conftest import error

ROUNDS = 8


@pytest.fixture
def products(customer, warehouse):
    """Stock rows created in the reverse of product order, so id order and product order disagree."""
    items = [ProductFactory(customer=customer, code=f"P{i}") for i in range(16)]
    for product in reversed(items):
        StockLevelFactory(product=product, warehouse=warehouse, on_hand=1000)
    return items


def _client(tenant) -> APIClient:
    _, raw = api_key_create(tenant=tenant, name="load")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.raise_request_exception = False
    return client


def _run(worker, statuses):
    def target():
        try:
            worker(statuses)
        finally:
            connections.close_all()
    return threading.Thread(target=target)


@pytest.mark.django_db(transaction=True)
def test_stocktakes_and_allocations_at_once_never_deadlock(tenant, customer, warehouse, products):
    stocktaker, orderer = _client(tenant), _client(tenant)
    counts = [{"product": p.id, "warehouse": warehouse.id, "on_hand": 1000} for p in reversed(products)]
    lines = [{"product": p.id, "quantity": 1} for p in products]

    def stocktakes(statuses):
        for _ in range(ROUNDS * 2):
            statuses.append(stocktaker.post("/api/v1/stock-levels/bulk/", {"counts": counts},
                                            format="json").status_code)

    def allocations(statuses):
        for i in range(ROUNDS):
            created = orderer.post("/api/v1/outbound-orders/", {
                "customer": customer.id, "warehouse": warehouse.id, "reference": f"LOAD-{i}", "lines": lines,
                "allocate": True}, format="json")
            statuses.append(created.status_code)
            if created.status_code == 201:
                statuses.append(orderer.post(f"/api/v1/outbound-orders/{created.json()['id']}/cancel/",
                                             {}, format="json").status_code)

    a, b = [], []
    threads = [_run(stocktakes, a), _run(allocations, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert set(a) == {200}, a
    assert set(b) <= {200, 201}, b
    assert len(b) == 2 * ROUNDS
    assert list(StockLevel.objects.values_list("on_hand", "allocated").distinct()) == [(1000, 0)]


@pytest.mark.django_db
def test_a_deadlock_is_a_json_503_that_says_retry(api, customer, warehouse, products, monkeypatch):
    """A real deadlock error from PostgreSQL (raised by a trigger-free statement) reaches the client as JSON."""
    from warehouse.api import views

    def deadlock(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = 'deadlock_detected'; END $$;")

    monkeypatch.setattr(views, "stock_levels_set_on_hand", deadlock)
    api.raise_request_exception = False
    response = api.post("/api/v1/stock-levels/bulk/", {"counts": [
        {"product": products[0].id, "warehouse": warehouse.id, "on_hand": 3}]}, format="json")
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    body = error(response)
    assert body["code"] == "retry" and "Retry" in body["message"]
    assert StockLevel.objects.get(product=products[0]).on_hand == 1000
    with pytest.raises(OperationalError):     # the error really is PostgreSQL's
        deadlock()
