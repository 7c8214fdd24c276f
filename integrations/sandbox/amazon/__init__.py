"""A local Amazon Selling Partner API: Login with Amazon, Orders v0 and v2026-01-01, Tokens, Supply
Sources, Listings Items and Feeds, with Amazon's errors and rate limits, plus a /_sandbox/ control API.

    from integrations.sandbox.amazon import AmazonSandbox, build_app, main
"""

from .app import AmazonSandbox
from .cli import build_app, main

__all__ = ["AmazonSandbox", "build_app", "main"]
