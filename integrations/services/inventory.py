"""Stock levels to the marketplace: available (on hand − allocated) over the chosen warehouses,
only for SKUs whose quantity changed since the last accepted push."""

from __future__ import annotations

from django.utils import timezone

from warehouse.selectors import stock_available_by_code

from ..models import Integration, InventoryPush
from ..providers.base import PushResult, StockLevelUpdate
from .connection import connection_for, provider_for
from .log import DEBUG, ERROR, INFO, log_entry


def inventory_changes(*, integration: Integration) -> list[StockLevelUpdate]:
    warehouse_ids = list(integration.inventory_warehouses.values_list("id", flat=True))
    if not warehouse_ids and integration.default_warehouse_id:
        warehouse_ids = [integration.default_warehouse_id]
    available = stock_available_by_code(tenant=integration.tenant, customer=integration.customer,
                                        warehouse_ids=warehouse_ids)
    last = dict(integration.inventory.values_list("sku", "quantity"))
    return [StockLevelUpdate(sku=sku, quantity=qty) for sku, qty in sorted(available.items())
            if last.get(sku) != qty]


def inventory_push(*, integration: Integration) -> PushResult:
    changes = inventory_changes(integration=integration)
    Integration.objects.filter(pk=integration.pk).update(inventory_last_run_at=timezone.now())
    if not changes:
        log_entry(integration=integration, level=DEBUG, event="inventory.unchanged",
                  message="Stock levels checked: no quantity changed since the last push, nothing sent.")
        return PushResult()
    provider = provider_for(integration)
    result = provider.push_inventory(conn=connection_for(integration, provider), levels=changes)
    quantities = {c.sku: c.quantity for c in changes}
    for sku in result.accepted:
        InventoryPush.objects.update_or_create(integration=integration, sku=sku,
                                               defaults={"quantity": quantities[sku]})
    for sku, reason in result.rejected:
        log_entry(integration=integration, level=ERROR, event="inventory.rejected",
                  message=f"Stock level for SKU {sku} was not accepted: {reason}")
    log_entry(integration=integration, level=INFO, event="inventory.pushed",
              message=f"Stock levels sent for {len(result.accepted)} SKU(s)"
                      f"{f', {len(result.rejected)} rejected' if result.rejected else ''}"
                      f"{f' (feed {result.reference})' if result.reference else ''}.")
    return result
