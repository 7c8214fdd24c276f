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

Each batch is a handful of statements whatever its size (5,000 addresses by default): lock the next
batch of the tenant's unpurged Amazon addresses (SELECT … FOR UPDATE, in id order), read the range of
their orders' ids, clear the eligible ones (one UPDATE whose WHERE is the rules), count the others by why
they are kept (one GROUP BY). Safe beside imports: an order being inserted for an address holds a
key-share lock on it (the foreign key is checked at insert, see warehouse migration 0003), so the batch
waits for that insert to commit and then sees the order; an order inserted after the lock waits for the
batch to commit. Idempotent: a cleared address leaves the set, and running again clears nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from warehouse.models import Address, Consignment, OutboundOrder, Tenant

from .models import PurgeRun

logger = logging.getLogger(__name__)

DISPATCHED_DAYS = 30
CLOSED_DAYS = 7
BATCH_SIZE = 5000

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


def _conditions(c: _Cutoffs, lo: int, hi: int, order_ids: tuple[int, int]) -> dict[str, Exists]:
    """EXISTS subqueries over the orders and consignments of the outer address. Each also names the
    batch (its address id range, the range of its orders' ids), so the database reads only the batch's
    orders and consignments through their indexes, never a whole table."""
    orders = OutboundOrder.objects.filter(delivery_address=OuterRef("pk"), delivery_address_id__gte=lo,
                                          delivery_address_id__lte=hi)
    order_done = (Q(status=OrderStatus.DISPATCHED, dispatched_at__lte=c.dispatched)
                  | Q(status__in=CLOSED, updated_at__lte=c.closed))
    consignments = Consignment.objects.filter(order__delivery_address=OuterRef("pk"), order_id__gte=order_ids[0],
                                              order_id__lte=order_ids[1], order__delivery_address_id__gte=lo,
                                              order__delivery_address_id__lte=hi)
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


def _eligible_filter(c: _Cutoffs, lo: int, hi: int, order_ids: tuple[int, int]) -> Q:
    """The rules as one WHERE clause: what the UPDATE re-checks at the moment it writes."""
    x = _conditions(c, lo, hi, order_ids)
    return (~Q(x["order_not_done"]) & ~Q(x["consignment_not_done"])
            & (Q(x["any_order"]) | Q(updated_at__lte=c.dispatched)))


def _reason(c: _Cutoffs, lo: int, hi: int, order_ids: tuple[int, int]) -> Case:
    x = _conditions(c, lo, hi, order_ids)
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
    counts = PurgeCounts(tenant=tenant.slug, dry_run=dry_run)
    last = 0
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Compiling these statements (JIT) costs more than running them on a batch.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            batch = _unpurged_amazon(tenant).filter(pk__gt=last).order_by("pk")
            if not dry_run:
                # Row locks: an import inserting an order for one of these addresses finishes first
                # (and is then seen below), or waits until this batch is committed.
                batch = batch.select_for_update()
            ids = list(batch.values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            lo, hi = ids[0], ids[-1]
            in_batch = _unpurged_amazon(tenant).filter(pk__gte=lo, pk__lte=hi)
            # The range of the batch's order ids (their consignments are found by order id). No order can
            # be added for these addresses until the batch commits: its key check waits for the row locks.
            # MIN/MAX over `id + 0`, not `id`: on a bare column PostgreSQL answers them by walking the
            # primary key from each end until a row matches, which reads every order before the batch's
            # (quadratic over a run); this way it reads the batch's orders by their address index.
            bounds = OutboundOrder.objects.filter(
                tenant=tenant, delivery_address_id__gte=lo, delivery_address_id__lte=hi).aggregate(
                lo=Min(F("pk") + 0), hi=Max(F("pk") + 0))
            order_ids = (bounds["lo"] or 0, bounds["hi"] or 0)
            if not dry_run:
                # Clear first: the UPDATE's WHERE is the rules, checked as it writes.
                cleared = in_batch.filter(_eligible_filter(cutoffs, lo, hi, order_ids)).update(**_cleared_values(now))
                counts.eligible += cleared
                counts.cleared += cleared
            last = ids[-1]
            if not dry_run and cleared == len(ids):
                continue            # the whole batch is cleared: nothing is kept, nothing to say why
            # Then say why the rest is kept (on a dry run: everything, eligible included).
            by_reason = dict(in_batch.annotate(reason=_reason(cutoffs, lo, hi, order_ids)).order_by().values("reason")
                             .annotate(n=Count("pk")).values_list("reason", "n"))
            counts.eligible += by_reason.pop(Reason.ELIGIBLE, 0)
            counts.kept.update(by_reason)
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
