"""`make run`'s demo data gives the statement and the dots something to show."""

import calendar

import pytest
from django.core.management import call_command

from billing.models import IntegrationEvent
from billing.selectors import Month, statement_for
from integrations.models import Integration
from warehouse.models import Tenant
from warehouse.selectors import Scope, customer_list_with_active_integrations

pytestmark = pytest.mark.django_db


def test_seed_billing_demo_fills_last_months_statement_once():
    call_command("seed_demo")
    call_command("seed_billing_demo")
    call_command("seed_billing_demo")          # idempotent
    tenant = Tenant.objects.get(slug="harbour")
    names = ["Amazon US", "Etsy (first shop)", "Amazon AU (old account)", "Etsy pop-up"]
    assert Integration.objects.filter(tenant=tenant, name__in=names).count() == 4
    assert IntegrationEvent.objects.filter(tenant=tenant, integration_name__in=names).count() == 10
    last = Month.current().previous()
    statement = statement_for(tenant=tenant, month=last)
    days_in_last = calendar.monthrange(last.year, last.month)[1]
    assert {c.code: (c.billable_integrations, c.max_concurrent, c.integration_days)
            for c in statement.customers} == {
        "KOALA": (2, 2, 28 + 1),
        "PACIFIC": (2, 2, (days_in_last - 9) + 24),
    }
    counts = {c.code: c.active_integrations
              for c in customer_list_with_active_integrations(scope=Scope(tenant=tenant))}
    assert counts == {"KOALA": 0, "PACIFIC": 1}
    this_month = statement_for(tenant=tenant, month=Month.current())
    assert [(c.code, [i.name for i in c.integrations]) for c in this_month.customers] == [("PACIFIC", ["Amazon US"])]
