import pytest

from tests.factories import ProductFactory, StockLevelFactory, make_order
from warehouse.models import StockLevel

from .conftest import collect, db_state, error

BULK = "/api/v1/stock-levels/bulk/"


def level(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def test_list_shows_on_hand_allocated_and_available(api, customer, warehouse, stocked):
    make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 3)], allocate=True)
    response = api.get("/api/v1/stock-levels/", {"product_code": "MUG"})
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row == {"id": level(stocked.mug, warehouse).id, "product": stocked.mug.id, "product_code": "MUG",
                   "customer": customer.id, "warehouse": warehouse.id, "warehouse_code": warehouse.code,
                   "on_hand": 10, "allocated": 3, "available": 7, "updated_at": row["updated_at"]}


def test_list_filters_by_warehouse_and_customer(api, stocked, warehouse, neighbour):
    ids, _ = collect(api, "/api/v1/stock-levels/", warehouse=neighbour.warehouse.id)
    assert ids == [neighbour.stock.id]
    ids, _ = collect(api, "/api/v1/stock-levels/", customer=neighbour.customer.id)
    assert ids == [neighbour.stock.id]
    ids, _ = collect(api, "/api/v1/stock-levels/", warehouse=warehouse.id)
    assert set(ids) == {level(stocked.mug, warehouse).id, level(stocked.tee, warehouse).id}


def test_list_pages_through_every_level_once(api, customer, warehouse):
    made = {StockLevelFactory(product=ProductFactory(customer=customer), warehouse=warehouse).id
            for _ in range(7)}
    ids, pages = collect(api, "/api/v1/stock-levels/", page_size=2)
    assert pages == 4
    assert len(ids) == len(set(ids)) and set(ids) == made


def test_bulk_sets_counts_by_id_or_by_code(api, customer, warehouse, stocked, tenant):
    new = ProductFactory(customer=customer, code="NEW")
    body = {"counts": [
        {"product": stocked.mug.id, "warehouse": warehouse.id, "on_hand": 25},
        {"product_code": "TEE", "customer": customer.id, "warehouse": warehouse.code, "on_hand": 0},
        {"product": new.id, "warehouse": warehouse.code, "on_hand": 4},         # no stock level yet
    ]}
    response = api.post(BULK, body, format="json")
    assert response.status_code == 200, response.content
    assert (level(stocked.mug, warehouse).on_hand, level(stocked.tee, warehouse).on_hand) == (25, 0)
    assert level(new, warehouse).on_hand == 4 and level(new, warehouse).tenant == tenant
    rows = {row["product_code"]: (row["on_hand"], row["available"])
            for row in response.json()["stock_levels"]}
    assert rows == {"MUG": (25, 25), "TEE": (0, 0), "NEW": (4, 4)}


@pytest.mark.parametrize("bad, field, message", [
    ({"product": 0, "warehouse": "W", "on_hand": 1}, "counts[1].product", "Product 0 not found."),
    ({"product_code": "NOPE", "customer": "C", "warehouse": "W", "on_hand": 1}, "counts[1].product_code",
     "has no product with code NOPE."),
    ({"product": "P", "warehouse": "NOWHERE", "on_hand": 1}, "counts[1].warehouse",
     "Warehouse NOWHERE not found."),
    ({"product": "P", "warehouse": "W", "on_hand": -1}, "counts[1].on_hand", "greater than or equal to 0"),
    ({"product": "P", "warehouse": "W", "on_hand": 1, "product_code": "MUG"}, "counts[1]", "not both"),
    ({"warehouse": "W", "on_hand": 1}, "counts[1]", "Give product"),
    ({"product": "P", "warehouse": True, "on_hand": 1}, "counts[1].warehouse", "an id (a number) or a code"),
    ({"product": "P", "warehouse": "W", "on_hand": 3}, "1", "listed twice"),  # the first count, by code
])
def test_one_bad_count_writes_none(api, customer, warehouse, stocked, bad, field, message):
    ids = {"P": stocked.mug.id, "W": warehouse.code, "C": customer.id}
    bad = {key: ids.get(value, value) if isinstance(value, str) else value for key, value in bad.items()}
    body = {"counts": [{"product": stocked.mug.id, "warehouse": warehouse.id, "on_hand": 99}, bad]}
    before = db_state()
    response = api.post(BULK, body, format="json")
    assert response.status_code == 400, response.content
    assert message in str(error(response)["fields"][field])
    assert db_state() == before


def test_count_below_allocation_writes_none(api, customer, warehouse, stocked):
    make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.tee, 4)], allocate=True)
    before = db_state()
    response = api.post(BULK, {"counts": [
        {"product": stocked.mug.id, "warehouse": warehouse.id, "on_hand": 1},
        {"product": stocked.tee.id, "warehouse": warehouse.id, "on_hand": 3},
    ]}, format="json")
    assert response.status_code == 400
    assert "below the 4 already allocated" in error(response)["message"]
    assert db_state() == before


def test_empty_or_missing_counts_are_refused(api):
    for body in ({}, {"counts": []}, {"counts": "x"}):
        response = api.post(BULK, body, format="json")
        assert response.status_code == 400
        assert "counts" in error(response)["fields"]


def test_other_tenants_stock_is_invisible_and_untouchable(api, customer, warehouse, stocked, theirs):
    ids, _ = collect(api, "/api/v1/stock-levels/")
    assert theirs.stock.id not in ids and len(ids) == 2
    response = api.get("/api/v1/stock-levels/", {"warehouse": theirs.warehouse.id})
    assert response.status_code == 400
    before = db_state()
    for count in ({"product": theirs.product.id, "warehouse": warehouse.id, "on_hand": 1},
                  {"product": stocked.mug.id, "warehouse": theirs.warehouse.id, "on_hand": 1},
                  {"product": stocked.mug.id, "warehouse": theirs.warehouse.code, "on_hand": 1},
                  {"product_code": "MUG", "customer": theirs.customer.id, "warehouse": warehouse.id,
                   "on_hand": 1}):
        response = api.post(BULK, {"counts": [count]}, format="json")
        assert response.status_code == 400, count
        assert "not found" in error(response)["message"] or "has no product" in error(response)["message"]
    assert db_state() == before


def test_customer_user_sees_only_its_stock(customer_session, stocked, neighbour):
    ids, _ = collect(customer_session, "/api/v1/stock-levels/")
    assert len(ids) == 2 and neighbour.stock.id not in ids
    response = customer_session.get("/api/v1/stock-levels/", {"customer": neighbour.customer.id})
    assert response.status_code == 400
