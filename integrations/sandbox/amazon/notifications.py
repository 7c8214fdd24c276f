"""Notifications API v1 (destinations, subscriptions) and the messages Amazon puts on a subscribed SQS
queue: ORDER_CHANGE when an order is created or its status changes, FEED_PROCESSING_FINISHED when a
feed reaches DONE, FATAL or CANCELLED.

Written from Amazon's Notifications API documentation: destinations belong to the application and are
managed with grantless tokens (createDestination, getDestinations, getDestination, deleteDestination);
subscriptions belong to a selling partner (createSubscription, getSubscription need the seller's
token), and deleteSubscriptionById is grantless. One subscription per seller and notification type:
a second createSubscription answers 409.

The messages go to a real SQS-compatible queue (moto's server on loopback in tests and `make run`),
sent from a background thread so that a slow queue never holds the sandbox's lock.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from typing import TYPE_CHECKING, Any

from integrations.sandbox.http import Request, Response, json_response

from .common import SpApiError, iso, invalid_input
from .state import CallContext, Feed, Order, Seller

if TYPE_CHECKING:
    from .app import AmazonSandbox

logger = logging.getLogger(__name__)

NOTIFICATION_TYPES = frozenset({"ORDER_CHANGE", "ANY_OFFER_CHANGED", "FEED_PROCESSING_FINISHED",
                                "REPORT_PROCESSING_FINISHED", "FULFILLMENT_ORDER_STATUS"})
RETIRED = frozenset({"ORDER_STATUS_CHANGE", "MFN_ORDER_STATUS_CHANGE"})
# The feed and report notifications carry payload version 2020-09-04; SDKs subscribe with "1.0" too.
PAYLOAD_VERSIONS = {"FEED_PROCESSING_FINISHED": ("1.0", "2020-09-04"),
                    "REPORT_PROCESSING_FINISHED": ("1.0", "2020-09-04")}


def _type(request: Request) -> str:
    value = request.params["notificationType"]
    if value in RETIRED:
        raise invalid_input(f"The notification type {value} is no longer supported; use ORDER_CHANGE.")
    if value not in NOTIFICATION_TYPES:
        raise invalid_input(f"{value} is not a valid notificationType.")
    return value


# -- destinations (grantless) ----------------------------------------------------------------------

def create_destination(sb: AmazonSandbox, request: Request) -> Response:
    body = request.json() or {}
    name = body.get("name")
    spec = body.get("resourceSpecification") or {}
    if not isinstance(name, str) or not name or len(name) > 256:
        raise invalid_input("name is required (1 to 256 characters).")
    sqs = spec.get("sqs") if isinstance(spec, dict) else None
    arn = sqs.get("arn") if isinstance(sqs, dict) else None
    if not isinstance(arn, str) or not arn.startswith("arn:aws:sqs:") or len(arn.split(":")) != 6:
        raise invalid_input("resourceSpecification.sqs.arn must be an SQS queue ARN.")
    if any(d["resource"]["sqs"]["arn"] == arn for d in sb.state.destinations.values()):
        raise SpApiError(409, "Conflict", "A destination with the same resource already exists.")
    destination = {"name": name, "destinationId": sb.state.new_uuid(), "resource": {"sqs": {"arn": arn}}}
    sb.state.destinations[destination["destinationId"]] = destination
    return json_response({"payload": destination})


def get_destinations(sb: AmazonSandbox, request: Request) -> Response:
    return json_response({"payload": list(sb.state.destinations.values())})


def get_destination(sb: AmazonSandbox, request: Request) -> Response:
    destination = sb.state.destinations.get(request.params["destinationId"])
    if destination is None:
        raise SpApiError(404, "NotFound", "The requested destination was not found.")
    return json_response({"payload": destination})


def delete_destination(sb: AmazonSandbox, request: Request) -> Response:
    destination_id = request.params["destinationId"]
    if sb.state.destinations.pop(destination_id, None) is None:
        raise SpApiError(404, "NotFound", "The requested destination was not found.")
    for seller in sb.state.sellers.values():
        for kind, sub in list(seller.subscriptions.items()):
            if sub["destinationId"] == destination_id:
                del seller.subscriptions[kind]
    return json_response({})


def delete_subscription_by_id(sb: AmazonSandbox, request: Request) -> Response:
    kind, subscription_id = _type(request), request.params["subscriptionId"]
    for seller in sb.state.sellers.values():
        sub = seller.subscriptions.get(kind)
        if sub is not None and sub["subscriptionId"] == subscription_id:
            del seller.subscriptions[kind]
            return json_response({})
    raise SpApiError(404, "NotFound", "The requested subscription was not found.")


# -- subscriptions (the seller's token) ------------------------------------------------------------

def create_subscription(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    kind = _type(request)
    body = request.json() or {}
    destination_id = body.get("destinationId")
    if body.get("payloadVersion") not in PAYLOAD_VERSIONS.get(kind, ("1.0",)):
        raise invalid_input(f"payloadVersion must be one of {', '.join(PAYLOAD_VERSIONS.get(kind, ('1.0',)))}.")
    if destination_id not in sb.state.destinations:
        raise invalid_input("destinationId does not name one of the application's destinations.")
    if kind in ctx.seller.subscriptions:
        raise SpApiError(409, "Conflict", "A subscription for this notification type already exists.",
                         f"subscriptionId {ctx.seller.subscriptions[kind]['subscriptionId']}")
    sub = {"subscriptionId": sb.state.new_uuid(), "payloadVersion": body["payloadVersion"],
           "destinationId": destination_id}
    if isinstance(body.get("processingDirective"), dict):
        sub["processingDirective"] = body["processingDirective"]
    ctx.seller.subscriptions[kind] = sub
    return json_response({"payload": sub})


def get_subscription(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    sub = ctx.seller.subscriptions.get(_type(request))
    if sub is None:
        raise SpApiError(404, "NotFound", "The requested subscription was not found.")
    return json_response({"payload": sub})


# -- ORDER_CHANGE messages -------------------------------------------------------------------------

def order_change_message(sb: AmazonSandbox, order: Order, subscription: dict[str, Any], *,
                         change_type: str = "OrderStatusChange", reason: str = "") -> dict[str, Any]:
    """One notification in Amazon's envelope (NotificationVersion 1.0, payload version 1.0)."""
    now = iso(sb.state.clock.now())
    data = order.data
    summary: dict[str, Any] = {
        "MarketplaceId": data.get("MarketplaceId"),
        "OrderStatus": data.get("OrderStatus"),
        "PurchaseDate": data.get("PurchaseDate"),
        "DestinationPostalCode": (data.get("ShippingAddress") or {}).get("PostalCode"),
        "FulfillmentType": data.get("FulfillmentChannel"),
        "OrderType": data.get("OrderType"),
        "NumberOfItemsShipped": data.get("NumberOfItemsShipped", 0),
        "NumberOfItemsUnshipped": data.get("NumberOfItemsUnshipped", 0),
        "EarliestShipDate": data.get("EarliestShipDate"),
        "LatestShipDate": data.get("LatestShipDate"),
        "EarliestDeliveryDate": data.get("EarliestDeliveryDate"),
        "LatestDeliveryDate": data.get("LatestDeliveryDate"),
        "OrderItems": [{"OrderItemId": i["OrderItemId"], "SellerSKU": i.get("SellerSKU"),
                        "SupplySourceId": (data.get("FulfillmentInstruction") or {}).get("FulfillmentSupplySourceId"),
                        "Quantity": i.get("QuantityOrdered")} for i in order.items],
    }
    return {
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": now,
        "Payload": {"OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": order.seller_id,
            "AmazonOrderId": order.id,
            "OrderChangeType": change_type,
            "OrderChangeTrigger": {"TimeOfOrderChange": data.get("LastUpdateDate") or now,
                                   "ChangeReason": reason or f"Order status is now {data.get('OrderStatus')}"},
            "Summary": summary,
        }},
        "NotificationMetadata": {
            "ApplicationId": sb.state.app.application_id,
            "SubscriptionId": subscription["subscriptionId"],
            "PublishTime": now,
            "NotificationId": sb.state.new_uuid(),
        },
    }


class SqsSender:
    """Puts messages on SQS queues named by ARN, from one background thread, in order."""

    def __init__(self) -> None:
        self.endpoint_url = ""
        self.sent: list[dict[str, Any]] = []          # what was delivered (or failed), for tests and the page
        self._queue: queue.Queue[tuple[str, str, str]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._urls: dict[str, str] = {}
        self._start_lock = threading.Lock()

    def send(self, arn: str, body: dict[str, Any], order_id: str) -> None:
        """Queues one message; `order_id` names what it is about (an order, or a feed) in `sent`."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="amazon-sandbox-sqs", daemon=True)
                self._thread.start()
        self._queue.put((arn, json.dumps(body), order_id))

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued message was handed to SQS (tests)."""
        import time

        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _client(self, region: str) -> Any:
        import boto3

        key = (self.endpoint_url, region)
        if key not in self._clients:
            # moto accepts any credentials; a real queue would need the sandbox operator's own.
            self._clients[key] = boto3.client("sqs", region_name=region, endpoint_url=self.endpoint_url or None,
                                              aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
        return self._clients[key]

    def _run(self) -> None:
        while True:
            arn, body, order_id = self._queue.get()
            try:
                _, _, _, region, account, name = arn.split(":")
                client = self._client(region)
                url = self._urls.get(arn)
                if url is None:
                    url = self._urls[arn] = client.get_queue_url(QueueName=name,
                                                                 QueueOwnerAWSAccountId=account)["QueueUrl"]
                client.send_message(QueueUrl=url, MessageBody=body)
                self.sent.append({"arn": arn, "order_id": order_id, "ok": True})
            except Exception as exc:  # noqa: BLE001 - a lost notification is what polling is for
                logger.warning("amazon_sandbox.notification_not_sent %s: %s", order_id, type(exc).__name__)
                self.sent.append({"arn": arn, "order_id": order_id, "ok": False, "error": type(exc).__name__})
            finally:
                self._queue.task_done()


def notify_order_change(sb: AmazonSandbox, order: Order, *, change_type: str = "OrderStatusChange",
                        reason: str = "") -> bool:
    """Called with the sandbox's lock held whenever an order is created or its status changes."""
    seller = sb.state.sellers.get(order.seller_id)
    sub = seller.subscriptions.get("ORDER_CHANGE") if seller else None
    destination = sb.state.destinations.get(sub["destinationId"]) if sub else None
    if destination is None:
        return False
    sb.sqs.send(destination["resource"]["sqs"]["arn"],
                order_change_message(sb, order, sub, change_type=change_type, reason=reason), order.id)
    return True


# -- FEED_PROCESSING_FINISHED messages -------------------------------------------------------------

def feed_finished_message(sb: AmazonSandbox, seller: Seller, feed: Feed, subscription: dict[str, Any]) -> dict[str, Any]:
    """One notification in the 2020-09-04 envelope, whose keys are camelCase."""
    now = iso(sb.state.clock.now())
    payload: dict[str, Any] = {"sellerId": seller.selling_partner_id,
                               "accountId": f"amzn1.merchant.o.{seller.selling_partner_id}",
                               "feedId": feed.id, "feedType": feed.feed_type, "processingStatus": feed.status}
    if feed.result_document_id:
        payload["resultFeedDocumentId"] = feed.result_document_id
    return {
        "notificationVersion": "2020-09-04",
        "notificationType": "FEED_PROCESSING_FINISHED",
        "payloadVersion": "2020-09-04",
        "eventTime": now,
        "payload": {"feedProcessingFinishedNotification": payload},
        "notificationMetadata": {
            "applicationId": sb.state.app.application_id,
            "subscriptionId": subscription["subscriptionId"],
            "publishTime": now,
            "notificationId": sb.state.new_uuid(),
        },
    }


def notify_feed_finished(sb: AmazonSandbox, seller: Seller, feed: Feed) -> bool:
    """Called with the sandbox's lock held when a feed reaches DONE, FATAL or CANCELLED."""
    sub = seller.subscriptions.get("FEED_PROCESSING_FINISHED")
    destination = sb.state.destinations.get(sub["destinationId"]) if sub else None
    if destination is None:
        return False
    sb.sqs.send(destination["resource"]["sqs"]["arn"], feed_finished_message(sb, seller, feed, sub), f"feed {feed.id}")
    return True
