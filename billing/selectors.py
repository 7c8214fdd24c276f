"""Reads for billing: how many integrations each customer has active now, and the monthly statement.

The billing rule: an integration is billable from its first activation until it is deleted, whatever
it was switched to in between (turned off, needing a reconnect, disconnected). Days are calendar days
in UTC and any part of a day counts as a whole day. "At once" means at the same moment.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.models import Integration
from warehouse.models import Tenant

from .models import IntegrationEvent

UTC = dt.timezone.utc
Kind = IntegrationEvent.Kind
RULE = ("An integration is billable from its first activation until it is deleted, whatever it was switched to "
        "in between (turned off, needing a reconnect, disconnected). Days are calendar days in UTC; any part "
        "of a day counts as a whole day. The most at once is the largest number of billable integrations at "
        "the same moment in the month.")


def active_integrations_count(customer_ref: str = "pk") -> Coalesce:
    """The number of active integrations of the customer at `customer_ref` (an OuterRef path), as one
    correlated subquery, so a list of customers or integrations costs no query per row."""
    counts = (Integration.objects.filter(customer=OuterRef(customer_ref), status=Integration.Status.ACTIVE)
              .order_by().values("customer").annotate(n=Count("id")).values("n"))
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def integration_history(*, integration: Integration) -> list[IntegrationEvent]:
    """The integration's billing history, newest first (its tenant's rows only)."""
    return list(IntegrationEvent.objects.filter(tenant_id=integration.tenant_id, integration_id=integration.id)
                .order_by("-at", "-id"))


# --- the statement --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, value: str) -> "Month":
        """'2026-03' → Month(2026, 3); ValueError with a message for a person otherwise."""
        text = (value or "").strip()
        try:
            if len(text) != 7 or text[4] != "-":
                raise ValueError
            year, month = int(text[:4]), int(text[5:])
        except ValueError:
            raise ValueError(f"Give the month as YYYY-MM, e.g. 2026-03 (got {value!r}).") from None
        if not 1 <= month <= 12 or not 2000 <= year <= 9998:
            raise ValueError(f"{value!r} is not a month between 2000-01 and 9998-12.")
        return cls(year, month)

    @classmethod
    def current(cls) -> "Month":
        now = timezone.now().astimezone(UTC)
        return cls(now.year, now.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> dt.datetime:
        return self.next().start

    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Month":
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def label(self) -> str:
        return self.start.strftime("%B %Y")


@dataclass(frozen=True)
class StatementLine:
    integration_id: int
    name: str
    marketplace: str
    created_by: str
    created_by_role: str
    first_activated_at: dt.datetime
    deleted_at: dt.datetime | None
    billable_from: dt.datetime
    billable_until: dt.datetime          # exclusive; the month's end or now for a live integration
    billable_days: int


@dataclass
class CustomerStatement:
    customer_id: int
    customer: str
    code: str
    integrations: list[StatementLine] = field(default_factory=list)
    max_concurrent: int = 0

    @property
    def billable_integrations(self) -> int:
        return len(self.integrations)

    @property
    def integration_days(self) -> int:
        return sum(line.billable_days for line in self.integrations)


@dataclass
class Statement:
    tenant: Tenant
    month: Month
    customers: list[CustomerStatement]
    max_concurrent: int           # across the whole tenant
    as_of: dt.datetime

    @property
    def billable_integrations(self) -> int:
        return sum(c.billable_integrations for c in self.customers)

    @property
    def integration_days(self) -> int:
        return sum(c.integration_days for c in self.customers)

    @property
    def rule(self) -> str:
        return RULE

    @property
    def is_partial(self) -> bool:
        """The month is not over yet: figures run up to now."""
        return self.as_of < self.month.end


def billable_days(start: dt.datetime, end: dt.datetime) -> int:
    """Calendar days (UTC) touched by [start, end); a moment counts as its day."""
    last = max(end - dt.timedelta(microseconds=1), start)
    return (last.astimezone(UTC).date() - start.astimezone(UTC).date()).days + 1


def most_at_once(intervals: list[tuple[dt.datetime, dt.datetime]]) -> int:
    """The largest number of [start, end) intervals that overlap at one moment. One ending at the moment
    another starts does not overlap it; a zero-length one counts at its moment."""
    points = []
    for start, end in intervals:
        points.append((start, 1))
        points.append((max(end, start + dt.timedelta(microseconds=1)), -1))
    best = current = 0
    for _, step in sorted(points):      # at equal moments -1 sorts first: ends before starts
        current += step
        best = max(best, current)
    return best


def statement_for(*, tenant: Tenant, month: Month, now: dt.datetime | None = None) -> Statement:
    """The month's billable integrations of one tenant, from the history alone, so a deleted integration
    bills exactly what it did before it was deleted.

    One grouped query finds each integration's first activation and its deletion; a second reads the
    latest record of each for its name and customer. Everything else is arithmetic on those rows."""
    now = now or timezone.now()
    period_end = min(month.end, now)
    if period_end <= month.start:       # a month that has not started yet bills nothing
        return Statement(tenant=tenant, month=month, customers=[], max_concurrent=0, as_of=now)
    spans = (IntegrationEvent.objects.filter(tenant=tenant).order_by().values("integration_id")
             .annotate(first_activated=Min("at", filter=Q(kind=Kind.ACTIVATED)),
                       deleted=Min("at", filter=Q(kind=Kind.DELETED)),
                       latest=Max("id"))
             .filter(first_activated__lt=period_end)
             .filter(Q(deleted__isnull=True) | Q(deleted__gt=month.start)))
    spans = list(spans)
    latest = {e.integration_id: e for e in IntegrationEvent.objects.filter(id__in=[s["latest"] for s in spans])}
    customers: dict[int, CustomerStatement] = {}
    intervals: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for span in spans:
        record = latest[span["integration_id"]]
        start = max(span["first_activated"], month.start)
        end = min(span["deleted"] or period_end, period_end)
        customer = customers.setdefault(record.customer_id, CustomerStatement(
            customer_id=record.customer_id, customer=record.customer_name, code=record.customer_code))
        customer.integrations.append(StatementLine(
            integration_id=record.integration_id, name=record.integration_name, marketplace=record.marketplace,
            created_by=record.created_by_username, created_by_role=record.created_by_role,
            first_activated_at=span["first_activated"], deleted_at=span["deleted"],
            billable_from=start, billable_until=end, billable_days=billable_days(start, end)))
        intervals[record.customer_id].append((start, end))
    for customer_id, customer in customers.items():
        customer.max_concurrent = most_at_once(intervals[customer_id])
        customer.integrations.sort(key=lambda line: (line.billable_from, line.integration_id))
    ordered = sorted(customers.values(), key=lambda c: (c.customer.lower(), c.code, c.customer_id))
    every = [span for spans_ in intervals.values() for span in spans_]
    return Statement(tenant=tenant, month=month, customers=ordered, max_concurrent=most_at_once(every), as_of=now)
