from .integration import Integration, OAuthState, SupplySourceMapping
from .runs import ImportRun
from .sync import (
    ConnectionLogEntry,
    ImportedOrder,
    InventoryPush,
    InventoryRefusal,
    PackageConfirmation,
    PendingImport,
    PushDelivery,
)

__all__ = ["ConnectionLogEntry", "ImportRun", "ImportedOrder", "Integration", "InventoryPush", "InventoryRefusal",
           "OAuthState", "PackageConfirmation", "PendingImport", "PushDelivery", "SupplySourceMapping"]
