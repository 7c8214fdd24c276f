"""Throughput of the sync paths against the Amazon sandbox (rate limits off): `make bench`.

Prints orders per second for the import and confirmations per second for dispatch → confirm. Not part
of `make test`: its small versions there are the 250-order paging tests.
"""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.utils import timezone

from integrations.models import Integration
from integrations.services.confirmations import confirmations_for_order
from integrations.services.orders import orders_import
from tests.factories import ProductFactory, StockLevelFactory
from warehouse.models import OutboundOrder
from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch

AU = "A39IBJ37TRP1C6"
ORDERS = int(os.environ.get("BENCH_ORDERS", "1000"))


@pytest.fixture
def integration(amazon_sandbox, settings, tenant, customer, warehouse):
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()
    url = amazon_sandbox.url
    settings.AMAZON_SPAPI_ENDPOINT, settings.AMAZON_LWA_TOKEN_URL = url, f"{url}/auth/o2/token"
    settings.AMAZON_LWA_APP_ID, settings.AMAZON_LWA_CLIENT_SECRET = "amzn1.application-oa2-client.sandbox", "sandbox-secret"
    amazon_sandbox.set_rate_limits(enabled=False)
    seller = amazon_sandbox.seed_seller(marketplace_ids=[AU])
    product = ProductFactory(customer=customer, code="BENCH-1")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=ORDERS * 10)
    amazon_sandbox.create_orders(seller["selling_partner_id"], ORDERS, MarketplaceId=AU,
                                 items=[{"SellerSKU": "BENCH-1", "QuantityOrdered": 1}])
    return Integration.objects.create(
        tenant=tenant, customer=customer, marketplace="amazon", name="bench", status="active", marketplace_id=AU,
        account_id=seller["selling_partner_id"], refresh_token=seller["refresh_token"], default_warehouse=warehouse,
        orders_watermark=timezone.now() - dt.timedelta(hours=1))


@pytest.mark.django_db
def test_bench_import_and_confirm(integration):
    started = time.perf_counter()
    result = orders_import(integration=integration)
    import_seconds = time.perf_counter() - started
    assert len(result.created) == ORDERS

    orders = list(OutboundOrder.objects.all()[:200])
    started = time.perf_counter()
    for order in orders:
        outbound_order_dispatch(order=order, consignment=consignment_create(
            order=order, carrier="Australia Post", packages=[PackageSpec(f"AP{order.id}")]))
        assert confirmations_for_order(order_id=order.id) == ["confirmed"]
    confirm_seconds = time.perf_counter() - started
    print(f"\nimport: {ORDERS} orders in {import_seconds:.2f} s = {ORDERS / import_seconds:.0f} orders/s")
    print(f"dispatch+confirm: {len(orders)} in {confirm_seconds:.2f} s = {len(orders) / confirm_seconds:.0f} per s")
