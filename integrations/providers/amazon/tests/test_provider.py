"""AmazonProvider over real HTTP against the Amazon sandbox on 127.0.0.1 (the same wire production uses).

The sandbox's call log (`/_sandbox/calls`) is the witness for what went over the wire: how many
restricted data tokens, which bodies, which pages.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sp_api.auth import access_token_client

from integrations.providers.amazon import AmazonProvider
from integrations.providers.amazon.client import AmazonClient, ClientConfig
from integrations.providers.base import (
    Connection,
    FeedFinished,
    MarketplaceOrderLine,
    OrderState,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    ShipmentConfirmation,
    ShipmentItem,
    StockLevelUpdate,
)

AU = "A39IBJ37TRP1C6"
REDIRECT_URI = "http://127.0.0.1:8000/integrations/amazon/callback/"
ONE_MUG = [{"SellerSKU": "MUG", "QuantityOrdered": 1}]
UTC = dt.UTC


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    # python-amazon-sp-api caches access tokens per process, keyed by refresh token only (§1.2).
    access_token_client.cache.clear()
    yield
    access_token_client.cache.clear()


@dataclass
class Seller:
    selling_partner_id: str
    refresh_token: str
    conn: Connection

    def with_options(self, **options: Any) -> Connection:
        return Connection(account_id=self.selling_partner_id, refresh_token=self.refresh_token,
                          marketplace_id=AU, options=options)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_provider(amazon_sandbox, sleeps):
    def make(**overrides: Any) -> AmazonProvider:
        options: dict[str, Any] = dict(
            lwa_app_id=amazon_sandbox.lwa_client_id, lwa_client_secret=amazon_sandbox.lwa_client_secret,
            application_id=amazon_sandbox.application_id, lwa_token_url=f"{amazon_sandbox.url}/auth/o2/token",
            spapi_endpoint=amazon_sandbox.url, seller_central_url=amazon_sandbox.url, timeout=5.0,
            sleep=sleeps.append,
        )
        return AmazonProvider(**{**options, **overrides})
    return make


@pytest.fixture
def provider(make_provider) -> AmazonProvider:
    return make_provider()


@pytest.fixture
def seller(amazon_sandbox) -> Seller:
    seeded = amazon_sandbox.seed_seller(marketplace_ids=[AU])
    conn = Connection(account_id=seeded["selling_partner_id"], refresh_token=seeded["refresh_token"],
                      marketplace_id=AU)
    return Seller(seeded["selling_partner_id"], seeded["refresh_token"], conn)


def calls(sandbox, path: str, method: str | None = None) -> list[dict[str, Any]]:
    return [c for c in sandbox.calls(path) if method is None or c["method"] == method]


def get_orders_queries(sandbox) -> list[dict[str, list[str]]]:
    return [c["query"] for c in sandbox.calls("/orders/v0/orders") if c["path"] == "/orders/v0/orders"]


def an_hour_ago() -> dt.datetime:
    return dt.datetime.now(UTC) - dt.timedelta(hours=1)


# --- authorization ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("marketplace_id", "host"), [
    ("A39IBJ37TRP1C6", "sellercentral.amazon.com.au"),
    ("ATVPDKIKX0DER", "sellercentral.amazon.com"),
    ("A2EUQ1WTGCTBG2", "sellercentral.amazon.ca"),
    ("A1F83G8C2ARO7P", "sellercentral-europe.amazon.com"),
    ("A1VC38T7YXB528", "sellercentral.amazon.co.jp"),
])
def test_authorization_url_goes_to_the_marketplaces_seller_central(marketplace_id, host):
    provider = AmazonProvider(lwa_app_id="amzn1.application-oa2-client.x", lwa_client_secret="s",
                              application_id="amzn1.sellerapps.app.x")
    url = provider.authorization_url(state="st-1", redirect_uri=REDIRECT_URI,
                                     marketplace_id=marketplace_id).url
    assert url == (f"https://{host}/apps/authorize/consent?application_id=amzn1.sellerapps.app.x&state=st-1"
                   "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2Fintegrations%2Famazon%2Fcallback%2F")


def test_draft_app_asks_for_the_beta_version():
    provider = AmazonProvider(lwa_app_id="a", lwa_client_secret="s", application_id="amzn1.sellerapps.app.x",
                              app_is_draft=True)
    url = provider.authorization_url(state="st", redirect_uri="", marketplace_id=AU).url
    query = parse_qs(urlsplit(url).query)
    assert query == {"application_id": ["amzn1.sellerapps.app.x"], "state": ["st"], "version": ["beta"]}


def test_unknown_marketplace_is_refused():
    provider = AmazonProvider(lwa_app_id="a", lwa_client_secret="s", application_id="x")
    with pytest.raises(ProviderRejected, match="Unknown Amazon marketplace"):
        provider.authorization_url(state="st", redirect_uri=REDIRECT_URI, marketplace_id="NOPE")


def test_configured_seller_central_serves_the_consent_page(amazon_sandbox, make_provider):
    url = make_provider(app_is_draft=True).authorization_url(
        state="st-2", redirect_uri=REDIRECT_URI, marketplace_id=AU).url
    assert url.startswith(f"{amazon_sandbox.url}/apps/authorize/consent?application_id=")
    assert "&version=beta&" in url
    assert httpx.get(url).status_code == 200


def test_code_exchange_gives_a_working_refresh_token(amazon_sandbox, provider, seller):
    code = amazon_sandbox.issue_auth_code(seller.selling_partner_id, REDIRECT_URI)["code"]

    credentials = provider.complete_authorization(
        params={"spapi_oauth_code": code, "state": "st-3", "selling_partner_id": seller.selling_partner_id},
        redirect_uri=REDIRECT_URI)

    assert credentials.account_id == seller.selling_partner_id
    assert credentials.refresh_token.startswith("Atzr|")
    assert credentials.access_token_expires_at > dt.datetime.now(UTC)
    (exchange,) = calls(amazon_sandbox, "/auth/o2/token")
    assert exchange["body"]["grant_type"] == "authorization_code"
    assert exchange["body"]["code"] == code
    conn = Connection(account_id=credentials.account_id, refresh_token=credentials.refresh_token,
                      marketplace_id=AU)
    assert "Connected to Amazon Australia" in provider.test_connection(conn=conn)


def test_invalid_or_reused_code_is_an_auth_error(amazon_sandbox, provider, seller):
    code = amazon_sandbox.issue_auth_code(seller.selling_partner_id, REDIRECT_URI)["code"]
    params = {"spapi_oauth_code": code, "state": "st", "selling_partner_id": seller.selling_partner_id}
    provider.complete_authorization(params=params, redirect_uri=REDIRECT_URI)

    with pytest.raises(ProviderAuthError, match="invalid_grant"):
        provider.complete_authorization(params=params, redirect_uri=REDIRECT_URI)
    with pytest.raises(ProviderAuthError, match="invalid_grant"):
        provider.complete_authorization(params={**params, "spapi_oauth_code": "ANbogus"},
                                        redirect_uri=REDIRECT_URI)


def test_denied_consent_is_an_auth_error_without_calling_lwa(amazon_sandbox, provider):
    with pytest.raises(ProviderAuthError, match="did not authorize the app: access_denied"):
        provider.complete_authorization(params={"error": "access_denied", "state": "st"},
                                        redirect_uri=REDIRECT_URI)
    with pytest.raises(ProviderAuthError, match="no authorization code"):
        provider.complete_authorization(params={"state": "st"}, redirect_uri=REDIRECT_URI)
    assert calls(amazon_sandbox, "/auth/o2/token") == []


def test_refresh_tokens_keeps_the_refresh_token(provider, seller):
    grant = provider.refresh_tokens(refresh_token=seller.refresh_token)
    assert grant.refresh_token == seller.refresh_token
    assert grant.access_token.startswith("Atza|")
    assert grant.expires_at > dt.datetime.now(UTC) + dt.timedelta(minutes=30)


def test_test_connection_proves_the_grant_and_fails_once_revoked(amazon_sandbox, provider, seller):
    message = provider.test_connection(conn=seller.conn)
    assert message == (f"Connected to Amazon Australia as selling partner {seller.selling_partner_id}: "
                       "the authorization is valid and orders can be read.")
    (orders_call,) = calls(amazon_sandbox, "/orders/v0/orders")
    assert orders_call["query"]["MaxResultsPerPage"] == ["1"]

    amazon_sandbox.revoke(seller.selling_partner_id)
    with pytest.raises(ProviderAuthError, match="invalid_grant"):
        provider.test_connection(conn=seller.conn)


def test_expired_access_token_is_refreshed_once_and_the_call_succeeds(amazon_sandbox, provider, seller):
    amazon_sandbox.add_supply_source(seller.selling_partner_id, supplySourceCode="SYD", alias="Sydney",
                                     status="Active")
    provider.supply_sources(conn=seller.conn)                     # caches an access token
    amazon_sandbox.expire_tokens(seller.selling_partner_id)

    assert [s.code for s in provider.supply_sources(conn=seller.conn)] == ["SYD"]

    statuses = [(c["path"], c["status"]) for c in amazon_sandbox.calls()]
    assert statuses.count(("/auth/o2/token", 200)) == 2
    assert ("/supplySources/2020-07-01/supplySources", 403) in statuses


def test_access_tokens_supplied_by_the_service_are_used_and_refreshed_on_refusal(
        amazon_sandbox, provider, seller):
    class ServiceTokens:
        def __init__(self) -> None:
            self.forced = 0
            self.token = provider.refresh_tokens(refresh_token=seller.refresh_token).access_token

        def get(self, *, force_refresh: bool = False) -> str:
            if force_refresh:
                self.forced += 1
                self.token = provider.refresh_tokens(refresh_token=seller.refresh_token).access_token
            return self.token

    tokens = ServiceTokens()
    conn = Connection(account_id=seller.selling_partner_id, refresh_token=seller.refresh_token,
                      marketplace_id=AU, tokens=tokens)
    assert provider.supply_sources(conn=conn) == []
    assert len(calls(amazon_sandbox, "/auth/o2/token")) == 1          # the library did not fetch its own
    amazon_sandbox.expire_tokens(seller.selling_partner_id)

    assert provider.supply_sources(conn=conn) == []
    assert tokens.forced == 1


class _HostRecorder(BaseHTTPRequestHandler):
    """A bare local server that checks Host the way Django's ALLOWED_HOSTS would."""

    expected_host: ClassVar[str] = ""
    hosts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.hosts.append(self.headers["Host"])
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ok = self.headers["Host"] == self.expected_host
        body = (b'{"access_token": "Atza|x", "expires_in": 3600}' if self.path == "/auth/o2/token"
                else b'{"restrictedDataToken": "Atz.sprdt|x", "expiresIn": 3600}')
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body if ok else b'{"errors": [{"code": "DisallowedHost", "message": "bad Host"}]}')

    def log_message(self, *args: Any) -> None:
        pass


def test_http_endpoints_get_a_correct_host_header():
    # The library sends Host = endpoint[8:], i.e. "27.0.0.1:PORT" for http://127.0.0.1:PORT (§1.1).
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostRecorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _HostRecorder.expected_host, _HostRecorder.hosts = f"127.0.0.1:{server.server_port}", []
    url = f"http://{_HostRecorder.expected_host}"
    try:
        config = ClientConfig(lwa_app_id="a", lwa_client_secret="s", lwa_token_url=f"{url}/auth/o2/token",
                              endpoint=url, marketplace_id=AU, aws_region="us-west-2", timeout=2.0)
        token = AmazonClient(config, refresh_token="Atzr|host-test").create_restricted_data_token([])
    finally:
        server.shutdown()
        server.server_close()
    assert token == "Atz.sprdt|x"
    assert _HostRecorder.hosts == [_HostRecorder.expected_host] * 2       # LWA, then the RDT call


# --- orders v0 -------------------------------------------------------------------------------------


def test_250_orders_come_in_three_pages_with_one_rdt_per_page(amazon_sandbox, provider, seller):
    amazon_sandbox.set_rate_limits(enabled=False)   # this test is about paging; throttling has its own
    created = amazon_sandbox.create_orders(seller.selling_partner_id, 250,
                                           items=[{"SellerSKU": "MUG-BLUE-350", "QuantityOrdered": 2}])

    pages = list(provider.orders_updated_since(conn=seller.conn, since=an_hour_ago()))

    # Each listed page is handed over whole, or in parts if reading its items takes long, its last part
    # `complete`.
    listed, size = [], 0
    for part in pages:
        size += len(part.orders)
        if part.complete:
            listed, size = [*listed, size], 0
    assert listed == [100, 100, 50]
    assert [p.watermark is None for p in pages] == [True] * (len(pages) - 1) + [False]
    orders = [o for p in pages for o in p.orders]
    assert sorted(o.order_id for o in orders) == sorted(o["AmazonOrderId"] for o in created)
    assert all(o.lines and o.lines[0].sku == "MUG-BLUE-350" and o.lines[0].quantity == 2 for o in orders)
    assert pages[-1].watermark >= max(o.updated_at for o in orders)
    # The wire: RDT, getOrders, RDT, getOrders(NextToken), RDT, getOrders(NextToken); items per order.
    sequence = [c["path"] for c in amazon_sandbox.calls()
                if "orderItems" not in c["path"] and "auth" not in c["path"]]
    assert sequence == ["/tokens/2021-03-01/restrictedDataToken", "/orders/v0/orders"] * 3
    rdt_bodies = [c["body"]["restrictedResources"] for c in calls(amazon_sandbox, "restrictedDataToken")]
    assert rdt_bodies == [[{"method": "GET", "path": "/orders/v0/orders",
                            "dataElements": ["shippingAddress", "buyerInfo"]}]] * 3
    queries = get_orders_queries(amazon_sandbox)
    assert ["NextToken" in q for q in queries] == [False, True, True]
    assert queries[0]["OrderStatuses"] == ["Unshipped,PartiallyShipped,Canceled"]
    assert queries[0]["FulfillmentChannels"] == ["MFN"]
    assert len(calls(amazon_sandbox, "/orderItems")) == 250


def test_buyer_address_arrives_only_through_the_restricted_data_token(amazon_sandbox, provider, seller):
    address = {"Name": "Jane Citizen", "AddressLine1": "Unit 4", "AddressLine2": "18 Example Street",
               "AddressLine3": "Rear", "City": "SURRY HILLS", "StateOrRegion": "NSW", "PostalCode": "2010",
               "CountryCode": "AU", "Phone": "+61 2 5550 1234"}
    amazon_sandbox.create_order(seller.selling_partner_id, ShippingAddress=address, items=ONE_MUG)
    config = ClientConfig(lwa_app_id=amazon_sandbox.lwa_client_id,
                          lwa_client_secret=amazon_sandbox.lwa_client_secret,
                          lwa_token_url=f"{amazon_sandbox.url}/auth/o2/token", endpoint=amazon_sandbox.url,
                          marketplace_id=AU, aws_region="us-west-2", timeout=5.0)

    (page,) = provider.orders_updated_since(conn=seller.conn, since=an_hour_ago())
    (order,) = page.orders
    plain = AmazonClient(config, refresh_token=seller.refresh_token).get_orders(      # no RDT
        {"MarketplaceIds": AU, "LastUpdatedAfter": "2026-01-01T00:00:00Z"})

    assert order.address is not None and order.address_withheld is False
    assert (order.address.name, order.address.line1, order.address.line2) == (
        "Jane Citizen", "Unit 4", "18 Example Street, Rear")
    assert order.address.email.endswith("@marketplace.amazon.com.au")
    without_rdt = plain.orders[0]
    assert "Jane Citizen" not in str(without_rdt) and "Unit 4" not in str(without_rdt)
    assert "BuyerEmail" not in str(without_rdt)


def test_cancellations_supply_source_and_service_level_come_through_and_afn_is_not_listed(
        amazon_sandbox, provider, seller):
    sp = seller.selling_partner_id
    source = amazon_sandbox.add_supply_source(sp, supplySourceCode="SYD", alias="Sydney", status="Active")
    routed = amazon_sandbox.create_order(sp, FulfillmentSupplySourceId=source["supplySourceId"],
                                         ShipmentServiceLevelCategory="NextDay",
                                         items=ONE_MUG)
    cancelled = amazon_sandbox.create_order(sp, items=ONE_MUG)
    amazon_sandbox.update_order(sp, cancelled["AmazonOrderId"], OrderStatus="Canceled")
    amazon_sandbox.create_order(sp, FulfillmentChannel="AFN", items=ONE_MUG)

    (page,) = provider.orders_updated_since(conn=seller.conn, since=an_hour_ago())
    by_id = {o.order_id: o for o in page.orders}

    assert set(by_id) == {routed["AmazonOrderId"], cancelled["AmazonOrderId"]}
    assert by_id[routed["AmazonOrderId"]].supply_source_id == source["supplySourceId"]
    assert by_id[routed["AmazonOrderId"]].service_level == "NextDay"
    assert by_id[routed["AmazonOrderId"]].latest_ship_at.tzinfo is UTC
    assert by_id[cancelled["AmazonOrderId"]].state is OrderState.CANCELLED


def test_until_is_kept_two_minutes_behind_now_and_becomes_the_watermark(amazon_sandbox, provider, seller):
    sp = seller.selling_partner_id
    old = amazon_sandbox.create_order(sp, LastUpdateDate=(an_hour_ago() + dt.timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"), items=ONE_MUG)
    amazon_sandbox.create_order(sp, items=ONE_MUG)   # updated just now
    now = dt.datetime.now(UTC)

    (page,) = provider.orders_updated_since(conn=seller.conn, since=an_hour_ago(), until=now)

    assert [o.order_id for o in page.orders] == [old["AmazonOrderId"]]
    (query,) = get_orders_queries(amazon_sandbox)
    bound = dt.datetime.fromisoformat(query["LastUpdatedBefore"][0])
    assert bound <= now - dt.timedelta(minutes=2)
    assert page.watermark == bound
    assert list(provider.orders_updated_since(conn=seller.conn, since=now, until=now)) == []


def test_orders_by_id_reads_a_batch_with_one_search_and_reports_unknown_numbers(amazon_sandbox, provider, seller):
    first, second = amazon_sandbox.create_orders(seller.selling_partner_id, 2,
                                                 items=[{"SellerSKU": "MUG", "QuantityOrdered": 3}])
    ids = [first["AmazonOrderId"], "249-0000000-0000000", second["AmazonOrderId"]]

    orders = provider.orders_by_id(conn=seller.conn, order_ids=ids)

    assert [o.order_id for o in orders] == ids
    assert [o.problems == () for o in orders] == [True, False, True]
    assert "not found" in orders[1].problems[0]
    assert orders[0].address is not None and orders[0].address.name
    assert orders[2].lines[0].quantity == 3
    (search,) = get_orders_queries(amazon_sandbox)               # one getOrders for the whole batch
    assert search["AmazonOrderIds"] == [",".join(ids)]
    # Only the number the search did not return is asked for alone (and found unknown).
    assert [c["path"] for c in calls(amazon_sandbox, "/orders/v0/orders/") if "orderItems" not in c["path"]] == [
        f"/orders/v0/orders/{ids[1]}"]
    assert [r["body"]["restrictedResources"][0]["path"] for r in calls(amazon_sandbox, "restrictedDataToken")] == [
        "/orders/v0/orders", "/orders/v0/orders/{orderId}"]


def test_fifty_pushed_orders_cost_one_search_and_no_items_calls_when_the_counts_agree(amazon_sandbox, provider,
                                                                                      seller):
    amazon_sandbox.set_rate_limits(enabled=False)
    created = amazon_sandbox.create_orders(seller.selling_partner_id, 60,
                                           items=[{"SellerSKU": "MUG", "QuantityOrdered": 2}])
    pushed = {o["AmazonOrderId"]: (MarketplaceOrderLine(line_id=o["OrderItems"][0]["OrderItemId"], sku="MUG",
                                                        quantity=2),) for o in created}
    wrong = created[0]["AmazonOrderId"]            # the notification disagrees with the order: items are read
    pushed[wrong] = (MarketplaceOrderLine(line_id="1", sku="MUG", quantity=1),)

    orders = provider.orders_by_id(conn=seller.conn, order_ids=list(pushed), pushed_lines=pushed)

    assert len(orders) == 60 and all(not o.problems for o in orders)
    assert {(o.lines[0].sku, o.lines[0].quantity) for o in orders} == {("MUG", 2)}
    assert len(get_orders_queries(amazon_sandbox)) == 2               # 50 + 10 ids
    assert len(calls(amazon_sandbox, "restrictedDataToken")) == 2
    assert [c["path"] for c in calls(amazon_sandbox, "/orderItems")] == [f"/orders/v0/orders/{wrong}/orderItems"]


# --- orders v2026-01-01 --------------------------------------------------------------------------------


def test_v2026_orders_need_no_rdt_and_no_items_call(amazon_sandbox, provider, seller):
    sp = seller.selling_partner_id
    source = amazon_sandbox.add_supply_source(sp, supplySourceCode="SYD", alias="Sydney", status="Active")
    amazon_sandbox.set_rate_limits(enabled=False)
    created = amazon_sandbox.create_orders(sp, 120, FulfillmentSupplySourceId=source["supplySourceId"],
                                           items=[{"SellerSKU": "MUG", "QuantityOrdered": 2}])
    conn = seller.with_options(orders_api="2026-01-01")

    pages = list(provider.orders_updated_since(conn=conn, since=an_hour_ago()))

    assert [len(p.orders) for p in pages] == [100, 20]
    assert pages[0].watermark is None and pages[1].watermark is not None
    orders = [o for p in pages for o in p.orders]
    assert sorted(o.order_id for o in orders) == sorted(o["AmazonOrderId"] for o in created)
    assert {o.state for o in orders} == {OrderState.READY}
    assert {(o.lines[0].sku, o.lines[0].quantity) for o in orders} == {("MUG", 2)}
    assert all(o.address and o.address.name and not o.address_withheld for o in orders)
    assert {o.supply_source_id for o in orders} == {""}        # v2026 has no supply-source field
    assert calls(amazon_sandbox, "restrictedDataToken") == []
    assert calls(amazon_sandbox, "/orderItems") == []
    searches = calls(amazon_sandbox, "/orders/2026-01-01/orders")
    assert [("paginationToken" in c["query"]) for c in searches] == [False, True]
    assert searches[0]["query"]["includedData"] == ["BUYER,RECIPIENT,FULFILLMENT"]
    assert searches[0]["query"]["fulfilledBy"] == ["MERCHANT"]

    by_id = provider.orders_by_id(conn=conn, order_ids=[created[0]["AmazonOrderId"]])
    assert by_id[0].order_id == created[0]["AmazonOrderId"] and by_id[0].lines[0].quantity == 2


# --- shipment confirmation -------------------------------------------------------------------------


def test_confirm_shipment_sends_exactly_amazons_body_once_per_package(amazon_sandbox, provider, seller):
    sp = seller.selling_partner_id
    source = amazon_sandbox.add_supply_source(sp, supplySourceCode="SYD", alias="Sydney", status="Active")
    order = amazon_sandbox.create_order(sp, items=[{"SellerSKU": "MUG", "QuantityOrdered": 1},
                                                   {"SellerSKU": "CUP", "QuantityOrdered": 2}])
    mug, cup = (i["OrderItemId"] for i in order["OrderItems"])
    shipped_at = dt.datetime.now(UTC).replace(microsecond=250000) - dt.timedelta(minutes=30)
    first = ShipmentConfirmation(
        order_id=order["AmazonOrderId"], package_reference="CON-1-1", carrier_code="Australia Post",
        carrier_name="Australia Post", shipping_method="Parcel Post", tracking_number="33ABC0001",
        ship_date=shipped_at, ship_from_supply_source_id=source["supplySourceId"],
        items=(ShipmentItem(mug, 1),))
    second = ShipmentConfirmation(
        order_id=order["AmazonOrderId"], package_reference="CON-1-2", carrier_code="Other",
        carrier_name="Sendle",
        tracking_number="SNDL0002", ship_date=shipped_at, items=(ShipmentItem(cup, 2),))

    provider.confirm_shipment(conn=seller.conn, shipment=first)
    provider.confirm_shipment(conn=seller.conn, shipment=second)

    bodies = [c["body"] for c in calls(amazon_sandbox, "/shipmentConfirmation")]
    ship_date = shipped_at.strftime("%Y-%m-%dT%H:%M:%S.250Z")
    assert bodies == [
        {"marketplaceId": AU, "packageDetail": {
            "packageReferenceId": "CON-1-1", "carrierCode": "Australia Post",
            "shippingMethod": "Parcel Post", "trackingNumber": "33ABC0001", "shipDate": ship_date,
            "shipFromSupplySourceId": source["supplySourceId"],
            "orderItems": [{"orderItemId": mug, "quantity": 1}]}},
        {"marketplaceId": AU, "packageDetail": {
            "packageReferenceId": "CON-1-2", "carrierCode": "Other", "carrierName": "Sendle",
            "trackingNumber": "SNDL0002", "shipDate": ship_date,
            "orderItems": [{"orderItemId": cup, "quantity": 2}]}},
    ]
    assert amazon_sandbox.order(sp, order["AmazonOrderId"])["OrderStatus"] == "Shipped"
    with pytest.raises(ProviderRejected, match="already been shipped"):
        provider.confirm_shipment(conn=seller.conn, shipment=second)
    assert len(amazon_sandbox.state(sp)["confirmations"]) == 2


def test_throttled_confirmation_is_retried_then_rate_limited_and_records_nothing(amazon_sandbox, provider, seller,
                                                                                 sleeps):
    order = amazon_sandbox.create_order(seller.selling_partner_id, items=ONE_MUG)
    shipment = ShipmentConfirmation(
        order_id=order["AmazonOrderId"], package_reference="CON-9", carrier_code="Australia Post",
        carrier_name="",
        tracking_number="33ABC0009", ship_date=dt.datetime.now(UTC) - dt.timedelta(minutes=5),
        items=(ShipmentItem(order["OrderItems"][0]["OrderItemId"], 1),))
    provider.test_connection(conn=seller.conn)          # the access token is cached: the 429 hits the call
    amazon_sandbox.set_faults(throttle_next=4)          # the first try and all three retries

    with pytest.raises(ProviderRateLimited, match="throttled confirmShipment") as caught:
        provider.confirm_shipment(conn=seller.conn, shipment=shipment)

    assert caught.value.retry_after is None            # SP-API sends no Retry-After (§5)
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2] <= 4.0     # backing off, bounded
    assert amazon_sandbox.state(seller.selling_partner_id)["confirmations"] == []
    provider.confirm_shipment(conn=seller.conn, shipment=shipment)
    assert len(amazon_sandbox.state(seller.selling_partner_id)["confirmations"]) == 1


def test_throttled_orders_poll_raises_rate_limited(amazon_sandbox, provider, seller):
    amazon_sandbox.create_order(seller.selling_partner_id, items=ONE_MUG)
    provider.test_connection(conn=seller.conn)
    amazon_sandbox.set_faults(throttle_next=4)
    with pytest.raises(ProviderRateLimited):
        list(provider.orders_updated_since(conn=seller.conn, since=an_hour_ago()))


def test_one_throttle_or_server_error_costs_a_retry_not_the_call(amazon_sandbox, provider, seller, sleeps):
    amazon_sandbox.create_order(seller.selling_partner_id, items=ONE_MUG)
    provider.test_connection(conn=seller.conn)
    amazon_sandbox.set_faults(throttle_next=1)
    assert len([o for page in provider.orders_updated_since(conn=seller.conn, since=an_hour_ago())
                for o in page.orders]) == 1
    amazon_sandbox.set_faults(fail_next=2, error_statuses=[503])
    assert len([o for page in provider.orders_updated_since(conn=seller.conn, since=an_hour_ago())
                for o in page.orders]) == 1
    assert len(sleeps) == 3


def test_a_confirmation_that_failed_on_the_server_is_not_sent_again(amazon_sandbox, provider, seller):
    order = amazon_sandbox.create_order(seller.selling_partner_id, items=ONE_MUG)
    shipment = ShipmentConfirmation(
        order_id=order["AmazonOrderId"], package_reference="CON-7", carrier_code="Australia Post",
        carrier_name="", tracking_number="33ABC0007", ship_date=dt.datetime.now(UTC) - dt.timedelta(minutes=5),
        items=(ShipmentItem(order["OrderItems"][0]["OrderItemId"], 1),))
    provider.test_connection(conn=seller.conn)
    amazon_sandbox.set_faults(fail_next=1, error_statuses=[500], path_contains="shipmentConfirmation")
    with pytest.raises(ProviderUnavailable):
        provider.confirm_shipment(conn=seller.conn, shipment=shipment)
    # Ambiguous: the caller reads back before sending again (§0), so the client made one call only.
    assert len([c for c in amazon_sandbox.calls() if "shipmentConfirmation" in c["path"]]) == 1


@pytest.mark.parametrize(("fault", "message"), [
    ({"fail_next": 1}, "HTTP 500"),
    ({"malformed_next": 1}, "not readable JSON"),
    ({"slow_next": 1, "slow_seconds": 1.5}, "did not answer getSupplySources in time"),
])
def test_server_failures_are_unavailable(amazon_sandbox, make_provider, seller, fault, message):
    provider = make_provider(timeout=0.4, retries=0)
    provider.test_connection(conn=seller.conn)
    amazon_sandbox.set_faults(**fault)
    with pytest.raises(ProviderUnavailable, match=message):
        provider.supply_sources(conn=seller.conn)


# --- stock ---------------------------------------------------------------------------------------


def _eight_skus(amazon_sandbox, seller) -> list[StockLevelUpdate]:
    for n in range(7):
        amazon_sandbox.add_listing(seller.selling_partner_id, f"SKU-{n}", quantity=1)
    return [StockLevelUpdate(f"SKU-{n}", 10 + n) for n in range(7)] + [StockLevelUpdate("NOT-LISTED", 4)]


def test_eight_skus_go_in_one_feed_submitted_without_waiting(amazon_sandbox, provider, seller, sleeps):
    amazon_sandbox.settings(feed_step_seconds=3600)           # Amazon takes its time

    submitted = provider.push_inventory(conn=seller.conn, levels=_eight_skus(amazon_sandbox, seller))

    assert submitted.accepted == () and submitted.rejected == () and submitted.reference
    assert list(submitted.submitted.values()) == [f"SKU-{n}" for n in range(7)] + ["NOT-LISTED"]
    (feed,) = calls(amazon_sandbox, "/feeds/2021-06-30/feeds", "POST")
    assert feed["body"]["feedType"] == "JSON_LISTINGS_FEED" and feed["body"]["marketplaceIds"] == [AU]
    assert len(calls(amazon_sandbox, "/feeds/2021-06-30/documents", "POST")) == 1
    assert calls(amazon_sandbox, f"/feeds/2021-06-30/feeds/{submitted.reference}") == []     # no polling
    assert calls(amazon_sandbox, "/listings/") == [] and sleeps == []
    # Still processing: one getFeed says so, and nothing is accepted or refused yet.
    assert provider.inventory_feed_outcome(conn=seller.conn, feed_id=submitted.reference,
                                           messages=submitted.submitted) is None
    assert len(calls(amazon_sandbox, f"/feeds/2021-06-30/feeds/{submitted.reference}", "GET")) == 1


def test_a_finished_feed_says_which_skus_amazon_took(amazon_sandbox, provider, seller):
    amazon_sandbox.settings(feed_step_seconds=0)
    submitted = provider.push_inventory(conn=seller.conn, levels=_eight_skus(amazon_sandbox, seller))

    result = provider.inventory_feed_outcome(conn=seller.conn, feed_id=submitted.reference,
                                             messages=submitted.submitted)

    assert result.accepted == tuple(f"SKU-{n}" for n in range(7))
    assert [sku for sku, _ in result.rejected] == ["NOT-LISTED"]
    assert "not exist" in result.rejected[0][1] and result.reference == submitted.reference
    listings = amazon_sandbox.state(seller.selling_partner_id)["listings"]
    assert [listings[f"SKU-{n}"]["quantity"] for n in range(7)] == [10 + n for n in range(7)]


def test_with_the_notification_the_outcome_costs_no_get_feed(amazon_sandbox, provider, seller):
    amazon_sandbox.settings(feed_step_seconds=0)
    submitted = provider.push_inventory(conn=seller.conn, levels=_eight_skus(amazon_sandbox, seller))
    done = amazon_sandbox.process_feed(submitted.reference)
    before = len(amazon_sandbox.calls(""))

    result = provider.inventory_feed_outcome(
        conn=seller.conn, feed_id=submitted.reference, messages=submitted.submitted,
        finished=FeedFinished(account_id=seller.selling_partner_id, feed_id=submitted.reference,
                              status=done["processingStatus"], result_document_id=done["resultFeedDocumentId"]))

    assert len(result.accepted) == 7 and [sku for sku, _ in result.rejected] == ["NOT-LISTED"]
    made = [c["path"] for c in amazon_sandbox.calls("")[before:] if c["path"] != "/auth/o2/token"]
    assert len(made) == 2 and made[0].startswith("/feeds/2021-06-30/documents/") and made[1].startswith("/_s3/")


def test_a_few_skus_are_patched_one_by_one(amazon_sandbox, provider, seller):
    sp = seller.selling_partner_id
    amazon_sandbox.add_listing(sp, "MUG BLUE/350", quantity=1)
    amazon_sandbox.add_listing(sp, "CUP", quantity=1)

    result = provider.push_inventory(conn=seller.conn, levels=[
        StockLevelUpdate("MUG BLUE/350", 6), StockLevelUpdate("CUP", 0), StockLevelUpdate("NOT-LISTED", 2)])

    assert result.accepted == ("MUG BLUE/350", "CUP")
    assert [sku for sku, _ in result.rejected] == ["NOT-LISTED"]
    assert result.reference == ""
    listings = amazon_sandbox.state(sp)["listings"]
    assert (listings["MUG BLUE/350"]["quantity"], listings["CUP"]["quantity"]) == (6, 0)
    patches = calls(amazon_sandbox, "/listings/2021-08-01/items/", "PATCH")
    assert len(patches) == 3
    assert patches[1]["body"] == {"productType": "PRODUCT", "patches": [
        {"op": "replace", "path": "/attributes/fulfillment_availability",
         "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]}]}
    assert calls(amazon_sandbox, "/feeds/") == []


# --- supply sources ----------------------------------------------------------------------------------


def test_supply_sources_are_listed_across_pages_with_their_status(amazon_sandbox, provider, seller):
    sp = seller.selling_partner_id
    for n in range(11):
        amazon_sandbox.add_supply_source(sp, supplySourceCode=f"WH-{n:02d}", alias=f"Warehouse {n}",
                                         status="Active")
    amazon_sandbox.add_supply_source(sp, supplySourceCode="OLD", alias="Old site", status="Inactive")

    sources = provider.supply_sources(conn=seller.conn)

    assert sorted(s.code for s in sources) == sorted([f"WH-{n:02d}" for n in range(11)] + ["OLD"])
    by_code = {s.code: s for s in sources}
    assert by_code["OLD"].status == "Inactive" and not by_code["OLD"].is_active
    assert by_code["WH-03"].is_active and by_code["WH-03"].alias == "Warehouse 3"
    assert all(s.supply_source_id for s in sources)
    listed = calls(amazon_sandbox, "/supplySources/2020-07-01/supplySources")
    pages = [c for c in listed if c["path"] == "/supplySources/2020-07-01/supplySources"]
    assert len(pages) >= 2 and "nextPageToken" in pages[-1]["query"]
    assert len(listed) - len(pages) == 12              # one getSupplySource per source, for its status
