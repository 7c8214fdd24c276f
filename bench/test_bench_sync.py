"""`make bench`: the import's figures against an Amazon sandbox in its own process (no shared GIL).

Prints one `name: value` line each (issue 13):
  orders_per_second, bare_orders_per_second, bare_client_ratio   5,000 v0 orders with items, limits off;
        the bare loop is python-amazon-sp-api making the same getOrders/getOrderItems calls
  db_queries_per_order, commits_per_page                          the same import
  api_calls_per_order_v0, api_calls_per_order_v2026, repoll_calls_per_known_order
  throttled_import_429s, throttled_import_created, throttled_import_ratio
        1,500 orders over two integrations of one seller (AU + US) imported at once by two workers,
        Amazon's plans at time scale 60 on both sides; ratio = the import's wall time (first run's
        start to last run's end) / the bucket minimum; throttled_import_process_seconds adds the two
        processes' start (Python, Django) and exit
  worker_rss_start_mb, worker_rss_mb                               `manage.py orders_import` of 20,000 orders:
        the process's resident memory before the import and at its peak (VmHWM)
Sizes: BENCH_ORDERS (5000), BENCH_THROTTLED_ORDERS (1500), BENCH_RSS_ORDERS (20000, at least 500).
Not part of `make test`: its small versions there are the rate-limit and import tests.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.models import ImportedOrder, ImportRun, Integration
from integrations.ratelimit import shared_limiter
from integrations.services.orders import orders_import
from tests.db import Commits
from tests.processes import amazon_env, process_env
from tests.factories import ProductFactory, StockLevelFactory

ROOT = Path(__file__).resolve().parents[1]
AU, US = "A39IBJ37TRP1C6", "ATVPDKIKX0DER"
ORDERS = int(os.environ.get("BENCH_ORDERS", "5000"))
THROTTLED_ORDERS = int(os.environ.get("BENCH_THROTTLED_ORDERS", "1500"))
RSS_ORDERS = max(500, int(os.environ.get("BENCH_RSS_ORDERS", "20000")))  # flat or not needs a few pages
TIME_SCALE = 60.0
CLIENT_ID, CLIENT_SECRET = "amzn1.application-oa2-client.sandbox", "sandbox-secret"

pytestmark = pytest.mark.django_db(transaction=True)


def figure(name: str, value) -> None:
    print(f"{name}: {value}", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sandbox:
    """The Amazon sandbox as a separate process, driven over its control API."""

    def __init__(self):
        port = int(os.environ.get("EXTRA_PORT_BASE", "0")) or _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "integrations.sandbox.amazon", "--port", str(port),
                                      "--no-rate-limits"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.http = httpx.Client(base_url=self.url, timeout=600)
        for _ in range(600):
            try:
                self.http.get("/_sandbox/app")
                break
            except httpx.HTTPError:
                time.sleep(0.05)

    def control(self, method: str, path: str, body=None):
        r = self.http.request(method, f"/_sandbox/{path}", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def seller(self, marketplace_ids):
        return self.control("POST", "sellers", {"marketplace_ids": marketplace_ids})

    def orders(self, sp: str, count: int, marketplace_id: str, sku: str):
        while count > 0:
            n = min(count, 1000)
            self.control("POST", f"sellers/{sp}/orders", {"count": n, "template": {
                "MarketplaceId": marketplace_id, "items": [{"SellerSKU": sku, "QuantityOrdered": 1}]}})
            count -= n

    def calls(self) -> list[dict]:
        return self.control("GET", "calls")["calls"]

    def forget_calls(self) -> None:
        self.http.delete("/_sandbox/calls")

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture
def sandbox(settings):
    from sp_api.auth import access_token_client

    box = Sandbox()
    access_token_client.cache.clear()
    settings.AMAZON_SPAPI_ENDPOINT, settings.AMAZON_LWA_TOKEN_URL = box.url, f"{box.url}/auth/o2/token"
    settings.AMAZON_LWA_APP_ID, settings.AMAZON_LWA_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.MARKETPLACE_HTTP_TIMEOUT = 30
    settings.MARKETPLACE_RATE_LIMIT_SCALE = 1e9           # limits off on both sides
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    shared_limiter.cache_clear()
    logging.disable(logging.INFO)            # a line per order on the terminal is not the import's cost
    yield box
    logging.disable(logging.NOTSET)
    box.close()
    shared_limiter.cache_clear()


def integration_for(seller, marketplace_id, customer, warehouse, tenant, **extra) -> Integration:
    return Integration.objects.create(
        tenant=tenant, customer=customer, marketplace="amazon", name=f"bench {marketplace_id}", status="active",
        marketplace_id=marketplace_id, account_id=seller["selling_partner_id"], refresh_token=seller["refresh_token"],
        default_warehouse=warehouse, orders_watermark=timezone.now() - dt.timedelta(hours=1), **extra)


def stock(customer, warehouse, sku: str, quantity: int) -> None:
    product = ProductFactory(customer=customer, code=sku)
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=quantity)


def bare_loop(url: str, seller: dict) -> tuple[float, int]:
    """python-amazon-sp-api as its README shows it, with the same getOrders/getOrderItems calls."""
    from sp_api.api import Orders
    from sp_api.auth import AccessTokenClient
    from sp_api.util import load_all_pages

    class LocalLWA(AccessTokenClient):
        scheme, host = "http://", url.split("://", 1)[1]

    marketplace = SimpleNamespace(endpoint=url, marketplace_id=AU, region="us-west-2")
    client = Orders(marketplace=marketplace, refresh_token=seller["refresh_token"], auth_token_client_class=LocalLWA,
                    credentials={"refresh_token": seller["refresh_token"], "lwa_app_id": CLIENT_ID,
                                 "lwa_client_secret": CLIENT_SECRET})
    since = (timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = time.perf_counter()
    count = 0

    @load_all_pages(throttle_by_seconds=0)
    def pages(**kwargs):
        return client.get_orders(**kwargs)

    for page in pages(LastUpdatedAfter=since, MarketplaceIds=AU, OrderStatuses="Unshipped,PartiallyShipped,Canceled",
                      FulfillmentChannels="MFN", MaxResultsPerPage=100):
        for order in page.payload["Orders"]:
            client.get_order_items(order["AmazonOrderId"])
            count += 1
    return time.perf_counter() - started, count


def test_bench_import(sandbox, tenant, customer, warehouse):
    seller = sandbox.seller([AU])
    sandbox.orders(seller["selling_partner_id"], ORDERS, AU, "BENCH-1")
    stock(customer, warehouse, "BENCH-1", ORDERS * 2)
    integration = integration_for(seller, AU, customer, warehouse, tenant)

    bare_seconds, bare_count = bare_loop(sandbox.url, seller)
    assert bare_count == ORDERS
    sandbox.forget_calls()

    with CaptureQueriesContext(connection) as queries, Commits() as commits:
        started = time.perf_counter()
        result = orders_import(integration=integration)
        seconds = time.perf_counter() - started
    assert len(result.created) == ORDERS
    calls = [c for c in sandbox.calls() if not c["path"].startswith("/auth/")]
    run = result.run
    figure("orders_per_second", round(ORDERS / seconds, 1))
    figure("bare_orders_per_second", round(bare_count / bare_seconds, 1))
    figure("bare_client_ratio", round(seconds / bare_seconds, 2))
    figure("db_queries_per_order", round(len(queries) / ORDERS, 2))
    figure("commits_per_page", round(commits.count / run.pages, 2))
    figure("api_calls_per_order_v0", round(len(calls) / ORDERS, 3))

    # The overlap window again: every order is known, so only list calls are made.
    sandbox.forget_calls()
    Integration.objects.filter(pk=integration.pk).update(orders_watermark=timezone.now() - dt.timedelta(hours=1))
    integration.refresh_from_db()
    again = orders_import(integration=integration)
    assert len(again.existing) == ORDERS
    per_order = [c for c in sandbox.calls() if c["path"].startswith("/orders/v0/orders/")]
    figure("repoll_calls_per_known_order", round(len(per_order) / ORDERS, 3))


def test_bench_v2026_calls(sandbox, tenant, customer, warehouse):
    count = min(ORDERS, 1000)
    seller = sandbox.seller([AU])
    sandbox.orders(seller["selling_partner_id"], count, AU, "BENCH-2")
    stock(customer, warehouse, "BENCH-2", count * 2)
    integration = integration_for(seller, AU, customer, warehouse, tenant, orders_api="2026-01-01")
    sandbox.forget_calls()
    assert len(orders_import(integration=integration).created) == count
    calls = [c for c in sandbox.calls() if not c["path"].startswith("/auth/")]
    figure("api_calls_per_order_v2026", round(len(calls) / count, 3))


def _bucket_minimum(calls: list[dict]) -> float:
    """The least time Amazon's buckets (100% of the plans, full at the start) allow for these calls."""
    plans = {"getOrders": (0.0167, 20), "getOrderItems": (0.5, 30), "createRestrictedDataToken": (1.0, 10)}
    counts = {"getOrders": 0, "getOrderItems": 0, "createRestrictedDataToken": 0}
    for c in calls:
        if c["path"].endswith("/orderItems"):
            counts["getOrderItems"] += 1
        elif c["path"] == "/orders/v0/orders":
            counts["getOrders"] += 1
        elif c["path"].endswith("/restrictedDataToken"):
            counts["createRestrictedDataToken"] += 1
    return max(max(0, n - plans[op][1]) / (plans[op][0] * TIME_SCALE) for op, n in counts.items())


def worker_env(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    """A production-like worker process on the bench's database, Redis (the shared buckets) and sandbox."""
    return process_env(**{
        "REDIS_URL": settings.REDIS_URL, **amazon_env(sandbox.url, app_id=CLIENT_ID, secret=CLIENT_SECRET),
        "MARKETPLACE_RATE_LIMIT_SCALE": "1000000000", "MARKETPLACE_HTTP_TIMEOUT": "30",
        "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING", **extra})            # as a production worker runs


def import_in_a_worker(sandbox: Sandbox, integration: Integration, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "orders_import", str(integration.id), "--no-progress"],
                            cwd=ROOT, env=worker_env(sandbox, **extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_bench_throttled_import(sandbox, tenant, customer, warehouse):
    """Two workers (processes), one per integration of the same seller, at once."""
    seller = sandbox.seller([AU, US])
    sp = seller["selling_partner_id"]
    half = THROTTLED_ORDERS // 2
    sandbox.orders(sp, half, AU, "BENCH-3")
    sandbox.orders(sp, THROTTLED_ORDERS - half, US, "BENCH-3")
    stock(customer, warehouse, "BENCH-3", THROTTLED_ORDERS * 2)
    integrations = [integration_for(seller, m, customer, warehouse, tenant) for m in (AU, US)]
    sandbox.control("POST", "rate_limits", {"enabled": True, "time_scale": TIME_SCALE, "refill": True})
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    sandbox.forget_calls()

    started = time.perf_counter()
    workers = [import_in_a_worker(sandbox, i, MARKETPLACE_RATE_LIMIT_SCALE=str(TIME_SCALE),
                                  MARKETPLACE_RATE_LIMIT_MAX_WAIT="120") for i in integrations]
    outputs = [w.communicate(timeout=3600) for w in workers]
    process_seconds = time.perf_counter() - started
    assert all(w.returncode == 0 for w in workers), [err[-2000:] for _, err in outputs]
    calls = sandbox.calls()
    throttled = sum(1 for c in calls if c["status"] == 429)
    created = ImportedOrder.objects.filter(integration__in=integrations).count()
    # The buckets allow their minimum from the first call on, with full buckets: the import's wall time
    # is from the first run's start to the last run's end. Before that, each `manage.py` process boots
    # Python and Django (a Celery worker does that once, not per import): printed on its own line.
    runs = ImportRun.objects.filter(integration__in=integrations)
    first_start, last_end = min(r.started_at for r in runs), max(r.finished_at for r in runs)
    seconds = (last_end - first_start).total_seconds()
    figure("throttled_import_429s", throttled)
    figure("throttled_import_created", f"{created}/{THROTTLED_ORDERS}")
    figure("throttled_import_seconds", round(seconds, 1))
    figure("throttled_import_ratio", round(seconds / _bucket_minimum(calls), 3))
    figure("throttled_import_process_seconds", round(process_seconds, 1))


def test_bench_worker_rss(sandbox, tenant, customer, warehouse):
    seller = sandbox.seller([AU])
    sandbox.orders(seller["selling_partner_id"], RSS_ORDERS, AU, "BENCH-4")
    stock(customer, warehouse, "BENCH-4", RSS_ORDERS * 2)
    integration = integration_for(seller, AU, customer, warehouse, tenant)
    env = worker_env(sandbox)
    done = subprocess.run([sys.executable, "manage.py", "orders_import", str(integration.id), "--no-progress"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["created"] == RSS_ORDERS
    figure("worker_rss_start_mb", summary["start_rss_mb"])
    figure("worker_rss_mb", summary["max_rss_mb"])
    figure("worker_orders_per_second", summary["orders_per_second"])
    assert ImportRun.objects.get(integration=integration).imported == RSS_ORDERS
