"""The Amazon address purge at scale: `make bench` prints `pii_purge: <seconds>` for clearing
1,000,000 eligible addresses (goal: 60 s or less). Not part of `make test`: its small version there is
pii/tests/test_purge_rules.py::test_a_few_statements_per_batch_whatever_the_number_of_addresses.

The rows are made in PostgreSQL with generate_series (one INSERT … SELECT per table), each address with
real Fernet tokens in its personal fields, one order dispatched 40 days ago and one consignment.
"""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from config.fields import encrypt_text
from pii.services import pii_purge_tenant
from warehouse.models import Address, Consignment, OutboundOrder

ADDRESSES = int(os.environ.get("BENCH_PII_ADDRESSES", "1000000"))


def insert_select(model: type[Model], values: dict[str, str], source: str, params: list) -> int:
    """INSERT INTO model's table (every column) SELECT …: `values` gives SQL for the columns that matter;
    the others get their model default, so columns added later need no change here."""
    columns, exprs, defaults = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.column in values:
            exprs.append(values[f.column])
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            exprs.append("now()")
        else:
            exprs.append("%s")
            defaults.append(f.get_db_prep_save(f.get_default(), connection))
    sql = (f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(exprs)} {source}")
    # The defaults' placeholders come first in the statement, the source's after.
    with connection.cursor() as cursor:
        cursor.execute(sql, [*defaults, *params])
        return cursor.rowcount


def make_purgeable_addresses(tenant, customer, warehouse, count: int) -> int:
    """`count` Amazon addresses, each with one order dispatched 40 days ago and one consignment."""
    old = timezone.now() - dt.timedelta(days=40)
    tokens = {name: encrypt_text(value) for name, value in (
        ("contact_name", "Bench Buyer Name"), ("company_name", "Bench Company Pty Ltd"),
        ("street_address", "1234 Long Benchmark Road"), ("street_address_2", "Unit 56"),
        ("telephone", "+61 491 570 006"), ("email", "bench.buyer@marketplace.amazon.com.au"),
        ("latitude", "-33.868800"), ("longitude", "151.209300"))}
    q = connection.ops.quote_name
    made = insert_select(Address, {
        "tenant_id": str(tenant.id), "customer_id": str(customer.id), "city": "'Sydney'", "state": "'NSW'",
        "postcode": "'2000'", "country": "'AU'", "source": "'amazon'", "is_active": "true",
        "hidden_from_search": "false", "personal_data_purged_at": "NULL",
        **{name: f"'{token}'" for name, token in tokens.items()},
    }, "FROM generate_series(1, %s) AS g", [count])
    insert_select(OutboundOrder, {
        "tenant_id": str(tenant.id), "customer_id": str(customer.id), "warehouse_id": str(warehouse.id),
        "reference": "'AMZ-' || a.id", "source": "'amazon'", "delivery_address_id": "a.id",
        "status": "'dispatched'", "dispatched_at": f"'{old.isoformat()}'::timestamptz",
        "updated_at": f"'{old.isoformat()}'::timestamptz",
    }, f"FROM {Address._meta.db_table} a WHERE a.{q('tenant_id')} = %s", [tenant.id])
    insert_select(Consignment, {
        "tenant_id": str(tenant.id), "order_id": "o.id", "carrier": "'Australia Post'", "status": "'dispatched'",
        "updated_at": f"'{old.isoformat()}'::timestamptz",
    }, f"FROM {OutboundOrder._meta.db_table} o WHERE o.{q('tenant_id')} = %s", [tenant.id])
    with connection.cursor() as cursor:
        for model in (Address, OutboundOrder, Consignment):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return made


@pytest.mark.django_db(transaction=True)
def test_bench_pii_purge(tenant, customer, warehouse):
    started = time.perf_counter()
    made = make_purgeable_addresses(tenant, customer, warehouse, ADDRESSES)
    generate_seconds = time.perf_counter() - started
    assert made == ADDRESSES

    started = time.perf_counter()
    counts = pii_purge_tenant(tenant=tenant)
    seconds = time.perf_counter() - started

    print(f"\npii_purge rows made: {made} in {generate_seconds:.1f} s")
    print(f"pii_purge: {seconds:.1f}")
    print(f"pii_purge addresses per second: {counts.cleared / seconds:,.0f}")
    assert counts.cleared == counts.eligible == ADDRESSES and dict(counts.kept) == {}
    assert not Address.objects.filter(personal_data_purged_at__isnull=True).exists()
