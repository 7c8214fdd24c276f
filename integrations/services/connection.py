"""From an Integration row to a provider and a Connection: the one place that hands tokens out.

Etsy rotates refresh tokens on every refresh (reference/etsy-api.md §2.2), so a refresh happens under a
row lock and is saved in the same transaction: of two workers refreshing at once, one refreshes and the
other, once the lock is free, finds the new token and uses it.

A refresh whose answer never came may still have been carried out, and then Etsy has already retired the
refresh token we keep; nothing in Etsy's protocol gives the new one back. So the provider waits longer for
the token endpoint than for other calls, and an unanswered refresh is tried again (inside the lock) with
the saved token: if the first never reached Etsy, that works; if it did, Etsy answers invalid_grant, and
only then is the integration marked for reconnecting, saying why.
"""

from __future__ import annotations

import datetime as dt
import random
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.services import integration_event_record

from ..models import ConnectionLogEntry, Integration
from ..providers.base import (
    Connection,
    MarketplaceProvider,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    TokenGrant,
)
from ..providers.registry import get_provider
from .log import DEBUG, ERROR, INFO, log_entries, log_entry

# Refresh a little before expiry so a token never dies in the middle of a page of calls.
EXPIRY_MARGIN = dt.timedelta(minutes=2)
# One refresh and this many more tries when the token endpoint does not answer (timeout, reset, 5xx).
REFRESH_RETRIES = 2
_UNANSWERED, _REFRESHED = "token.refresh_unanswered", "token.refreshed"


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
        unanswered: list[str] = []          # why each unanswered try failed, for the log (no token in it)
        try:
            with transaction.atomic():
                integration = Integration.objects.select_for_update().get(pk=self.integration_id)
                # Another worker refreshed while we waited for the lock: use its token.
                if self._fresh(integration) and (not force_refresh or integration.access_token != stale):
                    self._token = integration.access_token
                    return self._token
                grant = self._refresh(integration.refresh_token, unanswered)
                integration.access_token = grant.access_token
                integration.refresh_token = grant.refresh_token
                integration.access_token_expires_at = grant.expires_at
                integration.save(update_fields=["access_token", "refresh_token", "access_token_expires_at",
                                                "updated_at"])
                # Saved with the tokens: the log then tells whether the last refresh was answered.
                log_entry(integration=integration, level=INFO if unanswered else DEBUG, event=_REFRESHED,
                          message="Access token renewed; the new refresh token Etsy issued with it is saved"
                                  + (f" (after {len(unanswered)} unanswered tries)" if unanswered else ""))
                self._token = grant.access_token
                return self._token
        except ProviderAuthError as exc:
            reason = exc.message
            if unanswered or _last_refresh_unanswered(self.integration_id):
                reason = (f"{exc.message.rstrip('.')}, after an earlier refresh went unanswered: Etsy replaces "
                          "the refresh token every time it is used, so it had most likely issued a new one "
                          "whose answer never reached us")
            self._log_unanswered(unanswered)
            integration_mark_needs_reconnect(integration_id=self.integration_id, reason=reason)
            raise
        except ProviderError:
            self._log_unanswered(unanswered)
            raise

    def _refresh(self, refresh_token: str, unanswered: list[str]) -> TokenGrant:
        """The refresh, tried again while the token endpoint does not answer. Runs under the row lock, so
        no other worker presents the same refresh token meanwhile."""
        for attempt in range(REFRESH_RETRIES + 1):
            wait = 0.0
            try:
                return self.provider.refresh_tokens(refresh_token=refresh_token)
            except ProviderUnavailable as exc:
                unanswered.append(exc.message)
                if attempt == REFRESH_RETRIES:
                    raise
            except ProviderRateLimited as exc:      # refused before it was carried out: safe to repeat
                if exc.daily or attempt == REFRESH_RETRIES or (exc.retry_after or 0) > 60:
                    raise
                wait = exc.retry_after or 0.0
            backoff = settings.MARKETPLACE_RETRY_BASE_SECONDS * 2 ** attempt
            time.sleep(max(wait, random.uniform(backoff / 2, backoff)))     # noqa: S311 (jitter, not crypto)
        raise AssertionError("unreachable")

    def _log_unanswered(self, unanswered: list[str]) -> None:
        """Written after the lock's transaction rolled back, so the entries outlive it."""
        if not unanswered:
            return
        integration = Integration.objects.get(pk=self.integration_id)
        tries = "a token refresh" if len(unanswered) == 1 else f"{len(unanswered)} tries to refresh the token"
        log_entry(integration=integration, level=INFO, event=_UNANSWERED,
                  message=f"Etsy did not answer {tries} (last: {unanswered[-1].rstrip('.')}). The saved refresh "
                          "token is kept and tried again; if Etsy carried out a refresh without telling us, it "
                          "refuses that token and the shop must be connected again")


def _last_refresh_unanswered(integration_id: int) -> bool:
    """Did the last refresh go unanswered (in an earlier task) rather than succeed?"""
    last = (ConnectionLogEntry.objects.filter(integration_id=integration_id, event__in=(_UNANSWERED, _REFRESHED))
            .order_by("-created_at", "-id").values_list("event", flat=True).first())
    return last == _UNANSWERED


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
