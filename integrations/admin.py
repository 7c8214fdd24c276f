"""Integrations in the Django admin, for support staff: read-mostly, scoped to the admin's tenant,
and never showing a token. Setup and changes go through the wizard, which checks what the admin can't."""

from django.contrib import admin

from warehouse.admin import ReadOnlyTenantAdmin

from . import models


@admin.register(models.Integration)
class IntegrationAdmin(ReadOnlyTenantAdmin):
    list_display = ("name", "customer", "marketplace", "status", "account_id", "last_import_at")
    list_filter = ("marketplace", "status")
    search_fields = ("name", "account_id", "shop_name")
    exclude = ("refresh_token", "access_token", "tenant")


@admin.register(models.ConnectionLogEntry)
class ConnectionLogEntryAdmin(ReadOnlyTenantAdmin):
    tenant_path = "integration__tenant"
    list_display = ("created_at", "integration", "level", "marketplace_order_id", "message")
    list_filter = ("level",)
    search_fields = ("marketplace_order_id", "message")


@admin.register(models.ImportedOrder)
class ImportedOrderAdmin(ReadOnlyTenantAdmin):
    tenant_path = "integration__tenant"
    list_display = ("marketplace_order_id", "integration", "order", "created_at", "marketplace_cancelled_at")
    search_fields = ("marketplace_order_id",)


@admin.register(models.PackageConfirmation)
class PackageConfirmationAdmin(ReadOnlyTenantAdmin):
    tenant_path = "integration__tenant"
    list_display = ("tracking_number", "integration", "state", "attempts", "confirmed_at", "last_error")
    list_filter = ("state",)
