"""Server-rendered pages. Thin: every read goes through selectors with the user's Scope, every
change through a service; a WarehouseError becomes a message on the page."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import dashboard, hooks, order_filters, selectors
from .errors import NotFound, WarehouseError
from .forms import DispatchForm, OrderFilterForm, ReasonForm, TrackingForm
from .models import OutboundOrder
from .selectors import Scope
from .services import (
    consignment_add_tracking,
    consignment_create,
    outbound_order_allocate,
    outbound_order_cancel,
    outbound_order_dispatch,
    outbound_order_mark_packed,
    outbound_order_mark_picked,
    outbound_order_reject,
)


def scoped(view):
    """Logged in and belonging to a tenant; passes the user's Scope to the view."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            scope = Scope.for_user(request.user)
        except NotFound:
            raise PermissionDenied("This login belongs to no warehouse operator.") from None
        try:
            return view(request, scope, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc

    return wrapper


def tenant_admin_only(request) -> None:
    if not request.user.is_tenant_admin:
        raise PermissionDenied("Only the warehouse operator's staff can do this.")


@scoped
def home(request, scope: Scope):
    orders = selectors.outbound_order_list(scope=scope)
    counts = {status: orders.filter(status=status).count() for status, _ in OutboundOrder.Status.choices}
    return render(request, "warehouse/home.html", {
        "counts": counts, "status_choices": OutboundOrder.Status.choices,
        "recent": orders[:10], "customers": selectors.customer_list(scope=scope)[:50],
        "orders_chart": selectors.outbound_orders_per_source_chart(scope=scope),
        "panels": dashboard.panels_for(scope),
    })


@scoped
def customer_list(request, scope: Scope):
    customers = selectors.customer_list_with_active_integrations(scope=scope).prefetch_related("warehouses")
    return render(request, "warehouse/customer_list.html", {"customers": customers})


@scoped
def order_list(request, scope: Scope):
    customers = selectors.customer_list(scope=scope)
    warehouses = selectors.warehouse_list(scope=scope)
    sources = selectors.outbound_order_sources(scope=scope)
    extra = [(f, f.choices(scope)) for f in order_filters.registered()]
    form = OrderFilterForm(request.GET or None, customers=customers, warehouses=warehouses, sources=sources,
                           extra_filters=extra)
    filters = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "status": data["status"] or None,
            "customer": customers.filter(pk=data["customer"]).first() if data["customer"] else None,
            "warehouse": warehouses.filter(pk=data["warehouse"]).first() if data["warehouse"] else None,
            "source": data["source"] or None,
            "search": data["q"] or None,
        }
    orders = selectors.outbound_order_list(scope=scope, **filters)
    if form.is_valid():
        for order_filter in form.extra_filters:
            if form.cleaned_data[order_filter.name]:
                orders = order_filter.apply(orders, form.cleaned_data[order_filter.name])
    if form.is_bound and not form.is_valid():
        # A customer or warehouse outside the user's scope (or a made-up status) matches nothing;
        # dropping the filter instead would list every order under a filter that looks applied.
        orders = orders.none()
    page = Paginator(orders, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "warehouse/order_list.html", {"form": form, "page": page, "query": query.urlencode()})


@scoped
def order_detail(request, scope: Scope, order_id: int):
    order = selectors.outbound_order_get(scope=scope, order_id=order_id)
    package_count = _int(request.GET.get("packages"), 1)
    dispatch_form = None
    if order.status in OutboundOrder.ALLOCATED_STATUSES and not order.consignments.exclude(status="cancelled").exists():
        dispatch_form = DispatchForm(order=order, package_count=package_count)
    return _order_page(request, order, dispatch_form=dispatch_form, package_count=package_count)


def _order_page(request, order, *, dispatch_form=None, package_count: int = 1, status: int = 200):
    # The same consignment order_add_tracking saves to: the live one, not a cancelled one.
    live = [c for c in order.consignments.all() if c.status != "cancelled"]
    tracking_form = None
    if order.status == OutboundOrder.Status.DISPATCHED and live:
        tracking_form = TrackingForm(packages=list(live[0].packages.all()))
    # A consignment made beforehand (e.g. through the API) is dispatched as it is.
    dispatch_existing = order.status in OutboundOrder.ALLOCATED_STATUSES and bool(live) and dispatch_form is None
    # What other apps (the marketplace integration) say about the order and each package.
    outside = hooks.order_outside(order)
    consignments = [(c, [(n, p, [o.packages.get(p.id) for o in outside]) for n, p in enumerate(c.packages.all(), 1)])
                    for c in order.consignments.all()]
    return render(request, "warehouse/order_detail.html", {
        "order": order, "dispatch_form": dispatch_form, "tracking_form": tracking_form,
        "can_act": request.user.is_tenant_admin, "package_count": package_count,
        "dispatch_existing": dispatch_existing, "outside": outside, "consignments": consignments,
    }, status=status)


def _tell_what_happens_next(request, order) -> None:
    for notice in hooks.order_notices(order):
        messages.warning(request, notice)


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@require_POST
@scoped
def order_action(request, scope: Scope, order_id: int, action: str):
    tenant_admin_only(request)
    order = selectors.outbound_order_get(scope=scope, order_id=order_id)
    reason = ReasonForm(request.POST)
    reason.is_valid()
    actions = {
        "allocate": lambda: outbound_order_allocate(order=order),
        "pick": lambda: outbound_order_mark_picked(order=order),
        "pack": lambda: outbound_order_mark_packed(order=order),
        "reject": lambda: outbound_order_reject(order=order, reason=reason.cleaned_data.get("reason", "")),
        "cancel": lambda: outbound_order_cancel(order=order, reason=reason.cleaned_data.get("reason", "")),
    }
    if action not in actions:
        raise Http404("Unknown action.")
    try:
        order = actions[action]()
        messages.success(request, f"Order {order.reference} is now {order.get_status_display().lower()}.")
    except WarehouseError as exc:
        messages.error(request, exc.message)
    return redirect("web:order_detail", order_id=order.id)


@require_POST
@scoped
def order_dispatch(request, scope: Scope, order_id: int):
    tenant_admin_only(request)
    order = selectors.outbound_order_get(scope=scope, order_id=order_id)
    if request.POST.get("use_existing"):
        try:
            order = outbound_order_dispatch(order=order)
            messages.success(request, f"Order {order.reference} dispatched.")
            _tell_what_happens_next(request, order)
        except WarehouseError as exc:
            messages.error(request, exc.message)
        return redirect("web:order_detail", order_id=order.id)
    form = DispatchForm(request.POST, order=order, package_count=_int(request.POST.get("package_count"), 1))
    if form.is_valid():
        try:
            with transaction.atomic():
                consignment = consignment_create(
                    order=order, carrier=form.cleaned_data["carrier"], service=form.cleaned_data["service"],
                    delivery_run_date=form.cleaned_data["delivery_run_date"], packages=form.packages(),
                    allow_duplicate_tracking=form.cleaned_data["allow_duplicate_tracking"])
                order = outbound_order_dispatch(order=order, consignment=consignment)
            messages.success(request, f"Order {order.reference} dispatched with {consignment.carrier}.")
            _tell_what_happens_next(request, order)
            return redirect("web:order_detail", order_id=order.id)
        except WarehouseError as exc:
            messages.error(request, exc.message)
    return _order_page(request, order, dispatch_form=form, package_count=form.package_count, status=400)


@require_POST
@scoped
def order_add_tracking(request, scope: Scope, order_id: int):
    tenant_admin_only(request)
    order = selectors.outbound_order_get(scope=scope, order_id=order_id)
    consignment = order.consignments.exclude(status="cancelled").first()
    if consignment is None:
        raise Http404("This order has no consignment.")
    form = TrackingForm(request.POST, packages=list(consignment.packages.all()))
    if form.is_valid():
        try:
            consignment_add_tracking(consignment=consignment, tracking=form.tracking())
            messages.success(request, "Tracking saved.")
            _tell_what_happens_next(request, order)
        except WarehouseError as exc:
            messages.error(request, exc.message)
    return redirect("web:order_detail", order_id=order.id)


@scoped
def consignment_list(request, scope: Scope):
    consignments = selectors.consignment_list(scope=scope)
    page = Paginator(consignments, 50).get_page(request.GET.get("page"))
    return render(request, "warehouse/consignment_list.html", {"page": page})
