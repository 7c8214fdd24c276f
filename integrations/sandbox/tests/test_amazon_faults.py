"""Injected faults on the Amazon sandbox: a share of 500/503, throttling, slow answers past a client
timeout, malformed bodies; and the call log (issue 3, "Control API and faults")."""

from __future__ import annotations

import httpx
import pytest
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base.exceptions import (
    SellingApiRequestThrottledException, SellingApiServerException, SellingApiTemporarilyUnavailableException,
)
from sp_api.util import throttle_retry

from .amazon_support import AU, assert_valid, iso_ago


def test_a_share_of_calls_fail_with_500_or_503_in_amazons_error_shape(kit, seller):
    seller_id, refresh = seller
    order_id = kit.sandbox.create_order(seller_id)["AmazonOrderId"]
    orders = kit.orders(refresh)
    orders.get_order(order_id)                                         # fetch the access token first
    kit.sandbox.set_faults(error_rate=0.5, seed=7)
    outcomes = {"ok": 0, 500: 0, 503: 0}
    for _ in range(60):
        try:
            orders.get_order(order_id)
            outcomes["ok"] += 1
        except SellingApiServerException:
            outcomes[500] += 1
        except SellingApiTemporarilyUnavailableException:
            outcomes[503] += 1
    assert 15 <= outcomes["ok"] <= 45 and outcomes[500] > 0 and outcomes[503] > 0
    failed = [r for r in kit.recorder.responses if r.status >= 500]
    for recorded in failed:
        assert_valid("ordersV0", "GetOrderResponse", recorded.body)
        assert recorded.body["errors"][0]["code"] in ("InternalFailure", "ServiceUnavailable")
        assert "x-amzn-ratelimit-limit" not in recorded.headers and recorded.headers["x-amzn-requestid"]


def test_throttle_next_answers_429_and_throttle_retry_recovers(kit, seller):
    _, refresh = seller
    orders = kit.orders(refresh)
    since = iso_ago(kit.sandbox, hours=1)
    orders.get_orders(CreatedAfter=since)
    kit.sandbox.set_faults(throttle_next=2)

    @throttle_retry(tries=4, delay=0.01, rate=1)
    def poll():
        return orders.get_orders(CreatedAfter=since)

    assert poll().payload["Orders"] == []
    assert [r.status for r in kit.recorder.responses[-3:]] == [429, 429, 200]
    kit.sandbox.set_faults(throttle_next=1)
    with pytest.raises(SellingApiRequestThrottledException):
        orders.get_orders(CreatedAfter=since)


def test_slow_answers_run_past_a_client_timeout(kit, seller):
    _, refresh = seller
    orders = kit.orders(refresh, timeout=0.3)
    since = iso_ago(kit.sandbox, hours=1)
    orders.get_orders(CreatedAfter=since)
    kit.sandbox.set_faults(slow_next=1, slow_seconds=1.0)
    with pytest.raises(httpx.ReadTimeout):
        orders.get_orders(CreatedAfter=since)
    assert orders.get_orders(CreatedAfter=since).payload["Orders"] == []       # the next one is quick again


def test_a_malformed_body_is_not_json_and_the_library_does_not_raise(kit, seller):
    _, refresh = seller
    orders = kit.orders(refresh)
    since = iso_ago(kit.sandbox, hours=1)
    orders.get_orders(CreatedAfter=since)
    kit.sandbox.set_faults(malformed_next=1)
    answer = orders.get_orders(CreatedAfter=since)              # sp-api.md §1.3: only an errors array raises
    recorded = kit.recorder.last("/orders/v0/orders")
    assert recorded.status == 200 and isinstance(recorded.body, str) and recorded.body.startswith("<html")
    assert "Orders" not in answer.payload


def test_faults_can_target_one_path_and_never_touch_the_control_api(kit, seller):
    seller_id, refresh = seller
    kit.sandbox.add_supply_source(seller_id, supplySourceCode="SYD-01", alias="Sydney")
    kit.sandbox.set_faults(error_rate=1.0, path_contains="/orders/")
    assert len(kit.supply_sources(refresh).get_supply_sources().payload["supplySources"]) == 1
    with pytest.raises((SellingApiServerException, SellingApiTemporarilyUnavailableException)):
        kit.orders(refresh).get_orders(CreatedAfter=iso_ago(kit.sandbox, hours=1))
    kit.sandbox.set_faults(error_rate=1.0)
    assert kit.sandbox.state(seller_id)["seller"]["selling_partner_id"] == seller_id


def test_faults_on_the_token_endpoint_speak_lwa(kit, seller):
    _, refresh = seller
    kit.sandbox.set_faults(fail_next=1, path_contains="/auth/o2/token")
    with pytest.raises(AuthorizationError) as raised:
        kit.orders(refresh).get_orders(CreatedAfter=iso_ago(kit.sandbox, hours=1))
    assert (raised.value.status_code, raised.value.error_code) == (500, "server_error")


def test_the_call_log_records_vendor_calls(kit, seller):
    seller_id, refresh = seller
    order = kit.sandbox.create_order(seller_id)
    detail = {"packageReferenceId": "1", "carrierCode": "Sendle", "trackingNumber": "S1", "shipDate": "2026-01-01T00:00:00Z",
              "orderItems": [{"orderItemId": order["OrderItems"][0]["OrderItemId"], "quantity": 1}]}
    kit.orders(refresh).confirm_shipment(order["AmazonOrderId"], marketplaceId=AU, packageDetail=detail)
    calls = kit.sandbox.calls(path_contains="shipmentConfirmation")
    assert [(c["method"], c["status"]) for c in calls] == [("POST", 204)]
    assert calls[0]["body"] == {"marketplaceId": AU, "packageDetail": detail}
    assert [c["path"] for c in kit.sandbox.calls()][:1] == ["/auth/o2/token"]
    assert not any(c["path"].startswith("/_sandbox") for c in kit.sandbox.calls())


def test_the_dashboard_form_sets_a_fault_that_applies_a_confirmation_then_answers_late(kit, seller):
    """Issue 15: usable from the sandbox page in `make run`: applied, answered past the client's timeout."""
    seller_id, refresh = seller
    base = kit.sandbox.url
    page = httpx.get(f"{base}/_sandbox/").text
    assert 'id="faults"' in page and "shipmentConfirmation" in page
    answer = httpx.post(f"{base}/_sandbox/faults/form", data={
        "kind": "slow_next", "count": "1", "slow_seconds": "1.5", "path_contains": "shipmentConfirmation"})
    assert answer.status_code == 302
    assert httpx.get(f"{base}/_sandbox/faults").json()["slow_next"] == 1
    order = kit.sandbox.create_order(seller_id, items=[{"SellerSKU": "MUG", "QuantityOrdered": 1}])
    item = order["OrderItems"][0]["OrderItemId"]
    orders = kit.orders(refresh, timeout=0.3)
    orders.get_order(order["AmazonOrderId"])                             # the access token first
    with pytest.raises(httpx.ReadTimeout):
        orders.confirm_shipment(order["AmazonOrderId"], marketplaceId=AU, packageDetail={
            "packageReferenceId": "1", "carrierCode": "Sendle", "trackingNumber": "S1",
            "shipDate": "2026-01-01T00:00:00Z", "orderItems": [{"orderItemId": item, "quantity": 1}]})
    state = httpx.get(f"{base}/_sandbox/sellers/{seller_id}").json()
    assert [c["body"]["packageDetail"]["trackingNumber"] for c in state["confirmations"]] == ["S1"]
    httpx.post(f"{base}/_sandbox/faults/form", data={"clear": "1"})
    assert httpx.get(f"{base}/_sandbox/faults").json()["slow_next"] == 0
    assert httpx.post(f"{base}/_sandbox/faults/form", data={"kind": "nonsense"}).status_code == 400
