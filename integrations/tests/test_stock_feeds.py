"""Amazon stock feeds (issue 18): submitted without waiting, finished by FEED_PROCESSING_FINISHED through
the push consumer (5 calls: no getFeed), or by the getFeed backstop when no notification comes; a feed
Amazon never finishes is given up and its quantities sent again."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from integrations.models import ConnectionLogEntry, InventoryFeed, InventoryPush, InventoryRefusal
from integrations.providers.base import FeedFinished
from integrations.push_consumer import AmazonPushConsumer
from integrations.services.inventory import inventory_feed_finish, inventory_push
from integrations.services.push import integration_push_enable
from integrations.tasks import connection_log_prune, inventory_feeds_due_task
from tests.factories import ProductFactory, StockLevelFactory

pytestmark = pytest.mark.django_db

SKUS = [f"FEED-{n}" for n in range(8)]


@pytest.fixture
def stocked(amazon, amazon_seller, amazon_integration, customer, warehouse, products):
    """Eight SKUs with a listing on Amazon and one (the `products` fixture's CAP-03) without."""
    sp = amazon_seller["selling_partner_id"]
    for code in ("MUG-01", "TEE-02"):
        amazon.post(f"sellers/{sp}/listings", {"sku": code, "quantity": 0})
    for n, code in enumerate(SKUS):
        StockLevelFactory(product=ProductFactory(customer=customer, code=code), warehouse=warehouse, on_hand=n + 1)
        amazon.post(f"sellers/{sp}/listings", {"sku": code, "quantity": 0})
    amazon_integration.inventory_enabled = True
    amazon_integration.save()
    amazon_integration.inventory_warehouses.set([warehouse])
    return amazon_integration


def stock_calls(amazon, since: int) -> list[str]:
    return [f"{c['method']} {c['path']}" for c in amazon.calls("")[since:] if c["path"] != "/auth/o2/token"]


def test_the_notification_finishes_the_feed_in_five_calls_and_no_get_feed(
        amazon, amazon_seller, stocked, sqs_queue, eager_tasks):
    assert integration_push_enable(integration=stocked)
    stocked.refresh_from_db()
    subscriptions = amazon.get("notifications")["subscriptions"][amazon_seller["selling_partner_id"]]
    assert stocked.feed_subscription_id == subscriptions["FEED_PROCESSING_FINISHED"]["subscriptionId"]
    client, url = sqs_queue
    consumer = AmazonPushConsumer(queue_url=url, endpoint_url=client.meta.endpoint_url, wait_seconds=5,
                                  visibility_seconds=2)
    amazon.post("settings", {"feed_step_seconds": 0.3})
    before = len(amazon.calls(""))

    submitted = inventory_push(integration=stocked)
    feed = InventoryFeed.objects.get()
    assert (feed.feed_id, feed.status) == (submitted.reference, "processing")
    assert not InventoryPush.objects.exists()                      # nothing known before Amazon says
    # Amazon finishes the feed in its own time and says so on the queue.
    body = json.loads(client.receive_message(QueueUrl=url, WaitTimeSeconds=10, VisibilityTimeout=0)["Messages"][0]["Body"])
    assert body["notificationType"] == "FEED_PROCESSING_FINISHED"
    assert body["payload"]["feedProcessingFinishedNotification"]["feedId"] == feed.feed_id

    assert consumer.poll_once() == 1

    feed.refresh_from_db()
    assert feed.status == "done" and feed.accepted == len(SKUS) + 2 and feed.refused == 1
    assert sorted(InventoryPush.objects.values_list("sku", flat=True)) == sorted(SKUS + ["MUG-01", "TEE-02"])
    assert list(InventoryRefusal.objects.values_list("sku", flat=True)) == ["CAP-03"]
    made = stock_calls(amazon, before)
    assert len(made) == 5, made                                    # issue 18: at most 6
    assert [m.split()[0] for m in made] == ["POST", "PUT", "POST", "GET", "GET"]
    assert not any(m.startswith(f"GET /feeds/2021-06-30/feeds/{feed.feed_id}") for m in made)
    assert client.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None   # deleted
    # A repeated notification changes nothing: the feed is done once.
    assert inventory_feed_finish(feed_pk=feed.pk) is True
    assert stock_calls(amazon, before) == made


def test_without_a_notification_the_backstop_check_finishes_it(amazon, stocked, eager_tasks):
    amazon.post("settings", {"feed_step_seconds": 3600})           # Amazon takes its time
    submitted = inventory_push(integration=stocked)
    feed = InventoryFeed.objects.get()
    assert feed.next_check_at > timezone.now()                      # no getFeed at once
    assert inventory_feeds_due_task() == 0

    InventoryFeed.objects.update(next_check_at=timezone.now())
    assert inventory_feeds_due_task() == 1                          # one getFeed: still processing
    feed.refresh_from_db()
    assert feed.status == "processing" and feed.checks == 1 and feed.next_check_at > timezone.now()
    assert len([c for c in amazon.calls(f"/feeds/2021-06-30/feeds/{submitted.reference}")]) == 1
    # In flight: the next run sends nothing again meanwhile.
    assert inventory_push(integration=stocked).reference == ""

    amazon.post(f"feeds/{submitted.reference}/process", {})
    InventoryFeed.objects.update(next_check_at=timezone.now())
    assert inventory_feeds_due_task() == 1
    feed.refresh_from_db()
    assert feed.status == "done" and feed.accepted == len(SKUS) + 2
    assert ConnectionLogEntry.objects.filter(event="inventory.pushed", message__contains=feed.feed_id).count() == 1


def test_a_feed_amazon_never_finishes_is_given_up_and_its_levels_sent_again(amazon, stocked, eager_tasks):
    amazon.post("settings", {"feed_step_seconds": 36000})
    inventory_push(integration=stocked)
    InventoryFeed.objects.update(submitted_at=timezone.now() - dt.timedelta(hours=5), next_check_at=timezone.now())

    assert inventory_feeds_due_task() == 1

    feed = InventoryFeed.objects.get()
    assert feed.status == "expired"
    assert ConnectionLogEntry.objects.filter(event="inventory.feed_expired", level="ERROR").count() == 1
    again = inventory_push(integration=stocked)                     # no longer in flight: sent again
    assert again.reference and again.reference != feed.feed_id
    assert set(again.submitted.values()) == set(feed.quantities)


def test_finished_feeds_are_kept_a_week_like_the_log(amazon, stocked):
    amazon.post("settings", {"feed_step_seconds": 0})
    inventory_push(integration=stocked)
    feed = InventoryFeed.objects.get()
    assert inventory_feed_finish(feed_pk=feed.pk) is True
    connection_log_prune()
    assert InventoryFeed.objects.count() == 1
    InventoryFeed.objects.update(finished_at=timezone.now() - dt.timedelta(days=8))
    connection_log_prune()
    assert not InventoryFeed.objects.exists()


def test_a_notification_before_its_feed_is_recorded_comes_back_and_an_old_stranger_is_dropped(amazon_integration):
    now = timezone.now()
    early = FeedFinished(account_id=amazon_integration.account_id, feed_id="999", status="DONE",
                         result_document_id="doc", occurred_at=now)
    assert AmazonPushConsumer.feed_finished(early) is False          # left on the queue: redelivered
    old = FeedFinished(account_id=amazon_integration.account_id, feed_id="999", status="DONE",
                       occurred_at=now - dt.timedelta(hours=1))
    assert AmazonPushConsumer.feed_finished(old) is True             # not ours: dropped, nothing changed
    assert not InventoryFeed.objects.exists()


def test_the_integration_page_shows_a_feed_waiting_for_amazon(amazon, stocked, client, admin_user):
    amazon.post("settings", {"feed_step_seconds": 3600})
    submitted = inventory_push(integration=stocked)
    client.force_login(admin_user)
    html = client.get(f"/integrations/{stocked.id}/").content.decode()
    assert f"Feed {submitted.reference}: {len(SKUS) + 3} SKU(s) sent" in html
