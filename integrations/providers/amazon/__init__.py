"""Amazon Seller Central through the Selling Partner API: auth, client, mapping and the provider."""

from .marketplaces import MARKETPLACES, Marketplace, marketplace_get, marketplaces_enabled
from .provider import ORDERS_API_2026, ORDERS_API_V0, AmazonProvider

__all__ = [
    "MARKETPLACES",
    "ORDERS_API_2026",
    "ORDERS_API_V0",
    "AmazonProvider",
    "Marketplace",
    "marketplace_get",
    "marketplaces_enabled",
]
