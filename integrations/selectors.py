from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from warehouse.errors import NotFound
from warehouse.selectors import Scope

from .models import ConnectionLogEntry, Integration


def integration_list(*, scope: Scope, include_deleted: bool = False) -> QuerySet[Integration]:
    qs = Integration.objects.filter(tenant=scope.tenant).select_related("customer", "default_warehouse")
    if scope.customer is not None:
        qs = qs.filter(customer=scope.customer)
    if not include_deleted:
        qs = qs.exclude(status=Integration.Status.DELETED)
    return qs.annotate(open_errors=Count("log", filter=Q(log__level="ERROR")))


def integration_get(*, scope: Scope, integration_id: int) -> Integration:
    integration = integration_list(scope=scope).filter(pk=integration_id).first()
    if integration is None:
        raise NotFound("Integration not found.")
    return integration


def connection_log(*, integration: Integration, level: str | None = None) -> QuerySet[ConnectionLogEntry]:
    qs = integration.log.select_related("order")
    return qs.filter(level=level) if level else qs
