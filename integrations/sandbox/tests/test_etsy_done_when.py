"""Issue 3's "Done when" for Etsy: plain HTTP gets a token, reads receipts, ships one and pushes stock;
the sandbox runs on its own; a person can follow it on /_sandbox/."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from integrations.sandbox.etsy import build_app

REDIRECT = "http://localhost:8000/integrations/etsy/callback/"
TRACKING = "9400111899223344556677"
REPO_ROOT = Path(__file__).resolve().parents[3]


def test_plain_http_token_receipts_shipment_and_inventory(etsy_sandbox):
    shop = etsy_sandbox.create_shop(shop_name="PlainShop")
    listing = etsy_sandbox.create_listing(shop["shop_id"], title="Mug", products=[
        {"sku": "MUG-1", "quantity": 10, "price": 12.5}])
    etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "MUG-1", "quantity": 2}])

    # 1. Authorize with PKCE S256, by hand.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    state = secrets.token_urlsafe(16)
    authorize = etsy_sandbox.authorize_url + "?" + urlencode({
        "response_type": "code", "client_id": etsy_sandbox.keystring, "redirect_uri": REDIRECT,
        "scope": "transactions_r transactions_w listings_r listings_w shops_r", "state": state,
        "code_challenge": challenge, "code_challenge_method": "S256"})
    page = requests.get(authorize, timeout=10).text
    request_id = html.unescape(re.search(r'name="request_id" value="([^"]+)"', page).group(1))
    back = requests.post(etsy_sandbox.authorize_url, data={"request_id": request_id, "decision": "allow",
                                                            "shop_id": shop["shop_id"]},
                         allow_redirects=False, timeout=10).headers["Location"]
    params = parse_qs(urlsplit(back).query)
    assert params["state"] == [state]
    token = requests.post(etsy_sandbox.token_url, data={
        "grant_type": "authorization_code", "client_id": etsy_sandbox.keystring, "redirect_uri": REDIRECT,
        "code": params["code"][0], "code_verifier": verifier}, timeout=10).json()
    api = requests.Session()
    api.headers.update(etsy_sandbox.headers(token["access_token"]))
    base = etsy_sandbox.api_url

    # 2. Discover the shop and read the orders ready to ship.
    me = api.get(f"{base}/users/me", timeout=10).json()
    assert me["shop_id"] == shop["shop_id"]
    receipts_url = f"{base}/shops/{me['shop_id']}/receipts"
    ready = api.get(receipts_url, timeout=10, params={"was_paid": "true", "was_shipped": "false",
                                                      "was_canceled": "false", "limit": 100}).json()
    assert ready["count"] == 1
    receipt = ready["results"][0]
    assert receipt["transactions"][0]["sku"] == "MUG-1"

    # 3. Ship it with tracking.
    shipped = api.post(f"{receipts_url}/{receipt['receipt_id']}/tracking", timeout=10,
                       data={"tracking_code": TRACKING, "carrier_name": "usps"}).json()
    assert shipped["status"] == "completed"
    assert api.get(receipts_url, params={"was_shipped": "false"}, timeout=10).json()["count"] == 0

    # 4. Push a stock level: read the inventory, send the whole set back with the new quantity.
    found = api.get(f"{base}/shops/{me['shop_id']}/listings", params={"skus": "MUG-1"},
                    timeout=10).json()["results"]
    assert [item["listing_id"] for item in found] == [listing["listing_id"]]
    inventory = api.get(f"{base}/listings/{listing['listing_id']}/inventory", timeout=10).json()
    product = inventory["products"][0]
    offering = product["offerings"][0]
    body = {"products": [{"sku": product["sku"], "property_values": [],
                          "offerings": [{"price": offering["price"]["amount"] / offering["price"]["divisor"],
                                         "quantity": 8, "is_enabled": True}]}],
            "price_on_property": [], "quantity_on_property": [], "sku_on_property": []}
    pushed = api.put(f"{base}/listings/{listing['listing_id']}/inventory", json=body, timeout=10)
    assert pushed.status_code == 200

    state = etsy_sandbox.state(shop["shop_id"])
    assert [(s["carrier_name"], s["tracking_code"]) for s in state["shipments"]] == [("usps", TRACKING)]
    assert state["listings"][0]["quantity"] == 8
    assert state["listings"][0]["inventory"]["products"][0]["offerings"][0]["price"]["amount"] == 1250


def test_overview_page_shows_shops_receipts_tracking_listings_and_calls(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop(shop_name="PageShop")
    etsy_sandbox.create_listing(shop["shop_id"], title="Blue Mug",
                                products=[{"sku": "MUG-B", "quantity": 5, "price": 9}])
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "MUG-B", "quantity": 3}])
    requests.post(f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/receipts/{receipt['receipt_id']}/tracking",
                  data={"tracking_code": "TRACK-123", "carrier_name": "ups"},
                  headers=etsy_sandbox.headers(grant["access_token"]), timeout=10)

    page = requests.get(f"{etsy_sandbox.url}/_sandbox/", timeout=10)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for text in ("PageShop", str(receipt["receipt_id"]), "completed", "MUG-B × 3", "TRACK-123", "Blue Mug",
                 "qty 5", "/tracking"):
        assert text in page.text


def test_demo_seed_has_the_demo_skus_and_paid_receipts():
    app = build_app(seed_demo=True)
    shop = next(iter(app.store.shops.values()))
    skus = {product.sku for listing in app.store.shop_listings(shop.shop_id) for product in listing.products}
    assert skus == {"DEMO-MUG-01", "DEMO-TEE-02", "DEMO-CAP-03"}
    tee = next(listing for listing in app.store.shop_listings(shop.shop_id) if "DEMO-TEE-02" in listing.skus)
    assert len(tee.products) == 3 and all(p.property_values for p in tee.products)
    paid = [r for r in app.store.shop_receipts(shop.shop_id) if r.status == "paid"]
    assert len(paid) >= 3
    app.reset_state()                             # the demo data comes back after a reset
    assert len(app.store.shops) == 1 and len(app.store.receipts) == len(paid) + 1


def test_runs_standalone_from_the_command_line():
    process = subprocess.Popen(
        [sys.executable, "-m", "integrations.sandbox.etsy", "--port", "0", "--seed-demo",
         "--redirect-uri", "http://localhost:9999/cb"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stdout.readline()
        url = re.search(r"listening on (http://\S+)", first_line).group(1)
        ping = requests.get(f"{url}/v3/application/openapi-ping",
                            headers={"x-api-key": "sandboxkeystring:sandboxsecret"}, timeout=10)
        assert ping.status_code == 200
        shops = requests.get(f"{url}/_sandbox/shops", timeout=10).json()["shops"]
        assert [s["shop_name"] for s in shops] == ["SandboxCraftCo"]
        uris = requests.get(f"{url}/_sandbox/redirect_uris", timeout=10).json()["redirect_uris"]
        assert uris == ["http://localhost:9999/cb"]
    finally:
        process.terminate()
        process.wait(timeout=10)
