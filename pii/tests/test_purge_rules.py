"""The purge rules at their boundaries. Days are counted by instant in UTC: `now` is fixed and passed in."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from pii.models import PurgeRun
from pii.services import Reason, pii_purge, pii_purge_tenant
from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, WarehouseFactory
from warehouse.models import Address, Consignment, OutboundOrder

from .conftest import BUYER, Orders

pytestmark = pytest.mark.django_db


def purged(order: OutboundOrder) -> bool:
    return Address.objects.get(pk=order.delivery_address_id).personal_data_purged_at is not None


def raw_personal(address_id: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_name, company_name, street_address, street_address_2, telephone, email, "
                       "latitude, longitude FROM warehouse_address WHERE id = %s", [address_id])
        return cursor.fetchone()


# --- sale orders ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("days", "cleared"), [
    (29, False),
    (dict(days=29, hours=23, minutes=59, seconds=59), False),
    (30, True),
    (40, True),
])
def test_dispatched_orders_clear_at_30_days_to_the_instant(orders, tenant, now, days, cleared):
    delta = days if isinstance(days, dict) else {"days": days}
    order = orders.dispatched(**{"days": 0})
    OutboundOrder.objects.filter(pk=order.pk).update(dispatched_at=orders.ago(**delta))

    counts = pii_purge_tenant(tenant=tenant, now=now)

    assert purged(order) is cleared
    assert counts.cleared == int(cleared)
    assert counts.kept == ({} if cleared else {Reason.DISPATCHED_RECENTLY: 1})


@pytest.mark.parametrize("how", ["reject", "cancel"])
@pytest.mark.parametrize(("days", "cleared"), [(6, False), (dict(days=6, hours=23, minutes=59), False), (7, True)])
def test_rejected_or_cancelled_orders_clear_7_days_after_last_change(orders, tenant, now, how, days, cleared):
    order = orders.closed(days=0, how=how)
    delta = days if isinstance(days, dict) else {"days": days}
    OutboundOrder.objects.filter(pk=order.pk).update(updated_at=orders.ago(**delta))
    # Rejecting cancels the consignments too; theirs change at the same moment.
    Consignment.objects.filter(order=order).update(updated_at=orders.ago(**delta))

    counts = pii_purge_tenant(tenant=tenant, now=now)

    assert purged(order) is cleared
    assert counts.kept == ({} if cleared else {Reason.CLOSED_RECENTLY: 1})


def test_open_orders_always_keep_the_address(orders, tenant, now):
    order = orders.open()
    Address.objects.filter(pk=order.delivery_address_id).update(updated_at=orders.ago(days=400))
    OutboundOrder.objects.filter(pk=order.pk).update(updated_at=orders.ago(days=400), created_at=orders.ago(days=400))

    counts = pii_purge_tenant(tenant=tenant, now=now)

    assert not purged(order)
    assert counts.kept == {Reason.OPEN_ORDER: 1} and counts.eligible == 0


def test_dispatched_40_days_ago_beside_an_open_order_keeps_the_address(orders, tenant, now):
    old = orders.dispatched(days=40)
    still_open = orders.open(address=old.delivery_address)
    assert still_open.delivery_address_id == old.delivery_address_id

    counts = pii_purge_tenant(tenant=tenant, now=now)

    assert not purged(old)
    assert counts.as_dict()["kept"] == {Reason.OPEN_ORDER: 1}
    assert raw_personal(old.delivery_address_id)[0] not in ("", BUYER["contact_name"])    # still there, encrypted


def test_dispatched_40_days_beside_one_rejected_3_days_ago_keeps(orders, tenant, now):
    old = orders.dispatched(days=40)
    rejected = orders.closed(days=3, address=old.delivery_address)
    assert pii_purge_tenant(tenant=tenant, now=now).kept == {Reason.CLOSED_RECENTLY: 1}
    assert not purged(old) and not purged(rejected)


# --- consignments --------------------------------------------------------------------------------

@pytest.mark.parametrize(("run_days", "cleared"), [(29, False), (30, True), (31, True)])
def test_delivery_run_date_clears_at_30_days(orders, tenant, now, run_days, cleared):
    # `now` is noon UTC: the run date 30 days back counts as 00:00 UTC that day, 30.5 days ago.
    order = orders.dispatched(days=40, run_days=run_days)

    counts = pii_purge_tenant(tenant=tenant, now=now)

    assert purged(order) is cleared
    assert counts.kept == ({} if cleared else {Reason.CONSIGNMENT_RECENTLY: 1})


def test_run_date_is_a_utc_day(orders, tenant, now):
    # 00:30 UTC: the run date 30 days back began 30 days and 30 minutes ago, 31 days back is older still;
    # the day 29 days back began 29 days 30 minutes ago: not yet.
    early = now.replace(hour=0, minute=30)
    order = orders.dispatched(days=40)
    Consignment.objects.filter(order=order).update(delivery_run_date=(early - dt.timedelta(days=29)).date())
    assert pii_purge_tenant(tenant=tenant, now=early).cleared == 0
    Consignment.objects.filter(order=order).update(delivery_run_date=(early - dt.timedelta(days=30)).date())
    assert pii_purge_tenant(tenant=tenant, now=early).cleared == 1


def test_without_a_run_date_the_dispatch_counts(orders, tenant, now):
    order = orders.dispatched(days=31)
    assert Consignment.objects.get(order=order).delivery_run_date is None
    assert pii_purge_tenant(tenant=tenant, now=now).cleared == 1
    assert purged(order)


def test_dispatched_long_ago_but_delivery_run_recent_keeps(orders, tenant, now):
    order = orders.dispatched(days=45, run_days=10)
    assert pii_purge_tenant(tenant=tenant, now=now).kept == {Reason.CONSIGNMENT_RECENTLY: 1}
    assert not purged(order)


def _second_consignment(order, *, status, run_date=None, updated_at):
    c = Consignment.objects.create(tenant=order.tenant, order=order, carrier="Courier", status=status,
                                   delivery_run_date=run_date)
    Consignment.objects.filter(pk=c.pk).update(updated_at=updated_at)
    return c


def test_cancelled_consignment_8_days_old_beside_delivered_31_days_clears(orders, tenant, now):
    order = orders.dispatched(days=35, run_days=31)
    Consignment.objects.filter(order=order).update(status=Consignment.Status.DELIVERED)
    _second_consignment(order, status=Consignment.Status.CANCELLED, updated_at=orders.ago(days=8))

    counts = pii_purge_tenant(tenant=tenant, now=now)

    assert counts.cleared == 1 and counts.kept == {}
    assert purged(order)


@pytest.mark.parametrize(("days", "cleared"), [(6, False), (7, True)])
def test_cancelled_consignment_clears_7_days_after_last_change(orders, tenant, now, days, cleared):
    order = orders.dispatched(days=35, run_days=31)
    _second_consignment(order, status=Consignment.Status.CANCELLED, updated_at=orders.ago(days=days))
    assert purged(order) is False
    pii_purge_tenant(tenant=tenant, now=now)
    assert purged(order) is cleared


# --- only Amazon ---------------------------------------------------------------------------------

def test_etsy_and_manual_addresses_are_untouched(orders, tenant, now):
    etsy = orders.dispatched(days=400, source="etsy")
    manual = orders.dispatched(days=400, source="manual")
    amazon = orders.dispatched(days=400)

    counts = pii_purge_tenant(tenant=tenant, now=now)

    assert counts.eligible == 1 and counts.cleared == 1
    assert purged(amazon)
    for order in (etsy, manual):
        address = Address.objects.get(pk=order.delivery_address_id)
        assert address.personal_data_purged_at is None and address.is_active and not address.hidden_from_search
        assert (address.contact_name, address.street_address, address.telephone) == (
            BUYER["contact_name"], BUYER["street_address"], BUYER["telephone"])


def test_an_amazon_address_no_order_uses_clears_30_days_after_its_last_change(tenant, customer, now):
    fresh = Address.objects.create(tenant=tenant, customer=customer, source="amazon", contact_name="A B")
    stale = Address.objects.create(tenant=tenant, customer=customer, source="amazon", contact_name="C D")
    Address.objects.filter(pk=stale.pk).update(updated_at=now - dt.timedelta(days=30))
    counts = pii_purge_tenant(tenant=tenant, now=now)
    assert counts.cleared == 1 and counts.kept == {Reason.NO_ORDER_RECENTLY: 1}
    assert Address.objects.get(pk=stale.pk).personal_data_purged_at == now
    assert Address.objects.get(pk=fresh.pk).contact_name == "A B"


# --- what cleared means ----------------------------------------------------------------------------

def test_cleared_means_empty_inactive_hidden_and_dated(orders, tenant, now):
    order = orders.dispatched(days=31)
    address_id = order.delivery_address_id
    assert all(v not in (None, "") for v in raw_personal(address_id))       # encrypted, but there

    pii_purge_tenant(tenant=tenant, now=now)

    assert raw_personal(address_id) == ("", "", "", "", "", "", None, None)
    address = Address.objects.get(pk=address_id)
    assert (address.is_active, address.hidden_from_search, address.personal_data_purged_at) == (False, True, now)
    assert (address.city, address.postcode, address.country) == ("Newtown", "2042", "AU")      # plain fields stay


def test_nothing_can_restore_a_purged_address(orders, tenant, now):
    order = orders.dispatched(days=31)
    pii_purge_tenant(tenant=tenant, now=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.filter(pk=order.delivery_address_id).update(contact_name="Zebedee Quillfeather")
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.filter(pk=order.delivery_address_id).update(latitude=1)


def test_a_second_run_clears_nothing_twice(orders, tenant, now):
    orders.dispatched(days=31)
    first = pii_purge_tenant(tenant=tenant, now=now)
    second = pii_purge_tenant(tenant=tenant, now=now + dt.timedelta(days=1))
    assert (first.eligible, first.cleared) == (1, 1)
    assert (second.eligible, second.cleared, dict(second.kept)) == (0, 0, {})
    assert Address.objects.get().personal_data_purged_at == now


def test_dry_run_counts_and_changes_nothing(orders, tenant, now):
    cleared = orders.dispatched(days=31)
    orders.open()
    counts = pii_purge_tenant(tenant=tenant, now=now, dry_run=True)
    assert counts.as_dict() == {"tenant": tenant.slug, "dry_run": True, "eligible": 1, "cleared": 0,
                                "kept": {Reason.OPEN_ORDER: 1}}
    assert not purged(cleared)
    assert Address.objects.filter(personal_data_purged_at__isnull=False).count() == 0


def test_each_run_is_recorded_per_tenant_with_counts_only(orders, tenant, other_tenant, now):
    orders.dispatched(days=31)
    orders.dispatched(days=3)
    results = pii_purge(now=now)
    assert {c.tenant for c in results} == {tenant.slug, other_tenant.slug}
    runs = {run.tenant_id: run for run in PurgeRun.objects.all()}
    assert len({run.run_id for run in runs.values()}) == 1
    mine = runs[tenant.id]
    assert (mine.dry_run, mine.eligible, mine.cleared, mine.kept) == (False, 1, 1, {Reason.DISPATCHED_RECENTLY: 1})
    assert mine.started_at <= mine.finished_at
    theirs = runs[other_tenant.id]
    assert (theirs.eligible, theirs.cleared, theirs.kept) == (0, 0, {})


def test_a_tenant_purge_never_touches_another_tenant(orders, tenant, other_tenant, now):
    other_customer = CustomerFactory(tenant=other_tenant)
    other_wh = WarehouseFactory(tenant=other_tenant)
    other_customer.warehouses.add(other_wh)
    product = ProductFactory(customer=other_customer)
    StockLevelFactory(product=product, warehouse=other_wh, on_hand=10)
    theirs = Orders(other_customer, other_wh, product, now).dispatched(days=100)
    mine = orders.dispatched(days=100)

    counts = pii_purge_tenant(tenant=tenant, now=now)

    assert counts.cleared == 1 and purged(mine) and not purged(theirs)


# --- set-based, in batches --------------------------------------------------------------------------

def test_a_few_statements_per_batch_whatever_the_number_of_addresses(orders, tenant, customer, warehouse, now):
    # 1,200 eligible addresses made in four statements, as the benchmark does at scale.
    template = orders.dispatched(days=40)
    n = 1200
    addresses = Address.objects.bulk_create(
        Address(tenant=tenant, customer=customer, source="amazon", contact_name=f"Buyer {i}",
                street_address=f"{i} Long Rd", city="Sydney", postcode="2000", country="AU") for i in range(n))
    made = OutboundOrder.objects.bulk_create(
        OutboundOrder(tenant=tenant, customer=customer, warehouse=warehouse, reference=f"BULK-{i}", source="amazon",
                      delivery_address=a, status="dispatched", dispatched_at=orders.ago(days=40))
        for i, a in enumerate(addresses))
    Consignment.objects.bulk_create(Consignment(tenant=tenant, order=o, carrier="AusPost", status="dispatched")
                                    for o in made)
    batch = 500
    with CaptureQueriesContext(connection) as queries:
        counts = pii_purge_tenant(tenant=tenant, now=now, batch_size=batch)

    assert counts.cleared == n + 1 == counts.eligible
    batches = math.ceil((n + 1) / batch)
    # Per batch: no JIT, lock-and-read ids, the batch's order ids, one UPDATE, count the rest by reason if any is left (plus the
    # savepoint pair); then the empty last read and the run's record.
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= 5 * batches + 3
    assert sum(s.upper().startswith("UPDATE") for s in statements) == batches
    assert sum(s.rstrip().endswith("FOR UPDATE") for s in statements) == batches + 1     # each batch locked
    assert not Address.objects.filter(source="amazon", personal_data_purged_at__isnull=True).exists()
    assert template.delivery_address_id in set(Address.objects.filter(personal_data_purged_at=now).values_list("pk", flat=True))
