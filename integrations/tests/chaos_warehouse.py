"""The warehouse of the chaos test, in processes of its own (like the scanners and WMS front ends that
use the REST API): every order awaiting pick is dispatched with tracking at once. Run by test_chaos.py
as `python -m integrations.tests.chaos_warehouse <share> <of> <stop file> <counts file>`; it dispatches
the orders whose id modulo <of> is <share> until the stop file appears, then writes its counts."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path


def main(share: int, of: int, stop: Path, counts_file: Path) -> None:
    import django

    django.setup()
    from django.db.models import F

    from warehouse.models import OutboundOrder
    from warehouse.services import PackageSpec, consignment_create, outbound_order_dispatch

    counts: Counter = Counter()
    while not stop.exists():
        awaiting = (OutboundOrder.objects.filter(status=OutboundOrder.Status.AWAITING_PICK)
                    .alias(share=F("id") % of).filter(share=share).order_by("id")[:100])
        for order in list(awaiting):
            try:
                consignment = order.consignments.first() or consignment_create(
                    order=order, carrier="Australia Post", packages=[PackageSpec(f"TRK{order.id:07d}")])
                outbound_order_dispatch(order=order, consignment=consignment)
                counts["orders"] += 1
            except Exception as exc:  # noqa: BLE001 - counted and shown by the test; tried again next round
                counts[f"error {type(exc).__name__}: {str(exc)[:80]}"] += 1
        time.sleep(0.3)
    counts_file.write_text(json.dumps(counts))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
