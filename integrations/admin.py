"""Integrations in the Django admin, for support staff: read-mostly, scoped to the admin's tenant,
and never showing a token. Setup and changes go through the wizard, which checks what the admin can't."""

from django.contrib import admin

from warehouse.admin import TenantScopedAdmin

from . import models


class ReadOnlyAdmin(TenantScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.Integration)
class IntegrationAdmin(ReadOnlyAdmin):
    list_display = ("name", "customer", "marketplace", "status", "account_id", "last_import_at")
    list_filter = ("marketplace", "status")
    search_fields = ("name", "account_id", "shop_name")
    exclude = ("refresh_token", "access_token", "tenant")


@admin.register(models.ConnectionLogEntry)
class ConnectionLogEntryAdmin(ReadOnlyAdmin):
    tenant_path = "integration__tenant"
    list_display = ("created_at", "integration", "level", "marketplace_order_id", "message")
    list_filter = ("level",)
    search_fields = ("marketplace_order_id", "message")


@admin.register(models.ImportedOrder)
class ImportedOrderAdmin(ReadOnlyAdmin):
    tenant_path = "integration__tenant"
    list_display = ("marketplace_order_id", "integration", "order", "created_at", "marketplace_cancelled_at")
    search_fields = ("marketplace_order_id",)


@admin.register(models.PackageConfirmation)
class PackageConfirmationAdmin(ReadOnlyAdmin):
    tenant_path = "integration__tenant"
    list_display = ("tracking_number", "integration", "state", "attempts", "confirmed_at", "last_error")
    list_filter = ("state",)
