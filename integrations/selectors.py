from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

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
    """The import a person wants to see: the open one if any, else the last one."""
    runs = integration.import_runs.all()
    return (runs.filter(state__in=ImportRun.OPEN_STATES).first() or runs.first())


def confirmation_get(*, scope: Scope, confirmation_id: int) -> PackageConfirmation:
    qs = PackageConfirmation.objects.filter(pk=confirmation_id, integration__tenant=scope.tenant)
    if scope.customer is not None:
        qs = qs.filter(integration__customer=scope.customer)
    row = qs.select_related("integration__customer", "imported_order__order").first()
    if row is None:
        raise NotFound("Confirmation not found.")
    return row
