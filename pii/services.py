"""The Amazon address purge: CartonCloud's rules, as set-based SQL in batches.

An address that came from Amazon is cleared once all activity on it is over:
- every sale order using it was dispatched 30 or more days ago, or was rejected or cancelled and last
  modified 7 or more days ago (an open order keeps it, always);
- every consignment on those orders has a delivery run date 30 or more days ago (no run date: the
  order's dispatch counts, unless the consignment was cancelled), or is cancelled and was last
  modified 7 or more days ago.
An Amazon address that no order uses is cleared 30 days after it was last modified.

How days are counted: by instant, in UTC. "30 or more days ago" means at or before `now - 30 × 24 h`,
whatever the warehouse's time zone; a delivery run date (a calendar day) counts as 00:00 UTC that day.

Cleared means: the personal fields emptied (not encrypted copies: empty strings and NULLs), the address
inactive and hidden from searches, `personal_data_purged_at` set. A check constraint on the table keeps
a purged row from ever holding personal data again.

Each batch is three statements whatever its size: lock the next batch of the tenant's unpurged Amazon
addresses (SELECT … FOR UPDATE, in id order), count them by outcome (one GROUP BY), clear the eligible
ones (one UPDATE whose WHERE re-checks every rule). Safe beside imports: an order being inserted for an
address holds a key-share lock on it, so the batch waits for that insert to commit and then sees the
order; an order inserted after the lock waits for the batch to commit. Idempotent: a cleared address
leaves the set, and running again clears nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from warehouse.models import Address, Consignment, OutboundOrder, Tenant

from .models import PurgeRun

logger = logging.getLogger(__name__)

DISPATCHED_DAYS = 30
CLOSED_DAYS = 7
BATCH_SIZE = 2000

OrderStatus = OutboundOrder.Status
CLOSED = (OrderStatus.REJECTED, OrderStatus.CANCELLED)


class Reason:
    """Why an address is kept (the first that applies), or that it is eligible."""

    ELIGIBLE = "eligible"
    OPEN_ORDER = "open_order"
    DISPATCHED_RECENTLY = "dispatched_under_30_days"
    CLOSED_RECENTLY = "rejected_or_cancelled_under_7_days"
    ORDER_NOT_DONE = "order_not_done"
    CONSIGNMENT_RECENTLY = "consignment_under_30_days_or_cancelled_under_7_days"
    NO_ORDER_RECENTLY = "no_order_under_30_days"
    CHANGED_DURING_RUN = "changed_during_run"


@dataclass
class PurgeCounts:
    tenant: str
    dry_run: bool
    eligible: int = 0
    cleared: int = 0
    kept: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"tenant": self.tenant, "dry_run": self.dry_run, "eligible": self.eligible,
                "cleared": self.cleared, "kept": dict(sorted(self.kept.items()))}


@dataclass(frozen=True)
class _Cutoffs:
    dispatched: dt.datetime          # dispatched at or before this: done
    closed: dt.datetime              # rejected/cancelled and last modified at or before this: done
    run_date: dt.date                # delivery run on or before this day: done

    @classmethod
    def at(cls, now: dt.datetime) -> "_Cutoffs":
        dispatched = now - dt.timedelta(days=DISPATCHED_DAYS)
        # A run date D is 30 days ago when D 00:00 UTC <= now - 30 days, that is D <= that instant's UTC date.
        return cls(dispatched=dispatched, closed=now - dt.timedelta(days=CLOSED_DAYS),
                   run_date=dispatched.astimezone(dt.timezone.utc).date())


def _conditions(c: _Cutoffs) -> dict[str, Exists]:
    """EXISTS subqueries over the orders and consignments of the outer address."""
    orders = OutboundOrder.objects.filter(delivery_address=OuterRef("pk"))
    order_done = (Q(status=OrderStatus.DISPATCHED, dispatched_at__lte=c.dispatched)
                  | Q(status__in=CLOSED, updated_at__lte=c.closed))
    consignments = Consignment.objects.filter(order__delivery_address=OuterRef("pk"))
    cancelled = Q(status=Consignment.Status.CANCELLED)
    # Without a run date a consignment went with its order's dispatch; a cancelled one never went, so
    # only its cancellation (last change) counts.
    consignment_done = (Q(delivery_run_date__lte=c.run_date)
                        | (Q(delivery_run_date__isnull=True, order__dispatched_at__lte=c.dispatched) & ~cancelled)
                        | (cancelled & Q(updated_at__lte=c.closed)))
    return {
        "any_order": Exists(orders),
        "open_order": Exists(orders.filter(status__in=OutboundOrder.OPEN_STATUSES)),
        "dispatched_recently": Exists(orders.filter(status=OrderStatus.DISPATCHED).exclude(
            dispatched_at__lte=c.dispatched)),
        "closed_recently": Exists(orders.filter(status__in=CLOSED, updated_at__gt=c.closed)),
        "order_not_done": Exists(orders.exclude(order_done)),
        "consignment_not_done": Exists(consignments.exclude(consignment_done)),
    }


def _eligible_filter(c: _Cutoffs) -> Q:
    """The rules as one WHERE clause: what the UPDATE re-checks at the moment it writes."""
    x = _conditions(c)
    return (~Q(x["order_not_done"]) & ~Q(x["consignment_not_done"])
            & (Q(x["any_order"]) | Q(updated_at__lte=c.dispatched)))


def _reason(c: _Cutoffs) -> Case:
    x = _conditions(c)
    return Case(
        When(x["open_order"], then=Value(Reason.OPEN_ORDER)),
        When(x["dispatched_recently"], then=Value(Reason.DISPATCHED_RECENTLY)),
        When(x["closed_recently"], then=Value(Reason.CLOSED_RECENTLY)),
        When(x["order_not_done"], then=Value(Reason.ORDER_NOT_DONE)),
        When(x["consignment_not_done"], then=Value(Reason.CONSIGNMENT_RECENTLY)),
        When(~Q(x["any_order"]) & Q(updated_at__gt=c.dispatched), then=Value(Reason.NO_ORDER_RECENTLY)),
        default=Value(Reason.ELIGIBLE),
    )


def _unpurged_amazon(tenant: Tenant) -> QuerySet[Address]:
    return Address.objects.filter(tenant=tenant, source=Address.Source.AMAZON, personal_data_purged_at__isnull=True)


def _cleared_values(now: dt.datetime) -> dict:
    values = {name: None if name in ("latitude", "longitude") else "" for name in Address.PERSONAL_FIELDS}
    return {**values, "is_active": False, "hidden_from_search": True, "personal_data_purged_at": now,
            "updated_at": now}


def pii_purge_tenant(*, tenant: Tenant, now: dt.datetime | None = None, dry_run: bool = False,
                     batch_size: int = BATCH_SIZE, run_id: uuid.UUID | None = None) -> PurgeCounts:
    """Clears (or, dry, counts) one tenant's eligible Amazon addresses, and records the run."""
    started = timezone.now()
    now = now or started
    cutoffs = _Cutoffs.at(now)
    reason, eligible = _reason(cutoffs), _eligible_filter(cutoffs)
    counts = PurgeCounts(tenant=tenant.slug, dry_run=dry_run)
    last = 0
    while True:
        with transaction.atomic():
            batch = _unpurged_amazon(tenant).filter(pk__gt=last).order_by("pk")
            if not dry_run:
                # Row locks: an import inserting an order for one of these addresses finishes first
                # (and is then seen below), or waits until this batch is committed.
                batch = batch.select_for_update()
            ids = list(batch.values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            in_batch = _unpurged_amazon(tenant).filter(pk__gte=ids[0], pk__lte=ids[-1])
            by_reason = dict(in_batch.annotate(reason=reason).order_by().values("reason")
                             .annotate(n=Count("pk")).values_list("reason", "n"))
            batch_eligible = by_reason.pop(Reason.ELIGIBLE, 0)
            counts.eligible += batch_eligible
            counts.kept.update(by_reason)
            if batch_eligible and not dry_run:
                cleared = in_batch.filter(eligible).update(**_cleared_values(now))
                counts.cleared += cleared
                if cleared < batch_eligible:
                    counts.kept[Reason.CHANGED_DURING_RUN] += batch_eligible - cleared
            last = ids[-1]
    PurgeRun.objects.create(tenant=tenant, run_id=run_id or uuid.uuid4(), dry_run=dry_run, started_at=started,
                            finished_at=timezone.now(), eligible=counts.eligible, cleared=counts.cleared,
                            kept=dict(counts.kept))
    logger.info("pii_purge.tenant_done", extra={"tenant_id": tenant.id, **counts.as_dict()})
    return counts


def pii_purge(*, now: dt.datetime | None = None, dry_run: bool = False, tenant: Tenant | None = None,
              batch_size: int = BATCH_SIZE) -> list[PurgeCounts]:
    """Every tenant (or one), each recorded as its own PurgeRun under one run id."""
    run_id = uuid.uuid4()
    tenants = [tenant] if tenant is not None else list(Tenant.objects.order_by("slug"))
    return [pii_purge_tenant(tenant=t, now=now, dry_run=dry_run, batch_size=batch_size, run_id=run_id)
            for t in tenants]
