"""Django admin for every warehouse model, scoped to the signed-in admin's tenant.

Superusers without a tenant see everything (platform operators); tenant admins with staff access
see and create only their own tenant's rows, and foreign keys offer only their tenant's objects.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path

from . import models
from .services import api_key_create, api_key_revoke


def tenant_of(request):
    return None if request.user.is_superuser and request.user.tenant_id is None else request.user.tenant


def may_use_admin(request) -> bool:
    user = request.user
    return user.is_active and user.is_staff and (user.is_superuser or user.is_tenant_admin)


# The staff flag alone is not enough: only tenant admins and platform superusers use the admin, so a
# customer user who was given staff access by mistake still cannot get in.
admin.site.has_permission = may_use_admin


def scoped_shortcut(request, content_type_id, object_id):
    """The admin's "view on site" redirect (/admin/r/<ct>/<id>/), answered only for objects the signed-in
    admin may see. Anything else is the same plain 404, so it never tells whether an object exists in
    another tenant."""
    content_type = ContentType.objects.filter(pk=content_type_id).first()
    model = content_type.model_class() if content_type else None
    model_admin = admin.site._registry.get(model)
    try:
        visible = model_admin is not None and model_admin.get_queryset(request).filter(pk=object_id).exists()
    except (ValueError, ValidationError):
        visible = False
    if not visible:
        raise Http404("Not found.")
    return shortcut(request, content_type_id, object_id)


def _admin_urls(get_urls):
    def urls():
        # Ahead of Django's own r/ route, which looks the object up in every tenant.
        return [path("r/<int:content_type_id>/<path:object_id>/", admin.site.admin_view(scoped_shortcut),
                     name="view_on_site"), *get_urls()]
    return urls


admin.site.get_urls = _admin_urls(admin.site.get_urls)


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

    def get_list_filter(self, request):
        """Filters on a related model ("By customer", "By warehouse") offer only the objects this admin's
        own rows point at; Django's default lists the whole table, every tenant's names included."""
        filters = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and "__" not in item and self.model._meta.get_field(item).is_relation:
                item = (item, admin.RelatedOnlyFieldListFilter)
            filters.append(item)
        return filters

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


class ReadOnlyTenantAdmin(TenantScopedAdmin):
    """Rows that services and jobs write: shown, never added or changed here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RecordAdmin(ReadOnlyTenantAdmin):
    """A record kept as written (a history, a job's runs): not deleted here either."""

    def has_delete_permission(self, request, obj=None):
        return False


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

    actions = ["unlock_login"]

    @admin.action(description="Unlock log-in (clear failed log-ins)")
    def unlock_login(self, request, queryset):
        # The queryset is this admin's own tenant's users only. Address lockouts are lifted by a platform
        # superuser (Axes → Access attempts) or lapse after LOGIN_LOCKOUT_MINUTES.
        from axes.utils import reset

        names = list(queryset.values_list("username", flat=True))
        for name in names:
            reset(username=name)
        self.message_user(request, f"{len(names)} log-in(s) unlocked.")


@admin.register(models.ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    """Revocation is one-way: only the Revoke action sets it (with who and when), and no form clears it."""

    list_display = ("name", "prefix", "created_at", "last_used_at", "revoked_at", "revoked_by")
    readonly_fields = ("prefix", "created_at", "last_used_at", "created_by", "revoked_at", "revoked_by")
    fields = ("name", "prefix", "created_at", "last_used_at", "created_by", "revoked_at", "revoked_by")
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
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(tenant=key.tenant, key=key, by=request.user)
            count += 1
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


class StockLevelForm(forms.ModelForm):
    def clean_on_hand(self):
        on_hand = self.cleaned_data["on_hand"]
        if on_hand < self.instance.allocated:
            raise ValidationError(f"{self.instance.allocated} are allocated to open orders; on hand cannot be "
                                  f"less.")
        return on_hand


@admin.register(models.StockLevel)
class StockLevelAdmin(TenantScopedAdmin):
    list_display = ("product", "warehouse", "on_hand", "allocated", "updated_at")
    list_filter = ("warehouse",)
    form = StockLevelForm
    # Allocations are made and released by the order services only.
    readonly_fields = ("allocated",)


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


def _lines_editable(order) -> bool:
    """Lines (and the customer and warehouse) change only while the order is a draft: once allocated, its
    stock is reserved line by line, and only the order services (cancel, reject, dispatch) move it."""
    return order is None or order.status == models.OutboundOrder.Status.DRAFT


class OrderLineInline(TenantScopedInline):
    model = models.OutboundOrderLine

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and _lines_editable(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _lines_editable(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and _lines_editable(obj)


@admin.register(models.OutboundOrder)
class OutboundOrderAdmin(TenantScopedAdmin):
    list_display = ("reference", "customer", "warehouse", "status", "source", "required_collection_date", "updated_at")
    list_filter = ("status", "source", "customer", "warehouse")
    search_fields = ("reference",)
    inlines = [OrderLineInline]
    readonly_fields = ("status", "dispatched_at")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if _lines_editable(obj) else [*fields, "customer", "warehouse"]

    def has_delete_permission(self, request, obj=None):
        # Deleting an order that holds stock would leave that stock allocated for good: cancel it instead.
        allocated = obj is not None and obj.status in models.OutboundOrder.ALLOCATED_STATUSES
        return super().has_delete_permission(request, obj) and not allocated

    def delete_queryset(self, request, queryset):
        held = queryset.filter(status__in=models.OutboundOrder.ALLOCATED_STATUSES)
        if held.exists():
            self.message_user(request, f"Not deleted: {', '.join(held.values_list('reference', flat=True))} "
                                       f"hold allocated stock; cancel them first.", messages.ERROR)
            queryset = queryset.exclude(pk__in=held.values("pk"))
        super().delete_queryset(request, queryset)


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
