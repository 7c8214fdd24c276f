"""Test-wide setup: real PostgreSQL and Redis, the sandbox fixtures, and the shared factories."""

pytest_plugins = [
    "tests.fixtures",
    "tests.browser",
    "integrations.sandbox.amazon.fixtures",
    "integrations.sandbox.etsy.fixtures",
]
