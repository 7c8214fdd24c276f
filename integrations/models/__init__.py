from .integration import Integration, OAuthState, SupplySourceMapping
from .sync import ConnectionLogEntry, ImportedOrder, InventoryPush, PackageConfirmation, PendingImport

__all__ = ["ConnectionLogEntry", "ImportedOrder", "Integration", "InventoryPush", "OAuthState",
           "PackageConfirmation", "PendingImport", "SupplySourceMapping"]
