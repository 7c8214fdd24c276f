"""Charts and health (issue 17): each integration's imports and errors per day, the dashboard's orders per
marketplace, dispatch-to-confirmation delays and every integration's health; never another tenant's."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from integrations.models import ConnectionLogEntry, ImportedOrder, Integration, PackageConfirmation
from integrations.selectors import confirmation_delay_chart, integration_activity_chart
from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, TenantFactory, WarehouseFactory, make_order
from warehouse.charts import day_label
from warehouse.selectors import Scope
from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch

pytestmark = pytest.mark.django_db


def _table_row(html: str, chart: str, category: str) -> list[str]:
    figure = re.search(rf'<figure class="chart" id="chart-{chart}".*?</figure>', html, re.S).group(0)
    row = re.search(rf'<tr><th scope="row">{re.escape(category)}</th>(.*?)</tr>', figure).group(1)
    return re.findall(r"<td>(\d+)</td>", row)


def _integration(tenant, customer, marketplace="amazon", **kw):
    return Integration.objects.create(tenant=tenant, customer=customer, marketplace=marketplace, name=f"{marketplace} 1",
                                      status="active", account_id="A", refresh_token="x", **kw)


def _dispatched_link(integration, warehouse, ref, *, confirmed_after: dt.timedelta | None):
    product = ProductFactory(customer=integration.customer, code=f"SKU-{ref}")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=5)
    order = make_order(customer=integration.customer, warehouse=warehouse, products_qty=[(product, 1)], reference=ref,
                       allocate=True, source=integration.marketplace)
    link = ImportedOrder.objects.create(integration=integration, marketplace_order_id=ref, order=order)
    consignment = consignment_create(order=order, carrier="AusPost", packages=[PackageSpec(tracking_number=f"T-{ref}")])
    order = outbound_order_dispatch(order=order, consignment=consignment)
    if confirmed_after is not None:
        PackageConfirmation.objects.create(integration=integration, package=consignment.packages.get(),
                                           imported_order=link, state="confirmed", tracking_number=f"T-{ref}",
                                           confirmed_at=order.dispatched_at + confirmed_after)
    return link


def test_integration_page_charts_imports_and_errors_per_day(client, admin_user, tenant, customer, warehouse):
    integration = _integration(tenant, customer)
    links = [_dispatched_link(integration, warehouse, f"A-{n}", confirmed_after=None) for n in range(3)]
    ImportedOrder.objects.filter(pk=links[0].pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    ConnectionLogEntry.objects.create(integration=integration, level="ERROR", event="x", message="bad SKU")
    ConnectionLogEntry.objects.create(integration=integration, level="INFO", event="x", message="fine")
    client.force_login(admin_user)
    html = client.get(f"/integrations/{integration.id}/").content.decode()
    today, yesterday = timezone.localdate(), timezone.localdate() - dt.timedelta(days=1)
    slug = f"integration-{integration.id}-activity"
    assert _table_row(html, slug, day_label(today)) == ["2", "1"]
    assert _table_row(html, slug, day_label(yesterday)) == ["1", "0"]
    chart = integration_activity_chart(integration=integration)
    assert len(chart.categories) == 30 and len(chart.rects) == 3       # two import bars, one error bar
    assert html.count("<rect ") == 3


def test_dashboard_charts_orders_per_marketplace_and_confirmation_delays(client, admin_user, tenant, customer,
                                                                          warehouse):
    amazon = _integration(tenant, customer, "amazon", orders_watermark=timezone.now() - dt.timedelta(minutes=7),
                          last_import_at=timezone.now() - dt.timedelta(minutes=2))
    etsy = _integration(tenant, customer, "etsy")
    _dispatched_link(amazon, warehouse, "A-1", confirmed_after=dt.timedelta(seconds=20))
    _dispatched_link(amazon, warehouse, "A-2", confirmed_after=dt.timedelta(hours=2))
    _dispatched_link(etsy, warehouse, "E-1", confirmed_after=dt.timedelta(minutes=3))
    ConnectionLogEntry.objects.create(integration=etsy, level="ERROR", event="x", message="refused")
    # Another tenant's fast confirmation must not count.
    stranger = TenantFactory()
    their_wh = WarehouseFactory(tenant=stranger)
    their = _integration(stranger, CustomerFactory(tenant=stranger), "amazon")
    their.customer.warehouses.add(their_wh)
    _dispatched_link(their, their_wh, "X-1", confirmed_after=dt.timedelta(seconds=5))

    client.force_login(admin_user)
    html = client.get("/").content.decode()
    today = day_label(timezone.localdate())
    assert _table_row(html, "orders-per-source", today) == ["2", "1"]          # Amazon, Etsy
    assert ">Amazon</th>" in html and ">Etsy</th>" in html
    assert _table_row(html, "confirmation-delay", "under 1 min") == ["1"]
    assert _table_row(html, "confirmation-delay", "1–5 min") == ["1"]
    assert _table_row(html, "confirmation-delay", "1–4 h") == ["1"]
    health = re.search(r'<section class="card" aria-labelledby="health-title".*?</section>', html, re.S).group(0)
    assert "Amazon · amazon 1" in health and "Etsy · etsy 1" in health and "2\xa0minutes ago" in health
    assert "7\xa0minutes" in health and f'href="/integrations/{etsy.id}/?level=ERROR#log">1</a>' in health
    assert "X-1" not in html

    chart = confirmation_delay_chart(scope=Scope(tenant=stranger))
    assert chart.rows[0] == ("under 1 min", [1])


def test_brand_dashboard_counts_only_its_own_customer(client, tenant, customer, customer_user, warehouse):
    own = _integration(tenant, customer, "amazon")
    sibling = CustomerFactory(tenant=tenant, name="Sibling Brand")
    sibling.warehouses.add(warehouse)
    theirs = _integration(tenant, sibling, "etsy")
    _dispatched_link(own, warehouse, "A-1", confirmed_after=dt.timedelta(seconds=30))
    _dispatched_link(theirs, warehouse, "E-1", confirmed_after=dt.timedelta(seconds=30))
    client.force_login(customer_user)
    html = client.get("/").content.decode()
    assert _table_row(html, "orders-per-source", day_label(timezone.localdate())) == ["1"]
    assert _table_row(html, "confirmation-delay", "under 1 min") == ["1"]
    assert "Sibling" not in html and f"/integrations/{theirs.id}/" not in html
