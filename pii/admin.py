from django.contrib import admin

from warehouse.admin import RecordAdmin

from .models import PurgeRun


@admin.register(PurgeRun)
class PurgeRunAdmin(RecordAdmin):
    """The purge's record: counts only. Read-only; the job writes it."""

    list_display = ("started_at", "tenant", "dry_run", "eligible", "cleared", "kept")
    list_filter = ("dry_run",)
