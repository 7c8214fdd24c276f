"""The outbound order list filtered by marketplace and by integration (issue 17), within the viewer's scope."""

from __future__ import annotations

import pytest

from integrations.models import ImportedOrder, Integration
from tests.factories import CustomerFactory, ProductFactory, TenantFactory, UserFactory, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(tenant, customer, warehouse):
    sku = ProductFactory(customer=customer, code="MUG-1")
    amazon = Integration.objects.create(tenant=tenant, customer=customer, marketplace="amazon", name="Amazon AU")
    etsy = Integration.objects.create(tenant=tenant, customer=customer, marketplace="etsy", name="Etsy shop")
    made = {}
    for ref, integration in (("AMZ-1", amazon), ("ETSY-1", etsy), ("MAN-1", None)):
        order = make_order(customer=customer, warehouse=warehouse, products_qty=[(sku, 1)], reference=ref,
                           source=integration.marketplace if integration else "manual")
        if integration:
            ImportedOrder.objects.create(integration=integration, marketplace_order_id=ref, order=order)
        made[ref] = order
    sibling = CustomerFactory(tenant=tenant, name="Sibling Brand")
    sibling.warehouses.add(warehouse)
    theirs = Integration.objects.create(tenant=tenant, customer=sibling, marketplace="etsy", name="Sibling Etsy")
    order = make_order(customer=sibling, warehouse=warehouse, reference="SIB-1", source="etsy",
                       products_qty=[(ProductFactory(customer=sibling, code="SIB"), 1)])
    ImportedOrder.objects.create(integration=theirs, marketplace_order_id="SIB-1", order=order)
    return {"amazon": amazon, "etsy": etsy, "theirs": theirs}


def _listed(client, query: str) -> set[str]:
    html = client.get(f"/orders/?{query}").content.decode()
    return {ref for ref in ("AMZ-1", "ETSY-1", "MAN-1", "SIB-1") if f">{ref}</a>" in html}


def test_admin_filters_orders_by_marketplace_and_by_integration(client, admin_user, orders):
    client.force_login(admin_user)
    assert _listed(client, "source=amazon") == {"AMZ-1"}
    assert _listed(client, "source=etsy") == {"ETSY-1", "SIB-1"}
    assert _listed(client, f"integration={orders['etsy'].id}") == {"ETSY-1"}
    assert _listed(client, f"integration={orders['theirs'].id}&source=etsy") == {"SIB-1"}
    html = client.get("/orders/").content.decode()
    assert '<label for="id_integration">Integration:</label>' in html and "Etsy · Sibling Etsy (Sibling Brand)" in html
    assert '<label for="id_source">Marketplace:</label>' in html and '<option value="amazon">Amazon</option>' in html


def test_brand_can_filter_only_by_its_own_integrations(client, customer_user, orders):
    client.force_login(customer_user)
    html = client.get("/orders/").content.decode()
    assert "Sibling Etsy" not in html and "Etsy · Etsy shop" in html
    assert _listed(client, f"integration={orders['etsy'].id}") == {"ETSY-1"}
    # Another customer's integration is not a choice: the list is empty, not unfiltered.
    assert _listed(client, f"integration={orders['theirs'].id}") == set()


def test_another_tenants_integration_or_a_made_up_value_matches_nothing(client, admin_user, orders):
    stranger = TenantFactory()
    foreign = Integration.objects.create(tenant=stranger, customer=CustomerFactory(tenant=stranger),
                                         marketplace="amazon", name="Foreign")
    client.force_login(admin_user)
    for query in (f"integration={foreign.id}", "integration=abc", "source=ebay"):
        assert _listed(client, query) == set()
    client.force_login(UserFactory(tenant=stranger, role="tenant_admin"))
    assert "Amazon AU" not in client.get("/orders/").content.decode()
