"""Stock levels to the marketplace: available (on hand − allocated) over the chosen warehouses,
only for SKUs whose quantity changed since the last accepted push.

A SKU the marketplace refused (usually: it has no listing for it) is remembered with the reason and
listed on the integration page; it is not sent again on every run, only when its quantity changes,
once a day, or on "Export stock now" (which sends every level at once)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from warehouse.selectors import stock_available_by_code

from ..models import ConnectionLogEntry, Integration, InventoryPush, InventoryRefusal
from ..providers.base import PushResult, StockLevelUpdate
from ..text import one_full_stop
from .connection import connection_for, provider_for
from .log import DEBUG, ERROR, INFO, log_entries, log_entry

RETRY_REFUSED_AFTER = dt.timedelta(days=1)
BOOKKEEPING_BATCH = 2000


def _available(integration: Integration) -> dict[str, int]:
    warehouse_ids = list(integration.inventory_warehouses.values_list("id", flat=True))
    if not warehouse_ids and integration.default_warehouse_id:
        warehouse_ids = [integration.default_warehouse_id]
    return stock_available_by_code(tenant=integration.tenant, customer=integration.customer,
                                   warehouse_ids=warehouse_ids)


def inventory_changes(*, integration: Integration, everything: bool = False) -> list[StockLevelUpdate]:
    available = _available(integration)
    if everything:
        return [StockLevelUpdate(sku=sku, quantity=qty) for sku, qty in sorted(available.items())]
    last = dict(integration.inventory.values_list("sku", "quantity"))
    recent = timezone.now() - RETRY_REFUSED_AFTER
    refused = {r.sku: r for r in integration.inventory_refusals.all()}

    def due(sku: str, qty: int) -> bool:
        if last.get(sku) == qty:
            return False
        refusal = refused.get(sku)
        # Refused with this very quantity lately: sending it again would only be refused again.
        return refusal is None or refusal.quantity != qty or refusal.last_tried_at < recent

    return [StockLevelUpdate(sku=sku, quantity=qty) for sku, qty in sorted(available.items()) if due(sku, qty)]


def inventory_push(*, integration: Integration, everything: bool = False) -> PushResult:
    changes = inventory_changes(integration=integration, everything=everything)
    now = timezone.now()
    Integration.objects.filter(pk=integration.pk).update(inventory_last_run_at=now)
    if not changes:
        log_entry(integration=integration, level=DEBUG, event="inventory.unchanged",
                  message="Stock levels checked: no quantity changed since the last push, nothing sent.")
        return PushResult()
    provider = provider_for(integration)
    conn = connection_for(integration, provider)
    if integration.marketplace == Integration.Marketplace.ETSY:
        conn = type(conn)(**{**conn.__dict__, "options": {**conn.options,
                                                            "inactive_listings": list(integration.inactive_listings)}})
    result = provider.push_inventory(conn=conn, levels=changes)
    quantities = {c.sku: c.quantity for c in changes}
    # Bookkeeping for 10,000 SKUs is a few statements (upserts), not two queries per SKU.
    InventoryPush.objects.bulk_create(
        [InventoryPush(integration=integration, sku=sku, quantity=quantities[sku])
         for sku in dict.fromkeys(result.accepted)],
        update_conflicts=True, unique_fields=["integration", "sku"], update_fields=["quantity", "pushed_at"],
        batch_size=BOOKKEEPING_BATCH)
    if result.accepted:
        InventoryRefusal.objects.filter(integration=integration, sku__in=result.accepted).delete()
    known = {r.sku: r for r in integration.inventory_refusals.filter(sku__in=[s for s, _ in result.rejected])}
    InventoryRefusal.objects.bulk_create(
        [InventoryRefusal(integration=integration, sku=sku, quantity=quantities.get(sku, 0), reason=reason[:500],
                          last_tried_at=now) for sku, reason in dict(result.rejected).items()],
        update_conflicts=True, unique_fields=["integration", "sku"],
        update_fields=["quantity", "reason", "last_tried_at"], batch_size=BOOKKEEPING_BATCH)
    # Said once: the SKU is listed on the integration page until the marketplace takes it.
    log_entries([ConnectionLogEntry(
        integration=integration, level=ERROR, event="inventory.rejected",
        message=one_full_stop(f"Stock level for SKU {sku} was not accepted: {reason} It is not sent again on every "
                              "run; it is listed on the integration page.")[:1000])
        for sku, reason in dict(result.rejected).items() if sku not in known or known[sku].reason != reason[:500]])
    _listing_states(integration, result)
    log_entry(integration=integration, level=INFO, event="inventory.pushed",
              message=f"Stock levels sent for {len(result.accepted)} SKU(s)"
                      f"{f', {len(result.rejected)} refused' if result.rejected else ''}"
                      f"{f' (feed {result.reference})' if result.reference else ''}.")
    return result


def _listing_states(integration: Integration, result: PushResult) -> None:
    if not (result.deactivated or result.reactivated):
        return
    inactive = [i for i in integration.inactive_listings if i not in result.reactivated]
    inactive += [i for i in result.deactivated if i not in inactive]
    Integration.objects.filter(pk=integration.pk).update(inactive_listings=inactive)
    integration.inactive_listings = inactive
    for listing_id in result.deactivated:
        log_entry(integration=integration, level=INFO, event="inventory.listing_deactivated",
                  message=f"Listing {listing_id} turned inactive: the warehouse has none of its stock, and the "
                          "marketplace does not take a listing with nothing to offer. It is turned active again "
                          "when stock returns.")
    for listing_id in result.reactivated:
        log_entry(integration=integration, level=INFO, event="inventory.listing_reactivated",
                  message=f"Listing {listing_id} turned active again: stock has returned.")


def inventory_export_now(*, integration: Integration) -> PushResult:
    """"Export stock now": every current level at once, refused SKUs included; the outcome is kept
    for the integration page."""
    result = inventory_push(integration=integration, everything=True)
    summary = {"at": timezone.now().isoformat(), "accepted": list(result.accepted),
               "refused": [[sku, reason] for sku, reason in result.rejected]}
    Integration.objects.filter(pk=integration.pk).update(inventory_last_export=summary)
    return result
