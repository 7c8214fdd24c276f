"""Etsy Open API v3 provider: OAuth 2.0 with PKCE, receipts, shipments and listing inventory.

Written from Etsy's documentation (reference/etsy-api.md in the shared design folder); it shares nothing with the
Etsy sandbox, so a misunderstanding on one side shows up as a failing test on the other.
"""

from .provider import EtsyProvider

__all__ = ["EtsyProvider"]
