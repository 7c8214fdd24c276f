"""Etsy's webhooks, as the sandbox sends them (reference/etsy-api.md §12).

When a receipt becomes paid, an `order.paid` event is POSTed to the registered URL (`{shop_id}` in it is
replaced), signed the Standard Webhooks way: headers `webhook-id`, `webhook-timestamp` (Unix seconds)
and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the
`whsec_` secret). Any non-2xx answer, or none within the timeout, is retried on Etsy's schedule:
immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; each attempt keeps the webhook-id and is
signed afresh. `time_scale` shortens the schedule for tests.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
ATTEMPT_TIMEOUT = 5.0


@dataclass
class Delivery:
    webhook_id: str
    shop_id: int
    url: str
    body: bytes
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False
    given_up: bool = False

    def summary(self) -> dict[str, Any]:
        return {"webhook_id": self.webhook_id, "shop_id": self.shop_id, "url": self.url,
                "event": json.loads(self.body), "attempts": self.attempts, "delivered": self.delivered,
                "given_up": self.given_up}


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class WebhookSender:
    """One background thread delivers every event in due order; the sandbox's lock is never held while
    the receiver is called (it may call the sandbox back to read the receipt)."""

    def __init__(self) -> None:
        self.url_template = ""
        self.secret = ""
        self.time_scale = 1.0
        self.payload_shape = "flat"         # "flat" or "data": the two shapes Etsy's developers report
        self.fail_next = 0                  # drop the next N attempts on the floor (tests of the retry)
        self.deliveries: list[Delivery] = []
        self._heap: list[tuple[float, int, Delivery, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def configure(self, *, url: str, secret: str | None = None, time_scale: float = 1.0,
                  payload_shape: str = "flat") -> str:
        if "{shop_id}" not in url and not url.rstrip("/").split("/")[-1].isdigit():
            raise ValueError("the URL must contain {shop_id}")
        if payload_shape not in ("flat", "data"):
            raise ValueError("payload_shape is flat or data")
        Webhook(secret or "whsec_AAAA")      # refuses a secret that is not base64
        with self._cond:
            self.url_template, self.secret = url, secret or new_secret()
            self.time_scale, self.payload_shape = max(time_scale, 1e-6), payload_shape
        return self.secret

    def reset(self) -> None:
        with self._cond:
            self.url_template = self.secret = ""
            self.deliveries, self._heap, self.fail_next = [], [], 0

    def order_paid(self, *, shop_id: int, receipt_id: int, api_base: str) -> Delivery | None:
        if not self.url_template:
            return None
        event = {"event_type": "order.paid", "shop_id": str(shop_id),
                 "resource_url": f"{api_base}/v3/application/shops/{shop_id}/receipts/{receipt_id}"}
        payload = {"data": event, "type": "order.paid", "timestamp": int(time.time())} \
            if self.payload_shape == "data" else event
        delivery = Delivery(webhook_id=f"msg_{secrets.token_hex(12)}", shop_id=shop_id,
                            url=self.url_template.replace("{shop_id}", str(shop_id)),
                            body=json.dumps(payload).encode())
        with self._cond:
            self.deliveries.append(delivery)
            self._schedule(delivery, 0)
        return delivery

    def _schedule(self, delivery: Delivery, attempt: int) -> None:
        due = time.monotonic() + RETRY_SCHEDULE[attempt] / self.time_scale
        heapq.heappush(self._heap, (due, next(self._seq), delivery, attempt))
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="etsy-sandbox-webhooks", daemon=True)
            self._thread.start()
        self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(timeout=(self._heap[0][0] - time.monotonic()) if self._heap else 1.0)
                _, _, delivery, attempt = heapq.heappop(self._heap)
                secret, drop = self.secret, self.fail_next > 0
                if drop:
                    self.fail_next -= 1
            if delivery not in self.deliveries:          # reset since it was queued
                continue
            status = self._attempt(delivery, secret) if not drop else 0
            with self._cond:
                delivery.attempts.append({"at": time.time(), "status": status})
                if 200 <= status < 300:
                    delivery.delivered = True
                elif attempt + 1 < len(RETRY_SCHEDULE):
                    self._schedule(delivery, attempt + 1)
                else:
                    delivery.given_up = True

    @staticmethod
    def _attempt(delivery: Delivery, secret: str) -> int:
        now = datetime.now(timezone.utc)
        signature = Webhook(secret).sign(delivery.webhook_id, now, delivery.body)
        headers = {"content-type": "application/json", "webhook-id": delivery.webhook_id,
                   "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
        try:
            return httpx.post(delivery.url, content=delivery.body, headers=headers, timeout=ATTEMPT_TIMEOUT).status_code
        except httpx.HTTPError:
            return 0
