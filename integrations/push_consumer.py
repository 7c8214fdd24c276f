"""The Amazon notifications consumer loop (run by `manage.py amazon_push_consumer`): ORDER_CHANGE, and
FEED_PROCESSING_FINISHED for stock feeds (handed to a task that reads the feed's outcome).

Pushes are read in batches: after the first message of a round arrives, the consumer keeps receiving
for a short window (`batch_seconds`, at most 50 messages) and imports each integration's orders in one
run. On Amazon that is one getOrders (up to 50 AmazonOrderIds) and one RDT per batch instead of an RDT,
a getOrder and a getOrderItems per order: a seller's burst of orders stays within the usage plans
(getOrder 0.5 rps) and still arrives within seconds. A message is deleted only after its order is
committed (or when it can never be acted on).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.db import close_old_connections, connection
from django.utils import timezone

from .models import Integration
from .providers.amazon.mapping import feed_finished_event, order_change_event
from .providers.base import FeedFinished, ProviderAuthError, ProviderError, PushEvent
from .services.connection import integration_mark_needs_reconnect
from .services.inventory import inventory_feeds_named
from .services.push import amazon_consumer_heartbeat, push_events_import, push_targets

logger = logging.getLogger(__name__)
MAX_MESSAGES = 10                 # SQS's maximum per ReceiveMessage (and per DeleteMessageBatch)
MAX_BATCH = 50                    # getOrders' maximum of AmazonOrderIds
# A feed notification may come before createFeed's answer is committed here: it is redelivered, until
# it is this old; then it is not ours (the getFeed backstop finishes a feed whose notification is lost).
FEED_UNKNOWN_AFTER = dt.timedelta(minutes=10)


@dataclass
class _Batch:
    """One round's messages by id (a message redelivered within the round counts once)."""

    receipts: dict[str, str] = field(default_factory=dict)         # message id -> latest receipt handle
    bodies: dict[str, str] = field(default_factory=dict)

    def add(self, messages: list[dict]) -> None:
        for message in messages:
            self.receipts[message["MessageId"]] = message["ReceiptHandle"]
            self.bodies[message["MessageId"]] = message["Body"]


class AmazonPushConsumer:
    def __init__(self, *, queue_url: str, endpoint_url: str = "", region: str = "us-east-1", wait_seconds: int = 20,
                 visibility_seconds: int = 60, batch_seconds: float = 2.0):
        self.queue_url = queue_url
        self.wait_seconds = wait_seconds
        self.visibility_seconds = visibility_seconds
        # The window never outlasts the visibility timeout: a message must not reappear mid-batch.
        self.batch_seconds = max(0.0, min(batch_seconds, visibility_seconds / 2))
        self.sqs = boto3.client("sqs", region_name=region, endpoint_url=endpoint_url or None)
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    def run(self) -> None:
        while not self._stopping:
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                # The queue is unreachable: the poll backstop still runs; try again shortly.
                logger.warning("push_consumer.queue_unavailable %s", type(exc).__name__)
                time.sleep(2)
            except Exception:             # the database went away: reconnect on the next round
                logger.exception("push_consumer.round_failed")
                close_old_connections()
                time.sleep(1)

    def _receive(self, wait: int) -> list[dict]:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=MAX_MESSAGES,
                                          WaitTimeSeconds=wait, VisibilityTimeout=self.visibility_seconds)
        return answer.get("Messages", [])

    def poll_once(self) -> int:
        """One long poll and the batch window after it: returns how many messages were handled (and
        deleted)."""
        amazon_consumer_heartbeat()
        batch = _Batch()
        batch.add(self._receive(self.wait_seconds))
        if not batch.receipts:
            return 0
        deadline = time.monotonic() + self.batch_seconds
        while len(batch.receipts) < MAX_BATCH and not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            more = self._receive(0)
            if more:
                batch.add(more)
            else:
                time.sleep(min(0.1, left))
        if not connection.in_atomic_block:      # a long-lived process: drop broken or old connections
            close_old_connections()
        done = self.handle_batch(batch.bodies)
        # Only now: the orders are committed (or the messages can never be acted on).
        handles = [batch.receipts[message_id] for message_id in done]
        for start in range(0, len(handles), MAX_MESSAGES):
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(handles[start:start + MAX_MESSAGES])])
        return len(done)

    def handle(self, body: str) -> bool:
        """One message alone: True when it is done with."""
        return bool(self.handle_batch({"one": body}))

    @staticmethod
    def feed_finished(event: FeedFinished) -> bool:
        """Queues the outcome of the stock feed a FEED_PROCESSING_FINISHED names. False: not known here yet
        (leave it on the queue to come back)."""
        from .tasks import inventory_feed_finish_task

        processing, known = inventory_feeds_named(event=event)
        for feed_pk in processing:
            inventory_feed_finish_task.delay(feed_pk, event.account_id, event.feed_id, event.status,
                                             event.result_document_id)
        if known:
            return True
        return event.occurred_at is None or timezone.now() - event.occurred_at > FEED_UNKNOWN_AFTER

    def handle_batch(self, bodies: dict[str, str]) -> list[str]:
        """Imports the orders a batch of messages names, one run per integration. Returns the ids of the
        messages that are done with (imported, or nothing to do); the others stay on the queue for SQS
        to redeliver after the visibility timeout."""
        done = set()
        events: dict[int, tuple[Integration, list[tuple[str, PushEvent]]]] = {}
        targets: dict[tuple[str, str], list[Integration]] = {}
        for message_id, body in bodies.items():
            done.add(message_id)
            try:
                event = order_change_event(body)
                finished = None if event else feed_finished_event(body)
            except ValueError as exc:
                logger.warning("push_consumer.unreadable_message %s", exc)
                continue                  # it will never become readable; the poll is the backstop
            if finished is not None and not self.feed_finished(finished):
                done.discard(message_id)
            if event is None:
                continue                  # a feed's notification, or another type
            key = (event.account_id, event.marketplace_id)
            if key not in targets:
                targets[key] = push_targets(marketplace=Integration.Marketplace.AMAZON, event=event)
            for integration in targets[key]:
                events.setdefault(integration.id, (integration, []))[1].append((message_id, event))
        for integration, pairs in events.values():
            try:
                push_events_import(integration=integration, events=[event for _, event in pairs])
            except ProviderAuthError as exc:
                integration_mark_needs_reconnect(integration_id=integration.id, reason=exc.message)
            except ProviderError as exc:
                logger.info("push_consumer.retry_later", extra={"integration_id": integration.id,
                                                                "count": len(pairs), "reason": exc.message})
                done -= {message_id for message_id, _ in pairs}     # throttled, 5xx or timed out: redelivered
            except Exception:             # the database or Redis is away for a moment: the same
                logger.exception("push_consumer.failed", extra={"integration_id": integration.id,
                                                                "count": len(pairs)})
                done -= {message_id for message_id, _ in pairs}
        return [message_id for message_id in bodies if message_id in done]
