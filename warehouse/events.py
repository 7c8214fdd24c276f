"""Events the warehouse publishes. It knows no marketplace: integrations subscribe in their AppConfig.

Events are sent only after the transaction that caused them commits, so a subscriber never sees a
dispatch that was rolled back.
"""

from django.db import transaction
from django.dispatch import Signal

# kwargs: tenant_id, order_id. Sent when an order is dispatched, and again when tracking is added to
# a dispatched order's packages (the marketplace is told once a package has tracking).
outbound_order_dispatched = Signal()

# kwargs: tenant_id, order_id, status. Sent when an order is cancelled or rejected.
outbound_order_closed = Signal()


def publish_on_commit(signal: Signal, **payload: object) -> None:
    transaction.on_commit(lambda: signal.send(sender="warehouse", **payload), robust=True)
