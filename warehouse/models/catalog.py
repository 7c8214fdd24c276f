from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone, e.g. Australia/Sydney")


class Customer(models.Model):
    """A brand whose stock the 3PL holds."""

    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="customers")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    warehouses = models.ManyToManyField("warehouse.Warehouse", blank=True, related_name="customers",
                                        help_text="Warehouses this customer's stock and orders may use.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="customer_code_unique_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Warehouse(models.Model):
    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="warehouses")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    street_address = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone],
                                help_text="IANA time zone; required dates are taken in it.")

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="warehouse_code_unique_per_tenant")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Product(models.Model):
    """A customer's product. `code` is the SKU the marketplaces use."""

    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="products")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="products")
    code = models.CharField(max_length=100)
    name = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["customer", "code"], name="product_code_unique_per_customer")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ProductAlternativeCode(models.Model):
    """Another code the product is known by, such as an Amazon ASIN."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="alternative_codes")
    code = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, blank=True, help_text="e.g. ASIN, GTIN")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "code"], name="alternative_code_unique")]

    def __str__(self) -> str:
        return self.code


class StockLevel(models.Model):
    """Stock of one product in one warehouse. Available = on hand − allocated."""

    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="stock_levels")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    allocated = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="one_stock_level_per_product_warehouse"),
            models.CheckConstraint(name="stock_on_hand_not_negative", condition=Q(on_hand__gte=0)),
            models.CheckConstraint(name="stock_allocated_not_negative", condition=Q(allocated__gte=0)),
            models.CheckConstraint(name="stock_allocated_within_on_hand", condition=Q(allocated__lte=F("on_hand"))),
        ]

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated
