"""confirmShipment: the body against ConfirmShipmentRequest, items moving to shipped, and a second
confirmation of shipped items refused (ordersV0.json; reference/sp-api.md §2.5)."""

from __future__ import annotations

import copy

import pytest
from sp_api.base.exceptions import SellingApiBadRequestException, SellingApiNotFoundException

from .amazon_support import AU, US, assert_valid, iso_ago, model_accepts


def package(*lines: tuple[str, int], reference: str = "PKG-1", tracking: str = "AP0001234") -> dict:
    return {"packageReferenceId": reference, "carrierCode": "Australia Post", "trackingNumber": tracking,
            "shipDate": "2026-03-02T01:00:00.000Z", "shippingMethod": "Parcel Post",
            "orderItems": [{"orderItemId": item, "quantity": qty} for item, qty in lines]}


def two_item_order(sandbox, seller_id: str) -> tuple[str, str, str]:
    order = sandbox.create_order(seller_id, PurchaseDate=iso_ago(sandbox, hours=1), LastUpdateDate=iso_ago(sandbox, hours=1),
                                 items=[{"SellerSKU": "MUG", "QuantityOrdered": 2}, {"SellerSKU": "TEE", "QuantityOrdered": 1}])
    return order["AmazonOrderId"], order["OrderItems"][0]["OrderItemId"], order["OrderItems"][1]["OrderItemId"]


def test_confirming_packages_ships_items_and_moves_the_order_on(kit, seller):
    seller_id, refresh = seller
    sandbox = kit.sandbox
    order_id, mug, tee = two_item_order(sandbox, seller_id)
    orders = kit.orders(refresh)

    answer = orders.confirm_shipment(order_id, marketplaceId=AU, packageDetail=package((mug, 1)))
    recorded = kit.recorder.last("shipmentConfirmation")
    assert answer.payload == {"status_code": 204} and recorded.status == 204 and recorded.body is None
    assert recorded.headers["x-amzn-ratelimit-limit"] == "2.0" and recorded.headers["x-amzn-requestid"]
    order = orders.get_order(order_id).payload
    assert (order["OrderStatus"], order["NumberOfItemsShipped"], order["NumberOfItemsUnshipped"]) == \
        ("PartiallyShipped", 1, 2)
    assert order["LastUpdateDate"] > iso_ago(sandbox, minutes=1)
    shipped = {i["OrderItemId"]: i["QuantityShipped"] for i in orders.get_order_items(order_id).payload["OrderItems"]}
    assert shipped == {mug: 1, tee: 0}

    orders.confirm_shipment(order_id, marketplaceId=AU,
                            packageDetail=package((mug, 1), (tee, 1), reference="PKG-2", tracking="AP0005678"))
    assert orders.get_order(order_id).payload["OrderStatus"] == "Shipped"
    confirmations = sandbox.state(seller_id)["confirmations"]
    assert [(c["amazon_order_id"], c["body"]["packageDetail"]["trackingNumber"]) for c in confirmations] == \
        [(order_id, "AP0001234"), (order_id, "AP0005678")]


def test_a_second_confirmation_of_the_same_items_is_refused(kit, seller):
    seller_id, refresh = seller
    order_id, mug, tee = two_item_order(kit.sandbox, seller_id)
    orders = kit.orders(refresh)
    body = package((mug, 2), (tee, 1))
    orders.confirm_shipment(order_id, marketplaceId=AU, packageDetail=body)
    with pytest.raises(SellingApiBadRequestException) as raised:
        orders.confirm_shipment(order_id, marketplaceId=AU, packageDetail=body)      # the same package again
    assert raised.value.amzn_code == "Invalid Input" and "already been shipped" in raised.value.message
    assert_valid("ordersV0", "ConfirmShipmentErrorResponse", kit.recorder.last("shipmentConfirmation").body)
    assert len(kit.sandbox.state(seller_id)["confirmations"]) == 1


@pytest.mark.parametrize(("order_fields", "lines", "marketplace", "reason"), [
    ({}, [("MUG", 3)], AU, "more than the 2 left"),
    ({}, [("99999999999999", 1)], AU, "not part of order"),
    ({}, [("MUG", 1)], US, "does not match"),
    ({"OrderStatus": "Canceled"}, [("MUG", 1)], AU, "Canceled"),
    ({"OrderStatus": "Pending"}, [("MUG", 1)], AU, "not ready"),
    ({"FulfillmentChannel": "AFN"}, [("MUG", 1)], AU, "fulfilled by Amazon"),
])
def test_confirmations_the_order_cannot_take_are_refused(kit, seller, order_fields, lines, marketplace, reason):
    seller_id, refresh = seller
    order = kit.sandbox.create_order(seller_id, items=[{"SellerSKU": "MUG", "QuantityOrdered": 2}], **order_fields)
    item_ids = {"MUG": order["OrderItems"][0]["OrderItemId"]}
    body = package(*[(item_ids.get(item, item), qty) for item, qty in lines])
    with pytest.raises(SellingApiBadRequestException) as raised:
        kit.orders(refresh).confirm_shipment(order["AmazonOrderId"], marketplaceId=marketplace, packageDetail=body)
    assert reason in raised.value.message
    assert kit.sandbox.order(seller_id, order["AmazonOrderId"])["OrderItems"][0]["QuantityShipped"] == 0


def _good_body(item_id: str) -> dict:
    return {"marketplaceId": AU, "packageDetail": {**package((item_id, 1)), "carrierName": "Australia Post",
                                                  "shipFromSupplySourceId": "057d3fcc-b750-419f-bbcd-4d340c60c430"}}


def _without(path: tuple, body: dict) -> dict:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


def _with(path: tuple, value, body: dict) -> dict:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


BODY_CHANGES = [
    ("unchanged", lambda b: b),
    ("stray keys are ignored", lambda b: _with(("path",), "/orders/v0/orders/x", _with(("marketplaceIds",), [AU], b))),
    ("cod collection", lambda b: _with(("codCollectionMethod",), "DirectPayment", b)),
    ("no marketplaceId", lambda b: _without(("marketplaceId",), b)),
    ("no packageDetail", lambda b: _without(("packageDetail",), b)),
    ("no trackingNumber", lambda b: _without(("packageDetail", "trackingNumber"), b)),
    ("no carrierCode", lambda b: _without(("packageDetail", "carrierCode"), b)),
    ("no packageReferenceId", lambda b: _without(("packageDetail", "packageReferenceId"), b)),
    ("no orderItems", lambda b: _without(("packageDetail", "orderItems"), b)),
    ("US-style shipDate", lambda b: _with(("packageDetail", "shipDate"), "02/21/2022", b)),
    ("date without time", lambda b: _with(("packageDetail", "shipDate"), "2022-02-21", b)),
    ("offset shipDate", lambda b: _with(("packageDetail", "shipDate"), "2022-02-21T10:00:00+10:00", b)),
    ("quantity as text", lambda b: _with(("packageDetail", "orderItems", 0, "quantity"), "1", b)),
    ("fractional quantity", lambda b: _with(("packageDetail", "orderItems", 0, "quantity"), 1.5, b)),
    ("numeric orderItemId", lambda b: _with(("packageDetail", "orderItems", 0, "orderItemId"), 12345, b)),
    ("unknown COD method", lambda b: _with(("codCollectionMethod",), "Cash", b)),
    ("numeric carrierName", lambda b: _with(("packageDetail", "carrierName"), 5, b)),
    ("numeric transparency code", lambda b: _with(("packageDetail", "orderItems", 0, "transparencyCodes"), [1], b)),
]


@pytest.mark.parametrize(("label", "change"), BODY_CHANGES, ids=[label for label, _ in BODY_CHANGES])
def test_the_body_is_judged_as_the_model_judges_it(kit, seller, label, change):
    """The sandbox checks ConfirmShipmentRequest by hand; here jsonschema over Amazon's model decides,
    and the sandbox must agree (extra keys allowed: Amazon ignores them, python-amazon-sp-api adds some)."""
    seller_id, refresh = seller
    order = kit.sandbox.create_order(seller_id, items=[{"SellerSKU": "MUG", "QuantityOrdered": 2}])
    body = change(_good_body(order["OrderItems"][0]["OrderItemId"]))
    model_says_valid = model_accepts("ordersV0", "ConfirmShipmentRequest", body)
    orders = kit.orders(refresh)
    try:
        orders.confirm_shipment(order["AmazonOrderId"], **body)
        accepted = True
    except SellingApiBadRequestException as exc:
        accepted = False
        assert exc.amzn_code == "Invalid Input"
    assert accepted == model_says_valid


def test_carrier_other_needs_a_carrier_name(kit, seller):
    seller_id, refresh = seller
    order = kit.sandbox.create_order(seller_id)
    detail = {**package((order["OrderItems"][0]["OrderItemId"], 1)), "carrierCode": "Other"}
    with pytest.raises(SellingApiBadRequestException) as raised:
        kit.orders(refresh).confirm_shipment(order["AmazonOrderId"], marketplaceId=AU, packageDetail=detail)
    assert "carrierName" in raised.value.message
    kit.orders(refresh).confirm_shipment(order["AmazonOrderId"], marketplaceId=AU,
                                         packageDetail={**detail, "carrierName": "Sendle"})
    assert kit.sandbox.state(seller_id)["confirmations"][0]["body"]["packageDetail"]["carrierName"] == "Sendle"


def test_unknown_orders_are_404(kit, seller):
    with pytest.raises(SellingApiNotFoundException):
        kit.orders(seller[1]).confirm_shipment("249-0000000-0000000", marketplaceId=AU,
                                               packageDetail=package(("1", 1)))
    assert_valid("ordersV0", "ConfirmShipmentErrorResponse", kit.recorder.last().body)
