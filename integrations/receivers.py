"""Reactions to warehouse events. The warehouse knows no marketplace; this is where we listen."""

import logging

logger = logging.getLogger(__name__)


def on_order_dispatched(sender, *, tenant_id: int, order_id: int, **kwargs) -> None:
    from .models import ImportedOrder
    from .tasks import confirmations_send_task

    if ImportedOrder.objects.filter(order_id=order_id).exists():
        confirmations_send_task.delay(order_id)
