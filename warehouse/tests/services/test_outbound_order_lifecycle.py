import pytest
from django.db import connection

from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, WarehouseFactory, make_order
from warehouse.errors import InsufficientStock, InvalidTransition, WarehouseError
from warehouse.events import outbound_order_dispatched
from warehouse.models import Consignment, OutboundOrder, StockLevel
from warehouse.services import (
    PackageSpec,
    consignment_add_tracking,
    consignment_create,
    outbound_order_allocate,
    outbound_order_cancel,
    outbound_order_dispatch,
    outbound_order_mark_packed,
    outbound_order_mark_picked,
    outbound_order_reject,
)


@pytest.fixture
def stocked(customer, warehouse):
    mug = ProductFactory(customer=customer, code="MUG")
    tee = ProductFactory(customer=customer, code="TEE")
    StockLevelFactory(product=mug, warehouse=warehouse, on_hand=10)
    StockLevelFactory(product=tee, warehouse=warehouse, on_hand=5)
    return mug, tee


def level(product, warehouse):
    return StockLevel.objects.get(product=product, warehouse=warehouse)


def test_uses_postgresql():
    assert connection.vendor == "postgresql"


def test_full_lifecycle_moves_stock(customer, warehouse, stocked, django_capture_on_commit_callbacks):
    mug, tee = stocked
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 3), (tee, 2)])
    assert order.status == OutboundOrder.Status.DRAFT
    assert level(mug, warehouse).allocated == 0

    order = outbound_order_allocate(order=order)
    assert order.status == "awaiting_pick"
    assert (level(mug, warehouse).on_hand, level(mug, warehouse).allocated) == (10, 3)
    assert level(tee, warehouse).available == 3

    outbound_order_mark_picked(order=order)
    outbound_order_mark_packed(order=order)
    consignment = consignment_create(order=order, carrier="Australia Post", packages=[PackageSpec("AP123")])
    received = []
    outbound_order_dispatched.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order = outbound_order_dispatch(order=order)
    finally:
        outbound_order_dispatched.disconnect(dispatch_uid="t1")
    assert order.status == "dispatched" and order.dispatched_at is not None
    assert (level(mug, warehouse).on_hand, level(mug, warehouse).allocated) == (7, 0)
    assert (level(tee, warehouse).on_hand, level(tee, warehouse).allocated) == (3, 0)
    consignment.refresh_from_db()
    assert consignment.status == Consignment.Status.DISPATCHED
    assert [p.tracking_number for p in consignment.packages.all()] == ["AP123"]
    assert received == [{"signal": outbound_order_dispatched, "sender": "warehouse",
                         "tenant_id": order.tenant_id, "order_id": order.id}]


def test_allocation_refused_when_stock_short_changes_nothing(customer, warehouse, stocked):
    mug, tee = stocked
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 3), (tee, 6)])
    with pytest.raises(InsufficientStock, match="TEE \\(needs 6, 5 available\\)"):
        outbound_order_allocate(order=order)
    order.refresh_from_db()
    assert order.status == "draft"
    assert level(mug, warehouse).allocated == 0


@pytest.mark.parametrize("action", ["reject", "cancel"])
def test_closing_releases_allocation(customer, warehouse, stocked, action):
    mug, _ = stocked
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 4)], allocate=True)
    assert level(mug, warehouse).allocated == 4
    close = outbound_order_reject if action == "reject" else outbound_order_cancel
    order = close(order=order, reason="customer asked")
    assert order.status == ("rejected" if action == "reject" else "cancelled")
    assert level(mug, warehouse).allocated == 0
    assert level(mug, warehouse).on_hand == 10


def test_refused_transitions(customer, warehouse, stocked):
    mug, _ = stocked
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 1)])
    with pytest.raises(InvalidTransition, match="cannot be dispatched"):
        outbound_order_dispatch(order=order)
    with pytest.raises(InvalidTransition):
        outbound_order_mark_picked(order=order)
    order = outbound_order_cancel(order=order)
    with pytest.raises(InvalidTransition, match="is cancelled; it cannot be allocated"):
        outbound_order_allocate(order=order)
    with pytest.raises(InvalidTransition):
        outbound_order_cancel(order=order)


def test_dispatch_needs_consignment(customer, warehouse, stocked):
    mug, _ = stocked
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 1)], allocate=True)
    with pytest.raises(WarehouseError, match="needs a consignment"):
        outbound_order_dispatch(order=order)
    assert level(mug, warehouse).on_hand == 10


def test_multi_package_consignment_must_hold_every_line(customer, warehouse, stocked):
    mug, tee = stocked
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 2), (tee, 1)], allocate=True)
    mug_line, tee_line = order.lines.all()
    with pytest.raises(WarehouseError, match="the packages hold 1 but the order has 2"):
        consignment_create(order=order, carrier="DHL", packages=[
            PackageSpec("T1", [(mug_line, 1)]), PackageSpec("T2", [(tee_line, 1)])])
    assert not Consignment.objects.exists()
    consignment = consignment_create(order=order, carrier="DHL", packages=[
        PackageSpec("T1", [(mug_line, 1)]), PackageSpec("T2", [(mug_line, 1), (tee_line, 1)]),
        ])
    assert consignment.packages.count() == 2


def test_tracking_added_later_publishes_for_dispatched_order(customer, warehouse, stocked,
                                                              django_capture_on_commit_callbacks):
    mug, _ = stocked
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 1)], allocate=True)
    consignment = consignment_create(order=order, carrier="DHL", packages=[PackageSpec("")])
    outbound_order_dispatch(order=order)
    package = consignment.packages.get()
    received = []
    outbound_order_dispatched.connect(lambda **kw: received.append(kw["order_id"]), weak=False, dispatch_uid="t2")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            consignment_add_tracking(consignment=consignment, tracking={package.id: "TRK1"})
    finally:
        outbound_order_dispatched.disconnect(dispatch_uid="t2")
    assert received == [order.id]
    with pytest.raises(WarehouseError, match="already has tracking number TRK1"):
        consignment_add_tracking(consignment=consignment, tracking={package.id: "OTHER"})


def test_order_refuses_foreign_warehouse_and_product(customer, warehouse, stocked):
    mug, _ = stocked
    other_wh = WarehouseFactory(tenant=customer.tenant)
    with pytest.raises(WarehouseError, match="may not use warehouse"):
        make_order(customer=customer, warehouse=other_wh, products_qty=[(mug, 1)])
    stranger = ProductFactory(customer=CustomerFactory(tenant=customer.tenant))
    with pytest.raises(WarehouseError, match="does not belong"):
        make_order(customer=customer, warehouse=warehouse, products_qty=[(stranger, 1)])
    assert not OutboundOrder.objects.exists()
