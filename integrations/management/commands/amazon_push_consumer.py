"""`manage.py amazon_push_consumer`: reads Amazon ORDER_CHANGE notifications from the SQS queue and
imports the orders through the one import service, within seconds of their being placed. Messages
are read in short batches so that a burst of orders costs one getOrders per 50 orders.

Long-polls with ReceiveMessage (WaitTimeSeconds), and deletes a message only after its order is
committed: a consumer killed half way leaves the message on the queue, where SQS makes it visible
again after the visibility timeout and it is imported then (a second import of the same order is a
no-op: one outbound order per marketplace order is a database constraint). Run one or several: each
message goes to one consumer at a time.
"""

from __future__ import annotations

import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.push_consumer import AmazonPushConsumer
from integrations.tasks import push_enable_missing

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Consume Amazon ORDER_CHANGE notifications from SQS and import each order."

    def add_arguments(self, parser):
        parser.add_argument("--queue-url", default=settings.AMAZON_NOTIFICATIONS_QUEUE_URL)
        parser.add_argument("--endpoint-url", default=settings.SQS_ENDPOINT_URL,
                            help="an SQS-compatible endpoint (moto's server on loopback); default: AWS")
        parser.add_argument("--wait-seconds", type=int, default=settings.SQS_WAIT_SECONDS)
        parser.add_argument("--once", action="store_true", help="one ReceiveMessage round, then exit")

    def handle(self, *args, **options):
        if not options["queue_url"]:
            raise CommandError("Set AMAZON_NOTIFICATIONS_QUEUE_URL (or --queue-url): the SQS queue Amazon "
                               "sends ORDER_CHANGE notifications to.")
        consumer = AmazonPushConsumer(queue_url=options["queue_url"], endpoint_url=options["endpoint_url"],
                                      region=settings.SQS_REGION, wait_seconds=options["wait_seconds"],
                                      visibility_seconds=settings.SQS_VISIBILITY_SECONDS,
                                      batch_seconds=settings.AMAZON_PUSH_BATCH_SECONDS)
        if options["once"]:
            consumer.poll_once()
            return
        queued = push_enable_missing()
        if queued:
            self.stdout.write(f"Subscribing {queued} active Amazon integration(s) to ORDER_CHANGE and "
                              "FEED_PROCESSING_FINISHED")
        signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
        signal.signal(signal.SIGINT, lambda *_: consumer.stop())
        self.stdout.write(f"Consuming ORDER_CHANGE and FEED_PROCESSING_FINISHED notifications from "
                          f"{options['queue_url']}")
        consumer.run()
