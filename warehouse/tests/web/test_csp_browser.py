"""Under the Content-Security-Policy the pages, the admin and Swagger UI (from the sidecar package) still work in
Chromium, and the browser reports no violation."""

import pytest

from tests.browser import log_in
from tests.factories import ProductFactory, StockLevelFactory, UserFactory, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch(page) -> list[str]:
    problems: list[str] = []
    def console(message):
        where = message.location.get("url") or ""
        if where.endswith("/favicon.ico"):      # no favicon yet: not what this test is about
            return
        if "Content Security Policy" in message.text or message.type == "error":
            problems.append(f"{page.url} {where}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def test_pages_admin_and_swagger_ui_work_under_the_csp(page, live_server, tenant, customer, warehouse):
    product = ProductFactory(customer=customer, code="MUG")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=5)
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(product, 1)], reference="CSP-1")
    staff = UserFactory(tenant=tenant, role="tenant_admin", is_staff=True)
    page.set_default_timeout(30_000)        # a busy shared machine
    problems = watch(page)
    log_in(page, live_server, staff)
    for path in ["/", "/orders/", f"/orders/{order.id}/", "/integrations/", "/admin/",
                 "/admin/warehouse/outboundorder/", f"/admin/warehouse/outboundorder/{order.id}/change/"]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
    page.goto(f"{live_server.url}/api/docs/")
    # Swagger UI ran its (file-served) start-up script, fetched the schema and drew the operations.
    page.locator(".swagger-ui .info .title").wait_for(timeout=20_000)
    assert "Integration hub warehouse API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-summary-path", has_text="/api/v1/outbound-orders/").first.wait_for()
    assert problems == [], problems
