from __future__ import annotations

from django.db import models
from django.db.models import F


class ImportRun(models.Model):
    """One order import, from its first page to its last: what it found and did, and where it stopped.

    A run that has to stop (the marketplace's quota, an outage) keeps its cursor; the next run of the same
    integration resumes this row instead of starting over, so a progress display follows one import from
    start to end however many task executions it takes.
    """

    class Kind(models.TextChoices):
        POLL = "poll", "Scheduled poll"
        FIRST_CONNECT = "first_connect", "First import after connecting"
        MISSING_ORDERS = "missing_orders", "Import missing orders"
        PUSH = "push", "Marketplace notification"
        BACKFILL = "backfill", "Command-line import"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting for the marketplace's quota"
        STOPPED = "stopped", "Stopped; resumes on the next run"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    OPEN_STATES = (State.RUNNING, State.WAITING, State.STOPPED)

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="import_runs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.RUNNING, db_index=True)
    # The request: a window or a list of order ids.
    since = models.DateTimeField(null=True, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    order_ids = models.JSONField(default=list, blank=True)
    # Where to carry on: the provider's opaque page cursor (Amazon NextToken, Etsy search + offset).
    cursor = models.JSONField(default=dict, blank=True)
    pages = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0, help_text="orders the marketplace listed")
    imported = models.PositiveIntegerField(default=0, help_text="outbound orders created")
    existing = models.PositiveIntegerField(default=0, help_text="already imported before")
    skipped = models.PositiveIntegerField(default=0, help_text="not warehouse work (FBA, pickup, not ready)")
    failed = models.PositiveIntegerField(default=0, help_text="could not be imported; retried")
    cancelled = models.PositiveIntegerField(default=0)
    waiting_for_quota = models.PositiveIntegerField(
        default=0, help_text="orders listed but not yet read in full because the quota is spent for now")
    quota_waits = models.PositiveIntegerField(default=0)
    resumes = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["integration", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def done(self) -> int:
        """Orders dealt with, one way or another."""
        return self.imported + self.existing + self.skipped + self.failed + self.cancelled

    @property
    def percent(self) -> int:
        if not self.is_open:
            return 100
        return min(99, int(100 * self.done / self.found)) if self.found else 0

    def add(self, **counts: int) -> None:
        """Adds to the counters in the database (F expressions: a concurrent reader never sees them go back)."""
        ImportRun.objects.filter(pk=self.pk).update(**{k: F(k) + v for k, v in counts.items() if v})
        for key, value in counts.items():
            setattr(self, key, getattr(self, key) + value)
