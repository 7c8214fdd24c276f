"""Every API error is JSON `{"error": {...}}`, whatever went wrong and wherever: bad cursors and page
sizes, bodies too deep or too big, unknown URLs (format suffixes, non-ASCII digits), crashes."""

import base64
import json

import pytest
from rest_framework.test import APIClient

from tests.factories import make_order

from .conftest import db_state, error

ORDERS = "/api/v1/outbound-orders/"


def cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.fixture
def order(customer, warehouse, stocked):
    return make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)])


@pytest.mark.parametrize("forged", [
    cursor("p=abc"), cursor("p=1 OR 1=1"), cursor("p=\u0661"), cursor("p=" + "9" * 40), cursor("o=x"),
    "not-base64!", cursor("r=2&p=1\x00"),
])
def test_forged_cursor_is_a_json_404(api, order, forged):
    response = api.get(ORDERS, {"cursor": forged})
    assert response.status_code == 404, response.content
    assert error(response)["code"] == "not_found"
    assert "cursor" in error(response)["message"].lower()


def test_a_real_cursor_still_pages(api, customer, warehouse, stocked):
    for _ in range(3):
        make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)])
    first = api.get(ORDERS, {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1


@pytest.mark.parametrize("page_size", ["null", "true", "false", "-1", "0", "201", "1.5", "\u0662", " 2", ""])
def test_bad_page_size_is_refused(api, order, page_size):
    response = api.get(ORDERS, {"page_size": page_size})
    assert response.status_code == 400, response.content
    assert list(error(response)["fields"]) == ["page_size"]


def test_deeply_nested_json_is_a_json_400(api, order):
    before = db_state()
    body = '{"reference": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.post(ORDERS, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert error(response)["code"] == "parse_error"
    assert "nested" in error(response)["message"]
    assert db_state() == before


def test_moderately_nested_json_is_refused_before_validation(api, order):
    body = json.dumps({"lines": [[[[[[[[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]]]]]]]]})
    response = api.post(ORDERS, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in error(response)["message"]


def test_body_over_the_size_limit_is_a_json_413(api, order, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    before = db_state()
    body = json.dumps({"reference": "X" * 20_000, "lines": []})
    response = api.post(ORDERS, body, content_type="application/json")
    assert response.status_code == 413, response.content[:300]
    assert error(response)["code"] == "too_large"
    assert db_state() == before


@pytest.mark.parametrize("path", ["{id}.json", "{id}.api", "{id}/allocate.json", "\u0661/", "\u0661{id}/",
                                  "{id}x/", "99999999999999999999999/"])
def test_unknown_order_paths_are_json_404(api, order, path):
    response = api.get(ORDERS + path.format(id=order.id))
    assert response.status_code == 404, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert error(response)["code"] == "not_found"


def test_arabic_indic_digit_does_not_reach_order_one(api, order):
    arabic = "".join(chr(0x0660 + int(c)) for c in str(order.id))     # the same number in Arabic-Indic digits
    assert int(arabic) == order.id
    response = api.post(f"{ORDERS}{arabic}/allocate/")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"
    order.refresh_from_db()
    assert order.status == "draft"


def test_unknown_api_url_is_json_even_without_credentials():
    response = APIClient().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_a_crash_is_a_json_500(api, order, monkeypatch):
    from warehouse import selectors

    def crash(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "outbound_order_list", crash)
    api.raise_request_exception = False
    response = api.get(ORDERS)
    assert response.status_code == 500
    body = error(response)
    assert body["code"] == "server_error"
    assert "boom" not in response.content.decode()


def test_pages_404_shows_no_exception_text(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/orders/987654/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "987654" not in body
    assert "There is nothing at this address" in body
