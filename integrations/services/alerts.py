"""E-mail alerts: the tenant's recipients hear when an integration needs reconnecting, when orders keep
failing to import for an hour, and when shipment confirmations keep failing. At most one e-mail per
integration and reason an hour, claimed by a conditional update so two workers never both send it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from warehouse.models import Tenant

from ..errors import IntegrationError
from ..models import AlertSent, AlertSettings, Integration, PackageConfirmation, PendingImport

logger = logging.getLogger(__name__)

Reason = AlertSent.Reason
ALERT_INTERVAL = dt.timedelta(hours=1)
FAILING_FOR = dt.timedelta(hours=1)
MAX_RECIPIENTS = 20


def alert_recipients_get(*, tenant: Tenant) -> list[str]:
    row = AlertSettings.objects.filter(tenant=tenant).first()
    return list(row.recipients) if row else []


def alert_recipients_set(*, tenant: Tenant, text: str) -> list[str]:
    """Addresses separated by commas, semicolons or new lines; all valid or nothing changes."""
    addresses = []
    for part in text.replace(";", ",").replace("\n", ",").split(","):
        address = part.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            raise IntegrationError(f"{address[:100]!r} is not an e-mail address. Nothing was changed.") from None
        if address.lower() not in {a.lower() for a in addresses}:
            addresses.append(address)
    if len(addresses) > MAX_RECIPIENTS:
        raise IntegrationError(f"At most {MAX_RECIPIENTS} recipients. Nothing was changed.")
    AlertSettings.objects.update_or_create(tenant=tenant, defaults={"recipients": addresses})
    return addresses


def alerts_due(*, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """(integration id, reason) for every condition that holds now, across tenants with recipients."""
    now = now or timezone.now()
    hour_ago = now - FAILING_FOR
    tenants = [row.tenant_id for row in AlertSettings.objects.all() if row.recipients]
    live = Integration.objects.filter(tenant_id__in=tenants).exclude(status=Integration.Status.DELETED)
    due = [(i, Reason.RECONNECT) for i in live.filter(status=Integration.Status.ERROR).values_list("id", flat=True)]
    failing_orders = set(PendingImport.objects.filter(
        integration__in=live.filter(status=Integration.Status.ACTIVE), first_failed_at__lte=hour_ago,
        last_tried_at__gte=hour_ago).values_list("integration_id", flat=True))
    # An active integration whose polls have not succeeded for an hour (outage, refused calls).
    failing_orders |= set(live.filter(status=Integration.Status.ACTIVE, activated_at__lte=hour_ago)
                          .filter(Q(last_import_at__lte=hour_ago) | Q(last_import_at__isnull=True))
                          .values_list("id", flat=True))
    due += [(i, Reason.IMPORT_FAILING) for i in sorted(failing_orders)]
    failing_confirmations = set(PackageConfirmation.objects.filter(integration__in=live).filter(
        Q(state=PackageConfirmation.State.FAILED, updated_at__gte=hour_ago)
        | Q(state=PackageConfirmation.State.PENDING, created_at__lte=hour_ago) & ~Q(last_error="")
    ).values_list("integration_id", flat=True))
    due += [(i, Reason.CONFIRMATIONS_FAILING) for i in sorted(failing_confirmations)]
    return due


def _claim(*, integration: Integration, reason: str, now: dt.datetime) -> bool:
    """True for the one caller that may send this alert now (none sent for it in the last hour)."""
    try:
        with transaction.atomic():
            AlertSent.objects.create(integration=integration, reason=reason, last_sent_at=now)
            return True
    except IntegrityError:
        pass
    return AlertSent.objects.filter(integration=integration, reason=reason,
                                    last_sent_at__lte=now - ALERT_INTERVAL).update(last_sent_at=now) == 1


def _details(integration: Integration, reason: str) -> list[str]:
    """What a person needs to act on, without any buyer data: order numbers, SKUs, errors."""
    if reason == Reason.RECONNECT:
        return [integration.status_message or "The marketplace refused our access."]
    if reason == Reason.IMPORT_FAILING:
        pending = list(integration.pending_imports.order_by("first_failed_at")[:5])
        lines = [f"Order {p.marketplace_order_id}: {p.reason}" for p in pending]
        if integration.last_import_at:
            lines.append(f"Last successful import: {timezone.localtime(integration.last_import_at):%d %b %Y %H:%M} UTC.")
        return lines or ["No import has succeeded in the last hour."]
    rows = (integration.confirmations.exclude(last_error="").exclude(state=PackageConfirmation.State.CONFIRMED)
            .select_related("imported_order").order_by("-updated_at")[:5])
    return [f"Order {r.imported_order.marketplace_order_id}, tracking {r.tracking_number}: {r.last_error}" for r in rows]


SUBJECTS = {
    Reason.RECONNECT: "{name} needs reconnecting",
    Reason.IMPORT_FAILING: "{name}: orders keep failing to import",
    Reason.CONFIRMATIONS_FAILING: "{name}: shipment confirmations keep failing",
}


def alert_send(*, integration: Integration, reason: str, now: dt.datetime | None = None) -> bool:
    """E-mails the tenant's recipients unless this alert went out in the last hour; True if sent."""
    now = now or timezone.now()
    recipients = alert_recipients_get(tenant=integration.tenant)
    if not recipients or reason not in Reason.values:
        return False
    if not _claim(integration=integration, reason=reason, now=now):
        return False
    name = f"{integration.get_marketplace_display()} · {integration.name} ({integration.customer.name})"
    log_url = (settings.PUBLIC_BASE_URL.rstrip("/") + reverse("integrations:detail", args=[integration.id])
               + "?level=ERROR#log")
    context = {"integration": integration, "name": name, "reason": Reason(reason), "details": _details(integration, reason),
               "log_url": log_url, "tenant": integration.tenant}
    try:
        send_mail(subject=f"[{integration.tenant.name}] " + SUBJECTS[reason].format(name=name),
                  message=render_to_string("integrations/email/alert.txt", context),
                  from_email=None, recipient_list=recipients)
    except Exception:
        # Not sent: give the claim back so the next try (the task's retry, the next beat) may send it.
        AlertSent.objects.filter(integration=integration, reason=reason, last_sent_at=now).update(
            last_sent_at=now - ALERT_INTERVAL - dt.timedelta(seconds=1))
        raise
    AlertSent.objects.filter(integration=integration, reason=reason).update(recipients=len(recipients))
    logger.info("alert.sent", extra={"integration_id": integration.id, "reason": reason})
    return True


def alerts_send_due(*, pairs: Iterable[tuple[int, str]]) -> int:
    sent = 0
    for integration_id, reason in pairs:
        integration = Integration.objects.select_related("tenant", "customer").filter(pk=integration_id).first()
        if integration is not None and alert_send(integration=integration, reason=reason):
            sent += 1
    return sent
