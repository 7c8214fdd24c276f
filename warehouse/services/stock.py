from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from ..errors import WarehouseError
from ..models import Customer, Product, StockLevel, Tenant, Warehouse

# Every path that locks stock rows locks them in this one order, so two requests that touch the same rows
# (a stocktake and an allocation) wait for each other instead of deadlocking.
STOCK_LOCK_ORDER = ("product_id", "warehouse_id")


@dataclass(frozen=True)
class StockCount:
    product: Product
    warehouse: Warehouse
    on_hand: int


@transaction.atomic
def stock_levels_set_on_hand(*, tenant: Tenant, counts: Sequence[StockCount]) -> list[StockLevel]:
    """Sets counted on-hand quantities (a stocktake). All or nothing: one bad count writes none."""
    seen: set[tuple[int, int]] = set()
    for i, count in enumerate(counts):
        if count.product.tenant_id != tenant.id or count.warehouse.tenant_id != tenant.id:
            raise WarehouseError(f"item {i}: product or warehouse not found", field=f"{i}")
        if count.on_hand < 0:
            raise WarehouseError(f"item {i}: on_hand cannot be negative", field=f"{i}.on_hand")
        key = (count.product.id, count.warehouse.id)
        if key in seen:
            raise WarehouseError(f"item {i}: {count.product.code} in {count.warehouse.code} is listed twice",
                                 field=f"{i}")
        seen.add(key)
    # The same rule as order creation: a customer's stock lives only in the warehouses it may use.
    allowed = set(Customer.warehouses.through.objects.filter(
        customer_id__in={c.product.customer_id for c in counts},
        warehouse_id__in={c.warehouse.id for c in counts}).values_list("customer_id", "warehouse_id"))
    for i, count in enumerate(counts):
        if (count.product.customer_id, count.warehouse.id) not in allowed:
            raise WarehouseError(f"The customer of {count.product.code} may not use warehouse "
                                 f"{count.warehouse.code}.", field=f"counts[{i}].warehouse")
    levels: list[StockLevel] = []
    for count in sorted(counts, key=lambda c: (c.product.id, c.warehouse.id)):   # STOCK_LOCK_ORDER
        level, _ = StockLevel.objects.select_for_update().get_or_create(
            product=count.product, warehouse=count.warehouse, defaults={"tenant": tenant})
        if count.on_hand < level.allocated:
            raise WarehouseError(
                f"{count.product.code} in {count.warehouse.code}: on hand {count.on_hand} is below the "
                f"{level.allocated} already allocated to orders", field="on_hand")
        level.on_hand = count.on_hand
        level.save(update_fields=["on_hand", "updated_at"])
        levels.append(level)
    return levels
