"""The job around the rules: the command, the daily beat task, and a purge racing an import."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from config.celery import app as celery_app
from pii.models import PurgeRun
from pii.services import Reason, pii_purge_tenant
from pii.tasks import pii_purge_due, pii_purge_tenant_task
from warehouse.models import Address, OutboundOrder

from .conftest import BUYER


@pytest.mark.django_db
def test_the_command_prints_one_json_line_per_tenant(orders, tenant, other_tenant):
    cleared = orders.dispatched(days=45)
    orders.dispatched(days=2)
    orders.open()

    out = io.StringIO()
    call_command("pii_purge", "--dry-run", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {line["tenant"] for line in lines} == {tenant.slug, other_tenant.slug}
    mine = next(line for line in lines if line["tenant"] == tenant.slug)
    assert mine == {"tenant": tenant.slug, "dry_run": True, "eligible": 1, "cleared": 0,
                    "kept": {Reason.DISPATCHED_RECENTLY: 1, Reason.OPEN_ORDER: 1}}
    assert Address.objects.get(pk=cleared.delivery_address_id).personal_data_purged_at is None

    out = io.StringIO()
    call_command("pii_purge", "--tenant", tenant.slug, stdout=out)
    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert (line["eligible"], line["cleared"], line["dry_run"]) == (1, 1, False)
    assert Address.objects.get(pk=cleared.delivery_address_id).personal_data_purged_at is not None
    assert BUYER["contact_name"] not in out.getvalue()


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_tenant_and_changes_nothing(orders):
    orders.dispatched(days=45)
    with pytest.raises(CommandError, match="No tenant"):
        call_command("pii_purge", "--tenant", "nobody", stdout=io.StringIO())
    assert not PurgeRun.objects.exists()
    assert not Address.objects.filter(personal_data_purged_at__isnull=False).exists()


def test_beat_runs_the_purge_daily():
    entry = settings.CELERY_BEAT_SCHEDULE["pii-purge-due"]
    assert entry["task"] == "pii.tasks.pii_purge_due" and entry["task"] in celery_app.tasks
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert len(schedule.hour) == 1 and len(schedule.minute) == 1 and len(schedule.day_of_month) == 31


@pytest.mark.django_db
def test_the_beat_task_fans_out_per_tenant_and_returns_counts_only(orders, tenant, other_tenant, eager_tasks):
    orders.dispatched(days=45)
    assert pii_purge_due.delay().get() == 2
    assert PurgeRun.objects.count() == 2
    assert Address.objects.get().personal_data_purged_at is not None
    # The per-tenant task takes an id and returns counts: no buyer data in arguments or results.
    result = pii_purge_tenant_task.delay(tenant.id).get()
    assert result == {"tenant": tenant.slug, "dry_run": False, "eligible": 0, "cleared": 0, "kept": {}}
    assert pii_purge_tenant_task.delay(999_999).get() is None


# --- racing an import --------------------------------------------------------------------------

def _waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_purge_racing_an_import_leaves_the_address_that_gains_an_open_order(orders, tenant, now):
    """An import inserts a new open order for an eligible address and has not committed yet when the
    purge reaches that address: the purge waits for it, sees the order, and keeps the address."""
    old = orders.dispatched(days=40)
    other = orders.dispatched(days=40)            # a bystander in the same batch: still cleared
    inserted, commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    result = {}

    def importer():
        try:
            with transaction.atomic():
                OutboundOrder.objects.create(
                    tenant=tenant, customer=old.customer, warehouse=old.warehouse, reference="RACE-1",
                    source="amazon", delivery_address_id=old.delivery_address_id,
                    status=OutboundOrder.Status.AWAITING_PICK)
                inserted.set()
                commit.wait(30)
        except BaseException as exc:          # noqa: B902 - reported to the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    def purger():
        try:
            result["counts"] = pii_purge_tenant(tenant=tenant, now=now)
        except BaseException as exc:          # noqa: B902
            errors.append(exc)
        finally:
            connections.close_all()

    imp = threading.Thread(target=importer)
    imp.start()
    assert inserted.wait(30)
    pur = threading.Thread(target=purger)
    pur.start()
    # The purge must be blocked on the row the import holds, not done already.
    deadline = time.monotonic() + 30
    while _waiting_on_a_lock() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _waiting_on_a_lock() >= 1 and pur.is_alive()
    commit.set()
    imp.join(30)
    pur.join(60)
    assert not errors, errors

    kept = Address.objects.get(pk=old.delivery_address_id)
    assert kept.personal_data_purged_at is None and kept.contact_name == BUYER["contact_name"]
    assert Address.objects.get(pk=other.delivery_address_id).personal_data_purged_at == now
    counts = result["counts"]
    assert (counts.eligible, counts.cleared, dict(counts.kept)) == (1, 1, {Reason.OPEN_ORDER: 1})
