"""Etsy ORDER_PAID webhooks: one endpoint per shop, unauthenticated by design and trusted only through
its Standard Webhooks signature (HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" with the
app's signing secret). Forged and stale (more than 5 minutes off) requests are refused; a webhook-id
already received changes nothing. The answer comes at once; the receipt is read and imported in a task.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from .models import Integration
from .providers.etsy.mapping import webhook_event
from .services.push import push_delivery_record, push_targets

logger = logging.getLogger(__name__)


@csrf_exempt          # a marketplace, not a browser session, posts here; the signature is the check
@require_POST
def etsy_webhook(request, shop_id: str):
    secret = settings.ETSY_WEBHOOK_SIGNING_SECRET
    if not secret:
        return JsonResponse({"error": "Etsy webhooks are not configured."}, status=404)
    try:
        payload = Webhook(secret).verify(request.body, dict(request.headers))
    except WebhookVerificationError as exc:
        logger.warning("etsy_webhook.refused", extra={"shop_id": shop_id, "reason": str(exc)})
        return JsonResponse({"error": f"signature check failed: {exc}"}, status=401)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "the body is not JSON"}, status=400)
    try:
        event = webhook_event(payload)
    except ValueError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if event is None:
        return JsonResponse({"status": "ignored", "reason": "not an order.paid event"})
    if event.account_id != shop_id:
        return JsonResponse({"error": "the event is for another shop than this endpoint's"}, status=400)
    targets = push_targets(marketplace=Integration.Marketplace.ETSY, event=event)
    if not targets:
        return JsonResponse({"status": "ignored", "reason": "no active integration for this shop"})
    from .tasks import push_import_task

    with transaction.atomic():
        if not push_delivery_record(source="etsy", event_id=request.headers["webhook-id"]):
            return JsonResponse({"status": "duplicate"})
        # Queued inside the transaction: if the broker is unreachable the id is not recorded, we answer
        # 5xx, and Etsy's retry delivers it again.
        for integration in targets:
            push_import_task.delay(integration.id, event.order_id, event.change)
    logger.info("etsy_webhook.queued", extra={"shop_id": shop_id, "marketplace_order_id": event.order_id})
    return JsonResponse({"status": "queued"}, status=202)



