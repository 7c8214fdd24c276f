"""Demo integrations with a billing history, so `make run`'s statement has something to show: run after
seed_demo. Idempotent: an integration that exists already (by customer and name) is left alone.

Relative to today (UTC), with P the previous month:
- Pacific Tees "Amazon US": active since P-10 (turned off P-20, on again P-22), connected to the Amazon
  sandbox's demo seller and polling from now on, so it stays live: the green dot.
- Pacific Tees "Etsy (first shop)": active P-02, needed a reconnect P-15, deleted P-25.
- Koala Mugs "Amazon AU (old account)": active from the 15th of the month before P, deleted P-28.
- Koala Mugs "Etsy pop-up": set up by the brand's own login, activated and deleted on P-05.
"""

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from billing.services import integration_event_record
from integrations.models import Integration
from warehouse.models import Customer, Tenant, User, Warehouse

# The Amazon sandbox's demo seller (`sandbox amazon --seed-demo`): sandbox credentials, not secrets.
SANDBOX_SELLER = "A2DEMOSANDBOX1"
SANDBOX_REFRESH_TOKEN = "Atzr|IwEBSandboxDemoRefreshToken"
US = "ATVPDKIKX0DER"


class Command(BaseCommand):
    help = "Demo integrations and their billing history (idempotent; run after seed_demo)."

    @transaction.atomic
    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug="harbour").first()
        if tenant is None:
            self.stderr.write("Run seed_demo first.")
            return
        now = timezone.now()
        this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        p = (this_month - dt.timedelta(days=1)).replace(day=1)
        before_p = (p - dt.timedelta(days=1)).replace(day=1)

        def day(month: dt.datetime, d: int, hour: int) -> dt.datetime:
            return month.replace(day=d, hour=hour)

        admin = User.objects.get(username="admin")
        brand = User.objects.get(username="brand")
        koala = Customer.objects.get(tenant=tenant, code="KOALA")
        pacific = Customer.objects.get(tenant=tenant, code="PACIFIC")
        lax = Warehouse.objects.get(tenant=tenant, code="LAX")
        syd = Warehouse.objects.get(tenant=tenant, code="SYD")
        made = 0
        for customer, marketplace, name, creator, extra, steps in [
            (pacific, "amazon", "Amazon US", admin,
             # Polls start from now: the sandbox's older demo orders stay for the wizard walkthrough.
             {"marketplace_id": US, "account_id": SANDBOX_SELLER, "refresh_token": SANDBOX_REFRESH_TOKEN,
              "default_warehouse": lax, "orders_watermark": now, "last_import_at": now},
             [(day(p, 10, 9), "activated", "active", admin), (day(p, 20, 14), "turned_off", "paused", admin),
              (day(p, 22, 8), "turned_on", "active", admin)]),
            (pacific, "etsy", "Etsy (first shop)", admin, {"default_warehouse": lax},
             [(day(p, 2, 10), "activated", "active", admin), (day(p, 15, 3), "needs_reconnect", "error", None),
              (day(p, 25, 16), "deleted", "deleted", admin)]),
            (koala, "amazon", "Amazon AU (old account)", admin, {"default_warehouse": syd},
             [(day(before_p, 15, 12), "activated", "active", admin), (day(p, 28, 9), "deleted", "deleted", admin)]),
            (koala, "etsy", "Etsy pop-up", brand, {"default_warehouse": syd},
             [(day(p, 5, 11), "activated", "active", brand), (day(p, 5, 18), "deleted", "deleted", brand)]),
        ]:
            if Integration.objects.filter(customer=customer, name=name).exists():
                continue
            integration = Integration(tenant=tenant, customer=customer, marketplace=marketplace, name=name,
                                      created_by=creator, wizard_step=5, connected_at=steps[0][0], **extra)
            for when, kind, status, user in steps:
                before, integration.status = integration.status, status
                if kind == "activated":
                    integration.activated_at = integration.activated_at or when
                if kind == "deleted":
                    integration.deleted_at, integration.refresh_token = when, ""
                integration.save()
                integration_event_record(integration=integration, kind=kind, from_status=before, user=user, at=when)
            made += 1
        self.stdout.write(self.style.SUCCESS(f"Billing demo: {made} integration(s) added."))
