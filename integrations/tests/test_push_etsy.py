"""Etsy ORDER_PAID webhooks: Standard Webhooks signatures checked with the `standardwebhooks` package,
forged, stale and replayed deliveries refused, both payload shapes, the receipt read from the API, and
the sandbox's own signed deliveries with Etsy's retry schedule (time-scaled)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook

from integrations.models import ImportedOrder, PushDelivery
from warehouse.models import OutboundOrder

SECRET = "whsec_" + "c2FuZGJveC13ZWJob29rLXNlY3JldC0xMjM0NTY="


@pytest.fixture
def webhook_secret(settings):
    settings.ETSY_WEBHOOK_SIGNING_SECRET = SECRET
    return SECRET


def paid_receipt(etsy, shop, **fields):
    body = {"status": "paid", "transactions": [{"sku": "MUG-01", "quantity": 1}], **fields}
    return etsy.post(f"shops/{shop['shop_id']}/receipts", body)


def post_signed(client, shop_id, payload, *, secret=SECRET, webhook_id="msg_1", at=None, body=None, signed=None):
    body = body if body is not None else json.dumps(payload).encode()
    at = at or dt.datetime.now(dt.UTC)
    signature = Webhook(secret).sign(webhook_id, at, signed if signed is not None else body)
    return client.post(f"/integrations/etsy/webhooks/{shop_id}/", data=body, content_type="application/json",
                       headers={"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
                                "webhook-signature": signature})


def event(etsy_sandbox, shop_id, receipt_id):
    return {"event_type": "order.paid", "shop_id": str(shop_id),
            "resource_url": f"{etsy_sandbox.url}/v3/application/shops/{shop_id}/receipts/{receipt_id}"}


@pytest.mark.django_db
def test_a_signed_order_paid_imports_the_receipt_from_its_resource_url(
        client, etsy, etsy_sandbox, etsy_shop, etsy_integration, webhook_secret, eager_tasks):
    r = paid_receipt(etsy, etsy_shop)
    response = post_signed(client, etsy_shop["shop_id"], event(etsy_sandbox, etsy_shop["shop_id"], r["receipt_id"]))
    assert response.status_code == 202, response.content
    assert OutboundOrder.objects.filter(reference=str(r["receipt_id"])).count() == 1
    assert any(c["path"].endswith(f"/receipts/{r['receipt_id']}") for c in etsy.calls("receipts"))
    etsy_integration.refresh_from_db()
    assert etsy_integration.push_last_event_at is not None


@pytest.mark.django_db
def test_the_payload_shape_with_data_is_accepted_too(
        client, etsy, etsy_sandbox, etsy_shop, etsy_integration, webhook_secret, eager_tasks):
    r = paid_receipt(etsy, etsy_shop)
    payload = {"type": "order.paid", "data": event(etsy_sandbox, etsy_shop["shop_id"], r["receipt_id"])}
    assert post_signed(client, etsy_shop["shop_id"], payload).status_code == 202
    assert ImportedOrder.objects.filter(marketplace_order_id=str(r["receipt_id"])).count() == 1


@pytest.mark.django_db
def test_forged_stale_replayed_and_misdirected_deliveries_change_nothing(
        client, etsy, etsy_sandbox, etsy_shop, etsy_integration, webhook_secret, eager_tasks):
    r = paid_receipt(etsy, etsy_shop)
    shop_id = etsy_shop["shop_id"]
    payload = event(etsy_sandbox, shop_id, r["receipt_id"])
    forged = post_signed(client, shop_id, payload, secret="whsec_" + "Zm9yZ2VkLXNlY3JldC1mb3JnZWQtc2VjcmV0")
    assert forged.status_code == 401
    stale = post_signed(client, shop_id, payload, at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))
    assert stale.status_code == 401
    unsigned = client.post(f"/integrations/etsy/webhooks/{shop_id}/", data=payload, content_type="application/json")
    assert unsigned.status_code == 401
    body = json.dumps(payload).encode()
    other_receipt = json.dumps(event(etsy_sandbox, shop_id, r["receipt_id"] + 1)).encode()
    tampered = post_signed(client, shop_id, payload, body=other_receipt, signed=body)
    assert tampered.status_code == 401
    genuine = post_signed(client, shop_id, payload, body=body)
    assert genuine.status_code == 202                                    # the genuine one, once
    again = post_signed(client, shop_id, payload, body=body)             # same webhook-id: a replay
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    other_shop = post_signed(client, "999", payload, webhook_id="msg_2")
    assert other_shop.status_code == 400
    assert client.get(f"/integrations/etsy/webhooks/{shop_id}/").status_code == 405
    assert OutboundOrder.objects.count() == 1
    assert PushDelivery.objects.count() == 1
    receipt_reads = [c for c in etsy.calls(f"receipts/{r['receipt_id']}") if c["method"] == "GET"]
    assert len(receipt_reads) == 1


@pytest.mark.django_db
def test_without_a_signing_secret_the_endpoint_refuses_everything(client, etsy_shop, settings):
    settings.ETSY_WEBHOOK_SIGNING_SECRET = ""
    response = post_signed(client, etsy_shop["shop_id"], {"event_type": "order.paid"})
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_signs_and_retries_on_etsys_schedule_until_accepted(
        live_server, etsy, etsy_sandbox, etsy_shop, etsy_integration, webhook_secret, eager_tasks):
    # The first attempt fails (dropped), so the second, 5 s later on Etsy's schedule, delivers it:
    # with time_scale 10 that is half a second.
    etsy.post("webhooks", {"url": f"{live_server.url}/integrations/etsy/webhooks/{{shop_id}}/", "secret": SECRET,
                           "time_scale": 10, "fail_next": 1})
    r = paid_receipt(etsy, etsy_shop)
    deadline = time.time() + 20
    while time.time() < deadline and not OutboundOrder.objects.filter(reference=str(r["receipt_id"])).exists():
        time.sleep(0.2)
    assert OutboundOrder.objects.filter(reference=str(r["receipt_id"])).count() == 1
    delivery = etsy.get("webhooks")["deliveries"][0]
    assert [a["status"] for a in delivery["attempts"]] == [0, 202]
    assert delivery["attempts"][1]["at"] - delivery["attempts"][0]["at"] >= 0.4
    assert delivery["delivered"] is True
