"""Import missing orders (issue 15): the form refuses what cannot be right (future dates, numbers and
dates together, numbers longer than any marketplace's); a wrong Amazon number is an ERROR naming it;
an order asked for by number meets the poll's rules, and the log says why one was skipped."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.models import ConnectionLogEntry, ImportRun
from integrations.services.orders import orders_import
from warehouse.models import OutboundOrder

from .conftest import AU

US = "ATVPDKIKX0DER"


@pytest.mark.django_db
@pytest.mark.parametrize("form,why", [
    ({"date_from": (dt.date.today() + dt.timedelta(days=2)).isoformat()}, "in the future"),
    ({"date_from": dt.date.today().isoformat(), "date_to": (dt.date.today() + dt.timedelta(days=3)).isoformat()},
     "in the future"),
    ({"order_numbers": "250-1234567-1234567", "date_from": dt.date.today().isoformat()}, "not both"),
    ({"order_numbers": "250-1234567-1234567-0000000000"}, "longer than any marketplace"),
])
def test_the_form_refuses_what_cannot_be_right(client, admin_user, amazon_integration, form, why):
    client.force_login(admin_user)
    response = client.post(f"/integrations/{amazon_integration.id}/import/", form, follow=True)
    assert why in response.content.decode()
    assert not ImportRun.objects.filter(kind=ImportRun.Kind.MISSING_ORDERS).exists()


@pytest.mark.django_db(transaction=True)
def test_a_wrong_amazon_number_is_an_error_naming_it(amazon, amazon_seller, amazon_integration):
    real = amazon.post(f"sellers/{amazon_seller['selling_partner_id']}/orders",
                       {"MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]})
    orders_import(integration=amazon_integration, order_ids=["250-0000000-0000000", real["AmazonOrderId"]])
    assert OutboundOrder.objects.filter(reference=real["AmazonOrderId"]).exists()
    error = ConnectionLogEntry.objects.get(marketplace_order_id="250-0000000-0000000")
    assert error.level == "ERROR" and "250-0000000-0000000" in error.message
    assert " is ;" not in error.message


@pytest.mark.django_db(transaction=True)
def test_by_number_applies_the_polls_rules_and_says_why(amazon, amazon_integration):
    seller = amazon.post("sellers", {"marketplace_ids": [AU, US]})
    amazon_integration.account_id = seller["selling_partner_id"]
    amazon_integration.refresh_token = seller["refresh_token"]
    amazon_integration.save()
    sp = seller["selling_partner_id"]
    us = amazon.post(f"sellers/{sp}/orders", {"MarketplaceId": US, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]})
    fba = amazon.post(f"sellers/{sp}/orders", {"MarketplaceId": AU, "FulfillmentChannel": "AFN",
                                               "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]})
    result = orders_import(integration=amazon_integration, order_ids=[us["AmazonOrderId"], fba["AmazonOrderId"]])
    assert not OutboundOrder.objects.exists()
    assert sorted(result.skipped) == sorted([us["AmazonOrderId"], fba["AmazonOrderId"]])
    said = {e.marketplace_order_id: e for e in ConnectionLogEntry.objects.filter(level="INFO")}
    assert US in said[us["AmazonOrderId"]].message and AU in said[us["AmazonOrderId"]].message
    assert "fulfilled by the marketplace" in said[fba["AmazonOrderId"]].message
