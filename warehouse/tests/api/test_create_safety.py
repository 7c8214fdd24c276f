"""Creating orders safely: Idempotency-Key replays, duplicate references, customer users and allocation,
and stock counts only in warehouses the product's customer may use."""

import threading
import uuid

import pytest
from django.db import connections
from rest_framework.test import APIClient

from tests.factories import ProductFactory, StockLevelFactory, WarehouseFactory
from warehouse.models import IdempotencyKey, OutboundOrder, StockLevel
from warehouse.services import api_key_create

from .conftest import db_state, error, keyed_client

ORDERS = "/api/v1/outbound-orders/"


@pytest.fixture
def body(customer, warehouse, stocked):
    return {"customer": customer.id, "warehouse": warehouse.id, "reference": "WEB-7",
            "lines": [{"product": stocked.mug.id, "quantity": 2}]}


# --- Idempotency-Key ---------------------------------------------------------------------------------

def test_same_idempotency_key_and_body_returns_the_first_answer(api, body):
    key = str(uuid.uuid4())
    first = api.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201
    again = api.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert OutboundOrder.objects.filter(reference="WEB-7").count() == 1


def test_same_idempotency_key_with_another_body_is_a_409(api, body):
    key = str(uuid.uuid4())
    assert api.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    before = db_state()
    other = api.post(ORDERS, {**body, "reference": "WEB-8"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert other.status_code == 409
    assert error(other)["code"] == "idempotency_key_reused"
    assert db_state() == before


def test_a_failed_create_stores_no_answer_for_its_key(api, body):
    key = "retry-after-fixing"
    bad = api.post(ORDERS, {**body, "lines": []}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    assert api.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201


def test_idempotency_keys_belong_to_their_caller(tenant, body):
    key = "shared-key"
    first, second = keyed_client(tenant), keyed_client(tenant)
    assert first.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=key).status_code == 201
    # Another caller's key of the same name never replays the first caller's answer.
    other = second.post(ORDERS, {**body, "reference": "WEB-9"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert other.status_code == 201 and other.json()["reference"] == "WEB-9"


@pytest.mark.parametrize("key", ["", " padded", "x" * 256, "caf\u00e9"])
def test_a_malformed_idempotency_key_is_refused(api, body, key):
    response = api.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in error(response)["fields"]
    assert not OutboundOrder.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_order(tenant, customer, warehouse):
    mug = ProductFactory(customer=customer, code="MUG")
    StockLevelFactory(product=mug, warehouse=warehouse, on_hand=100)
    _, raw = api_key_create(tenant=tenant, name="racer")
    body = {"customer": customer.id, "warehouse": warehouse.id, "reference": "RACE-1", "allocate": True,
            "lines": [{"product": mug.id, "quantity": 1}]}
    answers, start = [], threading.Barrier(4)

    def send():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
            start.wait(timeout=30)
            response = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="race")
            answers.append((response.status_code, response.json().get("id")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 4
    assert {status for status, _ in answers} == {201}
    assert len({order_id for _, order_id in answers}) == 1
    assert OutboundOrder.objects.count() == 1
    assert StockLevel.objects.get(product=mug).allocated == 1


# --- duplicate references ------------------------------------------------------------------------------

def test_second_order_with_the_same_reference_is_refused(api, body):
    assert api.post(ORDERS, body, format="json").status_code == 201
    before = db_state()
    again = api.post(ORDERS, body, format="json")
    assert again.status_code == 409
    assert error(again)["code"] == "duplicate_reference"
    assert db_state() == before


def test_duplicate_reference_is_allowed_when_asked(api, body):
    assert api.post(ORDERS, body, format="json").status_code == 201
    again = api.post(ORDERS, {**body, "allow_duplicate_reference": True}, format="json")
    assert again.status_code == 201
    assert OutboundOrder.objects.filter(reference="WEB-7").count() == 2


def test_same_reference_for_another_customer_is_fine(api, body, neighbour):
    assert api.post(ORDERS, body, format="json").status_code == 201
    theirs = api.post(ORDERS, {"customer": neighbour.customer.id, "warehouse": neighbour.warehouse.id,
                               "reference": "WEB-7", "lines": [{"product": neighbour.product.id, "quantity": 1}]},
                      format="json")
    assert theirs.status_code == 201


# --- customer users ------------------------------------------------------------------------------------

def test_customer_user_cannot_allocate_through_create(customer_session, body, warehouse, stocked):
    before = db_state()
    response = customer_session.post(ORDERS, {**body, "allocate": True}, format="json")
    assert response.status_code == 403
    assert "allocate" in error(response)["message"]
    assert db_state() == before
    assert StockLevel.objects.get(product=stocked.mug, warehouse=warehouse).allocated == 0


def test_customer_user_may_still_create_a_draft(customer_session, body):
    response = customer_session.post(ORDERS, body, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "draft"


# --- stock counts ----------------------------------------------------------------------------------------

def test_bulk_stock_refuses_a_warehouse_the_customer_may_not_use(api, tenant, stocked):
    elsewhere = WarehouseFactory(tenant=tenant, code="FAR")          # in the tenant, not the customer's
    before = db_state()
    response = api.post("/api/v1/stock-levels/bulk/", {"counts": [
        {"product": stocked.mug.id, "warehouse": "FAR", "on_hand": 4}]}, format="json")
    assert response.status_code == 400, response.content
    assert list(error(response)["fields"]) == ["counts[0].warehouse"]
    assert "may not use warehouse FAR" in error(response)["message"]
    assert db_state() == before
    assert not StockLevel.objects.filter(warehouse=elsewhere).exists()
