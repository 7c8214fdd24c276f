"""From an Integration row to a provider and a Connection: the one place that hands tokens out.

Etsy rotates refresh tokens on every refresh, so a refresh happens under a row lock and is saved in
the same transaction: of two workers refreshing at once, one refreshes and the other, once the lock
is free, finds the new token and uses it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from billing.services import integration_event_record

from ..models import ConnectionLogEntry, Integration
from ..providers.base import Connection, MarketplaceProvider, ProviderAuthError
from ..providers.registry import get_provider
from .log import DEBUG, ERROR, log_entries, log_entry

# Refresh a little before expiry so a token never dies in the middle of a page of calls.
EXPIRY_MARGIN = dt.timedelta(minutes=2)


def provider_for(integration: Integration) -> MarketplaceProvider:
    return get_provider(integration.marketplace)


class DatabaseAccessTokens:
    """AccessTokens for providers whose access tokens we keep (Etsy)."""

    def __init__(self, integration_id: int, provider: MarketplaceProvider):
        self.integration_id = integration_id
        self.provider = provider
        self._token = ""

    def _fresh(self, integration: Integration) -> bool:
        return bool(integration.access_token and integration.access_token_expires_at
                    and integration.access_token_expires_at > timezone.now() + EXPIRY_MARGIN)

    def get(self, *, force_refresh: bool = False) -> str:
        integration = Integration.objects.get(pk=self.integration_id)
        if not force_refresh and self._fresh(integration):
            self._token = integration.access_token
            return self._token
        stale = self._token
        try:
            with transaction.atomic():
                integration = Integration.objects.select_for_update().get(pk=self.integration_id)
                # Another worker refreshed while we waited for the lock: use its token.
                if self._fresh(integration) and (not force_refresh or integration.access_token != stale):
                    self._token = integration.access_token
                    return self._token
                grant = self.provider.refresh_tokens(refresh_token=integration.refresh_token)
                integration.access_token = grant.access_token
                integration.refresh_token = grant.refresh_token
                integration.access_token_expires_at = grant.expires_at
                integration.save(update_fields=["access_token", "refresh_token", "access_token_expires_at",
                                                "updated_at"])
                self._token = grant.access_token
                return self._token
        except ProviderAuthError as exc:
            integration_mark_needs_reconnect(integration_id=self.integration_id, reason=exc.message)
            raise


def integration_mark_needs_reconnect(*, integration_id: int, reason: str) -> None:
    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration_id)
        if integration.status == Integration.Status.DELETED:
            return
        if integration.status == Integration.Status.ERROR and integration.status_message:
            return              # already marked and logged: once, not once per failing call
        before = integration.status
        integration.status = Integration.Status.ERROR
        integration.status_message = f"Reconnect needed: {reason}"[:500]
        integration.save(update_fields=["status", "status_message", "updated_at"])
        if before != Integration.Status.ERROR:
            integration_event_record(integration=integration, kind="needs_reconnect", from_status=before)
    log_entry(integration=integration, level=ERROR, event="connection.revoked",
              message=f"The marketplace refused our access ({reason}). Reconnect the integration to resume syncing.")


def connection_for(integration: Integration, provider: MarketplaceProvider | None = None, *,
                   call_log: CallLogger | None = None) -> Connection:
    """A connection whose every call goes to the connection log: written at once, or through
    `call_log` (a buffered CallLogger the caller flushes with its own writes)."""
    provider = provider or provider_for(integration)
    tokens = DatabaseAccessTokens(integration.id, provider) if integration.marketplace == "etsy" else None
    return Connection(account_id=integration.account_id, refresh_token=integration.refresh_token,
                      marketplace_id=integration.marketplace_id, shop_id=integration.shop_id, tokens=tokens,
                      options={"orders_api": integration.orders_api},
                      observer=call_log if call_log is not None else CallLogger(integration))


class CallLogger:
    """Every marketplace call as a DEBUG line in the connection log: operation, outcome, duration.
    Operations name orders, SKUs and shops, never a body, so no buyer data reaches the log.

    Unbuffered, each call is one row written at once. Buffered (an import: a hundred calls a page), the
    lines wait for `flush()`, which the import calls inside each page's transaction, so they go in with
    the page in one statement instead of a statement and a commit per call; and once more at the end,
    so the calls of a page that failed are in the log too. A long stretch without a page is flushed
    every FLUSH_EVERY lines."""

    FLUSH_EVERY = 500

    def __init__(self, integration: Integration, *, buffered: bool = False):
        self.integration = integration
        self.buffered = buffered
        self._pending: list[ConnectionLogEntry] = []

    def __call__(self, *, operation: str, outcome: str, seconds: float) -> None:
        message = f"{operation}: {outcome} in {seconds * 1000:.0f} ms."
        if not self.buffered:
            log_entry(integration=self.integration, level=DEBUG, event="api.call", message=message)
            return
        self._pending.append(ConnectionLogEntry(integration=self.integration, level=DEBUG, event="api.call",
                                                message=message))
        if len(self._pending) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        entries, self._pending = self._pending, []
        log_entries(entries)
