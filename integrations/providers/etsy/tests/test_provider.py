"""EtsyProvider over real HTTP against the Etsy sandbox (integrations/sandbox/etsy).

The sandbox is set up through its control API; everything the provider does crosses the wire the
same way production crosses it to api.etsy.com.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from integrations.providers.base import (
    Connection,
    OrderState,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    ShipmentConfirmation,
    ShipmentItem,
    StockLevelUpdate,
)
from integrations.providers.etsy import EtsyProvider


REDIRECT_URI = "http://127.0.0.1:8765/integrations/etsy/callback/"
SCOPES = "transactions_r transactions_w listings_r listings_w shops_r"
DAY = dt.timedelta(days=1)


# --- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _insecure_transport_for_the_local_sandbox(monkeypatch):
    # The sandbox speaks http on 127.0.0.1; production never sets this (see auth.py).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def provider(etsy_sandbox, sleeps) -> EtsyProvider:
    return make_provider(etsy_sandbox, sleeps)


def make_provider(sandbox, sleeps: list[float], **options: Any) -> EtsyProvider:
    return EtsyProvider(keystring=sandbox.keystring, shared_secret=sandbox.shared_secret,
                        api_base_url=sandbox.url, oauth_connect_url=sandbox.authorize_url,
                        token_url=sandbox.token_url, timeout=5.0, sleep=sleeps.append, **options)


class SavedTokens:
    """What the integration service does: hand out the access token, refresh and save both on demand."""

    def __init__(self, provider: EtsyProvider, grant: dict[str, Any]):
        self.provider = provider
        self.access_token = grant["access_token"]
        self.refresh_token = grant["refresh_token"]
        self.refreshes = 0

    def get(self, *, force_refresh: bool = False) -> str:
        if force_refresh:
            fresh = self.provider.refresh_tokens(refresh_token=self.refresh_token)
            self.access_token, self.refresh_token = fresh.access_token, fresh.refresh_token
            self.refreshes += 1
        return self.access_token


@pytest.fixture
def shop(etsy_sandbox) -> dict[str, Any]:
    return etsy_sandbox.create_shop()


@pytest.fixture
def tokens(etsy_sandbox, provider, shop) -> SavedTokens:
    return SavedTokens(provider, etsy_sandbox.grant(shop["user_id"]))


@pytest.fixture
def conn(shop, tokens) -> Connection:
    return Connection(account_id=str(shop["user_id"]), refresh_token=tokens.refresh_token,
                      shop_id=str(shop["shop_id"]), tokens=tokens)


# --- consent page, driven like a browser would ---------------------------------------------------
class _FormParser(HTMLParser):
    """The consent page's <form>: its action, method and the fields a browser would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.method = "get"
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, list[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action, self.method = a.get("action", ""), a.get("method", "get").lower()
        elif tag == "input" and a.get("name") and a.get("type") != "submit":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and self._select not in self.fields:
            self.fields[self._select] = a.get("value", "")     # the first option is the selected one
        elif tag == "button" and a.get("name"):
            self.buttons.setdefault(a["name"], []).append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def consent(url: str, decision: str = "allow") -> dict[str, str]:
    """Open the consent page, press its `decision` button, return the redirect's query."""
    page = requests.get(url, timeout=5)
    assert page.status_code == 200, page.text
    form = _FormParser()
    form.feed(page.text)
    name = next(n for n, values in form.buttons.items() if decision in values)
    data = {**form.fields, name: decision}
    target = urljoin(url, form.action)
    answer = requests.request(form.method.upper(), target, data=data, allow_redirects=False, timeout=5)
    assert answer.status_code in (302, 303), answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def redirect_uri(etsy_sandbox) -> str:
    etsy_sandbox.add_redirect_uri(REDIRECT_URI)
    return REDIRECT_URI


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


# --- connect ----------------------------------------------------------------------------------------
def test_pkce_authorization_connects_the_shop(etsy_sandbox, provider, shop, redirect_uri):
    request = provider.authorization_url(state="state-1", redirect_uri=redirect_uri)
    query = {k: v[-1] for k, v in parse_qs(urlsplit(request.url).query).items()}
    assert request.url.startswith(etsy_sandbox.authorize_url + "?")
    assert query == {
        "response_type": "code", "client_id": etsy_sandbox.keystring, "redirect_uri": redirect_uri,
        "scope": SCOPES, "state": "state-1", "code_challenge": s256(request.code_verifier),
        "code_challenge_method": "S256",
    }
    assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", request.code_verifier)

    callback = consent(request.url)
    assert callback["state"] == "state-1"
    before = dt.datetime.now(dt.UTC)
    creds = provider.complete_authorization(params=callback, redirect_uri=redirect_uri,
                                            code_verifier=request.code_verifier)

    assert (creds.account_id, creds.shop_id, creds.shop_name) == (
        str(shop["user_id"]), str(shop["shop_id"]), shop["shop_name"])
    assert creds.access_token.startswith(f"{shop['user_id']}.")
    assert creds.refresh_token and creds.refresh_token != creds.access_token
    assert creds.access_token_expires_at is not None
    assert dt.timedelta(minutes=59) < creds.access_token_expires_at - before <= dt.timedelta(minutes=61)
    # The token works for this shop.
    tokens = SavedTokens(provider, {"access_token": creds.access_token, "refresh_token": creds.refresh_token})
    conn = Connection(account_id=creds.account_id, refresh_token=creds.refresh_token, shop_id=creds.shop_id,
                      tokens=tokens)
    assert provider.test_connection(conn=conn) == f"Connected to Etsy shop {shop['shop_name']}"


def test_denied_consent_is_an_auth_error(provider, shop, redirect_uri):
    request = provider.authorization_url(state="state-2", redirect_uri=redirect_uri)
    callback = consent(request.url, decision="deny")
    assert callback["error"] == "access_denied"

    with pytest.raises(ProviderAuthError, match="declined"):
        provider.complete_authorization(params=callback, redirect_uri=redirect_uri,
                                        code_verifier=request.code_verifier)


def test_code_from_another_attempt_is_refused(provider, shop, redirect_uri):
    """A callback whose state belongs to another attempt brings the wrong verifier: PKCE fails."""
    first = provider.authorization_url(state="state-a", redirect_uri=redirect_uri)
    second = provider.authorization_url(state="state-b", redirect_uri=redirect_uri)
    callback = consent(first.url)

    with pytest.raises(ProviderAuthError, match="refused the authorization code"):
        provider.complete_authorization(params=callback, redirect_uri=redirect_uri,
                                        code_verifier=second.code_verifier)


def test_authorization_code_works_once(provider, shop, redirect_uri):
    request = provider.authorization_url(state="state-3", redirect_uri=redirect_uri)
    callback = consent(request.url)
    provider.complete_authorization(params=callback, redirect_uri=redirect_uri,
                                    code_verifier=request.code_verifier)

    with pytest.raises(ProviderAuthError, match="refused the authorization code"):
        provider.complete_authorization(params=callback, redirect_uri=redirect_uri,
                                        code_verifier=request.code_verifier)


def test_callback_without_code_or_verifier_is_an_auth_error(provider):
    with pytest.raises(ProviderAuthError, match="no authorization code"):
        provider.complete_authorization(params={"state": "s"}, redirect_uri=REDIRECT_URI,
                                        code_verifier="v" * 43)
    with pytest.raises(ProviderAuthError, match="no PKCE verifier"):
        provider.complete_authorization(params={"state": "s", "code": "c"}, redirect_uri=REDIRECT_URI)


# --- tokens -----------------------------------------------------------------------------------------
def test_refresh_rotates_both_tokens_and_retires_the_old_refresh_token(etsy_sandbox, provider, shop):
    grant = etsy_sandbox.grant(shop["user_id"])

    fresh = provider.refresh_tokens(refresh_token=grant["refresh_token"])

    assert fresh.access_token != grant["access_token"]
    assert fresh.refresh_token != grant["refresh_token"]
    assert fresh.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=59)
    with pytest.raises(ProviderAuthError):
        provider.refresh_tokens(refresh_token=grant["refresh_token"])
    assert provider.refresh_tokens(refresh_token=fresh.refresh_token).access_token


def test_expired_access_token_is_refreshed_once_and_the_call_retried(etsy_sandbox, provider, shop, conn,
                                                                    tokens):
    etsy_sandbox.expire_tokens(shop["user_id"])

    assert provider.test_connection(conn=conn) == f"Connected to Etsy shop {shop['shop_name']}"
    assert tokens.refreshes == 1
    statuses = [c["status"] for c in etsy_sandbox.calls("/users/me")]
    assert statuses == [401, 200]


def test_revoked_grant_is_an_auth_error(etsy_sandbox, provider, shop, conn, tokens):
    etsy_sandbox.revoke_tokens(shop["user_id"])

    with pytest.raises(ProviderAuthError):
        provider.test_connection(conn=conn)
    with pytest.raises(ProviderAuthError):
        provider.refresh_tokens(refresh_token=tokens.refresh_token)


def test_wrong_shared_secret_is_rejected(etsy_sandbox, shop, conn, sleeps):
    stranger = EtsyProvider(keystring=etsy_sandbox.keystring, shared_secret="wrong",
                            api_base_url=etsy_sandbox.url, sleep=sleeps.append)

    with pytest.raises(ProviderRejected, match="HTTP 403"):
        stranger.test_connection(conn=conn)


# --- orders -----------------------------------------------------------------------------------------
def all_pages(provider: EtsyProvider, conn: Connection, since: dt.datetime) -> list:
    return list(provider.orders_updated_since(conn=conn, since=since))


def test_orders_page_through_250_receipts_with_the_watermark_on_the_last_page(etsy_sandbox, provider, shop,
                                                                              conn):
    created = etsy_sandbox.create_receipts(shop["shop_id"], 250, transactions=[{"sku": "MUG", "quantity": 1}])
    before = dt.datetime.now(dt.UTC)

    pages = all_pages(provider, conn, since=before - DAY)

    after = dt.datetime.now(dt.UTC)
    ids = [o.order_id for page in pages for o in page.orders]
    assert sorted(ids) == sorted(str(r["receipt_id"]) for r in created)
    assert len(ids) == len(set(ids)) == 250
    assert all(o.state is OrderState.READY and o.lines[0].sku == "MUG" for p in pages for o in p.orders)
    assert [p.watermark is not None for p in pages] == [False] * (len(pages) - 1) + [True]
    assert before <= pages[-1].watermark <= after
    new_orders = [c["query"] for c in etsy_sandbox.calls("/receipts") if "min_created" in c["query"]]
    pages_read = [(q["limit"][0], q["offset"][0]) for q in new_orders]
    assert pages_read == [("100", "0"), ("100", "100"), ("100", "200")]
    assert {(q["was_paid"][0], q["was_shipped"][0], q["was_canceled"][0]) for q in new_orders} == {
        ("true", "false", "false")}
    # Three pages of new orders, one empty late-payment search, one empty cancellation search: the
    # new orders are read once, not again by the searches on last-modified time.
    assert len(etsy_sandbox.calls("/receipts")) == 5


def test_poll_skips_unpaid_shipped_and_old_receipts(etsy_sandbox, provider, shop, conn):
    paid = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "MUG", "quantity": 1}])
    etsy_sandbox.create_receipt(shop["shop_id"], status="open", transactions=[{"sku": "MUG", "quantity": 1}])
    etsy_sandbox.create_receipt(shop["shop_id"], status="payment processing",
                                transactions=[{"sku": "MUG", "quantity": 1}])
    shipped = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "MUG", "quantity": 1}])
    provider.confirm_shipment(conn=conn, shipment=package(shipped["receipt_id"], "PKG-1", "TRACK-1"))

    pages = all_pages(provider, conn, since=dt.datetime.now(dt.UTC) - DAY)
    ids = [o.order_id for p in pages for o in p.orders]
    assert ids == [str(paid["receipt_id"])]
    assert [o for p in all_pages(provider, conn, since=dt.datetime.now(dt.UTC) + DAY) for o in p.orders] == []


def test_payment_settled_late_is_imported(etsy_sandbox, provider, shop, conn):
    """Created before the window but paid inside it: min_created alone would never see it again."""
    three_days_ago = int((dt.datetime.now(dt.UTC) - 3 * DAY).timestamp())
    late = etsy_sandbox.create_receipt(shop["shop_id"], status="payment processing",
                                       created_timestamp=three_days_ago,
                                       transactions=[{"sku": "MUG", "quantity": 1}])
    assert late["created_timestamp"] == three_days_ago
    etsy_sandbox.update_receipt(shop["shop_id"], late["receipt_id"], status="paid")

    orders = [o for p in all_pages(provider, conn, since=dt.datetime.now(dt.UTC) - DAY) for o in p.orders]

    assert [(o.order_id, o.state) for o in orders] == [(str(late["receipt_id"]), OrderState.READY)]


def test_canceled_receipts_are_surfaced_as_cancelled(etsy_sandbox, provider, shop, conn):
    kept = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "MUG", "quantity": 1}])
    dropped = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "MUG", "quantity": 1}])
    etsy_sandbox.update_receipt(shop["shop_id"], dropped["receipt_id"], status="canceled")

    pages = all_pages(provider, conn, since=dt.datetime.now(dt.UTC) - DAY)

    states = {o.order_id: o.state for p in pages for o in p.orders}
    assert states == {str(kept["receipt_id"]): OrderState.READY,
                      str(dropped["receipt_id"]): OrderState.CANCELLED}
    assert pages[-1].watermark is not None


def test_receipt_fields_come_through_the_wire(etsy_sandbox, provider, shop, conn):
    ship_by = int((dt.datetime.now(dt.UTC) + 2 * DAY).timestamp())
    withheld = etsy_sandbox.create_receipt(shop["shop_id"], withhold_address=True,
                                           transactions=[{"sku": "MUG", "quantity": 2,
                                                          "expected_ship_date": ship_by}])
    pickup = etsy_sandbox.create_receipt(shop["shop_id"], is_pickup=True,
                                         transactions=[{"sku": "MUG", "quantity": 1}])
    blank = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "", "quantity": 1}])

    orders = {o.order_id: o for o in provider.orders_by_id(
        conn=conn, order_ids=[str(r["receipt_id"]) for r in (withheld, pickup, blank)])}

    w = orders[str(withheld["receipt_id"])]
    assert (w.address_withheld, w.address, w.is_pickup) == (True, None, False)
    assert w.latest_ship_at == dt.datetime.fromtimestamp(ship_by, dt.UTC)
    assert w.lines[0].quantity == 2
    p = orders[str(pickup["receipt_id"])]
    assert (p.is_pickup, p.address_withheld) == (True, False)
    b = orders[str(blank["receipt_id"])]
    assert b.lines[0].sku == "" and "no SKU" in b.problems[0]


def test_unknown_receipt_id_is_rejected(provider, conn):
    with pytest.raises(ProviderRejected, match="HTTP 404"):
        provider.orders_by_id(conn=conn, order_ids=["999"])


# --- fulfilment -----------------------------------------------------------------------------------
def package(receipt_id: int, reference: str, tracking: str, carrier: str = "usps") -> ShipmentConfirmation:
    return ShipmentConfirmation(
        order_id=str(receipt_id), package_reference=reference, carrier_code=carrier, carrier_name="USPS",
        tracking_number=tracking, ship_date=dt.datetime(2026, 3, 30, 10, 0, tzinfo=dt.UTC),
        items=(ShipmentItem(line_id="1", quantity=1),),
    )


def test_confirm_shipment_sends_a_form_and_etsy_keeps_the_tracking(etsy_sandbox, provider, shop, conn):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "MUG", "quantity": 1}])

    tracking = "9400111899223344556677"
    provider.confirm_shipment(conn=conn, shipment=package(receipt["receipt_id"], "PKG-1", tracking))

    state = etsy_sandbox.state(shop["shop_id"])
    [shipment] = state["shipments"]
    assert shipment["tracking_code"] == "9400111899223344556677"
    assert shipment["carrier_name"] == "usps"
    assert shipment["content_type"].startswith("application/x-www-form-urlencoded")
    [call] = etsy_sandbox.calls("/tracking")
    assert call["body"]["ship_date"] == "2026-03-30T10:00:00Z"
    assert call["body"]["send_bcc"] == "false"
    [stored] = [r for r in state["receipts"] if r["receipt_id"] == receipt["receipt_id"]]
    assert (stored["status"], stored["is_shipped"]) == ("completed", True)


def test_two_packages_make_two_shipments(etsy_sandbox, provider, shop, conn):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "MUG", "quantity": 2}])

    provider.confirm_shipment(conn=conn, shipment=package(receipt["receipt_id"], "PKG-1", "TRACK-1"))
    provider.confirm_shipment(conn=conn, shipment=package(receipt["receipt_id"], "PKG-2", "TRACK-2", "ups"))

    shipments = etsy_sandbox.state(shop["shop_id"])["shipments"]
    assert [(s["tracking_code"], s["carrier_name"]) for s in shipments] == [
        ("TRACK-1", "usps"), ("TRACK-2", "ups")]


def test_shipping_a_canceled_receipt_is_rejected(etsy_sandbox, provider, shop, conn):
    receipt = etsy_sandbox.create_receipt(shop["shop_id"], transactions=[{"sku": "MUG", "quantity": 1}])
    etsy_sandbox.update_receipt(shop["shop_id"], receipt["receipt_id"], status="canceled")

    with pytest.raises(ProviderRejected, match="HTTP 409"):
        provider.confirm_shipment(conn=conn, shipment=package(receipt["receipt_id"], "PKG-1", "TRACK-1"))
    assert etsy_sandbox.state(shop["shop_id"])["shipments"] == []


# --- stock ------------------------------------------------------------------------------------------
def mug_listing(sandbox, shop_id: int) -> dict[str, Any]:
    """reference §7.1: two colours, quantity and SKU varying by colour."""
    return sandbox.create_listing(
        shop_id, title="Ceramic Mug",
        products=[
            {"sku": "MUG-BLUE-12", "quantity": 10, "price": 12.99,
             "property_values": [{"property_id": 200, "property_name": "Primary color", "value_ids": [1213],
                                  "values": ["Blue"]}]},
            {"sku": "MUG-RED-12", "quantity": 4, "price": 14.50,
             "property_values": [{"property_id": 200, "property_name": "Primary color", "value_ids": [1214],
                                  "values": ["Red"]}]},
        ],
        quantity_on_property=[200], sku_on_property=[200], price_on_property=[200],
    )


def inventory_of(sandbox, shop_id: int, listing_id: int) -> dict[str, Any]:
    [listing] = [lst for lst in sandbox.state(shop_id)["listings"] if lst["listing_id"] == listing_id]
    return listing["inventory"]


def without_quantities(inventory: dict[str, Any]) -> dict[str, Any]:
    """The inventory minus what a PUT may change: quantities, and the ids Etsy issues anew on a PUT."""
    def offering(o: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in o.items() if k not in ("quantity", "offering_id")}

    products = [{**{k: v for k, v in p.items() if k != "product_id"},
                 "offerings": [offering(o) for o in p["offerings"]]} for p in inventory["products"]]
    return {**inventory, "products": products}


def test_inventory_push_changes_only_quantities_and_keeps_variations(etsy_sandbox, provider, shop, conn):
    mugs = mug_listing(etsy_sandbox, shop["shop_id"])
    plate = etsy_sandbox.create_listing(shop["shop_id"], title="Plate",
                                        products=[{"sku": "PLATE", "quantity": 5, "price": 20.0}])
    before = inventory_of(etsy_sandbox, shop["shop_id"], mugs["listing_id"])

    result = provider.push_inventory(conn=conn, levels=[StockLevelUpdate("MUG-BLUE-12", 7),
                                                         StockLevelUpdate("PLATE", 5)])

    assert sorted(result.accepted) == ["MUG-BLUE-12", "PLATE"] and result.rejected == ()
    after = inventory_of(etsy_sandbox, shop["shop_id"], mugs["listing_id"])
    quantities = {p["sku"]: p["offerings"][0]["quantity"] for p in after["products"]}
    assert quantities == {"MUG-BLUE-12": 7, "MUG-RED-12": 4}
    # Variations, prices, SKUs and the *_on_property arrays are as they were.
    assert without_quantities(after) == without_quantities(before)
    # The plate already had 5: no write for it; one write for the mugs.
    puts = [c["path"] for c in etsy_sandbox.calls("/inventory") if c["method"] == "PUT"]
    assert puts == [f"/v3/application/listings/{mugs['listing_id']}/inventory"]
    assert plate["listing_id"] != mugs["listing_id"]


def test_inventory_push_without_changes_writes_nothing(etsy_sandbox, provider, shop, conn):
    mug_listing(etsy_sandbox, shop["shop_id"])

    result = provider.push_inventory(conn=conn, levels=[StockLevelUpdate("MUG-BLUE-12", 10),
                                                         StockLevelUpdate("MUG-RED-12", 4)])

    assert sorted(result.accepted) == ["MUG-BLUE-12", "MUG-RED-12"]
    assert [c for c in etsy_sandbox.calls("/inventory") if c["method"] == "PUT"] == []


def test_inventory_push_rejects_skus_no_listing_holds(etsy_sandbox, provider, shop, conn):
    mug_listing(etsy_sandbox, shop["shop_id"])

    result = provider.push_inventory(conn=conn, levels=[StockLevelUpdate("MUG-RED-12", 1),
                                                         StockLevelUpdate("GHOST", 3)])

    assert result.accepted == ("MUG-RED-12",)
    assert result.rejected == (("GHOST", "no active Etsy listing has this SKU"),)


# --- rate limits and failures -----------------------------------------------------------------------
def test_daily_quota_reserve_stops_before_spending(etsy_sandbox, shop, conn, sleeps):
    provider = make_provider(etsy_sandbox, sleeps, daily_quota_reserve=10)
    conn = Connection(account_id=conn.account_id, refresh_token="", shop_id=conn.shop_id,
                      tokens=SavedTokens(provider, etsy_sandbox.grant(shop["user_id"])))
    etsy_sandbox.set_rate_limits(remaining_today=12)

    provider.test_connection(conn=conn)          # users/me and getShop: 10 left, the reserve
    spent = len(etsy_sandbox.calls())
    with pytest.raises(ProviderRateLimited) as caught:
        provider.orders_by_id(conn=conn, order_ids=["1"])

    assert caught.value.daily is True and caught.value.retry_after and caught.value.retry_after > 0
    assert len(etsy_sandbox.calls()) == spent      # refused before calling Etsy


def test_429_is_retried_then_rate_limited_with_retry_after(etsy_sandbox, provider, conn, sleeps):
    etsy_sandbox.set_faults(throttle_next=4)                  # the first try and three retries

    with pytest.raises(ProviderRateLimited) as caught:
        provider.test_connection(conn=conn)

    assert caught.value.retry_after == 1.0
    assert caught.value.daily is False
    assert [c["status"] for c in etsy_sandbox.calls()] == [429] * 4
    assert sum(1 for s in sleeps if s >= 1.0) >= 3                # at least retry-after before each retry


def test_one_429_or_server_error_on_a_read_costs_a_retry(etsy_sandbox, provider, conn, sleeps):
    etsy_sandbox.set_faults(throttle_next=1)
    assert provider.test_connection(conn=conn).startswith("Connected to Etsy shop")
    etsy_sandbox.set_faults(fail_next=2)
    assert provider.test_connection(conn=conn).startswith("Connected to Etsy shop")
    statuses = [c["status"] for c in etsy_sandbox.calls()]
    assert statuses.count(429) == 1 and sum(1 for s in statuses if s >= 500) == 2 and statuses[-1] == 200


def test_spent_day_is_a_daily_rate_limit(etsy_sandbox, provider, conn):
    etsy_sandbox.set_rate_limits(remaining_today=0)

    with pytest.raises(ProviderRateLimited) as caught:
        provider.test_connection(conn=conn)
    spent = len(etsy_sandbox.calls())
    with pytest.raises(ProviderRateLimited):
        provider.test_connection(conn=conn)

    assert caught.value.daily is True
    assert len(etsy_sandbox.calls()) == spent       # the second attempt never reached Etsy


def test_last_call_of_the_second_pauses_before_the_next(etsy_sandbox, conn, sleeps):
    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    provider = EtsyProvider(keystring=etsy_sandbox.keystring, shared_secret=etsy_sandbox.shared_secret,
                            api_base_url=etsy_sandbox.url, sleep=sleep)
    etsy_sandbox.set_rate_limits(per_second=1)

    # users/me spends the second's only call; without the pause getShop would get a 429.
    provider.test_connection(conn=conn)

    assert sleeps == [1.0]
    assert [c["status"] for c in etsy_sandbox.calls("/v3/application/")] == [200, 200]


@pytest.mark.parametrize(("fault", "message"), [("fail_next", "HTTP 5"), ("malformed_next", "without JSON")])
def test_server_faults_are_unavailable(etsy_sandbox, provider, conn, fault, message):
    etsy_sandbox.set_faults(**{fault: 4})

    with pytest.raises(ProviderUnavailable, match=message):
        provider.test_connection(conn=conn)


def test_unreachable_etsy_is_unavailable(conn, sleeps):
    nowhere = EtsyProvider(keystring="k", shared_secret="s", api_base_url="http://127.0.0.1:9", timeout=1.0,
                           sleep=sleeps.append)

    with pytest.raises(ProviderUnavailable):
        nowhere.test_connection(conn=conn)
