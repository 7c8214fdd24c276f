"""Encrypted model fields: marketplace tokens and buyers' personal data at rest.

Fernet through MultiFernet, keyed by FIELD_ENCRYPTION_KEYS: the first key encrypts, every key in the
list decrypts, so a key is rotated by putting a new one first and keeping the old one until the rows
are re-saved. Each value gets its own random IV, so equal plain texts never look equal in the
database: an encrypted column can be read back, never searched or compared.

Shared by `integrations/` (tokens) and `warehouse/` (addresses), which must not import each other.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt_text(value: str) -> str:
    try:
        return fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored encrypted value cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
            "was the key changed without keeping the old one in the list?") from exc


class EncryptedTextField(models.TextField):
    """Stores `gAAAA…` Fernet tokens; Python code only ever sees the plain text. Empty stays empty
    (and None stays None), so "no value" and a purged value are plain to see and to check.

    `max_length` only validates input (forms, serializers): the column is text, as tokens are longer
    than what they hold. Lookups encrypt their argument afresh, so they never match a stored value:
    searching an encrypted column finds nothing, by design.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_text(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt_text(value)

    def formfield(self, **kwargs):
        # A name or a street is one line: a text input, not the text area a TextField gets.
        if self.max_length is not None and "widget" not in kwargs:
            from django import forms

            kwargs["widget"] = forms.TextInput
        return super().formfield(**kwargs)


class EncryptedDecimalField(EncryptedTextField):
    """A decimal (e.g. a latitude) stored encrypted as text; Python sees a Decimal or None."""

    def __init__(self, *args, max_digits: int | None = None, decimal_places: int | None = None, **kwargs):
        self.max_digits, self.decimal_places = max_digits, decimal_places
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.max_digits is not None:
            kwargs["max_digits"] = self.max_digits
        if self.decimal_places is not None:
            kwargs["decimal_places"] = self.decimal_places
        return name, path, args, kwargs

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, Decimal):
            return value
        try:
            return Decimal(str(value))
        except InvalidOperation as exc:
            from django.core.exceptions import ValidationError

            raise ValidationError(f"“{value}” is not a number.", code="invalid") from exc

    def get_prep_value(self, value):
        value = self.to_python(value)
        if value is None:
            return None
        if self.decimal_places is not None:
            value = value.quantize(Decimal(1).scaleb(-self.decimal_places))
        return encrypt_text(str(value))

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return None
        return Decimal(decrypt_text(value))

    def formfield(self, **kwargs):
        from django import forms

        return models.Field.formfield(self, **{"form_class": forms.DecimalField, "max_digits": self.max_digits,
                                               "decimal_places": self.decimal_places, **kwargs})
