from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class Tenant(models.Model):
    """A warehouse operator (3PL). Every tenant-owned row is reached through its tenant."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person. Tenant admins see their whole tenant; customer users see one customer only."""

    class Role(models.TextChoices):
        TENANT_ADMIN = "tenant_admin", "Tenant admin"
        CUSTOMER_USER = "customer_user", "Customer user"

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="users")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.TENANT_ADMIN)
    customer = models.ForeignKey("warehouse.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="users")
    # Granted by an admin: the customer user may run the integration wizard for its own customer.
    may_self_manage_integrations = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="customer_user_has_customer",
                condition=~Q(role="customer_user") | Q(customer__isnull=False),
            ),
        ]

    @property
    def is_tenant_admin(self) -> bool:
        return self.tenant_id is not None and self.role == self.Role.TENANT_ADMIN

    @property
    def is_customer_user(self) -> bool:
        return self.tenant_id is not None and self.role == self.Role.CUSTOMER_USER


class ApiKey(models.Model):
    """A tenant's key for warehouse systems. Only a SHA-256 of the secret is stored."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Revocation is one-way: api_key_revoke sets these once and nothing clears them.
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """The first answer to a create sent with an `Idempotency-Key` header, replayed for a retry with the
    same key and body. Keys belong to the caller (an API key or a login) within its tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    principal = models.CharField(max_length=40, help_text="api-key:<id> or user:<id>")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request: method, path and body.")
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "principal", "key"],
                                               name="one_answer_per_idempotency_key")]
