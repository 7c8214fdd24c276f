"""`python manage.py pii_purge [--dry-run] [--tenant SLUG]`: one JSON line of counts per tenant."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from warehouse.models import Tenant

from ...services import pii_purge


class Command(BaseCommand):
    help = ("Clear the personal fields of Amazon addresses whose orders and consignments are done "
            "(30 days after dispatch or delivery run, 7 after rejection or cancellation). Prints one JSON "
            "line per tenant: eligible, cleared, and kept by reason. Days are counted by instant, in UTC.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count only; change nothing.")
        parser.add_argument("--tenant", help="Only this tenant (its slug).")

    def handle(self, *args, dry_run: bool = False, tenant: str | None = None, **options):
        only = None
        if tenant:
            only = Tenant.objects.filter(slug=tenant).first()
            if only is None:
                raise CommandError(f"No tenant with slug {tenant!r}.")
        for counts in pii_purge(dry_run=dry_run, tenant=only):
            self.stdout.write(json.dumps(counts.as_dict(), sort_keys=True))
