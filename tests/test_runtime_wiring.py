"""The parts that run: Celery worker and beat against real Redis, and `make run`'s embedded setup."""

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent


def _env(**overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(overrides)
    return env


@pytest.fixture
def redis_db():
    """A Redis database of its own, so parallel test workers don't share a queue."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    db = 10 + int(worker.removeprefix("gw") or 0) % 4
    url = f"{os.environ.get('TEST_REDIS_SERVER', 'redis://127.0.0.1:6379')}/{db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


def test_beat_schedules_heartbeat_and_worker_runs_it(redis_db, tmp_path):
    """`celery worker -B` against Redis: beat sends the heartbeat, the worker records it in the cache."""
    env = _env(DJANGO_SETTINGS_MODULE="config.settings", CELERY_BROKER_URL=redis_db, REDIS_URL=redis_db,
               HEARTBEAT_SECONDS="1", HUB_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-B", "--pool", "solo", "--loglevel", "WARNING",
         "-s", str(tmp_path / "beat-schedule")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    client = redis.Redis.from_url(redis_db)
    try:
        deadline = time.time() + 40
        beat = None
        while time.time() < deadline and beat is None:
            keys = client.keys("*hub:heartbeat*")
            beat = client.get(keys[0]) if keys else None
            time.sleep(0.3)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode(errors="replace")
    assert beat is not None, f"no heartbeat recorded; worker said:\n{output[-3000:]}"


def test_task_result_round_trip_through_redis_worker(redis_db, tmp_path):
    env = _env(DJANGO_SETTINGS_MODULE="config.settings", CELERY_BROKER_URL=redis_db,
               CELERY_RESULT_BACKEND=redis_db, REDIS_URL=redis_db, HUB_VAR_DIR=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        code = ("from warehouse.tasks import heartbeat; r = heartbeat.delay(); print(r.get(timeout=30))")
        out = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().startswith("20")   # an ISO timestamp came back from the worker


def test_make_run_configuration_migrates_and_checks(tmp_path):
    """No DATABASE_URL or CELERY_BROKER_URL: SQLite and the filesystem broker under var/."""
    env = _env(HUB_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CELERY_RESULT_BACKEND"):
        env.pop(key, None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for args in (["migrate", "--noinput", "-v0"], ["check"], ["seed_demo"]):
        result = subprocess.run(manage + args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"{args}: {result.stderr[-2000:]}"
    assert (tmp_path / "hub.sqlite3").exists()
    assert (tmp_path / "broker" / "queue").is_dir()
    assert "admin / admin-demo-pass" in result.stdout
    probe = subprocess.run(manage + ["shell", "-v0", "-c", "from django.conf import settings; "
                                     "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert probe.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]

    # The demo's Amazon orders: the purge counts them dry, clears the eligible ones, and then the
    # database file holds no Amazon buyer's name, street or phone (encrypted before, empty after).
    from warehouse.management.commands.seed_demo import AMAZON_DEMO_ORDERS

    dry = subprocess.run(manage + ["pii_purge", "--dry-run"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert json.loads(dry.stdout) == {"tenant": "harbour", "dry_run": True, "eligible": 3, "cleared": 0,
                                      "kept": {"dispatched_under_30_days": 1, "open_order": 1}}, dry.stderr[-2000:]
    real = subprocess.run(manage + ["pii_purge"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(real.stdout)["cleared"] == 3, real.stderr[-2000:]
    db = sqlite3.connect(tmp_path / "hub.sqlite3")
    dump = "\n".join(db.iterdump())
    db.close()
    assert "Sydney" in dump
    for _, buyer, street, phone, *_ in AMAZON_DEMO_ORDERS:
        assert buyer not in dump and street not in dump and phone not in dump


def test_embedded_broker_delivers_a_task_to_a_worker(tmp_path):
    """The filesystem transport `make run` uses: a worker picks the task up with no broker server, from each
    of the queues (a worker started without -Q, as `make run` starts it, consumes them all)."""
    env = _env(HUB_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings",
               CELERY_RESULT_BACKEND=f"file://{tmp_path}/results")
    (tmp_path / "results").mkdir()
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        env.pop(key, None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        code = ("from django.conf import settings; from warehouse.tasks import heartbeat\n"
                "for q in settings.CELERY_TASK_QUEUES: print(q.name, heartbeat.apply_async(queue=q.name).get(timeout=40))")
        out = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert out.returncode == 0, out.stderr[-2000:]
    replies = [line.split() for line in out.stdout.strip().splitlines()]
    assert [name for name, _ in replies] == ["celery", "confirmations", "push"]
    assert all(when.startswith("20") for _, when in replies)
