from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import ApiKey, Tenant, User

# Keys are 256-bit random secrets, so a plain SHA-256 is enough; a slow password hash would only
# slow every API request down without adding protection.
_PREFIX_BYTES = 6


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, tenant: Tenant, name: str, created_by: User | None = None) -> tuple[ApiKey, str]:
    """Creates a key and returns it with the plain text, which is shown once and never stored."""
    prefix = secrets.token_hex(_PREFIX_BYTES)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(tenant=tenant, name=name.strip() or "API key", prefix=prefix,
                                hashed_key=_digest(secret), created_by=created_by)
    return key, f"{prefix}.{secret}"


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, key: ApiKey, by: User | None = None) -> ApiKey:
    """Revokes the key for good, recording who and when; a revoked key stays revoked."""
    key = ApiKey.objects.select_for_update().filter(pk=key.pk, tenant=tenant).first()
    if key is None:
        raise ApiKey.DoesNotExist
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = timezone.now(), by
        key.save(update_fields=["revoked_at", "revoked_by"])
    return key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key for `prefix.secret`, or None. Constant-time comparison of the digest."""
    prefix, _, secret = raw_key.strip().partition(".")
    if not prefix or not secret:
        return None
    key = ApiKey.objects.select_related("tenant").filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.hashed_key, _digest(secret)):
        return None
    now = timezone.now()
    # Recording every use would write on every request; once a minute is enough for "last used".
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
