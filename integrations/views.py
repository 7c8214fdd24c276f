"""The integrations pages: list, the setup wizard, the OAuth callbacks and each integration's page.

Admins may set up integrations for any customer of their tenant; customer users only for their own
customer and only when the account owner allowed it (User.may_self_manage_integrations)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.selectors import active_integrations_count, integration_history
from warehouse import selectors as wh
from warehouse.selectors import Scope
from warehouse.views import scoped, tenant_admin_only

from . import selectors
from .errors import IntegrationError
from .forms import (
    AmazonConnectForm,
    CustomerPickForm,
    FulfilmentForm,
    ImportMissingForm,
    LogFilterForm,
    NameForm,
    NewIntegrationForm,
    AlertSettingsForm,
    OrderCreationForm,
    ShareSetupLinkForm,
)
from .models import Integration
from .services import alerts, setup, setup_links
from .providers.base import ProviderError
from .providers.registry import marketplaces

STEPS = [(1, "Name"), (2, "Connect"), (3, "Order creation"), (4, "Fulfilment")]


def _redirect_uri(marketplace: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("integrations:callback", args=[marketplace])


def _manageable(request, scope: Scope, integration_id: int) -> Integration:
    integration = selectors.integration_get(scope=scope, integration_id=integration_id)
    if not setup.user_may_manage(user=request.user, customer=integration.customer):
        raise PermissionDenied("You may view this integration but not change it. Ask your warehouse to allow "
                               "self-managed integrations for your login.")
    return integration


@scoped
def integration_list(request, scope: Scope):
    """One tile per marketplace (from the provider registry) with the chosen customer's integrations on
    it. A customer user always sees its own customer; an admin picks one, and meanwhile sees them all."""
    integrations = selectors.integration_list(scope=scope).annotate(
        customer_active_integrations=active_integrations_count("customer"))
    customers = list(wh.customer_list(scope=scope))
    picker = CustomerPickForm(request.GET or None, customers=customers) if scope.customer is None else None
    if scope.customer is not None:
        chosen = scope.customer
    elif picker.is_valid() and picker.cleaned_data["customer"]:
        chosen = wh.customer_get(scope=scope, customer_id=picker.cleaned_data["customer"])
    elif picker.is_bound and not picker.is_valid():
        raise Http404("Customer not found.")
    else:
        chosen = None
    tiles, refusal, chosen_active = [], None, 0
    if chosen is not None:
        may_configure = setup.user_may_manage(user=request.user, customer=chosen)
        own = [i for i in integrations if i.customer_id == chosen.id]
        chosen_active = sum(i.status == Integration.Status.ACTIVE for i in own)
        tiles = [{"marketplace": m, "integrations": [i for i in own if i.marketplace == m.key],
                  "form": NewIntegrationForm(prefix=m.key, initial={"customer": chosen.id, "marketplace": m.key},
                                             customers=[chosen]) if may_configure else None}
                 for m in marketplaces()]
        if request.user.is_customer_user and not may_configure:
            refusal = ("Your warehouse manages your integrations for you. Ask them to allow self-managed "
                       "integrations for your login to set one up yourself.")
    return render(request, "integrations/list.html", {
        "integrations": integrations, "picker": picker, "chosen": chosen, "tiles": tiles, "refusal": refusal,
        "chosen_active_integrations": chosen_active})


@require_POST
@scoped
def integration_new(request, scope: Scope):
    customers = list(wh.customer_list(scope=scope))
    # Each tile's form carries its marketplace as prefix; a plain form (no prefix) works too.
    prefix = request.POST.get("prefix") or None
    form = NewIntegrationForm(request.POST, customers=customers, prefix=prefix)
    if not form.is_valid():
        messages.error(request, "Choose a customer and a marketplace, and give the integration a name.")
        return redirect("integrations:list")
    customer = next(c for c in customers if c.id == form.cleaned_data["customer"])
    if not setup.user_may_manage(user=request.user, customer=customer):
        raise PermissionDenied("You may not set up integrations for this customer.")
    try:
        integration = setup.integration_create(tenant=scope.tenant, customer=customer,
                                               marketplace=form.cleaned_data["marketplace"],
                                               name=form.cleaned_data["name"], user=request.user)
    except IntegrationError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('integrations:list')}?customer={customer.id}")
    return redirect("integrations:setup", integration.id, 2)


@scoped
def integration_setup(request, scope: Scope, integration_id: int, step: int):
    integration = _manageable(request, scope, integration_id)
    if step not in dict(STEPS):
        raise Http404("No such step.")
    if step > 2 and not integration.is_connected:
        messages.error(request, "Connect the marketplace account first.")
        return redirect("integrations:setup", integration.id, 2)
    warehouses = list(integration.customer.warehouses.order_by("code"))
    context = {"integration": integration, "steps": STEPS, "step": step}
    if step == 1:
        form = NameForm(request.POST or None, initial={"name": integration.name})
        if request.method == "POST" and form.is_valid():
            setup.integration_rename(integration=integration, name=form.cleaned_data["name"])
            return redirect("integrations:setup", integration.id, 2)
    elif step == 2:
        form = (AmazonConnectForm(choices=setup.amazon_marketplace_choices(),
                                  initial={"marketplace_id": integration.marketplace_id or "A39IBJ37TRP1C6"})
                if integration.marketplace == Integration.Marketplace.AMAZON else None)
    elif step == 3:
        form = OrderCreationForm(request.POST or None, integration=integration, warehouses=warehouses, initial={
            "default_warehouse": integration.default_warehouse_id, "match_by": integration.match_by,
            "orders_api": integration.orders_api,
            **{f"source_{m.supply_source_id}": m.warehouse_id for m in integration.supply_sources.all()}})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                setup.integration_set_order_creation(
                    integration=integration,
                    default_warehouse=form.warehouses.get(data["default_warehouse"]),
                    supply_source_warehouses=form.supply_source_warehouses(),
                    match_by=data.get("match_by") or Integration.MatchBy.SKU,
                    orders_api=data.get("orders_api") or Integration.OrdersApi.V0,
                    shipping_method_map=form.shipping_method_map())
                return redirect("integrations:setup", integration.id, 4)
            except IntegrationError as exc:
                form.add_error(exc.field, exc.message)
    else:
        form = FulfilmentForm(request.POST or None, warehouses=warehouses, initial={
            "fulfilment_enabled": integration.fulfilment_enabled,
            "carrier_map": "\n".join(f"{k} = {v}" for k, v in integration.carrier_map.items()),
            "inventory_enabled": integration.inventory_enabled,
            "inventory_frequency_minutes": integration.inventory_frequency_minutes,
            "inventory_warehouses": list(integration.inventory_warehouses.values_list("id", flat=True))})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                setup.integration_set_fulfilment(
                    integration=integration, fulfilment_enabled=data["fulfilment_enabled"],
                    carrier_map=data["carrier_map"], inventory_enabled=data["inventory_enabled"],
                    inventory_frequency_minutes=data["inventory_frequency_minutes"],
                    inventory_warehouses=[form.warehouses[i] for i in data["inventory_warehouses"]])
                if integration.status in (Integration.Status.SETUP, Integration.Status.ERROR):
                    setup.integration_finish(integration=integration, user=request.user)
                    run = selectors.import_run_latest(integration=integration)
                    found = f" {run.found} found so far." if run is not None and run.found else ""
                    messages.success(request, f"{integration.name} is active. Importing every open order of the last "
                                              f"{settings.ORDERS_FIRST_IMPORT_DAYS} days:{found} The progress is "
                                              "shown below.")
                else:
                    messages.success(request, "Settings saved.")
                    return redirect("integrations:detail", integration.id)
                return _redirect_watching(integration)
            except IntegrationError as exc:
                form.add_error(None, exc.message)
    context["form"] = form
    if step == 2 and request.user.is_tenant_admin:
        context["share_form"] = ShareSetupLinkForm()
        context["setup_links"] = integration.setup_links.select_related("created_by")[:10]
        context["now"] = timezone.now()
    return render(request, f"integrations/setup_step{step}.html", context,
                  status=400 if request.method == "POST" else 200)


@require_POST
@scoped
def integration_connect(request, scope: Scope, integration_id: int):
    integration = _manageable(request, scope, integration_id)
    if not request.session.session_key:
        request.session.save()
    try:
        url = setup.integration_connect_start(
            integration=integration, user=request.user, session_key=request.session.session_key,
            redirect_uri=_redirect_uri(integration.marketplace),
            marketplace_id=request.POST.get("marketplace_id", ""))
    except (IntegrationError, ProviderError) as exc:
        messages.error(request, exc.message)
        return redirect("integrations:setup", integration.id, 2)
    return redirect(url)


def oauth_callback(request, marketplace: str):
    """The marketplaces' redirect after consent. A brand that came through an e-mailed setup link has
    no login: its state row names the link, and only that one Connect is completed."""
    if marketplace not in Integration.Marketplace.values:
        raise Http404("Unknown marketplace.")
    if setup.connect_state_is_setup_link(request.GET.get("state", "")):
        return _setup_link_callback(request, marketplace)
    return _user_oauth_callback(request, marketplace)


def _setup_link_callback(request, marketplace: str):
    try:
        integration = setup.integration_connect_complete(
            marketplace=marketplace, params=request.GET.dict(), user=None,
            session_key=request.session.session_key or "", redirect_uri=_redirect_uri(marketplace))
    except IntegrationError as exc:
        return render(request, "integrations/setup_link.html", {"refusal": exc.message}, status=400)
    return render(request, "integrations/setup_link_done.html", {"integration": integration})


@scoped
def _user_oauth_callback(request, scope: Scope, marketplace: str):
    try:
        integration = setup.integration_connect_complete(
            marketplace=marketplace, params=request.GET.dict(), user=request.user,
            session_key=request.session.session_key or "", redirect_uri=_redirect_uri(marketplace))
    except IntegrationError as exc:
        return render(request, "integrations/connect_failed.html", {"message": exc.message}, status=400)
    messages.success(request, f"Connected to {integration.get_marketplace_display()}"
                              f"{f' shop {integration.shop_name}' if integration.shop_name else ''} "
                              f"(account {integration.account_id}).")
    if integration.status == Integration.Status.ACTIVE:
        # A reconnect of a working integration: nothing to set up again.
        messages.success(request, "Reconnected: every setting and mapping is kept, and syncing resumes.")
        return redirect("integrations:detail", integration.id)
    return redirect("integrations:setup", integration.id, 3)


@scoped
def integration_detail(request, scope: Scope, integration_id: int):
    integration = selectors.integration_get(scope=scope, integration_id=integration_id)
    log_form = LogFilterForm(request.GET or None)
    level = log_form.cleaned_data["level"] if log_form.is_valid() else None
    page = Paginator(selectors.connection_log(integration=integration, level=level or None), 50).get_page(
        request.GET.get("page"))
    return render(request, "integrations/detail.html", {
        "integration": integration, "log_form": log_form, "page": page, "steps": STEPS,
        "can_manage": setup.user_may_manage(user=request.user, customer=integration.customer),
        "import_form": ImportMissingForm(), "pending": integration.pending_imports.order_by("-last_tried_at")[:20],
        "mappings": integration.supply_sources.select_related("warehouse"),
        "import_run": selectors.import_run_latest(integration=integration),
        # Who turned it on and off and when: the billing history, for the warehouse's admins only.
        "history": integration_history(integration=integration) if request.user.is_tenant_admin else None,
        "refusals": integration.inventory_refusals.all()[:200],
        "last_export": integration.inventory_last_export,
        "processing_feeds": integration.inventory_feeds.filter(status="processing").order_by("submitted_at")[:10],
        "activity_chart": selectors.integration_activity_chart(integration=integration),
        **_live_context(integration, request.GET.get("watch")),
    })


WATCH_AT_MOST = dt.timedelta(minutes=10)


def _redirect_watching(integration: Integration):
    """To the integration page, which then follows the import just queued closely until it ends."""
    return redirect(f"{reverse('integrations:detail', args=[integration.id])}?watch={int(timezone.now().timestamp())}")


def _live_context(integration: Integration, watch: str | None = None) -> dict:
    """The sync panel: refreshed every second while an import runs, or while one just asked for has not
    started yet (?watch=<when it was asked>, for at most ten minutes); otherwise every LIVE_REFRESH_SECONDS."""
    run = selectors.import_run_latest(integration=integration)
    since = None
    if watch and watch.isdigit():
        since = dt.datetime.fromtimestamp(int(watch), tz=dt.timezone.utc)
        waiting = run is None or run.started_at < since - dt.timedelta(seconds=2)
        if timezone.now() - since > WATCH_AT_MOST or not waiting:
            since = None
    fast = since is not None or (run is not None and run.is_open)
    return {"latest_log": selectors.connection_log(integration=integration)[:5], "run": run,
            "poll_seconds": 1 if fast else settings.LIVE_REFRESH_SECONDS,
            "live_query": f"?watch={watch}" if since is not None else ""}


@scoped
def integration_live(request, scope: Scope, integration_id: int):
    """The integration page's sync panel on its own: htmx swaps it in every few seconds."""
    integration = selectors.integration_get(scope=scope, integration_id=integration_id)
    return render(request, "integrations/_live.html", {"integration": integration,
                                                       **_live_context(integration, request.GET.get("watch"))})


@require_POST
@scoped
def integration_action(request, scope: Scope, integration_id: int, action: str):
    integration = _manageable(request, scope, integration_id)
    try:
        if action == "test":
            messages.success(request, setup.integration_test_connection(integration=integration))
        elif action == "off":
            setup.integration_turn_off(integration=integration, user=request.user)
            messages.success(request, "Turned off: nothing syncs until you turn it on again.")
        elif action == "on":
            setup.integration_turn_on(integration=integration, user=request.user)
            messages.success(request, "Turned on: orders placed meanwhile are being imported.")
        elif action == "disconnect":
            setup.integration_disconnect(integration=integration, user=request.user)
            messages.success(request, "Disconnected. Connect again to resume, or choose another marketplace.")
            return redirect("integrations:setup", integration.id, 2)
        elif action == "export-stock":
            from .tasks import inventory_export_task

            if integration.status != Integration.Status.ACTIVE:
                raise IntegrationError("Turn the integration on before exporting stock.")
            inventory_export_task.delay(integration.id)
            messages.success(request, "Exporting every stock level now; what the marketplace accepted and refused "
                                      "shows below.")
        elif action == "delete":
            setup.integration_delete(integration=integration, user=request.user)
            messages.success(request, f"{integration.name} deleted. Orders already imported stay.")
            return redirect("integrations:list")
        elif action == "refresh-sources":
            rows = setup.integration_supply_sources_refresh(integration=integration)
            messages.success(request, f"{len(rows)} supply source(s) read from Amazon.")
            return redirect("integrations:setup", integration.id, 3)
        else:
            raise Http404("Unknown action.")
    except IntegrationError as exc:
        messages.error(request, exc.message)
    except ProviderError as exc:
        messages.error(request, f"The marketplace call failed: {exc.message}")
    return redirect("integrations:detail", integration.id)


@scoped
def alert_settings(request, scope: Scope):
    """The tenant's alert recipients: who is e-mailed when an integration needs attention."""
    tenant_admin_only(request)
    if request.method == "POST":
        form = AlertSettingsForm(request.POST)
        if form.is_valid():
            try:
                addresses = alerts.alert_recipients_set(tenant=scope.tenant, text=form.cleaned_data["recipients"])
                messages.success(request, f"Alerts go to {', '.join(addresses)}." if addresses
                                 else "Alerts are off: nobody is on the list.")
                return redirect("integrations:alerts")
            except IntegrationError as exc:
                form.add_error("recipients", exc.message)
        return render(request, "integrations/alerts.html", {"form": form}, status=400)
    form = AlertSettingsForm(initial={"recipients": "\n".join(alerts.alert_recipients_get(tenant=scope.tenant))})
    return render(request, "integrations/alerts.html", {"form": form})


@require_POST
@scoped
def setup_link_share(request, scope: Scope, integration_id: int):
    """An admin e-mails the brand a single-use link to complete Connect without a login."""
    integration = _manageable(request, scope, integration_id)
    tenant_admin_only(request)
    form = ShareSetupLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the brand's e-mail address.")
    else:
        try:
            link, _ = setup_links.setup_link_create(integration=integration, email=form.cleaned_data["email"],
                                                    user=request.user)
            messages.success(request, f"Setup link sent to {link.email}. It works once, until "
                                      f"{timezone.localtime(link.expires_at):%d %b %Y %H:%M}.")
        except IntegrationError as exc:
            messages.error(request, exc.message)
    return redirect("integrations:setup", integration.id, 2)


@require_POST
@scoped
def setup_link_revoke(request, scope: Scope, integration_id: int, link_id: int):
    integration = _manageable(request, scope, integration_id)
    tenant_admin_only(request)
    link = integration.setup_links.filter(pk=link_id).first()
    if link is None:
        raise Http404("No such setup link.")
    try:
        setup_links.setup_link_revoke(link=link, user=request.user)
        messages.success(request, f"The setup link sent to {link.email} no longer works.")
    except IntegrationError as exc:
        messages.error(request, exc.message)
    return redirect("integrations:setup", integration.id, 2)


def setup_link_page(request, token: str):
    """What the brand opens from the e-mail: no login; it can start this integration's Connect, nothing else."""
    try:
        link = setup_links.setup_link_open(token=token)
    except IntegrationError as exc:
        return render(request, "integrations/setup_link.html", {"refusal": exc.message}, status=410)
    integration = link.integration
    form = (AmazonConnectForm(request.POST or None, choices=setup.amazon_marketplace_choices(),
                              initial={"marketplace_id": "A39IBJ37TRP1C6"})
            if integration.marketplace == Integration.Marketplace.AMAZON else None)
    if request.method == "POST":
        if form is not None and not form.is_valid():
            return render(request, "integrations/setup_link.html", {"link": link, "integration": integration,
                                                                    "form": form}, status=400)
        if not request.session.session_key:
            request.session.save()
        try:
            url = setup.integration_connect_start(
                integration=integration, user=None, setup_link=link, session_key=request.session.session_key,
                redirect_uri=_redirect_uri(integration.marketplace),
                marketplace_id=form.cleaned_data["marketplace_id"] if form is not None else "")
        except (IntegrationError, ProviderError) as exc:
            return render(request, "integrations/setup_link.html", {"link": link, "integration": integration,
                                                                    "form": form, "error": exc.message}, status=400)
        return redirect(url)
    return render(request, "integrations/setup_link.html", {"link": link, "integration": integration, "form": form})


@require_POST
@scoped
def integration_import_missing(request, scope: Scope, integration_id: int):
    from .tasks import orders_import_task

    integration = _manageable(request, scope, integration_id)
    form = ImportMissingForm(request.POST)
    if integration.status != Integration.Status.ACTIVE:
        messages.error(request, "Turn the integration on before importing orders.")
    elif not form.is_valid():
        messages.error(request, " ".join(form.non_field_errors()) or "Check the dates and order numbers.")
    else:
        data = form.cleaned_data
        if data["ids"]:
            orders_import_task.delay(integration.id, order_ids=data["ids"])
            messages.success(request, f"Importing {len(data['ids'])} order(s); watch the connection log.")
        else:
            start = dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=dt.timezone.utc)
            end = (dt.datetime.combine(data["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=dt.timezone.utc)
                   if data["date_to"] else None)
            if end and end > timezone.now():
                end = None
            orders_import_task.delay(integration.id, since=start.isoformat(), until=end.isoformat() if end else None)
            messages.success(request, "Importing orders for those dates; watch the connection log.")
        return _redirect_watching(integration)
    return redirect("integrations:detail", integration.id)


@require_POST
@scoped
def confirmation_resend(request, scope: Scope, confirmation_id: int):
    from .services.confirmations import confirmation_resend as resend

    row = selectors.confirmation_get(scope=scope, confirmation_id=confirmation_id)
    if not request.user.is_tenant_admin and not setup.user_may_manage(user=request.user,
                                                                      customer=row.integration.customer):
        raise PermissionDenied("Only the warehouse's staff can resend tracking.")
    try:
        resend(confirmation=row, requested_by=request.user.get_username())
        messages.success(request, f"Tracking {row.tracking_number} will be sent again (after checking "
                                  f"{row.integration.get_marketplace_display()} first).")
    except IntegrationError as exc:
        messages.error(request, exc.message)
    return redirect("web:order_detail", order_id=row.imported_order.order_id)
