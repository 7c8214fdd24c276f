"""A real Celery worker with beat, on Redis, against PostgreSQL and the Amazon sandbox: beat's tick
imports the sandbox's order, and beat's sweep confirms the dispatched package, once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from integrations.models import PackageConfirmation
from integrations.receivers import on_order_dispatched
from tests.processes import amazon_env, process_env
from warehouse.events import outbound_order_dispatched
from warehouse.models import OutboundOrder
from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch

from .conftest import AU

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(check, seconds=45):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    return None


@pytest.fixture
def worker(amazon, amazon_sandbox, tmp_path):
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    broker = f"{os.environ.get('TEST_REDIS_SERVER', 'redis://127.0.0.1:6379')}/{8 - index}"
    redis.Redis.from_url(broker).flushdb()
    env = process_env(CELERY_BROKER_URL=broker, REDIS_URL=broker, **amazon_env(amazon_sandbox.url),
                      ORDERS_IMPORT_TICK_SECONDS="1", CONFIRMATIONS_SWEEP_SECONDS="1", HUB_VAR_DIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "--pool", "solo",
                             "--loglevel", "WARNING", "-s", str(tmp_path / "beat")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield proc
    proc.terminate()
    proc.wait(timeout=30)
    redis.Redis.from_url(broker).flushdb()


def test_beat_tick_imports_and_sweep_confirms_through_a_real_worker(amazon, amazon_seller, amazon_integration, worker):
    order = amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders",
                        {"MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]})
    # Created, then allocated in its own transaction a moment later: wait for both.
    outbound = wait_for(lambda: OutboundOrder.objects.filter(reference=order["AmazonOrderId"],
                                                             status=OutboundOrder.Status.AWAITING_PICK).first())
    assert outbound is not None, worker.stdout.read1().decode(errors="replace") if worker.poll() is not None else ""
    assert outbound.status == OutboundOrder.Status.AWAITING_PICK

    # Dispatch without the on-commit trigger: only beat's sweep, in the worker, can confirm it.
    uid = "integrations.confirm_on_dispatch"
    assert outbound_order_dispatched.disconnect(dispatch_uid=uid)
    try:
        outbound_order_dispatch(order=outbound, consignment=consignment_create(
            order=outbound, carrier="Australia Post", packages=[PackageSpec("AP-BEAT-1")]))
    finally:
        outbound_order_dispatched.connect(on_order_dispatched, dispatch_uid=uid)
    assert wait_for(lambda: PackageConfirmation.objects.filter(state="confirmed").exists())
    time.sleep(2.5)                      # more sweeps run: still one confirmation
    state = amazon.get(f"sellers/{amazon_seller['selling_partner_id']}")
    assert [c["body"]["packageDetail"]["trackingNumber"] for c in state["confirmations"]] == ["AP-BEAT-1"]
