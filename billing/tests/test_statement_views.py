"""The statement page, its CSV and the API agree; only a tenant's admins and API keys see them; the
Customers page, the Integrations page and the customers API show the active-integration counts."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from billing.selectors import Month
from tests.factories import CustomerFactory
from warehouse.services import api_key_create

from .conftest import Timeline

pytestmark = pytest.mark.django_db
MONTH = "2026-03"


def keyed(tenant) -> APIClient:
    _, raw = api_key_create(tenant=tenant, name="billing tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def march(tenant, customer, admin_user, timeline, other_timeline):
    """Two customers with a month of comings and goings in March 2026, and tenant B alongside."""
    amazon = timeline.activate("2026-02-10 10:00", name="Amazon AU")
    timeline.off(amazon, "2026-03-04 10:00")
    etsy = timeline.activate("2026-03-05 10:00", marketplace="etsy", name="Etsy shop")
    timeline.revoke(etsy, "2026-03-09 10:00")
    timeline.delete(etsy, "2026-03-18 15:00")
    sibling = Timeline(CustomerFactory(tenant=tenant, code="SIB", name="Sibling Brand"), admin_user)
    brief = sibling.activate("2026-03-31 20:00", name="Brief")
    sibling.delete(brief, "2026-03-31 21:00")
    other_timeline("FOREIGN").activate("2026-03-01 00:00", name="Foreign shop")
    return {"amazon": amazon, "etsy": etsy, "brief": brief}


def page_figures(html: str) -> dict:
    """{code or '__total__': {field: int}} and {integration id: billable days} from the page."""
    customers = {}
    for code, row in re.findall(r'<tr data-code="([^"]+)">(.*?)</tr>', html, re.S):
        customers[code] = {f: int(v) for f, v in re.findall(r'data-field="(\w+)">(\d+)<', row)}
    lines = {int(i): int(d) for i, d in re.findall(
        r'<tr data-integration="(\d+)">.*?data-field="billable_days">(\d+)<', html, re.S)}
    return {"customers": customers, "lines": lines}


def api_figures(body: dict) -> dict:
    customers = {c["code"]: {k: c[k] for k in ("billable_integrations", "max_concurrent", "integration_days")}
                 for c in body["customers"]}
    customers["__total__"] = {k: body["totals"][k] for k in ("billable_integrations", "max_concurrent",
                                                             "integration_days")}
    lines = {i["id"]: i["billable_days"] for c in body["customers"] for i in c["integrations"]}
    return {"customers": customers, "lines": lines}


def csv_figures(text: str) -> dict:
    rows = list(csv.DictReader(io.StringIO(text)))
    customers = {r["customer_code"]: {"billable_integrations": int(r["customer_billable_integrations"]),
                                      "max_concurrent": int(r["customer_max_concurrent"]),
                                      "integration_days": int(r["customer_integration_days"])} for r in rows}
    lines = {int(r["integration_id"]): int(r["billable_days"]) for r in rows}
    assert {r["month"] for r in rows} == {MONTH}
    return {"customers": customers, "lines": lines}


def test_page_csv_and_api_agree(client, tenant, customer, admin_user, march):
    client.force_login(admin_user)
    page = client.get("/billing/", {"month": MONTH})
    assert page.status_code == 200
    html = page.content.decode()
    assert "billable from its first activation until it is deleted" in html      # the rule, stated
    download = client.get("/billing/statement.csv", {"month": MONTH})
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert f"billing-{tenant.slug}-{MONTH}.csv" in download["Content-Disposition"]
    api = client.get("/api/v1/billing/statements/", {"month": MONTH})
    assert api.status_code == 200
    body = api.json()
    assert body["month"] == MONTH and body["partial"] is False

    expected_lines = {march["amazon"].id: 31, march["etsy"].id: 14, march["brief"].id: 1}
    expected_customers = {
        customer.code: {"billable_integrations": 2, "max_concurrent": 2, "integration_days": 45},
        "SIB": {"billable_integrations": 1, "max_concurrent": 1, "integration_days": 1},
    }
    from_api = api_figures(body)
    assert from_api["lines"] == expected_lines
    assert from_api["customers"] == {**expected_customers, "__total__": {
        "billable_integrations": 3, "max_concurrent": 2, "integration_days": 46}}
    assert page_figures(html) == from_api
    from_csv = csv_figures(download.content.decode())
    assert from_csv["lines"] == expected_lines and from_csv["customers"] == expected_customers
    assert body["totals"]["customers"] == 2
    assert "FOREIGN" not in html and "Foreign shop" not in html + download.content.decode() + api.content.decode()

    etsy = next(i for c in body["customers"] for i in c["integrations"] if i["id"] == march["etsy"].id)
    assert etsy == {"id": march["etsy"].id, "name": "Etsy shop", "marketplace": "etsy",
                    "created_by": admin_user.username, "created_by_role": "admin",
                    "first_activated_at": "2026-03-05T10:00:00Z", "deleted_at": "2026-03-18T15:00:00Z",
                    "billable_from": "2026-03-05T10:00:00Z", "billable_until": "2026-03-18T15:00:00Z",
                    "billable_days": 14}


def test_the_tenants_api_key_reads_its_own_statement_only(tenant, other_tenant, customer, march):
    body = keyed(tenant).get("/api/v1/billing/statements/", {"month": MONTH}).json()
    assert {c["code"] for c in body["customers"]} == {customer.code, "SIB"}
    theirs = keyed(other_tenant).get("/api/v1/billing/statements/", {"month": MONTH}).json()
    assert [(c["code"], c["integration_days"]) for c in theirs["customers"]] == [("FOREIGN", 31)]


def test_without_a_month_it_is_this_month(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/api/v1/billing/statements/").json()["month"] == str(Month.current())
    assert f'value="{Month.current()}"' in client.get("/billing/").content.decode()


@pytest.mark.parametrize("month", ["2026-13", "2026-3", "March", "2026-03-01", "1999-12", "0000-01"])
def test_a_bad_month_is_a_clear_400(client, admin_user, march, month):
    client.force_login(admin_user)
    response = client.get("/api/v1/billing/statements/", {"month": month})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == ["month"]
    assert "YYYY-MM" in error["message"] or "between 2000-01 and 9998-12" in error["message"]
    page = client.get("/billing/", {"month": month})
    assert page.status_code == 400 and "errorlist" in page.content.decode()
    download = client.get("/billing/statement.csv", {"month": month})
    assert download.status_code == 400 and "month" in download.content.decode().lower()


def test_customer_users_see_none_of_it(client, tenant, customer, customer_user, admin_user, march):
    client.force_login(customer_user)
    assert client.get("/billing/", {"month": MONTH}).status_code == 403
    assert client.get("/billing/statement.csv", {"month": MONTH}).status_code == 403
    api = APIClient()
    api.force_login(customer_user)
    response = api.get("/api/v1/billing/statements/", {"month": MONTH})
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert 'href="/billing/"' not in client.get("/").content.decode()
    client.force_login(admin_user)
    assert 'href="/billing/"' in client.get("/").content.decode()


def test_logged_out_is_sent_to_log_in(client):
    assert client.get("/billing/")["Location"].startswith("/login/")
    assert APIClient().get("/api/v1/billing/statements/").status_code == 401


def test_the_schema_documents_the_statement(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/billing/statements/"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["month"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Statement")
    assert operation["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    statement = schema["components"]["schemas"]["Statement"]["properties"]
    assert {"month", "customers", "totals"} <= set(statement)
    customer = schema["components"]["schemas"]["StatementCustomer"]["properties"]
    assert {"customer", "code", "integrations", "billable_integrations", "max_concurrent",
            "integration_days"} <= set(customer)


def test_the_statement_schema_generates_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    from billing.api.urls import urlpatterns

    GENERATOR_STATS.reset()
    SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache, (
        dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache))


# --- the green dot and the count ------------------------------------------------------------------

@pytest.fixture
def live(tenant, customer, admin_user, timeline, other_timeline):
    """`customer`: two active integrations and a deleted one; a paused customer; tenant B's active one."""
    timeline.activate("2026-03-01 10:00", marketplace="amazon")
    timeline.delete(timeline.activate("2026-03-02 10:00", marketplace="etsy"), "2026-03-03 10:00")
    timeline.activate("2026-03-04 10:00", marketplace="etsy")
    paused = Timeline(CustomerFactory(tenant=tenant, code="PAUSED", name="Paused Brand"), admin_user)
    paused.off(paused.activate("2026-03-01 10:00"), "2026-03-02 10:00")
    other_timeline("THEIRS").activate("2026-03-01 10:00")
    return paused.customer


def test_customers_api_gives_active_integrations_without_a_query_per_row(tenant, customer, live):
    api = keyed(tenant)
    rows = {c["code"]: c["active_integrations"] for c in api.get("/api/v1/customers/").json()["results"]}
    assert rows == {customer.code: 2, "PAUSED": 0}
    assert api.get(f"/api/v1/customers/{customer.id}/").json()["active_integrations"] == 2

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/v1/customers/").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(8):
        CustomerFactory(tenant=tenant)
    assert queries() == few


def test_customers_and_integrations_pages_show_the_dot_and_count(client, customer, customer_user, admin_user,
                                                                  live):
    client.force_login(admin_user)
    for url in ("/customers/", "/integrations/"):
        html = client.get(url).content.decode()
        assert html.count('data-active-integrations="2"') >= 1 and "2 active integrations" in html
        assert 'data-active-integrations="0"' not in html and "THEIRS" not in html
    customers = client.get("/customers/").content.decode()
    paused_row = re.search(r"<tr>(?:(?!</tr>).)*Paused Brand(?:(?!</tr>).)*</tr>", customers, re.S).group(0)
    assert "active-integrations" not in paused_row
    client.force_login(customer_user)
    assert "2 active integrations" in client.get("/customers/").content.decode()


def test_an_empty_month_in_the_api_is_a_clear_400_not_a_guess(client, admin_user, march):
    client.force_login(admin_user)
    response = client.get("/api/v1/billing/statements/?month=")
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["month"] and "YYYY-MM" in error["message"]
