"""The migration that encrypts existing addresses, run by `manage.py migrate` on SQLite and on PostgreSQL
against a database of its own, with rows written before it in plain text."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader

ROOT = Path(settings.BASE_DIR)


def _targets() -> tuple[str, str]:
    """The encrypting migration and the warehouse migration just before it (renumbered as others land)."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    mine = next(key for key in graph.nodes if key[0] == "warehouse" and key[1].endswith("_address_personal_fields_encrypted"))
    [before] = [p.key for p in graph.node_map[mine].parents if p.key[0] == "warehouse"]
    return before[1], mine[1]
NEW_KEY, OLD_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
KEYS = MultiFernet([Fernet(NEW_KEY), Fernet(OLD_KEY)])
COLUMNS = ("contact_name", "company_name", "street_address", "street_address_2", "telephone", "email",
           "latitude", "longitude")
PLAIN = ("Ada Plainrow", "Plain Pty", "1 Clear St", "Level 2", "+61 2 5550 0000", "ada@plain.example",
         Decimal("-33.868800"), Decimal("151.209300"))


def migrate(url: str, var: Path, target: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings", "HUB_VAR_DIR": str(var),
           "FIELD_ENCRYPTION_KEYS": f"{NEW_KEY},{OLD_KEY}", "SECRET_KEY": "migration-test",
           "CELERY_BROKER_URL": "memory://"}
    done = subprocess.run([sys.executable, "manage.py", "migrate", "warehouse", target, "--noinput"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


class Sqlite:
    param = "?"

    def __init__(self, tmp_path):
        self.path = tmp_path / "mig.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def connect(self):
        return sqlite3.connect(self.path)

    def drop(self):
        pass


class Postgres:
    param = "%s"

    def __init__(self, tmp_path):
        db = connection.settings_dict
        self.name = f"{db['NAME']}_mig"[:63]
        self.kw = {"host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432,
                   "user": db.get("USER") or "postgres", "password": db.get("PASSWORD") or ""}
        self.url = (f"postgres://{self.kw['user']}:{self.kw['password']}@{self.kw['host']}:{self.kw['port']}/"
                    f"{self.name}")
        self._admin("DROP DATABASE IF EXISTS {}", "CREATE DATABASE {}")

    def _admin(self, *statements):
        conn = psycopg2.connect(dbname="postgres", **self.kw)
        conn.autocommit = True
        with conn.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql.format(f'"{self.name}"'))
        conn.close()

    def connect(self):
        return psycopg2.connect(dbname=self.name, **self.kw)

    def drop(self):
        self._admin("DROP DATABASE IF EXISTS {}")


@pytest.mark.parametrize("engine", [Sqlite, Postgres])
def test_existing_addresses_are_encrypted_in_place_and_decrypted_back(engine, tmp_path):
    before, encrypting = _targets()
    db = engine(tmp_path)
    try:
        migrate(db.url, tmp_path, before)
        p = db.param
        # Encrypted by an earlier, interrupted run with what is now the old key: left as it is.
        already = Fernet(OLD_KEY).encrypt(b"Already Encrypted").decode()
        conn = db.connect()
        with conn:
            cur = conn.cursor()
            cur.execute(f"INSERT INTO warehouse_tenant (name, slug, created_at) VALUES ({p}, {p}, {p})",
                        ["T", "t", "2026-01-01 00:00:00+00:00"])
            cur.execute("SELECT id FROM warehouse_tenant")
            tenant_id = cur.fetchone()[0]
            insert = (f"INSERT INTO warehouse_address (tenant_id, {', '.join(COLUMNS)}, city, state, postcode, country, "
                      f"source, is_active, hidden_from_search, personal_data_purged_at, created_at, updated_at) "
                      f"VALUES ({', '.join([p] * 19)})")
            stamp = "2026-01-01 00:00:00+00:00"
            rows = [
                [tenant_id, *PLAIN[:6], str(PLAIN[6]), str(PLAIN[7]), "Sydney", "NSW", "2000", "AU", "amazon", True, False, None, stamp, stamp],
                [tenant_id, already, "", "", "", "", "", None, None, "Perth", "WA", "6000", "AU", "manual", True,
                 False, None, stamp, stamp],
                # Marked purged before there was a purge: emptied, not encrypted.
                [tenant_id, "Old Mark", "", "2 Gone St", "", "", "", None, None, "Hobart", "TAS", "7000", "AU",
                 "amazon", False, True, stamp, stamp, stamp],
            ]
            for row in rows:
                cur.execute(insert, row)
        conn.close()

        migrate(db.url, tmp_path, encrypting)

        conn = db.connect()
        cur = conn.cursor()
        cur.execute(f"SELECT {', '.join(COLUMNS)}, city FROM warehouse_address ORDER BY id")
        plain_row, already_row, purged_row = cur.fetchall()
        conn.close()
        assert all(str(v).startswith("gAAAA") for v in plain_row[:8])
        decrypted = [KEYS.decrypt(v.encode()).decode() for v in plain_row[:8]]
        assert decrypted[:6] == list(PLAIN[:6]) and [Decimal(v) for v in decrypted[6:]] == list(PLAIN[6:])
        assert plain_row[8] == "Sydney"                                           # plain fields stay plain
        assert already_row[0] == already and already_row[1:8] == ("", "", "", "", "", None, None)
        assert purged_row[:8] == ("", "", "", "", "", "", None, None)

        if engine is Postgres:
            return                         # backwards once is enough (the same code for both engines)
        migrate(db.url, tmp_path, before)                 # and back: plain text again

        conn = db.connect()
        cur = conn.cursor()
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM warehouse_address ORDER BY id")
        back = cur.fetchall()
        conn.close()
        assert tuple(back[0][:6]) == PLAIN[:6] and Decimal(str(back[0][6])) == PLAIN[6]
        assert back[1][0] == "Already Encrypted"
    finally:
        db.drop()
