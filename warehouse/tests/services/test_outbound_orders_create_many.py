"""The batch form of order creation: the same checks and stock arithmetic as one at a time, with a fixed
number of statements whatever the count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, TenantFactory, WarehouseFactory
from warehouse.errors import WarehouseError
from warehouse.models import Address, OutboundOrder, StockLevel
from warehouse.services import AddressData, LineSpec, OrderSpec, outbound_orders_create_many

pytestmark = pytest.mark.django_db


def spec(warehouse, ref, *lines, address=True):
    return OrderSpec(warehouse=warehouse, reference=ref, lines=[LineSpec(product=p, quantity=q) for p, q in lines],
                     delivery_address=AddressData(city="Sydney", country="AU") if address else None, source="amazon")


def test_creates_allocates_in_turn_and_refuses_bad_ones_alone(tenant, customer, warehouse):
    mug = ProductFactory(customer=customer, code="MUG")
    StockLevelFactory(product=mug, warehouse=warehouse, on_hand=5)
    other_customer = CustomerFactory(tenant=tenant)
    foreign = ProductFactory(customer=other_customer, code="THEIRS")
    elsewhere = WarehouseFactory(tenant=tenant, code="NOPE")            # not one the customer may use

    outcomes = outbound_orders_create_many(tenant=tenant, customer=customer, allocate=True, specs=[
        spec(warehouse, "A", (mug, 3)), spec(warehouse, "B", (mug, 3)), spec(warehouse, "C", (mug, 2)),
        spec(warehouse, "D", (foreign, 1)), spec(elsewhere, "E", (mug, 1)), spec(warehouse, " ", (mug, 1))])

    by_ref = {o.spec.reference: o for o in outcomes}
    assert by_ref["A"].order.status == OutboundOrder.Status.AWAITING_PICK and not by_ref["A"].short
    assert by_ref["B"].order.status == OutboundOrder.Status.DRAFT            # 2 left: first come, first served
    assert "needs 3, 2 available" in by_ref["B"].short
    assert by_ref["C"].order.status == OutboundOrder.Status.AWAITING_PICK
    for ref in ("D", "E", " "):
        assert by_ref[ref].order is None and isinstance(by_ref[ref].error, WarehouseError)
    assert StockLevel.objects.get(product=mug, warehouse=warehouse).allocated == 5
    assert sorted(OutboundOrder.objects.values_list("reference", flat=True)) == ["A", "B", "C"]
    assert Address.objects.filter(tenant=tenant, customer=customer).count() == 3
    assert all(o.order.lines.count() == 1 for o in outcomes if o.order)


def test_statements_do_not_grow_with_the_number_of_orders(tenant, customer, warehouse):
    products = [ProductFactory(customer=customer, code=f"P{i}") for i in range(3)]
    for p in products:
        StockLevelFactory(product=p, warehouse=warehouse, on_hand=1000)

    def statements(n: int) -> int:
        specs = [spec(warehouse, f"R{n}-{i}", (products[i % 3], 1), (products[(i + 1) % 3], 2)) for i in range(n)]
        with CaptureQueriesContext(connection) as queries:
            outbound_orders_create_many(tenant=tenant, customer=customer, specs=specs, allocate=True)
        return len(queries)

    assert statements(50) == statements(5) <= 10


def test_another_tenants_customer_is_refused(tenant, customer, warehouse):
    other = TenantFactory()
    with pytest.raises(WarehouseError):
        outbound_orders_create_many(tenant=other, customer=customer, specs=[spec(warehouse, "X")])
    assert not OutboundOrder.objects.exists()
