from .integration import Integration, OAuthState, SupplySourceMapping
from .runs import ImportRun
from .sharing import AlertSent, AlertSettings, SetupLink
from .sync import (
    ConnectionLogEntry,
    ImportedOrder,
    InventoryFeed,
    InventoryPush,
    InventoryRefusal,
    PackageConfirmation,
    PendingImport,
    PushDelivery,
)

__all__ = ["AlertSent", "AlertSettings", "ConnectionLogEntry", "ImportRun", "ImportedOrder", "Integration",
           "InventoryFeed", "InventoryPush", "InventoryRefusal", "OAuthState", "PackageConfirmation", "PendingImport",
           "PushDelivery", "SetupLink", "SupplySourceMapping"]
