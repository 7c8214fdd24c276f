"""`make bench` figures for push intake and scale-out, one `name: value` line each:

- order_latency_p95_push / order_latency_p95_poll: order placed in the sandbox -> outbound order
  committed, with a Celery worker and the ORDER_CHANGE consumer running (push), and with polling alone
  (beat + worker; BENCH_POLL_MINUTES, default the product's 5).
- confirmation_latency_p95: dispatch commit -> the sandbox has the confirmation, with a worker running,
  dispatching at BENCH_CONFIRM_PER_SECOND (1.5/s: within one seller's confirmShipment plan of 2 rps).
- fanout_tick: seconds and queries for one beat tick over 10,000 active integrations, publishing to Redis.
- inventory_sync: marketplace calls and seconds to send 10,000 SKUs' levels to Amazon and read which it
  took (the feed finished by FEED_PROCESSING_FINISHED through the consumer).
- api_latency: GET /api/v1/outbound-orders/ with 100,000 orders in PostgreSQL, 16 concurrent clients
  against gunicorn: p50 and p95.

Sizes can be lowered with BENCH_* variables on a busy machine; the line says what was measured.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from integrations.models import ImportedOrder, Integration, InventoryFeed, PackageConfirmation
from integrations.push_consumer import AmazonPushConsumer
from integrations.services.inventory import inventory_push
from integrations.services.push import integration_push_enable
from integrations.tasks import fan_out_task, orders_import_due
from integrations.tests.conftest import amazon, sqs_queue, sqs_server  # noqa: F401 - fixtures
from integrations.tests.test_chaos import Processes
from tests.processes import amazon_env, app_publishing_to, process_env, redis_test_db
from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory
from warehouse.models import OutboundOrder
from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch

ROOT = Path(__file__).resolve().parents[1]
AU = "A39IBJ37TRP1C6"


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_env(amazon_sandbox, broker: str, tmp: Path, **extra: str) -> dict[str, str]:
    return process_env(**{
        "CELERY_BROKER_URL": broker, "REDIS_URL": broker, **amazon_env(amazon_sandbox.url),
        "HUB_VAR_DIR": str(tmp), "LOG_LEVEL": "WARNING", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "SQS_WAIT_SECONDS": "2", **extra})


@pytest.fixture
def broker(tmp_path):
    url = redis_test_db(3)                                                                       # not the suite's
    redis.Redis.from_url(url).flushdb()
    with app_publishing_to(url):
        yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def seller_integration(amazon, amazon_sandbox, tenant, customer, warehouse):  # noqa: F811
    amazon_sandbox.set_rate_limits(enabled=False)
    seller = amazon.post("sellers", {"marketplace_ids": [AU]})
    product = ProductFactory(customer=customer, code="BENCH-1")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=100_000)
    integration = Integration.objects.create(
        tenant=tenant, customer=customer, marketplace="amazon", name="bench", status="active", marketplace_id=AU,
        account_id=seller["selling_partner_id"], refresh_token=seller["refresh_token"], default_warehouse=warehouse,
        orders_watermark=timezone.now(), last_import_at=timezone.now())
    return integration, seller


def _place_and_wait(amazon, seller, count: int, spread: float, timeout: float) -> list[float]:  # noqa: F811
    placed: dict[str, float] = {}
    for _ in range(count):
        order = amazon.post(f"sellers/{seller['selling_partner_id']}/orders",
                            {"MarketplaceId": AU, "items": [{"SellerSKU": "BENCH-1", "QuantityOrdered": 1}]})
        placed[order["AmazonOrderId"]] = time.time()
        time.sleep(spread / count)
    latencies: dict[str, float] = {}
    deadline = time.time() + timeout
    while len(latencies) < count and time.time() < deadline:
        for ref, created in ImportedOrder.objects.filter(marketplace_order_id__in=placed).exclude(
                marketplace_order_id__in=latencies).values_list("marketplace_order_id", "created_at"):
            latencies[ref] = created.timestamp() - placed[ref]
        time.sleep(0.2)
    assert len(latencies) == count, f"{count - len(latencies)} orders never arrived"
    return sorted(latencies.values())


def _order_latency(amazon, amazon_sandbox, seller, broker, tmp_path, *, parts: tuple[str, ...],  # noqa: F811
                   env: dict[str, str], count: int, spread: float, timeout: float, settle: float = 0.0) -> list[float]:
    """Starts `parts` (worker, consumer, beat), places `count` orders over `spread` seconds and returns each
    one's seconds from placed to committed as an outbound order."""
    procs = Processes(worker_env(amazon_sandbox, broker, tmp_path, **env), tmp_path)
    for name in parts:
        procs.start(name)
    try:
        time.sleep(settle)
        return _place_and_wait(amazon, seller, count, spread=spread, timeout=timeout)
    finally:
        procs.stop()


def _latency_line(name: str, latencies: list[float], what: str, digits: int) -> str:
    return (f"\n{name}: {p95(latencies):.{digits}f} s (p50 {statistics.median(latencies):.{digits}f} s, {what})")


@pytest.mark.django_db(transaction=True)
def test_bench_order_latency_with_push(amazon, amazon_sandbox, seller_integration, sqs_queue, broker,  # noqa: F811
                                       tmp_path):
    integration, seller = seller_integration
    assert integration_push_enable(integration=integration)
    client, queue_url = sqs_queue
    count = int(os.environ.get("BENCH_PUSH_ORDERS", "200"))
    latencies = _order_latency(amazon, amazon_sandbox, seller, broker, tmp_path, parts=("worker0", "consumer"),
                               env={"AMAZON_NOTIFICATIONS_QUEUE_URL": queue_url, "ORDERS_POLL_MINUTES": "60",
                                    "SQS_ENDPOINT_URL": client.meta.endpoint_url},
                               count=count, spread=20, timeout=180, settle=3)
    print(_latency_line("order_latency_p95_push", latencies, f"{count} orders over 20 s, 1 consumer, goal <= 10 s", 2))


@pytest.mark.django_db(transaction=True)
def test_bench_order_latency_polling_alone(amazon, amazon_sandbox, seller_integration, broker, tmp_path):  # noqa: F811
    integration, seller = seller_integration
    minutes = float(os.environ.get("BENCH_POLL_MINUTES", str(settings.ORDERS_POLL_MINUTES)))
    count = int(os.environ.get("BENCH_POLL_ORDERS", "200"))
    per_minute = float(os.environ.get("BENCH_POLL_ORDERS_PER_MINUTE", "25"))
    # Orders arrive evenly at a busy seller's pace that its getOrderItems plan carries (0.5 rps is 30 a
    # minute, 27 with our margin): faster, and a backlog grows whatever the poll interval.
    spread = count / per_minute * 60
    latencies = _order_latency(amazon, amazon_sandbox, seller, broker, tmp_path, parts=("worker0", "beat"),
                               env={"ORDERS_POLL_MINUTES": str(minutes), "ORDERS_IMPORT_TICK_SECONDS": "10"},
                               count=count, spread=spread, timeout=spread + minutes * 60 + 180)
    print(_latency_line("order_latency_p95_poll", latencies,
                        f"{count} orders at {per_minute:g} a minute, poll every {minutes:g} min (the default), "
                        "beat tick 10 s; goal <= 180 s", 1))


@pytest.mark.django_db(transaction=True)
def test_bench_confirmation_latency(amazon, amazon_sandbox, seller_integration, broker, tmp_path):  # noqa: F811
    integration, seller = seller_integration
    count = int(os.environ.get("BENCH_CONFIRM_ORDERS", "100"))
    # One seller's confirmShipment plan is 2 requests a second (burst 10): dispatches faster than that
    # queue at Amazon's door whatever the product does, so the warehouse dispatches at a busy pace within it.
    pace = float(os.environ.get("BENCH_CONFIRM_PER_SECOND", "1.5"))
    amazon.post(f"sellers/{seller['selling_partner_id']}/orders",
                {"count": count, "template": {"MarketplaceId": AU, "items": [{"SellerSKU": "BENCH-1", "QuantityOrdered": 1}]}})
    from integrations.services.orders import orders_import

    integration.orders_watermark = timezone.now() - dt.timedelta(hours=1)
    orders_import(integration=integration)
    procs = Processes(worker_env(amazon_sandbox, broker, tmp_path), tmp_path)
    procs.start("worker0")
    try:
        time.sleep(3)
        dispatched_at: dict[int, float] = {}
        for order in OutboundOrder.objects.filter(status=OutboundOrder.Status.AWAITING_PICK)[:count]:
            outbound_order_dispatch(order=order, consignment=consignment_create(
                order=order, carrier="Australia Post", packages=[PackageSpec(f"AP{order.id}")]))
            dispatched_at[order.id] = time.time()
            time.sleep(1 / pace)
        deadline = time.time() + 120
        while time.time() < deadline and PackageConfirmation.objects.filter(state="confirmed").count() < len(dispatched_at):
            time.sleep(0.2)
    finally:
        procs.stop()
    latencies = sorted(c.timestamp() - dispatched_at[oid] for oid, c in PackageConfirmation.objects.filter(
        state="confirmed").values_list("imported_order__order_id", "confirmed_at"))
    assert len(latencies) == len(dispatched_at)
    print(f"\nconfirmation_latency_p95: {p95(latencies):.2f} s (p50 {statistics.median(latencies):.2f} s, "
          f"{len(latencies)} dispatches at {pace:g}/s for one seller, confirmShipment plan 2 rps; goal <= 5 s)")


@pytest.mark.django_db(transaction=True)
def test_bench_fanout_tick(tenant, broker):
    n = int(os.environ.get("BENCH_INTEGRATIONS", "10000"))
    customers = CustomerFactory._meta.model.objects.bulk_create(
        [CustomerFactory.build(tenant=tenant, name=f"C{i}") for i in range(n)], batch_size=2000)
    Integration.objects.bulk_create([Integration(tenant=tenant, customer=c, marketplace="amazon", name=f"I{i}",
                                                 status="active") for i, c in enumerate(customers)], batch_size=2000)
    r = redis.Redis.from_url(broker)
    r.flushdb()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        queued = orders_import_due()
        seconds = time.perf_counter() - started
    # The tick queues chunks of ids; workers turn each chunk into one import task per integration.
    chunks = [json.loads(base64.b64decode(json.loads(m)["body"]))[0] for m in r.lrange("celery", 0, -1)]
    r.delete("celery")
    started = time.perf_counter()
    for task_name, ids in chunks:
        fan_out_task(task_name, ids)
    chunk_seconds = time.perf_counter() - started
    assert queued == n == sum(len(ids) for _, ids in chunks) == r.llen("celery")
    print(f"\nfanout_tick: {seconds:.2f} s, {len(queries)} queries, {n} integrations in {len(chunks)} messages to "
          f"Redis (goal <= 2 s); the workers' chunks then queue the {n} imports in {chunk_seconds:.2f} s in all")


@pytest.mark.django_db
def test_bench_inventory_sync(amazon, amazon_sandbox, seller_integration, warehouse, customer, sqs_queue):  # noqa: F811
    """10,000 SKUs to Amazon: submitted in one feed, finished when FEED_PROCESSING_FINISHED comes through
    the consumer (its task run in-process here). Seconds include Amazon's (the sandbox's) processing."""
    integration, seller = seller_integration
    n = int(os.environ.get("BENCH_SKUS", "10000"))
    from warehouse.models import Product, StockLevel

    products = Product.objects.bulk_create([ProductFactory.build(customer=customer, code=f"SKU-{i:05d}")
                                            for i in range(n)], batch_size=2000)
    StockLevel.objects.bulk_create([StockLevelFactory.build(product=p, warehouse=warehouse, on_hand=i % 50)
                                    for i, p in enumerate(products)], batch_size=2000)
    # Amazon takes stock only for SKUs it lists (the others come back refused): list them all first.
    with httpx.Client(base_url=f"{amazon_sandbox.url}/_sandbox/sellers/{seller['selling_partner_id']}/") as http:
        for product in products:
            http.post("listings", json={"sku": product.code, "quantity": 0}).raise_for_status()
    integration.inventory_enabled = True
    integration.save()
    integration.inventory_warehouses.set([warehouse])
    assert integration_push_enable(integration=integration)
    integration.refresh_from_db()
    client, url = sqs_queue
    consumer = AmazonPushConsumer(queue_url=url, endpoint_url=client.meta.endpoint_url, wait_seconds=2,
                                  visibility_seconds=10)
    amazon.post("settings", {"feed_step_seconds": 0.5})
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        before = len(amazon.calls(""))
        started = time.perf_counter()
        submitted = inventory_push(integration=integration)
        feed = InventoryFeed.objects.get(feed_id=submitted.reference)
        deadline = time.monotonic() + 120
        while feed.status == "processing" and time.monotonic() < deadline:
            consumer.poll_once()
            feed.refresh_from_db()
        seconds = time.perf_counter() - started
    finally:
        celery_app.conf.task_always_eager = eager
    made = amazon.calls("")[before:]
    assert feed.status == "done" and feed.accepted >= n
    # The LWA token (cached an hour in production) is not a call on the stock; each other one is named.
    token = sum(c["path"] == "/auth/o2/token" for c in made)
    kinds: dict[str, int] = {}
    for c in made:
        if c["path"] != "/auth/o2/token":
            kind = f"{c['method']} {'/'.join(c['path'].split('/')[:3 if c['path'].startswith('/_s3/') else 4])}"
            kinds[kind] = kinds.get(kind, 0) + 1
    print(f"\ninventory_sync: {len(made) - token} calls (+{token} LWA token), {seconds:.1f} s for "
          f"{feed.accepted} SKUs on Amazon (JSON_LISTINGS_FEED finished by FEED_PROCESSING_FINISHED: "
          f"{', '.join(f'{k} x{v}' for k, v in kinds.items())}; goal <= 6 calls)")
    assert len(made) - token <= 6


@pytest.mark.django_db(transaction=True)
def test_bench_api_latency(tenant, customer, warehouse, tmp_path):
    from warehouse.services.api_keys import api_key_create

    n = int(os.environ.get("BENCH_API_ORDERS", "100000"))
    OutboundOrder.objects.bulk_create([OutboundOrder(tenant=tenant, customer=customer, warehouse=warehouse,
                                                     reference=f"R{i:07d}", status="awaiting_pick")
                                       for i in range(n)], batch_size=5000)
    _, key = api_key_create(tenant=tenant, name="bench")
    with connection.cursor() as cursor:
        # As autovacuum does after a load this size: without statistics the planner takes the table for
        # empty, and reads and sorts all 100,000 rows for each page.
        cursor.execute("ANALYZE warehouse_outboundorder")
    port = free_port()
    env = process_env(DJANGO_DEBUG="false", ALLOWED_HOSTS="127.0.0.1", HUB_VAR_DIR=str(tmp_path), LOG_LEVEL="WARNING")
    workers = os.environ.get("BENCH_GUNICORN_WORKERS", "4")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
                               f"127.0.0.1:{port}", "--workers", workers, "--log-level", "warning"],
                              cwd=ROOT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api/v1/outbound-orders/"
    # As behind the production proxy, which terminates TLS and says so (SECURE_PROXY_SSL_HEADER).
    headers = {"Authorization": f"Api-Key {key}", "X-Forwarded-Proto": "https"}
    try:
        for _ in range(100):
            try:
                if httpx.get(url, headers=headers, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        per_client, timings, errors = int(os.environ.get("BENCH_API_REQUESTS", "25")), [], []

        def client():
            with httpx.Client(headers=headers, timeout=30) as http:
                for i in range(per_client):
                    started = time.perf_counter()
                    response = http.get(url, params={"status": "awaiting_pick"} if i % 2 else None)
                    timings.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        errors.append(response.status_code)

        threads = [threading.Thread(target=client) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert not errors, errors[:5]
    timings.sort()
    print(f"\napi_latency: p50 {statistics.median(timings) * 1000:.0f} ms, p95 {p95(timings) * 1000:.0f} ms "
          f"({len(timings)} requests, 16 clients, {n} orders, gunicorn {workers} workers)")
