"""Which warehouse a marketplace order goes to. One function, because its Amazon source changes when
the Orders v0 reads retire (the v2026 API carries no supply-source id; reference/sp-api.md §10)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from warehouse.models import Warehouse

from ..models import Integration, SupplySourceMapping
from ..providers.base import MarketplaceOrder


@dataclass(frozen=True)
class Route:
    warehouse: Warehouse | None
    reason: str                      # why, in words a person can act on


def order_route(*, integration: Integration, order: MarketplaceOrder,
                mappings: Mapping[str, SupplySourceMapping] | None = None) -> Route:
    """`mappings` (supply source id → mapping), when the caller read them once for many orders."""
    default = integration.default_warehouse
    if order.supply_source_id:
        if mappings is not None:
            mapping = mappings.get(order.supply_source_id)
        else:
            mapping = integration.supply_sources.select_related("warehouse").filter(
                supply_source_id=order.supply_source_id).first()
        if mapping is not None and mapping.warehouse is not None:
            return Route(mapping.warehouse, f"supply source {mapping.alias or mapping.code} is mapped to "
                                            f"{mapping.warehouse.code}")
        if default is not None:
            return Route(default, "default warehouse (its supply source has no warehouse of its own)")
        label = mapping.alias or mapping.code if mapping else order.supply_source_id
        return Route(None, f"its supply source {label} is not mapped to a warehouse and the integration has "
                           "no default warehouse; map the supply source in Order creation to import it")
    if default is not None:
        return Route(default, "default warehouse")
    return Route(None, "it has no supply source and the integration has no default warehouse; "
                       "set a default warehouse in Order creation to import such orders")
