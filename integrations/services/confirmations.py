"""One-time shipment confirmation: the marketplace is told once per package, never twice.

A PackageConfirmation row (unique per integration and package) is written before the call and moves
pending → sending → confirmed | failed. A call whose outcome is unknown (a timeout, a reset, a 5xx, a
worker that stopped mid-call) leaves the row `uncertain`: before anything is sent again the order is
read back from the marketplace, and the package is marked confirmed if it is already there.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from warehouse.models import Consignment, OutboundOrder, Package, PackageLine

from ..errors import IntegrationError
from ..locks import job_lock
from ..models import ImportedOrder, Integration, PackageConfirmation
from ..providers.base import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    ShipmentConfirmation,
    ShipmentItem,
    ShipmentReadBack,
)
from .connection import connection_for, integration_mark_needs_reconnect, provider_for
from .log import ERROR, INFO, log_entry

State = PackageConfirmation.State
STALE_SENDING = dt.timedelta(minutes=15)      # only where job locks are cache keys (SQLite): their TTL
MAX_ATTEMPTS = 10


def _retry_delay() -> dt.timedelta:
    return dt.timedelta(seconds=settings.CONFIRMATION_RETRY_SECONDS)


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
    """Sends one package's confirmation if it is due. Returns the row's state afterwards.

    After an ambiguous outcome (timeout, reset, 5xx, unreadable answer) the row is `uncertain`: the
    next attempt reads the order back from the marketplace first and only sends if the package is
    not there, so a lost answer never makes the buyer's package reach the marketplace twice.

    The sender holds the row's job lock for as long as the call lives: a worker killed mid-call loses it
    with its database session, so the sweep knows at once that the row it left in `sending` has nobody
    behind it (locks.py), instead of after a time-out."""
    with job_lock("confirmation_send", confirmation_id, ttl=int(STALE_SENDING.total_seconds())) as mine:
        if not mine:          # another worker is sending it right now
            return PackageConfirmation.objects.filter(pk=confirmation_id).values_list("state", flat=True).first() or ""
        return _send(confirmation_id)


def _send(confirmation_id: int) -> str:
    row = _claim(confirmation_id)
    if row is None:
        return PackageConfirmation.objects.filter(pk=confirmation_id).values_list("state", flat=True).first() or ""
    integration = row.integration
    if integration.status != Integration.Status.ACTIVE or not integration.fulfilment_enabled:
        # Turned off after the row was made: park it; turning fulfilment on again resumes it.
        PackageConfirmation.objects.filter(pk=row.pk).update(state=State.PENDING, attempts=row.attempts - 1)
        return State.PENDING
    provider = provider_for(integration)
    conn = connection_for(integration, provider)
    shipment = _shipment(row)
    if row.uncertain:
        try:
            found = _already_on_marketplace(row, shipment, provider.shipments_read_back(
                conn=conn, order_id=shipment.order_id))
        except ProviderError as exc:
            return _failed_for_now(row, exc, uncertain=True, reading_back=True)
        if found:
            _finish(row, State.CONFIRMED, "")
            _log(row, INFO, "confirmation.found",
                 f"Tracking {row.tracking_number} for order {_reference(row)} was already on the marketplace "
                 "(the answer to our earlier call was lost): marked confirmed, not sent again.")
            return State.CONFIRMED
        PackageConfirmation.objects.filter(pk=row.pk).update(uncertain=False)
    try:
        note = provider.confirm_shipment(conn=conn, shipment=shipment)
    except ProviderRejected as exc:
        _finish(row, State.FAILED, exc.message)
        _log(row, ERROR, "confirmation.rejected",
             f"The marketplace refused the shipment confirmation for order {_reference(row)}, "
             f"tracking {row.tracking_number}: {_sentence(exc.message)} Check the carrier mapping, then use "
             "Resend on the order page, or confirm it on the marketplace by hand.")
        return State.FAILED
    except ProviderUnavailable as exc:
        # The request may have arrived and been applied: never resend without reading back first.
        return _failed_for_now(row, exc, uncertain=True)
    except ProviderError as exc:
        return _failed_for_now(row, exc, uncertain=False)
    _finish(row, State.CONFIRMED, "")
    _log(row, INFO, "confirmation.sent", f"Shipment confirmed for order {_reference(row)}: "
                                         f"{row.package.consignment.carrier} tracking {row.tracking_number}.")
    if note:
        _log(row, INFO, "confirmation.carrier", f"Order {_reference(row)}: {note}")
    return State.CONFIRMED


def _reference(row: PackageConfirmation) -> str:
    return row.imported_order.order.reference


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _log(row: PackageConfirmation, level: str, event: str, message: str) -> None:
    log_entry(integration=row.integration, level=level, event=event, order=row.imported_order.order,
              marketplace_order_id=row.imported_order.marketplace_order_id, message=message)


def _already_on_marketplace(row: PackageConfirmation, shipment: ShipmentConfirmation,
                            found: ShipmentReadBack) -> bool:
    if shipment.package_reference in found.package_references or row.tracking_number in found.tracking_numbers:
        return True
    if found.shipped_quantities is None or not shipment.items:
        return False
    # Only quantities per line are known (Amazon v0): this package is there if the marketplace has
    # shipped more than the packages we know we confirmed, by at least this package's contents.
    ours: dict[str, int] = {}
    others = PackageConfirmation.objects.filter(imported_order=row.imported_order_id, state=State.CONFIRMED) \
        .exclude(pk=row.pk).values_list("package_id", flat=True)
    for line_id, quantity in PackageLine.objects.filter(package_id__in=list(others)) \
            .values_list("order_line__external_line_id", "quantity"):
        ours[line_id] = ours.get(line_id, 0) + quantity
    wanted: dict[str, int] = {}
    for item in shipment.items:
        wanted[item.line_id] = wanted.get(item.line_id, 0) + item.quantity
    return all(found.shipped_quantities.get(line_id, 0) >= ours.get(line_id, 0) + quantity
               for line_id, quantity in wanted.items())


def _failed_for_now(row: PackageConfirmation, exc: ProviderError, *, uncertain: bool,
                    reading_back: bool = False) -> str:
    """A temporary failure: try again later, logged once per reason with the time of the next try."""
    integration = row.integration
    if isinstance(exc, ProviderAuthError):
        _retry_later(row, exc.message, uncertain=uncertain or row.uncertain)
        integration_mark_needs_reconnect(integration_id=integration.id, reason=exc.message)
        return State.PENDING
    if row.attempts >= MAX_ATTEMPTS:
        _finish(row, State.FAILED, exc.message)
        maybe = " It may have reached the marketplace: check the order there first." if uncertain else ""
        _log(row, ERROR, "confirmation.gave_up",
             f"Confirming order {_reference(row)} (tracking {row.tracking_number}) failed {row.attempts} times: "
             f"{_sentence(exc.message)}{maybe} Use Resend on the order page, or confirm it on the marketplace "
             "by hand.")
        return State.FAILED
    delay = (dt.timedelta(seconds=exc.retry_after) if isinstance(exc, ProviderRateLimited) and exc.retry_after
             else _retry_delay() * row.attempts)
    next_at = _retry_later(row, exc.message, delay, uncertain=uncertain or row.uncertain)
    reason = exc.message[:500]
    if reason != row.logged_reason:
        PackageConfirmation.objects.filter(pk=row.pk).update(logged_reason=reason)
        what = "Reading back" if reading_back else "Confirming"
        unknown = (" The marketplace may have received it: it is read back before anything is sent again."
                   if uncertain and not reading_back else "")
        _log(row, INFO, "confirmation.retry",
             f"{what} order {_reference(row)} (tracking {row.tracking_number}) failed for now: "
             f"{_sentence(exc.message)}{unknown} Next try at {_when(next_at)}.")
    return State.PENDING


def _when(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%d %b %Y %H:%M:%S %Z")


def _finish(row: PackageConfirmation, state: str, error: str) -> None:
    PackageConfirmation.objects.filter(pk=row.pk).update(
        state=state, last_error=error[:500], updated_at=timezone.now(), uncertain=False,
        confirmed_at=timezone.now() if state == State.CONFIRMED else None)


def _retry_later(row: PackageConfirmation, error: str, delay: dt.timedelta | None = None, *,
                 uncertain: bool = False) -> dt.datetime:
    next_at = timezone.now() + (delay if delay is not None else _retry_delay())
    PackageConfirmation.objects.filter(pk=row.pk).update(
        state=State.PENDING, last_error=error[:500], next_attempt_at=next_at, uncertain=uncertain,
        updated_at=timezone.now())
    return next_at


def confirmation_resend(*, confirmation: PackageConfirmation, requested_by: str) -> PackageConfirmation:
    """Resend on the order page (Extensiv's "resend tracking"): a failed confirmation goes back to
    pending. The order is read back first, so a package that did reach the marketplace is only
    marked confirmed, never sent twice."""
    from ..tasks import confirmation_send_task

    with transaction.atomic():
        row = PackageConfirmation.objects.select_for_update().select_related(
            "integration", "imported_order__order").get(pk=confirmation.pk)
        if row.state != State.FAILED:
            raise IntegrationError(f"Tracking {row.tracking_number} is {row.get_state_display().lower()}, not "
                                   "failed: there is nothing to resend.")
        PackageConfirmation.objects.filter(pk=row.pk).update(
            state=State.PENDING, attempts=0, next_attempt_at=None, uncertain=True, logged_reason="",
            updated_at=timezone.now())
        _log(row, INFO, "confirmation.resend",
             f"{requested_by} asked to resend tracking {row.tracking_number} for order {_reference(row)}: the "
             "marketplace is checked first, then it is sent if it is not there.")
        transaction.on_commit(lambda: confirmation_send_task.delay(row.pk))
    row.refresh_from_db()
    return row


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
    # Only orders with a tracked package that has no row yet: the rest are the rows' business below.
    # (Reading every dispatched order each sweep costs queries per order, thousands per tick.)
    without_row = (Package.objects.filter(consignment__order=OuterRef("pk")).exclude(tracking_number="")
                   .exclude(consignment__status=Consignment.Status.CANCELLED)
                   .exclude(Exists(PackageConfirmation.objects.filter(package=OuterRef("pk")))))
    orders = OutboundOrder.objects.filter(status=OutboundOrder.Status.DISPATCHED, dispatched_at__gte=since,
                                          marketplace_link__integration__status=Integration.Status.ACTIVE,
                                          marketplace_link__integration__fulfilment_enabled=True,
                                          marketplace_link__marketplace_cancelled_at__isnull=True
                                          ).filter(Exists(without_row))
    for order in orders.iterator():
        confirmations_prepare(order=order)
    for row in PackageConfirmation.objects.filter(state=State.SENDING).select_related(
            "integration", "imported_order__order"):
        # Free lock, row still `sending`: the worker stopped mid-call (its lock went with it), so the
        # outcome is unknown and the next attempt reads back first. A held lock is a live sender.
        with job_lock("confirmation_send", row.pk, ttl=int(STALE_SENDING.total_seconds())) as abandoned:
            if not abandoned or not PackageConfirmation.objects.filter(pk=row.pk, state=State.SENDING).update(
                    state=State.PENDING, uncertain=True, next_attempt_at=None, updated_at=timezone.now()):
                continue
        _log(row, INFO, "confirmation.outcome_unknown",
             f"The worker confirming tracking {row.tracking_number} for order {_reference(row)} stopped mid-call: "
             "the order is read back from the marketplace before anything is sent again.")
    due = PackageConfirmation.objects.filter(state=State.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
    for row_id in due.values_list("id", flat=True)[:500]:
        sent += confirmation_send(confirmation_id=row_id) == State.CONFIRMED
    return sent
