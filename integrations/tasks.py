"""Celery tasks: beat tasks only fan out; per-integration tasks take a job lock and call a service."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from .locks import job_lock
from .models import ConnectionLogEntry, Integration, InventoryFeed, OAuthState
from .providers.base import (
    FeedFinished,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    PushEvent,
)
from .services.confirmations import confirmation_send, confirmations_for_order, confirmations_sweep
from .services.connection import integration_mark_needs_reconnect
from .services.inventory import inventory_export_now, inventory_feed_finish, inventory_feeds_due, inventory_push
from .services.log import ERROR, INFO, log_entry
from .services.orders import orders_import
from .services.push import (
    integration_push_disable,
    integration_push_enable,
    integrations_due_for_poll,
    push_deliveries_prune,
    push_event_import,
)

logger = logging.getLogger(__name__)
FAN_OUT_BATCH = 1000
FAN_OUT_CHUNK = 500


def _active(integration_id: int) -> Integration | None:
    # None when disconnected, turned off or deleted since the task was queued.
    return Integration.objects.filter(id=integration_id, status=Integration.Status.ACTIVE).select_related(
        "tenant", "customer", "default_warehouse").first()


@shared_task(acks_late=True)
def orders_import_due() -> int:
    """Beat: queue an import for every active integration whose poll interval has passed. One query and
    at most a few dozen publishes however many integrations there are (see _fan_out). A spent daily quota (Etsy) holds the
    integration until the marketplace's retry-after."""
    now = timezone.now()
    ids = list(integrations_due_for_poll(now=now)
               .filter(Q(poll_not_before__isnull=True) | Q(poll_not_before__lte=now))
               .values_list("id", flat=True))
    _fan_out(orders_import_task, ids)
    return len(ids)


def _fan_out(task, ids: list[int]) -> None:
    """Queues `task` for every id. Up to FAN_OUT_CHUNK ids the tick publishes them itself; beyond, it
    publishes one message per chunk and the workers (as many as there are, in parallel) queue each
    integration's task from it: a tick over 10,000 integrations stays a query and a few publishes.
    A chunk redelivered after a worker died queues some imports twice: harmless, the job lock and the
    import's unique links make a second run a no-op."""
    if len(ids) <= FAN_OUT_CHUNK:
        _publish_each(task, [(i,) for i in ids])
        return
    _publish_each(fan_out_task, [(task.name, ids[i:i + FAN_OUT_CHUNK]) for i in range(0, len(ids), FAN_OUT_CHUNK)])


def _publish_each(task, args: list[tuple]) -> None:
    # One producer, its publishes pipelined (kombu's publish batch on Redis: one round trip per thousand
    # messages, not per message; other transports publish one by one).
    with task.app.producer_or_acquire() as producer, producer.batch(max_size=FAN_OUT_BATCH):
        for each in args:
            task.apply_async(each, producer=producer)


@shared_task(acks_late=True)
def fan_out_task(task_name: str, ids: list[int]) -> int:
    """One chunk of a large tick: queue `task_name` for each id."""
    _publish_each(fan_out_task.app.tasks[task_name], [(i,) for i in ids])
    return len(ids)


@shared_task(acks_late=True, bind=True, max_retries=3)
def orders_import_task(self, integration_id: int, since: str | None = None, until: str | None = None,
                       order_ids: list[str] | None = None, kind: str | None = None) -> dict | None:
    integration = _active(integration_id)
    if integration is None:
        return None
    # Within Amazon's plans a large backlog takes a while (getOrderItems: one every two seconds after
    # a burst of 30): the lock lives exactly as long as the run (locks.py).
    with job_lock("orders_import", integration_id, ttl=3600) as mine:
        if not mine:
            logger.info("orders_import.already_running", extra={"integration_id": integration_id})
            return None
        try:
            result = orders_import(
                integration=integration, order_ids=order_ids, kind=kind,
                since=dt.datetime.fromisoformat(since) if since else None,
                until=dt.datetime.fromisoformat(until) if until else None)
        except ProviderAuthError as exc:
            integration_mark_needs_reconnect(integration_id=integration_id, reason=exc.message)
            return None
        except ProviderRateLimited as exc:
            if exc.daily:
                orders_polls_pause_for_quota(integration=integration, retry_after=exc.retry_after, reason=exc.message)
                return None
            log_entry(integration=integration, level=INFO, event="orders_import.throttled",
                      message=f"The marketplace asked us to slow down ({exc.message}); the import continues "
                              "from where it stopped on the next run. Nothing is lost.")
            if self.request.retries >= self.max_retries:
                return None
            raise self.retry(countdown=min(max(exc.retry_after or 60, 5), 900)) from exc
        except ProviderRejected as exc:
            # Asking again will not help; the next scheduled poll starts afresh.
            log_entry(integration=integration, level=ERROR, event="orders_import.refused",
                      message=f"The marketplace refused the order search: {exc.message}.")
            return None
        except ProviderError as exc:
            log_entry(integration=integration, level=ERROR, event="orders_import.unavailable",
                      message=f"Could not read orders from the marketplace: {exc.message}. Retrying shortly.")
            if self.request.retries >= self.max_retries:
                return None                   # the next scheduled poll picks up from the same watermark
            raise self.retry(countdown=120) from exc
    if integration.poll_not_before is not None:
        Integration.objects.filter(pk=integration.pk).update(poll_not_before=None)
    return {"created": len(result.created), "failed": len(result.failed), "cancelled": len(result.cancelled)}


# Etsy's daily quota is per app (reference/etsy-api.md §9); without a retry-after, an hour.
QUOTA_PAUSE_DEFAULT = dt.timedelta(hours=1)


def orders_polls_pause_for_quota(*, integration: Integration, retry_after: float | None, reason: str) -> None:
    """The day's quota is spent: no poll of any integration on this app's quota before retry-after, and
    one log line each, instead of a poll (and a line) every minute."""
    until = timezone.now() + (dt.timedelta(seconds=retry_after) if retry_after else QUOTA_PAUSE_DEFAULT)
    # The quota belongs to the app, so every active integration of the marketplace waits (a system-wide
    # update, not a tenant's query).
    paused = list(Integration.objects.filter(marketplace=integration.marketplace, status=Integration.Status.ACTIVE)
                  .filter(Q(poll_not_before__isnull=True) | Q(poll_not_before__lt=until)))
    Integration.objects.filter(pk__in=[i.pk for i in paused]).update(poll_not_before=until)
    for each in paused:
        log_entry(integration=each, level=INFO, event="orders_import.quota_spent",
                  message=f"{each.get_marketplace_display()}'s daily request quota is spent ({reason}). Orders are "
                          f"polled again from {until:%d %b %H:%M} UTC; nothing is lost meanwhile.")

@shared_task(acks_late=True)
def confirmations_send_task(order_id: int) -> list[str]:
    """Triggered by the dispatch commit: tells the marketplace within seconds."""
    return confirmations_for_order(order_id=order_id)


@shared_task(acks_late=True)
def confirmation_send_task(confirmation_id: int) -> str:
    """One package's confirmation (Resend on the order page)."""
    return confirmation_send(confirmation_id=confirmation_id)


@shared_task(acks_late=True)
def confirmations_sweep_task() -> int:
    with job_lock("confirmations_sweep", 0, ttl=600) as mine:
        return confirmations_sweep() if mine else 0


@shared_task(acks_late=True)
def inventory_push_due() -> int:
    now = timezone.now()
    rows = Integration.objects.filter(status=Integration.Status.ACTIVE, inventory_enabled=True).values_list(
        "id", "inventory_last_run_at", "inventory_frequency_minutes")
    due = [pk for pk, last, minutes in rows if last is None or now - last >= dt.timedelta(minutes=minutes)]
    for integration_id in due:
        inventory_push_task.delay(integration_id)
    return len(due)


@shared_task(acks_late=True, bind=True, max_retries=5)
def inventory_push_task(self, integration_id: int) -> int | None:
    integration = _active(integration_id)
    if integration is None or not integration.inventory_enabled:
        return None
    with job_lock("inventory_push", integration_id) as mine:
        if not mine:
            return None
        # No retry here: the next scheduled run sends whatever is still unsent, without hammering an API
        # that is throttling or down.
        return _send_stock(integration, inventory_push,
                           failed="Stock levels could not be sent: {}. They are sent on the next run.")


def _send_stock(integration: Integration, send, *, failed: str) -> int | None:
    """Run a stock push (scheduled or Export stock now): a revoked grant asks for a reconnect, any other
    marketplace failure is one ERROR in the connection log. Returns how many levels were accepted."""
    try:
        result = send(integration=integration)
    except ProviderAuthError as exc:
        integration_mark_needs_reconnect(integration_id=integration.id, reason=exc.message)
        return None
    except ProviderError as exc:
        log_entry(integration=integration, level=ERROR, event="inventory.failed", message=failed.format(exc.message))
        return None
    return len(result.accepted)


@shared_task(acks_late=True)
def inventory_feeds_due_task() -> int:
    """Beat: a check (getFeed) for each Amazon stock feed whose notification has not come in time."""
    ids = inventory_feeds_due()
    _fan_out(inventory_feed_finish_task, ids)
    return len(ids)


@shared_task(acks_late=True)
def inventory_feed_finish_task(feed_pk: int, account_id: str = "", feed_id: str = "", status: str = "",
                               result_document_id: str = "") -> bool | None:
    """Reads an Amazon stock feed's outcome and records it: queued by the push consumer with the
    FEED_PROCESSING_FINISHED notification's status and result document, or by the beat check without."""
    finished = FeedFinished(account_id=account_id, feed_id=feed_id, status=status,
                            result_document_id=result_document_id) if status else None
    try:
        return inventory_feed_finish(feed_pk=feed_pk, finished=finished)
    except ProviderAuthError as exc:
        integration_id = InventoryFeed.objects.filter(pk=feed_pk).values_list("integration_id", flat=True).first()
        integration_mark_needs_reconnect(integration_id=integration_id, reason=exc.message)
    except ProviderError as exc:             # asked again at the next check
        logger.info("inventory.feed_check_failed", extra={"feed_pk": feed_pk, "reason": exc.message})
    return None


@shared_task(acks_late=True, bind=True, max_retries=5)
def push_enable_task(self, integration_id: int) -> bool:
    integration = _active(integration_id)
    if integration is None:
        return False
    return integration_push_enable(integration=integration)


def push_enable_missing() -> int:
    """Queues the subscriptions of every active Amazon integration that lacks one (ORDER_CHANGE, or
    FEED_PROCESSING_FINISHED): activated before the queue was configured (the demo's, or an upgrade), or
    whose subscription failed. The consumer calls
    this as it starts, so turning push on needs no step per integration. Returns how many were queued."""
    ids = list(Integration.objects.filter(status=Integration.Status.ACTIVE, marketplace=Integration.Marketplace.AMAZON)
               .filter(Q(push_enabled_at__isnull=True) | Q(feed_subscription_id="")).values_list("pk", flat=True))
    for integration_id in ids:
        push_enable_task.delay(integration_id)
    return len(ids)


@shared_task(acks_late=True, bind=True, max_retries=5)
def push_disable_task(self, integration_id: int, account_id: str, marketplace_id: str, subscription_id: str,
                      feed_subscription_id: str = "") -> None:
    try:
        integration_push_disable(integration_id=integration_id, account_id=account_id,
                                 marketplace_id=marketplace_id, subscription_id=subscription_id,
                                 feed_subscription_id=feed_subscription_id)
    except ProviderError as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(countdown=60) from exc
        logger.warning("push.unsubscribe_failed", extra={"integration_id": integration_id})


@shared_task(acks_late=True, bind=True, max_retries=5)
def push_import_task(self, integration_id: int, order_id: str, change: str = "") -> dict | None:
    """An Etsy ORDER_PAID webhook, answered at once by the view: read the receipt and import it."""
    integration = _active(integration_id)
    if integration is None:
        return None
    try:
        result = push_event_import(integration=integration, event=PushEvent(
            account_id=integration.shop_id or integration.account_id, order_id=order_id, change=change))
    except ProviderAuthError as exc:
        integration_mark_needs_reconnect(integration_id=integration_id, reason=exc.message)
        return None
    except ProviderError as exc:
        if self.request.retries >= self.max_retries:
            return None                      # the poll backstop imports it
        countdown = exc.retry_after if isinstance(exc, ProviderRateLimited) and exc.retry_after else 2 ** self.request.retries
        raise self.retry(countdown=min(countdown, 60)) from exc
    return {"created": len(result.created), "failed": len(result.failed)}


@shared_task(acks_late=True)
def inventory_export_task(integration_id: int) -> int | None:
    """Export stock now: every level at once, whatever was sent before."""
    integration = _active(integration_id)
    if integration is None:
        return None
    with job_lock("inventory_push", integration_id) as mine:
        if not mine:
            log_entry(integration=integration, level=INFO, event="inventory.export_busy",
                      message="Export stock now waited for a stock run already in progress: press it again once "
                              "that run has finished.")
            return None
        return _send_stock(integration, inventory_export_now, failed="Export stock now failed: {} Try again shortly.")


@shared_task
def connection_log_prune() -> int:
    """The connection log keeps seven days, and so do finished stock feeds; finished or abandoned Connect
    attempts one."""
    now = timezone.now()
    OAuthState.objects.filter(created_at__lt=now - dt.timedelta(days=1)).delete()
    push_deliveries_prune()
    InventoryFeed.objects.exclude(status=InventoryFeed.Status.PROCESSING).filter(
        finished_at__lt=now - dt.timedelta(days=ConnectionLogEntry.RETENTION_DAYS)).delete()
    return ConnectionLogEntry.objects.filter(created_at__lt=now - dt.timedelta(days=ConnectionLogEntry.RETENTION_DAYS)).delete()[0]


@shared_task(acks_late=True)
def alerts_due_task() -> int:
    """Beat: queue one e-mail task for each integration and reason that needs an alert now."""
    from .services.alerts import alerts_due

    pairs = alerts_due()
    for integration_id, reason in pairs:
        alert_send_task.delay(integration_id, reason)
    return len(pairs)


@shared_task(acks_late=True, bind=True, max_retries=3, default_retry_delay=60)
def alert_send_task(self, integration_id: int, reason: str) -> bool:
    from .services.alerts import alerts_send_due

    try:
        return bool(alerts_send_due(pairs=[(integration_id, reason)]))
    except OSError as exc:          # the SMTP server is down or refused: try again shortly
        raise self.retry(exc=exc) from exc
