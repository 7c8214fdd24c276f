from django.contrib import admin

from warehouse.admin import TenantScopedAdmin

from .models import PurgeRun


@admin.register(PurgeRun)
class PurgeRunAdmin(TenantScopedAdmin):
    """The purge's record: counts only. Read-only; the job writes it."""

    list_display = ("started_at", "tenant", "dry_run", "eligible", "cleared", "kept")
    list_filter = ("dry_run",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
