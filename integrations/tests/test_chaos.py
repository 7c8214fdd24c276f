"""Chaos: orders keep arriving while workers are SIGKILLed and Redis restarts; nothing is lost, nothing
is doubled. `make test` runs the small version (2 integrations, 50 orders, one kill); `make chaos`
runs the full one (CHAOS_SCALE=full: 20 integrations, 500 orders each, a kill every 20 s, Redis
restarted once, sandbox faults 10% 429 / 5% 500 / 2% answered after the client's timeout).

Everything is real: PostgreSQL, a redis-server of our own on a free port (never the machine's), Celery
workers (prefork) and beat as processes, the Amazon ORDER_CHANGE consumer, moto's SQS server, the
sandboxes over HTTP, and the web app (live_server) receiving Etsy's signed webhooks. Every order is
dispatched with tracking as soon as it is an outbound order awaiting pick.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import redis
from django.utils import timezone

from integrations.models import ConnectionLogEntry, ImportedOrder, Integration, PackageConfirmation, PendingImport
from integrations.services.push import integration_push_enable
from tests.processes import amazon_env, app_publishing_to, process_env
from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory
from warehouse.models import OutboundOrder

from .conftest import AU

ROOT = Path(__file__).resolve().parents[2]
WAREHOUSES = 2           # dispatching processes (chaos_warehouse.py), each its share of the orders
US = "ATVPDKIKX0DER"
SECRET = "whsec_Y2hhb3Mtd2ViaG9vay1zaWduaW5nLXNlY3JldA=="
pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class Scale:
    amazon: int                 # Amazon integrations (the first two share one seller, AU and US)
    etsy: int
    orders_each: int
    seconds: float              # orders arrive over this long
    workers: int
    kill_every: float           # seconds between SIGKILLs
    max_kills: int | None       # None: a kill every kill_every seconds until the end of the run
    restart_redis: bool
    error_rate: float           # 10% 429 + 5% 500 = 0.15, two thirds of it 429
    slow_rate: float            # answered after the client's timeout
    stall_seconds: float        # the drain gives up after this long without progress


SCALES = {
    "small": Scale(amazon=1, etsy=1, orders_each=25, seconds=12, workers=2, kill_every=6, max_kills=1,
                   restart_redis=False, error_rate=0.15, slow_rate=0.02, stall_seconds=120),
    "full": Scale(amazon=12, etsy=8, orders_each=500, seconds=240, workers=3, kill_every=20, max_kills=None,
                  restart_redis=True, error_rate=0.15, slow_rate=0.02, stall_seconds=180),
}
SCALE = SCALES[os.environ.get("CHAOS_SCALE", "small")]
# A shorter full run on a busy machine: CHAOS_ORDERS_EACH=100 CHAOS_SECONDS=90 make chaos
SCALE = replace(SCALE, orders_each=int(os.environ.get("CHAOS_ORDERS_EACH") or SCALE.orders_each),
                seconds=float(os.environ.get("CHAOS_SECONDS") or SCALE.seconds),
                stall_seconds=float(os.environ.get("CHAOS_STALL_SECONDS") or SCALE.stall_seconds))
# Log entries that say why an order or a package is still waiting (not those of things that went well).
EXPLAINS_IMPORT = {"orders_import.not_imported", "orders_import.not_found", "orders_import.gave_up",
                   "orders_import.retry_deferred", "orders_import.cancelled", "orders_import.cancelled_too_late"}
EXPLAINS_CONFIRMATION = {"confirmation.retry", "confirmation.outcome_unknown", "confirmation.rejected",
                         "confirmation.gave_up"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """Our own redis-server on a free port, with an append-only file so a restart keeps the queue."""

    def __init__(self, tmp: Path):
        self.port, self.dir = free_port(), tmp
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "yes", "--dir", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()             # SIGTERM: redis writes its append-only file and exits
            self.proc.wait(timeout=20)

    def restart(self) -> None:
        self.stop()
        time.sleep(1.0)
        self.start()


class Processes:
    """Workers (prefork), beat, the ORDER_CHANGE consumer and the warehouse, each in its own process group."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen] = {}
        self.kills = 0

    def start(self, name: str) -> None:
        celery = [sys.executable, "-m", "celery", "-A", "config"]
        if name.startswith("worker"):
            cmd = celery + ["worker", "--pool", "prefork", "--concurrency", "2", "--loglevel", "WARNING",
                            "-n", f"{name}@%h", "--without-gossip", "--without-mingle"]
        elif name == "beat":
            cmd = celery + ["beat", "--loglevel", "WARNING", "-s", str(self.logs / "beat-schedule")]
        elif name.startswith("warehouse"):
            cmd = [sys.executable, "-m", "integrations.tests.chaos_warehouse", name[-1], str(WAREHOUSES),
                   str(self.logs / "stop-warehouse"), str(self.logs / f"{name}.json")]
        else:
            cmd = [sys.executable, "manage.py", "amazon_push_consumer"]
        log = open(self.logs / f"{name}.log", "ab")        # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def kill_a_worker(self, rng: random.Random) -> str:
        name = rng.choice(sorted(n for n in self.procs if n.startswith("worker")))
        os.killpg(self.procs[name].pid, signal.SIGKILL)    # the worker and its pool children, no goodbye
        self.procs[name].wait()
        self.kills += 1
        self.start(name)
        return name

    def stop_warehouse(self) -> Counter:
        """Stops the warehouse processes after their current round; returns what they dispatched."""
        (self.logs / "stop-warehouse").touch()
        counts: Counter = Counter()
        for name in [n for n in self.procs if n.startswith("warehouse")]:
            try:
                self.procs[name].wait(timeout=60)
                counts.update(json.loads((self.logs / f"{name}.json").read_text()))
            except (subprocess.TimeoutExpired, FileNotFoundError):
                counts["warehouse process did not stop"] += 1
        return counts

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def chaos_broker(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    url = f"redis://127.0.0.1:{server.port}"
    # This process (the dispatch trigger, the webhook view in live_server) publishes to the same broker.
    with app_publishing_to(f"{url}/0", visibility_timeout=20):
        yield server, url
    server.stop()


def _customer_with_stock(tenant, warehouse):
    customer = CustomerFactory(tenant=tenant)
    customer.warehouses.add(warehouse)
    product = ProductFactory(customer=customer, code="MUG-01", name="Mug")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=SCALE.orders_each * 10)
    return customer


def _env(url: str, amazon_sandbox, etsy_sandbox, sqs_queue, logs: Path) -> dict[str, str]:
    client, queue_url = sqs_queue
    return process_env(**{
        "PYTHONUNBUFFERED": "1",
        "CELERY_BROKER_URL": f"{url}/0", "REDIS_URL": f"{url}/1", "CELERY_VISIBILITY_TIMEOUT": "20",
        **amazon_env(amazon_sandbox.url),
        "ETSY_API_BASE_URL": etsy_sandbox.url, "ETSY_TOKEN_URL": f"{etsy_sandbox.url}/v3/public/oauth/token",
        "ETSY_KEYSTRING": etsy_sandbox.keystring, "ETSY_SHARED_SECRET": etsy_sandbox.shared_secret,
        "ETSY_REQUESTS_PER_SECOND": "1000", "OAUTHLIB_INSECURE_TRANSPORT": "1",
        # Rate limits run a thousand times faster on both sides (as in the tests), so do retry back-offs.
        "MARKETPLACE_HTTP_TIMEOUT": "2", "MARKETPLACE_RATE_LIMIT_SCALE": "1000", "MARKETPLACE_RATE_LIMIT_MAX_WAIT": "5",
        "MARKETPLACE_RETRY_BASE_SECONDS": "0.05",
        "AMAZON_NOTIFICATIONS_QUEUE_URL": queue_url, "SQS_ENDPOINT_URL": client.meta.endpoint_url,
        "SQS_WAIT_SECONDS": "1", "SQS_VISIBILITY_SECONDS": "5",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        # The poll is the backstop for what a push missed; each re-reads ten minutes (orders.OVERLAP), so at
        # every 15 s twenty polls re-reading 500 orders each kept all the workers from the confirmations.
        "ORDERS_POLL_MINUTES": "1", "ORDERS_POLL_MINUTES_WITH_PUSH": "2", "ORDERS_IMPORT_TICK_SECONDS": "5",
        "CONFIRMATIONS_SWEEP_SECONDS": "3", "CONFIRMATION_RETRY_SECONDS": "5", "HUB_VAR_DIR": str(logs), "LOG_LEVEL": "WARNING",
    })


def _explained(events: set[str]) -> set[tuple[int, str]]:
    return set(ConnectionLogEntry.objects.filter(event__in=events).exclude(marketplace_order_id="")
               .values_list("integration_id", "marketplace_order_id"))


def _waiting(expected: set, imported: set) -> tuple[list, list]:
    """(explained, unexplained): orders not imported, packages not confirmed here and imports pending,
    each explained or not by a log entry saying why it waits."""
    imports, confirmations = _explained(EXPLAINS_IMPORT), _explained(EXPLAINS_CONFIRMATION)
    waiting = ([("not imported", m, m in imports) for m in expected - imported]
               + [("import pending", (p.integration_id, p.marketplace_order_id),
                   (p.integration_id, p.marketplace_order_id) in imports) for p in PendingImport.objects.all()]
               + [(f"confirmation {r.state}", key, key in confirmations)
                  for r in PackageConfirmation.objects.exclude(state="confirmed").select_related("imported_order")
                  for key in [(r.integration_id, r.imported_order.marketplace_order_id)]])
    return ([w[:2] for w in waiting if w[2]], sorted(w[:2] for w in waiting if not w[2]))


def _packages() -> set[tuple[str, str]]:
    """(marketplace order id, tracking) of every tracked package of a dispatched imported order."""
    return {(mid, tracking) for mid, tracking in ImportedOrder.objects.filter(
        order__status=OutboundOrder.Status.DISPATCHED).exclude(order__consignments__packages__tracking_number="")
        .values_list("marketplace_order_id", "order__consignments__packages__tracking_number")}


def _sandbox_confirmations(amazon, sellers, etsy, shops) -> Counter:
    amazon_confirmations = Counter(
        (c["amazon_order_id"], c["body"]["packageDetail"]["trackingNumber"])
        for seller in sellers for c in amazon.get(f"sellers/{seller['selling_partner_id']}")["confirmations"])
    etsy_confirmations = Counter((str(s["receipt_id"]), s["tracking_code"]) for _, shop in shops
                                 for s in etsy.get(f"shops/{shop['shop_id']}")["shipments"])
    return amazon_confirmations + etsy_confirmations


def test_chaos_every_order_once_every_package_confirmed_once(
        tenant, warehouse, amazon, amazon_sandbox, etsy, etsy_sandbox, sqs_queue, chaos_broker, live_server,
        settings, tmp_path, capsys):
    redis_server, url = chaos_broker
    rng = random.Random(18)
    settings.ETSY_WEBHOOK_SIGNING_SECRET = SECRET
    amazon_sandbox.set_rate_limits(enabled=True)
    etsy.post("rate_limits", {"per_second": 100000, "per_day": 10_000_000})
    etsy.post("webhooks", {"url": f"{live_server.url}/integrations/etsy/webhooks/{{shop_id}}/", "secret": SECRET,
                           "time_scale": 20})

    # -- integrations: Amazon (the first two share a seller: AU and US), Etsy --
    integrations, sellers = [], []
    for i in range(SCALE.amazon):
        if i == 1:
            seller, marketplace = sellers[0], US
        else:
            seller, marketplace = amazon.post("sellers", {"marketplace_ids": [AU, US]}), AU
            sellers.append(seller)
        integration = Integration.objects.create(
            tenant=tenant, customer=_customer_with_stock(tenant, warehouse), marketplace="amazon", name=f"A{i}",
            status="active", marketplace_id=marketplace, account_id=seller["selling_partner_id"],
            refresh_token=seller["refresh_token"], default_warehouse=warehouse, fulfilment_enabled=True)
        assert integration_push_enable(integration=integration)
        integrations.append((integration, seller, marketplace))
    shops = []
    for i in range(SCALE.etsy):
        shop = etsy.post("shops", {"shop_name": f"ChaosShop{i}"})
        grant = etsy.post("grants", {"user_id": shop["user_id"]})
        # As Connect leaves it: the access token with its expiry (an hour), so no refresh is due in the run.
        integration = Integration.objects.create(
            tenant=tenant, customer=_customer_with_stock(tenant, warehouse), marketplace="etsy", name=f"E{i}",
            status="active", account_id=str(shop["user_id"]), shop_id=str(shop["shop_id"]),
            shop_name=shop["shop_name"], refresh_token=grant["refresh_token"], access_token=grant["access_token"],
            access_token_expires_at=timezone.now() + dt.timedelta(seconds=grant["expires_in"]),
            default_warehouse=warehouse, fulfilment_enabled=True, push_enabled_at=None)
        shops.append((integration, shop))

    faults = {"error_rate": SCALE.error_rate, "error_statuses": [429, 429, 500], "slow_rate": SCALE.slow_rate,
              "slow_seconds": 2.5, "seed": 18}
    amazon.post("faults", faults)
    etsy.post("faults", faults)

    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(_env(url, amazon_sandbox, etsy_sandbox, sqs_queue, logs), logs)
    for n in range(SCALE.workers):
        procs.start(f"worker{n}")
    procs.start("beat")
    procs.start("consumer")
    for n in range(WAREHOUSES):
        procs.start(f"warehouse{n}")
    dispatched: Counter = Counter()

    # -- orders arrive over the run; a worker is killed every kill_every seconds; Redis restarts once --
    started = time.monotonic()
    made = {key: 0 for key in range(len(integrations) + len(shops))}
    next_kill, redis_restarted = started + SCALE.kill_every, False

    def maybe_kill() -> None:
        nonlocal next_kill
        if time.monotonic() >= next_kill and (SCALE.max_kills is None or procs.kills < SCALE.max_kills):
            procs.kill_a_worker(rng)
            next_kill += SCALE.kill_every

    try:
        while any(n < SCALE.orders_each for n in made.values()) or time.monotonic() - started < SCALE.seconds:
            elapsed = time.monotonic() - started
            due = min(SCALE.orders_each, int(SCALE.orders_each * min(1.0, elapsed / SCALE.seconds)) + 1)
            for key, (_integration, seller, marketplace) in enumerate(integrations):
                if made[key] < due:
                    amazon.post(f"sellers/{seller['selling_partner_id']}/orders", {
                        "count": due - made[key], "template": {"MarketplaceId": marketplace,
                                                               "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})
                    made[key] = due
            for j, (_integration, shop) in enumerate(shops):
                key = len(integrations) + j
                if made[key] < due:
                    etsy.post(f"shops/{shop['shop_id']}/receipts", {"count": due - made[key], "template": {
                        "status": "paid", "transactions": [{"sku": "MUG-01", "quantity": 1}]}})
                    made[key] = due
            maybe_kill()
            if SCALE.restart_redis and not redis_restarted and elapsed > SCALE.seconds / 2:
                redis_server.restart()
                redis_restarted = True
            time.sleep(0.5)
        if procs.kills == 0:
            procs.kill_a_worker(rng)

        # -- drain: until every order is imported and dispatched, every package is at the marketplace once,
        # and every row here is confirmed or waits for a retry the connection log explains. Kills go on. --
        expected_amazon = {(i.id, o["AmazonOrderId"]) for i, seller, marketplace in integrations
                           for o in amazon.get(f"sellers/{seller['selling_partner_id']}")["orders"]
                           if o["MarketplaceId"] == marketplace}
        expected_etsy = {(i.id, str(r["receipt_id"])) for i, shop in shops
                         for r in etsy.get(f"shops/{shop['shop_id']}")["receipts"]}
        expected = expected_amazon | expected_etsy
        progress, last_progress = None, time.monotonic()
        while time.monotonic() - last_progress < SCALE.stall_seconds:
            imported = set(ImportedOrder.objects.values_list("integration_id", "marketplace_order_id"))
            awaiting = OutboundOrder.objects.filter(status=OutboundOrder.Status.AWAITING_PICK).count()
            at_sandbox = _sandbox_confirmations(amazon, sellers, etsy, shops)
            unexplained = _waiting(expected, imported)[1]
            if expected <= imported and not awaiting and len(at_sandbox) >= len(expected) and not unexplained:
                break
            if (len(imported), awaiting, len(at_sandbox), len(unexplained)) != progress:
                progress, last_progress = (len(imported), awaiting, len(at_sandbox), len(unexplained)), time.monotonic()
            maybe_kill()
            time.sleep(2)
        drained = time.monotonic() - started
    finally:
        dispatched = procs.stop_warehouse()
        procs.stop()
        amazon.post("faults", {})
        etsy.post("faults", {})

    # -- the checks --
    imported = set(ImportedOrder.objects.values_list("integration_id", "marketplace_order_id"))
    outbound = Counter(OutboundOrder.objects.filter(tenant=tenant).values_list(
        "marketplace_link__integration_id", "marketplace_link__marketplace_order_id"))
    doubled = {k: n for k, n in outbound.items() if n > 1}
    missing, extra = expected - set(outbound), set(outbound) - expected
    packages = _packages()
    at_sandbox = _sandbox_confirmations(amazon, sellers, etsy, shops)
    confirmed_twice = {k: n for k, n in at_sandbox.items() if n > 1}
    never_confirmed, unknown_at_sandbox = packages - set(at_sandbox), set(at_sandbox) - packages
    rows = Counter(PackageConfirmation.objects.values_list("state", flat=True))
    explained, unexplained = _waiting(expected, imported)
    with capsys.disabled():
        print(f"\nchaos ({os.environ.get('CHAOS_SCALE', 'small')}): {len(integrations)} Amazon + {len(shops)} Etsy "
              f"integrations, {SCALE.workers} workers, {procs.kills} worker kills (SIGKILL), redis restarted: "
              f"{redis_restarted}, {drained:.0f} s")
        print(f"chaos_orders: sandbox {len(expected)}, outbound {sum(outbound.values())} "
              f"(missing {len(missing)}, doubled {len(doubled)}, not in the sandbox {len(extra)})")
        print(f"chaos_dispatched: {dispatched.pop('orders', 0)} (warehouse errors: {dict(dispatched)})")
        print(f"chaos_packages: dispatched {len(packages)}, confirmed at the sandbox {len(at_sandbox)} "
              f"({sum(at_sandbox.values())} calls; twice {len(confirmed_twice)}, never {len(never_confirmed)}), "
              f"confirmed here {rows['confirmed']} {dict(rows)}")
        print(f"chaos_waiting: explained {len(explained)} {explained[:3]}, unexplained {len(unexplained)} "
              f"{unexplained[:5]}")
    assert not doubled, doubled
    assert not missing, sorted(missing)[:10]
    assert not extra, sorted(extra)[:10]
    assert len(packages) == len(expected)                  # one package each, all dispatched
    assert not confirmed_twice, confirmed_twice
    assert not never_confirmed, sorted(never_confirmed)[:10]
    assert not unknown_at_sandbox, sorted(unknown_at_sandbox)[:10]
    assert not unexplained, unexplained
    assert procs.kills >= 1
