"""Addresses' personal fields become encrypted at rest; existing rows are encrypted in place.

The columns become text first (PostgreSQL converts numbers with a cast, SQLite copies the table), then
the rows are rewritten through plain SQL in batches: values already encrypted are left alone, so the
migration can be run again after an interruption. Works on SQLite and PostgreSQL.
"""

from django.db import migrations, models

import config.fields
from config.fields import decrypt_text, encrypt_text

PERSONAL = ("contact_name", "company_name", "street_address", "street_address_2", "telephone", "email",
            "latitude", "longitude")
BATCH = 1000


def _is_encrypted(value: str) -> bool:
    try:
        decrypt_text(value)
    except Exception:
        return False
    return True


def _rewrite(apps, schema_editor, convert) -> None:
    Address = apps.get_model("warehouse", "Address")
    table = schema_editor.quote_name(Address._meta.db_table)
    columns = ", ".join(schema_editor.quote_name(c) for c in PERSONAL)
    assignments = ", ".join(f"{schema_editor.quote_name(c)} = %s" for c in PERSONAL)
    last = 0
    with schema_editor.connection.cursor() as cursor:
        while True:
            cursor.execute(f"SELECT id, personal_data_purged_at, {columns} FROM {table} WHERE id > %s "
                           f"ORDER BY id LIMIT {BATCH}", [last])
            rows = cursor.fetchall()
            if not rows:
                return
            updates = []
            for row_id, purged_at, *values in rows:
                if purged_at is not None:       # purged earlier: nothing may be kept, not even encrypted
                    new = ["", "", "", "", "", "", None, None]
                else:
                    new = [convert(name, value) for name, value in zip(PERSONAL, values, strict=True)]
                if new != list(values):
                    updates.append([*new, row_id])
            if updates:
                cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", updates)
                if schema_editor.connection.vendor == "postgresql":
                    # Run the deferred foreign-key checks the updates queued now: PostgreSQL refuses to
                    # alter the table later in this transaction while they are pending.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")
            last = rows[-1][0]


def fk_checked_at_insert(apps, schema_editor):
    """PostgreSQL: the order → address foreign key is checked when the order is inserted, not at commit.

    The check locks the address row (FOR KEY SHARE) from the insert to the end of the transaction, so
    the purge's FOR UPDATE on that address waits for an import still writing an order for it, and then
    sees the order. Django creates foreign keys DEFERRABLE INITIALLY DEFERRED, which would take that lock
    only at commit, after the purge had already looked. SQLite runs one writer at a time: nothing to do.
    """
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.conname FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
            WHERE c.conrelid = 'warehouse_outboundorder'::regclass AND c.contype = 'f'
              AND a.attname = 'delivery_address_id'""")
        for (name,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE warehouse_outboundorder ALTER CONSTRAINT "
                           f"{schema_editor.quote_name(name)} NOT DEFERRABLE")


def encrypt_rows(apps, schema_editor):
    def convert(name, value):
        if value is None or value == "":
            return None if name in ("latitude", "longitude") else ""
        value = str(value)
        return value if _is_encrypted(value) else encrypt_text(value)

    _rewrite(apps, schema_editor, convert)


def decrypt_rows(apps, schema_editor):
    def convert(name, value):
        if value is None or value == "":
            return None if name in ("latitude", "longitude") else ""
        return decrypt_text(value) if _is_encrypted(value) else value

    _rewrite(apps, schema_editor, convert)


class Migration(migrations.Migration):

    dependencies = [
        ('warehouse', '0002_api_hardening'),
    ]

    operations = [
        migrations.AlterField(
            model_name='address',
            name='company_name',
            field=config.fields.EncryptedTextField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='address',
            name='contact_name',
            field=config.fields.EncryptedTextField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='address',
            name='email',
            field=config.fields.EncryptedTextField(blank=True, max_length=254),
        ),
        migrations.AlterField(
            model_name='address',
            name='latitude',
            field=config.fields.EncryptedDecimalField(blank=True, decimal_places=6, max_digits=9, null=True),
        ),
        migrations.AlterField(
            model_name='address',
            name='longitude',
            field=config.fields.EncryptedDecimalField(blank=True, decimal_places=6, max_digits=9, null=True),
        ),
        migrations.AlterField(
            model_name='address',
            name='street_address',
            field=config.fields.EncryptedTextField(blank=True, max_length=300),
        ),
        migrations.AlterField(
            model_name='address',
            name='street_address_2',
            field=config.fields.EncryptedTextField(blank=True, max_length=300),
        ),
        migrations.AlterField(
            model_name='address',
            name='telephone',
            field=config.fields.EncryptedTextField(blank=True, max_length=60),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows, elidable=False),
        migrations.RunPython(fk_checked_at_insert, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name='address',
            index=models.Index(condition=models.Q(('personal_data_purged_at__isnull', True), ('source', 'amazon')), fields=['tenant', 'id'], name='address_amazon_unpurged'),
        ),
        migrations.AddConstraint(
            model_name='address',
            constraint=models.CheckConstraint(condition=models.Q(('personal_data_purged_at__isnull', True), models.Q(('company_name', ''), ('contact_name', ''), ('email', ''), ('hidden_from_search', True), ('is_active', False), ('latitude__isnull', True), ('longitude__isnull', True), ('street_address', ''), ('street_address_2', ''), ('telephone', '')), _connector='OR'), name='purged_address_holds_no_personal_data'),
        ),
    ]
