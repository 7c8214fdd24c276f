"""The REST API for warehouse systems. Thin: check the input, resolve ids in the caller's scope, call a
service, answer with the object as the selectors read it back.

Every write runs in one transaction (`transaction.atomic` on each write handler), so a request that
fails half way, on input or in a service, writes nothing.
"""

from __future__ import annotations

from functools import cached_property

from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from .. import selectors
from ..errors import NotFound
from ..models import Consignment, Customer, OutboundOrder, Product, StockLevel, Warehouse
from ..services import (
    AddressData,
    AlternativeCode,
    LineSpec,
    PackageSpec,
    StockCount,
    consignment_add_tracking,
    consignment_create,
    outbound_order_allocate,
    outbound_order_cancel,
    outbound_order_create,
    outbound_order_dispatch,
    outbound_order_mark_packed,
    outbound_order_mark_picked,
    outbound_order_reject,
    product_create,
    stock_levels_set_on_hand,
)
from ..hooks import order_notices
from . import serializers as s
from .authentication import ApiKeyPrincipal
from .idempotency import IDEMPOTENCY_HEADER, idempotent
from .parsers import BoundedJSONParser
from .schema import ID_PATTERN
from .permissions import HasTenantScope, scope_for_request

# --- documentation helpers ------------------------------------------------------------------------

_ERR_401 = OpenApiResponse(s.ErrorSerializer, description="No key, an unknown or revoked key, or a malformed "
                                                           "Authorization header.")
_ERR_403 = OpenApiResponse(s.ErrorSerializer, description="A customer user may not do this, or the login "
                                                           "belongs to no warehouse operator.")
_ERR_404 = OpenApiResponse(s.ErrorSerializer, description="Not found in your tenant (or your customer).")
_ERR_400 = OpenApiResponse(s.ErrorSerializer, description="Invalid input; nothing was written.")
_ERR_409 = OpenApiResponse(s.ErrorSerializer,
                           description="Not possible in the object's current state (e.g. dispatching a "
                                       "draft) or not enough stock; nothing was written.")
_ERR_404_CURSOR = OpenApiResponse(s.ErrorSerializer, description="The `cursor` is not one this API gave out.")
_ERR_413 = OpenApiResponse(s.ErrorSerializer, description="The request body is over the size limit.")
_ERR_429 = OpenApiResponse(s.ErrorSerializer, description="Too many failed API keys from this address; "
                                                           "wait `Retry-After` seconds.")
_ERR_503 = OpenApiResponse(s.ErrorSerializer, description="Another request changed the same rows at the "
                                                           "same moment; nothing was written. Retry.")
_READ_ERRORS = {401: _ERR_401, 403: _ERR_403, 429: _ERR_429}
_LIST_ERRORS = {400: _ERR_400, 404: _ERR_404_CURSOR, **_READ_ERRORS}
_CREATE_ERRORS = {400: _ERR_400, 401: _ERR_401, 403: _ERR_403, 409: _ERR_409, 413: _ERR_413, 429: _ERR_429,
                  503: _ERR_503}
_WRITE_ERRORS = {**_CREATE_ERRORS, 404: _ERR_404}


# --- permissions ----------------------------------------------------------------------------------

class WarehouseWrites(BasePermission):
    """Customer users (browser sessions) may read, and run only the write actions a view lists in
    `customer_user_actions` (their own products and orders). Stock counts and the floor's work (allocate,
    pick, pack, dispatch, reject, consignments) belong to the warehouse: API keys and tenant admins."""

    message = "A customer user may not do this; it is done by the warehouse."

    @staticmethod
    def is_warehouse(user) -> bool:
        return isinstance(user, ApiKeyPrincipal) or user.is_tenant_admin

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS or self.is_warehouse(request.user):
            return True
        return view.action in view.customer_user_actions


# --- base -----------------------------------------------------------------------------------------

class ScopedViewSet(viewsets.GenericViewSet):
    """Reads go through the selectors with the caller's scope; `queryset` only names the model for the
    schema generator and is never read."""

    permission_classes = [HasTenantScope, WarehouseWrites]
    parser_classes = [BoundedJSONParser]      # nested bodies (lines, packages) have no form encoding
    lookup_value_regex = ID_PATTERN       # ASCII digits only: int() would also read "١" as 1
    customer_user_actions: frozenset[str] = frozenset()

    @cached_property
    def scope(self) -> selectors.Scope:
        return scope_for_request(self.request)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["scope"] = self.scope
        return context

    def object_id(self, what: str) -> int:
        pk = self.kwargs["pk"]
        if not (pk.isascii() and pk.isdigit()):
            raise NotFound(f"{what} not found.")
        return int(pk)

    def valid(self, serializer_class, data) -> dict:
        serializer = serializer_class(data=data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def page(self, queryset) -> Response:
        rows = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer_class()(rows, many=True).data)


# --- customers and warehouses ---------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List customers",
                       responses={200: s.CustomerSerializer(many=True), **_LIST_ERRORS}),
    retrieve=extend_schema(summary="Get a customer", responses={200: s.CustomerSerializer, 404: _ERR_404,
                                                                 **_READ_ERRORS}),
)
class CustomerViewSet(ScopedViewSet):
    queryset = Customer.objects.none()
    serializer_class = s.CustomerSerializer

    def _warehouses(self) -> Prefetch:
        return Prefetch("warehouses", queryset=selectors.warehouse_list(scope=self.scope))

    def list(self, request):
        return self.page(selectors.customer_list_with_active_integrations(scope=self.scope)
                         .prefetch_related(self._warehouses()))

    def retrieve(self, request, pk=None):
        customer = (selectors.customer_list_with_active_integrations(scope=self.scope)
                    .filter(pk=self.object_id("Customer")).first())
        if customer is None:
            raise NotFound("Customer not found.")
        prefetch_related_objects([customer], self._warehouses())
        return Response(s.CustomerSerializer(customer).data)


@extend_schema_view(
    list=extend_schema(summary="List warehouses", responses={200: s.WarehouseSerializer(many=True),
                                                             **_LIST_ERRORS}),
    retrieve=extend_schema(summary="Get a warehouse", responses={200: s.WarehouseSerializer, 404: _ERR_404,
                                                                  **_READ_ERRORS}),
)
class WarehouseViewSet(ScopedViewSet):
    queryset = Warehouse.objects.none()
    serializer_class = s.WarehouseSerializer

    def list(self, request):
        return self.page(selectors.warehouse_list(scope=self.scope))

    def retrieve(self, request, pk=None):
        warehouse = selectors.warehouse_get(scope=self.scope, warehouse_id=self.object_id("Warehouse"))
        return Response(s.WarehouseSerializer(warehouse).data)


# --- products and stock ---------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List products", parameters=[s.ProductFilterSerializer],
                       responses={200: s.ProductSerializer(many=True), **_LIST_ERRORS}),
    retrieve=extend_schema(summary="Get a product", responses={200: s.ProductSerializer, 404: _ERR_404,
                                                                **_READ_ERRORS}),
    create=extend_schema(summary="Create a product", request=s.ProductCreateSerializer,
                         responses={201: s.ProductSerializer, **_CREATE_ERRORS}),
)
class ProductViewSet(ScopedViewSet):
    queryset = Product.objects.none()
    serializer_class = s.ProductSerializer
    customer_user_actions = frozenset({"create"})

    def list(self, request):
        filters = self.valid(s.ProductFilterSerializer, request.query_params)
        return self.page(selectors.product_list(scope=self.scope, **filters))

    def retrieve(self, request, pk=None):
        product = selectors.product_get(scope=self.scope, product_id=self.object_id("Product"))
        return Response(s.ProductSerializer(product).data)

    @transaction.atomic
    def create(self, request):
        data = self.valid(s.ProductCreateSerializer, request.data)
        product = product_create(
            tenant=self.scope.tenant, customer=data["customer"], code=data["code"], name=data["name"],
            alternative_codes=[AlternativeCode(**alt) for alt in data["alternative_codes"]])
        product = selectors.product_get(scope=self.scope, product_id=product.id)
        return Response(s.ProductSerializer(product).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="List stock levels", parameters=[s.StockLevelFilterSerializer],
                       responses={200: s.StockLevelSerializer(many=True), **_LIST_ERRORS}),
)
class StockLevelViewSet(ScopedViewSet):
    queryset = StockLevel.objects.none()
    serializer_class = s.StockLevelSerializer

    def list(self, request):
        filters = self.valid(s.StockLevelFilterSerializer, request.query_params)
        return self.page(selectors.stock_level_list(scope=self.scope, **filters))

    @extend_schema(
        summary="Set counted on-hand quantities",
        description="A stocktake: sets `on_hand` for each (product, warehouse), creating the stock level "
                    "if needed. All or nothing: one bad count writes none. A product is an id, or a "
                    "`product_code` with its `customer` id; a warehouse is an id (number) or a code "
                    "(string).",
        request=s.StockBulkSerializer, responses={200: s.StockBulkResponseSerializer, **_CREATE_ERRORS})
    @action(detail=False, methods=["post"])
    @transaction.atomic
    def bulk(self, request):
        data = self.valid(s.StockBulkSerializer, request.data)
        levels = stock_levels_set_on_hand(tenant=self.scope.tenant, counts=self._counts(data["counts"]))
        return Response({"stock_levels": s.StockLevelSerializer(levels, many=True).data})

    def _counts(self, items: list[dict]) -> list[StockCount]:
        """Resolves every count's product and warehouse in scope, with a few queries for the whole batch."""
        products = selectors.product_list(scope=self.scope)
        by_id = products.in_bulk([i["product"] for i in items if "product" in i])
        by_code = {(p.customer_id, p.code): p for p in products.filter(
            code__in=[i["product_code"] for i in items if "product_code" in i],
            customer_id__in=[i["customer"] for i in items if "customer" in i])}
        warehouses = selectors.warehouse_list(scope=self.scope)
        wh_refs = [i["warehouse"] for i in items]
        wh_by_id = warehouses.in_bulk([r for r in wh_refs if isinstance(r, int)])
        wh_codes = [r for r in wh_refs if isinstance(r, str)]
        wh_by_code = {w.code: w for w in warehouses.filter(code__in=wh_codes)}
        counts, errors = [], {}
        for i, item in enumerate(items):
            if "product" in item:
                product = by_id.get(item["product"])
                if product is None:
                    errors[f"counts[{i}].product"] = [f"Product {item['product']} not found."]
            else:
                product = by_code.get((item["customer"], item["product_code"]))
                if product is None:
                    errors[f"counts[{i}].product_code"] = [
                        f"Customer {item['customer']} has no product with code {item['product_code']}."]
            ref = item["warehouse"]
            warehouse = (wh_by_id if isinstance(ref, int) else wh_by_code).get(ref)
            if warehouse is None:
                errors[f"counts[{i}].warehouse"] = [f"Warehouse {ref} not found."]
            counts.append(StockCount(product=product, warehouse=warehouse, on_hand=item["on_hand"]))
        if errors:
            raise ValidationError(errors)
        return counts


# --- outbound orders ------------------------------------------------------------------------------

def _order_action(summary: str, description: str, request=None):
    return extend_schema(summary=summary, description=description, request=request,
                         responses={200: s.OutboundOrderSerializer, **_WRITE_ERRORS})


@extend_schema_view(
    list=extend_schema(
        summary="List outbound orders", parameters=[s.OutboundOrderFilterSerializer],
        description="Newest first. For a sync, pass `modified_since` and follow `next` to the end.",
        responses={200: s.OutboundOrderSerializer(many=True), **_LIST_ERRORS}),
    retrieve=extend_schema(summary="Get an outbound order", responses={200: s.OutboundOrderSerializer,
                                                                       404: _ERR_404, **_READ_ERRORS}),
    create=extend_schema(
        summary="Create an outbound order",
        description="Lines name a product by id or by `product_code` (the customer's SKU). With "
                    "`allocate: true` the stock is reserved at once; if it is short nothing is created "
                    "(409). A second order with the same reference for the customer is refused (409) "
                    "unless `allow_duplicate_reference` is true. Send an `Idempotency-Key` header to retry "
                    "safely: a retry with the same key and body gets the first answer again, the same key "
                    "with another body a 409.",
        request=s.OutboundOrderCreateSerializer, parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.OutboundOrderSerializer, **_CREATE_ERRORS}),
)
class OutboundOrderViewSet(ScopedViewSet):
    queryset = OutboundOrder.objects.none()
    serializer_class = s.OutboundOrderSerializer
    customer_user_actions = frozenset({"create", "cancel"})

    def _get(self) -> OutboundOrder:
        return selectors.outbound_order_get(scope=self.scope, order_id=self.object_id("Order"))

    def _answer(self, order: OutboundOrder, status_code=status.HTTP_200_OK) -> Response:
        order = selectors.outbound_order_get(scope=self.scope, order_id=order.id)   # as it is now
        return Response(s.OutboundOrderSerializer(order).data, status=status_code)

    def list(self, request):
        filters = self.valid(s.OutboundOrderFilterSerializer, request.query_params)
        orders = selectors.outbound_order_list(scope=self.scope, **filters).select_related(
            "delivery_address").prefetch_related("lines__product",
                                                 "consignments__packages__lines__order_line__product")
        return self.page(orders)

    def retrieve(self, request, pk=None):
        return Response(s.OutboundOrderSerializer(self._get()).data)

    def create(self, request):
        return idempotent(request, self.scope, self._create)

    @transaction.atomic
    def _create(self, request):
        data = self.valid(s.OutboundOrderCreateSerializer, request.data)
        if data["allocate"] and not WarehouseWrites.is_warehouse(request.user):
            raise PermissionDenied("A customer user may not allocate stock; the warehouse allocates the order.")
        address = data["delivery_address"]
        order = outbound_order_create(
            tenant=self.scope.tenant, customer=data["customer"], warehouse=data["warehouse"],
            reference=data["reference"], shipping_method=data["shipping_method"],
            required_collection_date=data["required_collection_date"],
            required_delivery_date=data["required_delivery_date"],
            delivery_address=AddressData(**address) if address is not None else None,
            lines=[LineSpec(product=line["product"], quantity=line["quantity"],
                            external_line_id=line["external_line_id"]) for line in data["lines"]],
            source="api", allocate=data["allocate"],
            allow_duplicate_reference=data["allow_duplicate_reference"])
        return self._answer(order, status.HTTP_201_CREATED)

    @_order_action("Allocate", "Reserves the stock: draft → awaiting pick.")
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def allocate(self, request, pk=None):
        return self._answer(outbound_order_allocate(order=self._get()))

    @_order_action("Mark picked", "awaiting pick → picked.")
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def pick(self, request, pk=None):
        return self._answer(outbound_order_mark_picked(order=self._get()))

    @_order_action("Mark packed", "awaiting pick or picked → packed.")
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def pack(self, request, pk=None):
        return self._answer(outbound_order_mark_packed(order=self._get()))

    @_order_action(
        "Dispatch",
        "Ships an allocated order: its stock leaves on hand and allocated, and the marketplace is told. "
        "With an empty body the order's existing consignment is used; with a `carrier` (and optionally "
        "packages) that consignment is created first, in the same transaction. `warnings` says what will not "
        "reach the marketplace and why (packages without tracking, an integration that is off).",
        request=s.DispatchSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    @transaction.atomic
    def dispatch_order(self, request, pk=None):    # not `dispatch`: that is APIView's request entry point
        order = self._get()
        data = self.valid(s.DispatchSerializer, request.data)
        consignment = None
        if "carrier" in data:
            consignment = consignment_create(
                order=order, carrier=data["carrier"], service=data["service"],
                delivery_run_date=data["delivery_run_date"],
                packages=package_specs(order, data.get("packages")),
                allow_duplicate_tracking=data["allow_duplicate_tracking"])
        order = outbound_order_dispatch(order=order, consignment=consignment)
        order = selectors.outbound_order_get(scope=self.scope, order_id=order.id)
        # After commit the confirmation is queued; what will NOT reach the marketplace is known now.
        return Response(s.OutboundOrderSerializer(order, context={"warnings": order_notices(order)}).data)

    @_order_action("Reject", "The warehouse refuses the order; allocated stock is released.",
                   request=s.ReasonSerializer)
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def reject(self, request, pk=None):
        order = self._get()
        data = self.valid(s.ReasonSerializer, request.data)
        return self._answer(outbound_order_reject(order=order, reason=data["reason"]))

    @_order_action("Cancel", "The customer withdrew the order; allocated stock is released.",
                   request=s.ReasonSerializer)
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def cancel(self, request, pk=None):
        order = self._get()
        data = self.valid(s.ReasonSerializer, request.data)
        return self._answer(outbound_order_cancel(order=order, reason=data["reason"]))


def package_specs(order: OutboundOrder, packages: list[dict] | None) -> list[PackageSpec]:
    """Packages as the service takes them; line ids are looked up among this order's lines only."""
    if packages is None:
        return [PackageSpec()]      # one package holding the whole order
    lines = {line.id: line for line in order.lines.all()}
    specs = []
    for i, package in enumerate(packages):
        contents = []
        for j, item in enumerate(package["lines"]):
            line = lines.get(item["line"])
            if line is None:
                raise s.invalid(f"packages[{i}].lines[{j}].line",
                                f"Line {item['line']} is not on order {order.reference}.")
            contents.append((line, item["quantity"]))
        specs.append(PackageSpec(tracking_number=package["tracking_number"], lines=tuple(contents)))
    return specs


# --- consignments ---------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(summary="List consignments", parameters=[s.ConsignmentFilterSerializer],
                       responses={200: s.ConsignmentSerializer(many=True), **_LIST_ERRORS}),
    retrieve=extend_schema(summary="Get a consignment",
                           responses={200: s.ConsignmentSerializer, 404: _ERR_404, **_READ_ERRORS}),
    create=extend_schema(
        summary="Create a consignment",
        description="For an open order: carrier, service, delivery run date and packages, each with its "
                    "tracking number (may follow later) and the order lines inside it. Packages left out: "
                    "one package holding the whole order.",
        request=s.ConsignmentCreateSerializer, responses={201: s.ConsignmentSerializer, **_CREATE_ERRORS}),
)
class ConsignmentViewSet(ScopedViewSet):
    queryset = Consignment.objects.none()
    serializer_class = s.ConsignmentSerializer

    def _get(self) -> Consignment:
        return selectors.consignment_get(scope=self.scope, consignment_id=self.object_id("Consignment"))

    def _consignments(self, **filters):
        return selectors.consignment_list(scope=self.scope, **filters).prefetch_related(
            "packages__lines__order_line__product")

    def _answer(self, consignment: Consignment, status_code=status.HTTP_200_OK) -> Response:
        consignment = self._consignments().get(pk=consignment.pk)
        return Response(s.ConsignmentSerializer(consignment).data, status=status_code)

    def list(self, request):
        filters = self.valid(s.ConsignmentFilterSerializer, request.query_params)
        return self.page(self._consignments(**filters))

    def retrieve(self, request, pk=None):
        consignment = self._get()
        return self._answer(consignment)

    @transaction.atomic
    def create(self, request):
        data = self.valid(s.ConsignmentCreateSerializer, request.data)
        order = selectors.outbound_order_get(scope=self.scope, order_id=data["order"].id)
        consignment = consignment_create(
            order=order, carrier=data["carrier"], service=data["service"],
            delivery_run_date=data["delivery_run_date"], packages=package_specs(order, data.get("packages")),
            allow_duplicate_tracking=data["allow_duplicate_tracking"])
        return self._answer(consignment, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Add tracking numbers",
        description="Sets tracking numbers on packages that have none yet. A number once set is not changed: "
                    "the marketplace may already have been told it.",
        request=s.TrackingSerializer, responses={200: s.ConsignmentSerializer, **_WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def tracking(self, request, pk=None):
        consignment = self._get()
        data = self.valid(s.TrackingSerializer, request.data)
        consignment = consignment_add_tracking(
            consignment=consignment, tracking={p["id"]: p["tracking_number"] for p in data["packages"]})
        return self._answer(consignment)
