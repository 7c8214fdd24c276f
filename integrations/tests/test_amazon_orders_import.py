"""Amazon order import against the Amazon sandbox over real HTTP (issue 4)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integrations.models import ConnectionLogEntry, ImportedOrder, Integration, PendingImport, SupplySourceMapping
from integrations.providers.amazon import provider as amazon_provider
from integrations.providers.base import ProviderRateLimited
from integrations.services.orders import orders_import
from tests.factories import CustomerFactory, ProductFactory, TenantFactory, WarehouseFactory
from warehouse.models import OutboundOrder
from warehouse.services import outbound_order_mark_picked

from .conftest import AU

pytestmark = pytest.mark.django_db


def make_order(amazon, seller, **fields):
    body = {"MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "ASIN": "B000MUG001", "QuantityOrdered": 2}]}
    body.update(fields)
    return amazon.post(f"sellers/{seller['selling_partner_id']}/orders", body)


def errors(integration):
    return list(ConnectionLogEntry.objects.filter(integration=integration, level="ERROR").values_list("message", flat=True))


def test_poll_creates_outbound_order_with_address_lines_and_dates(amazon, amazon_seller, amazon_integration,
                                                                  warehouse, products):
    order = make_order(amazon, amazon_seller, ShipmentServiceLevelCategory="Expedited",
                       items=[{"SellerSKU": "MUG-01", "QuantityOrdered": 2}, {"SellerSKU": "TEE-02", "QuantityOrdered": 1}])
    amazon_integration.shipping_method_map = {"Expedited": "AusPost Express"}
    amazon_integration.save()

    result = orders_import(integration=amazon_integration)

    assert result.created == [order["AmazonOrderId"]]
    outbound = OutboundOrder.objects.get(reference=order["AmazonOrderId"])
    assert outbound.warehouse == warehouse and outbound.source == "amazon"
    assert outbound.shipping_method == "AusPost Express"
    assert sorted((line.product.code, line.quantity) for line in outbound.lines.all()) == [("MUG-01", 2), ("TEE-02", 1)]
    address = outbound.delivery_address
    assert address.source == "amazon"
    # The buyer's street and name come only with a restricted data token: their presence proves the RDT path.
    assert address.street_address == order["ShippingAddress"]["AddressLine1"]
    assert address.contact_name == order["ShippingAddress"]["Name"]
    assert outbound.status == OutboundOrder.Status.AWAITING_PICK       # stock was allocated
    assert outbound.required_collection_date is not None
    amazon_integration.refresh_from_db()
    assert amazon_integration.orders_watermark > timezone.now() - dt.timedelta(minutes=5)


def test_required_dates_are_taken_in_the_warehouse_timezone(amazon, amazon_seller, amazon_integration, warehouse):
    # 14:30 UTC on 1 March is 01:30 on 2 March in Sydney (UTC+11): CartonCloud would say 1 March.
    make_order(amazon, amazon_seller, LatestShipDate="2026-03-01T14:30:00Z", LatestDeliveryDate="2026-03-04T13:30:00Z")
    orders_import(integration=amazon_integration)
    outbound = OutboundOrder.objects.get()
    assert outbound.warehouse.timezone == "Australia/Sydney"
    assert outbound.required_collection_date == dt.date(2026, 3, 2)
    assert outbound.required_delivery_date == dt.date(2026, 3, 5)


def test_routing_matrix(amazon, amazon_seller, amazon_integration, warehouse, second_warehouse):
    sp = amazon_seller["selling_partner_id"]
    mapped = amazon.post(f"sellers/{sp}/supply_sources", {"supplySourceCode": "LA", "alias": "LA store", "status": "Active"})
    unmapped = amazon.post(f"sellers/{sp}/supply_sources", {"supplySourceCode": "NYC", "alias": "NYC", "status": "Active"})
    SupplySourceMapping.objects.create(integration=amazon_integration, supply_source_id=mapped["supplySourceId"],
                                       code="LA", status="Active", warehouse=second_warehouse)
    to_la = make_order(amazon, amazon_seller, FulfillmentSupplySourceId=mapped["supplySourceId"])
    to_default = make_order(amazon, amazon_seller, FulfillmentSupplySourceId=unmapped["supplySourceId"])
    no_source = make_order(amazon, amazon_seller)

    orders_import(integration=amazon_integration)
    by_ref = {o.reference: o.warehouse for o in OutboundOrder.objects.all()}
    assert by_ref == {to_la["AmazonOrderId"]: second_warehouse, to_default["AmazonOrderId"]: warehouse,
                      no_source["AmazonOrderId"]: warehouse}
    assert ImportedOrder.objects.get(marketplace_order_id=to_la["AmazonOrderId"]).supply_source_id == mapped["supplySourceId"]


def test_without_default_warehouse_only_mapped_sources_come_in(amazon, amazon_seller, amazon_integration,
                                                               second_warehouse):
    sp = amazon_seller["selling_partner_id"]
    mapped = amazon.post(f"sellers/{sp}/supply_sources", {"supplySourceCode": "LA", "alias": "LA", "status": "Active"})
    SupplySourceMapping.objects.create(integration=amazon_integration, supply_source_id=mapped["supplySourceId"],
                                       status="Active", warehouse=second_warehouse)
    amazon_integration.default_warehouse = None
    amazon_integration.save()
    kept = make_order(amazon, amazon_seller, FulfillmentSupplySourceId=mapped["supplySourceId"])
    dropped = make_order(amazon, amazon_seller)

    result = orders_import(integration=amazon_integration)
    assert result.created == [kept["AmazonOrderId"]]
    assert dropped["AmazonOrderId"] in result.skipped
    info = ConnectionLogEntry.objects.get(integration=amazon_integration, marketplace_order_id=dropped["AmazonOrderId"])
    assert info.level == "INFO" and "no default warehouse" in info.message
    assert not PendingImport.objects.exists()


def test_paging_over_250_orders_and_repolls_create_no_duplicates(amazon, amazon_seller, amazon_integration):
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders",
                {"count": 250, "template": {"MarketplaceId": AU, "items": [{"SellerSKU": "CAP-03", "QuantityOrdered": 1}]}})
    first = orders_import(integration=amazon_integration)
    assert len(first.created) == 250
    # A re-poll and an overlapping window both read the same orders again: nothing new is made.
    again = orders_import(integration=amazon_integration)
    window = orders_import(integration=amazon_integration, since=timezone.now() - dt.timedelta(hours=3))
    assert again.created == [] and window.created == []
    assert OutboundOrder.objects.count() == 250 == ImportedOrder.objects.count()
    pages = [c for c in amazon.calls("/orders/v0/orders") if c["path"] == "/orders/v0/orders"]
    assert len(pages) >= 3 * 3          # three imports, at least three pages of 100 each
    rdts = amazon.calls("/tokens/2021-03-01/restrictedDataToken")
    assert len(rdts) <= len(pages)      # one restricted data token per page, not per order


def test_unknown_sku_is_logged_then_imported_once_the_product_exists(amazon, amazon_seller, amazon_integration, customer):
    order = make_order(amazon, amazon_seller, items=[{"SellerSKU": "NEW-SKU-9", "QuantityOrdered": 1}])
    good = make_order(amazon, amazon_seller)
    result = orders_import(integration=amazon_integration)
    assert result.failed == [order["AmazonOrderId"]] and result.created == [good["AmazonOrderId"]]
    assert not OutboundOrder.objects.filter(reference=order["AmazonOrderId"]).exists()     # no half order
    [message] = errors(amazon_integration)
    assert "NEW-SKU-9" in message and "Add the product" in message
    assert PendingImport.objects.filter(marketplace_order_id=order["AmazonOrderId"]).exists()

    ProductFactory(customer=customer, code="NEW-SKU-9")
    retry = orders_import(integration=amazon_integration)
    assert order["AmazonOrderId"] in retry.created
    assert OutboundOrder.objects.get(reference=order["AmazonOrderId"]).status == OutboundOrder.Status.DRAFT  # no stock
    assert not PendingImport.objects.exists()


def test_match_by_asin(amazon, amazon_seller, amazon_integration):
    amazon_integration.match_by = Integration.MatchBy.ALTERNATIVE_CODE
    amazon_integration.save()
    make_order(amazon, amazon_seller, items=[{"SellerSKU": "SELLER-OWN-SKU", "ASIN": "B000TEE002", "QuantityOrdered": 3}])
    orders_import(integration=amazon_integration)
    line = OutboundOrder.objects.get().lines.get()
    assert (line.product.code, line.quantity) == ("TEE-02", 3)


def test_import_missing_orders_by_number(amazon, amazon_seller, amazon_integration):
    orders = [make_order(amazon, amazon_seller) for _ in range(3)]
    ids = [o["AmazonOrderId"] for o in orders[:2]]
    result = orders_import(integration=amazon_integration, order_ids=ids)
    assert sorted(result.created) == sorted(ids)
    assert OutboundOrder.objects.count() == 2


def test_cancellation_before_and_after_picking(amazon, amazon_seller, amazon_integration):
    sp = amazon_seller["selling_partner_id"]
    early, late = make_order(amazon, amazon_seller), make_order(amazon, amazon_seller)
    orders_import(integration=amazon_integration)
    outbound_order_mark_picked(order=OutboundOrder.objects.get(reference=late["AmazonOrderId"]))
    for order in (early, late):
        amazon.patch(f"sellers/{sp}/orders/{order['AmazonOrderId']}", {"OrderStatus": "Canceled"})

    result = orders_import(integration=amazon_integration)
    assert sorted(result.cancelled) == sorted([early["AmazonOrderId"], late["AmazonOrderId"]])
    assert OutboundOrder.objects.get(reference=early["AmazonOrderId"]).status == OutboundOrder.Status.CANCELLED
    assert OutboundOrder.objects.get(reference=late["AmazonOrderId"]).status == OutboundOrder.Status.PICKED
    [message] = errors(amazon_integration)
    assert late["AmazonOrderId"] in message and "already picked" in message


def test_fba_orders_are_skipped(amazon, amazon_seller, amazon_integration):
    make_order(amazon, amazon_seller, FulfillmentChannel="AFN")
    result = orders_import(integration=amazon_integration)
    assert result.created == [] and OutboundOrder.objects.count() == 0


def test_throttling_storm_loses_nothing(amazon, amazon_seller, amazon_integration):
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders",
                {"count": 120, "template": {"MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
    watermark = amazon_integration.orders_watermark
    amazon.post("faults", {"throttle_next": 4, "path_contains": "/orders/v0/orders"})
    attempts = 0
    while True:
        attempts += 1
        try:
            orders_import(integration=amazon_integration)
            break
        except ProviderRateLimited:
            amazon_integration.refresh_from_db()
            assert amazon_integration.orders_watermark == watermark   # never moved past uncommitted orders
            assert attempts < 10
    assert attempts > 1
    assert OutboundOrder.objects.count() == 120 == ImportedOrder.objects.count()


def test_other_tenants_are_untouched(amazon, amazon_seller, amazon_integration):
    other = TenantFactory()
    other_customer = CustomerFactory(tenant=other)
    other_wh = WarehouseFactory(tenant=other)
    other_customer.warehouses.add(other_wh)
    ProductFactory(customer=other_customer, code="MUG-01")
    make_order(amazon, amazon_seller)
    orders_import(integration=amazon_integration)
    assert OutboundOrder.objects.filter(tenant=other).count() == 0
    assert OutboundOrder.objects.get().customer == amazon_integration.customer


def test_orders_api_2026_routes_to_the_default_warehouse(amazon, amazon_seller, amazon_integration, warehouse,
                                                         second_warehouse):
    sp = amazon_seller["selling_partner_id"]
    source = amazon.post(f"sellers/{sp}/supply_sources", {"supplySourceCode": "LA", "alias": "LA", "status": "Active"})
    SupplySourceMapping.objects.create(integration=amazon_integration, supply_source_id=source["supplySourceId"],
                                       status="Active", warehouse=second_warehouse)
    amazon_integration.orders_api = Integration.OrdersApi.V2026
    amazon_integration.save()
    order = make_order(amazon, amazon_seller, FulfillmentSupplySourceId=source["supplySourceId"])
    assert orders_import(integration=amazon_integration).created == [order["AmazonOrderId"]]
    outbound = OutboundOrder.objects.get()
    assert outbound.warehouse == warehouse          # v2026 carries no supply source: the default warehouse
    assert outbound.delivery_address.street_address == order["ShippingAddress"]["AddressLine1"]
    assert not amazon.calls("/tokens/2021-03-01/restrictedDataToken")      # no RDT needed on v2026
    assert not amazon.calls("/orderItems")                                  # items come with the order


def test_no_buyer_personal_data_in_the_connection_log_or_logs(amazon, amazon_seller, amazon_integration, caplog):
    good = make_order(amazon, amazon_seller)
    bad = make_order(amazon, amazon_seller, items=[{"SellerSKU": "NOPE", "QuantityOrdered": 1}])
    with caplog.at_level("DEBUG"):
        orders_import(integration=amazon_integration)
    text = " ".join(ConnectionLogEntry.objects.values_list("message", flat=True)) + caplog.text
    for order in (good, bad):
        address = order["ShippingAddress"]
        for value in (address["Name"], address["AddressLine1"], address.get("Phone")):
            assert value and value not in text
    assert bad["AmazonOrderId"] in text                # the entries do name the order


def test_unroutable_order_is_logged_once_across_overlapping_polls(amazon, amazon_seller, amazon_integration):
    amazon_integration.default_warehouse = None
    amazon_integration.save()
    order = make_order(amazon, amazon_seller)
    orders_import(integration=amazon_integration)
    orders_import(integration=amazon_integration, since=timezone.now() - dt.timedelta(hours=2))
    assert ConnectionLogEntry.objects.filter(marketplace_order_id=order["AmazonOrderId"]).count() == 1


def test_two_workers_never_run_the_same_import_at_once(amazon_integration):
    from integrations.locks import job_lock
    from integrations.tasks import orders_import_task

    with job_lock("orders_import", amazon_integration.id) as mine:
        assert mine
        with job_lock("orders_import", amazon_integration.id) as second:
            assert not second
        assert orders_import_task.apply(args=[amazon_integration.id]).result is None   # skipped, not run
    with job_lock("orders_import", amazon_integration.id) as again:
        assert again                                                                 # released afterwards


@pytest.mark.parametrize("handover_seconds, parts", [(0, 25), (3600, 1)])
def test_a_slow_page_of_new_orders_is_committed_in_parts_a_fast_one_whole(amazon, amazon_sandbox, amazon_seller,
                                                                         amazon_integration, monkeypatch,
                                                                         handover_seconds, parts):
    # Reading items slower than the handover interval (0: every order is slow) commits each part as it is
    # read; a page read within it is one transaction.
    monkeypatch.setattr(amazon_provider, "HANDOVER_SECONDS", handover_seconds)
    amazon_sandbox.set_rate_limits(enabled=False)
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders", {"count": 25, "template": {
        "MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})

    result = orders_import(integration=amazon_integration)

    assert len(result.created) == 25
    run = result.run
    assert run.pages == parts and run.found == 25 and run.imported == 25
    assert len([c for c in amazon.calls("/orders/v0/orders") if c["path"] == "/orders/v0/orders"]) == 1
    amazon_integration.refresh_from_db()
    assert amazon_integration.orders_watermark is not None
    assert ImportedOrder.objects.filter(integration=amazon_integration).count() == 25


def test_a_poll_counts_from_its_start_so_a_long_one_does_not_stretch_the_interval(amazon, amazon_sandbox,
                                                                                  amazon_seller, amazon_integration):
    amazon_sandbox.set_rate_limits(enabled=False)
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders", {"count": 5, "template": {
        "MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
    before = timezone.now()
    result = orders_import(integration=amazon_integration)
    amazon_integration.refresh_from_db()
    first_commit = min(ImportedOrder.objects.filter(integration=amazon_integration).values_list("created_at", flat=True))
    assert len(result.created) == 5
    # The next poll is due ORDERS_POLL_MINUTES after this one began, not after it ended.
    assert before <= amazon_integration.last_import_at <= first_commit
