"""Etsy's rotating refresh token kept through slow, lost and concurrent refreshes (services/connection.py),
against the Etsy sandbox over real HTTP.

Etsy retires a refresh token the moment it answers a refresh with a new one (reference/etsy-api.md §2.2);
the sandbox does the same, and its faults carry the refresh out before answering late or not at all.
"""

from __future__ import annotations

import re
import threading

import pytest
import requests
from django.utils import timezone

from integrations.models import ConnectionLogEntry, Integration
from integrations.providers.base import ProviderAuthError, ProviderUnavailable
from integrations.services.connection import connection_for, provider_for
from tests.db import in_threads

TOKEN_PATH = "/v3/public/oauth/token"
# Etsy's tokens are "<user_id>.<opaque>": nothing shaped like one may reach the connection log.
TOKEN_SHAPE = re.compile(r"\d+\.[A-Za-z0-9_-]{20,}")


@pytest.fixture
def due(etsy, etsy_shop, etsy_integration, settings):
    """The integration's access token is due for a refresh; ordinary calls wait half a second, the token
    endpoint thirty."""
    settings.MARKETPLACE_HTTP_TIMEOUT = 0.5
    settings.ETSY_TOKEN_TIMEOUT = 30
    Integration.objects.filter(pk=etsy_integration.pk).update(access_token_expires_at=timezone.now())
    return etsy_integration


def token_calls(etsy) -> list[dict]:
    return etsy.calls(TOKEN_PATH)


def refresh_refused(etsy_sandbox, refresh_token: str) -> bool:
    """Presents `refresh_token` to the sandbox's token endpoint: is it refused as spent?"""
    answer = requests.post(etsy_sandbox.token_url, timeout=10, headers={"x-api-key": etsy_sandbox.api_key}, data={
        "grant_type": "refresh_token", "client_id": etsy_sandbox.keystring, "refresh_token": refresh_token})
    return answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def assert_log_holds_no_token(integration):
    for message in ConnectionLogEntry.objects.filter(integration=integration).values_list("message", flat=True):
        assert not TOKEN_SHAPE.search(message), message


def assert_still_connected(integration_id: int):
    integration = Integration.objects.get(pk=integration_id)
    assert integration.status == Integration.Status.ACTIVE and integration.status_message == ""
    provider = provider_for(integration)
    assert "KoalaMugsShop" in provider.test_connection(conn=connection_for(integration, provider))


@pytest.mark.django_db
def test_refresh_answered_after_the_call_timeout_but_within_the_refresh_timeout_keeps_the_token(
        etsy, etsy_sandbox, etsy_shop, due):
    # Etsy carries the refresh out at once and answers after 1.5 s: past an ordinary call's timeout.
    etsy.post("faults", {"slow_next": 1, "slow_seconds": 1.5, "path_contains": TOKEN_PATH})

    token = connection_for(due).tokens.get()

    assert len(token_calls(etsy)) == 1
    integration = Integration.objects.get(pk=due.pk)
    assert integration.access_token == token and integration.refresh_token != etsy_shop["refresh_token"]
    assert refresh_refused(etsy_sandbox, etsy_shop["refresh_token"])     # Etsy rotated it: we hold the new one
    assert_still_connected(due.pk)


@pytest.mark.django_db
def test_refresh_refused_before_it_was_carried_out_is_tried_again(etsy, etsy_shop, due):
    etsy.post("faults", {"fail_next": 2, "path_contains": TOKEN_PATH})       # 500s, nothing carried out

    connection_for(due).tokens.get()

    assert [c["status"] for c in token_calls(etsy)] == [500, 500, 200]
    assert Integration.objects.get(pk=due.pk).refresh_token != etsy_shop["refresh_token"]
    assert_still_connected(due.pk)


@pytest.mark.django_db
def test_refresh_whose_answer_was_lost_asks_for_a_reconnect_saying_why(etsy, etsy_shop, due):
    # Etsy carries the refresh out, then the connection drops: the new tokens never reach us.
    etsy.post("faults", {"drop_after_apply_next": 1, "path_contains": TOKEN_PATH})

    with pytest.raises(ProviderAuthError):
        connection_for(due).tokens.get()

    assert len(token_calls(etsy)) == 2                          # the lost one, and one try with the saved token
    integration = Integration.objects.get(pk=due.pk)
    assert integration.status == Integration.Status.ERROR
    assert integration.status_message.startswith("Reconnect needed: ")
    assert "earlier refresh went unanswered" in integration.status_message
    assert "refresh token every time it is used" in integration.status_message
    events = set(ConnectionLogEntry.objects.filter(integration=integration).values_list("event", flat=True))
    assert {"token.refresh_unanswered", "connection.revoked"} <= events
    assert integration.refresh_token == etsy_shop["refresh_token"]    # nothing invented in its place
    assert_log_holds_no_token(integration)


@pytest.mark.django_db
def test_refresh_unanswered_in_one_task_explains_the_refusal_in_the_next(etsy, etsy_shop, due):
    # Every try is carried out and its answer lost: the first rotates the token, the others are refused.
    etsy.post("faults", {"drop_after_apply_next": 3, "path_contains": TOKEN_PATH})

    with pytest.raises(ProviderUnavailable):
        connection_for(due).tokens.get()
    integration = Integration.objects.get(pk=due.pk)
    assert integration.status == Integration.Status.ACTIVE              # not known to be lost yet
    assert ConnectionLogEntry.objects.filter(integration=integration, event="token.refresh_unanswered").exists()

    with pytest.raises(ProviderAuthError):                              # the next task's refresh
        connection_for(integration).tokens.get()

    integration.refresh_from_db()
    assert integration.status == Integration.Status.ERROR
    assert "earlier refresh went unanswered" in integration.status_message
    assert_log_holds_no_token(integration)


@pytest.mark.django_db
def test_a_refused_grant_without_a_lost_answer_says_only_that(etsy, etsy_shop, due):
    etsy.post("tokens/revoke", {"user_id": etsy_shop["user_id"]})          # a password change on Etsy

    with pytest.raises(ProviderAuthError):
        connection_for(due).tokens.get()

    integration = Integration.objects.get(pk=due.pk)
    assert integration.status == Integration.Status.ERROR
    assert "refresh_token is revoked" in integration.status_message
    assert "unanswered" not in integration.status_message


@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_during_a_slow_answer_end_with_one_working_token(etsy, etsy_shop, due):
    # The first refresh is answered after a second, so the second worker comes while it is in flight.
    etsy.post("faults", {"slow_next": 1, "slow_seconds": 1.0, "path_contains": TOKEN_PATH})
    start = threading.Barrier(2)

    def worker():
        integration = Integration.objects.get(pk=due.pk)
        start.wait(timeout=30)
        return connection_for(integration).tokens.get(force_refresh=True)

    tokens, failures = in_threads(worker)
    assert failures == []
    assert len(tokens) == 2 and tokens[0] == tokens[1]        # one refreshed, the other waited and used it
    assert len(token_calls(etsy)) == 1
    assert Integration.objects.get(pk=due.pk).access_token == tokens[0]
    assert_still_connected(due.pk)
