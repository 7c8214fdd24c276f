"""`manage.py orders_import`: the same import service as the task, in the foreground, with a progress bar
and a one-line JSON summary; and Etsy's spent daily quota holding every poll until retry-after."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from integrations.models import ConnectionLogEntry, ImportRun, Integration
from integrations.tasks import orders_import_due, orders_import_task
from warehouse.models import OutboundOrder

from .conftest import AU

pytestmark = pytest.mark.django_db


def run_command(*args) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("orders_import", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def test_the_command_imports_with_a_progress_bar_and_a_json_summary(amazon, amazon_seller, amazon_integration):
    sp = amazon_seller["selling_partner_id"]
    made = amazon.post(f"sellers/{sp}/orders", {"count": 3, "template": {
        "MarketplaceId": AU, "items": [{"SellerSKU": "MUG-01", "QuantityOrdered": 1}]}})["orders"]

    summary, progress = run_command(str(amazon_integration.id))
    assert summary["created"] == 3 and summary["state"] == "finished" and summary["kind"] == "poll"
    assert summary["run"] == ImportRun.objects.get().id and summary["max_rss_mb"] > 0
    assert "created=3" in progress and "order" in progress            # tqdm's bar on stderr

    OutboundOrder.objects.filter(reference=made[0]["AmazonOrderId"]).delete()
    summary, _ = run_command(str(amazon_integration.id), "--order", made[0]["AmazonOrderId"], "--no-progress")
    assert summary["kind"] == "backfill" and summary["created"] == 1


def test_the_command_refuses_bad_arguments_and_changes_nothing(amazon_integration):
    for args in (["999999"], [str(amazon_integration.id), "--since", "yesterday"],
                 [str(amazon_integration.id), "--since", "2026-01-02", "--until", "2026-01-01"],
                 [str(amazon_integration.id), "--order", "1", "--since", "2026-01-01"]):
        with pytest.raises(CommandError):
            call_command("orders_import", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not ImportRun.objects.exists()


def test_a_spent_etsy_day_holds_every_poll_until_retry_after(etsy, etsy_shop, etsy_integration):
    etsy.post("rate_limits", {"remaining_today": 0})
    orders_import_task.apply(args=[etsy_integration.id])
    etsy_integration.refresh_from_db()
    assert etsy_integration.poll_not_before > timezone.now() + timezone.timedelta(hours=23)
    assert ConnectionLogEntry.objects.filter(event="orders_import.quota_spent").count() == 1
    Integration.objects.filter(pk=etsy_integration.pk).update(last_import_at=None)
    calls = len(etsy.calls(""))
    for _ in range(3):                 # beat ticks: nothing is queued, nothing is called, nothing logged
        assert orders_import_due() == 0
    assert len(etsy.calls("")) == calls
    assert ConnectionLogEntry.objects.filter(event="orders_import.quota_spent").count() == 1
