"""factory_boy factories for the warehouse domain, shared by every app's tests."""

import factory
from factory.django import DjangoModelFactory

from warehouse import models
from warehouse.services import LineSpec, outbound_order_create


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = models.Tenant

    name = factory.Sequence(lambda n: f"3PL {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = models.User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    tenant = factory.SubFactory(TenantFactory)
    role = "tenant_admin"
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = models.Customer

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"CUST{n}")
    name = factory.Sequence(lambda n: f"Brand {n}")


class WarehouseFactory(DjangoModelFactory):
    class Meta:
        model = models.Warehouse

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    timezone = "Australia/Sydney"
    country = "AU"


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = models.Product

    customer = factory.SubFactory(CustomerFactory)
    tenant = factory.LazyAttribute(lambda o: o.customer.tenant)
    code = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")


class StockLevelFactory(DjangoModelFactory):
    class Meta:
        model = models.StockLevel

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    tenant = factory.LazyAttribute(lambda o: o.product.tenant)
    on_hand = 10
    allocated = 0


def make_order(*, customer, warehouse, products_qty, reference=None, allocate=False, **kwargs):
    """An order through the real service: [(product, qty), ...]."""
    reference = reference or f"SO-{models.OutboundOrder.objects.count() + 1:05d}"
    return outbound_order_create(
        tenant=customer.tenant, customer=customer, warehouse=warehouse, reference=reference,
        lines=[LineSpec(product=p, quantity=q) for p, q in products_qty], allocate=allocate, **kwargs)
