"""After a purge, the buyer's name, street and phone are nowhere: not in any table or column (a
`pg_dump --data-only` of the whole test database, JSON columns included), not in the cache, not in a
task's arguments or result, not in the admin's history, not in a file under var/.

The order goes the whole way through the real parts: imported from the Amazon sandbox over HTTP (first
refused for an unknown SKU, so a pending import and error log entries exist), edited in the admin,
dispatched, and its shipment confirmed to the sandbox by the task the dispatch triggers."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from integrations.models import ConnectionLogEntry, PackageConfirmation, PendingImport
from integrations.tasks import orders_import_task
from pii.services import pii_purge_tenant
from tests.factories import ProductFactory, StockLevelFactory, UserFactory
from warehouse.models import OutboundOrder
from warehouse.services import PackageSpec, consignment_create, outbound_order_allocate, outbound_order_dispatch

AU = "A39IBJ37TRP1C6"
NAME, STREET, LINE2, PHONE = "Zebedee Quillfeather", "77 Wombat Crescent", "Unit 4 Quokka House", "+61 400 123 987"
SECRETS = (NAME, "Quillfeather", STREET, "Wombat Crescent", LINE2, PHONE, "400 123 987")


def pg_dump() -> str:
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    cmd = ["pg_dump", "--data-only", "--no-owner", "-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432),
           "-U", db.get("USER") or "postgres", db["NAME"]]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "COPY public.warehouse_address" in out and "COPY public.integrations_connectionlogentry" in out
    return out


def ciphertexts(address_id: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_name, street_address, street_address_2, telephone, email "
                       "FROM warehouse_address WHERE id = %s", [address_id])
        return [v for v in cursor.fetchone() if v]


def cached_bytes() -> bytes:
    client = cache._cache.get_client(None, write=False)
    return b"".join(k + (client.get(k) or b"") for k in client.scan_iter("*") if client.type(k) == b"string")


def var_files_containing(text: str) -> list[str]:
    found = []
    for path in Path(settings.VAR_DIR).rglob("*"):
        if path.is_file() and path.stat().st_size < 200_000_000 and text.encode() in path.read_bytes():
            found.append(str(path))
    return found


@pytest.mark.django_db(transaction=True)
def test_after_a_purge_the_buyer_is_nowhere_in_the_database(amazon, amazon_seller, amazon_integration, customer,
                                                            warehouse, eager_tasks, tenant):
    sp = amazon_seller["selling_partner_id"]
    order = amazon.post(f"sellers/{sp}/orders", {
        "MarketplaceId": AU, "items": [{"SellerSKU": "NEW-SKU-9", "QuantityOrdered": 1}],
        "ShippingAddress": {"Name": NAME, "AddressLine1": STREET, "AddressLine2": LINE2, "City": "Newtown",
                            "StateOrRegion": "NSW", "PostalCode": "2042", "CountryCode": "AU", "Phone": PHONE},
    })
    amazon_order_id = order["AmazonOrderId"]

    # Refused first (unknown SKU): a pending import and an error in the connection log. The task takes an
    # id and returns counts.
    result = orders_import_task.delay(amazon_integration.id).get()
    assert result == {"created": 0, "failed": 1, "cancelled": 0}
    assert PendingImport.objects.filter(marketplace_order_id=amazon_order_id).exists()
    product = ProductFactory(customer=customer, code="NEW-SKU-9")
    StockLevelFactory(product=product, warehouse=warehouse, on_hand=5)
    assert orders_import_task.delay(amazon_integration.id).get()["created"] == 1
    outbound = OutboundOrder.objects.get(reference=amazon_order_id)
    if outbound.status == OutboundOrder.Status.DRAFT:
        outbound = outbound_order_allocate(order=outbound)
    address = outbound.delivery_address
    assert (address.contact_name, address.street_address, address.telephone) == (NAME, STREET, PHONE)

    # A tenant admin corrects the address in the Django admin: history is kept of that.
    staff = UserFactory(tenant=tenant, role="tenant_admin", is_staff=True)
    admin = Client()
    admin.force_login(staff)
    response = admin.post(f"/admin/warehouse/address/{address.id}/change/", {
        "contact_name": NAME, "company_name": "", "street_address": STREET, "street_address_2": LINE2,
        "city": "Newtown", "state": "NSW", "postcode": "2042", "country": "AU", "telephone": PHONE,
        "email": "", "latitude": "", "longitude": "", "customer": ""})
    assert response.status_code == 302

    consignment = consignment_create(order=outbound, carrier="Australia Post",
                                     packages=[PackageSpec(tracking_number="AP123456789AU")])
    outbound_order_dispatch(order=outbound, consignment=consignment)
    assert PackageConfirmation.objects.get().state == "confirmed"           # the triggered task ran
    assert ConnectionLogEntry.objects.filter(level="ERROR").exists()

    # Before the purge: encrypted at rest, so no clear text anywhere, but the encrypted values are there.
    before = pg_dump()
    for secret in SECRETS:
        assert secret not in before
    tokens = ciphertexts(address.id)
    assert len(tokens) == 4 and all(t in before for t in tokens)

    counts = pii_purge_tenant(tenant=tenant, now=timezone.now() + dt.timedelta(days=30, minutes=1))
    assert counts.cleared == 1

    after = pg_dump()
    for secret in (*SECRETS, *tokens):
        assert secret not in after
    assert "Newtown" in after and amazon_order_id in after          # the dump is the real one
    for secret in SECRETS:
        assert secret.encode() not in cached_bytes()
        assert var_files_containing(secret) == []
