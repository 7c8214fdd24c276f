from tests.factories import CustomerFactory
from warehouse.models import Customer

from .conftest import collect, error


def test_list_and_retrieve_customers(api, customer, warehouse):
    response = api.get("/api/v1/customers/")
    assert response.status_code == 200
    assert response.json()["results"] == [{
        "id": customer.id, "code": customer.code, "name": customer.name, "email": "", "phone": "",
        "warehouses": [warehouse.id], "active_integrations": 0,
    }]
    response = api.get(f"/api/v1/customers/{customer.id}/")
    assert response.status_code == 200
    assert response.json()["warehouses"] == [warehouse.id]


def test_list_pages_through_every_customer_once(api, tenant):
    Customer.objects.bulk_create(Customer(tenant=tenant, code=f"C{i:03d}", name=f"Brand {i}")
                                 for i in range(57))
    ids, pages = collect(api, "/api/v1/customers/")     # the default page size, 50
    assert pages == 2
    assert sorted(ids) == sorted(Customer.objects.filter(tenant=tenant).values_list("id", flat=True))
    assert len(ids) == len(set(ids)) == 57
    ids, pages = collect(api, "/api/v1/customers/", page_size=10)
    assert pages == 6 and len(set(ids)) == 57


def test_other_tenants_customers_are_invisible(api, customer, theirs):
    ids, _ = collect(api, "/api/v1/customers/")
    assert ids == [customer.id]
    response = api.get(f"/api/v1/customers/{theirs.customer.id}/")
    assert response.status_code == 404
    assert error(response) == {"code": "not_found", "message": "Customer not found."}


def test_customer_user_sees_only_its_customer(customer_session, customer, neighbour):
    ids, _ = collect(customer_session, "/api/v1/customers/")
    assert ids == [customer.id]
    assert customer_session.get(f"/api/v1/customers/{customer.id}/").status_code == 200
    assert customer_session.get(f"/api/v1/customers/{neighbour.customer.id}/").status_code == 404


def test_customer_list_shows_only_the_tenants_warehouse_ids(api, customer, warehouse, theirs):
    # A link to another tenant's warehouse should not exist; if one did, its id must not leak.
    customer.warehouses.add(theirs.warehouse)
    assert api.get(f"/api/v1/customers/{customer.id}/").json()["warehouses"] == [warehouse.id]


def test_id_that_is_not_a_number_is_a_json_404(api):
    response = api.get("/api/v1/customers/abc/")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_neighbour_is_listed_for_the_tenants_key(api, customer, neighbour):
    CustomerFactory()      # a customer of some other tenant
    ids, _ = collect(api, "/api/v1/customers/")
    assert set(ids) == {customer.id, neighbour.customer.id}
