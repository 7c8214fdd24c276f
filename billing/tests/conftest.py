"""Billing fixtures: integrations driven through the real services at chosen moments (time-machine), so
the statement is computed from the history those services wrote."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
import time_machine

from integrations.models import Integration
from integrations.services.connection import integration_mark_needs_reconnect
from integrations.services.setup import (
    integration_create,
    integration_delete,
    integration_finish,
    integration_turn_off,
    integration_turn_on,
)
from tests.factories import CustomerFactory, UserFactory, WarehouseFactory

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    """'2026-03-05 14:00' in UTC."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@contextmanager
def moment(text: str):
    with time_machine.travel(at(text), tick=False):
        yield


class Timeline:
    """Do things to integrations at given UTC moments, through the integration services."""

    def __init__(self, customer, user):
        self.customer = customer
        self.user = user
        self.warehouse = WarehouseFactory(tenant=customer.tenant)
        customer.warehouses.add(self.warehouse)

    def activate(self, when: str, *, marketplace: str = "amazon", name: str | None = None, user=None) -> Integration:
        user = user or self.user
        with moment(when):
            integration = integration_create(tenant=self.customer.tenant, customer=self.customer,
                                             marketplace=marketplace, name=name or f"{marketplace} shop", user=user)
            # The OAuth round trip is the wizard tests' job: here the account is simply connected.
            integration.refresh_token, integration.account_id = "refresh-token", "SELLER-1"
            integration.default_warehouse = self.warehouse
            integration.save()
            return integration_finish(integration=integration, user=user)

    def off(self, integration, when, user=None):
        with moment(when):
            return integration_turn_off(integration=self._fresh(integration), user=user or self.user)

    def on(self, integration, when, user=None):
        with moment(when):
            return integration_turn_on(integration=self._fresh(integration), user=user or self.user)

    def revoke(self, integration, when):
        with moment(when):
            integration_mark_needs_reconnect(integration_id=integration.id, reason="token revoked")
        return self._fresh(integration)

    def reconnect(self, integration, when, user=None):
        with moment(when):
            return integration_finish(integration=self._fresh(integration), user=user or self.user)

    def delete(self, integration, when, user=None):
        with moment(when):
            return integration_delete(integration=self._fresh(integration), user=user or self.user)

    @staticmethod
    def _fresh(integration):
        return Integration.objects.get(pk=integration.pk)


@pytest.fixture
def timeline(customer, admin_user):
    return Timeline(customer, admin_user)


@pytest.fixture
def other_timeline(other_tenant):
    """Tenant B, with a customer whose code is the same as tenant A's on purpose."""
    def make(code: str):
        customer = CustomerFactory(tenant=other_tenant, code=code, name="Their Brand")
        return Timeline(customer, UserFactory(tenant=other_tenant, role="tenant_admin"))
    return make
