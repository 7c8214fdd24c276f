"""A warehouse system's day, through the API only: count stock, take an order, pack it in two boxes,
dispatch it, add the late tracking number, and check the stock arithmetic at every step."""

from warehouse.events import outbound_order_dispatched
from warehouse.models import OutboundOrder


def stock(api, warehouse) -> dict[str, tuple[int, int, int]]:
    rows = api.get("/api/v1/stock-levels/", {"warehouse": warehouse.id}).json()["results"]
    return {row["product_code"]: (row["on_hand"], row["allocated"], row["available"]) for row in rows}


def test_order_to_dispatch_end_to_end(api, customer, warehouse, stocked, theirs,
                                      django_capture_on_commit_callbacks):
    response = api.post("/api/v1/stock-levels/bulk/", {"counts": [
        {"product_code": "MUG", "customer": customer.id, "warehouse": warehouse.code, "on_hand": 20},
        {"product_code": "TEE", "customer": customer.id, "warehouse": warehouse.code, "on_hand": 8},
    ]}, format="json")
    assert response.status_code == 200
    assert stock(api, warehouse) == {"MUG": (20, 0, 20), "TEE": (8, 0, 8)}

    response = api.post("/api/v1/outbound-orders/", {
        "customer": customer.id, "warehouse": warehouse.id, "reference": "ETSY-42", "allocate": True,
        "delivery_address": {"contact_name": "Ana", "city": "Hobart", "country": "AU"},
        "lines": [{"product_code": "MUG", "quantity": 5}, {"product_code": "TEE", "quantity": 3}],
    }, format="json")
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "awaiting_pick"
    assert stock(api, warehouse) == {"MUG": (20, 5, 15), "TEE": (8, 3, 5)}

    mug, tee = order["lines"]
    consignment = {"order": order["id"], "carrier": "AusPost", "service": "Parcel Post",
                   "delivery_run_date": "2025-03-04"}
    response = api.post("/api/v1/consignments/", {
        **consignment,
        "packages": [
            {"tracking_number": "AP100", "lines": [{"line": mug["id"], "quantity": 5}]},
            {"lines": [{"line": tee["id"], "quantity": 2}]},
            # one TEE travels with the mugs
        ],
    }, format="json")
    assert response.status_code == 400      # the packages hold 2 TEE, the order 3: refused, nothing written
    assert api.get("/api/v1/consignments/", {"order": order["id"]}).json()["results"] == []
    response = api.post("/api/v1/consignments/", {
        **consignment,
        "packages": [
            {"tracking_number": "AP100", "lines": [{"line": mug["id"], "quantity": 5},
                                                   {"line": tee["id"], "quantity": 1}]},
            {"lines": [{"line": tee["id"], "quantity": 2}]},
        ],
    }, format="json")
    assert response.status_code == 201, response.content
    consignment = response.json()
    first, second = consignment["packages"]

    url = f"/api/v1/outbound-orders/{order['id']}"
    assert api.post(f"{url}/pick/").json()["status"] == "picked"
    assert api.post(f"{url}/pack/").json()["status"] == "packed"
    received = []
    outbound_order_dispatched.connect(lambda **kw: received.append(kw["order_id"]), weak=False,
                                      dispatch_uid="e2e")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"{url}/dispatch/")
        assert response.status_code == 200
        assert received == [order["id"]]
        dispatched = response.json()
        assert dispatched["status"] == "dispatched" and dispatched["dispatched_at"]
        assert dispatched["consignments"][0]["status"] == "dispatched"
        assert stock(api, warehouse) == {"MUG": (15, 0, 15), "TEE": (5, 0, 5)}

        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(f"/api/v1/consignments/{consignment['id']}/tracking/",
                                {"packages": [{"id": second["id"], "tracking_number": "AP101"}]},
                                format="json")
        assert response.status_code == 200
        assert received == [order["id"], order["id"]]
    finally:
        outbound_order_dispatched.disconnect(dispatch_uid="e2e")

    final = api.get(f"{url}/").json()
    assert [p["tracking_number"] for p in final["consignments"][0]["packages"]] == ["AP100", "AP101"]
    assert final["updated_at"] >= dispatched["updated_at"]
    # A second dispatch is refused and changes no stock.
    assert api.post(f"{url}/dispatch/").status_code == 409
    assert stock(api, warehouse) == {"MUG": (15, 0, 15), "TEE": (5, 0, 5)}
    # Tenant B was never touched.
    theirs.stock.refresh_from_db()
    assert (theirs.stock.on_hand, theirs.stock.allocated) == (10, 2)
    assert OutboundOrder.objects.get(pk=theirs.order.pk).status == "awaiting_pick"
    assert first["tracking_number"] == "AP100"
