from __future__ import annotations

from django.db import models
from django.db.models import Q

from config.fields import EncryptedDecimalField, EncryptedTextField


class Address(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        AMAZON = "amazon", "Amazon"
        ETSY = "etsy", "Etsy"

    # The fields that hold personal data; a purge blanks exactly these.
    PERSONAL_FIELDS = ("contact_name", "company_name", "street_address", "street_address_2", "telephone",
                       "email", "latitude", "longitude")

    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="addresses")
    customer = models.ForeignKey("warehouse.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="addresses")
    # Personal fields are encrypted at rest (Amazon's Data Protection Policy); city, state, postcode and
    # country stay plain for search and reporting. Encrypted columns cannot be searched.
    contact_name = EncryptedTextField(max_length=200, blank=True)
    company_name = EncryptedTextField(max_length=200, blank=True)
    street_address = EncryptedTextField(max_length=300, blank=True)
    street_address_2 = EncryptedTextField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    telephone = EncryptedTextField(max_length=60, blank=True)
    email = EncryptedTextField(max_length=254, blank=True)
    latitude = EncryptedDecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = EncryptedDecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    is_active = models.BooleanField(default=True)
    hidden_from_search = models.BooleanField(default=False)
    personal_data_purged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "addresses"
        constraints = [
            # Purged means empty for good: no row can hold personal data once it is marked purged.
            models.CheckConstraint(
                name="purged_address_holds_no_personal_data",
                condition=Q(personal_data_purged_at__isnull=True) | Q(
                    contact_name="", company_name="", street_address="", street_address_2="", telephone="",
                    email="", latitude__isnull=True, longitude__isnull=True, is_active=False,
                    hidden_from_search=True)),
        ]
        indexes = [
            # The purge walks each tenant's not-yet-purged Amazon addresses in id order.
            models.Index(fields=["tenant", "id"], name="address_amazon_unpurged",
                         condition=Q(source="amazon", personal_data_purged_at__isnull=True)),
        ]

    def __str__(self) -> str:
        # No personal data in the string form: it ends up in logs and admin breadcrumbs.
        return f"Address #{self.pk} ({self.city or '?'}, {self.country or '?'})"


class OutboundOrder(models.Model):
    """A sale order the warehouse picks, packs and dispatches."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        AWAITING_PICK = "awaiting_pick", "Awaiting pick"
        PICKED = "picked", "Picked"
        PACKED = "packed", "Packed"
        DISPATCHED = "dispatched", "Dispatched"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATUSES = (Status.DRAFT, Status.AWAITING_PICK, Status.PICKED, Status.PACKED)
    ALLOCATED_STATUSES = (Status.AWAITING_PICK, Status.PICKED, Status.PACKED)

    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="outbound_orders")
    customer = models.ForeignKey("warehouse.Customer", on_delete=models.PROTECT, related_name="outbound_orders")
    warehouse = models.ForeignKey("warehouse.Warehouse", on_delete=models.PROTECT, related_name="outbound_orders")
    reference = models.CharField(max_length=100)
    source = models.CharField(max_length=20, default="manual",
                              help_text="Where the order came from: manual, api, or a marketplace key.")
    delivery_address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="outbound_orders")
    shipping_method = models.CharField(max_length=100, blank=True)
    required_collection_date = models.DateField(null=True, blank=True)
    required_delivery_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    status_reason = models.CharField(max_length=300, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The API's list pages by id, newest first, within a tenant (and a status): an index walk that
        # stops after one page, however many orders the tenant has.
        indexes = [models.Index(fields=["tenant", "status", "id"]), models.Index(fields=["tenant", "id"]),
                   models.Index(fields=["tenant", "updated_at", "id"])]

    def __str__(self) -> str:
        return self.reference


class OutboundOrderLine(models.Model):
    order = models.ForeignKey(OutboundOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("warehouse.Product", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    external_line_id = models.CharField(max_length=100, blank=True,
                                        help_text="The marketplace's id for this line, when imported.")

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(name="order_line_quantity_positive", condition=Q(quantity__gt=0))]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class Consignment(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISPATCHED = "dispatched", "Dispatched"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="consignments")
    order = models.ForeignKey(OutboundOrder, on_delete=models.CASCADE, related_name="consignments")
    carrier = models.CharField(max_length=100)
    service = models.CharField(max_length=100, blank=True)
    delivery_run_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Consignment {self.pk} ({self.carrier})"


class Package(models.Model):
    consignment = models.ForeignKey(Consignment, on_delete=models.CASCADE, related_name="packages")
    tracking_number = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Package {self.pk} {self.tracking_number}".strip()


class PackageLine(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OutboundOrderLine, on_delete=models.CASCADE, related_name="package_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [models.CheckConstraint(name="package_line_quantity_positive", condition=Q(quantity__gt=0))]
