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
            last = rows[-1][0]


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
        ('warehouse', '0001_initial'),
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
        migrations.AddIndex(
            model_name='address',
            index=models.Index(condition=models.Q(('personal_data_purged_at__isnull', True), ('source', 'amazon')), fields=['tenant', 'id'], name='address_amazon_unpurged'),
        ),
        migrations.AddConstraint(
            model_name='address',
            constraint=models.CheckConstraint(condition=models.Q(('personal_data_purged_at__isnull', True), models.Q(('company_name', ''), ('contact_name', ''), ('email', ''), ('hidden_from_search', True), ('is_active', False), ('latitude__isnull', True), ('longitude__isnull', True), ('street_address', ''), ('street_address_2', ''), ('telephone', '')), _connector='OR'), name='purged_address_holds_no_personal_data'),
        ),
    ]
