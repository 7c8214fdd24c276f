from __future__ import annotations

import uuid

from django.db import models


class PurgeRun(models.Model):
    """One purge of one tenant's Amazon addresses: counts only, never any buyer data."""

    tenant = models.ForeignKey("warehouse.Tenant", on_delete=models.CASCADE, related_name="pii_purge_runs")
    run_id = models.UUIDField(default=uuid.uuid4, db_index=True,
                              help_text="The same for every tenant purged by one command or beat run.")
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    eligible = models.PositiveIntegerField(default=0)
    cleared = models.PositiveIntegerField(default=0)
    kept = models.JSONField(default=dict, blank=True, help_text="Addresses kept, counted by reason.")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Purge {self.started_at:%Y-%m-%d %H:%M} ({'dry run' if self.dry_run else f'{self.cleared} cleared'})"
