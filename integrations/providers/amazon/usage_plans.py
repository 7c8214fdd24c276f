"""Amazon's default usage plans (rate in requests per second, burst), from the models and
reference/sp-api.md §5. The hub spends them through the shared limiter before each call, so that every
worker together stays under them instead of learning about them from 429s."""

from __future__ import annotations

# operation -> (rate, burst)
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getOrderAddress": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "createRestrictedDataToken": (1.0, 10),
    "patchListingsItem": (5.0, 5),
    "createFeed": (0.0083, 15),
    "createFeedDocument": (0.5, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "searchOrders": (0.0056, 20),
    # Supply Sources publishes no plan (§5): stay gentle.
    "getSupplySources": (1.0, 5),
    "getSupplySource": (1.0, 5),
}
DEFAULT_PLAN = (1.0, 5)


def usage_plan(operation: str) -> tuple[float, int]:
    return USAGE_PLANS.get(operation, DEFAULT_PLAN)
