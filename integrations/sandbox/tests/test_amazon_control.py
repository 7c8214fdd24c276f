"""The Amazon sandbox's /_sandbox/ control API, its page for people, and running it standalone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from integrations.sandbox.amazon.seeding import DEMO_REFRESH_TOKEN, DEMO_SELLER_ID, ITEM_FIELDS, ORDER_FIELDS

from .amazon_support import AU, ORDER_ID, REPO, US, model


def test_the_seedable_fields_are_the_models_order_and_item_fields():
    definitions = model("ordersV0")["definitions"]
    assert ORDER_FIELDS == set(definitions["Order"]["properties"])
    assert ITEM_FIELDS == set(definitions["OrderItem"]["properties"])


def test_a_seeded_seller_gets_a_refresh_token_that_works_at_once(amazon_sandbox):
    seller = amazon_sandbox.seed_seller(selling_partner_id="A1TESTSELLER01", name="Coogee Candles",
                                        marketplace_ids=[AU, US])
    assert seller["selling_partner_id"] == "A1TESTSELLER01" and seller["refresh_token"].startswith("Atzr|")
    token = amazon_sandbox.http.post("/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": seller["refresh_token"],
        "client_id": amazon_sandbox.lwa_client_id, "client_secret": amazon_sandbox.lwa_client_secret})
    assert token.status_code == 200
    state = amazon_sandbox.state("A1TESTSELLER01")
    assert state["seller"] == {"selling_partner_id": "A1TESTSELLER01", "name": "Coogee Candles",
                               "marketplace_ids": [AU, US]}
    assert set(state) == {"seller", "orders", "confirmations", "listings", "feeds", "supply_sources"}


def test_the_pages_add_an_order_form_places_it_in_the_chosen_marketplace(amazon_sandbox):
    seller_id = amazon_sandbox.seed_seller(marketplace_ids=[AU, US])["selling_partner_id"]
    page = amazon_sandbox.http.get("/_sandbox/").text
    assert f'<option value="{AU}">' in page and f'<option value="{US}">' in page
    form = f"/_sandbox/sellers/{seller_id}/orders/form"
    placed = amazon_sandbox.http.post(form, data={"marketplace_id": US, "sku": "CAP", "quantity": "2"})
    assert placed.status_code in (302, 303)
    orders = amazon_sandbox.state(seller_id)["orders"]
    assert [o["MarketplaceId"] for o in orders] == [US]
    refused = amazon_sandbox.http.post(form, data={"marketplace_id": "A1F83G8C2ARO7P", "sku": "CAP"})
    assert refused.status_code == 400 and "A1F83G8C2ARO7P" in refused.text
    assert len(amazon_sandbox.state(seller_id)["orders"]) == 1          # nothing placed


def test_orders_get_realistic_defaults_and_bulk_creation(amazon_sandbox):
    seller_id = amazon_sandbox.seed_seller()["selling_partner_id"]
    order = amazon_sandbox.create_order(seller_id)
    assert ORDER_ID.match(order["AmazonOrderId"]) and order["OrderStatus"] == "Unshipped"
    assert order["FulfillmentChannel"] == "MFN" and order["MarketplaceId"] == AU
    assert order["ShippingAddress"]["Name"] and order["ShippingAddress"]["CountryCode"] == "AU"
    assert order["BuyerInfo"]["BuyerEmail"].endswith("@marketplace.amazon.com.au")
    assert order["LatestShipDate"] > order["EarliestShipDate"] and len(order["OrderItems"]) == 1
    bulk = amazon_sandbox.create_orders(seller_id, 25, MarketplaceId=US, items=[{"SellerSKU": "CAP", "QuantityOrdered": 2}])
    assert len({o["AmazonOrderId"] for o in bulk}) == 25
    assert len({o["OrderItems"][0]["OrderItemId"] for o in bulk}) == 25
    assert {o["ShippingAddress"]["CountryCode"] for o in bulk} == {"US"}
    assert {o["OrderTotal"]["CurrencyCode"] for o in bulk} == {"USD"}


def test_order_updates_bump_last_update_date(amazon_sandbox):
    seller_id = amazon_sandbox.seed_seller()["selling_partner_id"]
    order = amazon_sandbox.create_order(seller_id, items=[{"SellerSKU": "MUG", "QuantityOrdered": 2}])
    amazon_sandbox.set_clock(advance_seconds=60)
    item_id = order["OrderItems"][0]["OrderItemId"]
    changed = amazon_sandbox.update_order(seller_id, order["AmazonOrderId"], OrderStatus="PartiallyShipped",
                                          items=[{"OrderItemId": item_id, "QuantityShipped": 1}])
    assert changed["OrderStatus"] == "PartiallyShipped" and changed["NumberOfItemsShipped"] == 1
    assert changed["LastUpdateDate"] > order["LastUpdateDate"]


@pytest.mark.parametrize(("path", "body"), [
    ("orders", {"OrderStatus": "Lost"}),
    ("orders", {"AmazonOrderID": "typo"}),
    ("orders", {"items": [{"SellerSku": "typo"}]}),
    ("orders", {"items": [{"QuantityOrdered": 0}]}),
    ("orders", {"count": 0}),
    ("supply_sources", {"alias": "no code"}),
    ("listings", {"quantity": 3}),
])
def test_bad_seed_specs_are_400_with_a_reason(amazon_sandbox, path, body):
    seller_id = amazon_sandbox.seed_seller()["selling_partner_id"]
    answer = amazon_sandbox.http.post(f"/_sandbox/sellers/{seller_id}/{path}", json=body)
    assert answer.status_code == 400 and answer.json()["error"]


def test_unknown_sellers_are_404(amazon_sandbox):
    assert amazon_sandbox.http.get("/_sandbox/sellers/A0NOSUCHSELLER").status_code == 404
    assert amazon_sandbox.http.post("/_sandbox/sellers/A0NOSUCHSELLER/orders", json={}).status_code == 404


def test_reset_forgets_everything(amazon_sandbox):
    seller_id = amazon_sandbox.seed_seller()["selling_partner_id"]
    amazon_sandbox.create_order(seller_id)
    amazon_sandbox.set_faults(error_rate=1.0)
    amazon_sandbox.set_rate_limits(enabled=False)
    amazon_sandbox.reset()
    assert amazon_sandbox.http.get("/_sandbox/sellers").json() == {"sellers": []}
    assert amazon_sandbox.http.get("/_sandbox/faults").json()["error_rate"] == 0.0
    assert amazon_sandbox.http.get("/_sandbox/rate_limits").json()["enabled"] is True


def test_the_page_shows_sellers_orders_confirmations_listings_and_calls(amazon_sandbox):
    seller_id = amazon_sandbox.seed_seller(name="Bronte Books")["selling_partner_id"]
    order = amazon_sandbox.create_order(seller_id, items=[{"SellerSKU": "BOOK-1", "QuantityOrdered": 3}])
    amazon_sandbox.add_listing(seller_id, "BOOK-1", quantity=12)
    amazon_sandbox.http.get("/orders/v0/orders")                       # a vendor call, refused (no token)
    page = amazon_sandbox.http.get("/_sandbox/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for text in ("Bronte Books", order["AmazonOrderId"], "BOOK-1 0/3", "Shipment confirmations", "/orders/v0/orders"):
        assert text in page.text


def test_the_app_registration_can_be_read_and_changed(amazon_sandbox):
    info = amazon_sandbox.app_info()
    assert info["lwa_client_id"] == "amzn1.application-oa2-client.sandbox"
    assert info["application_id"] == "amzn1.sellerapps.app.sandbox"
    assert info["consent_url"].startswith(amazon_sandbox.url + "/apps/authorize/consent?application_id=")
    assert amazon_sandbox.set_redirect_uris("http://127.0.0.1:5555/cb/")["redirect_uris"] == ["http://127.0.0.1:5555/cb/"]


def test_standalone_server_with_demo_data():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "integrations.sandbox.amazon", "--port", "0", "--seed-demo",
                                "--redirect-uri", "http://127.0.0.1:8000/integrations/amazon/callback/"],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert match, first + (process.stderr.read() if process.poll() is not None and process.stderr else "")
        url = match.group(1)
        deadline = time.monotonic() + 10
        while True:
            try:
                state = httpx.get(f"{url}/_sandbox/sellers/{DEMO_SELLER_ID}", timeout=2).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert set(state["listings"]) == {"DEMO-MUG-01", "DEMO-TEE-02", "DEMO-CAP-03"}
        assert {s["supplySourceCode"] for s in state["supply_sources"]} >= {"SYD-01", "LAX-01"}
        assert {item["SellerSKU"] for o in state["orders"] for item in o["OrderItems"]} <= set(state["listings"])
        assert {o["MarketplaceId"] for o in state["orders"]} == {AU, US}
        token = httpx.post(f"{url}/auth/o2/token", data={
            "grant_type": "refresh_token", "refresh_token": DEMO_REFRESH_TOKEN,
            "client_id": "amzn1.application-oa2-client.sandbox", "client_secret": "sandbox-secret"})
        assert token.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
