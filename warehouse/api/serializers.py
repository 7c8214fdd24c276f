"""The shapes of the API's requests and responses.

Serializers check shape and types only. Ids in a request are resolved through the tenant-scoped
selectors (`ScopedPrimaryKeyField`), so another tenant's id, or another customer's for a customer
user, reads as "not found" and is never used. The work itself is done by the services.
"""

from __future__ import annotations

import re

from django.utils.text import capfirst
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import selectors
from ..errors import NotFound
from ..models import (
    Address,
    Consignment,
    Customer,
    OutboundOrder,
    OutboundOrderLine,
    Package,
    PackageLine,
    Product,
    ProductAlternativeCode,
    StockLevel,
    Warehouse,
)


def invalid(path: str, message: str) -> serializers.ValidationError:
    """A validation error on one field of a nested request, named by its path: `lines[2].product_code`."""
    return serializers.ValidationError({path: [message]})


# --- fields ---------------------------------------------------------------------------------------

class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id looked up through a tenant-scoped selector, with the caller's scope from the context."""

    def __init__(self, model, *, selector, **kwargs):
        self.selector = selector
        # The queryset only tells the schema generator the model; lookups use get_queryset().
        super().__init__(queryset=model._default_manager.none(), **kwargs)
        name = capfirst(model._meta.verbose_name)
        self.error_messages["does_not_exist"] = f"{name} {{pk_value}} not found."

    def get_queryset(self):
        return self.selector(scope=self.context["scope"])


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}],
                      "description": "An id (a number) or a code (a string)."})
class IdOrCodeField(serializers.Field):
    """A JSON number is an id, a JSON string is a code ("01" is a code, not id 1)."""

    default_error_messages = {"invalid": "Give an id (a number) or a code (a string)."}

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        if isinstance(data, str) and data.strip():
            return data.strip()
        self.fail("invalid")

    def to_representation(self, value):
        return value


class ModifiedSinceField(serializers.DateTimeField):
    default_error_messages = {
        "invalid": "Not an ISO-8601 date and time; use e.g. 2025-01-31T09:00:00Z or "
                   "2025-01-31T19:00:00+10:00.",
    }

    def to_internal_value(self, value):
        # An unescaped "+10:00" in a query string arrives as " 10:00"; read it as the client meant it.
        if isinstance(value, str):
            value = re.sub(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", r"\1+\2", value.strip())
        return super().to_internal_value(value)


# --- errors (documentation only: warehouse.api.errors builds them) --------------------------------

class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. invalid, not_found, not_authenticated, invalid_transition, "
                                           "insufficient_stock")
    message = serializers.CharField(help_text="What is wrong, written for a person.")
    fields = serializers.DictField(required=False, help_text="Per field (a path such as `lines[0].product` "
                                                             "for nested input): a list of messages.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- customers and warehouses ---------------------------------------------------------------------

class CustomerSerializer(serializers.ModelSerializer):
    warehouses = serializers.PrimaryKeyRelatedField(many=True, read_only=True,
                                                    help_text="Ids of the warehouses this customer may use.")
    active_integrations = serializers.IntegerField(
        read_only=True, help_text="How many of the customer's marketplace integrations are active (live) now.")

    class Meta:
        model = Customer
        fields = ["id", "code", "name", "email", "phone", "warehouses", "active_integrations"]


class WarehouseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "street_address", "city", "state", "postcode", "country", "timezone"]


# --- products and stock ---------------------------------------------------------------------------

class AlternativeCodeSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(max_length=20, required=False, allow_blank=True, default="",
                                 help_text="e.g. ASIN, GTIN")

    class Meta:
        model = ProductAlternativeCode
        fields = ["code", "kind"]


class ProductSerializer(serializers.ModelSerializer):
    alternative_codes = AlternativeCodeSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = ["id", "customer", "code", "name", "alternative_codes", "created_at"]


class ProductCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyField(Customer, selector=selectors.customer_list)
    code = serializers.CharField(max_length=100,
                                 help_text="The SKU the marketplaces use; unique per customer.")
    name = serializers.CharField(max_length=300)
    alternative_codes = AlternativeCodeSerializer(many=True, required=False, default=list, max_length=50)


class BlankIsNoFilter:
    """An empty text filter (`?code=`) means no filter, as the schema says (no minLength)."""

    def validate(self, attrs):
        return {k: v for k, v in super().validate(attrs).items() if v != ""}


class ProductFilterSerializer(BlankIsNoFilter, serializers.Serializer):
    customer = ScopedPrimaryKeyField(Customer, selector=selectors.customer_list, required=False)
    code = serializers.CharField(required=False, allow_blank=True, help_text="Exact product code (SKU).")


class StockLevelSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code", read_only=True)
    customer = serializers.IntegerField(source="product.customer_id", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    available = serializers.IntegerField(read_only=True, help_text="on_hand − allocated")

    class Meta:
        model = StockLevel
        fields = ["id", "product", "product_code", "customer", "warehouse", "warehouse_code", "on_hand",
                  "allocated", "available", "updated_at"]


class StockLevelFilterSerializer(BlankIsNoFilter, serializers.Serializer):
    warehouse = ScopedPrimaryKeyField(Warehouse, selector=selectors.warehouse_list, required=False)
    customer = ScopedPrimaryKeyField(Customer, selector=selectors.customer_list, required=False)
    product_code = serializers.CharField(required=False, allow_blank=True, help_text="Exact product code (SKU).")


class StockCountSerializer(serializers.Serializer):
    product = serializers.IntegerField(required=False,
                                       help_text="Product id; or give product_code and customer.")
    product_code = serializers.CharField(required=False, max_length=100)
    customer = serializers.IntegerField(required=False, help_text="Customer id, with product_code.")
    warehouse = IdOrCodeField()
    on_hand = serializers.IntegerField(min_value=0, max_value=2_000_000_000)

    schema_rules = {"oneOf": [
        {"required": ["product"], "not": {"anyOf": [{"required": ["product_code"]}, {"required": ["customer"]}]}},
        {"required": ["product_code", "customer"], "not": {"required": ["product"]}},
    ]}

    def validate(self, attrs):
        if "product" in attrs and ("product_code" in attrs or "customer" in attrs):
            raise serializers.ValidationError("Give product, or product_code and customer, not both.")
        if "product" not in attrs and not ("product_code" in attrs and "customer" in attrs):
            raise serializers.ValidationError("Give product (an id), or product_code and customer.")
        return attrs


class StockBulkSerializer(serializers.Serializer):
    counts = StockCountSerializer(many=True, allow_empty=False, max_length=1000)


class StockBulkResponseSerializer(serializers.Serializer):
    stock_levels = StockLevelSerializer(many=True)


# --- outbound orders and consignments -------------------------------------------------------------

class AddressSerializer(serializers.ModelSerializer):
    # Declared rather than derived: the model stores these encrypted (as text), the API speaks plain values.
    contact_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    street_address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    street_address_2 = serializers.CharField(max_length=300, required=False, allow_blank=True)
    telephone = serializers.CharField(max_length=60, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                        min_value=-90, max_value=90)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                         min_value=-180, max_value=180)
    personal_data_notice = serializers.SerializerMethodField(
        help_text='"Personal data removed on YYYY-MM-DD" once the purge has cleared the personal fields '
                  "(they are then empty for good); otherwise empty.")

    class Meta:
        model = Address
        fields = ["contact_name", "company_name", "street_address", "street_address_2", "city", "state",
                  "postcode", "country", "telephone", "email", "latitude", "longitude", "source",
                  "personal_data_purged_at", "personal_data_notice"]
        read_only_fields = ["source", "personal_data_purged_at"]

    def get_personal_data_notice(self, address) -> str:
        purged = getattr(address, "personal_data_purged_at", None)
        return f"Personal data removed on {purged.date().isoformat()}" if purged else ""


class OrderLineSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code", read_only=True)

    class Meta:
        model = OutboundOrderLine
        fields = ["id", "product", "product_code", "quantity", "external_line_id"]


class PackageLineSerializer(serializers.ModelSerializer):
    line = serializers.IntegerField(source="order_line_id", read_only=True, help_text="Order line id.")
    product_code = serializers.CharField(source="order_line.product.code", read_only=True)

    class Meta:
        model = PackageLine
        fields = ["line", "product_code", "quantity"]


class PackageSerializer(serializers.ModelSerializer):
    lines = PackageLineSerializer(many=True, read_only=True)

    class Meta:
        model = Package
        fields = ["id", "tracking_number", "lines"]


class ConsignmentSerializer(serializers.ModelSerializer):
    order_reference = serializers.CharField(source="order.reference", read_only=True)
    packages = PackageSerializer(many=True, read_only=True)

    class Meta:
        model = Consignment
        fields = ["id", "order", "order_reference", "carrier", "service", "delivery_run_date", "status",
                  "packages", "created_at", "updated_at"]


class OutboundOrderSerializer(serializers.ModelSerializer):
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    delivery_address = AddressSerializer(read_only=True, allow_null=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    consignments = ConsignmentSerializer(many=True, read_only=True)
    warnings = serializers.SerializerMethodField(
        help_text="Only in the answer to an action: what it could not do, e.g. packages dispatched without tracking "
                  "(nothing reaches the marketplace until tracking is added) or an integration that is off or "
                  "deleted (nothing is sent).")

    class Meta:
        model = OutboundOrder
        fields = ["id", "reference", "customer", "customer_code", "warehouse", "warehouse_code", "source",
                  "status", "status_reason", "shipping_method", "required_collection_date",
                  "required_delivery_date", "delivery_address", "lines", "consignments", "dispatched_at",
                  "created_at", "updated_at", "warnings"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, order) -> list[str]:
        return list(self.context.get("warnings", ()))


class OutboundOrderFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OutboundOrder.Status.choices, required=False)
    customer = ScopedPrimaryKeyField(Customer, selector=selectors.customer_list, required=False)
    warehouse = ScopedPrimaryKeyField(Warehouse, selector=selectors.warehouse_list, required=False)
    modified_since = ModifiedSinceField(required=False, help_text="ISO-8601; orders changed at or after it.")


class OrderLineInputSerializer(serializers.Serializer):
    product = ScopedPrimaryKeyField(Product, selector=selectors.product_list, required=False)
    product_code = serializers.CharField(required=False, max_length=100, help_text="Instead of product.")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    external_line_id = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")

    schema_rules = {"oneOf": [{"required": ["product"]}, {"required": ["product_code"]}]}

    def validate(self, attrs):
        if ("product" in attrs) == ("product_code" in attrs):
            raise serializers.ValidationError("Give product (an id) or product_code, one of them.")
        return attrs


class OutboundOrderCreateSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyField(Customer, selector=selectors.customer_list)
    warehouse = ScopedPrimaryKeyField(Warehouse, selector=selectors.warehouse_list)
    reference = serializers.CharField(max_length=100)
    shipping_method = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    required_collection_date = serializers.DateField(required=False, allow_null=True, default=None)
    required_delivery_date = serializers.DateField(required=False, allow_null=True, default=None)
    delivery_address = AddressSerializer(required=False, allow_null=True, default=None)
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=500)
    allocate = serializers.BooleanField(default=False, help_text="Reserve the stock now (draft → awaiting "
                                                                 "pick); refused whole if stock is short. "
                                                                 "Not for customer users (403).")
    allow_duplicate_reference = serializers.BooleanField(
        default=False, help_text="Create the order even if the customer already has one with this reference "
                                 "(otherwise 409).")

    def validate(self, attrs):
        for i, line in enumerate(attrs["lines"]):
            if "product_code" in line:
                try:
                    line["product"] = selectors.product_get_by_code(
                        scope=self.context["scope"], customer=attrs["customer"],
                        code=line.pop("product_code"))
                except NotFound as exc:
                    raise invalid(f"lines[{i}].product_code", exc.message) from None
        return attrs


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PackageLineInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Order line id.")
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class PackageInputSerializer(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    lines = PackageLineInputSerializer(many=True, required=False, default=list, max_length=500,
                                       help_text="May be left out with a single package: it holds the "
                                                 "whole order.")


class ConsignmentFieldsSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=100)
    service = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    delivery_run_date = serializers.DateField(required=False, allow_null=True, default=None)
    packages = PackageInputSerializer(many=True, allow_empty=False, max_length=200, required=False,
                                      help_text="Left out: one package holding the whole order.")
    allow_duplicate_tracking = serializers.BooleanField(
        default=False, help_text="The same tracking number on two packages is refused unless this is true.")


class ConsignmentCreateSerializer(ConsignmentFieldsSerializer):
    order = ScopedPrimaryKeyField(OutboundOrder, selector=selectors.outbound_order_list)


class DispatchSerializer(ConsignmentFieldsSerializer):
    """Empty: dispatch with the order's consignment. With a carrier: create this consignment, then
    dispatch."""

    carrier = serializers.CharField(max_length=100, required=False)

    def validate(self, attrs):
        if "carrier" not in attrs and ("packages" in attrs or attrs["service"] or attrs["delivery_run_date"]):
            raise invalid("carrier", "A consignment given with the dispatch needs a carrier.")
        return attrs


class ConsignmentFilterSerializer(serializers.Serializer):
    order = ScopedPrimaryKeyField(OutboundOrder, selector=selectors.outbound_order_list, required=False)


class TrackingItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Package id.")
    tracking_number = serializers.CharField(max_length=100)


class TrackingSerializer(serializers.Serializer):
    packages = TrackingItemSerializer(many=True, allow_empty=False, max_length=200)

    def validate_packages(self, packages):
        ids = [p["id"] for p in packages]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("A package is listed twice.")
        return packages
