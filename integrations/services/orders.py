"""Order import: marketplace orders become outbound orders, exactly once.

One service takes either a time window (the poll, "import missing orders" by dates) or a list of
order ids ("import missing orders" by number, retries, later the marketplaces' push events).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from warehouse.errors import InsufficientStock, WarehouseError
from warehouse.models import OutboundOrder, Product
from warehouse.services import (
    AddressData,
    LineSpec,
    outbound_order_allocate,
    outbound_order_cancel,
    outbound_order_create,
)

from ..models import ImportedOrder, ImportRun, Integration, PendingImport
from ..providers.base import (
    MarketplaceOrder,
    OrderPage,
    OrderState,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from .connection import connection_for, provider_for
from .log import DEBUG, ERROR, INFO, log_entry
from .routing import order_route

# Re-read a little before the watermark: an order committed on the marketplace's side just before our
# last poll's upper bound may only have become visible after it. Re-reading is harmless.
OVERLAP = dt.timedelta(minutes=10)
FIRST_POLL_LOOKBACK = dt.timedelta(days=3)
MAX_IDS_PER_REQUEST = 50
# How long an order that failed to import (unknown SKU, bad data) keeps being retried on each poll.
PENDING_RETRY_FOR = dt.timedelta(days=7)


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    watermark: dt.datetime | None = None

    def merge(self, outcome: str, order_id: str) -> None:
        getattr(self, outcome).append(order_id)


class ImportRefused(Exception):
    """This order cannot become an outbound order now; the message says why and what to do."""

    def __init__(self, message: str, *, retry: bool = True, level: str = ERROR):
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.level = level


def orders_import(
    *,
    integration: Integration,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    order_ids: Sequence[str] | None = None,
    kind: str | None = None,
) -> ImportResult:
    """Imports one window (or list) of orders. With neither `since` nor `order_ids` it is the poll:
    from the watermark (less an overlap), moving the watermark once everything read is committed.
    Every call is recorded as an ImportRun (`kind` defaults from the arguments)."""
    run = _run_start(integration=integration, since=since, until=until, order_ids=order_ids, kind=kind)
    try:
        result = _orders_import(integration=integration, since=since, until=until, order_ids=order_ids, run=run)
    except ProviderError as exc:
        _run_end(run, ImportRun.State.STOPPED if _resumable(exc) else ImportRun.State.FAILED, exc.message)
        raise
    except BaseException:
        _run_end(run, ImportRun.State.FAILED, "The import stopped on an unexpected error; the next run starts again.")
        raise
    _run_end(run, ImportRun.State.FINISHED, "")
    return result


def _resumable(exc: ProviderError) -> bool:
    return isinstance(exc, (ProviderRateLimited, ProviderUnavailable))


def _run_start(*, integration, since, until, order_ids, kind) -> ImportRun:
    if kind is None:
        if order_ids or since is not None:
            kind = ImportRun.Kind.MISSING_ORDERS
        else:
            kind = ImportRun.Kind.POLL if integration.orders_watermark else ImportRun.Kind.FIRST_CONNECT
    return ImportRun.objects.create(integration=integration, kind=kind, since=since, until=until,
                                    order_ids=list(order_ids or []))


def _run_end(run: ImportRun, state: str, message: str) -> None:
    run.state, run.message, run.finished_at = state, message[:500], timezone.now()
    run.waiting_for_quota = 0
    run.save(update_fields=["state", "message", "finished_at", "waiting_for_quota", "updated_at"])


def _orders_import(*, integration, since, until, order_ids, run: ImportRun) -> ImportResult:
    provider = provider_for(integration)
    conn = connection_for(integration, provider)
    result = ImportResult()
    is_poll = since is None and not order_ids
    if order_ids:
        ids = list(dict.fromkeys(i.strip() for i in order_ids if i.strip()))
        try:
            orders = _orders_by_id(integration=integration, provider=provider, conn=conn, order_ids=ids)
        except ProviderRejected as exc:            # the single number given is unknown
            log_entry(integration=integration, level=ERROR, event="orders_import.not_found",
                      marketplace_order_id=ids[0],
                      message=f"Order {ids[0]} could not be read from the marketplace: {exc.message}. "
                              "Check the order number.")
            orders = []
        pages: Iterable[OrderPage] = [OrderPage(orders=tuple(orders))]
    else:
        if since is None:
            since = (integration.orders_watermark - OVERLAP if integration.orders_watermark
                     else timezone.now() - FIRST_POLL_LOOKBACK)
        pages = provider.orders_updated_since(conn=conn, since=since, until=until)

    for page in pages:                               # a ProviderError here leaves the watermark alone
        counts = dict.fromkeys(("imported", "existing", "skipped", "failed", "cancelled"), 0)
        for order in page.orders:
            outcome = order_import_one(integration=integration, order=order)
            result.merge(outcome, order.order_id)
            counts["imported" if outcome == "created" else outcome] += 1
        run.add(pages=1, found=len(page.orders), **counts)
        if page.watermark is not None:
            result.watermark = page.watermark

    if is_poll:
        _retry_pending(integration=integration, result=result, provider=provider, conn=conn)
        fields = {"last_import_at": timezone.now()}
        if result.watermark is not None:
            fields["orders_watermark"] = result.watermark
        Integration.objects.filter(pk=integration.pk).update(**fields)
        for key, value in fields.items():
            setattr(integration, key, value)
    summary = (f"{len(result.created)} created, {len(result.failed)} failed, {len(result.cancelled)} cancelled, "
               f"{len(result.existing)} already imported, {len(result.skipped)} not for the warehouse.")
    if result.created or result.failed or result.cancelled:
        log_entry(integration=integration, level=INFO, event="orders_import.finished",
                  message=f"Import finished: {summary}")
    else:       # every run leaves a trace; a quiet one only at DEBUG
        log_entry(integration=integration, level=DEBUG, event="orders_import.nothing_new",
                  message=f"Import checked the marketplace: {summary}")
    return result


def _retry_pending(*, integration, result, provider, conn) -> None:
    expired = integration.pending_imports.filter(first_failed_at__lt=timezone.now() - PENDING_RETRY_FOR)
    for pending in expired:
        log_entry(integration=integration, level=ERROR, event="orders_import.gave_up",
                  marketplace_order_id=pending.marketplace_order_id,
                  message=f"Order {pending.marketplace_order_id} still could not be imported after "
                          f"{PENDING_RETRY_FOR.days} days ({pending.reason}). It is no longer retried; fix the "
                          "cause and use Import missing orders, or enter it by hand.")
    expired.delete()
    seen = set(result.created + result.existing + result.failed + result.skipped + result.cancelled)
    pending_ids = list(integration.pending_imports.exclude(marketplace_order_id__in=seen)
                       .order_by("last_tried_at").values_list("marketplace_order_id", flat=True)[:MAX_IDS_PER_REQUEST])
    if not pending_ids:
        return
    try:
        orders = _orders_by_id(integration=integration, provider=provider, conn=conn, order_ids=pending_ids)
    except ProviderError as exc:
        log_entry(integration=integration, level=INFO, event="orders_import.retry_deferred",
                  message=f"Retrying {len(pending_ids)} earlier failed order(s) was put off: {exc.message}")
        return
    for order in orders:
        result.merge(order_import_one(integration=integration, order=order), order.order_id)


def _orders_by_id(*, integration, provider, conn, order_ids: list[str]) -> list[MarketplaceOrder]:
    """All the orders in one batch; if the marketplace refuses the batch (an unknown number), one by one,
    so one wrong number never hides the others."""
    try:
        return provider.orders_by_id(conn=conn, order_ids=order_ids)
    except ProviderRejected:
        if len(order_ids) == 1:
            raise
    orders = []
    for order_id in order_ids:
        try:
            orders += provider.orders_by_id(conn=conn, order_ids=[order_id])
        except ProviderRejected as exc:
            log_entry(integration=integration, level=ERROR, event="orders_import.not_found",
                      marketplace_order_id=order_id,
                      message=f"Order {order_id} could not be read from the marketplace: {exc.message}. "
                              "Check the order number.")
            PendingImport.objects.filter(integration=integration, marketplace_order_id=order_id).delete()
    return orders


def order_import_one(*, integration: Integration, order: MarketplaceOrder) -> str:
    """Imports or updates one marketplace order. Returns the outcome: created, existing, skipped,
    failed or cancelled. Never raises for a bad order: it is logged and kept for a retry."""
    link = ImportedOrder.objects.select_related("order").filter(
        integration=integration, marketplace_order_id=order.order_id).first()
    if link is not None:
        if order.state == OrderState.CANCELLED and link.marketplace_cancelled_at is None:
            return _cancel_imported(integration=integration, link=link)
        return "existing"

    if order.fulfilled_by_marketplace:
        log_entry(integration=integration, level=DEBUG, event="orders_import.skipped_afn",
                  marketplace_order_id=order.order_id,
                  message=f"Order {order.order_id} is fulfilled by the marketplace (FBA); not warehouse work.")
        _forget_pending(integration, order.order_id)
        return "skipped"
    if order.state not in (OrderState.READY, OrderState.PARTIALLY_SHIPPED):
        log_entry(integration=integration, level=DEBUG, event="orders_import.skipped_status",
                  marketplace_order_id=order.order_id,
                  message=f"Order {order.order_id} is {order.raw_status}; only orders ready to ship are imported.")
        _forget_pending(integration, order.order_id)
        return "skipped"

    try:
        outbound = _create(integration=integration, order=order)
    except ImportRefused as exc:
        if not exc.retry:
            # Overlapping polls read the order again: say it once, not on every poll.
            if not integration.log.filter(event="orders_import.not_imported",
                                          marketplace_order_id=order.order_id).exists():
                log_entry(integration=integration, level=exc.level, event="orders_import.not_imported",
                          marketplace_order_id=order.order_id, message=exc.message)
            _forget_pending(integration, order.order_id)
            return "skipped"
        reason = exc.message[:1000]
        pending, made = PendingImport.objects.get_or_create(
            integration=integration, marketplace_order_id=order.order_id, defaults={"reason": reason})
        if not made:
            PendingImport.objects.filter(pk=pending.pk).update(
                reason=reason, attempts=pending.attempts + 1, last_tried_at=timezone.now())
        # Said once per reason: a retry that fails the same way every poll adds nothing to the log.
        if made or pending.reason != reason:
            log_entry(integration=integration, level=ERROR, event="orders_import.failed",
                      marketplace_order_id=order.order_id, message=exc.message)
        return "failed"
    except IntegrityError:
        # Another worker imported the same order a moment ago: the unique constraint kept it to one.
        return "existing"
    _forget_pending(integration, order.order_id)
    log_entry(integration=integration, level=INFO, event="orders_import.created", order=outbound,
              marketplace_order_id=order.order_id,
              message=f"Order {order.order_id} imported into {outbound.warehouse.code} "
                      f"({outbound.get_status_display().lower()}).")
    return "created"


def _forget_pending(integration: Integration, order_id: str) -> None:
    PendingImport.objects.filter(integration=integration, marketplace_order_id=order_id).delete()


def _create(*, integration: Integration, order: MarketplaceOrder) -> OutboundOrder:
    if order.is_pickup:
        raise ImportRefused(f"Order {order.order_id} is a local pickup order; pickup orders are not supported. "
                            "Hand it over in person and mark it shipped on the marketplace.", retry=False)
    if order.problems:
        raise ImportRefused(f"Order {order.order_id} has data we cannot read: {'; '.join(order.problems)}.")
    if order.address_withheld or order.address is None:
        raise ImportRefused(
            f"Order {order.order_id}: the marketplace withheld the delivery address from this app "
            "(on Etsy, address access depends on the app's partner status). The order was not created; "
            "ask the marketplace for address access or enter the order by hand.")
    route = order_route(integration=integration, order=order)
    if route.warehouse is None:
        raise ImportRefused(f"Order {order.order_id} was not imported: {route.reason}.", retry=False, level=INFO)
    warehouse = route.warehouse
    lines = _lines(integration=integration, order=order)
    zone = warehouse.zone
    # The marketplace gives instants in UTC; the warehouse works in its own local day.
    collect = order.latest_ship_at.astimezone(zone).date() if order.latest_ship_at else None
    deliver = order.latest_delivery_at.astimezone(zone).date() if order.latest_delivery_at else None
    a = order.address
    address = AddressData(contact_name=a.name, company_name=a.company, street_address=a.line1,
                          street_address_2=a.line2, city=a.city, state=a.state, postcode=a.postcode,
                          country=a.country[:2], telephone=a.phone, email=a.email, source=integration.marketplace)
    method = (integration.shipping_method_map.get(order.service_level) or order.service_level
              or order.shipping_method)
    with transaction.atomic():
        try:
            outbound = outbound_order_create(
                tenant=integration.tenant, customer=integration.customer, warehouse=warehouse,
                reference=order.order_id, lines=lines, delivery_address=address, shipping_method=method[:100],
                required_collection_date=collect, required_delivery_date=deliver, source=integration.marketplace)
        except WarehouseError as exc:
            raise ImportRefused(f"Order {order.order_id}: {exc.message}") from exc
        ImportedOrder.objects.create(integration=integration, marketplace_order_id=order.order_id, order=outbound,
                                     supply_source_id=order.supply_source_id)
    try:
        outbound = outbound_order_allocate(order=outbound)
    except InsufficientStock as exc:
        log_entry(integration=integration, level=INFO, event="orders_import.awaiting_stock", order=outbound,
                  marketplace_order_id=order.order_id,
                  message=f"Order {order.order_id} is waiting for stock: {exc.message} Allocate it once stock arrives.")
    return outbound


def _lines(*, integration: Integration, order: MarketplaceOrder) -> list[LineSpec]:
    by_alt = integration.match_by == Integration.MatchBy.ALTERNATIVE_CODE
    products = Product.objects.filter(customer=integration.customer)
    lines, unknown = [], []
    for line in order.lines:
        qty = line.quantity - line.quantity_shipped
        if qty <= 0:
            continue
        code = line.alternative_code if by_alt else line.sku
        product = (products.filter(alternative_codes__code=code).first() if by_alt
                   else products.filter(code=code).first()) if code else None
        if product is None:
            unknown.append(code or f"(line {line.line_id} has no {'ASIN' if by_alt else 'SKU'})")
            continue
        lines.append(LineSpec(product=product, quantity=qty, external_line_id=line.line_id))
    if unknown:
        what = "ASIN" if by_alt else "SKU"
        raise ImportRefused(
            f"Order {order.order_id}: {what} {', '.join(unknown)} does not match any product of "
            f"{integration.customer.name}. Add the product (with that {'alternative code' if by_alt else 'code'}) "
            "and the order is imported on the next poll, or use Import missing orders.")
    if not lines:
        raise ImportRefused(f"Order {order.order_id} has nothing left to ship.", retry=False, level=INFO)
    return lines


def _cancel_imported(*, integration: Integration, link: ImportedOrder) -> str:
    outbound = link.order
    ImportedOrder.objects.filter(pk=link.pk).update(marketplace_cancelled_at=timezone.now())
    if outbound.status in (OutboundOrder.Status.DRAFT, OutboundOrder.Status.AWAITING_PICK):
        outbound_order_cancel(order=outbound, reason=f"Cancelled on {integration.get_marketplace_display()}")
        log_entry(integration=integration, level=INFO, event="orders_import.cancelled", order=outbound,
                  marketplace_order_id=link.marketplace_order_id,
                  message=f"Order {link.marketplace_order_id} was cancelled on the marketplace; "
                          f"outbound order {outbound.reference} cancelled.")
        return "cancelled"
    log_entry(integration=integration, level=ERROR, event="orders_import.cancelled_too_late", order=outbound,
              marketplace_order_id=link.marketplace_order_id,
              message=f"Order {link.marketplace_order_id} was cancelled on the marketplace but outbound order "
                      f"{outbound.reference} is already {outbound.get_status_display().lower()}. Stop it on the "
                      "floor if you still can, and tell the customer.")
    return "cancelled"
