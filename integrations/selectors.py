from __future__ import annotations

import datetime as dt

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from warehouse.charts import BarChart, Series, day_label, day_values, last_days
from warehouse.errors import NotFound
from warehouse.selectors import Scope

from .models import ConnectionLogEntry, ImportRun, Integration, PackageConfirmation


def integration_list(*, scope: Scope, include_deleted: bool = False) -> QuerySet[Integration]:
    qs = Integration.objects.filter(tenant=scope.tenant).select_related("customer", "default_warehouse")
    if scope.customer is not None:
        qs = qs.filter(customer=scope.customer)
    if not include_deleted:
        qs = qs.exclude(status=Integration.Status.DELETED)
    week_ago = timezone.now() - dt.timedelta(days=7)
    return qs.annotate(open_errors=Count("log", filter=Q(log__level="ERROR", log__created_at__gte=week_ago)))


def integration_get(*, scope: Scope, integration_id: int) -> Integration:
    integration = integration_list(scope=scope).filter(pk=integration_id).first()
    if integration is None:
        raise NotFound("Integration not found.")
    return integration


def connection_log(*, integration: Integration, level: str | None = None) -> QuerySet[ConnectionLogEntry]:
    qs = integration.log.select_related("order")
    # A level shows that level and the ones above it (Unleashed's filter): ERROR; INFO = INFO + ERROR;
    # DEBUG = everything.
    wanted = LEVELS_AT_OR_ABOVE.get(level or "")
    return qs.filter(level__in=wanted) if wanted else qs


LEVELS_AT_OR_ABOVE = {
    ConnectionLogEntry.Level.ERROR: (ConnectionLogEntry.Level.ERROR,),
    ConnectionLogEntry.Level.INFO: (ConnectionLogEntry.Level.INFO, ConnectionLogEntry.Level.ERROR),
}


def order_filter_by_integration():
    """The outbound order list's "Integration" filter: the integrations the viewer's scope may see."""
    from warehouse.order_filters import OrderListFilter

    def choices(scope: Scope) -> list[tuple[str, str]]:
        return [(str(i.id), f"{i.get_marketplace_display()} · {i.name}" + ("" if scope.customer else f" ({i.customer.name})"))
                for i in integration_list(scope=scope, include_deleted=True)]

    def apply(orders, value: str):
        return orders.filter(marketplace_link__integration_id=int(value))

    return OrderListFilter(name="integration", label="Integration", any_label="Any integration",
                           choices=choices, apply=apply)


def import_run_latest(*, integration: Integration) -> ImportRun | None:
    """The import a person wants to see: the open one if any, else the last one. A marketplace notification
    imports one order (its log entry says so): it never hides the first import after connecting, Import
    missing orders or a poll, running or ended."""
    runs = integration.import_runs.all()
    longer = runs.exclude(kind=ImportRun.Kind.PUSH)
    return longer.filter(state__in=ImportRun.OPEN_STATES).first() or longer.first() or runs.first()


def confirmation_get(*, scope: Scope, confirmation_id: int) -> PackageConfirmation:
    qs = PackageConfirmation.objects.filter(pk=confirmation_id, integration__tenant=scope.tenant)
    if scope.customer is not None:
        qs = qs.filter(integration__customer=scope.customer)
    row = qs.select_related("integration__customer", "imported_order__order").first()
    if row is None:
        raise NotFound("Confirmation not found.")
    return row


# --- what the pages draw: activity per day, health at a glance, confirmation delays -----------------

CHART_DAYS = 30
DELAY_BUCKETS = [("under 1 min", dt.timedelta(minutes=1)), ("1–5 min", dt.timedelta(minutes=5)),
                 ("5–15 min", dt.timedelta(minutes=15)), ("15–60 min", dt.timedelta(hours=1)),
                 ("1–4 h", dt.timedelta(hours=4)), ("over 4 h", None)]


def _per_day(qs, field: str) -> dict[dt.date, int]:
    rows = qs.annotate(day=TruncDate(field)).values("day").annotate(n=Count("id")).order_by()
    return {row["day"]: row["n"] for row in rows}


def integration_activity_chart(*, integration: Integration, days: int = CHART_DAYS) -> BarChart:
    """Orders imported and errors logged per day (errors are kept 7 days, like the log)."""
    today = timezone.localdate()
    span = last_days(days, today=today)
    since = timezone.make_aware(dt.datetime.combine(span[0], dt.time.min))
    imported = _per_day(integration.imported_orders.filter(created_at__gte=since), "created_at")
    errors = _per_day(integration.log.filter(level=ConnectionLogEntry.Level.ERROR, created_at__gte=since), "created_at")
    return BarChart(slug=f"integration-{integration.id}-activity",
                    title=f"Orders imported and errors per day, last {days} days",
                    categories=[day_label(d) for d in span], x_label_every=7,
                    series=[Series("Orders imported", day_values(imported, span), "series-0"),
                            Series("Errors", day_values(errors, span), "errors")])


def integration_health(*, scope: Scope) -> list[dict]:
    """Per live integration: status, last import, how far behind its import is, errors today and this week."""
    now = timezone.now()
    qs = integration_list(scope=scope).annotate(
        errors_24h=Count("log", filter=Q(log__level="ERROR", log__created_at__gte=now - dt.timedelta(hours=24))))
    return [{"integration": i, "last_import_at": i.last_import_at,
             "lag": (now - i.orders_watermark) if i.orders_watermark and i.status == Integration.Status.ACTIVE else None,
             "errors_24h": i.errors_24h, "errors_7d": i.open_errors} for i in qs]


def confirmation_delay_chart(*, scope: Scope, days: int = CHART_DAYS) -> BarChart:
    """How long after dispatch the marketplace was told, for the packages confirmed in the period."""
    since = timezone.now() - dt.timedelta(days=days)
    qs = PackageConfirmation.objects.filter(
        integration__tenant=scope.tenant, state=PackageConfirmation.State.CONFIRMED, confirmed_at__gte=since,
        imported_order__order__dispatched_at__isnull=False)
    if scope.customer is not None:
        qs = qs.filter(integration__customer=scope.customer)
    qs = qs.annotate(delay=ExpressionWrapper(F("confirmed_at") - F("imported_order__order__dispatched_at"),
                                             output_field=DurationField()))
    counts, lower = {}, None
    for _label, upper in DELAY_BUCKETS:
        cond = Q()
        if lower is not None:
            cond &= Q(delay__gte=lower)
        if upper is not None:
            cond &= Q(delay__lt=upper)
        counts[f"bucket_{len(counts)}"] = Count("id", filter=cond)
        lower = upper
    found = qs.aggregate(**counts)
    return BarChart(slug="confirmation-delay", title=f"Dispatch to marketplace confirmation, packages of the last {days} days",
                    categories=[label for label, _ in DELAY_BUCKETS], category_header="Delay",
                    series=[Series("Packages", [found[f"bucket_{n}"] or 0 for n in range(len(DELAY_BUCKETS))], "series-2")],
                    empty_text="No package confirmed in this period yet.")


def dashboard_panel():
    """The dashboard's integrations panel: each integration's health and the confirmation delays."""
    from warehouse.dashboard import DashboardPanel

    def context(scope: Scope) -> dict:
        return {"health": integration_health(scope=scope), "delay_chart": confirmation_delay_chart(scope=scope)}

    return DashboardPanel(name="integrations", template="integrations/_dashboard_panel.html", context=context)
