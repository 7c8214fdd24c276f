"""Demo data for `make run`: one 3PL, two customers, Sydney and Los Angeles warehouses, products
with stock and a few orders. Idempotent: running it again changes nothing."""

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from warehouse.models import Customer, OutboundOrder, Product, ProductAlternativeCode, Tenant, User, Warehouse
from warehouse.services import (
    AddressData,
    LineSpec,
    PackageSpec,
    StockCount,
    consignment_create,
    outbound_order_create,
    outbound_order_dispatch,
    outbound_order_reject,
    stock_levels_set_on_hand,
)

# Amazon orders of Koala Mugs at different ages, so that `pii_purge --dry-run` has something to count:
# (order id, buyer, street, phone, what happened, days ago, delivery run days ago). Made-up people.
AMAZON_DEMO_ORDERS = (
    ("250-4417001-1000001", "Olivia Brennan", "14 Bellbird Lane", "+61 491 570 156", "dispatched", 45, 44),
    ("250-4417001-1000002", "Marcus Tran", "3/88 Ironbark Rd", "+61 491 570 157", "dispatched", 38, None),
    ("250-4417001-1000003", "Priya Raman", "9 Kookaburra St", "+61 491 570 158", "rejected", 10, None),
    ("250-4417001-1000004", "Hamish Doyle", "52 Wattle Ave", "+61 491 570 159", "dispatched", 12, 11),
    ("250-4417001-1000005", "Sophie Laurent", "7 Jacaranda Pde", "+61 491 570 110", "open", 0, None),
)

DEMO_LOGINS = (
    ("admin", "admin-demo-pass", "tenant admin of Harbour Logistics"),
    ("brand", "brand-demo-pass", "customer user of Koala Mugs Co (may self-manage integrations)"),
)


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print the demo logins."

    @transaction.atomic
    def handle(self, *args, **options):
        tenant, created = Tenant.objects.get_or_create(slug="harbour", defaults={"name": "Harbour Logistics"})
        syd, _ = Warehouse.objects.get_or_create(tenant=tenant, code="SYD", defaults={
            "name": "Sydney DC", "street_address": "12 Wharf Rd", "city": "Botany", "state": "NSW",
            "postcode": "2019", "country": "AU", "timezone": "Australia/Sydney"})
        lax, _ = Warehouse.objects.get_or_create(tenant=tenant, code="LAX", defaults={
            "name": "Los Angeles DC", "street_address": "400 Harbor Way", "city": "Carson", "state": "CA",
            "postcode": "90745", "country": "US", "timezone": "America/Los_Angeles"})
        mugs, _ = Customer.objects.get_or_create(tenant=tenant, code="KOALA", defaults={
            "name": "Koala Mugs Co", "email": "ops@koalamugs.example"})
        tees, _ = Customer.objects.get_or_create(tenant=tenant, code="PACIFIC", defaults={
            "name": "Pacific Tees", "email": "hello@pacifictees.example"})
        mugs.warehouses.add(syd, lax)
        tees.warehouses.add(lax)

        catalogue = {
            mugs: [("DEMO-MUG-01", "Stoneware mug, blue", "B0DEMOMUG1", {syd: 120, lax: 40}),
                   ("DEMO-TEE-02", "Koala tee", "B0DEMOTEE2", {syd: 60, lax: 25}),
                   ("DEMO-CAP-03", "Cap, sand", "B0DEMOCAP3", {syd: 35, lax: 0})],
            tees: [("PT-TEE-BLK-M", "Tee black M", "", {lax: 80}),
                   ("PT-TEE-WHT-L", "Tee white L", "", {lax: 55})],
        }
        products = {}
        for customer, items in catalogue.items():
            for code, name, asin, stock in items:
                product, made = Product.objects.get_or_create(tenant=tenant, customer=customer, code=code,
                                                              defaults={"name": name})
                products[code] = product
                if asin:
                    ProductAlternativeCode.objects.get_or_create(product=product, code=asin, defaults={"kind": "ASIN"})
                if made:
                    stock_levels_set_on_hand(tenant=tenant, counts=[
                        StockCount(product=product, warehouse=wh, on_hand=qty) for wh, qty in stock.items()])

        for username, password, _ in DEMO_LOGINS:
            if User.objects.filter(username=username).exists():
                continue
            user = User(username=username, tenant=tenant, email=f"{username}@harbour.example")
            if username == "admin":
                user.role, user.is_staff = User.Role.TENANT_ADMIN, True
            else:
                user.role, user.customer, user.may_self_manage_integrations = User.Role.CUSTOMER_USER, mugs, True
            user.set_password(password)
            user.save()

        if not OutboundOrder.objects.filter(tenant=tenant).exists():
            today = timezone.localdate()
            demo_orders = [
                (mugs, syd, "KM-1001", [("DEMO-MUG-01", 2)], "Express", True,
                 AddressData(contact_name="Demo Recipient", street_address="1 George St", city="Sydney",
                             state="NSW", postcode="2000", country="AU")),
                (mugs, syd, "KM-1002", [("DEMO-TEE-02", 1), ("DEMO-CAP-03", 1)], "Standard", True,
                 AddressData(contact_name="Demo Recipient", street_address="8 Collins St", city="Melbourne",
                             state="VIC", postcode="3000", country="AU")),
                (mugs, lax, "KM-1003", [("DEMO-MUG-01", 1)], "Standard", False,
                 AddressData(contact_name="Demo Recipient", street_address="200 Main St", city="Los Angeles",
                             state="CA", postcode="90012", country="US")),
                (tees, lax, "PT-5001", [("PT-TEE-BLK-M", 3)], "Ground", True,
                 AddressData(contact_name="Demo Recipient", street_address="5 Ocean Ave", city="Santa Monica",
                             state="CA", postcode="90401", country="US")),
            ]
            for customer, wh, ref, lines, method, allocate, address in demo_orders:
                outbound_order_create(
                    tenant=tenant, customer=customer, warehouse=wh, reference=ref, shipping_method=method,
                    lines=[LineSpec(product=products[code], quantity=qty) for code, qty in lines],
                    delivery_address=address, allocate=allocate,
                    required_collection_date=today + dt.timedelta(days=1),
                    required_delivery_date=today + dt.timedelta(days=4))

        if not OutboundOrder.objects.filter(tenant=tenant, source="amazon").exists():
            self._amazon_orders(tenant, mugs, syd, products["DEMO-MUG-01"])

        self.stdout.write(self.style.SUCCESS("Demo data ready." if created else "Demo data already loaded."))
        for username, password, what in DEMO_LOGINS:
            self.stdout.write(f"  login {username} / {password}  ({what})")

    def _amazon_orders(self, tenant, customer, warehouse, product):
        """Amazon orders dispatched or rejected long enough ago for the purge, and some not yet."""
        now = timezone.now()
        for order_id, buyer, street, phone, what, days, run_days in AMAZON_DEMO_ORDERS:
            when = now - dt.timedelta(days=days)
            order = outbound_order_create(
                tenant=tenant, customer=customer, warehouse=warehouse, reference=order_id, source="amazon",
                shipping_method="Standard", lines=[LineSpec(product=product, quantity=1)], allocate=True,
                delivery_address=AddressData(contact_name=buyer, street_address=street, city="Sydney", state="NSW",
                                             postcode="2000", country="AU", telephone=phone, source="amazon"))
            if what == "dispatched":
                run_date = (now - dt.timedelta(days=run_days)).date() if run_days is not None else None
                consignment = consignment_create(order=order, carrier="Australia Post", delivery_run_date=run_date,
                                                 packages=[PackageSpec(tracking_number=f"AP{order.id:09d}AU")])
                outbound_order_dispatch(order=order, consignment=consignment, dispatched_at=when)
            elif what == "rejected":
                outbound_order_reject(order=order, reason="Address undeliverable")
            if what != "open":
                # Back-date the last change as if it had happened then.
                OutboundOrder.objects.filter(pk=order.pk).update(created_at=when, updated_at=when)
                order.consignments.update(created_at=when, updated_at=when)
