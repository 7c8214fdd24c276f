import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

HEARTBEAT_CACHE_KEY = "hub:heartbeat"


@shared_task
def heartbeat() -> str:
    """Beat → worker wiring check: records when a worker last ran a scheduled task."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_CACHE_KEY, now, timeout=None)
    logger.info("heartbeat.beat", extra={"at": now})
    return now
