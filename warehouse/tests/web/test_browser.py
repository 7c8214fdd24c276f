"""The pages in a real browser: headless Chromium (Playwright) against the live server on PostgreSQL.

Needs the fixtures in tests/browser.py (`-p tests.browser`).
"""

import pytest
from playwright.sync_api import expect

from tests.browser import log_in
from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, make_order
from warehouse.models import Consignment, StockLevel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_dispatches_an_order_with_two_packages(page, live_server, admin_user, customer, warehouse):
    mug = ProductFactory(customer=customer, code="MUG-1", name="Blue mug")
    tee = ProductFactory(customer=customer, code="TEE-1", name="Koala tee")
    StockLevelFactory(product=mug, warehouse=warehouse, on_hand=10)
    StockLevelFactory(product=tee, warehouse=warehouse, on_hand=5)
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 3), (tee, 2)],
                       reference="SO-WEB1", allocate=True)
    mug_line, tee_line = order.lines.all()

    log_in(page, live_server, admin_user)
    page.get_by_role("link", name="Outbound orders").click()
    page.get_by_role("link", name="SO-WEB1").click()
    expect(page.locator("#order-status")).to_have_text("Awaiting pick")

    dispatch = page.locator("#dispatch")
    dispatch.get_by_role("link", name="2", exact=True).click()
    expect(dispatch.get_by_label("Package 2 tracking number")).to_be_visible()
    dispatch.get_by_label("Carrier").fill("Australia Post")
    dispatch.get_by_label("Package 1 tracking number").fill("AP-111")
    dispatch.get_by_label("Package 2 tracking number").fill("AP-222")
    dispatch.get_by_label("MUG-1 in package 1").fill("2")
    dispatch.get_by_label("MUG-1 in package 2").fill("1")
    dispatch.get_by_label("TEE-1 in package 1").fill("0")
    dispatch.get_by_label("TEE-1 in package 2").fill("2")
    page.locator("#dispatch-submit").click()

    expect(page.locator("#order-status")).to_have_text("Dispatched")
    expect(page.locator(".msg.success")).to_have_text("Order SO-WEB1 dispatched with Australia Post.")
    expect(page.locator("td.tracking")).to_have_text(["AP-111", "AP-222"])
    expect(page.locator("#dispatch")).to_have_count(0)

    consignment = Consignment.objects.get(order=order)
    assert [(p.tracking_number, sorted((pl.order_line_id, pl.quantity) for pl in p.lines.all()))
            for p in consignment.packages.all()] == [
        ("AP-111", [(mug_line.id, 2)]), ("AP-222", sorted([(mug_line.id, 1), (tee_line.id, 2)]))]
    assert StockLevel.objects.get(product=mug).on_hand == 7
    assert StockLevel.objects.get(product=tee).on_hand == 3


def test_customer_user_sees_only_its_customers_orders(page, live_server, tenant, customer, warehouse,
                                                      customer_user):
    own = ProductFactory(customer=customer, code="OWN-SKU")
    StockLevelFactory(product=own, warehouse=warehouse, on_hand=5)
    make_order(customer=customer, warehouse=warehouse, products_qty=[(own, 1)], reference="SO-OWN",
               allocate=True)
    sibling = CustomerFactory(tenant=tenant, name="Sibling Brand")
    sibling.warehouses.add(warehouse)
    theirs = make_order(customer=sibling, warehouse=warehouse, reference="SO-SIBLING",
                        products_qty=[(ProductFactory(customer=sibling, code="SIB-SKU"), 1)])

    log_in(page, live_server, customer_user)
    expect(page.locator("h1")).to_have_text(customer.name)
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    page.get_by_role("link", name="Outbound orders").click()
    expect(page.locator("table.orders tbody a")).to_have_text(["SO-OWN"])
    expect(page.get_by_text("Sibling Brand")).to_have_count(0)

    page.get_by_role("link", name="SO-OWN").click()
    expect(page.locator("#order-status")).to_have_text("Awaiting pick")
    expect(page.get_by_role("button", name="Dispatch order")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel order")).to_have_count(0)

    response = page.goto(f"{live_server.url}/orders/{theirs.id}/")
    assert response.status == 404


def test_cancel_and_reject_ask_for_confirmation_first(page, live_server, admin_user, customer, warehouse):
    mug = ProductFactory(customer=customer, code="MUG-9")
    StockLevelFactory(product=mug, warehouse=warehouse, on_hand=10)
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(mug, 1)], reference="SO-ASK",
                       allocate=True)
    log_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/orders/{order.id}/")
    questions = []

    def answer(accept):
        def handler(dialog):
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return handler

    page.once("dialog", answer(False))
    page.get_by_role("button", name="Reject").click()
    page.once("dialog", answer(False))
    page.get_by_role("button", name="Cancel order").click()
    expect(page.locator("#order-status")).to_have_text("Awaiting pick")
    assert questions == ["Reject order SO-ASK? Its stock is released and the warehouse will not ship it.",
                         "Cancel order SO-ASK? Its stock is released; this cannot be undone."]
    order.refresh_from_db()
    assert order.status == "awaiting_pick"

    page.once("dialog", answer(True))
    page.get_by_role("button", name="Cancel order").click()
    expect(page.locator("#order-status")).to_have_text("Cancelled")
    order.refresh_from_db()
    assert order.status == "cancelled"
