"""Every API error is JSON that says what is wrong: {"error": {"code", "message", "fields"?}}.

`fields` is flat: a path to each bad field (`lines[0].product`, `counts[2].warehouse`) and its messages,
however deeply the input nests; `message` says the same in one line.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import WarehouseError

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


def _fields(detail, path: str = "") -> dict[str, list[str]]:
    """{"lines": {"0": {"product": ["…"]}}} → {"lines[0].product": ["…"]}."""
    out: dict[str, list[str]] = {}

    def add(sub_path: str, value) -> None:
        for key, messages in _fields(value, sub_path).items():
            out.setdefault(key, []).extend(messages)

    if isinstance(detail, dict):
        for key, value in detail.items():
            key = str(key)
            if key == NON_FIELD:      # an error about the object at `path` as a whole
                add(path, value)
            elif key.isdigit():       # an item of a list
                add(f"{path}[{key}]", value)
            else:
                add(f"{path}.{key}" if path else key, value)
    elif isinstance(detail, list) and any(isinstance(v, (dict, list)) for v in detail):
        for i, value in enumerate(detail):
            if value:
                add(f"{path}[{i}]", value)
    else:
        messages = detail if isinstance(detail, list) else [detail]
        out[path or NON_FIELD] = [str(m) for m in messages]
    return out


def _message(fields: dict[str, list[str]]) -> str:
    return "; ".join(message if key == NON_FIELD else f"{key}: {message}"
                     for key, messages in fields.items() for message in messages)


def exception_handler(exc, context):
    if isinstance(exc, WarehouseError):
        body = {"code": exc.code, "message": exc.message}
        if exc.field:
            # The same shape as a serializer's errors, so a client reads one format.
            body["fields"] = {exc.field: [exc.message]}
        return Response({"error": body}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        fields = _fields(detail)
        body = {"code": "invalid", "message": _message(fields), "fields": fields}
    else:
        message = detail.get("detail", detail) if isinstance(detail, dict) else detail
        body = {"code": getattr(message, "code", code), "message": str(message)}
    response.data = {"error": body}
    if response.status_code == status.HTTP_403_FORBIDDEN and isinstance(exc, exceptions.NotAuthenticated):
        response.status_code = status.HTTP_401_UNAUTHORIZED
    return response
