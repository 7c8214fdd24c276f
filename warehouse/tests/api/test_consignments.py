import pytest

from tests.factories import make_order
from warehouse.models import Consignment, Package
from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch

from .conftest import collect, db_state, error

CONSIGNMENTS = "/api/v1/consignments/"


@pytest.fixture
def order(customer, warehouse, stocked):
    return make_order(customer=customer, warehouse=warehouse,
                      products_qty=[(stocked.mug, 3), (stocked.tee, 2)], allocate=True)


def test_create_consignment_with_packages_and_tracking(api, order):
    mug, tee = order.lines.all()
    body = {"order": order.id, "carrier": "AusPost", "service": "Express", "delivery_run_date": "2025-03-04",
            "packages": [{"tracking_number": "AP1", "lines": [{"line": mug.id, "quantity": 3}]},
                         {"lines": [{"line": tee.id, "quantity": 2}]}]}
    response = api.post(CONSIGNMENTS, body, format="json")
    assert response.status_code == 201, response.content
    consignment = Consignment.objects.get(pk=response.json()["id"])
    assert (consignment.order, consignment.carrier, consignment.status, consignment.tenant) == (
        order, "AusPost", "open", order.tenant)
    assert [(p.tracking_number, [(pl.order_line, pl.quantity) for pl in p.lines.all()])
            for p in consignment.packages.all()] == [("AP1", [(mug, 3)]), ("", [(tee, 2)])]
    data = response.json()
    assert (data["order_reference"], data["delivery_run_date"]) == (order.reference, "2025-03-04")
    assert [p["lines"] for p in data["packages"]] == [
        [{"line": mug.id, "product_code": "MUG", "quantity": 3}],
        [{"line": tee.id, "product_code": "TEE", "quantity": 2}],
    ]


def test_create_without_packages_makes_one_package_with_everything(api, order):
    response = api.post(CONSIGNMENTS, {"order": order.id, "carrier": "DHL"}, format="json")
    assert response.status_code == 201
    [package] = response.json()["packages"]
    contents = sorted((line["product_code"], line["quantity"]) for line in package["lines"])
    assert contents == [("MUG", 3), ("TEE", 2)]


def test_invalid_consignment_writes_nothing(api, order, neighbour):
    mug, tee = order.lines.all()
    consignment_for_other = {"order": neighbour.order.id, "carrier": "DHL"}   # already has one
    cases = [
        ({"order": order.id, "carrier": ""}, "carrier"),
        ({"order": order.id}, "carrier"),
        ({"carrier": "DHL"}, "order"),
        ({"order": order.id, "carrier": "DHL", "packages": []}, "packages"),
        ({"order": order.id, "carrier": "DHL", "packages": [{"lines": [{"line": mug.id, "quantity": 3}]}]},
         "packages"),                                                    # TEE left out
        ({"order": order.id, "carrier": "DHL", "packages": [{"lines": [{"line": mug.id, "quantity": 3}]},
                                                            {"lines": [{"line": tee.id, "quantity": 0}]}]},
         "packages[1].lines[0].quantity"),
        ({"order": order.id, "carrier": "DHL",                           # a line of another order
          "packages": [{"lines": [{"line": neighbour.line.id, "quantity": 1}]}]},
         "packages[0].lines[0].line"),
        (consignment_for_other, "order"),
    ]
    before = db_state()
    for body, field in cases:
        response = api.post(CONSIGNMENTS, body, format="json")
        assert response.status_code == 400, body
        assert field in error(response)["fields"], (body, error(response))
    assert db_state() == before


def test_list_filters_by_order_and_retrieve(api, order, neighbour):
    consignment = consignment_create(order=order, carrier="AusPost", packages=[PackageSpec("AP1")])
    assert set(collect(api, CONSIGNMENTS)[0]) == {consignment.id, neighbour.consignment.id}
    assert collect(api, CONSIGNMENTS, order=order.id)[0] == [consignment.id]
    response = api.get(f"{CONSIGNMENTS}{consignment.id}/")
    assert response.status_code == 200
    assert response.json()["packages"][0]["tracking_number"] == "AP1"


def test_list_pages_through_every_consignment_once(api, customer, warehouse, stocked):
    made = set()
    for _ in range(5):
        o = make_order(customer=customer, warehouse=warehouse, products_qty=[(stocked.mug, 1)])
        made.add(consignment_create(order=o, carrier="DHL", packages=[PackageSpec()]).id)
    ids, pages = collect(api, CONSIGNMENTS, page_size=2)
    assert pages == 3
    assert len(ids) == len(set(ids)) and set(ids) == made


def test_add_tracking_later(api, order, django_capture_on_commit_callbacks):
    consignment = consignment_create(order=order, carrier="AusPost", packages=[PackageSpec()])
    package = consignment.packages.get()
    outbound_order_dispatch(order=order)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"{CONSIGNMENTS}{consignment.id}/tracking/",
                            {"packages": [{"id": package.id, "tracking_number": " AP777 "}]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["packages"][0]["tracking_number"] == "AP777"
    assert Package.objects.get(pk=package.pk).tracking_number == "AP777"
    assert len(callbacks) == 1      # the order is dispatched: the marketplace can now be told the number


def test_tracking_once_set_is_not_changed_and_bad_input_writes_nothing(api, order, neighbour):
    consignment = consignment_create(order=order, carrier="AusPost", packages=[PackageSpec("AP1")])
    package = consignment.packages.get()
    url = f"{CONSIGNMENTS}{consignment.id}/tracking/"
    before = db_state()
    for body, field in (
        ({"packages": [{"id": package.id, "tracking_number": "AP2"}]}, "packages"),
        ({"packages": [{"id": neighbour.package.id, "tracking_number": "X"}]}, "packages"),
        ({"packages": [{"id": package.id, "tracking_number": ""}]}, "packages[0].tracking_number"),
        ({"packages": [{"id": package.id, "tracking_number": "AP1"},
                       {"id": package.id, "tracking_number": "AP1"}]}, "packages"),
        ({"packages": []}, "packages"),
    ):
        response = api.post(url, body, format="json")
        assert response.status_code == 400, body
        assert field in error(response)["fields"], (body, error(response))
    assert db_state() == before
    assert "already has tracking number AP1" in api.post(url, {"packages": [{"id": package.id,
                                                                                "tracking_number": "AP2"}]},
                                                         format="json").json()["error"]["message"]


def test_other_tenants_consignments_are_invisible_and_untouchable(api, order, theirs):
    ids, _ = collect(api, CONSIGNMENTS)
    assert theirs.consignment.id not in ids
    assert api.get(CONSIGNMENTS, {"order": theirs.order.id}).status_code == 400
    assert api.get(f"{CONSIGNMENTS}{theirs.consignment.id}/").status_code == 404
    before = db_state()
    response = api.post(f"{CONSIGNMENTS}{theirs.consignment.id}/tracking/",
                        {"packages": [{"id": theirs.package.id, "tracking_number": "X"}]}, format="json")
    assert response.status_code == 404
    assert error(response) == {"code": "not_found", "message": "Consignment not found."}
    response = api.post(CONSIGNMENTS, {"order": theirs.order.id, "carrier": "DHL"}, format="json")
    assert response.status_code == 400
    assert error(response)["fields"] == {"order": [f"Outbound order {theirs.order.id} not found."]}
    # A line id of tenant B inside a package of our own order.
    response = api.post(CONSIGNMENTS, {"order": order.id, "carrier": "DHL",
                                       "packages": [{"lines": [{"line": theirs.line.id, "quantity": 2}]}]},
                        format="json")
    assert response.status_code == 400
    assert list(error(response)["fields"]) == ["packages[0].lines[0].line"]
    assert db_state() == before


def test_customer_user_sees_only_its_consignments(customer_session, order, neighbour):
    own = consignment_create(order=order, carrier="AusPost", packages=[PackageSpec()])
    assert collect(customer_session, CONSIGNMENTS)[0] == [own.id]
    assert customer_session.get(f"{CONSIGNMENTS}{own.id}/").status_code == 200
    assert customer_session.get(f"{CONSIGNMENTS}{neighbour.consignment.id}/").status_code == 404
