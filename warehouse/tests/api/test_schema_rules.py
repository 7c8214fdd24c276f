"""The schema describes what the API enforces: list lengths, the one-of-two product rule, the cursor's 404,
page_size bounds and integer path ids; and the API agrees with it on each example."""

import jsonschema
import pytest

from .conftest import db_state

LISTS = ["/api/v1/customers/", "/api/v1/warehouses/", "/api/v1/products/", "/api/v1/stock-levels/",
         "/api/v1/outbound-orders/", "/api/v1/consignments/"]


@pytest.fixture
def schema(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def component(schema, name):
    return schema["components"]["schemas"][name]


@pytest.mark.parametrize("name, prop, low, high", [
    ("StockBulkRequest", "counts", 1, 1000),
    ("OutboundOrderCreateRequest", "lines", 1, 500),
    ("ConsignmentCreateRequest", "packages", 1, 200),
    ("DispatchRequest", "packages", 1, 200),
    ("TrackingRequest", "packages", 1, 200),
])
def test_schema_gives_list_lengths(schema, name, prop, low, high):
    field = component(schema, name)["properties"][prop]
    assert (field["minItems"], field["maxItems"]) == (low, high)


def test_package_lines_may_be_empty_but_are_bounded(schema):
    field = component(schema, "PackageInputRequest")["properties"]["lines"]
    assert "minItems" not in field and field["maxItems"] == 500


@pytest.mark.parametrize("path", LISTS)
def test_lists_document_the_cursor_404_and_page_size_bounds(schema, path):
    operation = schema["paths"][path]["get"]
    assert {"400", "404"} <= set(operation["responses"])
    params = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert params["page_size"] == {"type": "integer", "minimum": 1, "maximum": 200}


def test_path_ids_are_integers(schema):
    [param] = schema["paths"]["/api/v1/outbound-orders/{id}/"]["get"]["parameters"]
    assert param["schema"]["type"] == "integer" and param["schema"]["minimum"] == 1


def test_create_documents_the_idempotency_key(schema):
    params = {p["name"]: p for p in schema["paths"]["/api/v1/outbound-orders/"]["post"]["parameters"]}
    assert params["Idempotency-Key"]["in"] == "header"


def _count(stocked, warehouse, customer, shape):
    item = {"warehouse": warehouse.id, "on_hand": 1}
    if "product" in shape:
        item["product"] = stocked.mug.id
    if "code" in shape:
        item["product_code"] = "MUG"
    if "customer" in shape:
        item["customer"] = customer.id
    return item


@pytest.mark.parametrize("shape, valid", [
    ({"product"}, True), ({"code", "customer"}, True), ({"product", "code"}, False),
    ({"product", "customer"}, False), ({"product", "code", "customer"}, False), ({"code"}, False),
    ({"customer"}, False), (set(), False),
])
def test_stock_count_product_rule_in_schema_matches_the_api(api, schema, stocked, warehouse, customer, shape,
                                                            valid):
    item = _count(stocked, warehouse, customer, shape)
    assert jsonschema.Draft4Validator(component(schema, "StockCountRequest")).is_valid(item) is valid
    before = db_state()
    response = api.post("/api/v1/stock-levels/bulk/", {"counts": [item]}, format="json")
    assert response.status_code == (200 if valid else 400), response.content
    if not valid:
        assert db_state() == before


@pytest.mark.parametrize("line, valid", [
    ({"product": "id", "quantity": 1}, True), ({"product_code": "MUG", "quantity": 1}, True),
    ({"product": "id", "product_code": "MUG", "quantity": 1}, False), ({"quantity": 1}, False),
])
def test_order_line_product_rule_in_schema_matches_the_api(api, schema, stocked, warehouse, customer, line,
                                                           valid):
    line = {k: (stocked.mug.id if v == "id" else v) for k, v in line.items()}
    assert jsonschema.Draft4Validator(component(schema, "OrderLineInputRequest")).is_valid(line) is valid
    response = api.post("/api/v1/outbound-orders/", {"customer": customer.id, "warehouse": warehouse.id,
                                                     "reference": "R-1", "lines": [line]}, format="json")
    assert response.status_code == (201 if valid else 400), response.content


def test_blank_text_filters_mean_no_filter(api, stocked):
    # The schema gives these filters no minLength: an empty one must not filter everything out.
    response = api.get("/api/v1/products/", {"code": ""})
    assert response.status_code == 200
    assert {p["code"] for p in response.json()["results"]} == {"MUG", "TEE"}
    response = api.get("/api/v1/stock-levels/", {"product_code": ""})
    assert response.status_code == 200 and len(response.json()["results"]) == 2
