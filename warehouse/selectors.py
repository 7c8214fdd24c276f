"""Tenant-scoped reads. Every view and API fetches through these, never through a bare `.objects`.

`customer` narrows a tenant to one customer: it is set for customer users and left None for admins
and tenant API keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet, Sum

from .errors import NotFound
from .models import (
    Consignment,
    Customer,
    OutboundOrder,
    Product,
    StockLevel,
    Tenant,
    User,
    Warehouse,
)


@dataclass(frozen=True)
class Scope:
    """What a caller may see: a tenant, and within it possibly a single customer."""

    tenant: Tenant
    customer: Customer | None = None

    @classmethod
    def for_user(cls, user: User) -> "Scope":
        if user.tenant_id is None:
            raise NotFound("This login belongs to no warehouse operator.")
        return cls(tenant=user.tenant, customer=user.customer if user.is_customer_user else None)


def customer_list(*, scope: Scope) -> QuerySet[Customer]:
    qs = Customer.objects.filter(tenant=scope.tenant)
    if scope.customer is not None:
        qs = qs.filter(pk=scope.customer.pk)
    return qs.order_by("name")


def customer_list_with_active_integrations(*, scope: Scope) -> QuerySet[Customer]:
    """customer_list, each customer annotated with `active_integrations`: how many of its marketplace
    integrations are live. One aggregate in the same query. The integrations app owns that model; it is
    reached by its reverse relation's name so the warehouse imports nothing from it."""
    return customer_list(scope=scope).annotate(
        active_integrations=Count("integrations", filter=Q(integrations__status="active")))


def customer_get(*, scope: Scope, customer_id: int) -> Customer:
    customer = customer_list(scope=scope).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("Customer not found.")
    return customer


def warehouse_list(*, scope: Scope) -> QuerySet[Warehouse]:
    qs = Warehouse.objects.filter(tenant=scope.tenant)
    if scope.customer is not None:
        qs = qs.filter(customers=scope.customer)
    return qs.order_by("code")


def warehouse_get(*, scope: Scope, warehouse_id: int) -> Warehouse:
    warehouse = warehouse_list(scope=scope).filter(pk=warehouse_id).first()
    if warehouse is None:
        raise NotFound("Warehouse not found.")
    return warehouse


def product_list(*, scope: Scope, customer: Customer | None = None,
                 code: str | None = None) -> QuerySet[Product]:
    qs = Product.objects.filter(tenant=scope.tenant).select_related("customer").prefetch_related("alternative_codes")
    if scope.customer is not None:
        qs = qs.filter(customer=scope.customer)
    if customer is not None:
        qs = qs.filter(customer=customer)
    if code:
        qs = qs.filter(code=code)
    return qs.order_by("customer_id", "code")


def product_get(*, scope: Scope, product_id: int) -> Product:
    product = product_list(scope=scope).filter(pk=product_id).first()
    if product is None:
        raise NotFound("Product not found.")
    return product


def product_get_by_code(*, scope: Scope, customer: Customer, code: str) -> Product:
    """A customer's product by its code (the SKU); codes are unique per customer, not per tenant."""
    product = product_list(scope=scope, customer=customer).filter(code=code).first()
    if product is None:
        raise NotFound(f"{customer.name} has no product with code {code}.")
    return product


def stock_level_list(*, scope: Scope, warehouse: Warehouse | None = None,
                     customer: Customer | None = None, product_code: str | None = None) -> QuerySet[StockLevel]:
    qs = (StockLevel.objects.filter(tenant=scope.tenant)
          .select_related("product", "warehouse", "product__customer")
          .annotate(available_qty=F("on_hand") - F("allocated")))
    if scope.customer is not None:
        qs = qs.filter(product__customer=scope.customer)
    if warehouse is not None:
        qs = qs.filter(warehouse=warehouse)
    if customer is not None:
        qs = qs.filter(product__customer=customer)
    if product_code:
        qs = qs.filter(product__code=product_code)
    return qs.order_by("product__code", "warehouse__code")


def stock_available_by_code(*, tenant: Tenant, customer: Customer, warehouse_ids: list[int]) -> dict[str, int]:
    """Available (on hand − allocated) per product code, summed over the given warehouses."""
    rows = (StockLevel.objects.filter(tenant=tenant, product__customer=customer, warehouse_id__in=warehouse_ids)
            .values("product__code").annotate(on_hand=Sum("on_hand"), allocated=Sum("allocated")))
    result = {code: 0 for code in Product.objects.filter(customer=customer).values_list("code", flat=True)}
    for row in rows:
        result[row["product__code"]] = max(0, row["on_hand"] - row["allocated"])
    return result


def outbound_order_list(
    *,
    scope: Scope,
    status: str | None = None,
    customer: Customer | None = None,
    warehouse: Warehouse | None = None,
    modified_since: dt.datetime | None = None,
    search: str | None = None,
    source: str | None = None,
) -> QuerySet[OutboundOrder]:
    qs = OutboundOrder.objects.filter(tenant=scope.tenant).select_related("customer", "warehouse")
    if scope.customer is not None:
        qs = qs.filter(customer=scope.customer)
    if status:
        qs = qs.filter(status=status)
    if customer is not None:
        qs = qs.filter(customer=customer)
    if warehouse is not None:
        qs = qs.filter(warehouse=warehouse)
    if modified_since is not None:
        qs = qs.filter(updated_at__gte=modified_since)
    if search:
        qs = qs.filter(reference__icontains=search.strip())
    if source:
        qs = qs.filter(source=source)
    return qs


def outbound_order_sources(*, scope: Scope) -> list[str]:
    """Where the scope's orders came from (manual, api, a marketplace key), for the list's filter."""
    qs = outbound_order_list(scope=scope).order_by().values_list("source", flat=True).distinct()
    return sorted(qs)


def outbound_order_get(*, scope: Scope, order_id: int) -> OutboundOrder:
    order = (outbound_order_list(scope=scope).select_related("delivery_address")
             .prefetch_related("lines__product", "consignments__packages__lines__order_line__product")
             .filter(pk=order_id).first())
    if order is None:
        raise NotFound("Order not found.")
    return order


def consignment_list(*, scope: Scope, order: OutboundOrder | None = None) -> QuerySet[Consignment]:
    qs = (Consignment.objects.filter(tenant=scope.tenant).select_related("order", "order__customer",
                                                                          "order__warehouse")
          .prefetch_related("packages__lines"))
    if scope.customer is not None:
        qs = qs.filter(order__customer=scope.customer)
    if order is not None:
        qs = qs.filter(order=order)
    return qs


def consignment_get(*, scope: Scope, consignment_id: int) -> Consignment:
    consignment = consignment_list(scope=scope).filter(pk=consignment_id).first()
    if consignment is None:
        raise NotFound("Consignment not found.")
    return consignment


def outbound_orders_per_source_chart(*, scope: Scope, days: int = 30):
    """New outbound orders per day over the last `days` days, one stacked colour per source (a
    marketplace key, manual or api)."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from .charts import BarChart, Series, day_label, day_values, last_days

    span = last_days(days, today=timezone.localdate())
    since = timezone.make_aware(dt.datetime.combine(span[0], dt.time.min))
    rows = (outbound_order_list(scope=scope).filter(created_at__gte=since).order_by()
            .annotate(day=TruncDate("created_at")).values("source", "day").annotate(n=Count("id")))
    per_source: dict[str, dict[dt.date, int]] = {}
    for row in rows:
        per_source.setdefault(row["source"], {})[row["day"]] = row["n"]
    series = [Series(source.replace("_", " ").capitalize(), day_values(counts, span), f"series-{n % 4}")
              for n, (source, counts) in enumerate(sorted(per_source.items()))]
    return BarChart(slug="orders-per-source", title=f"Outbound orders per marketplace per day, last {days} days",
                    categories=[day_label(d) for d in span], series=series or [Series("Orders", [0] * days)],
                    stacked=True, x_label_every=7)
