import pytest

from tests.factories import ProductFactory
from warehouse.models import Product

from .conftest import collect, db_state, error


def test_list_and_retrieve_products(api, customer, stocked):
    stocked.mug.alternative_codes.create(code="B00MUG", kind="ASIN")
    response = api.get("/api/v1/products/", {"code": "MUG"})
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row == {"id": stocked.mug.id, "customer": customer.id, "code": "MUG", "name": "Mug",
                   "alternative_codes": [{"code": "B00MUG", "kind": "ASIN"}], "created_at": row["created_at"]}
    assert api.get(f"/api/v1/products/{stocked.tee.id}/").json()["code"] == "TEE"


def test_list_filters_by_customer(api, customer, stocked, neighbour):
    ids, _ = collect(api, "/api/v1/products/")
    assert set(ids) == {stocked.mug.id, stocked.tee.id, neighbour.product.id}
    ids, _ = collect(api, "/api/v1/products/", customer=neighbour.customer.id)
    assert ids == [neighbour.product.id]


def test_filter_by_another_tenants_customer_is_refused(api, stocked, theirs):
    response = api.get("/api/v1/products/", {"customer": theirs.customer.id})
    assert response.status_code == 400
    assert error(response)["fields"] == {"customer": [f"Customer {theirs.customer.id} not found."]}


def test_list_pages_through_every_product_once(api, customer):
    made = {ProductFactory(customer=customer).id for _ in range(8)}
    ids, pages = collect(api, "/api/v1/products/", page_size=3)
    assert pages == 3
    assert len(ids) == len(set(ids)) and set(ids) == made


def test_create_product_with_alternative_codes(api, customer):
    body = {"customer": customer.id, "code": "CAP-RED", "name": "Red cap",
            "alternative_codes": [{"code": "B07CAP", "kind": "ASIN"}, {"code": "0123456789012"}]}
    response = api.post("/api/v1/products/", body, format="json")
    assert response.status_code == 201, response.content
    product = Product.objects.get(pk=response.json()["id"])
    assert (product.tenant, product.customer, product.code, product.name) == (customer.tenant, customer,
                                                                              "CAP-RED", "Red cap")
    assert sorted(product.alternative_codes.values_list("code", "kind")) == [("0123456789012", ""),
                                                                               ("B07CAP", "ASIN")]
    assert response.json()["alternative_codes"] == [{"code": "B07CAP", "kind": "ASIN"},
                                                    {"code": "0123456789012", "kind": ""}]


def test_same_code_for_another_customer_is_fine(api, stocked, neighbour):
    body = {"customer": neighbour.customer.id, "code": "MUG", "name": "Mug"}
    response = api.post("/api/v1/products/", body, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("body, field, message", [
    ({"code": "MUG", "name": "Another mug"}, "code", "already has a product with code MUG."),
    ({"code": "", "name": "Nameless"}, "code", "This field may not be blank."),
    ({"code": "NEW"}, "name", "This field is required."),
    ({"code": "NEW", "name": "N", "alternative_codes": [{"code": "X"}, {"code": "X"}]}, "alternative_codes",
     "Alternative code X is listed twice."),
    ({"code": "NEW", "name": "N", "alternative_codes": "B07"}, "alternative_codes", "Expected a list"),
    ({"code": "N" * 101, "name": "N"}, "code", "no more than 100 characters"),
])
def test_invalid_product_is_refused_and_nothing_written(api, customer, stocked, body, field, message):
    before = db_state()
    response = api.post("/api/v1/products/", {"customer": customer.id, **body}, format="json")
    assert response.status_code == 400
    body = error(response)
    assert body["code"] == "invalid"
    assert message in str(body["fields"][field])
    assert db_state() == before


def test_other_tenants_products_are_invisible(api, stocked, theirs):
    ids, _ = collect(api, "/api/v1/products/")
    assert theirs.product.id not in ids
    assert collect(api, "/api/v1/products/", code="MUG")[0] == [stocked.mug.id]
    response = api.get(f"/api/v1/products/{theirs.product.id}/")
    assert response.status_code == 404
    assert error(response)["message"] == "Product not found."


def test_creating_for_another_tenants_customer_is_refused(api, customer, theirs):
    before = db_state()
    response = api.post("/api/v1/products/", {"customer": theirs.customer.id, "code": "NEW", "name": "N"},
                        format="json")
    assert response.status_code == 400
    assert error(response)["fields"] == {"customer": [f"Customer {theirs.customer.id} not found."]}
    assert db_state() == before


def test_customer_user_sees_and_creates_only_its_own_products(customer_session, customer, stocked, neighbour):
    ids, _ = collect(customer_session, "/api/v1/products/")
    assert set(ids) == {stocked.mug.id, stocked.tee.id}
    assert customer_session.get(f"/api/v1/products/{neighbour.product.id}/").status_code == 404
    body = {"customer": customer.id, "code": "OWN", "name": "O"}
    response = customer_session.post("/api/v1/products/", body, format="json")
    assert response.status_code == 201
    before = db_state()
    response = customer_session.post("/api/v1/products/",
                                     {"customer": neighbour.customer.id, "code": "THEIRS", "name": "T"},
                                     format="json")
    assert response.status_code == 400
    assert db_state() == before
