"""The setup wizard's actions: name → connect → order creation → fulfilment → active, and what can be
done afterwards (reconfigure, test, turn off/on, disconnect, delete)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping, Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.services import integration_event_record
from warehouse.models import Customer, Tenant, User, Warehouse

from ..errors import IntegrationError
from ..models import Integration, OAuthState, SetupLink, SupplySourceMapping
from ..providers.amazon.marketplaces import marketplaces_enabled
from ..providers.base import ProviderAuthError, ProviderError
from . import setup_links
from .connection import connection_for, integration_mark_needs_reconnect, provider_for
from .log import INFO, log_entry

STATE_TTL = dt.timedelta(minutes=10)
Status = Integration.Status


def _session_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def user_may_manage(*, user: User, customer: Customer) -> bool:
    """Tenant admins: any customer of their tenant. Customer users: their own, if the admin allowed it."""
    if user.tenant_id is None or customer.tenant_id != user.tenant_id:
        return False
    if user.is_tenant_admin:
        return True
    return user.is_customer_user and user.customer_id == customer.id and user.may_self_manage_integrations


@transaction.atomic
def integration_create(*, tenant: Tenant, customer: Customer, marketplace: str, name: str,
                       user: User | None = None) -> Integration:
    if customer.tenant_id != tenant.id:
        raise IntegrationError("Customer not found.")
    if marketplace not in Integration.Marketplace.values:
        raise IntegrationError(f"Unknown marketplace {marketplace!r}.")
    name = name.strip()
    if not name:
        raise IntegrationError("Give the integration a name.")
    # Several per customer and marketplace (Amazon AU and US, two Etsy shops): the account is unique once
    # connected, see integration_connect_complete.
    return Integration.objects.create(tenant=tenant, customer=customer, marketplace=marketplace, name=name,
                                      created_by=user, wizard_step=2)


def integration_rename(*, integration: Integration, name: str) -> Integration:
    name = name.strip()
    if not name:
        raise IntegrationError("Give the integration a name.")
    integration.name = name[:100]
    integration.save(update_fields=["name", "updated_at"])
    return integration


def integration_connect_start(*, integration: Integration, user: User | None, session_key: str, redirect_uri: str,
                              marketplace_id: str = "", setup_link: SetupLink | None = None) -> str:
    """Returns the marketplace consent URL; the state is bound to this user (or the brand's setup link),
    session and integration."""
    if (user is None) == (setup_link is None) or (setup_link and setup_link.integration_id != integration.id):
        raise IntegrationError("Connect needs a login or a setup link for this integration.")
    if integration.status == Status.DELETED:
        raise IntegrationError("This integration was deleted.")
    if integration.marketplace == Integration.Marketplace.AMAZON:
        if marketplace_id not in {m.marketplace_id for m in marketplaces_enabled()}:
            raise IntegrationError("Choose one of the listed Amazon marketplaces.")
        if integration.is_connected and integration.marketplace_id and marketplace_id != integration.marketplace_id:
            raise IntegrationError("This integration is connected to another marketplace. Disconnect it first to "
                                   "change the marketplace.")
    state = secrets.token_urlsafe(32)
    request = provider_for(integration).authorization_url(state=state, redirect_uri=redirect_uri,
                                                          marketplace_id=marketplace_id)
    OAuthState.objects.create(state=state, integration=integration, user=user, setup_link=setup_link,
                              session_key_hash=_session_hash(session_key), code_verifier=request.code_verifier,
                              marketplace_id=marketplace_id)
    return request.url


def connect_state_is_setup_link(state_value: str) -> bool:
    """Whether an OAuth callback belongs to a brand's setup link (no login) rather than a user."""
    return bool(state_value) and OAuthState.objects.filter(state=state_value, setup_link__isnull=False).exists()


def integration_connect_complete(*, marketplace: str, params: Mapping[str, str], user: User | None, session_key: str,
                                 redirect_uri: str) -> Integration:
    """The OAuth callback. Any failure stores nothing but burns the state (single use)."""
    state_value = params.get("state", "")
    with transaction.atomic():
        state = (OAuthState.objects.select_for_update(of=("self",)).select_related("integration", "setup_link")
                 .filter(state=state_value).first() if state_value else None)
        if state is None:
            raise IntegrationError("This connection attempt is not recognised (unknown state). Start Connect again.")
        if state.used_at is not None:
            raise IntegrationError("This connection link was already used. Start Connect again.")
        state.used_at = timezone.now()
        state.save(update_fields=["used_at"])
    if timezone.now() - state.created_at > STATE_TTL:
        raise IntegrationError("This connection attempt expired. Start Connect again.")
    if state.setup_link_id is not None:
        # A brand without a login: the link must still be good, and the browser the one that opened it.
        refusal = setup_links.setup_link_refusal(state.setup_link)
        if refusal:
            raise IntegrationError(refusal)
        if state.session_key_hash != _session_hash(session_key):
            raise IntegrationError("This connection was started in another browser. Open the setup link again.")
    elif user is None or state.user_id != user.id or state.session_key_hash != _session_hash(session_key):
        raise IntegrationError("This connection was started in another session. Start Connect again from this browser.")
    integration = state.integration
    if integration.marketplace != marketplace or integration.status == Status.DELETED:
        raise IntegrationError("This connection attempt does not belong to this marketplace.")
    # Permission is checked again here, not only when Connect was pressed: it may have been withdrawn since.
    # A setup link grants its one Connect by itself (checked above: unused, unexpired, not revoked).
    if state.setup_link_id is None and not user_may_manage(user=user, customer=integration.customer):
        raise IntegrationError("You may no longer set up integrations for this customer, so nothing was saved. "
                               "Ask your warehouse to allow self-managed integrations for your login.")
    if params.get("error"):
        raise IntegrationError(f"The marketplace connection was not authorised "
                               f"({params.get('error_description') or params['error']}). Nothing was saved.")
    provider = provider_for(integration)
    try:
        credentials = provider.complete_authorization(params=params, redirect_uri=redirect_uri,
                                                      code_verifier=state.code_verifier)
    except ProviderError as exc:
        raise IntegrationError(f"The marketplace did not complete the connection: {exc.message}. Nothing was saved.") from exc
    reconnecting = integration.is_connected
    try:
        integration = _store_credentials(integration=integration, credentials=credentials,
                                         marketplace_id=state.marketplace_id, user=user)
    except IntegrityError:
        raise IntegrationError(
            f"{integration.customer.name} already has a live {integration.get_marketplace_display()} integration for "
            f"this account{' and marketplace' if integration.marketplace == 'amazon' else ' and shop'}. "
            "Use that one, or delete it first. Nothing was saved.") from None
    if state.setup_link_id is not None:
        setup_links.setup_link_mark_used(link=state.setup_link)
    if reconnecting:
        log_entry(integration=integration, level=INFO, event="connection.reconnected",
                  message=f"Reconnected to {integration.get_marketplace_display()} account {credentials.account_id}"
                          f"{f' (shop {credentials.shop_name})' if credentials.shop_name else ''}: every setting "
                          "and mapping is kept.")
    else:
        log_entry(integration=integration, level=INFO, event="connection.connected",
                  message=f"Connected to {integration.get_marketplace_display()} account {credentials.account_id}"
                          f"{f' (shop {credentials.shop_name})' if credentials.shop_name else ''}.")
    if integration.marketplace == Integration.Marketplace.AMAZON:
        try:
            integration_supply_sources_refresh(integration=integration)
        except ProviderError as exc:
            log_entry(integration=integration, level=INFO, event="supply_sources.unavailable",
                      message=f"Supply sources could not be read yet: {exc.message}. Refresh them in Order creation.")
    return integration


def _store_credentials(*, integration: Integration, credentials, marketplace_id: str,
                       user: User | None = None) -> Integration:
    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration.pk)
        reconnecting = integration.is_connected
        if reconnecting:
            _same_account_or_refuse(integration, credentials)
        integration.refresh_token = credentials.refresh_token
        integration.account_id = credentials.account_id
        integration.shop_id = credentials.shop_id
        integration.shop_name = credentials.shop_name
        integration.access_token = credentials.access_token
        integration.access_token_expires_at = credentials.access_token_expires_at
        if marketplace_id:
            integration.marketplace_id = marketplace_id
        integration.connected_at = timezone.now()
        integration.status_message = ""
        reconnected = integration.status == Status.ERROR
        if reconnected:
            integration.status = Status.ACTIVE if integration.activated_at else Status.SETUP
        integration.wizard_step = max(integration.wizard_step, 3)
        integration.save()
        if reconnected:
            integration_event_record(integration=integration, kind="reconnected", from_status=Status.ERROR,
                                     user=user)
        if reconnected and integration.status == Status.ACTIVE:
            _queue_import(integration)          # orders placed while the grant was revoked
    return integration


def _same_account_or_refuse(integration: Integration, credentials) -> None:
    """Reconnecting keeps every setting and mapping, so it must be the same seller account (and shop);
    another account needs Disconnect first, which clears what belonged to the old one."""
    same_account = credentials.account_id == integration.account_id
    same_shop = not integration.shop_id or credentials.shop_id == integration.shop_id
    if not (same_account and same_shop):
        market = integration.get_marketplace_display()
        got = f"account {credentials.account_id}" + (f", shop {credentials.shop_name or credentials.shop_id}"
                                                     if credentials.shop_id else "")
        raise IntegrationError(
            f"You signed in to {market} {got}, but this integration belongs to account {integration.account_id}"
            f"{f' (shop {integration.shop_name or integration.shop_id})' if integration.shop_id else ''}. "
            "Nothing was changed. Reconnect with the same account, or Disconnect first to connect another one "
            "(its supply-source mappings are then cleared).")


def integration_supply_sources_refresh(*, integration: Integration) -> list[SupplySourceMapping]:
    provider = provider_for(integration)
    sources = provider.supply_sources(conn=connection_for(integration, provider))
    rows = []
    with transaction.atomic():
        for source in sources:
            row, _ = SupplySourceMapping.objects.update_or_create(
                integration=integration, supply_source_id=source.supply_source_id,
                defaults={"code": source.code, "alias": source.alias, "status": source.status})
            rows.append(row)
    return rows


def _no_route_message(integration: Integration, orders_api: str = "") -> str:
    """Why order creation needs a default warehouse (or, on Amazon's Orders v0, a mapped supply source)."""
    if (orders_api or integration.orders_api) == Integration.OrdersApi.V2026:
        return ("Choose a default warehouse: Orders API 2026-01-01 does not say which supply source an order is "
                "for, so every order goes to the default warehouse.")
    if integration.marketplace == Integration.Marketplace.AMAZON:
        return "Choose a default warehouse or map at least one supply source, or no order can come in."
    return "Choose a default warehouse: no order can come in without one."


@transaction.atomic
def integration_set_order_creation(
    *,
    integration: Integration,
    default_warehouse: Warehouse | None,
    supply_source_warehouses: Mapping[str, Warehouse | None] | None = None,
    match_by: str = Integration.MatchBy.SKU,
    orders_api: str = Integration.OrdersApi.V0,
    shipping_method_map: Mapping[str, str] | None = None,
) -> Integration:
    allowed = set(integration.customer.warehouses.values_list("id", flat=True))
    chosen = [default_warehouse, *(supply_source_warehouses or {}).values()]
    for warehouse in chosen:
        if warehouse is not None and warehouse.id not in allowed:
            raise IntegrationError(f"{integration.customer.name} may not use warehouse {warehouse.code}.")
    if match_by not in Integration.MatchBy.values or orders_api not in Integration.OrdersApi.values:
        raise IntegrationError("Unknown matching or Orders API choice.")
    mappings = {m.supply_source_id: m for m in integration.supply_sources.all()}
    for source_id, warehouse in (supply_source_warehouses or {}).items():
        mapping = mappings.get(source_id)
        if mapping is None:
            raise IntegrationError(f"Unknown supply source {source_id}.")
        if warehouse is not None and not mapping.is_active:
            raise IntegrationError(f"Supply source {mapping.alias or mapping.code} is {mapping.status or 'inactive'} "
                                   "on Amazon; map only active supply sources.")
    mapped = {source_id: m.warehouse_id is not None for source_id, m in mappings.items()}
    mapped.update({source_id: w is not None for source_id, w in (supply_source_warehouses or {}).items()})
    if default_warehouse is None and (not any(mapped.values()) or orders_api == Integration.OrdersApi.V2026):
        # The rule Finish applies, checked here so the wizard does not save a step no order can pass.
        raise IntegrationError(_no_route_message(integration, orders_api), field="default_warehouse")
    for source_id, warehouse in (supply_source_warehouses or {}).items():
        mapping = mappings[source_id]
        mapping.warehouse = warehouse
        mapping.save(update_fields=["warehouse", "refreshed_at"])
    integration.default_warehouse = default_warehouse
    integration.match_by = match_by
    integration.orders_api = orders_api
    integration.shipping_method_map = {k: v.strip() for k, v in (shipping_method_map or {}).items() if v.strip()}
    integration.wizard_step = max(integration.wizard_step, 4)
    integration.save()
    return integration


@transaction.atomic
def integration_set_fulfilment(
    *,
    integration: Integration,
    fulfilment_enabled: bool,
    carrier_map: Mapping[str, str] | None = None,
    inventory_enabled: bool = False,
    inventory_frequency_minutes: int = 60,
    inventory_warehouses: Sequence[Warehouse] = (),
) -> Integration:
    if inventory_frequency_minutes not in dict(Integration.INVENTORY_FREQUENCIES):
        raise IntegrationError("Choose a stock level frequency from the list.")
    allowed = set(integration.customer.warehouses.values_list("id", flat=True))
    for warehouse in inventory_warehouses:
        if warehouse.id not in allowed:
            raise IntegrationError(f"{integration.customer.name} may not use warehouse {warehouse.code}.")
    integration.fulfilment_enabled = fulfilment_enabled
    integration.carrier_map = {k.strip(): v.strip() for k, v in (carrier_map or {}).items() if k.strip() and v.strip()}
    integration.inventory_enabled = inventory_enabled
    integration.inventory_frequency_minutes = inventory_frequency_minutes
    integration.save()
    integration.inventory_warehouses.set(inventory_warehouses)
    return integration


def _queue_import(integration: Integration) -> None:
    from ..tasks import orders_import_task

    transaction.on_commit(lambda: orders_import_task.delay(integration.id))


def _queue_push_enable(integration: Integration) -> None:
    from ..tasks import push_enable_task

    transaction.on_commit(lambda: push_enable_task.delay(integration.id))


def _queue_push_disable(integration: Integration) -> None:
    """The seller's ORDER_CHANGE and FEED_PROCESSING_FINISHED subscriptions go (grantless) once no live
    integration uses them."""
    from ..tasks import push_disable_task

    args = (integration.id, integration.account_id, integration.marketplace_id, integration.push_subscription_id,
            integration.feed_subscription_id)
    if integration.push_enabled_at or integration.push_subscription_id or integration.feed_subscription_id:
        transaction.on_commit(lambda: push_disable_task.delay(*args))


@transaction.atomic
def integration_finish(*, integration: Integration, user: User | None = None) -> Integration:
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    if not integration.is_connected:
        raise IntegrationError("Connect the marketplace account before finishing.")
    if integration.default_warehouse_id is None and (
            integration.orders_api == Integration.OrdersApi.V2026
            or not integration.supply_sources.filter(warehouse__isnull=False).exists()):
        raise IntegrationError(_no_route_message(integration))
    before = integration.status
    if integration.status in (Status.SETUP, Status.ERROR):
        integration.status = Status.ACTIVE
    integration.activated_at = integration.activated_at or timezone.now()
    integration.wizard_step = 5
    integration.save()
    if before != integration.status:
        integration_event_record(integration=integration, from_status=before, user=user,
                                 kind="reconnected" if before == Status.ERROR else "activated")
    log_entry(integration=integration, level=INFO, event="integration.activated",
              message="Integration is active: orders are imported every few minutes.")
    _queue_import(integration)
    _queue_push_enable(integration)
    return integration


@transaction.atomic
def integration_turn_off(*, integration: Integration, user: User | None = None) -> Integration:
    if integration.status != Status.ACTIVE:
        raise IntegrationError("Only an active integration can be turned off.")
    integration.status = Status.PAUSED
    integration.save(update_fields=["status", "updated_at"])
    integration_event_record(integration=integration, kind="turned_off", from_status=Status.ACTIVE, user=user)
    log_entry(integration=integration, level=INFO, event="integration.turned_off",
              message="Integration turned off: nothing syncs until it is turned on again.")
    return integration


@transaction.atomic
def integration_turn_on(*, integration: Integration, user: User | None = None) -> Integration:
    if integration.status != Status.PAUSED:
        raise IntegrationError("Only a turned-off integration can be turned on.")
    integration.status = Status.ACTIVE
    integration.save(update_fields=["status", "updated_at"])
    integration_event_record(integration=integration, kind="turned_on", from_status=Status.PAUSED, user=user)
    log_entry(integration=integration, level=INFO, event="integration.turned_on",
              message="Integration turned on: orders placed while it was off are imported now.")
    _queue_import(integration)     # the watermark did not move while off
    return integration


@transaction.atomic
def integration_disconnect(*, integration: Integration, user: User | None = None) -> Integration:
    before = integration.status
    _queue_push_disable(integration)
    integration.refresh_token = integration.access_token = ""
    integration.access_token_expires_at = None
    integration.account_id = integration.shop_id = integration.shop_name = ""
    integration.connected_at = None
    integration.status = Status.SETUP
    integration.wizard_step = 2
    integration.save()
    integration.supply_sources.all().delete()
    if before != Status.SETUP:
        integration_event_record(integration=integration, kind="disconnected", from_status=before, user=user)
    log_entry(integration=integration, level=INFO, event="connection.disconnected",
              message="Disconnected from the marketplace; the stored tokens were erased.")
    return integration


@transaction.atomic
def integration_delete(*, integration: Integration, user: User | None = None) -> Integration:
    """Stops every job and billing; the outbound orders already imported stay."""
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    if integration.status == Status.DELETED:
        return integration      # deleted once: billing stopped then, not now
    before = integration.status
    _queue_push_disable(integration)
    integration.status = Status.DELETED
    integration.deleted_at = timezone.now()
    integration.refresh_token = integration.access_token = ""
    integration.access_token_expires_at = None
    integration.save()
    integration_event_record(integration=integration, kind="deleted", from_status=before, user=user,
                             at=integration.deleted_at)
    return integration


def integration_test_connection(*, integration: Integration) -> str:
    if not integration.is_connected:
        raise IntegrationError("Not connected yet.")
    provider = provider_for(integration)
    try:
        return provider.test_connection(conn=connection_for(integration, provider))
    except ProviderAuthError as exc:
        # The grant is revoked: say so now, not at the next import.
        integration_mark_needs_reconnect(integration_id=integration.id, reason=exc.message)
        raise IntegrationError(f"Connection test failed: {exc.message} The integration needs reconnecting: "
                               "use Reconnect (every setting and mapping is kept).") from exc
    except ProviderError as exc:
        raise IntegrationError(f"Connection test failed: {exc.message}") from exc


def amazon_marketplace_choices() -> list[tuple[str, str]]:
    return [(m.marketplace_id, m.label) for m in marketplaces_enabled()]
