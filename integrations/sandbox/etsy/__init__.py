"""A local Etsy Open API v3 server (OAuth with PKCE, receipts, shipments, inventory, rate limits).

Written from ../shared/reference/etsy-api.md, never from `integrations.providers`. Start it with
`python -m integrations.sandbox.etsy` or from tests with the fixtures in `fixtures.py`.
"""

from .app import EtsySandbox
from .cli import build_app, main

__all__ = ["EtsySandbox", "build_app", "main"]
