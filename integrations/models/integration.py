from __future__ import annotations

from django.db import models
from django.db.models import Q

from config.fields import EncryptedTextField


class Integration(models.Model):
    """One customer's connection to one marketplace account."""

    class Marketplace(models.TextChoices):
        AMAZON = "amazon", "Amazon"
        ETSY = "etsy", "Etsy"

    class Status(models.TextChoices):
        SETUP = "setup", "Being set up"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Turned off"
        ERROR = "error", "Needs reconnecting"
        DELETED = "deleted", "Deleted"

    class MatchBy(models.TextChoices):
        SKU = "sku", "Seller SKU = product code"
        ALTERNATIVE_CODE = "alternative_code", "ASIN = a product's alternative code"

    class OrdersApi(models.TextChoices):
        V0 = "v0", "Orders API v0 (routes by supply source)"
        V2026 = "2026-01-01", "Orders API v2026-01-01 (default warehouse only)"

    INVENTORY_FREQUENCIES = [(30, "Every 30 minutes"), (60, "Every hour"), (720, "Every 12 hours"),
                             (1440, "Every 24 hours")]
    SYNCING_STATUSES = (Status.ACTIVE,)

    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="integrations")
    customer = models.ForeignKey("warehouse.Customer", on_delete=models.CASCADE, related_name="integrations")
    marketplace = models.CharField(max_length=20, choices=Marketplace.choices)
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SETUP, db_index=True)
    status_message = models.CharField(max_length=500, blank=True)

    # Connection (step 2)
    marketplace_id = models.CharField(max_length=20, blank=True, help_text="Amazon marketplace id")
    account_id = models.CharField(max_length=100, blank=True, help_text="Amazon selling partner id / Etsy user id")
    shop_id = models.CharField(max_length=40, blank=True)
    shop_name = models.CharField(max_length=200, blank=True)
    refresh_token = EncryptedTextField(blank=True)
    access_token = EncryptedTextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)

    # Order creation (step 3)
    default_warehouse = models.ForeignKey("warehouse.Warehouse", null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+")
    match_by = models.CharField(max_length=20, choices=MatchBy.choices, default=MatchBy.SKU)
    orders_api = models.CharField(max_length=20, choices=OrdersApi.choices, default=OrdersApi.V0)
    shipping_method_map = models.JSONField(default=dict, blank=True,
                                           help_text="Marketplace service level → the outbound order's shipping method")
    carrier_map = models.JSONField(default=dict, blank=True,
                                   help_text="Our carrier name → the marketplace's carrier code")

    # Fulfilment (step 4)
    fulfilment_enabled = models.BooleanField(default=True)

    # Stock levels
    inventory_enabled = models.BooleanField(default=False)
    inventory_frequency_minutes = models.PositiveIntegerField(choices=INVENTORY_FREQUENCIES, default=60)
    inventory_warehouses = models.ManyToManyField("warehouse.Warehouse", blank=True, related_name="+")
    inventory_last_run_at = models.DateTimeField(null=True, blank=True)
    # Etsy listings the hub turned inactive because the warehouse has none of their stock (turned
    # active again when stock returns); listings a seller turned off are never touched.
    inactive_listings = models.JSONField(default=list, blank=True)
    # The last "Export stock now": when, and which SKUs were accepted and refused (shown on the page).
    inventory_last_export = models.JSONField(default=dict, blank=True)

    # Push channel (Amazon ORDER_CHANGE over SQS, Etsy ORDER_PAID webhooks); polling stays the backstop.
    push_subscription_id = models.CharField(max_length=100, blank=True,
                                            help_text="Amazon Notifications subscription for ORDER_CHANGE")
    feed_subscription_id = models.CharField(max_length=100, blank=True,
                                            help_text="Amazon Notifications subscription for FEED_PROCESSING_FINISHED")
    push_enabled_at = models.DateTimeField(null=True, blank=True)
    push_last_event_at = models.DateTimeField(null=True, blank=True)

    # Sync state
    orders_watermark = models.DateTimeField(null=True, blank=True)
    # Etsy's daily quota is spent (a 429 with retry-after): not polled again before this.
    poll_not_before = models.DateTimeField(null=True, blank=True)
    last_import_at = models.DateTimeField(null=True, blank=True)
    wizard_step = models.PositiveSmallIntegerField(default=1)
    activated_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey("warehouse.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer__name", "marketplace", "name"]
        constraints = [
            # One live integration per marketplace account: a brand on Amazon AU and Amazon US (one seller,
            # two marketplaces) or with two Etsy shops has several. Not yet connected ones carry no account.
            models.UniqueConstraint(fields=["customer", "marketplace", "account_id", "marketplace_id", "shop_id"],
                                    condition=~Q(status="deleted") & ~Q(account_id=""),
                                    name="one_live_integration_per_marketplace_account"),
        ]

    def __str__(self) -> str:
        return f"{self.get_marketplace_display()} · {self.name}"

    @property
    def is_connected(self) -> bool:
        return bool(self.refresh_token and self.account_id)


class SupplySourceMapping(models.Model):
    """An Amazon supply source (a seller location) and the warehouse its orders go to."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="supply_sources")
    supply_source_id = models.CharField(max_length=100)
    code = models.CharField(max_length=200, blank=True)
    alias = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, blank=True)
    warehouse = models.ForeignKey("warehouse.Warehouse", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", help_text="Blank: the integration's default warehouse")
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["alias", "code"]
        constraints = [models.UniqueConstraint(fields=["integration", "supply_source_id"],
                                               name="one_mapping_per_supply_source")]

    @property
    def is_active(self) -> bool:
        return self.status == "Active"


class OAuthState(models.Model):
    """A pending Connect: single-use, bound to the user's session and to the integration, expiring."""

    state = models.CharField(max_length=64, unique=True)
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    # Who started Connect: a logged-in user, or a brand through an e-mailed setup link (no login).
    user = models.ForeignKey("warehouse.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    setup_link = models.ForeignKey("integrations.SetupLink", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    session_key_hash = models.CharField(max_length=64)
    code_verifier = EncryptedTextField(blank=True)
    marketplace_id = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
