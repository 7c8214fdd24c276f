from tests.factories import WarehouseFactory

from .conftest import collect, error


def test_list_and_retrieve_warehouses(api, warehouse):
    warehouse.street_address, warehouse.city, warehouse.postcode = "1 Dock Rd", "Sydney", "2000"
    warehouse.save()
    expected = {"id": warehouse.id, "code": warehouse.code, "name": warehouse.name,
                "street_address": "1 Dock Rd", "city": "Sydney", "state": "", "postcode": "2000",
                "country": "AU", "timezone": "Australia/Sydney"}
    response = api.get("/api/v1/warehouses/")
    assert response.status_code == 200
    assert response.json()["results"] == [expected]
    assert api.get(f"/api/v1/warehouses/{warehouse.id}/").json() == expected


def test_list_pages_through_every_warehouse_once(api, tenant):
    made = {WarehouseFactory(tenant=tenant).id for _ in range(7)}
    ids, pages = collect(api, "/api/v1/warehouses/", page_size=3)
    assert pages == 3
    assert len(ids) == len(set(ids)) and set(ids) == made


def test_other_tenants_warehouses_are_invisible(api, warehouse, theirs):
    ids, _ = collect(api, "/api/v1/warehouses/")
    assert ids == [warehouse.id]
    response = api.get(f"/api/v1/warehouses/{theirs.warehouse.id}/")
    assert response.status_code == 404
    assert error(response)["message"] == "Warehouse not found."


def test_customer_user_sees_only_its_customers_warehouses(customer_session, warehouse, neighbour):
    ids, _ = collect(customer_session, "/api/v1/warehouses/")
    assert ids == [warehouse.id]
    assert customer_session.get(f"/api/v1/warehouses/{neighbour.warehouse.id}/").status_code == 404
