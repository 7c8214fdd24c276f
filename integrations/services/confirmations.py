"""One-time shipment confirmation: the marketplace is told once per package, never twice.

A PackageConfirmation row (unique per integration and package) is written before the call and moves
pending → sending → confirmed | failed. A row left in `sending` by a crashed worker is not sent again
(the outcome is unknown): the sweep marks it failed and asks a person to check.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from warehouse.models import Consignment, OutboundOrder

from ..models import ImportedOrder, Integration, PackageConfirmation
from ..providers.base import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ShipmentConfirmation,
    ShipmentItem,
)
from .connection import connection_for, integration_mark_needs_reconnect, provider_for
from .log import ERROR, INFO, log_entry

State = PackageConfirmation.State
RETRY_DELAY = dt.timedelta(minutes=2)
STALE_SENDING = dt.timedelta(minutes=15)
MAX_ATTEMPTS = 10


def confirmations_prepare(*, order: OutboundOrder) -> list[PackageConfirmation]:
    """Creates the pending rows for a dispatched order's packages that have tracking."""
    link = ImportedOrder.objects.select_related("integration").filter(order=order).first()
    if link is None or order.status != OutboundOrder.Status.DISPATCHED:
        return []
    integration = link.integration
    if integration.status != Integration.Status.ACTIVE or not integration.fulfilment_enabled:
        return []
    if link.marketplace_cancelled_at is not None:
        return []
    rows = []
    for consignment in order.consignments.exclude(status=Consignment.Status.CANCELLED).prefetch_related("packages"):
        for package in consignment.packages.all():
            if not package.tracking_number:
                continue
            row, _ = PackageConfirmation.objects.get_or_create(
                integration=integration, package=package,
                defaults={"imported_order": link, "tracking_number": package.tracking_number})
            rows.append(row)
    return rows


def _claim(confirmation_id: int) -> PackageConfirmation | None:
    """Moves a due row to `sending` under a row lock; None if another worker has it or it is done."""
    now = timezone.now()
    with transaction.atomic():
        row = (PackageConfirmation.objects.select_for_update(skip_locked=True)
               .filter(pk=confirmation_id, state=State.PENDING)
               .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)).first())
        if row is None:
            return None
        row.state = State.SENDING
        row.attempts += 1
        row.save(update_fields=["state", "attempts", "updated_at"])
        return row


def _shipment(row: PackageConfirmation) -> ShipmentConfirmation:
    package = row.package
    consignment = package.consignment
    order = consignment.order
    integration = row.integration
    carrier = consignment.carrier
    items = tuple(ShipmentItem(line_id=pl.order_line.external_line_id, quantity=pl.quantity)
                  for pl in package.lines.select_related("order_line"))
    return ShipmentConfirmation(
        order_id=row.imported_order.marketplace_order_id, package_reference=str(package.id),
        carrier_code=integration.carrier_map.get(carrier, carrier), carrier_name=carrier,
        tracking_number=row.tracking_number, ship_date=order.dispatched_at or timezone.now(), items=items,
        shipping_method=consignment.service, ship_from_supply_source_id=row.imported_order.supply_source_id)


def confirmation_send(*, confirmation_id: int) -> str:
    """Sends one package's confirmation if it is due. Returns the row's state afterwards."""
    row = _claim(confirmation_id)
    if row is None:
        return PackageConfirmation.objects.filter(pk=confirmation_id).values_list("state", flat=True).first() or ""
    integration = row.integration
    order = row.imported_order.order
    if integration.status != Integration.Status.ACTIVE or not integration.fulfilment_enabled:
        # Turned off after the row was made: park it; turning fulfilment on again resumes it.
        PackageConfirmation.objects.filter(pk=row.pk).update(state=State.PENDING, attempts=row.attempts - 1)
        return State.PENDING
    provider = provider_for(integration)
    try:
        provider.confirm_shipment(conn=connection_for(integration, provider), shipment=_shipment(row))
    except ProviderRejected as exc:
        _finish(row, State.FAILED, exc.message)
        log_entry(integration=integration, level=ERROR, event="confirmation.rejected", order=order,
                  marketplace_order_id=row.imported_order.marketplace_order_id,
                  message=f"The marketplace refused the shipment confirmation for order {order.reference}, "
                          f"tracking {row.tracking_number}: {exc.message}. Check the carrier mapping and confirm "
                          "it on the marketplace by hand.")
        return State.FAILED
    except ProviderAuthError as exc:
        _retry_later(row, exc.message)
        integration_mark_needs_reconnect(integration_id=integration.id, reason=exc.message)
        return State.PENDING
    except ProviderError as exc:
        delay = dt.timedelta(seconds=exc.retry_after) if isinstance(exc, ProviderRateLimited) and exc.retry_after \
            else RETRY_DELAY * row.attempts
        if row.attempts >= MAX_ATTEMPTS:
            _finish(row, State.FAILED, exc.message)
            log_entry(integration=integration, level=ERROR, event="confirmation.gave_up", order=order,
                      marketplace_order_id=row.imported_order.marketplace_order_id,
                      message=f"Confirming order {order.reference} (tracking {row.tracking_number}) failed "
                              f"{row.attempts} times: {exc.message}. Confirm it on the marketplace by hand.")
            return State.FAILED
        _retry_later(row, exc.message, delay)
        return State.PENDING
    _finish(row, State.CONFIRMED, "")
    log_entry(integration=integration, level=INFO, event="confirmation.sent", order=order,
              marketplace_order_id=row.imported_order.marketplace_order_id,
              message=f"Shipment confirmed for order {order.reference}: {row.package.consignment.carrier} "
                      f"tracking {row.tracking_number}.")
    return State.CONFIRMED


def _finish(row: PackageConfirmation, state: str, error: str) -> None:
    PackageConfirmation.objects.filter(pk=row.pk).update(
        state=state, last_error=error[:500], updated_at=timezone.now(),
        confirmed_at=timezone.now() if state == State.CONFIRMED else None)


def _retry_later(row: PackageConfirmation, error: str, delay: dt.timedelta = RETRY_DELAY) -> None:
    PackageConfirmation.objects.filter(pk=row.pk).update(
        state=State.PENDING, last_error=error[:500], next_attempt_at=timezone.now() + delay,
        updated_at=timezone.now())


def confirmations_for_order(*, order_id: int) -> list[str]:
    """Prepares and sends every due confirmation of one order (the dispatch trigger)."""
    order = OutboundOrder.objects.filter(pk=order_id).first()
    if order is None:
        return []
    return [confirmation_send(confirmation_id=row.id) for row in confirmations_prepare(order=order)
            if row.state == State.PENDING]


def confirmations_sweep() -> int:
    """The safety net: dispatched imported orders whose packages were never confirmed, due retries,
    and rows stuck in `sending`. Returns how many rows it sent."""
    sent = 0
    since = timezone.now() - dt.timedelta(days=14)
    orders = (OutboundOrder.objects.filter(status=OutboundOrder.Status.DISPATCHED, dispatched_at__gte=since,
                                           marketplace_link__integration__status=Integration.Status.ACTIVE,
                                           marketplace_link__integration__fulfilment_enabled=True)
              .exclude(consignments__packages__tracking_number="").distinct())
    for order in orders.iterator():
        confirmations_prepare(order=order)
    due = PackageConfirmation.objects.filter(state=State.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
    for row_id in due.values_list("id", flat=True)[:500]:
        sent += confirmation_send(confirmation_id=row_id) == State.CONFIRMED
    stale = PackageConfirmation.objects.filter(state=State.SENDING, updated_at__lt=timezone.now() - STALE_SENDING)
    for row in stale.select_related("integration", "imported_order__order"):
        _finish(row, State.FAILED, "outcome unknown: the worker stopped while sending")
        log_entry(integration=row.integration, level=ERROR, event="confirmation.outcome_unknown",
                  order=row.imported_order.order, marketplace_order_id=row.imported_order.marketplace_order_id,
                  message=f"We may or may not have confirmed tracking {row.tracking_number} for order "
                          f"{row.imported_order.order.reference} (the worker stopped mid-call). It is not sent "
                          "again automatically: check the order on the marketplace.")
    return sent
