"""The shared token buckets and the retries: every worker together stays within a marketplace's usage
plan with a margin, a throttle or an outage costs a wait and not the run, and a run that must stop
resumes where it stopped. Every assertion is an invariant (counts, no 429, lower bounds), never an exact
timing, so the tests hold on a loaded machine."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from integrations.models import ImportedOrder, ImportRun, Integration
from integrations.providers.base import ProviderRateLimited
from integrations.ratelimit import FileStore, RedisStore, SharedTokenBuckets, shared_limiter
from integrations.services.orders import orders_import
from warehouse.models import OutboundOrder

from .conftest import AU

US = "ATVPDKIKX0DER"


def buckets(**kwargs) -> SharedTokenBuckets:
    return SharedTokenBuckets(store=RedisStore(redis.Redis.from_url(settings.REDIS_URL)), **kwargs)


@pytest.fixture(autouse=True)
def _fresh_limiter():
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    shared_limiter.cache_clear()
    yield
    shared_limiter.cache_clear()


def items_calls(amazon) -> list[dict]:
    return [c for c in amazon.calls("/orderItems")]


def test_burst_then_refill_then_refusal_with_a_margin():
    limiter = buckets(max_wait=0.05, margin=0.2)
    for _ in range(4):                       # 80% of a burst of 5
        limiter.acquire("amazon:x:getOrderItems", rate=1.0, burst=5)
    with pytest.raises(ProviderRateLimited) as refused:
        limiter.acquire("amazon:x:getOrderItems", rate=1.0, burst=5)
    assert 0.5 < refused.value.retry_after <= 1 / 0.8                    # refills at 80% of the rate
    patient = buckets(max_wait=3.0, margin=0.2)
    started = time.monotonic()
    patient.acquire("amazon:x:getOrderItems", rate=1.0, burst=5)          # waits for the refill
    assert time.monotonic() - started >= 0.5
    limiter.acquire("amazon:x:createRestrictedDataToken", rate=1.0, burst=5)  # other keys are untouched


def test_a_lower_reported_rate_and_a_429_slow_every_worker_down():
    one, other = buckets(max_wait=0.0), buckets(max_wait=0.0)
    one.observed("amazon:s:getOrder", published_rate=10.0, reported_rate=20.0)      # higher: ignored
    one.acquire("amazon:s:getOrder", rate=10.0, burst=10)
    one.throttled("amazon:s:getOrder", rate=10.0, burst=10)       # Amazon said 429: the bucket is empty
    with pytest.raises(ProviderRateLimited) as refused:
        other.acquire("amazon:s:getOrder", rate=10.0, burst=10)
    assert 0 < refused.value.retry_after <= 1 / 9.0               # one token at 90% of 10 a second
    one.observed("amazon:s:getOrder", published_rate=10.0, reported_rate=0.01)      # the seller's plan is lower
    with pytest.raises(ProviderRateLimited) as slower:
        other.acquire("amazon:s:getOrder", rate=10.0, burst=10)
    assert slower.value.retry_after > 10                         # ~1 / (0.01 x 90%), less what refilled


def test_workers_with_their_own_connections_share_one_bucket():
    """Four 'workers', each with its own Redis connection, hammer one key for 1.5 s: together they get
    no more than the burst plus what the rate refills (both less the margin)."""
    granted = []
    deadline = time.monotonic() + 1.5

    def worker():
        limiter = buckets(max_wait=0.0, margin=0.0)      # never wait: count what is granted outright
        count = 0
        while time.monotonic() < deadline:
            try:
                limiter.acquire("etsy:app:second", rate=4.0, burst=4)
                count += 1
            except ProviderRateLimited:
                time.sleep(0.01)
        granted.append(count)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 4 <= sum(granted) <= 4 + 4 * 1.5 + 1


@pytest.mark.django_db
def test_buckets_are_per_selling_partner_and_operation(amazon, amazon_seller, amazon_integration):
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders",
                {"count": 3, "template": {"MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
    orders_import(integration=amazon_integration)
    keys = {k.decode() for k in redis.Redis.from_url(settings.REDIS_URL).keys("hub:ratelimit:amazon:*")}
    sp = amazon_seller["selling_partner_id"]
    assert {f"hub:ratelimit:amazon:{sp}:{op}" for op in ("getOrders", "getOrderItems", "createRestrictedDataToken")} <= keys


@pytest.mark.django_db
def test_an_import_waits_for_tokens_instead_of_being_throttled(amazon, amazon_seller, amazon_integration, settings):
    """Amazon's plans, ten times faster on both sides: the sandbox enforces them, our buckets keep 10%
    below them. getOrderItems bursts 30 (27 for us), so the last orders of 40 wait for tokens, and Amazon
    never has to answer 429, however slow the machine."""
    settings.MARKETPLACE_RATE_LIMIT_SCALE = 10.0
    shared_limiter.cache_clear()
    amazon.post("rate_limits", {"enabled": True, "time_scale": 10})
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders",
                {"count": 40, "template": {"MarketplaceId": AU, "items": [{"SellerSKU": "TEE-02", "QuantityOrdered": 1}]}})
    started = time.monotonic()
    result = orders_import(integration=amazon_integration)
    assert len(result.created) == 40 == ImportedOrder.objects.count()
    assert [c for c in amazon.calls("") if c["status"] == 429] == []
    # A lower bound only: 13 of 40 getOrderItems had to wait for a refill at 4.5 a second.
    assert time.monotonic() - started >= 13 / 4.5 * 0.9


@pytest.mark.django_db
def test_two_integrations_of_one_seller_share_the_buckets(amazon, tenant, customer, warehouse, products, settings):
    """Amazon AU and Amazon US of one brand: the same selling partner, so the same usage plans. Imported
    one after the other (a worker each would be the same), together they stay within them."""
    settings.MARKETPLACE_RATE_LIMIT_SCALE = 20.0
    shared_limiter.cache_clear()
    amazon.post("rate_limits", {"enabled": True, "time_scale": 20})
    seller = amazon.post("sellers", {"marketplace_ids": [AU, US]})
    sp = seller["selling_partner_id"]
    integrations = []
    for marketplace_id in (AU, US):
        amazon.post(f"sellers/{sp}/orders", {"count": 20, "template": {
            "MarketplaceId": marketplace_id, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
        integrations.append(Integration.objects.create(
            tenant=tenant, customer=customer, marketplace="amazon", name=f"Amazon {marketplace_id}",
            status=Integration.Status.ACTIVE, marketplace_id=marketplace_id, account_id=sp,
            refresh_token=seller["refresh_token"], default_warehouse=warehouse,
            orders_watermark=timezone.now() - timezone.timedelta(hours=1)))
    for integration in integrations:
        assert len(orders_import(integration=integration).created) == 20
    assert [c for c in amazon.calls("") if c["status"] == 429] == []
    assert len(items_calls(amazon)) == 40          # 27 from the shared burst, the rest waited


@pytest.mark.django_db
def test_a_throttle_mid_run_stops_it_and_the_next_run_resumes_without_refetching(amazon, amazon_seller,
                                                                                 amazon_integration, settings):
    """Amazon's getOrderItems plan for this seller turns out much smaller than published: after 5 calls it
    answers 429. The client retries, then the run stops, having committed the 5 orders it read. Once
    the quota is back, the next run resumes the same run and no order's items are read twice."""
    settings.MARKETPLACE_RATE_LIMIT_MAX_WAIT = 0.05       # the worker hands back rather than wait
    shared_limiter.cache_clear()
    sp = amazon_seller["selling_partner_id"]
    amazon.post(f"sellers/{sp}/orders", {"count": 12, "template": {
        "MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
    amazon.post("rate_limits", {"enabled": True, "time_scale": 1,
                                "overrides": {"getOrderItems": {"rate": 0.0001, "burst": 5}}})
    with pytest.raises(ProviderRateLimited):
        orders_import(integration=amazon_integration)
    run = ImportRun.objects.get()
    assert run.state == ImportRun.State.STOPPED and run.imported == 5 == OutboundOrder.objects.count()
    watermark = amazon_integration.orders_watermark
    amazon_integration.refresh_from_db()
    assert amazon_integration.orders_watermark == watermark           # the window is not done yet

    amazon.post("rate_limits", {"enabled": False})
    redis.Redis.from_url(settings.REDIS_URL).flushdb()                # the quota came back
    result = orders_import(integration=amazon_integration)
    assert len(result.created) == 7 and OutboundOrder.objects.count() == 12
    run.refresh_from_db()
    assert run.state == ImportRun.State.FINISHED and run.resumes == 1 and run.imported == 12
    assert (run.found, run.existing) == (12, 0)           # the 5 committed before the stop are counted once
    answered = Counter(c["path"] for c in items_calls(amazon) if c["status"] == 200)
    assert len(answered) == 12 and set(answered.values()) == {1}        # never re-fetched
    amazon_integration.refresh_from_db()
    assert amazon_integration.orders_watermark > watermark


@pytest.mark.django_db
def test_server_errors_cost_a_retry_not_the_run(amazon, amazon_seller, amazon_integration):
    amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders", {"count": 4, "template": {
        "MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
    amazon.post("faults", {"fail_next": 2, "error_statuses": [503], "path_contains": "/orderItems"})
    result = orders_import(integration=amazon_integration)
    assert len(result.created) == 4 and result.failed == []
    assert [c["status"] for c in items_calls(amazon)][:3] == [503, 503, 200]


def test_unreachable_redis_is_a_wait_not_a_crash_and_never_an_unmetered_call():
    """Redis restarting: no token can be taken, so the caller is told to come back (like a throttle) rather
    than calling the marketplace unmetered or failing with a Redis error; telling others is best effort."""
    with socket.socket() as s:                   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limiter = SharedTokenBuckets(store=RedisStore(redis.Redis(port=port, socket_connect_timeout=0.5)))
    with pytest.raises(ProviderRateLimited) as refused:
        limiter.acquire("amazon:x:confirmShipment", rate=1.0, burst=5)
    assert refused.value.retry_after > 0 and not refused.value.daily
    limiter.throttled("amazon:x:confirmShipment", rate=1.0, burst=5)
    limiter.observed("amazon:x:confirmShipment", published_rate=1.0, reported_rate=0.5)


def test_without_redis_the_processes_of_one_machine_share_the_buckets(tmp_path):
    """`make run` has no Redis: its worker, web app and push consumer are separate processes calling the same
    seller, so the buckets live in a locked file they all read, not in each process's memory."""
    path = tmp_path / "ratelimit.json"
    spend = ("import sys; from integrations.ratelimit import FileStore; store = FileStore(sys.argv[1]); "
             "print(sum(store.take('amazon:s:getOrderItems', 0.001, 5) == 0 for _ in range(8)))")
    other = subprocess.run([sys.executable, "-c", spend, str(path)], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"})
    assert other.stdout.strip() == "5", other.stderr[-2000:]              # the burst, and not one more
    store = FileStore(path)
    assert store.take("amazon:s:getOrderItems", 0.001, 5) > 0           # spent by the other process
    assert store.take("amazon:s:getOrder", 0.001, 5) == 0               # another operation's bucket is full
    store.empty("amazon:s:getOrder", ttl=60)                            # a 429 here empties it for everyone
    again = subprocess.run([sys.executable, "-c", spend.replace("getOrderItems", "getOrder"), str(path)],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"})
    assert again.stdout.strip() == "0", again.stderr[-2000:]
