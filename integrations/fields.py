"""Kept for migration 0001, which names `integrations.fields.EncryptedTextField`: the field now lives in
config/fields.py, shared with the warehouse's addresses."""

from config.fields import EncryptedTextField, fernet

__all__ = ["EncryptedTextField", "fernet"]
