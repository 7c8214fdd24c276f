from .integration import Integration, OAuthState, SupplySourceMapping
from .runs import ImportRun
from .sharing import AlertSent, AlertSettings, SetupLink
from .sync import (
    ConnectionLogEntry,
    ImportedOrder,
    InventoryPush,
    InventoryRefusal,
    PackageConfirmation,
    PendingImport,
    PushDelivery,
)

__all__ = ["AlertSent", "AlertSettings", "ConnectionLogEntry", "ImportRun", "ImportedOrder", "Integration",
           "InventoryPush", "InventoryRefusal", "OAuthState", "PackageConfirmation", "PendingImport", "PushDelivery",
           "SetupLink", "SupplySourceMapping"]
