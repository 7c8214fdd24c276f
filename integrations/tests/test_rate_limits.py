"""The shared token buckets: every worker together stays within a marketplace's usage plan, and a
worker that would wait too long hands its task back without losing anything."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from django.conf import settings

from integrations.models import ImportedOrder
from integrations.providers.base import ProviderRateLimited
from integrations.ratelimit import SharedTokenBuckets, redis_take, shared_limiter
from integrations.services.orders import orders_import

from .conftest import AU


def buckets(**kwargs) -> SharedTokenBuckets:
    return SharedTokenBuckets(take=redis_take(redis.Redis.from_url(settings.REDIS_URL)), **kwargs)


@pytest.fixture(autouse=True)
def _fresh_limiter():
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    shared_limiter.cache_clear()
    yield
    shared_limiter.cache_clear()


def test_burst_then_refill_then_refusal():
    limiter = buckets(max_wait=0.05)
    for _ in range(5):
        limiter.acquire("amazon:x:getOrderItems", rate=1.0, burst=5)      # the burst goes at once
    with pytest.raises(ProviderRateLimited) as refused:
        limiter.acquire("amazon:x:getOrderItems", rate=1.0, burst=5)
    assert 0.5 < refused.value.retry_after <= 1.0
    patient = buckets(max_wait=2.0)
    started = time.monotonic()
    patient.acquire("amazon:x:getOrderItems", rate=1.0, burst=5)          # waits for the refill
    assert time.monotonic() - started >= 0.5
    limiter.acquire("amazon:x:createRestrictedDataToken", rate=1.0, burst=5)  # other keys are untouched


def test_workers_with_their_own_connections_share_one_bucket():
    """Four 'workers', each with its own Redis connection, hammer one key for 1.5 s: together they get
    no more than the burst plus what the rate refills."""
    granted = []
    deadline = time.monotonic() + 1.5

    def worker():
        limiter = buckets(max_wait=0.0)            # never wait: count what is granted outright
        count = 0
        while time.monotonic() < deadline:
            try:
                limiter.acquire("etsy:app", rate=4.0, burst=4)
                count += 1
            except ProviderRateLimited:
                time.sleep(0.01)
        granted.append(count)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 4 + 4 <= sum(granted) <= 4 + 4 * 1.5 + 1


@pytest.mark.django_db
def test_the_amazon_client_spends_the_operations_plans(amazon, amazon_seller, amazon_integration):
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders",
                {"count": 3, "template": {"MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
    orders_import(integration=amazon_integration)
    keys = {k.decode().rsplit(":", 1)[-1] for k in redis.Redis.from_url(settings.REDIS_URL).keys("hub:ratelimit:amazon:*")}
    assert {"getOrders", "getOrderItems", "createRestrictedDataToken"} <= keys


@pytest.mark.django_db
def test_an_import_waits_for_tokens_instead_of_being_throttled(amazon, amazon_seller, amazon_integration, settings):
    """Amazon's plans, ten times faster on both sides: the sandbox enforces them, our buckets keep to
    them. getOrderItems bursts 30, so the last ten of 40 orders wait for tokens, and Amazon never
    has to answer 429."""
    settings.MARKETPLACE_RATE_LIMIT_SCALE = 10.0
    shared_limiter.cache_clear()
    amazon.post("rate_limits", {"enabled": True, "time_scale": 10})
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders",
                {"count": 40, "template": {"MarketplaceId": AU, "items": [{"SellerSKU": "TEE-02", "QuantityOrdered": 1}]}})
    started = time.monotonic()
    result = orders_import(integration=amazon_integration)
    assert len(result.created) == 40 == ImportedOrder.objects.count()
    assert time.monotonic() - started >= 1.5                 # ~10 orders x 0.2 s waited for tokens
    assert [c for c in amazon.calls("") if c["status"] == 429] == []
