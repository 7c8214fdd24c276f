"""The monthly statement for a tenant's admins: the page and its CSV. Customer users get a 403."""

from __future__ import annotations

import csv

from django.http import HttpResponse
from django.shortcuts import render

from warehouse.selectors import Scope
from warehouse.views import scoped, tenant_admin_only

from .forms import MonthForm
from .selectors import RULE, Statement, statement_for

CSV_HEADER = ["month", "customer_code", "customer", "integration_id", "integration", "marketplace", "created_by",
              "first_activated_utc", "deleted_utc", "billable_from_utc", "billable_until_utc", "billable_days",
              "customer_billable_integrations", "customer_max_concurrent", "customer_integration_days"]


def _iso(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def statement_csv_rows(statement: Statement) -> list[list]:
    """One row per billable integration, its customer's figures repeated on each of its rows."""
    rows = []
    for customer in statement.customers:
        for line in customer.integrations:
            rows.append([str(statement.month), customer.code, customer.customer, line.integration_id, line.name,
                         line.marketplace, line.created_by, _iso(line.first_activated_at), _iso(line.deleted_at),
                         _iso(line.billable_from), _iso(line.billable_until), line.billable_days,
                         customer.billable_integrations, customer.max_concurrent, customer.integration_days])
    return rows


@scoped
def statement_page(request, scope: Scope):
    tenant_admin_only(request)
    form = MonthForm(request.GET)
    if not form.is_valid():
        return render(request, "billing/statement.html", {"form": form, "statement": None, "rule": RULE},
                      status=400)
    month = form.cleaned_data["month"]
    statement = statement_for(tenant=scope.tenant, month=month)
    return render(request, "billing/statement.html", {"form": form, "statement": statement, "rule": RULE})


@scoped
def statement_csv(request, scope: Scope):
    tenant_admin_only(request)
    form = MonthForm(request.GET)
    if not form.is_valid():
        return HttpResponse(" ".join(form.errors["month"]) + "\n", status=400, content_type="text/plain")
    month = form.cleaned_data["month"]
    statement = statement_for(tenant=scope.tenant, month=month)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="billing-{scope.tenant.slug}-{month}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    writer.writerows(statement_csv_rows(statement))
    return response
