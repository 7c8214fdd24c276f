"""Django admin for every warehouse model, scoped to the signed-in admin's tenant.

Superusers without a tenant see everything (platform operators); tenant admins with staff access
see and create only their own tenant's rows, and foreign keys offer only their tenant's objects.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from . import models
from .services import api_key_create


def tenant_of(request):
    return None if request.user.is_superuser and request.user.tenant_id is None else request.user.tenant


def may_use_admin(request) -> bool:
    user = request.user
    return user.is_active and user.is_staff and (user.is_superuser or user.is_tenant_admin)


# The staff flag alone is not enough: only tenant admins and platform superusers use the admin, so a
# customer user who was given staff access by mistake still cannot get in.
admin.site.has_permission = may_use_admin


class TenantChoicesMixin:
    """Foreign key and many-to-many choices offer only the signed-in admin's tenant's objects."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        tenant = tenant_of(request)
        if tenant is not None:
            scoped = _scope_queryset(db_field.related_model, tenant)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        tenant = tenant_of(request)
        if tenant is not None:
            scoped = _scope_queryset(db_field.related_model, tenant)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TenantScopedAdmin(TenantChoicesMixin, admin.ModelAdmin):
    """Rows are filtered through `tenant_path` (e.g. "tenant" or "order__tenant").

    Tenant admins with staff access manage everything in their own tenant, without per-model
    Django permissions; customer users never get into the admin.
    """

    tenant_path = "tenant"

    def has_module_permission(self, request):
        return may_use_admin(request)

    def has_view_permission(self, request, obj=None):
        return may_use_admin(request)

    def has_add_permission(self, request):
        return may_use_admin(request)

    def has_change_permission(self, request, obj=None):
        return may_use_admin(request)

    def has_delete_permission(self, request, obj=None):
        return may_use_admin(request)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        tenant = tenant_of(request)
        return qs if tenant is None else qs.filter(**{self.tenant_path: tenant})

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        if tenant_of(request) is not None and self.tenant_path == "tenant":
            excluded.append("tenant")
        return excluded

    def save_model(self, request, obj, form, change):
        tenant = tenant_of(request)
        if tenant is not None and self.tenant_path == "tenant":
            obj.tenant = tenant
        super().save_model(request, obj, form, change)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        tenant = tenant_of(request)
        if tenant is None or self.tenant_path != "tenant":
            return form
        return type(form.__name__, (_TenantFormMixin, form), {"admin_tenant": tenant})


class _TenantFormMixin:
    """`tenant` is not on a tenant admin's form, so Django would skip the constraints that include it
    (a duplicate customer code would fail on insert with a 500). Set it first and validate them."""

    admin_tenant = None

    def _post_clean(self):
        self.instance.tenant = self.admin_tenant
        super()._post_clean()

    def _get_validation_exclusions(self):
        return super()._get_validation_exclusions() - {"tenant"}


class TenantScopedInline(TenantChoicesMixin, admin.TabularInline):
    """Inlines follow their parent: tenant admins need no per-model Django permissions to see them."""

    extra = 0

    def has_view_permission(self, request, obj=None):
        return may_use_admin(request)

    def has_add_permission(self, request, obj=None):
        return may_use_admin(request)

    def has_change_permission(self, request, obj=None):
        return may_use_admin(request)

    def has_delete_permission(self, request, obj=None):
        return may_use_admin(request)


def _scope_queryset(model, tenant):
    if model is models.Tenant:
        return models.Tenant.objects.filter(pk=tenant.pk)
    if any(f.name == "tenant" for f in model._meta.fields):
        return model.objects.filter(tenant=tenant)
    if model is models.OutboundOrderLine:
        return model.objects.filter(order__tenant=tenant)
    if model is models.Package:
        return model.objects.filter(consignment__tenant=tenant)
    return None


@admin.register(models.Tenant)
class TenantAdmin(TenantScopedAdmin):
    tenant_path = "pk"
    list_display = ("name", "slug", "created_at")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        tenant = tenant_of(request)
        qs = admin.ModelAdmin.get_queryset(self, request)    # a tenant is its own tenant
        return qs if tenant is None else qs.filter(pk=tenant.pk)

    def has_add_permission(self, request):
        return may_use_admin(request) and tenant_of(request) is None

    def has_delete_permission(self, request, obj=None):
        return may_use_admin(request) and tenant_of(request) is None


@admin.register(models.User)
class UserAdmin(TenantScopedAdmin, DjangoUserAdmin):
    list_display = ("username", "email", "role", "customer", "may_self_manage_integrations", "is_active")
    list_filter = ("role", "may_self_manage_integrations", "is_active")
    fieldsets = DjangoUserAdmin.fieldsets + (
        ("Warehouse operator", {"fields": ("tenant", "role", "customer", "may_self_manage_integrations")}),
    )
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (
        ("Warehouse operator", {"fields": ("tenant", "role", "customer", "may_self_manage_integrations")}),
    )

    def get_fieldsets(self, request, obj=None):
        sets = super().get_fieldsets(request, obj)
        if tenant_of(request) is None:
            return sets
        # Tenant admins never see or grant platform-wide flags.
        hidden = {"tenant", "is_superuser", "user_permissions", "groups"}
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]}) for name, opts in sets]

    def get_exclude(self, request, obj=None):
        return []


@admin.register(models.ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "created_by")
    fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at", "created_by")
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        tenant = tenant_of(request) or obj.tenant
        key, raw = api_key_create(tenant=tenant, name=obj.name, created_by=request.user)
        obj.pk = key.pk
        obj.__dict__.update(key.__dict__)
        messages.warning(request, f"Copy this API key now, it is not shown again: {raw}")

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if tenant_of(request) is None and obj is None:
            fields.insert(0, "tenant")
        return fields

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} key(s) revoked.")


@admin.register(models.Customer)
class CustomerAdmin(TenantScopedAdmin):
    list_display = ("code", "name", "email")
    search_fields = ("code", "name")
    filter_horizontal = ("warehouses",)


@admin.register(models.Warehouse)
class WarehouseAdmin(TenantScopedAdmin):
    list_display = ("code", "name", "city", "country", "timezone")


class AlternativeCodeInline(TenantScopedInline):
    model = models.ProductAlternativeCode


@admin.register(models.Product)
class ProductAdmin(TenantScopedAdmin):
    list_display = ("code", "name", "customer")
    list_filter = ("customer",)
    search_fields = ("code", "name")
    inlines = [AlternativeCodeInline]


@admin.register(models.StockLevel)
class StockLevelAdmin(TenantScopedAdmin):
    list_display = ("product", "warehouse", "on_hand", "allocated", "updated_at")
    list_filter = ("warehouse",)


@admin.register(models.Address)
class AddressAdmin(TenantScopedAdmin):
    list_display = ("id", "city", "country", "source", "is_active", "personal_data_purged_at")
    list_filter = ("source", "is_active", "hidden_from_search")
    # Personal fields are encrypted and never searchable; purged addresses are hidden from searches.
    search_fields = ("city", "postcode")
    readonly_fields = ("source", "is_active", "hidden_from_search", "personal_data_purged_at")

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            queryset = queryset.filter(hidden_from_search=False)
        return queryset, may_have_duplicates

    def has_change_permission(self, request, obj=None):
        # Purged is for good: nobody types the data back in.
        if obj is not None and obj.personal_data_purged_at is not None:
            return False
        return super().has_change_permission(request, obj)


class OrderLineInline(TenantScopedInline):
    model = models.OutboundOrderLine


@admin.register(models.OutboundOrder)
class OutboundOrderAdmin(TenantScopedAdmin):
    list_display = ("reference", "customer", "warehouse", "status", "source", "required_collection_date", "updated_at")
    list_filter = ("status", "source", "warehouse")
    search_fields = ("reference",)
    inlines = [OrderLineInline]
    readonly_fields = ("status", "dispatched_at")


class PackageLineInline(TenantScopedInline):
    model = models.PackageLine


@admin.register(models.Consignment)
class ConsignmentAdmin(TenantScopedAdmin):
    list_display = ("id", "order", "carrier", "service", "status", "updated_at")
    list_filter = ("status", "carrier")


@admin.register(models.Package)
class PackageAdmin(TenantScopedAdmin):
    tenant_path = "consignment__tenant"
    list_display = ("id", "consignment", "tracking_number")
    inlines = [PackageLineInline]
