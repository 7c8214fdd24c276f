"""Amazon's usage plans as token buckets, one per (selling partner, operation).

Rates and bursts are the defaults published in each operation's model description (table in
reference/sp-api.md §5). A bucket starts full at `burst`, refills at `rate` tokens a second up to
`burst`, and each call takes one token; an empty bucket means 429 QuotaExceeded. `time_scale`
multiplies the refill speed so tests need not wait a minute for a getOrders token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class UsagePlan:
    rate: float          # tokens per second
    burst: int

    @property
    def header(self) -> str:
        """x-amzn-RateLimit-Limit as Amazon writes it, e.g. `0.0167` or `2.0`."""
        return repr(float(self.rate))


DEFAULT_PLANS: dict[str, UsagePlan] = {
    # Orders v0
    "getOrders": UsagePlan(0.0167, 20),
    "getOrder": UsagePlan(0.5, 30),
    "getOrderItems": UsagePlan(0.5, 30),
    "getOrderAddress": UsagePlan(0.5, 30),
    "getOrderBuyerInfo": UsagePlan(0.5, 30),
    "getOrderItemsBuyerInfo": UsagePlan(0.5, 30),
    "confirmShipment": UsagePlan(2.0, 10),
    # Orders v2026-01-01
    "searchOrders": UsagePlan(0.0056, 20),
    "getOrder_2026": UsagePlan(0.5, 30),
    # Tokens
    "createRestrictedDataToken": UsagePlan(1.0, 10),
    # Listings Items
    "patchListingsItem": UsagePlan(5.0, 5),
    "getListingsItem": UsagePlan(5.0, 10),
    # Feeds
    "createFeed": UsagePlan(0.0083, 15),
    "createFeedDocument": UsagePlan(0.5, 15),
    "getFeed": UsagePlan(2.0, 15),
    "cancelFeed": UsagePlan(2.0, 15),
    "getFeeds": UsagePlan(0.0222, 10),
    "getFeedDocument": UsagePlan(0.0222, 10),
    # Notifications v1: 1 request/second, burst 5, for every operation (the model's usage plans)
    "createDestination": UsagePlan(1.0, 5),
    "getDestinations": UsagePlan(1.0, 5),
    "getDestination": UsagePlan(1.0, 5),
    "deleteDestination": UsagePlan(1.0, 5),
    "createSubscription": UsagePlan(1.0, 5),
    "getSubscription": UsagePlan(1.0, 5),
    "deleteSubscriptionById": UsagePlan(1.0, 5),
    # Supply Sources: Amazon publishes no usage plan (sp-api.md §5). The sandbox picks a modest
    # 1 request/second with a burst of 5 for every operation, so a client must already cope with 429s.
    "getSupplySources": UsagePlan(1.0, 5),
    "getSupplySource": UsagePlan(1.0, 5),
    "createSupplySource": UsagePlan(1.0, 5),
    "updateSupplySourceStatus": UsagePlan(1.0, 5),
    "archiveSupplySource": UsagePlan(1.0, 5),
    # JSON_LISTINGS_FEED: "5 feed submissions per 5 minutes per region", on top of createFeed's plan
    # (sp-api.md §3.2). The sandbox has one region, so this bucket is per selling partner.
    "createFeed:JSON_LISTINGS_FEED": UsagePlan(5 / 300, 5),
}


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, *, enabled: bool = True, time_scale: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.enabled = enabled
        self.time_scale = time_scale
        self.overrides: dict[str, UsagePlan] = {}
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def plan(self, operation: str) -> UsagePlan | None:
        return self.overrides.get(operation) or DEFAULT_PLANS.get(operation)

    def _refill(self, bucket: _Bucket, plan: UsagePlan, now: float) -> None:
        bucket.tokens = min(float(plan.burst), bucket.tokens + (now - bucket.updated) * plan.rate * self.time_scale)
        bucket.updated = now

    def take(self, principal: str, operation: str) -> bool:
        """Spend one token; False means answer 429."""
        plan = self.plan(operation)
        if not self.enabled or plan is None:
            return True
        now = self._clock()
        bucket = self._buckets.get((principal, operation))
        if bucket is None:
            bucket = self._buckets[(principal, operation)] = _Bucket(float(plan.burst), now)
        self._refill(bucket, plan, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        return False

    def configure(self, *, enabled: bool | None = None, time_scale: float | None = None,
                  overrides: dict[str, UsagePlan] | None = None) -> None:
        now = self._clock()
        # Settle every bucket at the old speed first, so a new time_scale only counts from now on.
        for (_, operation), bucket in self._buckets.items():
            plan = self.plan(operation)
            if plan is not None:
                self._refill(bucket, plan, now)
        if time_scale is not None:
            if time_scale <= 0:
                raise ValueError("time_scale must be positive")
            self.time_scale = time_scale
        if enabled is not None:
            self.enabled = enabled
        if overrides is not None:
            self.overrides.update(overrides)
            for key in [k for k in self._buckets if k[1] in overrides]:
                del self._buckets[key]          # a changed plan starts with a full bucket

    def refill(self) -> None:
        self._buckets.clear()

    def snapshot(self) -> dict[str, Any]:
        now = self._clock()
        buckets = []
        for (principal, operation), bucket in sorted(self._buckets.items()):
            plan = self.plan(operation)
            if plan is not None:
                self._refill(bucket, plan, now)
                buckets.append({"selling_partner_id": principal, "operation": operation,
                                "tokens": round(bucket.tokens, 3), "burst": plan.burst})
        return {
            "enabled": self.enabled, "time_scale": self.time_scale,
            "plans": {op: {"rate": p.rate, "burst": p.burst}
                      for op, p in sorted({**DEFAULT_PLANS, **self.overrides}.items())},
            "buckets": buckets,
        }
