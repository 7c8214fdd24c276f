from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class MonthQuerySerializer(serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", required=False,
                                   help_text="The month, YYYY-MM (UTC). This month if left out.",
                                   error_messages={"invalid": "Give the month as YYYY-MM, e.g. 2026-03."})


class StatementIntegrationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="integration_id")
    name = serializers.CharField()
    marketplace = serializers.CharField()
    created_by = serializers.CharField(help_text="Username of whoever created it; empty if unknown.")
    created_by_role = serializers.CharField(help_text="admin, customer_user, or empty if unknown.")
    first_activated_at = serializers.DateTimeField()
    deleted_at = serializers.DateTimeField(allow_null=True)
    billable_from = serializers.DateTimeField(help_text="Inside the month: its start or the first activation.")
    billable_until = serializers.DateTimeField(help_text="Exclusive: the deletion, the month's end, or now.")
    billable_days = serializers.IntegerField(help_text="Calendar days (UTC) of the month it was billable on.")


class StatementCustomerSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    customer = serializers.CharField(help_text="The customer's name.")
    code = serializers.CharField()
    integrations = StatementIntegrationSerializer(many=True)
    billable_integrations = serializers.IntegerField()
    max_concurrent = serializers.IntegerField(help_text="The most billable at the same moment in the month.")
    integration_days = serializers.IntegerField(help_text="The sum of its integrations' billable days.")


class StatementTotalsSerializer(serializers.Serializer):
    customers = serializers.IntegerField()
    billable_integrations = serializers.IntegerField()
    max_concurrent = serializers.IntegerField(help_text="The most billable at the same moment across the tenant.")
    integration_days = serializers.IntegerField()


class StatementSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    as_of = serializers.DateTimeField(help_text="Figures run up to this moment (the month's end once it is over).")
    partial = serializers.BooleanField(source="is_partial", help_text="True while the month is not over.")
    rule = serializers.CharField()
    customers = StatementCustomerSerializer(many=True)
    totals = serializers.SerializerMethodField()

    @extend_schema_field(StatementTotalsSerializer)
    def get_totals(self, statement) -> dict:
        return StatementTotalsSerializer({
            "customers": len(statement.customers), "billable_integrations": statement.billable_integrations,
            "max_concurrent": statement.max_concurrent, "integration_days": statement.integration_days}).data
