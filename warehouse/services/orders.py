"""The outbound order lifecycle: create → allocate → pick → pack → dispatch, or reject / cancel.

Stock arithmetic: allocating adds to `allocated`; dispatching takes the quantity off both `on_hand`
and `allocated`; rejecting or cancelling an allocated order gives the allocation back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..errors import DuplicateReference, InsufficientStock, InvalidTransition, WarehouseError
from ..events import outbound_order_closed, outbound_order_dispatched, publish_on_commit
from ..models import (
    Address,
    Consignment,
    Customer,
    OutboundOrder,
    OutboundOrderLine,
    Package,
    PackageLine,
    Product,
    StockLevel,
    Tenant,
    Warehouse,
)
from .stock import STOCK_LOCK_ORDER

Status = OutboundOrder.Status


@dataclass(frozen=True)
class AddressData:
    contact_name: str = ""
    company_name: str = ""
    street_address: str = ""
    street_address_2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    telephone: str = ""
    email: str = ""
    latitude: float | None = None
    longitude: float | None = None
    source: str = Address.Source.MANUAL


@dataclass(frozen=True)
class LineSpec:
    product: Product
    quantity: int
    external_line_id: str = ""


@dataclass(frozen=True)
class PackageSpec:
    tracking_number: str = ""
    # (order line, quantity) pairs. Empty with a single package means "everything in the order".
    lines: Sequence[tuple[OutboundOrderLine, int]] = field(default_factory=tuple)


def _lock(order: OutboundOrder) -> OutboundOrder:
    """Re-reads the order under a row lock so two requests never move it at once."""
    return OutboundOrder.objects.select_for_update().get(pk=order.pk, tenant_id=order.tenant_id)


def _refuse(order: OutboundOrder, action: str, allowed: Iterable[str]) -> None:
    if order.status not in allowed:
        raise InvalidTransition(
            f"Order {order.reference} is {order.get_status_display().lower()}; it cannot be {action}.")


@transaction.atomic
def outbound_order_create(
    *,
    tenant: Tenant,
    customer: Customer,
    warehouse: Warehouse,
    reference: str,
    lines: Sequence[LineSpec],
    delivery_address: AddressData | None = None,
    shipping_method: str = "",
    required_collection_date: dt.date | None = None,
    required_delivery_date: dt.date | None = None,
    source: str = "manual",
    allocate: bool = False,
    allow_duplicate_reference: bool = True,
) -> OutboundOrder:
    """A draft order (allocated at once with `allocate`). With `allow_duplicate_reference=False` a second
    order with the same reference for the same customer is refused (a client retrying a create)."""
    if customer.tenant_id != tenant.id or warehouse.tenant_id != tenant.id:
        raise WarehouseError("Customer or warehouse not found.")
    if not customer.warehouses.filter(pk=warehouse.pk).exists():
        raise WarehouseError(f"{customer.name} may not use warehouse {warehouse.code}.", field="warehouse")
    reference = reference.strip()
    if not reference:
        raise WarehouseError("An order needs a reference.", field="reference")
    if not lines:
        raise WarehouseError("An order needs at least one line.", field="lines")
    if not allow_duplicate_reference:
        # The customer's row lock makes two concurrent creates with one reference wait for each other.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        existing = OutboundOrder.objects.filter(customer=customer, reference=reference).first()
        if existing is not None:
            raise DuplicateReference(f"{customer.name} already has order {reference} (id {existing.id}).",
                                     field="reference")
    for i, line in enumerate(lines):
        if line.product.customer_id != customer.id:
            raise WarehouseError(f"Line {i + 1}: product {line.product.code} does not belong to {customer.name}.",
                                 field="lines")
        if line.quantity <= 0:
            raise WarehouseError(f"Line {i + 1}: quantity must be at least 1.", field="lines")
    address = None
    if delivery_address is not None:
        address = Address.objects.create(tenant=tenant, customer=customer, **delivery_address.__dict__)
    order = OutboundOrder.objects.create(
        tenant=tenant, customer=customer, warehouse=warehouse, reference=reference, source=source,
        delivery_address=address, shipping_method=shipping_method,
        required_collection_date=required_collection_date, required_delivery_date=required_delivery_date,
    )
    OutboundOrderLine.objects.bulk_create(
        OutboundOrderLine(order=order, product=line.product, quantity=line.quantity,
                          external_line_id=line.external_line_id)
        for line in lines
    )
    if allocate:
        order = outbound_order_allocate(order=order)
    return order


def _quantities(order: OutboundOrder) -> dict[int, int]:
    needed: dict[int, int] = defaultdict(int)
    for line in order.lines.all():
        needed[line.product_id] += line.quantity
    return needed


def _locked_levels(order: OutboundOrder, product_ids: Iterable[int]) -> dict[int, StockLevel]:
    # Locked in the one order every stock writer uses, so an allocation and a stocktake cannot deadlock.
    levels = (StockLevel.objects.select_for_update()
              .filter(warehouse_id=order.warehouse_id, product_id__in=list(product_ids))
              .order_by(*STOCK_LOCK_ORDER))
    return {level.product_id: level for level in levels}


@transaction.atomic
def outbound_order_allocate(*, order: OutboundOrder) -> OutboundOrder:
    """Reserves the stock and releases the order to the floor (draft → awaiting pick)."""
    order = _lock(order)
    _refuse(order, "allocated", [Status.DRAFT])
    needed = _quantities(order)
    levels = _locked_levels(order, needed)
    short = []
    for product_id, qty in needed.items():
        level = levels.get(product_id)
        available = level.available if level else 0
        if available < qty:
            code = Product.objects.values_list("code", flat=True).get(pk=product_id)
            short.append(f"{code} (needs {qty}, {available} available)")
    if short:
        raise InsufficientStock(
            f"Not enough stock in {order.warehouse.code} for order {order.reference}: {', '.join(short)}.")
    for product_id, qty in needed.items():
        StockLevel.objects.filter(pk=levels[product_id].pk).update(allocated=F("allocated") + qty,
                                                                    updated_at=timezone.now())
    order.status = Status.AWAITING_PICK
    order.save(update_fields=["status", "updated_at"])
    return order


@transaction.atomic
def outbound_order_mark_picked(*, order: OutboundOrder) -> OutboundOrder:
    order = _lock(order)
    _refuse(order, "marked picked", [Status.AWAITING_PICK])
    order.status = Status.PICKED
    order.save(update_fields=["status", "updated_at"])
    return order


@transaction.atomic
def outbound_order_mark_packed(*, order: OutboundOrder) -> OutboundOrder:
    order = _lock(order)
    _refuse(order, "marked packed", [Status.AWAITING_PICK, Status.PICKED])
    order.status = Status.PACKED
    order.save(update_fields=["status", "updated_at"])
    return order


def _release(order: OutboundOrder) -> None:
    if order.status not in OutboundOrder.ALLOCATED_STATUSES:
        return
    needed = _quantities(order)
    levels = _locked_levels(order, needed)
    for product_id, qty in needed.items():
        StockLevel.objects.filter(pk=levels[product_id].pk).update(allocated=F("allocated") - qty,
                                                                    updated_at=timezone.now())


def _close(order: OutboundOrder, status: str, reason: str, verb: str) -> OutboundOrder:
    order = _lock(order)
    _refuse(order, verb, OutboundOrder.OPEN_STATUSES)
    _release(order)
    order.status = status
    order.status_reason = reason[:300]
    order.save(update_fields=["status", "status_reason", "updated_at"])
    order.consignments.exclude(status=Consignment.Status.CANCELLED).update(
        status=Consignment.Status.CANCELLED, updated_at=timezone.now())
    publish_on_commit(outbound_order_closed, tenant_id=order.tenant_id, order_id=order.id, status=status)
    return order


@transaction.atomic
def outbound_order_reject(*, order: OutboundOrder, reason: str = "") -> OutboundOrder:
    """The warehouse refuses the order (e.g. an undeliverable address); stock is released."""
    return _close(order, Status.REJECTED, reason, "rejected")


@transaction.atomic
def outbound_order_cancel(*, order: OutboundOrder, reason: str = "") -> OutboundOrder:
    """The customer withdrew the order; stock is released."""
    return _close(order, Status.CANCELLED, reason, "cancelled")


def _package_lines(order: OutboundOrder, packages: Sequence[PackageSpec]) -> list[list[tuple[OutboundOrderLine, int]]]:
    """Checks the packages hold exactly the order's lines, and returns each package's lines."""
    order_lines = {line.id: line for line in order.lines.all()}
    if not packages:
        raise WarehouseError("A consignment needs at least one package.", field="packages")
    if len(packages) == 1 and not packages[0].lines:
        return [[(line, line.quantity) for line in order_lines.values()]]
    packed: dict[int, int] = defaultdict(int)
    result = []
    for i, package in enumerate(packages):
        if not package.lines:
            raise WarehouseError(f"Package {i + 1}: with several packages, each must list its lines.",
                                 field="packages")
        for line, qty in package.lines:
            if line.id not in order_lines:
                raise WarehouseError(f"Package {i + 1}: line {line.id} is not on order {order.reference}.",
                                     field="packages")
            if qty <= 0:
                raise WarehouseError(f"Package {i + 1}: quantities must be at least 1.", field="packages")
            packed[line.id] += qty
        result.append(list(package.lines))
    for line in order_lines.values():
        if packed.get(line.id, 0) != line.quantity:
            raise WarehouseError(
                f"Line {line.product.code}: the packages hold {packed.get(line.id, 0)} but the order has "
                f"{line.quantity}.", field="packages")
    return result


def duplicate_tracking(packages: Sequence[PackageSpec]) -> tuple[str, list[int]] | None:
    """The first tracking number given to more than one package, with those packages' numbers (1-based)."""
    seen: dict[str, list[int]] = {}
    for number, spec in enumerate(packages, 1):
        tracking = spec.tracking_number.strip()
        if tracking:
            seen.setdefault(tracking, []).append(number)
    return next(((t, n) for t, n in seen.items() if len(n) > 1), None)


@transaction.atomic
def consignment_create(
    *,
    order: OutboundOrder,
    carrier: str,
    packages: Sequence[PackageSpec],
    service: str = "",
    delivery_run_date: dt.date | None = None,
    allow_duplicate_tracking: bool = False,
) -> Consignment:
    """A consignment for an open order, with its packages and (optionally) their tracking numbers.

    The same tracking number on two packages is usually a scanning slip (and the marketplace would be
    told one parcel twice): it needs `allow_duplicate_tracking`."""
    order = _lock(order)
    _refuse(order, "given a consignment", OutboundOrder.OPEN_STATUSES)
    if not carrier.strip():
        raise WarehouseError("A consignment needs a carrier.", field="carrier")
    duplicate = duplicate_tracking(packages)
    if duplicate and not allow_duplicate_tracking:
        number, which = duplicate
        raise WarehouseError(f"Packages {' and '.join(str(n) for n in which)} have the same tracking number "
                             f"{number}. If that is right (one parcel label for both), confirm it to dispatch "
                             "anyway.", field="packages")
    if order.consignments.exclude(status=Consignment.Status.CANCELLED).exists():
        raise WarehouseError(f"Order {order.reference} already has a consignment.", field="order")
    contents = _package_lines(order, packages)
    consignment = Consignment.objects.create(tenant_id=order.tenant_id, order=order, carrier=carrier.strip(),
                                             service=service.strip(), delivery_run_date=delivery_run_date)
    for spec, lines in zip(packages, contents, strict=False):
        package = Package.objects.create(consignment=consignment, tracking_number=spec.tracking_number.strip())
        PackageLine.objects.bulk_create(PackageLine(package=package, order_line=line, quantity=qty)
                                        for line, qty in lines)
    return consignment


@transaction.atomic
def outbound_order_dispatch(
    *,
    order: OutboundOrder,
    consignment: Consignment | None = None,
    dispatched_at: dt.datetime | None = None,
) -> OutboundOrder:
    """Ships the order with its consignment: stock leaves the building, and the dispatch is published
    after commit so integrations can tell the marketplace."""
    order = _lock(order)
    _refuse(order, "dispatched", OutboundOrder.ALLOCATED_STATUSES)
    if consignment is None:
        consignment = order.consignments.exclude(status=Consignment.Status.CANCELLED).first()
    if consignment is None or consignment.order_id != order.id or consignment.status == Consignment.Status.CANCELLED:
        raise WarehouseError(f"Order {order.reference} needs a consignment before it can be dispatched.",
                             field="consignment")
    needed = _quantities(order)
    levels = _locked_levels(order, needed)
    now = timezone.now()
    for product_id, qty in needed.items():
        StockLevel.objects.filter(pk=levels[product_id].pk).update(
            on_hand=F("on_hand") - qty, allocated=F("allocated") - qty, updated_at=now)
    order.status = Status.DISPATCHED
    order.dispatched_at = dispatched_at or now
    order.save(update_fields=["status", "dispatched_at", "updated_at"])
    Consignment.objects.filter(pk=consignment.pk).update(status=Consignment.Status.DISPATCHED, updated_at=now)
    publish_on_commit(outbound_order_dispatched, tenant_id=order.tenant_id, order_id=order.id)
    return order


@transaction.atomic
def consignment_add_tracking(*, consignment: Consignment, tracking: dict[int, str]) -> Consignment:
    """Sets tracking numbers on packages that have none yet: {package id: tracking number}.

    A tracking number, once set, is not changed: the marketplace may already have been told it.
    """
    consignment = Consignment.objects.select_for_update().get(pk=consignment.pk, tenant_id=consignment.tenant_id)
    if consignment.status == Consignment.Status.CANCELLED:
        raise InvalidTransition("The consignment is cancelled.")
    packages = {p.id: p for p in consignment.packages.select_for_update()}
    if not tracking:
        raise WarehouseError("Give at least one package's tracking number.", field="packages")
    for package_id, number in tracking.items():
        package = packages.get(package_id)
        if package is None:
            raise WarehouseError(f"Package {package_id} is not in this consignment.", field="packages")
        number = number.strip()
        if not number:
            raise WarehouseError(f"Package {package_id}: the tracking number is empty.", field="packages")
        if package.tracking_number and package.tracking_number != number:
            raise WarehouseError(f"Package {package_id} already has tracking number {package.tracking_number}.",
                                 field="packages")
        package.tracking_number = number
        package.save(update_fields=["tracking_number", "updated_at"])
    Consignment.objects.filter(pk=consignment.pk).update(updated_at=timezone.now())
    order = consignment.order
    if order.status == Status.DISPATCHED:
        publish_on_commit(outbound_order_dispatched, tenant_id=order.tenant_id, order_id=order.id)
    return consignment


@dataclass(frozen=True)
class OrderSpec:
    """One order of a batch (outbound_orders_create_many): the arguments of outbound_order_create."""

    warehouse: Warehouse
    reference: str
    lines: Sequence[LineSpec]
    delivery_address: AddressData | None = None
    shipping_method: str = ""
    required_collection_date: dt.date | None = None
    required_delivery_date: dt.date | None = None
    source: str = "manual"


@dataclass(frozen=True)
class OrderOutcome:
    spec: OrderSpec
    order: OutboundOrder | None = None      # None: refused, see `error`
    error: WarehouseError | None = None
    short: str = ""                         # created but left in draft: not enough stock (the reason)


def outbound_orders_create_many(*, tenant: Tenant, customer: Customer, specs: Sequence[OrderSpec],
                                allocate: bool = False) -> list[OrderOutcome]:
    """outbound_order_create (and, with `allocate`, outbound_order_allocate) for many orders at once, in
    the caller's transaction, with a fixed number of statements whatever the count: the same checks,
    the same rows, the same stock arithmetic. An order that fails a check is refused alone (its outcome
    carries the error); one without enough stock is created in draft (`short` says why), as
    outbound_order_allocate would leave it. Stock levels are locked in id order, like everywhere else."""
    if customer.tenant_id != tenant.id:
        raise WarehouseError("Customer not found.")
    allowed = set(customer.warehouses.values_list("id", flat=True))
    outcomes: list[OrderOutcome] = []
    valid: list[OrderSpec] = []
    for spec in specs:
        try:
            _check_spec(tenant, customer, spec, allowed)
        except WarehouseError as exc:
            outcomes.append(OrderOutcome(spec=spec, error=exc))
            continue
        valid.append(spec)
    if not valid:
        return outcomes
    with transaction.atomic():
        short = _allocate_many(valid) if allocate else {}
        addresses = Address.objects.bulk_create([
            Address(tenant=tenant, customer=customer, **spec.delivery_address.__dict__)
            for spec in valid if spec.delivery_address is not None])
        by_spec = iter(addresses)
        orders = [OutboundOrder(
            tenant=tenant, customer=customer, warehouse=spec.warehouse, reference=spec.reference.strip(),
            source=spec.source, delivery_address=next(by_spec) if spec.delivery_address is not None else None,
            shipping_method=spec.shipping_method, required_collection_date=spec.required_collection_date,
            required_delivery_date=spec.required_delivery_date,
            status=Status.AWAITING_PICK if allocate and i not in short else Status.DRAFT,
        ) for i, spec in enumerate(valid)]
        OutboundOrder.objects.bulk_create(orders)
        OutboundOrderLine.objects.bulk_create(
            OutboundOrderLine(order=order, product=line.product, quantity=line.quantity,
                              external_line_id=line.external_line_id)
            for order, spec in zip(orders, valid, strict=True) for line in spec.lines)
    outcomes += [OrderOutcome(spec=spec, order=order, short=short.get(i, ""))
                 for i, (spec, order) in enumerate(zip(valid, orders, strict=True))]
    return outcomes


def _check_spec(tenant: Tenant, customer: Customer, spec: OrderSpec, allowed: set[int]) -> None:
    if spec.warehouse.tenant_id != tenant.id:
        raise WarehouseError("Customer or warehouse not found.")
    if spec.warehouse.id not in allowed:
        raise WarehouseError(f"{customer.name} may not use warehouse {spec.warehouse.code}.", field="warehouse")
    if not spec.reference.strip():
        raise WarehouseError("An order needs a reference.", field="reference")
    if not spec.lines:
        raise WarehouseError("An order needs at least one line.", field="lines")
    for i, line in enumerate(spec.lines):
        if line.product.customer_id != customer.id:
            raise WarehouseError(f"Line {i + 1}: product {line.product.code} does not belong to {customer.name}.",
                                 field="lines")
        if line.quantity <= 0:
            raise WarehouseError(f"Line {i + 1}: quantity must be at least 1.", field="lines")


def _allocate_many(specs: Sequence[OrderSpec]) -> dict[int, str]:
    """Reserves stock for each order in turn (first come, first served) under one lock of every level
    involved; returns {index: reason} for the orders that could not have theirs."""
    needs: list[dict[int, int]] = []
    for spec in specs:
        needed: dict[int, int] = defaultdict(int)
        for line in spec.lines:
            needed[line.product.id] += line.quantity
        needs.append(needed)
    pairs = Q()
    for spec, needed in zip(specs, needs, strict=True):
        pairs |= Q(warehouse_id=spec.warehouse.id, product_id__in=list(needed))
    levels = {(level.warehouse_id, level.product_id): level
              for level in StockLevel.objects.select_for_update().filter(pairs).order_by(*STOCK_LOCK_ORDER)}
    codes = {line.product.id: line.product.code for spec in specs for line in spec.lines}
    available = {key: level.available for key, level in levels.items()}
    taken: dict[tuple[int, int], int] = defaultdict(int)
    short: dict[int, str] = {}
    for i, (spec, needed) in enumerate(zip(specs, needs, strict=True)):
        missing = [f"{codes[p]} (needs {qty}, {available.get((spec.warehouse.id, p), 0)} available)"
                   for p, qty in needed.items() if available.get((spec.warehouse.id, p), 0) < qty]
        if missing:
            short[i] = (f"Not enough stock in {spec.warehouse.code} for order {spec.reference.strip()}: "
                        f"{', '.join(missing)}.")
            continue
        for p, qty in needed.items():
            available[(spec.warehouse.id, p)] -= qty
            taken[(spec.warehouse.id, p)] += qty
    if taken:
        now = timezone.now()
        changed = []
        for key, qty in taken.items():
            level = levels[key]
            level.allocated += qty
            level.updated_at = now
            changed.append(level)
        StockLevel.objects.bulk_update(changed, ["allocated", "updated_at"])
    return short
