"""Tokens 2021-03-01 createRestrictedDataToken (tokens_2021-03-01.json; reference/sp-api.md §9)."""

from __future__ import annotations

import pytest
from sp_api.base.exceptions import (
    SellingApiBadRequestException, SellingApiForbiddenException, SellingApiNotFoundException,
)

from .amazon_support import assert_valid, seller_with_token

ADDRESS = {"method": "GET", "path": "/orders/v0/orders/{orderId}/address"}


def test_an_rdt_comes_back_unwrapped_with_an_hour_to_live(kit):
    _, refresh = seller_with_token(kit.sandbox)
    answer = kit.tokens(refresh).create_restricted_data_token(restrictedResources=[
        ADDRESS, {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo", "shippingAddress"]}])
    recorded = kit.recorder.last("restrictedDataToken")
    assert_valid("tokens_2021-03-01", "CreateRestrictedDataTokenResponse", recorded.body)
    assert set(recorded.body) == {"restrictedDataToken", "expiresIn"}
    assert recorded.body["restrictedDataToken"].startswith("Atz.sprdt|") and recorded.body["expiresIn"] == 3600
    assert answer.payload["restrictedDataToken"] == recorded.body["restrictedDataToken"]
    assert recorded.headers["x-amzn-ratelimit-limit"] == "1.0"


@pytest.mark.parametrize(("resources", "details"), [
    ([], "Resource not provided."),
    ([{"method": "", "path": "/orders/v1/orders/902-1845936-5435065/address"}], "Invalid method"),   # the model's 400
    ([{"method": "GET"}], "Resource not provided."),
    ([{"method": "POST", "path": "/orders/v0/orders/{orderId}/shipmentConfirmation"}], "not a restricted operation"),
    ([{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["creditCard"]}], "Invalid dataElements"),
    ([ADDRESS] * 51, "maximum of 50"),
])
def test_bad_requests_get_invalid_request(kit, resources, details):
    _, refresh = seller_with_token(kit.sandbox)
    with pytest.raises(SellingApiBadRequestException) as raised:
        kit.tokens(refresh).create_restricted_data_token(restrictedResources=resources)
    error = raised.value.error[0]
    assert (error["code"], error["message"]) == ("InvalidRequest", "Request is missing or has invalid parameters")
    assert details in error["details"]
    assert_valid("tokens_2021-03-01", "ErrorList", kit.recorder.last().body)


def test_fifty_resources_are_allowed(kit):
    _, refresh = seller_with_token(kit.sandbox)
    answer = kit.tokens(refresh).create_restricted_data_token(restrictedResources=[ADDRESS] * 50)
    assert answer.payload["restrictedDataToken"].startswith("Atz.sprdt|")


def test_an_rdt_cannot_mint_another_and_stops_working_when_expired(kit):
    seller_id, refresh = seller_with_token(kit.sandbox)
    order_id = kit.sandbox.create_order(seller_id)["AmazonOrderId"]
    rdt = kit.rdt(refresh, ADDRESS)
    with pytest.raises(SellingApiForbiddenException):
        kit.client(type(kit.tokens(refresh)), rdt=rdt).create_restricted_data_token(restrictedResources=[ADDRESS])
    orders = kit.orders(refresh, rdt=rdt)
    assert orders.get_order_address(order_id).payload["ShippingAddress"]["Name"]
    kit.sandbox.expire_tokens(seller_id)
    with pytest.raises(SellingApiForbiddenException):
        orders.get_order_address(order_id)


def test_an_rdt_speaks_for_the_seller_that_asked_for_it(kit):
    _, a_refresh = seller_with_token(kit.sandbox)
    b_id, _ = seller_with_token(kit.sandbox)
    b_order = kit.sandbox.create_order(b_id)["AmazonOrderId"]
    orders = kit.orders(a_refresh, rdt=kit.rdt(a_refresh, ADDRESS))
    with pytest.raises(SellingApiNotFoundException):
        orders.get_order_address(b_order)
