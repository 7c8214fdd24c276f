"""Every import leaves an ImportRun a person (and the live progress view) can read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integrations.models import ImportRun, Integration
from integrations.services.orders import orders_import

from .conftest import AU, iso

pytestmark = pytest.mark.django_db


def test_a_poll_records_what_it_found_and_did(client, admin_user, amazon, amazon_seller, amazon_integration):
    sp = amazon_seller["selling_partner_id"]
    amazon.post(f"sellers/{sp}/orders", {"count": 3, "template": {
        "MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
    amazon.post(f"sellers/{sp}/orders", {"MarketplaceId": AU, "items": [{"SellerSKU": "NOPE-9", "QuantityOrdered": 1}]})

    orders_import(integration=amazon_integration)

    run = ImportRun.objects.get(integration=amazon_integration)
    assert run.kind == ImportRun.Kind.POLL and run.state == ImportRun.State.FINISHED
    assert (run.found, run.imported, run.failed, run.existing) == (4, 3, 1, 0)
    assert run.finished_at is not None and run.percent == 100
    client.force_login(admin_user)
    page = client.get(f"/integrations/{amazon_integration.id}/").content.decode()
    assert 'id="import-progress"' in page and '<dd data-count="imported">3</dd>' in page

    orders_import(integration=amazon_integration)
    again = ImportRun.objects.filter(integration=amazon_integration).first()
    assert again.pk != run.pk and again.imported == 0 and again.existing == 3


def test_an_explicit_list_is_a_missing_orders_run(amazon, amazon_seller, amazon_integration):
    order = amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders", {
        "MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]})
    orders_import(integration=amazon_integration, order_ids=[order["AmazonOrderId"]])
    run = ImportRun.objects.get()
    assert run.kind == ImportRun.Kind.MISSING_ORDERS and run.order_ids == [order["AmazonOrderId"]]
    assert run.imported == 1


def test_the_first_import_takes_every_open_order_of_the_last_30_days(amazon, amazon_seller, amazon_integration):
    """A new integration does not look back 3 days but 30: open orders placed 11 days ago arrive too."""
    sp = amazon_seller["selling_partner_id"]
    now = timezone.now()

    def placed(days: int, count: int, **fields) -> list[str]:
        at = iso(now - dt.timedelta(days=days))
        made = amazon.post(f"sellers/{sp}/orders", {"count": count, "template": {
            "MarketplaceId": AU, "PurchaseDate": at, "LastUpdateDate": at,
            "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}], **fields}})["orders"]
        return [o["AmazonOrderId"] for o in made]

    wanted = placed(11, 4) + placed(29, 1) + placed(2, 2)
    placed(40, 1)                                         # older than the lookback
    placed(5, 1, OrderStatus="Shipped")                   # not open
    Integration.objects.filter(pk=amazon_integration.pk).update(orders_watermark=None)
    amazon_integration.refresh_from_db()

    result = orders_import(integration=amazon_integration)

    assert sorted(result.created) == sorted(wanted)
    run = ImportRun.objects.get()
    assert run.kind == ImportRun.Kind.FIRST_CONNECT and run.imported == 7
    assert now - dt.timedelta(days=30, minutes=5) < run.since < now - dt.timedelta(days=29)
    amazon_integration.refresh_from_db()
    assert amazon_integration.orders_watermark > now - dt.timedelta(minutes=5)
    assert orders_import(integration=amazon_integration).created == []
    assert ImportRun.objects.first().kind == ImportRun.Kind.POLL


def test_a_notification_never_hides_the_first_import_on_the_progress_view(client, admin_user, amazon_integration):
    """Orders placed while the first import waits for quota arrive as notifications, one order a run: the page
    keeps showing the first import (the one the person is watching) while it runs and once it ended."""
    first = ImportRun.objects.create(integration=amazon_integration, kind=ImportRun.Kind.FIRST_CONNECT,
                                     state=ImportRun.State.WAITING, waiting_for_quota=48)
    ImportRun.objects.create(integration=amazon_integration, kind=ImportRun.Kind.PUSH, state=ImportRun.State.WAITING)
    client.force_login(admin_user)
    for state in (ImportRun.State.WAITING, ImportRun.State.FINISHED):
        ImportRun.objects.filter(pk=first.pk).update(state=state)
        for url in (f"/integrations/{amazon_integration.id}/", f"/integrations/{amazon_integration.id}/live/"):
            page = client.get(url).content.decode()
            assert f'data-run="{first.pk}"' in page and "First import after connecting" in page
