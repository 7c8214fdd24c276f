"""GET /api/v1/billing/statements/?month=YYYY-MM: the page's statement as JSON, for tenant API keys and
tenant admins. Customer users are refused (403)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from warehouse.api.authentication import ApiKeyPrincipal
from warehouse.api.permissions import HasTenantScope, scope_for_request
from warehouse.api.serializers import ErrorSerializer

from ..selectors import RULE, Month, statement_for
from . import serializers as s


class NotCustomerUser(BasePermission):
    message = "Billing is for the warehouse operator; a customer user may not see it."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ApiKeyPrincipal) or request.user.is_tenant_admin


class StatementView(APIView):
    permission_classes = [HasTenantScope, NotCustomerUser]

    @extend_schema(
        summary="Monthly billing statement",
        description="Per customer: each integration billable in the month, its billable days, the most billable "
                    "at once, and totals. " + RULE,
        parameters=[s.MonthQuerySerializer],
        responses={200: s.StatementSerializer,
                   400: OpenApiResponse(ErrorSerializer, description="The month is not YYYY-MM or out of range."),
                   401: OpenApiResponse(ErrorSerializer, description="No key or login."),
                   403: OpenApiResponse(ErrorSerializer, description="A customer user, or a login of no tenant.")},
    )
    def get(self, request):
        if request.query_params.get("month", None) == "":
            # `?month=` names no month: refuse it rather than guess (leave it out for this month).
            raise ValidationError({"month": ["Give the month as YYYY-MM, e.g. 2026-03, or leave it out."]})
        query = s.MonthQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        value = query.validated_data.get("month")
        try:
            month = Month.parse(value) if value else Month.current()
        except ValueError as exc:
            raise ValidationError({"month": [str(exc)]}) from None
        statement = statement_for(tenant=scope_for_request(request).tenant, month=month)
        return Response(s.StatementSerializer(statement).data)
