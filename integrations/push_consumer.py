"""The Amazon ORDER_CHANGE consumer loop (run by `manage.py amazon_push_consumer`)."""

from __future__ import annotations

import logging
import time

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.db import close_old_connections, connection

from .models import Integration
from .providers.amazon.mapping import order_change_event
from .providers.base import ProviderAuthError, ProviderError
from .services.connection import integration_mark_needs_reconnect
from .services.push import amazon_consumer_heartbeat, push_event_import, push_targets

logger = logging.getLogger(__name__)
MAX_MESSAGES = 10                 # SQS's maximum per ReceiveMessage


class AmazonPushConsumer:
    def __init__(self, *, queue_url: str, endpoint_url: str = "", region: str = "us-east-1", wait_seconds: int = 20,
                 visibility_seconds: int = 60):
        self.queue_url = queue_url
        self.wait_seconds = wait_seconds
        self.visibility_seconds = visibility_seconds
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

    def poll_once(self) -> int:
        """One long poll: returns how many messages were handled (and deleted)."""
        amazon_consumer_heartbeat()
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=MAX_MESSAGES,
                                          WaitTimeSeconds=self.wait_seconds,
                                          VisibilityTimeout=self.visibility_seconds)
        handled = 0
        for message in answer.get("Messages", []):
            if not connection.in_atomic_block:      # a long-lived process: drop broken or old connections
                close_old_connections()
            if self.handle(message["Body"]):
                # Only now: the order is committed (or the message can never be acted on).
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1
        return handled

    def handle(self, body: str) -> bool:
        """True when the message is done with (imported, or nothing to do); False to leave it on the queue
        for SQS to redeliver after the visibility timeout."""
        try:
            event = order_change_event(body)
        except ValueError as exc:
            logger.warning("push_consumer.unreadable_message %s", exc)
            return True                   # it will never become readable; the poll is the backstop
        if event is None:
            return True                   # another notification type
        done = True
        for integration in push_targets(marketplace=Integration.Marketplace.AMAZON, event=event):
            try:
                push_event_import(integration=integration, event=event)
            except ProviderAuthError as exc:
                integration_mark_needs_reconnect(integration_id=integration.id, reason=exc.message)
            except ProviderError as exc:
                logger.info("push_consumer.retry_later", extra={"integration_id": integration.id,
                                                                "marketplace_order_id": event.order_id,
                                                                "reason": exc.message})
                done = False              # throttled, 5xx or timed out: SQS redelivers it
            except Exception:             # the database or Redis is away for a moment: the same
                logger.exception("push_consumer.failed", extra={"integration_id": integration.id,
                                                                "marketplace_order_id": event.order_id})
                done = False
        return done
