"""Scale-out: job locks that cannot expire under a long run and die with their holder, and a beat
fan-out tick of a constant number of queries that polls less often while push is healthy."""

from __future__ import annotations

import datetime as dt
import time

import psycopg2
import pytest
from django.db import connection
from django.utils import timezone

from integrations.locks import _job_key, job_lock
from integrations.models import Integration
from integrations.services.push import amazon_consumer_heartbeat, integrations_due_for_poll
from integrations.tasks import orders_import_due
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def other_session():
    s = connection.settings_dict
    conn = psycopg2.connect(dbname=s["NAME"], user=s["USER"], host=s["HOST"], port=s["PORT"] or 5432)
    conn.autocommit = True
    return conn


def test_a_job_lock_is_held_by_the_session_until_released_or_the_holder_dies(amazon_integration):
    holder = other_session()
    with holder.cursor() as cursor:          # another worker's connection takes the lock...
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_job_key("orders_import"), amazon_integration.id])
        assert cursor.fetchone()[0]
    with job_lock("orders_import", amazon_integration.id, ttl=1) as mine:
        assert not mine                      # ...and no TTL ever hands it to us while it lives
    with job_lock("inventory_push", amazon_integration.id) as other_job:
        assert other_job                     # other jobs and integrations are not blocked
    holder.close()                           # the worker died (SIGKILL closes its socket the same way)
    deadline = time.time() + 10              # the server ends the session's backend a moment later
    while True:
        with job_lock("orders_import", amazon_integration.id) as mine:
            if mine or time.time() > deadline:
                break
        time.sleep(0.05)
    with job_lock("orders_import", amazon_integration.id) as mine:
        assert mine
        probe = other_session()
        with probe.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_job_key("orders_import"), amazon_integration.id])
            assert not cursor.fetchone()[0]  # we hold it now
        probe.close()


def _integrations(tenant, n, marketplace="amazon", **fields):
    return [Integration.objects.create(tenant=tenant, customer=CustomerFactory(tenant=tenant), marketplace=marketplace,
                                       name=f"i{i}", status="active", **fields) for i in range(n)]


def test_the_fan_out_tick_is_one_query_however_many_integrations(tenant, django_assert_max_num_queries, settings):
    settings.ORDERS_POLL_MINUTES = 5
    _integrations(tenant, 30)
    with django_assert_max_num_queries(1):
        assert orders_import_due() == 30


def test_a_healthy_push_channel_polls_less_often_and_a_dead_consumer_restores_the_poll(tenant, settings):
    settings.ORDERS_POLL_MINUTES, settings.ORDERS_POLL_MINUTES_WITH_PUSH = 5, 30
    now = timezone.now()
    ten_minutes_ago = now - dt.timedelta(minutes=10)
    pushed, plain, etsy_quiet, etsy_busy = (
        _integrations(tenant, 1, marketplace="amazon", push_enabled_at=now, last_import_at=ten_minutes_ago)[0],
        _integrations(tenant, 1, marketplace="amazon", last_import_at=ten_minutes_ago)[0],
        _integrations(tenant, 1, marketplace="etsy", push_enabled_at=now, last_import_at=ten_minutes_ago)[0],
        _integrations(tenant, 1, marketplace="etsy", push_enabled_at=now, push_last_event_at=now,
                      last_import_at=ten_minutes_ago)[0])
    # No consumer heartbeat: Amazon's push is not trusted; a shop whose webhooks arrive is.
    assert set(integrations_due_for_poll()) == {pushed, plain, etsy_quiet}
    amazon_consumer_heartbeat()
    assert set(integrations_due_for_poll()) == {plain, etsy_quiet}
    # The backstop still comes: 30 minutes after the last poll even a healthy channel is polled.
    Integration.objects.filter(pk__in=[pushed.pk, etsy_busy.pk]).update(last_import_at=now - dt.timedelta(minutes=31))
    assert set(integrations_due_for_poll()) == {pushed, plain, etsy_quiet, etsy_busy}


def test_amazon_is_polled_every_two_minutes_and_etsy_every_five_by_default(tenant):
    now = timezone.now()
    amazon_3, _amazon_1, _etsy_3, etsy_6 = (
        _integrations(tenant, 1, marketplace="amazon", last_import_at=now - dt.timedelta(minutes=3))[0],
        _integrations(tenant, 1, marketplace="amazon", last_import_at=now - dt.timedelta(minutes=1))[0],
        _integrations(tenant, 1, marketplace="etsy", last_import_at=now - dt.timedelta(minutes=3))[0],
        _integrations(tenant, 1, marketplace="etsy", last_import_at=now - dt.timedelta(minutes=6))[0])
    never = _integrations(tenant, 1, marketplace="etsy")[0]
    # Etsy's daily quota is per app, spent by every shop's polls: a shop waits longer than an Amazon seller.
    assert set(integrations_due_for_poll(now=now)) == {amazon_3, etsy_6, never}


def test_a_large_tick_queues_chunks_and_each_chunk_queues_every_one_of_its_integrations(tenant, settings, monkeypatch):
    from unittest import mock

    from integrations import tasks

    settings.ORDERS_POLL_MINUTES = 5
    made = _integrations(tenant, 25)
    monkeypatch.setattr(tasks, "FAN_OUT_CHUNK", 10)
    with mock.patch.object(tasks.fan_out_task, "apply_async") as chunk_publish, \
            mock.patch.object(tasks.orders_import_task, "apply_async") as import_publish:
        assert orders_import_due() == 25
        chunks = [c.args[0] for c in chunk_publish.call_args_list]
        assert import_publish.call_count == 0                 # the tick itself publishes only the chunks
        assert [len(ids) for _, ids in chunks] == [10, 10, 5]
        for name, ids in chunks:                              # a worker runs each chunk
            tasks.fan_out_task(name, ids)
    assert sorted(c.args[0][0] for c in import_publish.call_args_list) == sorted(i.id for i in made)
