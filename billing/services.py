"""Writing the billing history. The integration services call `integration_event_record` inside the
transaction that changes the integration's status, so the history and the status never disagree."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from .models import IntegrationEvent

Kind = IntegrationEvent.Kind
Actor = IntegrationEvent.Actor


def actor_for(user) -> str:
    """Who did it: a tenant admin, a customer user, or the system (a task, no user)."""
    if user is None:
        return Actor.SYSTEM
    return Actor.CUSTOMER_USER if getattr(user, "is_customer_user", False) else Actor.ADMIN


def integration_event_record(*, integration, kind: str, from_status: str, user=None,
                             at: dt.datetime | None = None) -> IntegrationEvent:
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the change could commit without its record, or the record without the change.
        raise RuntimeError("Record a billing event in the same transaction as the integration's change.")
    if kind not in Kind.values:
        raise ValueError(f"Unknown billing event {kind!r}.")
    creator = integration.created_by
    customer = integration.customer
    return IntegrationEvent.objects.create(
        tenant_id=integration.tenant_id, integration_id=integration.id, customer_id=integration.customer_id,
        kind=kind, at=at or timezone.now(), from_status=from_status or "", to_status=integration.status,
        actor=actor_for(user), actor_user=user, actor_username=user.get_username() if user else "",
        integration_name=integration.name, marketplace=integration.marketplace,
        customer_code=customer.code, customer_name=customer.name,
        created_by_username=creator.get_username() if creator else "",
        created_by_role=actor_for(creator) if creator else "",
    )
