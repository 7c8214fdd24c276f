"""Orders on Amazon (and other) addresses, moved back in time with plain updates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

# The Amazon sandbox fixtures, for the end-to-end test that nothing is left after a purge.
from integrations.tests.conftest import (  # noqa: F401
    amazon,
    amazon_integration,
    amazon_seller,
    eager_tasks,
    products,
    second_warehouse,
)
from tests.factories import ProductFactory, StockLevelFactory
from warehouse.models import Address, Consignment, OutboundOrder
from tests.factories import make_order as _make_order
from warehouse.services import (
    AddressData,
    PackageSpec,
    consignment_create,
    outbound_order_cancel,
    outbound_order_dispatch,
    outbound_order_reject,
)

BUYER = dict(contact_name="Zebedee Quillfeather", company_name="Quill & Sons", street_address="77 Wombat Crescent",
             street_address_2="Unit 4", telephone="+61 400 123 987", email="zebedee@buyer.example",
             latitude=-33.868800, longitude=151.209300, city="Newtown", state="NSW", postcode="2042", country="AU")


@pytest.fixture
def now():
    # A fixed instant, at noon UTC so that day arithmetic and UTC dates never straddle midnight by accident.
    return timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture
def product(customer, warehouse):
    product = ProductFactory(customer=customer, code="MUG")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=10_000)
    return product


class Orders:
    """Builds orders through the warehouse services, then sets their clocks back."""

    def __init__(self, customer, warehouse, product, now):
        self.customer, self.warehouse, self.product, self.now = customer, warehouse, product, now

    def ago(self, **kw) -> dt.datetime:
        return self.now - dt.timedelta(**kw)

    def open(self, *, source="amazon", address: Address | None = None, **buyer) -> OutboundOrder:
        order = _make_order(customer=self.customer, warehouse=self.warehouse, products_qty=[(self.product, 1)],
                            allocate=True, source=source,
                            delivery_address=AddressData(**{**BUYER, **buyer, "source": source}))
        if address is not None:           # another order for an existing address
            own = order.delivery_address_id
            OutboundOrder.objects.filter(pk=order.pk).update(delivery_address=address)
            Address.objects.filter(pk=own).delete()
            order.refresh_from_db()
        return order

    def dispatched(self, *, days: float, run_days: float | None = None, **kw) -> OutboundOrder:
        order = self.open(**kw)
        run_date = self.ago(days=run_days).date() if run_days is not None else None
        consignment = consignment_create(order=order, carrier="AusPost", delivery_run_date=run_date,
                                         packages=[PackageSpec(tracking_number=f"T{order.pk}")])
        outbound_order_dispatch(order=order, consignment=consignment, dispatched_at=self.ago(days=days))
        Consignment.objects.filter(pk=consignment.pk).update(updated_at=self.ago(days=days))
        OutboundOrder.objects.filter(pk=order.pk).update(updated_at=self.ago(days=days))
        return order

    def closed(self, *, days: float, how: str = "reject", **kw) -> OutboundOrder:
        order = self.open(**kw)
        (outbound_order_reject if how == "reject" else outbound_order_cancel)(order=order, reason="test")
        OutboundOrder.objects.filter(pk=order.pk).update(updated_at=self.ago(days=days))
        return order


@pytest.fixture
def orders(customer, warehouse, product, now):
    return Orders(customer, warehouse, product, now)
