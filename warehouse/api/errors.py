"""Every API error is JSON that says what is wrong: {"error": {"code", "message", "fields"?}}.

`fields` is flat: a path to each bad field (`lines[0].product`, `counts[2].warehouse`) and its messages,
however deeply the input nests; `message` says the same in one line.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import WarehouseError

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
logger = logging.getLogger(__name__)


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
    exc = _translate(exc)
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
    if isinstance(exc, RetryLater):
        response["Retry-After"] = "1"
    return response


# --- failures outside the serializers ---------------------------------------------------------------

class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is too large."


class RetryLater(exceptions.APIException):
    """A deadlock or serialization failure between concurrent requests: nothing was written, try again."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "retry"
    default_detail = "Another request changed the same rows at the same moment; nothing was written. Retry."


def _concurrency_failure(exc) -> bool:
    """PostgreSQL's deadlock_detected (40P01) and serialization_failure (40001)."""
    return isinstance(exc, OperationalError) and getattr(exc.__cause__, "pgcode", None) in ("40P01", "40001")


def _translate(exc):
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(f"The request body is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if _concurrency_failure(exc):
        logger.warning("api.concurrency_retry", extra={"pgcode": exc.__cause__.pgcode})
        return RetryLater()
    return exc


def error_response(code: str, message: str, status_code: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status_code)


def is_api(request) -> bool:
    return request.path.startswith("/api/")


# Django's own error views, answered as JSON under /api/ (unknown URLs, a body Django refused before the
# API saw it, crashes); pages keep their templates, which never show the exception's text.

def handler400(request, exception=None):
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return error_response("too_large", "The request body is too large.", 413)
        return error_response("bad_request", "The request could not be read.", 400)
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if is_api(request):
        return error_response("permission_denied", "You may not do this.", 403)
    return defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    if is_api(request):
        return error_response("not_found", "Nothing at this address. Ids are whole numbers; paths end in /.",
                              404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if is_api(request):
        return error_response("server_error", "Something went wrong on our side; it has been logged.", 500)
    return defaults.server_error(request)
