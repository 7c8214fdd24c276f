"""`manage.py orders_import INTEGRATION_ID [--since DATE] [--until DATE] [--order ID ...]`

Runs one order import in the foreground through the same service the Celery task uses, under the same
job lock, with a progress bar (read / created / failed / waiting for quota), then prints a one-line JSON
summary. For operators backfilling an account, and for benchmarks. Without dates or orders it is the
integration's poll (or its first import), resuming a stopped run.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from integrations.locks import job_lock
from integrations.models import ImportRun, Integration
from integrations.providers.base import ProviderError
from integrations.services.orders import first_import_lookback, orders_import


def _memory_mb(field: str) -> float:
    """This process's memory from /proc/self/status (VmHWM: peak resident, VmRSS: now). Not
    getrusage's ru_maxrss: Linux carries it over exec from the parent, so a worker started by a big
    process (a pytest run holding 20,000 orders, a supervisor) would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _date(value: str) -> dt.datetime:
    """YYYY-MM-DD (midnight UTC) or an ISO 8601 instant."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 time.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = "Import one integration's orders now, in the foreground, with a progress bar and a JSON summary."
    # As in a Celery worker (config/celery.py): the import, not the URLconf and admin the checks would load.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("integration_id", type=int)
        parser.add_argument("--since", help="From this date/time (UTC). Default with --until: the first-import lookback.")
        parser.add_argument("--until", help="Up to this date/time (UTC).")
        parser.add_argument("--order", action="append", default=[], metavar="ID", dest="orders",
                            help="A marketplace order id (repeatable) instead of a window.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (logs and pipes).")

    def handle(self, *args, integration_id, since, until, orders, no_progress, **options):
        integration = (Integration.objects.select_related("tenant", "customer", "default_warehouse")
                       .filter(pk=integration_id).exclude(status=Integration.Status.DELETED).first())
        if integration is None:
            raise CommandError(f"No integration {integration_id}.")
        if not integration.is_connected:
            raise CommandError(f"Integration {integration_id} is not connected to its marketplace.")
        start, end = (_date(since) if since else None), (_date(until) if until else None)
        if orders and (start or end):
            raise CommandError("Give either --order or a window (--since/--until), not both.")
        if end and not start:
            start = timezone.now() - first_import_lookback()
        if start and end and end <= start:
            raise CommandError("--until must be after --since.")
        kind = ImportRun.Kind.BACKFILL if (orders or start) else None

        bar = tqdm(total=0, unit="order", disable=no_progress, file=self.stderr._out, dynamic_ncols=True)

        def progress(run: ImportRun) -> None:
            bar.total = max(run.found, run.done)
            bar.n = run.done
            bar.set_postfix(created=run.imported, failed=run.failed, waiting_for_quota=run.waiting_for_quota,
                            refresh=False)
            bar.refresh()

        rss_at_start = _memory_mb("VmRSS")
        started = time.monotonic()
        error = ""
        with job_lock("orders_import", integration.id, ttl=3600) as mine:
            if not mine:
                bar.close()
                raise CommandError(f"An import of integration {integration_id} is running already; try again later.")
            try:
                result = orders_import(integration=integration, since=start, until=end, order_ids=orders or None,
                                       kind=kind, progress=progress)
                run = result.run
            except ProviderError as exc:
                error = exc.message
                run = integration.import_runs.order_by("-id").first()
            finally:
                bar.close()
        seconds = time.monotonic() - started
        summary = {"integration": integration.id, "run": run.id if run else None, "kind": run.kind if run else kind,
                   "state": run.state if run else "failed", "found": run.found if run else 0,
                   "created": run.imported if run else 0, "existing": run.existing if run else 0,
                   "skipped": run.skipped if run else 0, "failed": run.failed if run else 0,
                   "cancelled": run.cancelled if run else 0, "seconds": round(seconds, 3),
                   "orders_per_second": round((run.imported if run else 0) / seconds, 1) if seconds else 0.0,
                   "start_rss_mb": rss_at_start, "max_rss_mb": _memory_mb("VmHWM")}
        if error:
            summary["error"] = error
        self.stdout.write(json.dumps(summary))
        if error:
            raise CommandError(f"The import stopped: {error}")
