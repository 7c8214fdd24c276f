from .api_keys import api_key_authenticate, api_key_create, api_key_revoke
from .orders import (
    AddressData,
    LineSpec,
    OrderOutcome,
    OrderSpec,
    PackageSpec,
    consignment_add_tracking,
    consignment_create,
    duplicate_tracking,
    outbound_order_allocate,
    outbound_order_cancel,
    outbound_order_create,
    outbound_order_dispatch,
    outbound_order_mark_packed,
    outbound_order_mark_picked,
    outbound_order_reject,
    outbound_orders_create_many,
)
from .products import AlternativeCode, product_create
from .stock import StockCount, stock_levels_set_on_hand

__all__ = [
    "AddressData", "AlternativeCode", "LineSpec", "OrderOutcome", "OrderSpec", "PackageSpec", "StockCount", "api_key_authenticate",
    "api_key_create", "api_key_revoke", "consignment_add_tracking", "consignment_create", "duplicate_tracking",
    "outbound_order_allocate", "outbound_order_cancel", "outbound_order_create", "outbound_order_dispatch",
    "outbound_order_mark_packed", "outbound_order_mark_picked", "outbound_order_reject",
    "outbound_orders_create_many", "product_create",
    "stock_levels_set_on_hand",
]
