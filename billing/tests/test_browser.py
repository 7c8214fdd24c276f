"""The dots and the statement in headless Chromium against the live server: the month picker, the CSV
the page offers and the API the same login reads all say the same."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.browser import log_in
from tests.factories import CustomerFactory

from .conftest import Timeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sees_dots_and_a_statement_that_matches_its_csv_and_the_api(page, live_server, tenant, customer,
                                                                         admin_user, timeline):
    amazon = timeline.activate("2026-02-10 10:00", name="Amazon AU")
    etsy = timeline.activate("2026-03-05 10:00", marketplace="etsy", name="Etsy shop")
    timeline.delete(etsy, "2026-03-18 15:00")
    quiet = Timeline(CustomerFactory(tenant=tenant, code="QUIET", name="Quiet Brand"), admin_user)
    quiet.off(quiet.activate("2026-03-01 00:00", name="Quiet Amazon"), "2026-03-02 00:00")

    log_in(page, live_server, admin_user)
    page.get_by_role("link", name="Customers").click()
    row = page.locator("tr", has_text=customer.name)
    expect(row.locator(".active-integrations")).to_have_text("1 active integration")
    expect(row.locator(".active-integrations .dot")).to_be_visible()
    assert row.locator(".active-integrations .dot").evaluate("e => getComputedStyle(e).backgroundColor") \
        == "rgb(17, 99, 41)"      # green: var(--ok), #116329
    expect(page.locator("tr", has_text="Quiet Brand").locator(".active-integrations")).to_have_count(0)
    page.get_by_role("link", name="Integrations").click()
    expect(page.locator("tr", has_text="Amazon AU").locator(".active-integrations")).to_have_text(
        "1 active integration")

    page.get_by_role("link", name="Billing").click()
    expect(page.locator("#billing-rule")).to_contain_text("billable from its first activation until it is deleted")
    page.get_by_label("Month").fill("2026-03")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_have_text("Billing statement · March 2026")
    ours = page.locator(f'#statement-customers tr[data-code="{customer.code}"]')
    expect(ours.locator("[data-field=billable_integrations]")).to_have_text("2")
    expect(ours.locator("[data-field=max_concurrent]")).to_have_text("2")
    expect(ours.locator("[data-field=integration_days]")).to_have_text("45")     # 31 + 14
    expect(page.locator("#total-days")).to_have_text("76")                       # and Quiet's 31
    shown = {int(r.get_attribute("data-integration")): int(r.locator("[data-field=billable_days]").inner_text())
             for r in page.locator("#statement-integrations tbody tr").all()}

    with page.expect_download() as download:
        page.locator("#csv-download").click()
    with open(download.value.path(), encoding="utf-8") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert download.value.suggested_filename == f"billing-{tenant.slug}-2026-03.csv"
    assert {int(r["integration_id"]): int(r["billable_days"]) for r in rows} == shown
    body = page.request.get(f"{live_server.url}/api/v1/billing/statements/?month=2026-03").json()
    assert {i["id"]: i["billable_days"] for c in body["customers"] for i in c["integrations"]} == shown
    assert shown[amazon.id] == 31 and shown[etsy.id] == 14
    assert body["totals"]["integration_days"] == 76


def test_a_customer_user_has_no_billing_link_and_is_refused(page, live_server, customer_user):
    log_in(page, live_server, customer_user)
    expect(page.get_by_role("link", name="Integrations")).to_be_visible()
    expect(page.get_by_role("link", name="Billing")).to_have_count(0)
    response = page.goto(f"{live_server.url}/billing/")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.request.get(f"{live_server.url}/api/v1/billing/statements/").status == 403
