"""Order import: marketplace orders become outbound orders, exactly once.

One service takes either a time window (the poll, the first import after connecting, "import missing
orders" by dates, the command line) or a list of order ids ("import missing orders" by number, retries,
the marketplaces' push events). Every call is an ImportRun.

How it holds under the marketplaces' limits and runs at the speed of the wire:
- each page is one transaction: the orders it holds are created (through the warehouse's batch service,
  allocation included), linked, logged and counted together, and the run's cursor moves with them;
- lookups a page needs (links, products, pending retries) are read once per page, routing data once
  per run;
- the provider is told which orders are already imported, so those cost no call beyond the list;
- a throttle or an outage that outlasts the client's retries stops the run after committing what was
  read; the run keeps its cursor and the next run resumes it, never re-fetching what is in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from warehouse.models import OutboundOrder, Product, ProductAlternativeCode
from warehouse.services import (
    AddressData,
    LineSpec,
    OrderSpec,
    outbound_order_cancel,
    outbound_orders_create_many,
)

from ..models import ConnectionLogEntry, ImportedOrder, ImportRun, Integration, PendingImport
from ..providers.base import (
    MarketplaceOrder,
    MarketplaceOrderLine,
    MarketplaceProvider,
    OrderPage,
    OrderState,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from ..ratelimit import quota_wait_listener
from .connection import CallLogger, connection_for, provider_for
from .log import DEBUG, ERROR, INFO, log_entries, log_entry
from .routing import order_route

# Re-read a little before the watermark: an order committed on the marketplace's side just before our
# last poll's upper bound may only have become visible after it. Re-reading costs list calls only.
OVERLAP = dt.timedelta(minutes=10)
MAX_IDS_PER_REQUEST = 50
# How long an order that failed to import (unknown SKU, bad data) keeps being retried on each poll.
PENDING_RETRY_FOR = dt.timedelta(days=7)
# A waiting run says so on its progress display, but not for every short wait.
_QUOTA_WAIT_WORTH_SAYING = 1.0


def first_import_lookback() -> dt.timedelta:
    """A new integration imports every open order of this many days (settings.ORDERS_FIRST_IMPORT_DAYS)."""
    return dt.timedelta(days=settings.ORDERS_FIRST_IMPORT_DAYS)


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    watermark: dt.datetime | None = None
    run: ImportRun | None = None

    def merge(self, outcome: str, order_id: str) -> None:
        getattr(self, outcome).append(order_id)

    def summary(self) -> dict[str, int]:
        return {"created": len(self.created), "existing": len(self.existing), "skipped": len(self.skipped),
                "failed": len(self.failed), "cancelled": len(self.cancelled)}


class ImportRefused(Exception):
    """This order cannot become an outbound order now; the message says why and what to do."""

    def __init__(self, message: str, *, retry: bool = True, level: str = ERROR):
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.level = level


_RUN_COUNTER = {"created": "imported", "existing": "existing", "skipped": "skipped", "failed": "failed",
                "cancelled": "cancelled"}


def orders_import(
    *,
    integration: Integration,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    order_ids: Sequence[str] | None = None,
    kind: str | None = None,
    progress: Callable[[ImportRun], None] | None = None,
    pushed_lines: Mapping[str, Sequence[MarketplaceOrderLine]] | None = None,
) -> ImportResult:
    """Imports one window (or list) of orders. With neither `since` nor `order_ids` it is the poll: from
    the watermark (less an overlap), or for a new integration every open order of the first-import
    lookback; the watermark moves once everything read is committed. A poll resumes the integration's
    stopped run, if any. `progress(run)` is told after each committed page and each wait for quota.
    `pushed_lines`: the items push events named, by order id (the provider may spare the items calls)."""
    provider = provider_for(integration)
    is_poll = since is None and not order_ids
    run = _run_for(integration=integration, since=since, until=until, order_ids=order_ids, kind=kind,
                   is_poll=is_poll)
    ctx = _Context(integration=integration, run=run, progress=progress)
    token = quota_wait_listener.set(ctx.waiting)
    try:
        result = _import(ctx, provider=provider, order_ids=order_ids, is_poll=is_poll, pushed_lines=pushed_lines)
    except ProviderError as exc:
        resumable = isinstance(exc, (ProviderRateLimited, ProviderUnavailable))
        _run_end(run, ImportRun.State.STOPPED if resumable else ImportRun.State.FAILED,
                 f"{exc.message} {'It carries on from here on the next run.' if resumable else ''}".strip())
        raise
    except BaseException:
        _run_end(run, ImportRun.State.FAILED, "The import stopped on an unexpected error; the next run starts again.")
        raise
    finally:
        ctx.call_log.flush()            # the calls of a page that did not commit, or of a failed run
        quota_wait_listener.reset(token)
        close = getattr(provider, "close", None)
        if close is not None:
            close()
    _run_end(run, ImportRun.State.FINISHED, "")
    s = result.summary()
    summary = (f"{s['created']} created, {s['failed']} failed, {s['cancelled']} cancelled, "
               f"{s['existing']} already imported, {s['skipped']} not for the warehouse.")
    if result.created or result.failed or result.cancelled:
        log_entry(integration=integration, level=INFO, event="orders_import.finished",
                  message=f"Import finished: {summary}")
    else:       # every run leaves a trace; a quiet one only at DEBUG
        log_entry(integration=integration, level=DEBUG, event="orders_import.nothing_new",
                  message=f"Import checked the marketplace: {summary}")
    return result


# --- the run record ---------------------------------------------------------------------------------


def _run_for(*, integration, since, until, order_ids, kind, is_poll) -> ImportRun:
    if is_poll:
        # A poll carries on the run that had to stop (same window, from its cursor).
        stopped = (integration.import_runs.filter(kind__in=(ImportRun.Kind.POLL, ImportRun.Kind.FIRST_CONNECT),
                                                  state__in=ImportRun.OPEN_STATES).order_by("-id").first())
        if stopped is not None:
            ImportRun.objects.filter(pk=stopped.pk).update(state=ImportRun.State.RUNNING, resumes=F("resumes") + 1,
                                                           message="", finished_at=None, updated_at=timezone.now())
            stopped.refresh_from_db()
            return stopped
        if integration.orders_watermark:
            return ImportRun.objects.create(integration=integration, kind=kind or ImportRun.Kind.POLL,
                                            since=integration.orders_watermark - OVERLAP, until=until)
        return ImportRun.objects.create(integration=integration, kind=kind or ImportRun.Kind.FIRST_CONNECT,
                                        since=timezone.now() - first_import_lookback(), until=until)
    return ImportRun.objects.create(integration=integration, kind=kind or ImportRun.Kind.MISSING_ORDERS,
                                    since=since, until=until, order_ids=list(order_ids or []))


def _run_end(run: ImportRun, state: str, message: str) -> None:
    run.state, run.message, run.finished_at = state, message[:500], timezone.now()
    fields = {"state": state, "message": run.message, "finished_at": run.finished_at, "waiting_for_quota": 0,
              "updated_at": timezone.now()}
    if state == ImportRun.State.FINISHED:
        fields["cursor"] = {}           # a stopped run keeps the cursor its last page committed
    ImportRun.objects.filter(pk=run.pk).update(**fields)
    run.refresh_from_db()


class _Context:
    """One run's state: the integration, its run record, and what is read once per run."""

    def __init__(self, *, integration: Integration, run: ImportRun,
                 progress: Callable[[ImportRun], None] | None):
        self.integration = integration
        self.run = run
        self.progress = progress
        self.started = timezone.now()
        self.links: dict[str, ImportedOrder] = {}
        self._mappings: dict[str, object] | None = None
        self._products: dict[str, Product | None] = {}
        self._page_unread = 0
        self._checked: set[str] = set()
        # Orders of the page a stopped run was in that it committed then (the cursor keeps them).
        self.done_before: set[str] = set((run.cursor or {}).get("done") or ())
        self.by_number = False            # "import missing orders" by number: skips are said at INFO
        self.call_log = CallLogger(integration, buffered=True)

    def known(self, ids: Sequence[str]) -> set[str]:
        """The provider asks before reading a page's details: these are imported already."""
        self.links = {link.marketplace_order_id: link for link in ImportedOrder.objects.select_related("order")
                      .filter(integration=self.integration, marketplace_order_id__in=list(ids))}
        self._checked = set(ids)
        self._page_unread = len(ids) - len(self.links)
        return set(self.links)

    def links_for(self, ids: Sequence[str]) -> dict[str, ImportedOrder]:
        missing = [i for i in ids if i not in self._checked]
        if missing:
            self.links.update({link.marketplace_order_id: link for link in ImportedOrder.objects
                               .select_related("order").filter(integration=self.integration,
                                                               marketplace_order_id__in=missing)})
            self._checked.update(missing)
        return self.links

    def mappings(self) -> dict:
        if self._mappings is None:
            self._mappings = {m.supply_source_id: m for m in
                              self.integration.supply_sources.select_related("warehouse")}
        return self._mappings

    def products(self, codes: Iterable[str]) -> dict[str, Product | None]:
        """Products by SKU (or by alternative code, e.g. ASIN), read once per run for each code."""
        wanted = {c for c in codes if c and c not in self._products}
        if wanted:
            customer = self.integration.customer
            if self.integration.match_by == Integration.MatchBy.ALTERNATIVE_CODE:
                found = {a.code: a.product for a in ProductAlternativeCode.objects.select_related("product")
                         .filter(product__customer=customer, code__in=wanted).order_by("product_id")}
            else:
                found = {p.code: p for p in Product.objects.filter(customer=customer, code__in=wanted).order_by("id")}
            self._products.update({c: found.get(c) for c in wanted})
        return self._products

    def waiting(self, key: str, seconds: float) -> None:
        """The limiter is about to wait for a token: the progress display says so."""
        if seconds < _QUOTA_WAIT_WORTH_SAYING:
            return
        ImportRun.objects.filter(pk=self.run.pk).update(
            state=ImportRun.State.WAITING, waiting_for_quota=max(self._page_unread, 0),
            quota_waits=F("quota_waits") + 1, updated_at=timezone.now())
        if self.progress is not None:
            self.run.refresh_from_db()
            self.progress(self.run)


# --- the import ---------------------------------------------------------------------------------------


def _import(ctx: _Context, *, provider: MarketplaceProvider, order_ids, is_poll: bool,
            pushed_lines=None) -> ImportResult:
    integration, run = ctx.integration, ctx.run
    conn = connection_for(integration, provider, call_log=ctx.call_log)
    result = ImportResult(run=run)
    if order_ids:
        ctx.by_number = True
        ids = list(dict.fromkeys(i.strip() for i in order_ids if i.strip()))
        for start in range(0, len(ids), MAX_IDS_PER_REQUEST):
            batch = ids[start:start + MAX_IDS_PER_REQUEST]
            try:
                orders = _orders_by_id(integration=integration, provider=provider, conn=conn, order_ids=batch,
                                       pushed_lines=pushed_lines)
            except ProviderRejected as exc:            # the single number given is unknown
                log_entry(integration=integration, level=ERROR, event="orders_import.not_found",
                          marketplace_order_id=batch[0],
                          message=f"Order {batch[0]} could not be read from the marketplace: {exc.message}. "
                                  "Check the order number.")
                orders = []
            _commit_page(ctx, OrderPage(orders=tuple(orders), listed=len(batch)), result)
        return result

    cursor = run.cursor or None
    try:
        pages = provider.orders_updated_since(conn=conn, since=run.since, until=run.until, cursor=cursor,
                                              known=ctx.known)
        for page in pages:                   # a ProviderError here leaves the watermark alone
            _commit_page(ctx, page, result)
    except ProviderRejected:
        if not cursor:
            raise
        # The saved cursor is no longer accepted (an expired token): list the window again. Orders
        # already in cost no call beyond the list.
        ImportRun.objects.filter(pk=run.pk).update(cursor={})
        for page in provider.orders_updated_since(conn=conn, since=run.since, until=run.until, known=ctx.known):
            _commit_page(ctx, page, result)

    if is_poll:
        _retry_pending(ctx, result=result, provider=provider, conn=conn)
        # The poll's start, not its end: polls come every ORDERS_POLL_MINUTES, however long each one takes
        # to read its items (counted from the end, a 2-minute poll that reads for 2 minutes came every 4).
        fields = {"last_import_at": ctx.started}
        if result.watermark is not None:
            fields["orders_watermark"] = result.watermark
        Integration.objects.filter(pk=integration.pk).update(**fields)
        for key, value in fields.items():
            setattr(integration, key, value)
    return result


def _commit_page(ctx: _Context, page: OrderPage, result: ImportResult) -> None:
    """One page, one transaction: its orders, their links, stock, log entries, the run's counters and
    cursor commit together or not at all."""
    run = ctx.run
    ids = {o.order_id for o in page.orders}
    # The page a stopped run was in is listed again when it resumes: the orders it committed then are
    # counted already (found, imported), not again as found and "already imported".
    again, ctx.done_before = ids & ctx.done_before, set()
    with transaction.atomic():
        ctx.call_log.flush()            # the page's marketplace calls, with the page
        outcomes = _import_page(ctx, page.orders) if page.orders else []
        counts: dict[str, int] = {}
        for order_id, outcome in outcomes:
            if outcome == "existing" and order_id in again:
                continue
            result.merge(outcome, order_id)
            counts[_RUN_COUNTER[outcome]] = counts.get(_RUN_COUNTER[outcome], 0) + 1
        updates = {k: F(k) + v for k, v in counts.items()}
        listed = page.listed or len(page.orders)
        if page.complete:
            updates["found"] = F("found") + listed - len(again)
        else:        # listed again when the run resumes: counted then, less what is committed now
            updates["found"] = F("found") + len(page.orders) - len(again)
        if page.cursor is not None:
            updates["cursor"] = dict(page.cursor)
            if not page.complete:
                updates["cursor"]["done"] = sorted(ids | again)
        ImportRun.objects.filter(pk=run.pk).update(pages=F("pages") + 1, state=ImportRun.State.RUNNING,
                                                   waiting_for_quota=0, updated_at=timezone.now(), **updates)
    if page.watermark is not None:
        result.watermark = page.watermark
    if ctx.progress is not None:
        run.refresh_from_db()
        ctx.progress(run)


def _import_page(ctx: _Context, orders: Sequence[MarketplaceOrder]) -> list[tuple[str, str]]:
    """Every order of a page, in the caller's transaction: [(order id, outcome)]. Outcomes: created,
    existing, skipped, failed, cancelled. Never raises for a bad order: it is logged and kept for a retry."""
    integration = ctx.integration
    ids = [o.order_id for o in orders if o.order_id]
    links = ctx.links_for(ids)
    pending = {p.marketplace_order_id: p for p in PendingImport.objects.filter(
        integration=integration, marketplace_order_id__in=ids)} if ids else {}
    outcomes: list[tuple[str, str]] = []
    logs: list[ConnectionLogEntry] = []
    forget: set[str] = set()
    refused: list[tuple[MarketplaceOrder, ImportRefused]] = []
    to_create: list[tuple[MarketplaceOrder, OrderSpec]] = []
    codes = {(line.alternative_code if integration.match_by == Integration.MatchBy.ALTERNATIVE_CODE else line.sku)
             for o in orders for line in o.lines}
    products = ctx.products(codes)

    for order in orders:
        link = links.get(order.order_id)
        if link is not None:
            if order.state == OrderState.CANCELLED and link.marketplace_cancelled_at is None:
                outcomes.append((order.order_id, _cancel_imported(integration=integration, link=link)))
            else:
                outcomes.append((order.order_id, "existing"))
            continue
        if not order.raw_status and order.problems:
            # Not readable at all (e.g. a wrong order number in "import missing orders"): name it.
            logs.append(_log(integration, ERROR, "orders_import.unreadable",
                             f"Order {order.order_id} could not be read from the marketplace: "
                             f"{' '.join(order.problems)}", order.order_id))
            forget.add(order.order_id)
            outcomes.append((order.order_id, "skipped"))
            continue
        # Asked for by number, an order is held to the poll's rules too, and a person is told why not.
        asked = ctx.by_number
        if order.marketplace_id and integration.marketplace_id and order.marketplace_id != integration.marketplace_id:
            logs.append(_log(integration, INFO if asked else DEBUG, "orders_import.skipped_marketplace",
                             f"Order {order.order_id} was placed in marketplace {order.marketplace_id}, not in this "
                             f"integration's {integration.marketplace_id}: not imported.", order.order_id))
            forget.add(order.order_id)
            outcomes.append((order.order_id, "skipped"))
            continue
        if order.fulfilled_by_marketplace or order.state not in (OrderState.READY, OrderState.PARTIALLY_SHIPPED):
            message = (f"Order {order.order_id} is fulfilled by the marketplace (FBA); not warehouse work, not "
                       "imported." if order.fulfilled_by_marketplace else
                       f"Order {order.order_id} is {order.raw_status}; only orders ready to ship are imported.")
            logs.append(_log(integration, INFO if asked else DEBUG,
                             "orders_import.skipped_afn" if order.fulfilled_by_marketplace
                             else "orders_import.skipped_status", message, order.order_id))
            forget.add(order.order_id)
            outcomes.append((order.order_id, "skipped"))
            continue
        try:
            to_create.append((order, _spec(ctx, order, products)))
        except ImportRefused as exc:
            refused.append((order, exc))

    for order, outbound, error, short in _create(ctx, to_create):
        if error is not None:
            refused.append((order, error))
            continue
        if outbound is None:            # imported a moment ago by another worker
            outcomes.append((order.order_id, "existing"))
            continue
        forget.add(order.order_id)
        outcomes.append((order.order_id, "created"))
        logs.append(_log(integration, INFO, "orders_import.created",
                         f"Order {order.order_id} imported into {outbound.warehouse.code} "
                         f"({outbound.get_status_display().lower()}).", order.order_id, outbound))
        if short:
            logs.append(_log(integration, INFO, "orders_import.awaiting_stock",
                             f"Order {order.order_id} is waiting for stock: {short} Allocate it once stock arrives.",
                             order.order_id, outbound))

    outcomes += _refusals(ctx, refused, pending=pending, logs=logs, forget=forget)
    forget &= set(pending)
    if forget:
        PendingImport.objects.filter(integration=integration, marketplace_order_id__in=forget).delete()
    log_entries(logs)
    return outcomes


def _log(integration: Integration, level: str, event: str, message: str, order_id: str = "",
         order: OutboundOrder | None = None) -> ConnectionLogEntry:
    return ConnectionLogEntry(integration=integration, level=level, event=event[:60], message=message[:1000],
                              marketplace_order_id=order_id, order=order)


def _refusals(ctx: _Context, refused: list[tuple[MarketplaceOrder, ImportRefused]], *,
              pending: dict[str, PendingImport], logs: list[ConnectionLogEntry], forget: set[str]) -> list[tuple[str, str]]:
    integration = ctx.integration
    outcomes: list[tuple[str, str]] = []
    final = [(o, e) for o, e in refused if not e.retry]
    said = set()
    if final:
        # Overlapping polls read the order again: say it once, not on every poll.
        said = set(integration.log.filter(event="orders_import.not_imported",
                                          marketplace_order_id__in=[o.order_id for o, _ in final])
                   .values_list("marketplace_order_id", flat=True))
    new_pending: list[PendingImport] = []
    now = timezone.now()
    for order, exc in refused:
        if not exc.retry:
            if order.order_id not in said:
                said.add(order.order_id)
                logs.append(_log(integration, exc.level, "orders_import.not_imported", exc.message, order.order_id))
            forget.add(order.order_id)
            outcomes.append((order.order_id, "skipped"))
            continue
        reason = exc.message[:1000]
        earlier = pending.get(order.order_id)
        if earlier is None:
            new_pending.append(PendingImport(integration=integration, marketplace_order_id=order.order_id,
                                             reason=reason))
        else:
            PendingImport.objects.filter(pk=earlier.pk).update(reason=reason, attempts=F("attempts") + 1,
                                                               last_tried_at=now)
        # Said once per reason: a retry that fails the same way every poll adds nothing to the log.
        if earlier is None or earlier.reason != reason:
            logs.append(_log(integration, ERROR, "orders_import.failed", exc.message, order.order_id))
        outcomes.append((order.order_id, "failed"))
    if new_pending:
        PendingImport.objects.bulk_create(new_pending, ignore_conflicts=True)
    return outcomes


def _create(ctx: _Context, items: list[tuple[MarketplaceOrder, OrderSpec]]):
    """Creates the page's orders through the warehouse's batch service and links them, in a savepoint.
    Should another worker have imported one of them meanwhile (the link's unique constraint), the batch
    is undone and each order goes again alone, in a savepoint of its own."""
    if not items:
        return []
    try:
        with transaction.atomic():
            return _create_batch(ctx, items)
    except IntegrityError:
        pass
    done = []
    for item in items:
        try:
            with transaction.atomic():
                done += _create_batch(ctx, [item])
        except IntegrityError:
            done.append((item[0], None, None, ""))
    return done


def _create_batch(ctx: _Context, items: list[tuple[MarketplaceOrder, OrderSpec]]):
    integration = ctx.integration
    by_ref = {spec.reference: order for order, spec in items}
    outcomes = outbound_orders_create_many(tenant=integration.tenant, customer=integration.customer,
                                           specs=[spec for _, spec in items], allocate=True)
    made = []
    links = []
    for outcome in outcomes:
        order = by_ref[outcome.spec.reference]
        if outcome.order is None:
            made.append((order, None, ImportRefused(f"Order {order.order_id}: {outcome.error.message}"), ""))
            continue
        links.append(ImportedOrder(integration=integration, marketplace_order_id=order.order_id, order=outcome.order,
                                   supply_source_id=order.supply_source_id))
        made.append((order, outcome.order, None, outcome.short))
    ImportedOrder.objects.bulk_create(links)
    return made


def _spec(ctx: _Context, order: MarketplaceOrder, products: dict[str, Product | None]) -> OrderSpec:
    integration = ctx.integration
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
    route = order_route(integration=integration, order=order, mappings=ctx.mappings())
    if route.warehouse is None:
        raise ImportRefused(f"Order {order.order_id} was not imported: {route.reason}.", retry=False, level=INFO)
    warehouse = route.warehouse
    lines = _lines(integration=integration, order=order, products=products)
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
    return OrderSpec(warehouse=warehouse, reference=order.order_id, lines=lines, delivery_address=address,
                     shipping_method=method[:100], required_collection_date=collect,
                     required_delivery_date=deliver, source=integration.marketplace)


def _lines(*, integration: Integration, order: MarketplaceOrder, products: dict[str, Product | None]) -> list[LineSpec]:
    by_alt = integration.match_by == Integration.MatchBy.ALTERNATIVE_CODE
    lines, unknown = [], []
    for line in order.lines:
        qty = line.quantity - line.quantity_shipped
        if qty <= 0:
            continue
        code = line.alternative_code if by_alt else line.sku
        product = products.get(code) if code else None
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


def order_import_one(*, integration: Integration, order: MarketplaceOrder) -> str:
    """Imports or updates one marketplace order, in its own transaction (the page path for one order).
    Returns the outcome: created, existing, skipped, failed or cancelled."""
    run = ImportRun(integration=integration)
    ctx = _Context(integration=integration, run=run, progress=None)
    with transaction.atomic():
        return _import_page(ctx, [order])[0][1]


# --- retries and lookups by id --------------------------------------------------------------------------


def _retry_pending(ctx: _Context, *, result: ImportResult, provider, conn) -> None:
    integration = ctx.integration
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
    _commit_page(ctx, OrderPage(orders=tuple(orders)), result)


def _orders_by_id(*, integration, provider, conn, order_ids: list[str], pushed_lines=None) -> list[MarketplaceOrder]:
    """All the orders in one batch; if the marketplace refuses the batch (an unknown number), one by one,
    so one wrong number never hides the others."""
    if integration.match_by == Integration.MatchBy.ALTERNATIVE_CODE:
        pushed_lines = None               # products are matched by ASIN, which only the items call has
    try:
        return provider.orders_by_id(conn=conn, order_ids=order_ids, pushed_lines=pushed_lines)
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


def _cancel_imported(*, integration: Integration, link: ImportedOrder) -> str:
    outbound = link.order
    ImportedOrder.objects.filter(pk=link.pk).update(marketplace_cancelled_at=timezone.now())
    link.marketplace_cancelled_at = timezone.now()
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

