"""Amazon ORDER_CHANGE push: subscription on activation, the sandbox's messages on a real SQS queue
(moto's server), the consumer importing each order and deleting the message only after commit."""

from __future__ import annotations

import json
import time

import pytest

from integrations.models import ImportedOrder, Integration
from integrations.push_consumer import AmazonPushConsumer
from integrations.services.push import integration_push_disable, integration_push_enable
from integrations.services.setup import integration_delete
from integrations.tasks import push_enable_missing
from tests.factories import CustomerFactory
from warehouse.models import OutboundOrder

from .conftest import AU

US = "ATVPDKIKX0DER"
pytestmark = pytest.mark.django_db


def consumer(queue, wait=1, visibility=1):
    client, url = queue
    return AmazonPushConsumer(queue_url=url, endpoint_url=client.meta.endpoint_url, wait_seconds=wait,
                              visibility_seconds=visibility)


def wait_sent(amazon_sandbox, count):
    amazon_sandbox.app.sqs.drain()
    assert len(amazon_sandbox.app.sqs.sent) == count


def new_order(amazon, seller, **fields):
    body = {"MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}], **fields}
    return amazon.post(f"sellers/{seller['selling_partner_id']}/orders", body)


def test_activation_subscribes_the_seller_once_and_delete_unsubscribes_the_last(
        amazon, amazon_seller, amazon_integration, sqs_queue, tenant, warehouse):
    assert integration_push_enable(integration=amazon_integration)
    # A second integration of the same seller (another marketplace) shares the seller's subscription.
    other = Integration.objects.create(
        tenant=tenant, customer=CustomerFactory(tenant=tenant), marketplace="amazon", name="Amazon US", status="active", marketplace_id=US,
        account_id=amazon_seller["selling_partner_id"], refresh_token=amazon_seller["refresh_token"],
        default_warehouse=warehouse)
    assert integration_push_enable(integration=other)
    state = amazon.get("notifications")
    assert [d["resource"]["sqs"]["arn"] for d in state["destinations"]] == [sqs_queue[0].get_queue_attributes(
        QueueUrl=sqs_queue[1], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]]       # one per app
    sub = state["subscriptions"][amazon_seller["selling_partner_id"]]["ORDER_CHANGE"]
    amazon_integration.refresh_from_db(), other.refresh_from_db()
    assert amazon_integration.push_subscription_id == other.push_subscription_id == sub["subscriptionId"]
    assert amazon_integration.push_enabled_at is not None
    assert amazon.calls("/notifications/v1/destinations")[0]["status"] == 200

    first = Integration.objects.get(pk=amazon_integration.pk)
    integration_push_disable(integration_id=first.id, account_id=first.account_id,
                             marketplace_id=first.marketplace_id, subscription_id=first.push_subscription_id)
    assert "ORDER_CHANGE" in amazon.get("notifications")["subscriptions"][amazon_seller["selling_partner_id"]]
    integration_delete(integration=other)         # queues the (grantless) unsubscribe on commit
    feed_sub = amazon.get("notifications")["subscriptions"][amazon_seller["selling_partner_id"]][
        "FEED_PROCESSING_FINISHED"]
    assert other.feed_subscription_id == first.feed_subscription_id == feed_sub["subscriptionId"]
    integration_push_disable(integration_id=other.id, account_id=other.account_id, marketplace_id=US,
                             subscription_id=sub["subscriptionId"], feed_subscription_id=other.feed_subscription_id)
    assert amazon.get("notifications")["subscriptions"] == {}
    deletes = [c for c in amazon.calls("/notifications/v1/subscriptions") if c["method"] == "DELETE"]
    assert [c["status"] for c in deletes] == [200, 200]


def test_the_consumer_subscribes_integrations_activated_before_the_queue_existed(
        amazon, amazon_seller, amazon_integration, sqs_queue, eager_tasks, tenant):
    # Active, but activated while no queue was configured: no subscription (the demo's, in make run).
    assert amazon_integration.status == "active" and amazon_integration.push_enabled_at is None
    deleted = Integration.objects.create(tenant=tenant, customer=CustomerFactory(tenant=tenant), marketplace="amazon",
                                         name="gone", status="deleted", account_id="A-GONE", marketplace_id=US)

    assert push_enable_missing() == 1

    amazon_integration.refresh_from_db()
    assert amazon_integration.push_enabled_at is not None
    assert "ORDER_CHANGE" in amazon.get("notifications")["subscriptions"][amazon_seller["selling_partner_id"]]
    deleted.refresh_from_db()
    assert deleted.push_enabled_at is None
    assert push_enable_missing() == 0                 # once subscribed, never again


def test_an_order_placed_on_amazon_is_imported_from_the_queue_within_a_poll(
        amazon, amazon_sandbox, amazon_seller, amazon_integration, sqs_queue):
    integration_push_enable(integration=amazon_integration)
    watermark = amazon_integration.orders_watermark
    order = new_order(amazon, amazon_seller)
    wait_sent(amazon_sandbox, 1)
    message = json.loads(sqs_queue[0].receive_message(QueueUrl=sqs_queue[1], VisibilityTimeout=0)["Messages"][0]["Body"])
    change = message["Payload"]["OrderChangeNotification"]
    assert (message["NotificationType"], change["AmazonOrderId"], change["SellerId"]) == (
        "ORDER_CHANGE", order["AmazonOrderId"], amazon_seller["selling_partner_id"])

    started = time.monotonic()
    assert consumer(sqs_queue).poll_once() == 1
    assert time.monotonic() - started < 10
    outbound = OutboundOrder.objects.get(reference=order["AmazonOrderId"])
    assert outbound.marketplace_link.integration_id == amazon_integration.id
    # Deleted after the commit: nothing comes back, not even after the visibility timeout.
    time.sleep(1.2)
    assert sqs_queue[0].receive_message(QueueUrl=sqs_queue[1], WaitTimeSeconds=0).get("Messages") is None
    amazon_integration.refresh_from_db()
    assert amazon_integration.push_last_event_at is not None
    assert amazon_integration.orders_watermark == watermark      # the poll's watermark is left to the poll


def test_a_failed_read_leaves_the_message_for_redelivery_and_nothing_half_done(
        amazon, amazon_sandbox, amazon_seller, amazon_integration, sqs_queue):
    integration_push_enable(integration=amazon_integration)
    order = new_order(amazon, amazon_seller)
    wait_sent(amazon_sandbox, 1)
    amazon.post("faults", {"error_rate": 1.0, "error_statuses": [503]})      # down for a while
    c = consumer(sqs_queue)
    assert c.poll_once() == 0                              # Amazon failed: the message is not deleted
    assert not ImportedOrder.objects.exists()
    amazon.post("faults", {})
    time.sleep(1.1)                                        # SQS makes it visible again
    assert c.poll_once() == 1
    assert ImportedOrder.objects.filter(marketplace_order_id=order["AmazonOrderId"]).count() == 1
    # The same notification again (a duplicate delivery) changes nothing.
    amazon.patch(f"sellers/{amazon_seller['selling_partner_id']}/orders/{order['AmazonOrderId']}",
                 {"OrderStatus": "PartiallyShipped"})
    wait_sent(amazon_sandbox, 2)
    assert c.poll_once() == 1
    assert OutboundOrder.objects.filter(reference=order["AmazonOrderId"]).count() == 1


def test_a_cancellation_pushed_by_amazon_cancels_the_unpicked_order(
        amazon, amazon_sandbox, amazon_seller, amazon_integration, sqs_queue):
    integration_push_enable(integration=amazon_integration)
    order = new_order(amazon, amazon_seller)
    c = consumer(sqs_queue)
    wait_sent(amazon_sandbox, 1)
    c.poll_once()
    amazon.patch(f"sellers/{amazon_seller['selling_partner_id']}/orders/{order['AmazonOrderId']}",
                 {"OrderStatus": "Canceled"})
    wait_sent(amazon_sandbox, 2)
    assert c.poll_once() == 1
    assert OutboundOrder.objects.get(reference=order["AmazonOrderId"]).status == OutboundOrder.Status.CANCELLED


def test_pushes_for_other_sellers_and_unreadable_messages_change_nothing(
        amazon, amazon_sandbox, amazon_seller, amazon_integration, sqs_queue, other_tenant):
    other_seller = amazon.post("sellers", {"marketplace_ids": [AU]})
    client, url = sqs_queue
    client.send_message(QueueUrl=url, MessageBody="not json")
    client.send_message(QueueUrl=url, MessageBody=json.dumps({"NotificationType": "ANY_OFFER_CHANGED"}))
    forged = {"NotificationType": "ORDER_CHANGE", "Payload": {"OrderChangeNotification": {
        "SellerId": other_seller["selling_partner_id"], "AmazonOrderId": "249-0000000-0000000"}}}
    client.send_message(QueueUrl=url, MessageBody=json.dumps(forged))
    assert consumer(sqs_queue).poll_once() == 3            # all done with, none imported
    assert not OutboundOrder.objects.exists()
    assert not amazon.calls("/orders/v0/orders")           # nothing was even read


def test_a_burst_of_pushed_orders_is_read_with_one_search_and_no_call_per_order(
        amazon, amazon_sandbox, amazon_seller, amazon_integration, sqs_queue):
    integration_push_enable(integration=amazon_integration)
    amazon_sandbox.set_rate_limits(enabled=False)
    placed = [new_order(amazon, amazon_seller)["AmazonOrderId"] for _ in range(25)]
    wait_sent(amazon_sandbox, 25)
    before = len(amazon.calls("/orders/v0/orders"))

    assert consumer(sqs_queue, visibility=10).poll_once() == 25        # more than one ReceiveMessage holds

    assert set(ImportedOrder.objects.values_list("marketplace_order_id", flat=True)) == set(placed)
    reads = amazon.calls("/orders/v0/orders")[before:]
    assert [c["path"] for c in reads] == ["/orders/v0/orders"]          # no getOrder, no getOrderItems
    assert sorted(reads[0]["query"]["AmazonOrderIds"][0].split(",")) == sorted(placed)
    assert amazon_integration.import_runs.count() == 1
