from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from django.conf import settings

from ..models import ApiKey
from ..security import api_key_failure_record, api_key_failures, client_ip
from ..services import api_key_authenticate


class ApiKeyPrincipal:
    """The 'user' of a request authenticated by a tenant API key."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, key: ApiKey):
        self.key = key
        self.tenant = key.tenant
        self.pk = None

    def __str__(self) -> str:
        return f"api-key:{self.key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <prefix>.<secret>`. An address that sent API_KEY_FAILURE_LIMIT wrong keys
    within API_KEY_FAILURE_WINDOW seconds gets 429s (even for a right key) until the window lapses."""

    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None
        ip = client_ip(request) or "unknown"
        if api_key_failures(ip) >= settings.API_KEY_FAILURE_LIMIT:
            raise exceptions.Throttled(wait=settings.API_KEY_FAILURE_WINDOW,
                                       detail="Too many wrong API keys from this address.")
        key = api_key_authenticate(raw_key=raw) if raw.strip() else None
        if key is None:
            api_key_failure_record(ip)
            raise exceptions.AuthenticationFailed("Unknown or revoked API key." if raw.strip()
                                                  else "The Api-Key header has no key.")
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes ApiKeyAuthentication in the OpenAPI schema (the same scheme SPECTACULAR_SETTINGS names)."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <prefix>.<secret>`, a key an admin created for the tenant."}
