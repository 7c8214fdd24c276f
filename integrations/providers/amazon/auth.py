"""Login with Amazon (LWA): the Seller Central consent URL and the token endpoint (reference/sp-api.md §6).

The token calls are plain httpx POSTs with the body python-amazon-sp-api sends (§1.2), so they
bypass the library's process-wide token cache: exchanging a code or proving a grant must really
reach LWA.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Mapping
from urllib.parse import urlencode

import certifi
import httpx

from integrations.providers.base import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
)

from . import mapping

logger = logging.getLogger(__name__)

_FORM = "application/x-www-form-urlencoded;charset=UTF-8"
# LWA error codes meaning the grant or the app credentials are not (or no longer) valid (§6).
_AUTH_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_request", "access_denied"}


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every HTTP client we build: loading the CA bundle costs ~25 ms,
    and python-amazon-sp-api builds two httpx clients per call (the API's and LWA's)."""
    return ssl.create_default_context(cafile=certifi.where())


def consent_url(*, seller_central_url: str, application_id: str, state: str, redirect_uri: str,
                draft: bool) -> str:
    """`{seller central}/apps/authorize/consent?application_id=..&state=..[&version=beta][&redirect_uri=..]`.

    `version=beta` only for apps still in Draft status; redirect_uri must be one registered with
    the app (Amazon otherwise uses the first registered one).
    """
    query: list[tuple[str, str]] = [("application_id", application_id), ("state", state)]
    if draft:
        query.append(("version", "beta"))
    if redirect_uri:
        query.append(("redirect_uri", redirect_uri))
    return f"{seller_central_url.rstrip('/')}/apps/authorize/consent?{urlencode(query)}"


def callback_grant(params: Mapping[str, str]) -> tuple[str, str]:
    """The consent redirect's query -> (spapi_oauth_code, selling_partner_id), or ProviderAuthError."""
    error = (params.get("error") or "").strip()[:100]
    if error:
        description = (params.get("error_description") or "").strip()[:200]
        detail = f" ({description})" if description else ""
        raise ProviderAuthError(f"Amazon did not authorize the app: {error}{detail}. Connect again to retry.")
    code = (params.get("spapi_oauth_code") or "").strip()
    selling_partner_id = (params.get("selling_partner_id") or "").strip()
    if not code or not selling_partner_id:
        raise ProviderAuthError("Amazon's answer has no authorization code or selling partner id; "
                                "connect again from the wizard.")
    return code, selling_partner_id


def request_tokens(token_url: str, form: Mapping[str, str], *, timeout: float,
                   purpose: str) -> mapping.LwaTokens:
    """POST a grant to LWA -> its tokens; every failure is a ProviderError naming the purpose."""
    try:
        with httpx.Client(timeout=timeout, verify=tls_context()) as client:
            response = client.post(token_url, data=dict(form), headers={"content-type": _FORM})
    except httpx.TimeoutException:
        raise ProviderUnavailable(f"Login with Amazon did not answer within {timeout:g} s "
                                  f"({purpose}).") from None
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"Login with Amazon could not be reached ({purpose}): "
                                  f"{type(exc).__name__}.") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and body is not None:
        try:
            return mapping.lwa_tokens(body)
        except ValueError:
            raise ProviderUnavailable(f"Login with Amazon answered without an access token "
                                      f"({purpose}).") from None
    raise _lwa_failure(response.status_code, body, purpose=purpose, headers=response.headers)


def _lwa_failure(status: int, body: object, *, purpose: str, headers: Mapping[str, str]) -> ProviderError:
    code, description = mapping.lwa_error(body)
    detail = f"{code}: {description}" if description else code or f"HTTP {status}"
    if status == 429:
        return ProviderRateLimited(f"Login with Amazon throttled the {purpose}.",
                                   retry_after=retry_after_seconds(headers))
    if status >= 500 or body is None:
        return ProviderUnavailable(f"Login with Amazon failed ({purpose}): HTTP {status}.")
    if code in _AUTH_ERRORS or status in (400, 401, 403):
        return ProviderAuthError(f"Login with Amazon refused the {purpose} ({detail}).")
    return ProviderUnavailable(f"Login with Amazon failed ({purpose}): {detail}.")


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """A Retry-After in seconds, if any: SP-API documents none on 429 (§5), proxies and LWA may send one."""
    try:
        return max(float((headers or {}).get("retry-after", "")), 0.0)
    except ValueError:
        return None


def exchange_code(*, token_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str,
                  timeout: float) -> mapping.LwaTokens:
    """authorization_code grant. The dev guide lists redirect_uri (OAuth 2 wants it when the consent
    URL carried one); the library omits it; LWA accepts both (§6)."""
    form = {"grant_type": "authorization_code", "code": code, "client_id": client_id,
            "client_secret": client_secret}
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    tokens = request_tokens(token_url, form, timeout=timeout, purpose="authorization code")
    if not tokens.refresh_token:
        raise ProviderAuthError("Login with Amazon returned no refresh token; connect again from the wizard.")
    return tokens


def refresh(*, token_url: str, client_id: str, client_secret: str, refresh_token: str,
            timeout: float) -> mapping.LwaTokens:
    """refresh_token grant: a new access token; proves the seller's grant still stands."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id,
            "client_secret": client_secret}
    return request_tokens(token_url, form, timeout=timeout, purpose="refresh token")
