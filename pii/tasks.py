"""Beat fans out one purge per tenant; each returns counts only (never buyer data), so nothing
personal reaches a task's arguments, its result or the broker's files."""

from __future__ import annotations

from celery import shared_task

from warehouse.models import Tenant

from .services import pii_purge_tenant


@shared_task(acks_late=True)
def pii_purge_due() -> int:
    """Beat, daily: queue one purge per tenant."""
    ids = list(Tenant.objects.order_by("id").values_list("id", flat=True))
    for tenant_id in ids:
        pii_purge_tenant_task.delay(tenant_id)
    return len(ids)


@shared_task(acks_late=True)
def pii_purge_tenant_task(tenant_id: int) -> dict | None:
    # Idempotent: a redelivered or doubled task clears nothing twice (the rows lock each other out).
    tenant = Tenant.objects.filter(id=tenant_id).first()
    if tenant is None:
        return None
    return pii_purge_tenant(tenant=tenant).as_dict()
