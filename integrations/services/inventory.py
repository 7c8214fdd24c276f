"""Stock levels to the marketplace: available (on hand − allocated) over the chosen warehouses,
only for SKUs whose quantity changed since the last accepted push.

Many SKUs go to Amazon in one JSON_LISTINGS_FEED, which Amazon processes in minutes. Nobody waits for
it: the feed is kept (InventoryFeed) and finished when FEED_PROCESSING_FINISHED arrives through the
push consumer, or, without that notification, by a getFeed now and then (`inventory_feeds_due`).
While a feed is processing its quantities count as sent.

A SKU the marketplace refused (usually: it has no listing for it) is remembered with the reason and
listed on the integration page; it is not sent again on every run, only when its quantity changes,
once a day, or on "Export stock now" (which sends every level at once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from warehouse.selectors import stock_available_by_code

from ..locks import job_lock
from ..models import ConnectionLogEntry, Integration, InventoryFeed, InventoryPush, InventoryRefusal
from ..providers.base import FeedFinished, PushResult, StockLevelUpdate
from ..text import one_full_stop
from .connection import connection_for, provider_for
from .log import DEBUG, ERROR, INFO, log_entries, log_entry
from .push import amazon_consumer_alive

RETRY_REFUSED_AFTER = dt.timedelta(days=1)
BOOKKEEPING_BATCH = 2000


def _available(integration: Integration) -> dict[str, int]:
    warehouse_ids = list(integration.inventory_warehouses.values_list("id", flat=True))
    if not warehouse_ids and integration.default_warehouse_id:
        warehouse_ids = [integration.default_warehouse_id]
    return stock_available_by_code(tenant=integration.tenant, customer=integration.customer,
                                   warehouse_ids=warehouse_ids)


def inventory_changes(*, integration: Integration, everything: bool = False) -> list[StockLevelUpdate]:
    available = _available(integration)
    if everything:
        return [StockLevelUpdate(sku=sku, quantity=qty) for sku, qty in sorted(available.items())]
    last = dict(integration.inventory.values_list("sku", "quantity"))
    # Sent in a feed Amazon has not finished yet: in flight, not sent again meanwhile.
    for quantities in integration.inventory_feeds.filter(status=InventoryFeed.Status.PROCESSING).order_by(
            "submitted_at").values_list("quantities", flat=True):
        last.update(quantities)
    recent = timezone.now() - RETRY_REFUSED_AFTER
    refused = {r.sku: r for r in integration.inventory_refusals.all()}

    def due(sku: str, qty: int) -> bool:
        if last.get(sku) == qty:
            return False
        refusal = refused.get(sku)
        # Refused with this very quantity lately: sending it again would only be refused again.
        return refusal is None or refusal.quantity != qty or refusal.last_tried_at < recent

    return [StockLevelUpdate(sku=sku, quantity=qty) for sku, qty in sorted(available.items()) if due(sku, qty)]


def inventory_push(*, integration: Integration, everything: bool = False) -> PushResult:
    changes = inventory_changes(integration=integration, everything=everything)
    now = timezone.now()
    Integration.objects.filter(pk=integration.pk).update(inventory_last_run_at=now)
    if not changes:
        log_entry(integration=integration, level=DEBUG, event="inventory.unchanged",
                  message="Stock levels checked: no quantity changed since the last push, nothing sent.")
        return PushResult()
    provider = provider_for(integration)
    conn = connection_for(integration, provider)
    if integration.marketplace == Integration.Marketplace.ETSY:
        conn = type(conn)(**{**conn.__dict__, "options": {**conn.options,
                                                            "inactive_listings": list(integration.inactive_listings)}})
    result = provider.push_inventory(conn=conn, levels=changes)
    quantities = {c.sku: c.quantity for c in changes}
    if result.submitted is not None:
        _feed_submitted(integration, result, quantities, everything=everything, now=now)
        return result
    _record_outcome(integration, result, quantities, now=now)
    return result


def _record_outcome(integration: Integration, result: PushResult, quantities: Mapping[str, int], *,
                    now: dt.datetime) -> None:
    """What the marketplace accepted and refused: the last accepted quantities, the refusals and their
    log lines, listing states and one summary line."""
    # Bookkeeping for 10,000 SKUs is a few statements (upserts), not two queries per SKU.
    InventoryPush.objects.bulk_create(
        [InventoryPush(integration=integration, sku=sku, quantity=quantities[sku])
         for sku in dict.fromkeys(result.accepted) if sku in quantities],
        update_conflicts=True, unique_fields=["integration", "sku"], update_fields=["quantity", "pushed_at"],
        batch_size=BOOKKEEPING_BATCH)
    if result.accepted:
        InventoryRefusal.objects.filter(integration=integration, sku__in=result.accepted).delete()
    known = {r.sku: r for r in integration.inventory_refusals.filter(sku__in=[s for s, _ in result.rejected])}
    InventoryRefusal.objects.bulk_create(
        [InventoryRefusal(integration=integration, sku=sku, quantity=quantities.get(sku, 0), reason=reason[:500],
                          last_tried_at=now) for sku, reason in dict(result.rejected).items()],
        update_conflicts=True, unique_fields=["integration", "sku"],
        update_fields=["quantity", "reason", "last_tried_at"], batch_size=BOOKKEEPING_BATCH)
    # Said once: the SKU is listed on the integration page until the marketplace takes it.
    log_entries([ConnectionLogEntry(
        integration=integration, level=ERROR, event="inventory.rejected",
        message=one_full_stop(f"Stock level for SKU {sku} was not accepted: {reason} It is not sent again on every "
                              "run; it is listed on the integration page.")[:1000])
        for sku, reason in dict(result.rejected).items() if sku not in known or known[sku].reason != reason[:500]])
    _listing_states(integration, result)
    log_entry(integration=integration, level=INFO, event="inventory.pushed",
              message=f"Stock levels sent for {len(result.accepted)} SKU(s)"
                      f"{f', {len(result.rejected)} refused' if result.rejected else ''}"
                      f"{f' (feed {result.reference})' if result.reference else ''}.")


# --- Amazon feeds: submitted now, finished when Amazon has processed them ------------------------------

def _feed_check_delay(integration: Integration, checks: int) -> dt.timedelta:
    """When to ask getFeed next. With FEED_PROCESSING_FINISHED on, only as a backstop; without, soon, then
    less and less often (Amazon takes minutes; getFeed's plan is generous, but each poll is a call)."""
    if integration.feed_subscription_id and amazon_consumer_alive():
        return dt.timedelta(seconds=settings.AMAZON_FEED_NOTIFICATION_WAIT_SECONDS)
    first = settings.AMAZON_FEED_POLL_SECONDS
    return dt.timedelta(seconds=min(first * 2 ** checks, max(first, 600.0)))


def _feed_submitted(integration: Integration, result: PushResult, quantities: Mapping[str, int], *,
                    everything: bool, now: dt.datetime) -> InventoryFeed:
    messages = dict(result.submitted or {})
    feed = InventoryFeed.objects.create(
        integration=integration, feed_id=result.reference, messages={str(k): v for k, v in messages.items()},
        quantities={sku: quantities[sku] for sku in messages.values() if sku in quantities}, everything=everything,
        submitted_at=now, next_check_at=now + _feed_check_delay(integration, 0))
    log_entry(integration=integration, level=INFO, event="inventory.feed_submitted",
              message=f"Stock levels for {len(messages)} SKU(s) sent to Amazon in feed {result.reference}. Amazon "
                      "processes a feed in minutes; which SKUs it took is written here when it has.")
    return feed


def inventory_feeds_named(*, event: FeedFinished) -> tuple[list[int], bool]:
    """The feeds a FEED_PROCESSING_FINISHED notification is about (the seller's feed id, for each of our
    integrations of that seller): the ids of those still processing, to finish in a task, and whether we
    know the feed at all. One query."""
    rows = list(InventoryFeed.objects.filter(
        feed_id=event.feed_id, integration__marketplace=Integration.Marketplace.AMAZON,
        integration__account_id=event.account_id).values_list("pk", "status"))
    return [pk for pk, status in rows if status == InventoryFeed.Status.PROCESSING], bool(rows)


def inventory_feed_finish(*, feed_pk: int, finished: FeedFinished | None = None) -> bool:
    """Reads the outcome of one processing feed and records it, once: True when the feed is finished (now
    or before), False while Amazon is still processing it (the next check is then scheduled; a feed with
    no outcome after AMAZON_FEED_GIVE_UP_MINUTES is given up and its quantities are sent again). Raises
    ProviderError when Amazon could not be asked (the next check asks again)."""
    with job_lock("inventory_feed", feed_pk) as mine:
        if not mine:
            return False                     # another worker is finishing it right now
        feed = InventoryFeed.objects.select_related("integration").filter(pk=feed_pk).first()
        if feed is None or feed.status != InventoryFeed.Status.PROCESSING:
            return True
        integration = feed.integration
        provider = provider_for(integration)
        now = timezone.now()
        InventoryFeed.objects.filter(pk=feed.pk).update(
            checks=feed.checks + 1, next_check_at=now + _feed_check_delay(integration, feed.checks + 1))
        result = provider.inventory_feed_outcome(
            conn=connection_for(integration, provider), feed_id=feed.feed_id,
            messages={int(k): v for k, v in feed.messages.items()}, finished=finished)
        if result is None:
            if now - feed.submitted_at < dt.timedelta(minutes=settings.AMAZON_FEED_GIVE_UP_MINUTES):
                return False
            InventoryFeed.objects.filter(pk=feed.pk).update(status=InventoryFeed.Status.EXPIRED, finished_at=now)
            log_entry(integration=integration, level=ERROR, event="inventory.feed_expired",
                      message=f"Amazon had still not processed stock feed {feed.feed_id} after "
                              f"{settings.AMAZON_FEED_GIVE_UP_MINUTES:g} minutes. Its quantities are sent again "
                              "on the next run.")
            return True
        with transaction.atomic():
            _record_outcome(integration, result, feed.quantities, now=now)
            InventoryFeed.objects.filter(pk=feed.pk).update(
                status=InventoryFeed.Status.DONE, finished_at=now, accepted=len(result.accepted),
                refused=len(result.rejected))
            if feed.everything:
                _export_summary(integration, result)
        return True


def inventory_feeds_due(*, now: dt.datetime | None = None) -> list[int]:
    """Processing feeds whose next check is due (a getFeed each), pushed on so that a check still queued
    is not queued again on the next tick. Two queries."""
    now = now or timezone.now()
    ids = list(InventoryFeed.objects.filter(status=InventoryFeed.Status.PROCESSING, next_check_at__lte=now)
               .order_by("next_check_at").values_list("pk", flat=True)[:1000])
    if ids:
        InventoryFeed.objects.filter(pk__in=ids).update(next_check_at=now + dt.timedelta(minutes=5))
    return ids


def _listing_states(integration: Integration, result: PushResult) -> None:
    if not (result.deactivated or result.reactivated):
        return
    inactive = [i for i in integration.inactive_listings if i not in result.reactivated]
    inactive += [i for i in result.deactivated if i not in inactive]
    Integration.objects.filter(pk=integration.pk).update(inactive_listings=inactive)
    integration.inactive_listings = inactive
    for listing_id in result.deactivated:
        log_entry(integration=integration, level=INFO, event="inventory.listing_deactivated",
                  message=f"Listing {listing_id} turned inactive: the warehouse has none of its stock, and the "
                          "marketplace does not take a listing with nothing to offer. It is turned active again "
                          "when stock returns.")
    for listing_id in result.reactivated:
        log_entry(integration=integration, level=INFO, event="inventory.listing_reactivated",
                  message=f"Listing {listing_id} turned active again: stock has returned.")


def inventory_export_now(*, integration: Integration) -> PushResult:
    """"Export stock now": every current level at once, refused SKUs included; the outcome is kept
    for the integration page (when Amazon has processed the feed, for a feed)."""
    result = inventory_push(integration=integration, everything=True)
    if result.submitted is not None:
        Integration.objects.filter(pk=integration.pk).update(inventory_last_export={
            "at": timezone.now().isoformat(), "feed": result.reference, "accepted": [], "refused": []})
    else:
        _export_summary(integration, result)
    return result


def _export_summary(integration: Integration, result: PushResult) -> None:
    summary = {"at": timezone.now().isoformat(), "accepted": list(result.accepted),
               "refused": [[sku, reason] for sku, reason in result.rejected]}
    Integration.objects.filter(pk=integration.pk).update(inventory_last_export=summary)
