"""Etsy receipts to outbound orders, completion with tracking, tokens and stock, against the Etsy
sandbox over real HTTP (issue 5)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integrations.models import ConnectionLogEntry, ImportedOrder, ImportRun, Integration, PendingImport
from integrations.providers.base import ProviderRateLimited
from integrations.services.confirmations import confirmations_sweep
from integrations.services.connection import connection_for, provider_for
from integrations.services.inventory import inventory_push
from integrations.services.orders import orders_import
from tests.db import in_threads
from tests.factories import ProductFactory
from warehouse.models import OutboundOrder, StockLevel
from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch, outbound_order_mark_picked


def receipt(etsy, shop, **fields):
    body = {"status": "paid", "transactions": [{"sku": "MUG-01", "quantity": 2}]}
    body.update(fields)
    return etsy.post(f"shops/{shop['shop_id']}/receipts", body)


def shop_state(etsy, shop):
    return etsy.get(f"shops/{shop['shop_id']}")


def messages(integration, level):
    return list(ConnectionLogEntry.objects.filter(integration=integration, level=level).values_list("message", flat=True))


@pytest.mark.django_db
def test_paid_receipts_become_outbound_orders_with_local_dates(etsy, etsy_shop, etsy_integration, warehouse):
    # 2026-05-01 15:00 UTC is 2 May 01:00 in Sydney (UTC+10): the collection date is the 2nd.
    ship_by = int(dt.datetime(2026, 5, 1, 15, 0, tzinfo=dt.timezone.utc).timestamp())
    r = receipt(etsy, etsy_shop, transactions=[{"sku": "MUG-01", "quantity": 2, "expected_ship_date": ship_by},
                                                {"sku": "TEE-02", "quantity": 1, "expected_ship_date": ship_by}])
    receipt(etsy, etsy_shop, status="open")                 # not paid: not warehouse work yet
    result = orders_import(integration=etsy_integration)
    assert result.created == [str(r["receipt_id"])]
    outbound = OutboundOrder.objects.get()
    assert outbound.source == "etsy" and outbound.warehouse == warehouse
    assert outbound.required_collection_date == dt.date(2026, 5, 2)
    assert sorted((line.product.code, line.quantity) for line in outbound.lines.all()) == [("MUG-01", 2), ("TEE-02", 1)]
    assert outbound.delivery_address.street_address == r["first_line"]
    assert outbound.delivery_address.source == "etsy"


@pytest.mark.django_db
def test_paging_and_repolls_make_each_receipt_once(etsy, etsy_shop, etsy_integration):
    etsy.post(f"shops/{etsy_shop['shop_id']}/receipts",
              {"count": 250, "template": {"status": "paid", "transactions": [{"sku": "CAP-03", "quantity": 1}]}})
    assert len(orders_import(integration=etsy_integration).created) == 250
    assert orders_import(integration=etsy_integration).created == []
    assert orders_import(integration=etsy_integration, since=timezone.now() - dt.timedelta(days=2)).created == []
    assert OutboundOrder.objects.count() == 250 == ImportedOrder.objects.count()


@pytest.mark.django_db
def test_unknown_sku_then_product_added(etsy, etsy_shop, etsy_integration, customer):
    r = receipt(etsy, etsy_shop, transactions=[{"sku": "ETSY-NEW", "quantity": 1}])
    assert orders_import(integration=etsy_integration).failed == [str(r["receipt_id"])]
    assert "ETSY-NEW" in messages(etsy_integration, "ERROR")[0]
    assert OutboundOrder.objects.count() == 0
    ProductFactory(customer=customer, code="ETSY-NEW")
    assert orders_import(integration=etsy_integration).created == [str(r["receipt_id"])]
    assert not PendingImport.objects.exists()


@pytest.mark.django_db
def test_withheld_address_and_pickup_are_refused_with_reasons(etsy, etsy_shop, etsy_integration):
    hidden = receipt(etsy, etsy_shop, withhold_address=True)
    pickup = receipt(etsy, etsy_shop, is_pickup=True)
    good = receipt(etsy, etsy_shop)
    result = orders_import(integration=etsy_integration)
    assert result.created == [str(good["receipt_id"])]
    assert str(hidden["receipt_id"]) in result.failed
    errors = " ".join(messages(etsy_integration, "ERROR"))
    assert "withheld the delivery address" in errors
    assert "pickup orders are not supported" in errors
    assert not PendingImport.objects.filter(marketplace_order_id=str(pickup["receipt_id"])).exists()  # not retried
    assert not OutboundOrder.objects.filter(reference__in=[str(hidden["receipt_id"]), str(pickup["receipt_id"])]).exists()


@pytest.mark.django_db
def test_cancelled_receipts_cancel_unpicked_orders(etsy, etsy_shop, etsy_integration):
    early, late = receipt(etsy, etsy_shop), receipt(etsy, etsy_shop)
    orders_import(integration=etsy_integration)
    outbound_order_mark_picked(order=OutboundOrder.objects.get(reference=str(late["receipt_id"])))
    for r in (early, late):
        etsy.patch(f"shops/{etsy_shop['shop_id']}/receipts/{r['receipt_id']}", {"status": "canceled"})
    orders_import(integration=etsy_integration)
    assert OutboundOrder.objects.get(reference=str(early["receipt_id"])).status == "cancelled"
    assert OutboundOrder.objects.get(reference=str(late["receipt_id"])).status == "picked"
    assert any(str(late["receipt_id"]) in m for m in messages(etsy_integration, "ERROR"))


@pytest.mark.django_db(transaction=True)
def test_each_package_is_sent_once_and_the_receipt_completes(etsy, etsy_shop, etsy_integration, eager_tasks):
    r = receipt(etsy, etsy_shop, transactions=[{"sku": "MUG-01", "quantity": 2}])
    orders_import(integration=etsy_integration)
    etsy_integration.carrier_map = {"Australia Post": "australia-post"}
    etsy_integration.save()
    outbound = OutboundOrder.objects.get()
    line = outbound.lines.get()
    consignment = consignment_create(order=outbound, carrier="Australia Post", packages=[
        PackageSpec("AP-1", [(line, 1)]), PackageSpec("AP-2", [(line, 1)])])
    outbound_order_dispatch(order=outbound, consignment=consignment)
    confirmations_sweep()
    shipments = [s for s in shop_state(etsy, etsy_shop)["shipments"] if s["receipt_id"] == r["receipt_id"]]
    assert sorted(s["tracking_code"] for s in shipments) == ["AP-1", "AP-2"]
    assert {s["carrier_name"] for s in shipments} == {"australia-post"}
    state = next(x for x in shop_state(etsy, etsy_shop)["receipts"] if x["receipt_id"] == r["receipt_id"])
    assert state["status"] == "completed" and state["is_shipped"] is True


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_with_fulfilment_off(etsy, etsy_shop, etsy_integration, eager_tasks):
    etsy_integration.fulfilment_enabled = False
    etsy_integration.save()
    r = receipt(etsy, etsy_shop)
    orders_import(integration=etsy_integration)
    outbound = OutboundOrder.objects.get()
    outbound_order_dispatch(order=outbound, consignment=consignment_create(
        order=outbound, carrier="UPS", packages=[PackageSpec("1Z1")]))
    confirmations_sweep()
    assert [s for s in shop_state(etsy, etsy_shop)["shipments"] if s["receipt_id"] == r["receipt_id"]] == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_keep_the_integration(etsy, etsy_shop, etsy_integration):
    etsy.post("tokens/expire", {"user_id": etsy_shop["user_id"]})
    Integration.objects.filter(pk=etsy_integration.pk).update(access_token_expires_at=timezone.now())
    tokens, failures = in_threads(lambda: connection_for(Integration.objects.get(pk=etsy_integration.pk)).tokens.get())
    assert failures == []
    assert len(tokens) == 2 and tokens[0] == tokens[1]              # one refreshed, the other used its token
    refreshes = [c for c in etsy.calls("/v3/public/oauth/token")]
    assert len(refreshes) == 1
    integration = Integration.objects.get(pk=etsy_integration.pk)
    assert integration.refresh_token != etsy_shop["refresh_token"]  # the rotated token was saved
    provider = provider_for(integration)
    assert "KoalaMugsShop" in provider.test_connection(conn=connection_for(integration, provider))


@pytest.mark.django_db(transaction=True)
def test_revoked_grant_puts_the_integration_in_error(etsy, etsy_shop, etsy_integration):
    etsy.post("tokens/revoke", {"user_id": etsy_shop["user_id"]})
    Integration.objects.filter(pk=etsy_integration.pk).update(access_token_expires_at=timezone.now())
    from integrations.tasks import orders_import_task

    orders_import_task.apply(args=[etsy_integration.pk])
    integration = Integration.objects.get(pk=etsy_integration.pk)
    assert integration.status == Integration.Status.ERROR
    assert "Reconnect" in integration.status_message


@pytest.mark.django_db
def test_inventory_round_trip_keeps_variations(etsy, etsy_shop, etsy_integration, warehouse, products):
    shop_id = etsy_shop["shop_id"]
    etsy.post(f"shops/{shop_id}/listings", {
        "title": "Mug", "quantity_on_property": [200], "sku_on_property": [200], "products": [
            {"sku": "MUG-01", "quantity": 3, "price": 12.99,
             "property_values": [{"property_id": 200, "property_name": "Primary color", "value_ids": [1], "values": ["Blue"]}]},
            {"sku": "TEE-02", "quantity": 4, "price": 12.99,
             "property_values": [{"property_id": 200, "property_name": "Primary color", "value_ids": [2], "values": ["Red"]}]},
        ]})
    etsy_integration.inventory_warehouses.set([warehouse])
    StockLevel.objects.filter(product=products["MUG-01"], warehouse=warehouse).update(on_hand=42)
    result = inventory_push(integration=etsy_integration)
    assert "MUG-01" in result.accepted and "TEE-02" in result.accepted
    [listing] = shop_state(etsy, etsy_shop)["listings"]
    products_after = {p["sku"]: p for p in listing["inventory"]["products"]}
    assert set(products_after) == {"MUG-01", "TEE-02"}                      # the variation survived
    assert products_after["MUG-01"]["offerings"][0]["quantity"] == 42
    assert products_after["TEE-02"]["property_values"][0]["values"] == ["Red"]
    assert ("CAP-03", ) == tuple(sku for sku, _ in result.rejected)          # no listing holds it


@pytest.mark.django_db
def test_daily_quota_nearly_spent_stops_without_losing_orders(etsy, etsy_shop, etsy_integration):
    receipt(etsy, etsy_shop)
    etsy.post("rate_limits", {"remaining_today": 10})
    watermark = etsy_integration.orders_watermark
    with pytest.raises(ProviderRateLimited) as caught:
        orders_import(integration=etsy_integration)
    assert caught.value.daily
    etsy_integration.refresh_from_db()
    assert etsy_integration.orders_watermark == watermark          # the window is not done
    assert OutboundOrder.objects.count() == 1                       # but the page it read is in
    run = ImportRun.objects.get()
    assert run.state == ImportRun.State.STOPPED and run.cursor and run.imported == 1
    etsy.post("rate_limits", {"remaining_today": 5000})
    receipts_read = len(etsy.calls("/receipts"))
    result = orders_import(integration=etsy_integration)
    assert result.created == [] and OutboundOrder.objects.count() == 1
    run.refresh_from_db()
    assert run.state == ImportRun.State.FINISHED and run.resumes == 1 and ImportRun.objects.count() == 1
    # Resumed after the committed page: the first search's page is not read again.
    first_search = [c for c in etsy.calls("/receipts")[receipts_read:] if "min_created" in c["query"]]
    assert all("offset=0" not in c["query"] for c in first_search)
    etsy_integration.refresh_from_db()
    assert etsy_integration.orders_watermark > watermark


@pytest.mark.django_db
def test_import_by_number_with_an_unknown_number_imports_the_rest(etsy, etsy_shop, etsy_integration):
    good = receipt(etsy, etsy_shop)
    result = orders_import(integration=etsy_integration, order_ids=[str(good["receipt_id"]), "999999999"])
    assert result.created == [str(good["receipt_id"])]
    [error] = messages(etsy_integration, "ERROR")
    assert "999999999" in error and "Check the order number" in error
    assert not PendingImport.objects.exists()


@pytest.mark.django_db
def test_a_failing_order_is_logged_once_and_given_up_after_seven_days(etsy, etsy_shop, etsy_integration):
    bad = receipt(etsy, etsy_shop, transactions=[{"sku": "NOT-A-PRODUCT", "quantity": 1}])
    for _ in range(3):
        orders_import(integration=etsy_integration)
    assert len(messages(etsy_integration, "ERROR")) == 1
    assert PendingImport.objects.get().attempts >= 3
    PendingImport.objects.update(first_failed_at=timezone.now() - dt.timedelta(days=8))
    orders_import(integration=etsy_integration)
    assert not PendingImport.objects.exists()
    assert any("no longer retried" in m and str(bad["receipt_id"]) in m for m in messages(etsy_integration, "ERROR"))
