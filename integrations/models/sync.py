from __future__ import annotations

from django.db import models


class ImportedOrder(models.Model):
    """The link from a marketplace order to the outbound order made from it: exactly one, by constraint."""

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="imported_orders")
    marketplace_order_id = models.CharField(max_length=64)
    order = models.OneToOneField("warehouse.OutboundOrder", on_delete=models.CASCADE, related_name="marketplace_link")
    supply_source_id = models.CharField(max_length=100, blank=True)
    marketplace_cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "marketplace_order_id"],
                                               name="one_outbound_order_per_marketplace_order")]


class PackageConfirmation(models.Model):
    """One shipment confirmation per (integration, package), written before the marketplace call."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed"

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="confirmations")
    package = models.ForeignKey("warehouse.Package", on_delete=models.CASCADE, related_name="+")
    imported_order = models.ForeignKey(ImportedOrder, on_delete=models.CASCADE, related_name="confirmations")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    tracking_number = models.CharField(max_length=100)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The last send's outcome is unknown (timeout, reset, 5xx): read the marketplace back before any resend.
    uncertain = models.BooleanField(default=False)
    # The last temporary failure written to the connection log: each reason is logged once.
    logged_reason = models.CharField(max_length=500, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "package"], name="one_confirmation_per_package")]


class InventoryPush(models.Model):
    """The last quantity the marketplace accepted for a SKU: only changes are pushed again."""

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="inventory")
    sku = models.CharField(max_length=100)
    quantity = models.IntegerField()
    pushed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "sku"], name="one_inventory_row_per_sku")]


class InventoryFeed(models.Model):
    """Stock levels sent in one Amazon JSON_LISTINGS_FEED whose processing report has not been read yet.

    Amazon processes a feed in minutes. Nobody waits for it: the FEED_PROCESSING_FINISHED notification
    (or, without one, a getFeed now and then) finishes it, and only then are the quantities recorded
    as accepted or refused. Until then they count as sent, so the next run does not send them again."""

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        EXPIRED = "expired", "No outcome"

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="inventory_feeds")
    feed_id = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROCESSING)
    # messageId -> SKU, as the processing report names messages; SKU -> quantity sent.
    messages = models.JSONField(default=dict)
    quantities = models.JSONField(default=dict)
    everything = models.BooleanField(default=False, help_text="Export stock now: every level, refused ones too")
    submitted_at = models.DateTimeField()
    next_check_at = models.DateTimeField()
    checks = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    accepted = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "feed_id"], name="one_row_per_feed")]
        indexes = [models.Index(fields=["status", "next_check_at"], name="inventory_feed_due")]


class InventoryRefusal(models.Model):
    """A SKU the marketplace refused (most often: it has no listing for it). It is not sent again on
    every run: only when its quantity changes, once a day, or on Export stock now."""

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE,
                                    related_name="inventory_refusals")
    sku = models.CharField(max_length=100)
    quantity = models.IntegerField()
    reason = models.CharField(max_length=500)
    first_refused_at = models.DateTimeField(auto_now_add=True)
    last_tried_at = models.DateTimeField()

    class Meta:
        ordering = ["sku"]
        constraints = [models.UniqueConstraint(fields=["integration", "sku"], name="one_refusal_per_sku")]


class ConnectionLogEntry(models.Model):
    """What a person reads to know what the sync did: never buyer names, addresses, phones or emails."""

    class Level(models.TextChoices):
        ERROR = "ERROR", "Error"
        INFO = "INFO", "Info"
        DEBUG = "DEBUG", "Debug"

    RETENTION_DAYS = 7

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="log")
    level = models.CharField(max_length=5, choices=Level.choices, db_index=True)
    event = models.CharField(max_length=60)
    message = models.CharField(max_length=1000)
    marketplace_order_id = models.CharField(max_length=64, blank=True)
    order = models.ForeignKey("warehouse.OutboundOrder", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "connection log entries"
        indexes = [models.Index(fields=["integration", "-created_at"])]


class PendingImport(models.Model):
    """A marketplace order that could not be imported yet (unknown SKU, bad data): retried by id on
    every poll until it imports or stops being importable, so the watermark can still move on."""

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="pending_imports")
    marketplace_order_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=1000)
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField(auto_now_add=True)
    last_tried_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "marketplace_order_id"],
                                               name="one_pending_import_per_order")]


class PushDelivery(models.Model):
    """A push event id already received (Etsy's webhook-id): a repeat of it changes nothing."""

    source = models.CharField(max_length=20)
    event_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "event_id"], name="one_push_delivery_per_event")]
