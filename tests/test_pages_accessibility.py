"""Every page, as an admin and as a brand: axe-core finds no serious or critical WCAG violation, and on
a 375 px phone nothing but a table's own scroll box is wider than the screen (issue 17)."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from billing.services import integration_event_record
from integrations.models import ConnectionLogEntry, ImportRun, Integration, SetupLink, SupplySourceMapping
from integrations.services.setup_links import setup_link_create
from tests.browser import log_in
from tests.factories import ProductFactory, StockLevelFactory, make_order
from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Django's own admin site is not ours to restyle and is left out.
NO_HORIZONTAL_SCROLL = """() => {
  const doc = document.documentElement;
  // Anything that sticks out of the viewport and is not inside a table's own scroll box.
  const wide = [...document.querySelectorAll('body *')].filter(el => {
    if (el.closest('.table-scroll, .visually-hidden')) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > doc.clientWidth + 1;
  }).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && el.className.baseVal === undefined ? '.' + el.className : ''));
  return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, wide: wide.slice(0, 5)};
}"""


@pytest.fixture
def pages_data(tenant, customer, warehouse, admin_user, customer_user):
    """One of each kind of page's subject: open and dispatched orders, a connected Amazon integration
    with supply sources and log lines, and an Etsy integration still being set up."""
    mug = ProductFactory(customer=customer, code="MUG-1", name="Blue mug")
    StockLevelFactory(product=mug, warehouse=warehouse, on_hand=50)
    open_order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 2)], reference="SO-OPEN",
                            allocate=True)
    shipped = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 1)], reference="SO-SHIPPED",
                         allocate=True)
    consignment = consignment_create(order=shipped, carrier="Australia Post",
                                     packages=[PackageSpec(tracking_number="AP-1")])
    outbound_order_dispatch(order=shipped, consignment=consignment)
    amazon = Integration.objects.create(
        tenant=tenant, customer=customer, marketplace="amazon", name="Amazon AU", status="active",
        marketplace_id="A39IBJ37TRP1C6", account_id="A1SELLER", refresh_token="Atzr|x", default_warehouse=warehouse,
        connected_at=timezone.now(), activated_at=timezone.now(), wizard_step=5, last_import_at=timezone.now())
    with transaction.atomic():      # its billing history, so the statement page has a line
        integration_event_record(integration=amazon, kind="activated", from_status="setup", user=admin_user)
    SupplySourceMapping.objects.create(integration=amazon, supply_source_id="ss-1", code="SYD-1", alias="Sydney",
                                       status="Active")
    SupplySourceMapping.objects.create(integration=amazon, supply_source_id="ss-2", code="OLD-1", alias="Old",
                                       status="Inactive")
    ImportRun.objects.create(integration=amazon, kind="first_connect", state="running", found=5, imported=2, failed=1,
                             waiting_for_quota=2)
    ConnectionLogEntry.objects.create(integration=amazon, level="ERROR", event="orders_import.failed",
                                      message="Order 111-1 has SKU NOPE that no product has.")
    ConnectionLogEntry.objects.create(integration=amazon, level="INFO", event="orders_import.done",
                                      message="3 orders imported.")
    etsy = Integration.objects.create(tenant=tenant, customer=customer, marketplace="etsy", name="Etsy shop",
                                      wizard_step=2)
    _, token = setup_link_create(integration=etsy, email="owner@brand.example", user=admin_user)
    used, _ = setup_link_create(integration=etsy, email="old@brand.example", user=admin_user)
    SetupLink.objects.filter(pk=used.pk).update(used_at=timezone.now())
    return {"open": open_order, "shipped": shipped, "amazon": amazon, "etsy": etsy, "token": token}


def _admin_pages(d):
    a, e = d["amazon"].id, d["etsy"].id
    return ["/", "/customers/", "/orders/", f"/orders/{d['open'].id}/", f"/orders/{d['shipped'].id}/",
            "/consignments/", "/integrations/", f"/integrations/{a}/", f"/integrations/{a}/setup/1/",
            f"/integrations/{a}/setup/2/", f"/integrations/{a}/setup/3/", f"/integrations/{a}/setup/4/",
            f"/integrations/{e}/setup/2/", f"/integrations/{e}/", "/orders/999999/", "/billing/",
            "/billing/?month=2026-13", "/integrations/alerts/",
            f"/integrations/?customer={d['amazon'].customer_id}", "/orders/?source=amazon"]


def _public_pages(d):
    return ["/login/", f"/integrations/link/{d['token']}/", "/integrations/link/no-such-token/"]


def _brand_pages(d):
    return ["/", "/orders/", f"/orders/{d['open'].id}/", "/consignments/", "/integrations/",
            f"/integrations/{d['amazon'].id}/"]


def _serious(results) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def _check(browser, live_server, user, paths, *, viewport, axe=None):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = {}
    try:
        if user is not None:
            log_in(page, live_server, user)
        for path in paths:
            page.goto(f"{live_server.url}{path}", timeout=30_000)
            if axe is not None:
                found = _serious(axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS},
                                                        "resultTypes": ["violations"]}))
            else:
                found = page.evaluate(NO_HORIZONTAL_SCROLL)
                found = [] if found["scrollWidth"] <= found["clientWidth"] and not found["wide"] else [found]
            if found:
                problems[path] = found
    finally:
        context.close()
    return problems


def test_axe_finds_no_serious_violation_on_any_page(browser, live_server, admin_user, customer_user, pages_data):
    axe = Axe()
    problems = _check(browser, live_server, None, _public_pages(pages_data), viewport={"width": 1280, "height": 900},
                      axe=axe)
    problems |= _check(browser, live_server, admin_user, _admin_pages(pages_data),
                       viewport={"width": 1280, "height": 900}, axe=axe)
    # A brand sees the same templates with less in them: its dashboard and tiles are what differ.
    problems |= {f"brand {k}": v for k, v in _check(browser, live_server, customer_user, ["/", "/integrations/"],
                                                     viewport={"width": 1280, "height": 900}, axe=axe).items()}
    assert problems == {}


def test_no_page_scrolls_sideways_on_a_375px_phone(browser, live_server, admin_user, customer_user, pages_data):
    problems = _check(browser, live_server, None, _public_pages(pages_data), viewport=PHONE)
    problems |= _check(browser, live_server, admin_user, _admin_pages(pages_data), viewport=PHONE)
    problems |= {f"brand {k}": v for k, v in _check(browser, live_server, customer_user, _brand_pages(pages_data),
                                                     viewport=PHONE).items()}
    assert problems == {}


def test_phone_menu_collapses_behind_a_button_and_the_skip_link_leads_to_the_content(browser, live_server,
                                                                                      admin_user, pages_data):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, live_server, admin_user)
        nav = page.get_by_role("navigation", name="Main")
        menu = page.get_by_role("button", name="Menu")
        expect(nav).to_be_hidden()
        expect(menu).to_have_attribute("aria-expanded", "false")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(nav.get_by_role("link", name="Outbound orders")).to_be_visible()
        nav.get_by_role("link", name="Outbound orders").click()
        page.wait_for_url("**/orders/")
        # The dispatch form fits the phone: its fields are on screen and it can be filled in.
        page.get_by_role("link", name="SO-OPEN").click()
        carrier = page.locator("#dispatch").get_by_label("Carrier")
        carrier.fill("Australia Post")
        box = carrier.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

        page.reload()
        page.keyboard.press("Tab")          # the first stop on every page is the skip link
        skip = page.get_by_role("link", name="Skip to content")
        expect(skip).to_be_focused()
        expect(skip).to_be_visible()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
    finally:
        context.close()


def test_a_brand_sees_no_customers_menu(page, live_server, customer_user, admin_user, pages_data):
    log_in(page, live_server, customer_user)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Outbound orders")).to_be_visible()
    expect(nav.get_by_role("link", name="Customers")).to_have_count(0)
