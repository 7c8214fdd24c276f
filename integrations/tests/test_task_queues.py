"""Confirmations and push imports have queues of their own: under an import storm they do not wait behind the
default queue's polls, with a worker started as every worker is (no -Q) against real Redis."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from config.celery import app as celery_app
from integrations import tasks
from tests.processes import app_publishing_to, process_env, redis_test_db

ROOT = Path(__file__).resolve().parent.parent.parent
ROUTED = {
    tasks.confirmations_send_task: "confirmations",
    tasks.confirmation_send_task: "confirmations",
    tasks.confirmations_sweep_task: "confirmations",
    tasks.push_import_task: "push",
    tasks.orders_import_task: "celery",
    tasks.fan_out_task: "celery",
    tasks.orders_import_due: "celery",
}


def test_each_task_is_routed_to_its_queue_and_a_plain_worker_consumes_them_all():
    for task, queue in ROUTED.items():
        assert celery_app.amqp.router.route({}, task.name, (1,), {})["queue"].name == queue, task.name
    assert set(celery_app.amqp.queues.consume_from) == {"celery", "confirmations", "push"}
    # Each queue under its own routing key: none receives another's messages through the exchange.
    assert {q.routing_key for q in celery_app.amqp.queues.values()} == {"celery", "confirmations", "push"}


@pytest.fixture
def broker():
    """The app publishing to a Redis database of its own (the suite's tasks otherwise stay in memory)."""
    # Not a database another test uses (cache 15-14, runtime wiring 10-13, beat e2e 8-7, bench 3-2).
    url = redis_test_db(5)
    client = redis.Redis.from_url(url)
    client.flushdb()
    with app_publishing_to(url):
        yield url
    client.flushdb()


def test_bulk_publishing_keeps_the_routes(broker):
    """_publish_each (the fan-out's pipelined publishes) goes through the routes like .delay()."""
    client = redis.Redis.from_url(broker)
    tasks._publish_each(tasks.confirmation_send_task, [(1,), (2,)])
    tasks._publish_each(tasks.orders_import_task, [(3,)])
    tasks.push_import_task.delay(4, "receipt-1")
    assert (client.llen("confirmations"), client.llen("celery"), client.llen("push")) == (2, 1, 1)


def test_a_confirmation_and_a_push_import_run_before_a_long_default_queue_is_drained(broker, db, tmp_path):
    """200 polls queued first, then a confirmation and a push import; one worker (solo, so one task at a
    time, and no -Q) runs them among its first few tasks, not after the 200. Compared by completion order
    in the result backend, not by time."""
    polls = 200
    missing = 2_000_000_000                # no such integration or order: each task is a query and a no-op
    tasks._publish_each(tasks.orders_import_task, [(missing + i,) for i in range(polls)])
    confirmation = tasks.confirmations_send_task.delay(missing)
    push = tasks.push_import_task.delay(missing, "receipt-1")
    client = redis.Redis.from_url(broker)
    assert (client.llen("celery"), client.llen("confirmations"), client.llen("push")) == (polls, 1, 1)

    env = process_env(CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=broker, REDIS_URL=broker,
                      HUB_VAR_DIR=str(tmp_path), LOG_LEVEL="WARNING")
    log = open(tmp_path / "worker.log", "wb")           # noqa: SIM115 - closed below
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                               "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180                   # generous: a busy 2-core machine
        done: dict[str, dict] = {}
        while time.time() < deadline and len(done) < polls + 2 and worker.poll() is None:
            for key in client.scan_iter("celery-task-meta-*", count=1000):
                done.setdefault(key.decode().removeprefix("celery-task-meta-"), json.loads(client.get(key)))
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    output = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    assert len(done) == polls + 2, f"{len(done)} of {polls + 2} tasks ran; the worker said:\n{output}"
    assert all(r["status"] == "SUCCESS" for r in done.values()), output
    order = sorted(done, key=lambda task_id: done[task_id]["date_done"])
    # Redis serves the queues in turn: at most a poll or two before each (FIFO alone would put them last).
    assert order.index(confirmation.id) < 5 and order.index(push.id) < 5, \
        (order.index(confirmation.id), order.index(push.id))
