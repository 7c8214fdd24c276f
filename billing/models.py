"""The billing history: one row per change that starts, pauses or ends an integration's life.

Append-only. Rows are written by the integration services in the same transaction as the change and
are never updated: the model, its queryset and the admin refuse it, and a database trigger refuses an
UPDATE from anywhere else. A row keeps what the statement needs (integration id, name, marketplace,
customer, who created the integration) so it still reads right after the integration is deleted.
"""

from __future__ import annotations

from django.db import models


class AppendOnlyError(Exception):
    """Someone tried to change or delete a billing history row."""


class IntegrationEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The billing history is append-only.")

    def delete(self):
        raise AppendOnlyError("The billing history is append-only.")


class IntegrationEvent(models.Model):
    class Kind(models.TextChoices):
        ACTIVATED = "activated", "Activated"
        TURNED_OFF = "turned_off", "Turned off"
        TURNED_ON = "turned_on", "Turned on"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
        RECONNECTED = "reconnected", "Reconnected"
        DISCONNECTED = "disconnected", "Disconnected"
        DELETED = "deleted", "Deleted"

    class Actor(models.TextChoices):
        ADMIN = "admin", "Warehouse admin"
        CUSTOMER_USER = "customer_user", "Customer user"
        SYSTEM = "system", "System"

    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="+")
    # No database constraint and no cascade: the history outlives the integration and the customer.
    integration = models.ForeignKey("integrations.Integration", on_delete=models.DO_NOTHING, db_constraint=False,
                                    related_name="+")
    customer = models.ForeignKey("warehouse.Customer", on_delete=models.DO_NOTHING, db_constraint=False,
                                 related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.CharField(max_length=20, choices=Actor.choices)
    actor_user = models.ForeignKey("warehouse.User", null=True, blank=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True)

    # What the integration was at the time, for statements read after it is gone.
    integration_name = models.CharField(max_length=100)
    marketplace = models.CharField(max_length=20)
    customer_code = models.CharField(max_length=40)
    customer_name = models.CharField(max_length=200)
    created_by_username = models.CharField(max_length=150, blank=True)
    created_by_role = models.CharField(max_length=20, blank=True)

    objects = IntegrationEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["tenant", "integration", "kind", "at"], name="billing_event_lookup")]

    def __str__(self) -> str:
        return f"{self.integration_name}: {self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M} UTC"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("The billing history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The billing history is append-only.")
