from .integration import Integration, OAuthState, SupplySourceMapping
from .runs import ImportRun
from .sync import ConnectionLogEntry, ImportedOrder, InventoryPush, PackageConfirmation, PendingImport, PushDelivery

__all__ = ["ConnectionLogEntry", "ImportRun", "ImportedOrder", "Integration", "InventoryPush", "OAuthState",
           "PackageConfirmation", "PendingImport", "PushDelivery", "SupplySourceMapping"]
