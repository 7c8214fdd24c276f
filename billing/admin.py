"""The billing history in the Django admin: read-only, scoped to the admin's tenant."""

from django.contrib import admin

from warehouse.admin import RecordAdmin

from .models import IntegrationEvent


@admin.register(IntegrationEvent)
class IntegrationEventAdmin(RecordAdmin):
    list_display = ("at", "customer_name", "integration_name", "marketplace", "kind", "actor", "actor_username")
    list_filter = ("kind", "marketplace", "actor")
    search_fields = ("integration_name", "customer_name", "customer_code", "actor_username")
    date_hierarchy = "at"
    # The foreign keys are shown as ids: the integration, customer or user may since have been deleted.
    exclude = ("tenant", "integration", "customer", "actor_user")
    readonly_fields = ("integration_ref", "customer_ref")

    @admin.display(description="Integration id")
    def integration_ref(self, obj):
        return obj.integration_id

    @admin.display(description="Customer id")
    def customer_ref(self, obj):
        return obj.customer_id
