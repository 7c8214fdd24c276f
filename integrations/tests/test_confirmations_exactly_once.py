"""Exactly once after ambiguous outcomes (issue 15): a confirmation the marketplace applied but whose
answer was lost (timeout, reset, 5xx after the send) is read back, never sent twice. Against both
sandboxes over real HTTP, with a short client timeout instead of the 20 s default."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from integrations.locks import job_lock
from integrations.models import ConnectionLogEntry, PackageConfirmation
from integrations.services.confirmations import confirmations_sweep
from integrations.services.orders import orders_import
from warehouse.models import OutboundOrder
from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch

from .conftest import AU

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT_TIMEOUT = 0.5


def amazon_order(amazon, seller, integration, items):
    order = amazon.post(f"sellers/{seller['selling_partner_id']}/orders", {"MarketplaceId": AU, "items": items})
    orders_import(integration=integration)
    return order, OutboundOrder.objects.get(reference=order["AmazonOrderId"])


def amazon_confirmations(amazon, seller, order_id):
    return [c for c in amazon.get(f"sellers/{seller['selling_partner_id']}")["confirmations"]
            if c["amazon_order_id"] == order_id]


def dispatch(outbound, carrier, packages):
    consignment = consignment_create(order=outbound, carrier=carrier, packages=packages)
    outbound_order_dispatch(order=outbound, consignment=consignment)
    return consignment


def retry_now():
    PackageConfirmation.objects.update(next_attempt_at=None)
    confirmations_sweep()


@pytest.fixture
def short_timeout(settings):
    settings.MARKETPLACE_HTTP_TIMEOUT = CLIENT_TIMEOUT


@pytest.mark.parametrize("fault", [
    {"slow_next": 1, "slow_seconds": CLIENT_TIMEOUT * 4},          # answered after the client gave up
    {"drop_after_apply_next": 1},                                 # connection reset after applying
    {"fail_after_apply_next": 1, "error_statuses": [500]},        # 5xx after applying
], ids=["timeout", "reset", "5xx"])
def test_amazon_v0_applied_but_unanswered_is_read_back_not_resent(
        amazon, amazon_seller, amazon_integration, eager_tasks, short_timeout, fault):
    order, outbound = amazon_order(amazon, amazon_seller, amazon_integration,
                                   [{"SellerSKU": "MUG-01", "QuantityOrdered": 2}])
    line = outbound.lines.get()
    amazon.post("faults", {**fault, "path_contains": "shipmentConfirmation"})
    dispatch(outbound, "Australia Post", [PackageSpec("AP-1", [(line, 1)]), PackageSpec("AP-2", [(line, 1)])])
    # Both packages reached Amazon, though the first answer was lost.
    assert len(amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"])) == 2
    rows = {r.tracking_number: r for r in PackageConfirmation.objects.all()}
    assert rows["AP-1"].state == "pending"
    assert rows["AP-2"].state == "confirmed"

    retry_now()
    retry_now()
    assert len(amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"])) == 2
    assert len(amazon.calls("shipmentConfirmation")) == 2                 # never sent a third time
    assert set(PackageConfirmation.objects.values_list("state", flat=True)) == {"confirmed"}
    assert amazon.calls("orderItems")                                     # v0: QuantityShipped read back
    found = ConnectionLogEntry.objects.get(event="confirmation.found")
    assert "AP-1" in found.message and "not sent again" in found.message


def test_amazon_v2026_reads_back_packages_by_reference(amazon, amazon_seller, amazon_integration, eager_tasks,
                                                        short_timeout):
    amazon_integration.orders_api = "2026-01-01"
    amazon_integration.save()
    order, outbound = amazon_order(amazon, amazon_seller, amazon_integration,
                                   [{"SellerSKU": "CAP-03", "QuantityOrdered": 1}])
    amazon.post("faults", {"slow_next": 1, "slow_seconds": CLIENT_TIMEOUT * 4, "path_contains": "shipmentConfirmation"})
    dispatch(outbound, "Sendle", [PackageSpec("SND-1")])
    assert PackageConfirmation.objects.get().state == "pending"
    retry_now()
    row = PackageConfirmation.objects.get()
    assert row.state == "confirmed"
    assert len(amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"])) == 1
    getorder = [c for c in amazon.calls("/orders/2026-01-01/orders/") if c["method"] == "GET"]
    assert any("PACKAGES" in ",".join(c["query"].get("includedData", [])) for c in getorder)


def test_a_send_that_never_arrived_is_sent_after_the_read_back(amazon, amazon_seller, amazon_integration,
                                                               eager_tasks, short_timeout):
    order, outbound = amazon_order(amazon, amazon_seller, amazon_integration,
                                   [{"SellerSKU": "CAP-03", "QuantityOrdered": 1}])
    amazon.post("faults", {"fail_next": 1, "error_statuses": [503], "path_contains": "shipmentConfirmation"})
    dispatch(outbound, "Sendle", [PackageSpec("SND-2")])
    assert amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"]) == []
    retry_now()
    assert PackageConfirmation.objects.get().state == "confirmed"
    assert len(amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"])) == 1


def test_temporary_failures_are_logged_once_per_reason_with_the_next_try(amazon, amazon_seller, amazon_integration,
                                                                        eager_tasks, short_timeout, settings):
    order, outbound = amazon_order(amazon, amazon_seller, amazon_integration,
                                   [{"SellerSKU": "CAP-03", "QuantityOrdered": 1}])
    # Two sends answered 503 (not applied): one reason, one entry, though it failed twice.
    amazon.post("faults", {"fail_next": 2, "error_statuses": [503], "path_contains": "shipmentConfirmation"})
    dispatch(outbound, "Sendle", [PackageSpec("SND-3")])
    retry_now()
    entries = list(ConnectionLogEntry.objects.filter(event="confirmation.retry"))
    assert len(entries) == 1
    assert "SND-3" in entries[0].message and "Next try at" in entries[0].message
    assert PackageConfirmation.objects.get().attempts == 2
    # Throttled past the client's own retries: a new reason, a new entry.
    amazon.post("faults", {"throttle_next": settings.MARKETPLACE_RETRIES + 1, "path_contains": "shipmentConfirmation"})
    retry_now()
    assert ConnectionLogEntry.objects.filter(event="confirmation.retry").count() == 2
    retry_now()
    assert PackageConfirmation.objects.get().state == "confirmed"
    assert len(amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"])) == 1


def test_a_worker_that_stopped_mid_call_leads_to_a_read_back(amazon, amazon_seller, amazon_integration, eager_tasks):
    order, outbound = amazon_order(amazon, amazon_seller, amazon_integration,
                                   [{"SellerSKU": "CAP-03", "QuantityOrdered": 1}])
    dispatch(outbound, "Sendle", [PackageSpec("SND-4")])
    # As if the worker died after Amazon applied the call but before the row was written: its lock went
    # with its database session, so the very next sweep knows (no waiting for the row to look old).
    PackageConfirmation.objects.update(state="sending")
    confirmations_sweep()                                   # abandoned: back to pending, uncertain
    assert ConnectionLogEntry.objects.filter(event="confirmation.outcome_unknown").count() == 1
    retry_now()
    assert PackageConfirmation.objects.get().state == "confirmed"
    assert len(amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"])) == 1


def test_a_row_a_live_worker_is_sending_is_left_alone(amazon, amazon_seller, amazon_integration, eager_tasks):
    order, outbound = amazon_order(amazon, amazon_seller, amazon_integration,
                                   [{"SellerSKU": "CAP-03", "QuantityOrdered": 1}])
    dispatch(outbound, "Sendle", [PackageSpec("SND-5")])
    row = PackageConfirmation.objects.get()
    PackageConfirmation.objects.update(state="sending")
    holding, done = threading.Event(), threading.Event()

    def sender():                     # another worker, its own database session, mid-call
        try:
            with job_lock("confirmation_send", row.pk) as mine:
                assert mine
                holding.set()
                done.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=sender)
    thread.start()
    assert holding.wait(10)
    confirmations_sweep()
    assert PackageConfirmation.objects.get().state == "sending"
    assert not ConnectionLogEntry.objects.filter(event="confirmation.outcome_unknown").exists()
    done.set()
    thread.join()
    confirmations_sweep()              # the sender is gone without finishing: read back, then sent once
    retry_now()
    assert PackageConfirmation.objects.get().state == "confirmed"
    assert len(amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"])) == 1


@pytest.mark.parametrize("fault", [
    {"slow_next": 1, "slow_seconds": CLIENT_TIMEOUT * 4},
    {"fail_after_apply_next": 1, "error_statuses": [502]},
], ids=["timeout", "5xx"])
def test_etsy_applied_but_unanswered_is_read_back_not_resent(etsy, etsy_shop, etsy_integration, eager_tasks,
                                                            short_timeout, fault):
    r = etsy.post(f"shops/{etsy_shop['shop_id']}/receipts",
                  {"status": "paid", "transactions": [{"sku": "MUG-01", "quantity": 1}]})
    orders_import(integration=etsy_integration)
    etsy.post("faults", {**fault, "path_contains": "/tracking"})
    dispatch(OutboundOrder.objects.get(), "UPS", [PackageSpec("1Z-ONCE")])
    assert PackageConfirmation.objects.get().state == "pending"
    retry_now()
    retry_now()
    shipments = [s for s in etsy.get(f"shops/{etsy_shop['shop_id']}")["shipments"]
                 if s["receipt_id"] == r["receipt_id"]]
    assert [s["tracking_code"] for s in shipments] == ["1Z-ONCE"]       # the buyer is e-mailed once
    assert PackageConfirmation.objects.get().state == "confirmed"


def test_amazon_carrier_name_goes_only_with_carrier_code_other(amazon, amazon_seller, amazon_integration,
                                                              eager_tasks):
    amazon_integration.carrier_map = {"Australia Post": "Australia Post", "Fastway Couriers": "Other"}
    amazon_integration.save()
    order, outbound = amazon_order(amazon, amazon_seller, amazon_integration,
                                   [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}])
    dispatch(outbound, "Australia Post", [PackageSpec("AP-9")])
    [sent] = amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"])
    assert sent["body"]["packageDetail"]["carrierCode"] == "Australia Post"
    assert "carrierName" not in sent["body"]["packageDetail"]

    order, outbound = amazon_order(amazon, amazon_seller, amazon_integration,
                                   [{"SellerSKU": "TEE-02", "QuantityOrdered": 1}])
    dispatch(outbound, "Fastway Couriers", [PackageSpec("FW-1")])
    [sent] = amazon_confirmations(amazon, amazon_seller, order["AmazonOrderId"])
    detail = sent["body"]["packageDetail"]
    assert detail["carrierCode"] == "Other" and detail["carrierName"] == "Fastway Couriers"


def test_etsy_unknown_carrier_goes_as_other_with_its_name_and_an_info(etsy, etsy_shop, etsy_integration, eager_tasks):
    r = etsy.post(f"shops/{etsy_shop['shop_id']}/receipts",
                  {"status": "paid", "transactions": [{"sku": "MUG-01", "quantity": 1}]})
    orders_import(integration=etsy_integration)
    dispatch(OutboundOrder.objects.get(), "DHL Express", [PackageSpec("DHL-77")])
    [call] = etsy.calls("/tracking")
    assert call["body"]["carrier_name"] == "other" and call["body"]["tracking_code"] == "DHL-77"
    assert "DHL Express" in call["body"]["note_to_buyer"]
    [shipment] = [s for s in etsy.get(f"shops/{etsy_shop['shop_id']}")["shipments"]
                  if s["receipt_id"] == r["receipt_id"]]
    assert shipment["carrier_name"] == "other"
    info = ConnectionLogEntry.objects.get(event="confirmation.carrier")
    assert info.level == "INFO" and "DHL Express" in info.message and "other" in info.message
