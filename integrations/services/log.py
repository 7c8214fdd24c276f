"""The connection log: what a person reads to see what the sync did, kept seven days.

Messages name orders, SKUs and fields, never a buyer's name, address, phone or email.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from warehouse.models import OutboundOrder

from ..models import ConnectionLogEntry, Integration
from ..text import one_full_stop

logger = logging.getLogger("integrations")

ERROR, INFO, DEBUG = ConnectionLogEntry.Level.ERROR, ConnectionLogEntry.Level.INFO, ConnectionLogEntry.Level.DEBUG
_PY_LEVEL = {ERROR: logging.ERROR, INFO: logging.INFO, DEBUG: logging.DEBUG}


def log_entry(*, integration: Integration, level: str, event: str, message: str,
              marketplace_order_id: str = "", order: OutboundOrder | None = None) -> ConnectionLogEntry:
    logger.log(_PY_LEVEL[level], event, extra={"integration_id": integration.id,
                                               "marketplace_order_id": marketplace_order_id,
                                               "order_id": order.id if order else None})
    return ConnectionLogEntry.objects.create(
        integration=integration, level=level, event=event[:60], message=one_full_stop(message)[:1000],
        marketplace_order_id=marketplace_order_id, order=order)


def log_entries(entries: Sequence[ConnectionLogEntry]) -> None:
    """Writes many entries at once (one statement): an import page's log goes in with its orders."""
    for e in entries:
        logger.log(_PY_LEVEL[e.level], e.event, extra={"integration_id": e.integration_id,
                                                      "marketplace_order_id": e.marketplace_order_id,
                                                      "order_id": e.order.id if e.order else None})
    if entries:
        ConnectionLogEntry.objects.bulk_create(entries)
