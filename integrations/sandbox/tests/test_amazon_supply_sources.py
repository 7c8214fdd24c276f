"""Supply Sources 2020-07-01 (supplySources_2020-07-01.json; reference/sp-api.md §4)."""

from __future__ import annotations

import pytest
from sp_api.base.exceptions import SellingApiBadRequestException, SellingApiNotFoundException
from sp_api.util import load_all_pages

from .amazon_support import assert_valid, seller_with_token


def test_get_supply_sources_pages_with_next_page_token_and_hides_status(kit):
    seller_id, refresh = seller_with_token(kit.sandbox)
    sandbox = kit.sandbox
    made = [sandbox.add_supply_source(seller_id, supplySourceCode=f"WH-{n:02d}", alias=f"Warehouse {n}",
                                      status="Inactive" if n % 5 == 0 else "Active")["supplySourceId"]
            for n in range(25)]
    sandbox.http.patch(f"/_sandbox/sellers/{seller_id}/supply_sources/{made[3]}", json={"status": "Archived"})
    api = kit.supply_sources(refresh)

    @load_all_pages(throttle_by_seconds=0, next_token_param="nextPageToken")
    def pages(**kwargs):
        return api.get_supply_sources(**kwargs)

    seen, sizes = [], []
    for _page in pages(pageSize=10):
        body = kit.recorder.last("/supplySources").body
        assert_valid("supplySources_2020-07-01", "GetSupplySourcesResponse", body)     # strict: no status in the list
        assert all(set(s) == {"supplySourceId", "supplySourceCode", "alias", "address"} for s in body["supplySources"])
        sizes.append(len(body["supplySources"]))
        seen += [s["supplySourceId"] for s in body["supplySources"]]
    assert sizes == [10, 10, 4]
    assert seen == [m for m in made if m != made[3]]                   # archived ones are not listed
    assert len(api.get_supply_sources().payload["supplySources"]) == 10        # pageSize defaults to 10


def test_get_supply_source_returns_the_full_object_with_status(kit):
    seller_id, refresh = seller_with_token(kit.sandbox)
    made = kit.sandbox.add_supply_source(seller_id, supplySourceCode="SYD-01", alias="Sydney", status="Inactive",
                                         timezone="Australia/Sydney")
    answer = kit.supply_sources(refresh).get_supply_source(made["supplySourceId"])
    assert_valid("supplySources_2020-07-01", "SupplySource", kit.recorder.last().body)
    assert answer.payload["status"] == "Inactive"
    assert answer.payload["configuration"]["timezone"] == "Australia/Sydney"
    assert answer.payload["address"]["countryCode"] == "AU" and answer.payload == made


def test_unknown_and_malformed_ids(kit):
    _, refresh = seller_with_token(kit.sandbox)
    api = kit.supply_sources(refresh)
    with pytest.raises(SellingApiNotFoundException):
        api.get_supply_source("cbc976e5-1e55-4d33-855b-35e6254f5a58")
    with pytest.raises(SellingApiBadRequestException):
        api.get_supply_source("cbc976e5-1e55-4d33-855b-35e6254f5a5")          # the model's 400 example
    assert_valid("supplySources_2020-07-01", "ErrorList", kit.recorder.last().body)


def test_create_change_status_and_archive(kit):
    seller_id, refresh = seller_with_token(kit.sandbox)
    api = kit.supply_sources(refresh)
    address = {"name": "Harbour LA", "addressLine1": "2800 E Washington Blvd", "city": "Los Angeles",
               "stateOrRegion": "CA", "postalCode": "90023", "countryCode": "US"}
    created = api.create_supply_source(supplySourceCode="LAX-01", alias="LA", address=address).payload
    assert_valid("supplySources_2020-07-01", "CreateSupplySourceResponse", kit.recorder.last().body)
    with pytest.raises(SellingApiBadRequestException) as raised:
        api.create_supply_source(supplySourceCode="LAX-01", alias="again", address=address)
    assert raised.value.error[0]["details"] == "1004"
    source_id = created["supplySourceId"]
    assert api.update_supply_source_status(source_id, status="Inactive").payload == {}
    assert api.get_supply_source(source_id).payload["status"] == "Inactive"
    api.archive_supply_source(source_id)
    assert kit.recorder.last().status == 204
    assert api.get_supply_source(source_id).payload["status"] == "Archived"
    with pytest.raises(SellingApiBadRequestException) as raised:
        api.update_supply_source_status(source_id, status="Active")
    assert raised.value.error[0]["details"] == "1005"


def test_orders_point_at_their_supply_source(kit):
    seller_id, refresh = seller_with_token(kit.sandbox)
    source = kit.sandbox.add_supply_source(seller_id, supplySourceCode="SYD-01", alias="Sydney")
    order = kit.sandbox.create_order(seller_id, FulfillmentSupplySourceId=source["supplySourceId"])
    listed = kit.supply_sources(refresh).get_supply_sources().payload["supplySources"]
    fetched = kit.orders(refresh).get_order(order["AmazonOrderId"]).payload
    assert fetched["FulfillmentInstruction"]["FulfillmentSupplySourceId"] == listed[0]["supplySourceId"]
