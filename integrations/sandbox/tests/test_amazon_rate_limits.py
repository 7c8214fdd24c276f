"""Usage plans as token buckets per selling partner and operation (reference/sp-api.md §5)."""

from __future__ import annotations

import time

import httpx
import pytest
from sp_api.base.exceptions import SellingApiRequestThrottledException

from integrations.sandbox.amazon.ratelimit import DEFAULT_PLANS

from .amazon_support import AU, assert_valid, model, seller_with_token

QUOTA_EXCEEDED = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.",
                              "details": ""}]}


def access_token(sandbox, refresh: str) -> str:
    return sandbox.http.post("/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh, "client_id": sandbox.lwa_client_id,
        "client_secret": sandbox.lwa_client_secret}).json()["access_token"]


def get_orders(sandbox, token: str) -> httpx.Response:
    return sandbox.http.get("/orders/v0/orders", params={"MarketplaceIds": AU, "CreatedAfter": "2024-01-01T00:00:00Z"},
                            headers={"x-amz-access-token": token})


def test_burst_then_429_then_refill(amazon_sandbox):
    _, refresh = seller_with_token(amazon_sandbox)
    token = access_token(amazon_sandbox, refresh)
    amazon_sandbox.set_rate_limits(time_scale=1)                  # 0.0167/s: nothing refills during the burst
    answers = [get_orders(amazon_sandbox, token) for _ in range(21)]
    assert [a.status_code for a in answers] == [200] * 20 + [429]
    assert all(a.headers["x-amzn-ratelimit-limit"] == "0.0167" for a in answers[:20])
    throttled = answers[20]
    assert throttled.json() == QUOTA_EXCEEDED
    assert "x-amzn-ratelimit-limit" not in throttled.headers and throttled.headers["x-amzn-requestid"]
    assert_valid("ordersV0", "GetOrdersResponse", throttled.json())
    amazon_sandbox.set_rate_limits(time_scale=1000)               # 16.7 tokens a second from now on
    assert get_orders(amazon_sandbox, token).status_code == 429
    time.sleep(0.15)
    assert get_orders(amazon_sandbox, token).status_code == 200


def test_buckets_are_per_selling_partner_and_operation(amazon_sandbox):
    a_id, a_refresh = seller_with_token(amazon_sandbox)
    _, b_refresh = seller_with_token(amazon_sandbox)
    order_id = amazon_sandbox.create_order(a_id)["AmazonOrderId"]
    a_token, b_token = access_token(amazon_sandbox, a_refresh), access_token(amazon_sandbox, b_refresh)
    amazon_sandbox.set_rate_limits(time_scale=1)
    while get_orders(amazon_sandbox, a_token).status_code == 200:
        pass
    assert get_orders(amazon_sandbox, b_token).status_code == 200
    other_operation = amazon_sandbox.http.get(f"/orders/v0/orders/{order_id}", headers={"x-amz-access-token": a_token})
    assert other_operation.status_code == 200 and other_operation.headers["x-amzn-ratelimit-limit"] == "0.5"


def test_limits_can_be_switched_off_and_overridden(kit):
    sandbox = kit.sandbox
    _, refresh = seller_with_token(sandbox)
    token = access_token(sandbox, refresh)
    sandbox.set_rate_limits(enabled=False, time_scale=1)
    assert {get_orders(sandbox, token).status_code for _ in range(40)} == {200}
    sandbox.set_rate_limits(enabled=True, overrides={"createRestrictedDataToken": {"rate": 0.001, "burst": 2}})
    tokens = kit.tokens(refresh)
    resource = {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}
    tokens.create_restricted_data_token(restrictedResources=[resource])
    tokens.create_restricted_data_token(restrictedResources=[resource])
    with pytest.raises(SellingApiRequestThrottledException) as raised:
        tokens.create_restricted_data_token(restrictedResources=[resource])
    assert raised.value.error == QUOTA_EXCEEDED["errors"]
    assert sandbox.http.get("/_sandbox/rate_limits").json()["plans"]["createRestrictedDataToken"] == \
        {"rate": 0.001, "burst": 2}


def test_the_plans_are_the_ones_in_amazons_models():
    """Each published usage plan (the Rate | Burst table in the operation's description) is the sandbox's."""
    names = {("orders_2026-01-01", "getOrder"): "getOrder_2026"}
    checked = set()
    for model_name in ("ordersV0", "orders_2026-01-01", "tokens_2021-03-01", "feeds_2021-06-30",
                       "listingsItems_2021-08-01"):
        for operations in model(model_name)["paths"].values():
            for operation in operations.values():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                name = names.get((model_name, operation["operationId"]), operation["operationId"])
                if name not in DEFAULT_PLANS:
                    continue
                table = operation["description"].split("| ---- | ---- |")[1].strip().splitlines()[0]
                rate, burst = (cell.strip() for cell in table.strip("|").split("|"))
                assert (DEFAULT_PLANS[name].rate, DEFAULT_PLANS[name].burst) == (float(rate), int(burst)), name
                checked.add(name)
    # Only the Supply Sources plans (unpublished), the JSON_LISTINGS_FEED quota (a changelog fact) and the
    # Notifications plans (1 per second, burst 5, from the Notifications model's operation docs, which are
    # not among the models in this folder) remain.
    assert set(DEFAULT_PLANS) - checked == {"getSupplySources", "getSupplySource", "createSupplySource",
                                            "updateSupplySourceStatus", "archiveSupplySource",
                                            "createFeed:JSON_LISTINGS_FEED", "createDestination",
                                            "getDestinations", "getDestination", "deleteDestination",
                                            "createSubscription", "getSubscription", "deleteSubscriptionById"}
