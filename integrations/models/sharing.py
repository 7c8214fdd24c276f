from __future__ import annotations

from django.db import models


class SetupLink(models.Model):
    """A link e-mailed to a brand so it can complete Connect (the marketplace's consent) without a login.

    Only a SHA-256 of the token is stored. The link is good for one successful Connect of this one
    integration, until it expires or is revoked; it opens nothing else."""

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="setup_links")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey("warehouse.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True, help_text="when the brand completed Connect with it")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class AlertSettings(models.Model):
    """Who is e-mailed when an integration needs attention, per tenant."""

    tenant = models.OneToOneField("warehouse.Tenant", on_delete=models.CASCADE, related_name="alert_settings")
    recipients = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class AlertSent(models.Model):
    """The last alert e-mail per integration and reason: at most one an hour, by a conditional update."""

    class Reason(models.TextChoices):
        RECONNECT = "reconnect", "Needs reconnecting"
        IMPORT_FAILING = "import_failing", "Orders keep failing to import"
        CONFIRMATIONS_FAILING = "confirmations_failing", "Shipment confirmations keep failing"

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=30, choices=Reason.choices)
    last_sent_at = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "reason"], name="one_alert_row_per_reason")]
