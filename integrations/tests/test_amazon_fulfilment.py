"""One-time shipment confirmation and the inventory feed, against the Amazon sandbox (issue 4)."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from integrations.models import (
    ConnectionLogEntry,
    Integration,
    InventoryFeed,
    InventoryPush,
    InventoryRefusal,
    PackageConfirmation,
)
from integrations.services.confirmations import confirmations_sweep
from integrations.services.inventory import inventory_push
from integrations.services.orders import orders_import
from integrations.tasks import connection_log_prune, inventory_push_due
from warehouse.models import OutboundOrder, StockLevel
from tests.feeds import feeds_processed
from warehouse.services import PackageSpec, consignment_add_tracking, consignment_create, outbound_order_dispatch

from .conftest import AU

pytestmark = pytest.mark.django_db(transaction=True)


def import_one(amazon, seller, integration, items):
    order = amazon.post(f"sellers/{seller['selling_partner_id']}/orders", {"MarketplaceId": AU, "items": items})
    orders_import(integration=integration)
    return order, OutboundOrder.objects.get(reference=order["AmazonOrderId"])


def confirmations(amazon, seller, order_id):
    state = amazon.get(f"sellers/{seller['selling_partner_id']}")
    return [c for c in state["confirmations"] if c["amazon_order_id"] == order_id]


def dispatch_three_packages(outbound):
    mug, tee = outbound.lines.order_by("product__code")
    consignment = consignment_create(order=outbound, carrier="Australia Post", service="Parcel Post", packages=[
        PackageSpec("AP-001", [(mug, 1)]), PackageSpec("AP-002", [(mug, 1)]), PackageSpec("AP-003", [(tee, 2)])])
    outbound_order_dispatch(order=outbound, consignment=consignment)
    return consignment


def test_three_packages_are_confirmed_exactly_once_each(amazon, amazon_seller, amazon_integration, eager_tasks):
    order, outbound = import_one(amazon, amazon_seller, amazon_integration,
                                 [{"SellerSKU": "MUG-01", "QuantityOrdered": 2}, {"SellerSKU": "TEE-02", "QuantityOrdered": 2}])
    amazon_integration.carrier_map = {"Australia Post": "Australia Post"}
    amazon_integration.save()
    dispatch_three_packages(outbound)       # the dispatch commit triggers the confirmation task

    sent = confirmations(amazon, amazon_seller, order["AmazonOrderId"])
    assert sorted(c["body"]["packageDetail"]["trackingNumber"] for c in sent) == ["AP-001", "AP-002", "AP-003"]
    detail = next(c["body"]["packageDetail"] for c in sent if c["body"]["packageDetail"]["trackingNumber"] == "AP-003")
    assert detail["carrierCode"] == "Australia Post"
    assert [i["quantity"] for i in detail["orderItems"]] == [2]
    assert PackageConfirmation.objects.filter(state="confirmed").count() == 3

    # The sweep, a second dispatch event and a re-poll never send again.
    confirmations_sweep()
    orders_import(integration=amazon_integration)
    assert len(confirmations(amazon, amazon_seller, order["AmazonOrderId"])) == 3
    order_state = next(o for o in amazon.get(f"sellers/{amazon_seller['selling_partner_id']}")["orders"]
                       if o["AmazonOrderId"] == order["AmazonOrderId"])
    assert order_state["OrderStatus"] == "Shipped"


def test_nothing_is_sent_with_fulfilment_off(amazon, amazon_seller, amazon_integration, eager_tasks):
    amazon_integration.fulfilment_enabled = False
    amazon_integration.save()
    order, outbound = import_one(amazon, amazon_seller, amazon_integration,
                                 [{"SellerSKU": "MUG-01", "QuantityOrdered": 2}, {"SellerSKU": "TEE-02", "QuantityOrdered": 2}])
    dispatch_three_packages(outbound)
    confirmations_sweep()
    assert confirmations(amazon, amazon_seller, order["AmazonOrderId"]) == []
    assert not PackageConfirmation.objects.exists()


def test_tracking_added_after_dispatch_is_confirmed_then(amazon, amazon_seller, amazon_integration, eager_tasks):
    order, outbound = import_one(amazon, amazon_seller, amazon_integration, [{"SellerSKU": "CAP-03", "QuantityOrdered": 1}])
    consignment = consignment_create(order=outbound, carrier="Sendle", packages=[PackageSpec("")])
    outbound_order_dispatch(order=outbound, consignment=consignment)
    assert confirmations(amazon, amazon_seller, order["AmazonOrderId"]) == []
    consignment_add_tracking(consignment=consignment, tracking={consignment.packages.get().id: "SND123"})
    [sent] = confirmations(amazon, amazon_seller, order["AmazonOrderId"])
    assert sent["body"]["packageDetail"]["trackingNumber"] == "SND123"


def test_failed_confirmation_is_retried_by_the_sweep(amazon, amazon_seller, amazon_integration, eager_tasks):
    order, outbound = import_one(amazon, amazon_seller, amazon_integration, [{"SellerSKU": "CAP-03", "QuantityOrdered": 1}])
    amazon.post("faults", {"fail_next": 1, "error_statuses": [503], "path_contains": "shipmentConfirmation"})
    consignment = consignment_create(order=outbound, carrier="Sendle", packages=[PackageSpec("SND9")])
    outbound_order_dispatch(order=outbound, consignment=consignment)
    row = PackageConfirmation.objects.get()
    assert row.state == "pending" and row.attempts == 1
    PackageConfirmation.objects.filter(pk=row.pk).update(next_attempt_at=None)
    confirmations_sweep()
    row.refresh_from_db()
    assert row.state == "confirmed"
    assert len(confirmations(amazon, amazon_seller, order["AmazonOrderId"])) == 1


def test_inventory_feed_holds_exactly_the_changed_skus(amazon, amazon_seller, amazon_integration, warehouse, products):
    sp = amazon_seller["selling_partner_id"]
    for code in products:
        amazon.post(f"sellers/{sp}/listings", {"sku": code, "quantity": 0})
    amazon_integration.inventory_enabled = True
    amazon_integration.save()
    amazon_integration.inventory_warehouses.set([warehouse])

    first = inventory_push(integration=amazon_integration)
    assert sorted(first.accepted) == ["CAP-03", "MUG-01", "TEE-02"]
    listings = amazon.get(f"sellers/{sp}")["listings"]
    assert listings["MUG-01"]["quantity"] == 500

    StockLevel.objects.filter(product=products["TEE-02"], warehouse=warehouse).update(on_hand=420)
    second = inventory_push(integration=amazon_integration)
    assert second.accepted == ("TEE-02",)
    assert amazon.get(f"sellers/{sp}")["listings"]["TEE-02"]["quantity"] == 420
    assert InventoryPush.objects.get(sku="TEE-02").quantity == 420
    assert inventory_push(integration=amazon_integration).accepted == ()      # nothing changed: nothing sent


def test_inventory_feed_reports_rejected_skus(amazon, amazon_seller, amazon_integration, customer, warehouse, products):
    from tests.factories import ProductFactory, StockLevelFactory

    sp = amazon_seller["selling_partner_id"]
    for code in products:
        amazon.post(f"sellers/{sp}/listings", {"sku": code, "quantity": 0})
    for n in range(5):           # more than a handful: one JSON_LISTINGS_FEED
        p = ProductFactory(customer=customer, code=f"EXTRA-{n}")
        StockLevelFactory(product=p, warehouse=warehouse, on_hand=n + 1)
        if n:
            amazon.post(f"sellers/{sp}/listings", {"sku": p.code, "quantity": 0})
    amazon_integration.inventory_warehouses.set([warehouse])
    result = inventory_push(integration=amazon_integration)
    assert result.reference and result.submitted                   # a feed id: sent as one feed
    # Nobody waits for Amazon: nothing is known to be accepted or refused until it has processed the feed.
    assert not InventoryPush.objects.exists() and not InventoryRefusal.objects.exists()
    assert InventoryFeed.objects.get().status == "processing"
    assert feeds_processed(amazon, amazon_integration) == 1
    assert list(InventoryRefusal.objects.values_list("sku", flat=True)) == ["EXTRA-0"]   # no listing on Amazon
    assert "EXTRA-0" in ConnectionLogEntry.objects.get(level="ERROR").message
    assert not InventoryPush.objects.filter(sku="EXTRA-0").exists()
    assert InventoryPush.objects.count() == 7 and InventoryFeed.objects.get().accepted == 7


def test_the_feed_document_holds_exactly_the_changed_skus(amazon, amazon_seller, amazon_integration, customer,
                                                          warehouse, products):
    from tests.factories import ProductFactory, StockLevelFactory
    from warehouse.models import StockLevel

    sp = amazon_seller["selling_partner_id"]
    for code in products:
        amazon.post(f"sellers/{sp}/listings", {"sku": code, "quantity": 0})
    codes = [f"FEED-{n}" for n in range(8)]
    for n, code in enumerate(codes):
        StockLevelFactory(product=ProductFactory(customer=customer, code=code), warehouse=warehouse, on_hand=n + 1)
        amazon.post(f"sellers/{sp}/listings", {"sku": code, "quantity": 0})
    amazon_integration.inventory_warehouses.set([warehouse])
    inventory_push(integration=amazon_integration)                      # first push: everything
    feeds_processed(amazon, amazon_integration)

    changed = codes[:6]
    StockLevel.objects.filter(product__code__in=changed).update(on_hand=77)
    def uploads():      # the feed documents PUT to the presigned URL
        return [c for c in amazon.calls("/_s3/feeds/") if c["method"] == "PUT"]

    before = len(uploads())
    result = inventory_push(integration=amazon_integration)
    new_uploads = uploads()[before:]
    assert len(new_uploads) == 1 and result.reference                  # one JSON_LISTINGS_FEED for the sync
    messages = new_uploads[0]["body"]["messages"]
    assert sorted(m["sku"] for m in messages) == sorted(changed)        # exactly the changed SKUs
    assert {m["patches"][0]["value"][0]["quantity"] for m in messages} == {77}
    # In flight: the next run does not send them again while Amazon processes the feed.
    assert inventory_push(integration=amazon_integration).reference == "" and len(uploads()) == before + 1
    feeds_processed(amazon, amazon_integration)
    listings = amazon.get(f"sellers/{sp}")["listings"]
    assert [listings[c]["quantity"] for c in codes] == [77] * 6 + [7, 8]


def test_inventory_runs_on_the_chosen_frequency(amazon_integration):
    Integration.objects.filter(pk=amazon_integration.pk).update(
        inventory_enabled=True, inventory_frequency_minutes=30, inventory_last_run_at=timezone.now())
    with mock.patch("integrations.tasks.inventory_push_task.delay") as queued:
        inventory_push_due()
        assert queued.call_count == 0                                  # ran just now: not due
        Integration.objects.filter(pk=amazon_integration.pk).update(
            inventory_last_run_at=timezone.now() - dt.timedelta(minutes=31))
        inventory_push_due()
        queued.assert_called_once_with(amazon_integration.pk)
        Integration.objects.filter(pk=amazon_integration.pk).update(inventory_enabled=False)
        queued.reset_mock()
        inventory_push_due()
        assert queued.call_count == 0                                  # off by default / turned off


def test_connection_log_keeps_seven_days(amazon_integration):
    old = ConnectionLogEntry.objects.create(integration=amazon_integration, level="INFO", event="x", message="old")
    ConnectionLogEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    recent = ConnectionLogEntry.objects.create(integration=amazon_integration, level="INFO", event="x", message="new")
    assert connection_log_prune() == 1
    assert list(ConnectionLogEntry.objects.values_list("pk", flat=True)) == [recent.pk]


def test_inventory_bookkeeping_costs_the_same_queries_for_ten_skus_as_for_sixty(
        amazon, amazon_seller, amazon_integration, customer, warehouse):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ProductFactory, StockLevelFactory

    sp = amazon_seller["selling_partner_id"]
    amazon.post("settings", {"feed_step_seconds": 0})
    amazon_integration.inventory_warehouses.set([warehouse])
    counts = []
    for size in (10, 60):
        for n in range(size):
            code = f"Q{size}-{n}"
            StockLevelFactory(product=ProductFactory(customer=customer, code=code), warehouse=warehouse, on_hand=n + 1)
            # One SKU without a listing: refused, remembered and logged (so are the `products` fixture's).
            if n:
                amazon.post(f"sellers/{sp}/listings", {"sku": code, "quantity": 0})
        with CaptureQueriesContext(connection) as queries:
            inventory_push(integration=amazon_integration)
            feeds_processed(amazon, amazon_integration)
        feed = InventoryFeed.objects.latest("pk")
        assert feed.accepted == size - 1 and InventoryRefusal.objects.filter(sku=f"Q{size}-0").exists()
        counts.append(len(queries))
    assert counts[1] <= counts[0]             # upserts, not a query or two per SKU
    assert InventoryPush.objects.filter(integration=amazon_integration, sku__startswith="Q").count() == 9 + 59
    assert {"Q10-0", "Q60-0"} <= {e.message.split()[4] for e in ConnectionLogEntry.objects.filter(
        event="inventory.rejected")}
