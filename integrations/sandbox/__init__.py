"""Local Amazon SP-API and Etsy API servers that speak the vendors' wire protocol.

Nothing in the product imports this package: tests, benchmarks and `make run` start it.
It shares no code with `integrations.providers` on purpose (see ARCHITECTURE.md).
"""
