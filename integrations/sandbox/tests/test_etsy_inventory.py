"""getListingsByShop, getListingInventory, and updateListingInventory's replace semantics (§6, §7)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import requests


def colour(name: str) -> list[dict[str, Any]]:
    return [{"property_id": 200, "property_name": "Primary color", "values": [name]}]


@pytest.fixture
def shop(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop()
    shop["token"] = grant["access_token"]
    return shop


@pytest.fixture
def mug(etsy_sandbox, shop):
    """A listing with two colour variations, quantity and SKU varying on colour."""
    return etsy_sandbox.create_listing(shop["shop_id"], title="Ceramic Mug", products=[
        {"sku": "MUG-BLUE-12", "quantity": 10, "price": 12.99, "property_values": colour("Blue")},
        {"sku": "MUG-RED-12", "quantity": 4, "price": 12.99, "property_values": colour("Red")},
    ])


def inventory_url(etsy_sandbox, listing) -> str:
    return f"{etsy_sandbox.api_url}/listings/{listing['listing_id']}/inventory"


def get_inventory(etsy_sandbox, shop, listing, **params) -> dict[str, Any]:
    answer = requests.get(inventory_url(etsy_sandbox, listing), params=params,
                          headers=etsy_sandbox.headers(shop["token"]), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def put_inventory(etsy_sandbox, shop, listing, body: Any) -> requests.Response:
    return requests.put(inventory_url(etsy_sandbox, listing), json=body,
                        headers=etsy_sandbox.headers(shop["token"]), timeout=10)


def body_from_get(inventory: dict[str, Any]) -> dict[str, Any]:
    """What a correct client sends back: ids and read-only fields dropped, Money as a float (§7.2)."""
    body = copy.deepcopy(inventory)
    body.pop("listing")
    for product in body["products"]:
        del product["product_id"], product["is_deleted"]
        for offering in product["offerings"]:
            del offering["offering_id"], offering["is_deleted"]
            offering["price"] = offering["price"]["amount"] / offering["price"]["divisor"]
        for value in product["property_values"]:
            del value["scale_name"]
    return body


def test_listings_by_shop_filter_on_skus_and_show_them_to_the_owner(etsy_sandbox, shop, mug):
    etsy_sandbox.create_listing(shop["shop_id"], title="Cap",
                                products=[{"sku": "CAP-1", "quantity": 3, "price": 9}])
    url = f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/listings"

    owner = requests.get(url, params={"skus": "MUG-RED-12,NOPE", "includes": "Inventory"},
                         headers=etsy_sandbox.headers(shop["token"]), timeout=10).json()
    public = requests.get(url, headers=etsy_sandbox.headers(), timeout=10).json()

    assert owner["count"] == 1
    found = owner["results"][0]
    assert found["listing_id"] == mug["listing_id"] and found["skus"] == ["MUG-BLUE-12", "MUG-RED-12"]
    assert found["quantity"] == 14 and found["has_variations"] is True
    assert [p["sku"] for p in found["inventory"]["products"]] == ["MUG-BLUE-12", "MUG-RED-12"]
    assert public["count"] == 2 and all(item["skus"] == [] for item in public["results"])


def test_listings_filter_on_state_and_page(etsy_sandbox, shop, mug):
    etsy_sandbox.control("PATCH", f"shops/{shop['shop_id']}/listings/{mug['listing_id']}",
                         {"state": "inactive"})
    url = f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/listings"
    headers = etsy_sandbox.headers(shop["token"])
    assert requests.get(url, headers=headers, timeout=10).json()["count"] == 0
    inactive = requests.get(url, params={"state": "inactive", "limit": 1}, headers=headers, timeout=10).json()
    assert [r["listing_id"] for r in inactive["results"]] == [mug["listing_id"]]
    assert requests.get(url, params={"limit": 101}, headers=headers, timeout=10).status_code == 400


def test_inventory_shape(etsy_sandbox, shop, mug):
    inventory = get_inventory(etsy_sandbox, shop, mug)
    assert inventory["listing"] is None
    assert inventory["quantity_on_property"] == [200] and inventory["sku_on_property"] == [200]
    assert inventory["price_on_property"] == [] and inventory["readiness_state_on_property"] == []
    blue = inventory["products"][0]
    assert blue["sku"] == "MUG-BLUE-12" and blue["is_deleted"] is False
    offering = blue["offerings"][0]
    assert offering["price"] == {"amount": 1299, "divisor": 100, "currency_code": "USD"}
    assert offering["quantity"] == 10 and offering["is_enabled"] is True
    assert isinstance(offering["readiness_state_id"], int)
    assert blue["property_values"][0]["values"] == ["Blue"] and blue["property_values"][0]["value_ids"]
    with_listing = get_inventory(etsy_sandbox, shop, mug, includes="Listing")
    assert with_listing["listing"]["listing_id"] == mug["listing_id"]


def test_put_with_one_of_two_variations_removes_the_other(etsy_sandbox, shop, mug):
    body = body_from_get(get_inventory(etsy_sandbox, shop, mug))
    body["products"] = [p for p in body["products"] if p["sku"] == "MUG-BLUE-12"]
    body["products"][0]["offerings"][0]["quantity"] = 6

    answer = put_inventory(etsy_sandbox, shop, mug, body)

    assert answer.status_code == 200, answer.text
    after = get_inventory(etsy_sandbox, shop, mug)
    assert [p["sku"] for p in after["products"]] == ["MUG-BLUE-12"]
    state = etsy_sandbox.state(shop["shop_id"])["listings"][0]
    assert state["quantity"] == 6 and state["skus"] == ["MUG-BLUE-12"]


def test_whole_set_put_changes_only_quantities(etsy_sandbox, shop, mug):
    before = get_inventory(etsy_sandbox, shop, mug)
    body = body_from_get(before)
    body["products"][0]["offerings"][0]["quantity"] = 7
    body["products"][1]["offerings"][0]["quantity"] = 0

    answer = put_inventory(etsy_sandbox, shop, mug, body)

    assert answer.status_code == 200, answer.text
    after = get_inventory(etsy_sandbox, shop, mug)
    assert answer.json()["products"] == after["products"]
    assert [(p["sku"], p["offerings"][0]["quantity"]) for p in after["products"]] == [("MUG-BLUE-12", 7),
                                                                                      ("MUG-RED-12", 0)]
    for old, new in zip(before["products"], after["products"], strict=False):
        assert new["property_values"] == old["property_values"]
        assert new["offerings"][0]["price"] == old["offerings"][0]["price"]
        # Etsy issues new product and offering ids on every update (issue #523).
        assert new["product_id"] != old["product_id"]
        assert new["offerings"][0]["offering_id"] != old["offerings"][0]["offering_id"]
    listing = etsy_sandbox.state(shop["shop_id"])["listings"][0]
    assert listing["quantity"] == 7
    deleted = get_inventory(etsy_sandbox, shop, mug, show_deleted="true")["products"]
    assert [p["is_deleted"] for p in deleted] == [False, False, True, True]


def test_readiness_state_id_may_be_omitted_or_null(etsy_sandbox, shop, mug):
    body = body_from_get(get_inventory(etsy_sandbox, shop, mug))
    profile = body["products"][0]["offerings"][0]["readiness_state_id"]
    del body["products"][0]["offerings"][0]["readiness_state_id"]
    body["products"][1]["offerings"][0]["readiness_state_id"] = None
    assert put_inventory(etsy_sandbox, shop, mug, body).status_code == 200
    after = get_inventory(etsy_sandbox, shop, mug)
    assert [p["offerings"][0]["readiness_state_id"] for p in after["products"]] == [profile, profile]


def test_form_content_type_reads_as_missing_products(etsy_sandbox, shop, mug):
    body = body_from_get(get_inventory(etsy_sandbox, shop, mug))
    headers = {**etsy_sandbox.headers(shop["token"]), "Content-Type": "application/x-www-form-urlencoded"}
    answer = requests.put(inventory_url(etsy_sandbox, mug), data=json.dumps(body), headers=headers,
                          timeout=10)
    assert answer.status_code == 400
    assert answer.json() == {"error": "Missing input parameter: [products]"}


def broken(body: dict[str, Any], change: str) -> dict[str, Any]:
    body = copy.deepcopy(body)
    blue, red = body["products"]
    if change == "money_price":
        blue["offerings"][0]["price"] = {"amount": 1299, "divisor": 100, "currency_code": "USD"}
    elif change == "product_id_left_in":
        blue["product_id"] = 1
    elif change == "no_offerings":
        del blue["offerings"]
    elif change == "quantity_varies_off_property":
        body["quantity_on_property"] = []
        body["sku_on_property"] = []
        blue["sku"] = red["sku"] = ""
    elif change == "shared_sku_unequal_quantities":
        red["sku"] = blue["sku"]
    elif change == "all_zero":
        blue["offerings"][0]["quantity"] = red["offerings"][0]["quantity"] = 0
    elif change == "one_product_without_values":
        red["property_values"] = []
    elif change == "parenthesis":
        red["property_values"][0]["values"] = ["Red (matte)"]
    elif change == "too_many":
        blue["offerings"][0]["quantity"] = 1000
    return body


@pytest.mark.parametrize(("change", "error"), [
    ("money_price", "not a Money object"),
    ("product_id_left_in", "Unexpected parameter: [products[0].product_id]"),
    ("no_offerings", "Missing input parameter: [products[0].offerings]"),
    ("quantity_varies_off_property", "incompatible with values in quantity_on_property"),
    ("shared_sku_unequal_quantities", "share a SKU"),
    ("all_zero", "One offering must have quantity greater than 0"),
    ("one_product_without_values", "Property values can't be empty"),
    ("parenthesis", "( or )"),
    ("too_many", "0 to 999"),
])
def test_inconsistent_bodies_are_refused_and_change_nothing(etsy_sandbox, shop, mug, change, error):
    before = get_inventory(etsy_sandbox, shop, mug)
    answer = put_inventory(etsy_sandbox, shop, mug, broken(body_from_get(before), change))
    assert answer.status_code == 400
    assert error in answer.json()["error"]
    assert get_inventory(etsy_sandbox, shop, mug) == before


def test_partial_grid_of_two_properties_is_refused(etsy_sandbox, shop):
    def size(name: str) -> list[dict[str, Any]]:
        return [{"property_id": 100, "property_name": "Size", "values": [name]}]

    products = [{"sku": f"TEE-{c}-{s}", "quantity": 2, "price": 20, "property_values": colour(c) + size(s)}
                for c in ("Black", "White") for s in ("S", "M")]
    tee = etsy_sandbox.create_listing(shop["shop_id"], title="Tee", products=products)
    body = body_from_get(get_inventory(etsy_sandbox, shop, tee))
    body["products"] = body["products"][:3]
    answer = put_inventory(etsy_sandbox, shop, tee, body)
    assert answer.status_code == 400
    assert answer.json() == {"error": "All combinations of property values must be supplied"}


def test_listing_without_variations_round_trips(etsy_sandbox, shop):
    cap = etsy_sandbox.create_listing(shop["shop_id"], title="Cap", products=[{"sku": "CAP-1", "quantity": 3,
                                                                               "price": 15.5}])
    body = body_from_get(get_inventory(etsy_sandbox, shop, cap))
    assert body["products"][0]["property_values"] == []
    body["products"][0]["offerings"][0]["quantity"] = 9
    answer = put_inventory(etsy_sandbox, shop, cap, body)
    assert answer.status_code == 200
    assert answer.json()["products"][0]["offerings"][0]["price"]["amount"] == 1550
    assert etsy_sandbox.state(shop["shop_id"])["listings"][0]["quantity"] == 9


def test_only_the_owner_may_update_and_see_skus(etsy_sandbox, shop, mug):
    stranger = {"token": etsy_sandbox.connected_shop()[1]["access_token"]}
    body = body_from_get(get_inventory(etsy_sandbox, shop, mug))
    assert put_inventory(etsy_sandbox, stranger, mug, body).status_code == 403
    seen = get_inventory(etsy_sandbox, stranger, mug)
    assert [p["sku"] for p in seen["products"]] == ["", ""]


def test_write_needs_listings_w(etsy_sandbox, shop, mug):
    read_only = {"token": etsy_sandbox.grant(shop["user_id"], scopes=["listings_r"])["access_token"]}
    body = body_from_get(get_inventory(etsy_sandbox, shop, mug))
    answer = put_inventory(etsy_sandbox, read_only, mug, body)
    assert answer.status_code == 403 and answer.json()["error"] == "insufficient_scope"
