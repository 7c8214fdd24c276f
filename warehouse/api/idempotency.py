"""`Idempotency-Key` on creates: a client that retries after a timeout gets the first answer, never a
second order. The key's row is written in the same transaction as the order, so two requests with the
same key at once wait for each other on the unique constraint, and a failed request stores nothing."""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from ..errors import WarehouseError
from ..models import IdempotencyKey
from ..selectors import Scope
from .authentication import ApiKeyPrincipal

HEADER = "Idempotency-Key"
IDEMPOTENCY_HEADER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Any unique string up to 255 printable ASCII characters (e.g. a UUID). A retry with the same "
                "key and body returns the first answer (with `Idempotent-Replayed: true`); the same key "
                "with another body is a 409.")


class IdempotencyKeyReused(WarehouseError):
    status_code = 409
    code = "idempotency_key_reused"


def _principal(request) -> str:
    user = request.user
    return f"api-key:{user.key.id}" if isinstance(user, ApiKeyPrincipal) else f"user:{user.pk}"


def _valid_key(raw: str) -> str:
    if not (0 < len(raw) <= 255 and raw.isascii() and raw.isprintable() and raw.strip() == raw):
        raise WarehouseError(f"The {HEADER} header must be 1 to 255 printable ASCII characters.",
                             field=HEADER)
    return raw


def idempotent(request, scope: Scope, create) -> Response:
    raw = request.headers.get(HEADER)
    if raw is None:
        return create(request)
    key = _valid_key(raw)
    fingerprint = hashlib.sha256(json.dumps([request.method, request.path, request.data], sort_keys=True,
                                            default=str).encode()).hexdigest()
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(tenant=scope.tenant, principal=_principal(request),
                                                       key=key, fingerprint=fingerprint)
        except IntegrityError:      # seen before (or being answered right now: the insert waited for it)
            record = IdempotencyKey.objects.get(tenant=scope.tenant, principal=_principal(request), key=key)
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused(f"This {HEADER} was used for another request; use a new key for "
                                           f"a new order.", field=HEADER) from None
            response = Response(record.response_body, status=record.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        response = create(request)
        record.response_status, record.response_body = response.status_code, response.data
        record.save(update_fields=["response_status", "response_body"])
        return response
