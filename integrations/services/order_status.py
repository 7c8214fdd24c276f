"""What the order page says about a marketplace order: each package's confirmation, and why nothing
is sent when nothing will be (registered with warehouse.hooks; the warehouse knows no marketplace)."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from warehouse.hooks import OrderOutside, PackageStatus
from warehouse.models import Consignment, OutboundOrder

from ..models import ImportedOrder, Integration, PackageConfirmation

State = PackageConfirmation.State


def _when(value) -> str:
    return timezone.localtime(value).strftime("%d %b %Y %H:%M") if value else ""


def integration_not_sending(*, integration: Integration, link: ImportedOrder) -> str:
    """Why nothing is sent to the marketplace for this order now; "" when it is."""
    market = integration.get_marketplace_display()
    if integration.status == Integration.Status.DELETED:
        return f"Nothing is sent to {market}: the integration “{integration.name}” was deleted."
    if link.marketplace_cancelled_at is not None:
        return f"Nothing is sent to {market}: the order was cancelled there."
    if integration.status == Integration.Status.PAUSED:
        return (f"Nothing is sent to {market}: the integration “{integration.name}” is turned off. Turn it on "
                "and the confirmations go out.")
    if integration.status == Integration.Status.ERROR:
        return (f"Nothing can be sent to {market} until the integration “{integration.name}” is reconnected; "
                "the confirmations wait until then.")
    if integration.status == Integration.Status.SETUP:
        return f"Nothing is sent to {market}: the integration “{integration.name}” is still being set up."
    if not integration.fulfilment_enabled:
        return (f"Nothing is sent to {market}: fulfilment is turned off for the integration "
                f"“{integration.name}”, so tracking is not sent back.")
    return ""


def _package_status(row: PackageConfirmation | None, *, has_tracking: bool, market: str,
                    sending: bool) -> PackageStatus:
    if row is None:
        if not has_tracking:
            return PackageStatus("Waiting for tracking", "waiting",
                                 f"Nothing can reach {market} until this package has a tracking number.")
        if not sending:
            return PackageStatus("Not sent", "off", f"Not sent to {market} (see above).")
        return PackageStatus("Pending", "pending", f"Queued to be sent to {market}.")
    if row.state == State.CONFIRMED:
        return PackageStatus("Confirmed", "confirmed", f"Confirmed on {market} {_when(row.confirmed_at)}.")
    if row.state == State.FAILED:
        return PackageStatus("Failed", "failed", row.last_error or "The marketplace did not take it.",
                             action_url=reverse("integrations:confirmation_resend", args=[row.id]),
                             action_label="Resend")
    if row.state == State.SENDING or row.uncertain:
        detail = (f"Sent to {market}; the answer was lost, so {market} is checked before anything is sent again"
                  f"{f' ({_when(row.next_attempt_at)})' if row.next_attempt_at else ''}."
                  if row.uncertain else f"Being sent to {market} now.")
        return PackageStatus("Sent", "sent", detail)
    detail = f"Queued to be sent to {market}."
    if row.attempts and row.last_error:
        detail = f"Not sent yet: {row.last_error} Next try {_when(row.next_attempt_at) or 'soon'}."
    if not sending:
        detail = f"Waiting: not sent to {market} now (see above)."
    return PackageStatus("Pending", "pending", detail)


def order_marketplace_status(order: OutboundOrder) -> OrderOutside | None:
    link = ImportedOrder.objects.select_related("integration").filter(order=order).first()
    if link is None:
        return None
    integration = link.integration
    market = integration.get_marketplace_display()
    reason = integration_not_sending(integration=integration, link=link)
    title = f"{market} confirmation"
    if order.status != OutboundOrder.Status.DISPATCHED:
        notices = (reason,) if reason and order.status in OutboundOrder.OPEN_STATUSES else ()
        return OrderOutside(title=title, notices=notices)
    rows = {r.package_id: r for r in PackageConfirmation.objects.filter(imported_order=link)}
    packages = {}
    for consignment in order.consignments.exclude(status=Consignment.Status.CANCELLED).prefetch_related("packages"):
        for package in consignment.packages.all():
            packages[package.id] = _package_status(rows.get(package.id), has_tracking=bool(package.tracking_number),
                                                   market=market, sending=not reason)
    notices = [reason] if reason else []
    waiting = [n for n, status in enumerate(packages.values(), 1) if status.state == "waiting"]
    if waiting and not reason:
        many = len(waiting) > 1
        notices.append(f"Package{'s' if many else ''} {', '.join(str(n) for n in waiting)} "
                       f"ha{'ve' if many else 's'} no tracking number: nothing can reach {market} until "
                       "tracking is added.")
    return OrderOutside(title=title, packages=packages, notices=tuple(notices))
