"""Push intake: the marketplaces tell us an order changed, and we import just that order within seconds.

- Amazon ORDER_CHANGE: on activation the seller is subscribed to our SQS destination; the consumer
  (`manage.py amazon_push_consumer`) long-polls the queue and calls `push_events_import` per batch.
- Etsy ORDER_PAID: Etsy posts a signed webhook (Standard Webhooks) to our endpoint per shop; the view
  verifies it and queues `push_event_import` in a task.

A push is only a hint: the order is always read back from the marketplace API and imported through
the one import service, so a forged, repeated or reordered push cannot change anything by itself.
Polling stays as the backstop, less often while an integration's push channel is healthy.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..models import ImportRun, Integration, PushDelivery
from ..providers.amazon.mapping import FEED_PROCESSING_FINISHED
from ..providers.base import PushEvent, ProviderError
from .connection import connection_for, provider_for
from .log import DEBUG, INFO, log_entry
from .orders import ImportResult, orders_import

logger = logging.getLogger(__name__)

CONSUMER_HEARTBEAT_KEY = "hub:push:amazon:consumer"
CONSUMER_STALE_SECONDS = 120
# An Etsy shop counts as pushing while a webhook arrived this recently; a quiet shop is polled as usual.
ETSY_PUSH_QUIET = dt.timedelta(hours=24)
Marketplace = Integration.Marketplace


# --- health and the poll backstop ------------------------------------------------------------------

def amazon_consumer_heartbeat() -> None:
    try:
        cache.set(CONSUMER_HEARTBEAT_KEY, time.time(), timeout=CONSUMER_STALE_SECONDS)
    except Exception:  # noqa: BLE001 - the cache is down: beat then polls as often as without push
        logger.warning("push_consumer.heartbeat_failed")


def amazon_consumer_alive() -> bool:
    try:
        return cache.get(CONSUMER_HEARTBEAT_KEY) is not None
    except Exception:  # noqa: BLE001 - cache down: assume no push, poll as often as ever
        return False


def integrations_due_for_poll(*, now: dt.datetime | None = None) -> QuerySet[Integration]:
    """Active integrations whose poll is due: every ORDERS_POLL_MINUTES (Etsy: ETSY_ORDERS_POLL_MINUTES),
    or every ORDERS_POLL_MINUTES_WITH_PUSH while their push channel is healthy. One query."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.ORDERS_POLL_MINUTES)
    etsy_cutoff = now - dt.timedelta(minutes=settings.ETSY_ORDERS_POLL_MINUTES)
    push_cutoff = now - dt.timedelta(minutes=settings.ORDERS_POLL_MINUTES_WITH_PUSH)
    etsy = Q(marketplace=Marketplace.ETSY)
    due = (Q(last_import_at__isnull=True) | (~etsy & Q(last_import_at__lte=cutoff))
           | (etsy & Q(last_import_at__lte=etsy_cutoff)))
    healthy = Q(marketplace=Marketplace.ETSY, push_enabled_at__isnull=False,
                push_last_event_at__gte=now - ETSY_PUSH_QUIET)
    if amazon_consumer_alive():
        healthy |= Q(marketplace=Marketplace.AMAZON, push_enabled_at__isnull=False)
    return (Integration.objects.filter(status=Integration.Status.ACTIVE).filter(due)
            .exclude(healthy & Q(last_import_at__gt=push_cutoff)))


def push_channel_healthy(*, integration: Integration) -> bool:
    if integration.push_enabled_at is None:
        return False
    if integration.marketplace == Marketplace.AMAZON:
        return amazon_consumer_alive()
    return bool(integration.push_last_event_at and integration.push_last_event_at >= timezone.now() - ETSY_PUSH_QUIET)


# --- turning the channel on and off -----------------------------------------------------------------

def integration_push_enable(*, integration: Integration) -> bool:
    """Called (in a task) when an integration becomes active. Never fails the activation: without push
    the integration is simply polled at the normal interval."""
    if integration.marketplace == Marketplace.AMAZON:
        arn = settings.AMAZON_NOTIFICATIONS_SQS_ARN
        if not arn:
            return False
        provider = provider_for(integration)
        conn = connection_for(integration, provider)
        name = settings.AMAZON_NOTIFICATIONS_DESTINATION_NAME
        try:
            subscription_id = provider.push_subscribe(conn=conn, sqs_arn=arn, destination_name=name)
        except ProviderError as exc:
            log_entry(integration=integration, level=INFO, event="push.unavailable",
                      message=f"Amazon order notifications could not be turned on ({exc.message}). Orders are "
                              f"still imported every {settings.ORDERS_POLL_MINUTES:g} minutes.")
            return False
        try:
            feed_subscription_id = provider.push_subscribe(conn=conn, sqs_arn=arn, destination_name=name,
                                                           notification_type=FEED_PROCESSING_FINISHED)
        except ProviderError as exc:              # stock feeds are then checked with getFeed now and then
            feed_subscription_id = ""
            logger.info("push.feed_notifications_unavailable", extra={"integration_id": integration.pk,
                                                                      "reason": exc.message})
        Integration.objects.filter(pk=integration.pk).update(push_subscription_id=subscription_id,
                                                             feed_subscription_id=feed_subscription_id,
                                                             push_enabled_at=timezone.now())
        log_entry(integration=integration, level=INFO, event="push.enabled",
                  message="Amazon order notifications (ORDER_CHANGE) are on: new orders arrive within seconds; "
                          "the regular poll stays as a backstop.")
        return True
    if not settings.ETSY_WEBHOOK_SIGNING_SECRET:
        return False
    Integration.objects.filter(pk=integration.pk).update(push_enabled_at=timezone.now())
    return True


def integration_push_disable(*, integration_id: int, account_id: str, marketplace_id: str,
                             subscription_id: str, feed_subscription_id: str = "") -> None:
    """Called (in a task) after an integration is deleted. The subscriptions are the seller's: each stays
    while another live integration of the same seller uses it."""
    Integration.objects.filter(pk=integration_id).update(push_subscription_id="", feed_subscription_id="",
                                                         push_enabled_at=None)
    from ..providers.base import Connection

    others = (Integration.objects.exclude(pk=integration_id).exclude(status=Integration.Status.DELETED)
              .filter(marketplace=Marketplace.AMAZON, account_id=account_id))
    provider = provider_for(Integration(marketplace=Marketplace.AMAZON))
    conn = Connection(account_id=account_id, refresh_token="", marketplace_id=marketplace_id)
    if subscription_id and not others.filter(push_subscription_id=subscription_id).exists():
        provider.push_unsubscribe(conn=conn, subscription_id=subscription_id)
    if feed_subscription_id and not others.filter(feed_subscription_id=feed_subscription_id).exists():
        provider.push_unsubscribe(conn=conn, subscription_id=feed_subscription_id,
                                  notification_type=FEED_PROCESSING_FINISHED)


# --- intake -----------------------------------------------------------------------------------------

def push_targets(*, marketplace: str, event: PushEvent) -> list[Integration]:
    """The active integrations an event is for: the seller (and marketplace) on Amazon, the shop on Etsy."""
    qs = Integration.objects.filter(status=Integration.Status.ACTIVE, marketplace=marketplace).select_related(
        "tenant", "customer", "default_warehouse")
    if marketplace == Marketplace.AMAZON:
        qs = qs.filter(account_id=event.account_id)
        if event.marketplace_id:
            qs = qs.filter(marketplace_id=event.marketplace_id)
    else:
        qs = qs.filter(shop_id=event.account_id)
    return list(qs.order_by("id"))


def push_event_import(*, integration: Integration, event: PushEvent) -> ImportResult:
    """Imports the one order an event names, through the one import service. Raises ProviderError when
    the marketplace could not be read (the push is then redelivered, and the poll is the backstop)."""
    return push_events_import(integration=integration, events=[event])


def push_events_import(*, integration: Integration, events: Sequence[PushEvent]) -> ImportResult:
    """Imports the orders a batch of events names in one run: the provider reads them together (on
    Amazon one getOrders per 50 ids), which keeps a burst of pushes within the marketplace's plans.
    Raises ProviderError when the marketplace could not be read (the pushes are then redelivered, and
    the poll is the backstop)."""
    Integration.objects.filter(pk=integration.pk).update(push_last_event_at=timezone.now())
    order_ids = list(dict.fromkeys(e.order_id for e in events))
    lines = {e.order_id: e.lines for e in events if e.lines}
    result = orders_import(integration=integration, order_ids=order_ids, kind=ImportRun.Kind.PUSH,
                           pushed_lines=lines)
    logger.info("push.imported", extra={"integration_id": integration.id, "count": len(order_ids),
                                        "created_count": len(result.created)})
    return result


def push_delivery_record(*, source: str, event_id: str) -> bool:
    """True the first time an event id is seen; False for a repeat (a replay or a duplicate delivery)."""
    try:
        with transaction.atomic():
            PushDelivery.objects.create(source=source, event_id=event_id[:100])
    except IntegrityError:
        return False
    return True


def push_deliveries_prune(*, older_than: dt.timedelta = dt.timedelta(days=1)) -> int:
    # Deliveries older than the signature tolerance (5 minutes) can no longer be replayed: a day is plenty.
    return PushDelivery.objects.filter(received_at__lt=timezone.now() - older_than).delete()[0]


def push_log_ignored(*, integration: Integration, event: PushEvent, reason: str) -> None:
    log_entry(integration=integration, level=DEBUG, event="push.ignored", marketplace_order_id=event.order_id,
              message=f"A push for order {event.order_id} was ignored: {reason}.")
