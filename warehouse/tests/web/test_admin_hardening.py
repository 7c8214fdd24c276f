# ruff: noqa: F811  (the admin fixtures are imported from test_admin and used as arguments)
"""The admin tells a tenant admin nothing about other tenants (list filters, the view-on-site redirect),
keeps allocated orders' lines and stock as the services left them, and never revives a revoked key."""

import re

import pytest
from django.contrib.contenttypes.models import ContentType

from tests.factories import CustomerFactory, ProductFactory, StockLevelFactory, WarehouseFactory, make_order
from warehouse.models import ApiKey, OutboundOrder, StockLevel
from warehouse.services import api_key_authenticate, api_key_create, outbound_order_cancel

from .test_admin import as_staff, mine, staff, text, theirs  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model, mine_name, their_name", [
    ("product", "Customer MINE", "Customer THEIRS"),
    ("stocklevel", "Warehouse MINE", "Warehouse THEIRS"),
    ("outboundorder", "Warehouse MINE", "Warehouse THEIRS"),
    ("outboundorder", "Customer MINE", "Customer THEIRS"),
])
def test_list_filters_offer_only_the_admins_tenant(as_staff, tenant, mine, theirs, model, mine_name, their_name):
    # A second customer and warehouse, so each filter has a choice to offer (one alone is not shown).
    customer = CustomerFactory(tenant=tenant, name="Customer SECOND")
    warehouse = WarehouseFactory(tenant=tenant, name="Warehouse SECOND")
    customer.warehouses.add(warehouse)
    product = ProductFactory(customer=customer)
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=1)
    make_order(customer=customer, warehouse=warehouse, products_qty=[(product, 1)])
    body = text(as_staff.get(f"/admin/warehouse/{model}/"))
    assert 'id="changelist-filter"' in body
    assert mine_name in body
    assert their_name not in body


def test_every_related_list_filter_is_scoped():
    from django.contrib import admin
    from django.contrib.admin import RelatedOnlyFieldListFilter
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    for model_admin in admin.site._registry.values():
        for item in model_admin.get_list_filter(request):
            if not isinstance(item, (str, tuple)):      # a filter class of its own (e.g. django-axes')
                continue
            name = item if isinstance(item, str) else item[0]
            if isinstance(name, str) and "__" not in name and model_admin.model._meta.get_field(name).is_relation:
                assert isinstance(item, tuple) and item[1] is RelatedOnlyFieldListFilter, (model_admin, name)


def test_view_on_site_is_the_same_404_whether_the_object_exists_elsewhere_or_not(as_staff, mine, theirs):
    ct = ContentType.objects.get_for_model(OutboundOrder).pk
    elsewhere = as_staff.get(f"/admin/r/{ct}/{theirs.order.pk}/")
    nowhere = as_staff.get(f"/admin/r/{ct}/987654321/")
    garbage = as_staff.get(f"/admin/r/{ct}/not-a-number/")
    no_type = as_staff.get("/admin/r/987654/1/")
    assert {r.status_code for r in (elsewhere, nowhere, garbage, no_type)} == {404}
    pages = {re.sub(r'value="[^"]{64}"', "", text(r)) for r in (elsewhere, nowhere, garbage, no_type)}
    assert len(pages) == 1      # the same page, but for each response's own CSRF token
    assert "exist" not in text(elsewhere) and "get_absolute_url" not in text(elsewhere)


def test_allocated_order_lines_are_read_only_in_the_admin(as_staff, mine):
    line = mine.line
    page = text(as_staff.get(f"/admin/warehouse/outboundorder/{mine.order.pk}/change/"))
    assert 'name="lines-0-quantity"' not in page
    assert 'name="warehouse"' not in page and 'name="customer"' not in page
    response = as_staff.post(f"/admin/warehouse/outboundorder/{mine.order.pk}/change/", {
        "reference": mine.order.reference, "source": "manual", "customer": mine.customer.pk,
        "warehouse": mine.warehouse.pk, "shipping_method": "", "status_reason": "",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1", "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000", "lines-0-id": line.pk, "lines-0-order": mine.order.pk,
        "lines-0-product": mine.product.pk, "lines-0-quantity": "4", "lines-0-external_line_id": "",
        "consignments-TOTAL_FORMS": "0", "consignments-INITIAL_FORMS": "0"})
    assert response.status_code in (200, 302)
    line.refresh_from_db()
    assert line.quantity == 1
    # Stock stays right: cancelling gives back exactly what was allocated.
    outbound_order_cancel(order=mine.order, reason="test")
    assert StockLevel.objects.get(product=mine.product, warehouse=mine.warehouse).allocated == 0


def test_draft_order_lines_stay_editable(as_staff, mine):
    draft = make_order(customer=mine.customer, warehouse=mine.warehouse, products_qty=[(mine.product, 1)],
                       reference="SO-DRAFT")
    page = text(as_staff.get(f"/admin/warehouse/outboundorder/{draft.pk}/change/"))
    assert 'name="lines-0-quantity"' in page


def test_allocated_order_cannot_be_deleted_in_the_admin(as_staff, mine):
    response = as_staff.post(f"/admin/warehouse/outboundorder/{mine.order.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    response = as_staff.post("/admin/warehouse/outboundorder/", {
        "action": "delete_selected", "_selected_action": [mine.order.pk], "post": "yes"}, follow=True)
    assert OutboundOrder.objects.filter(pk=mine.order.pk).exists()
    assert StockLevel.objects.get(product=mine.product, warehouse=mine.warehouse).allocated == 1


def test_stock_allocated_is_read_only_and_on_hand_cannot_go_below_it(as_staff, mine):
    level = StockLevel.objects.get(product=mine.product, warehouse=mine.warehouse)
    url = f"/admin/warehouse/stocklevel/{level.pk}/change/"
    assert 'name="allocated"' not in text(as_staff.get(url))
    response = as_staff.post(url, {"product": mine.product.pk, "warehouse": mine.warehouse.pk, "on_hand": "0",
                                   "allocated": "0"})
    assert response.status_code == 200 and "allocated to open orders" in text(response)
    level.refresh_from_db()
    assert (level.on_hand, level.allocated) == (5, 1)


def test_revocation_is_one_way_with_who_and_when(as_staff, staff, tenant):
    _, raw = api_key_create(tenant=tenant, name="Temp")
    key = ApiKey.objects.get(name="Temp")
    as_staff.post("/admin/warehouse/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    revoked_at = key.revoked_at
    assert revoked_at is not None and key.revoked_by == staff
    # Saving the change form with an empty revoked date does not bring the key back.
    response = as_staff.post(f"/admin/warehouse/apikey/{key.pk}/change/",
                             {"name": "Temp again", "revoked_at_0": "", "revoked_at_1": ""})
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.revoked_at, key.revoked_by) == ("Temp again", revoked_at, staff)
    assert api_key_authenticate(raw_key=raw) is None
    # Revoking again changes nothing.
    as_staff.post("/admin/warehouse/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at == revoked_at
