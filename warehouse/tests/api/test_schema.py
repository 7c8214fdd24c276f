"""The OpenAPI schema and the interactive docs."""

import re

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

PATHS = [
    "/api/v1/customers/", "/api/v1/customers/{id}/", "/api/v1/warehouses/", "/api/v1/warehouses/{id}/",
    "/api/v1/products/", "/api/v1/products/{id}/", "/api/v1/stock-levels/", "/api/v1/stock-levels/bulk/",
    "/api/v1/outbound-orders/", "/api/v1/outbound-orders/{id}/", "/api/v1/outbound-orders/{id}/allocate/",
    "/api/v1/outbound-orders/{id}/pick/", "/api/v1/outbound-orders/{id}/pack/",
    "/api/v1/outbound-orders/{id}/dispatch/", "/api/v1/outbound-orders/{id}/reject/",
    "/api/v1/outbound-orders/{id}/cancel/", "/api/v1/consignments/", "/api/v1/consignments/{id}/",
    "/api/v1/consignments/{id}/tracking/",
]


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3_with_every_endpoint(schema):
    validate_schema(schema)         # raises on anything that is not OpenAPI 3
    assert schema["openapi"].startswith("3.")
    assert set(PATHS) <= set(schema["paths"])
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")


def test_schema_shows_bodies_filters_and_errors(schema):
    create = schema["paths"]["/api/v1/outbound-orders/"]["post"]
    assert list(create["requestBody"]["content"]) == ["application/json"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/OutboundOrderCreateRequest")
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/OutboundOrder")
    assert create["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    listing = schema["paths"]["/api/v1/outbound-orders/"]["get"]
    params = {p["name"]: p["schema"] for p in listing["parameters"]}
    assert params["modified_since"] == {"type": "string", "format": "date-time"}
    assert params["customer"]["type"] == "integer" and "cursor" in params
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PaginatedOutboundOrderList")
    dispatch = schema["paths"]["/api/v1/outbound-orders/{id}/dispatch/"]["post"]
    assert dispatch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DispatchRequest")
    [id_param] = dispatch["parameters"]
    assert id_param["schema"]["type"] == "integer"
    assert {"ApiKeyAuth": []} in dispatch["security"]


def test_schema_generates_without_warnings():
    from warehouse.api.urls import urlpatterns

    GENERATOR_STATS.reset()
    SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache, (
        dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache))


def test_docs_page_is_served_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert not re.search(r"cdn\.|unpkg|jsdelivr|cdnjs|googleapis", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    sidecar = [a for a in assets if "drf_spectacular_sidecar" in a]
    assert any(a.endswith("swagger-ui-bundle.js") for a in sidecar)
    assert all(a.startswith("/") for a in assets), assets       # nothing from another host
    for asset in sidecar:
        assert finders.find(asset.removeprefix("/static/")), asset
