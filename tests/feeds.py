"""Amazon stock feeds in tests: Amazon processes a submitted feed in its own time; here, at once."""

from __future__ import annotations

from integrations.models import Integration, InventoryFeed
from integrations.services.inventory import inventory_feed_finish


def feeds_processed(amazon, integration: Integration) -> int:
    """Amazon (the sandbox) processes every feed of the integration that is still processing, and the
    backstop check (getFeed, then the report) records each outcome. Returns how many were finished."""
    finished = 0
    for feed in InventoryFeed.objects.filter(integration=integration, status=InventoryFeed.Status.PROCESSING):
        amazon.post(f"feeds/{feed.feed_id}/process", {})
        assert inventory_feed_finish(feed_pk=feed.pk) is True
        finished += 1
    return finished
