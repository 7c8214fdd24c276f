from .tenancy import ApiKey, IdempotencyKey, Tenant, User
from .catalog import Customer, Product, ProductAlternativeCode, StockLevel, Warehouse
from .orders import (
    Address,
    Consignment,
    OutboundOrder,
    OutboundOrderLine,
    Package,
    PackageLine,
)

__all__ = [
    "Address", "ApiKey", "Consignment", "Customer", "IdempotencyKey", "OutboundOrder", "OutboundOrderLine", "Package",
    "PackageLine", "Product", "ProductAlternativeCode", "StockLevel", "Tenant", "User", "Warehouse",
]
