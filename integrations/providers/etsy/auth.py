"""Etsy OAuth 2.0: authorization code with PKCE S256, and rotating refresh tokens (reference §2).

Etsy's client is public: the keystring is the client_id, sent in the body, and there is no client
secret in the token call. requests-oauthlib does the protocol; this module fixes its defaults for
Etsy (reference/dependencies.md) and turns every failure into the ProviderError family.

http token URLs (the local sandbox) need OAUTHLIB_INSECURE_TRANSPORT=1; it is deliberately not set
here, so production can never fall back to plain http by accident.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error, WebApplicationClient
from requests_oauthlib import OAuth2Session

from integrations.providers.base import (
    AuthorizationRequest,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    TokenGrant,
)

# reference §2.1: orders (read, ship), listings (inventory read/write), shops_r for users/me.
SCOPES = ("transactions_r", "transactions_w", "listings_r", "listings_w", "shops_r")
# RFC 7636 allows 43..128 characters; the longest verifier leaves the most entropy.
_VERIFIER_LENGTH = 128
# reference §2.2: an access token lives an hour; assume that when Etsy omits expires_in.
_DEFAULT_EXPIRES_IN = 3600


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    refresh_token: str
    expires_at: dt.datetime

    def as_grant(self) -> TokenGrant:
        return TokenGrant(self.access_token, self.refresh_token, self.expires_at)


class EtsyAuth:
    def __init__(self, *, keystring: str, shared_secret: str, oauth_connect_url: str, token_url: str,
                 timeout: float, now: Callable[[], dt.datetime]):
        self._keystring = keystring
        self._api_key = f"{keystring}:{shared_secret}"
        self._connect_url = oauth_connect_url
        self._token_url = token_url
        self._timeout = timeout
        self._now = now

    # --- authorize ------------------------------------------------------------------------------
    def authorization_request(self, *, state: str, redirect_uri: str) -> AuthorizationRequest:
        """The consent page URL, and the verifier the caller keeps server side with `state`.

        OAuth2Session(pkce="S256") would keep the verifier on a private attribute of a session
        that dies with this request, while the callback arrives in another one; so the verifier
        is made here, through oauthlib's own PKCE helpers, and returned.
        """
        if not state:
            raise ValueError("state must be a non-empty, single-use value")   # reference §2.1
        client = WebApplicationClient(self._keystring)
        verifier = client.create_code_verifier(_VERIFIER_LENGTH)
        challenge = client.create_code_challenge(verifier, "S256")
        session = OAuth2Session(client=client, redirect_uri=redirect_uri, scope=list(SCOPES))
        url, _ = session.authorization_url(
            self._connect_url, state=state, code_challenge=challenge, code_challenge_method="S256",
        )
        return AuthorizationRequest(url=url, code_verifier=verifier)

    # --- token endpoint ---------------------------------------------------------------------------
    def exchange_code(self, *, params: Mapping[str, str], redirect_uri: str,
                      code_verifier: str) -> IssuedToken:
        """The consent page's callback query → tokens. Denials and bad codes are ProviderAuthError."""
        _raise_for_callback_error(params)
        code = (params.get("code") or "").strip()
        if not code:
            raise ProviderAuthError("Etsy's answer held no authorization code: start connecting again.")
        if not code_verifier:
            raise ProviderAuthError("This connection attempt has no PKCE verifier (it expired or was "
                                    "already used): start connecting again.")
        session = self._session(redirect_uri=redirect_uri)
        # include_client_id: Etsy wants client_id in the body, not as HTTP Basic (dependencies.md).
        token = self._call(lambda: session.fetch_token(
            self._token_url, code=code, code_verifier=code_verifier, include_client_id=True,
            timeout=self._timeout,
        ), failure="Etsy refused the authorization code")
        return self._issued(token)

    def refresh(self, *, refresh_token: str) -> IssuedToken:
        """A new access token AND a new refresh token: Etsy retires the old refresh token (#353)."""
        session = self._session()
        # refresh_token() sends no client_id unless told to (dependencies.md).
        token = self._call(lambda: session.refresh_token(
            self._token_url, refresh_token=refresh_token, client_id=self._keystring,
            include_client_id=True, timeout=self._timeout,
        ), failure="Etsy refused the refresh token; the shop must be connected again")
        return self._issued(token)

    def _session(self, *, redirect_uri: str | None = None) -> OAuth2Session:
        session = OAuth2Session(client_id=self._keystring, redirect_uri=redirect_uri)
        # Etsy checks the key on every call (reference §1); harmless where it is not needed.
        session.headers["x-api-key"] = self._api_key
        session.register_compliance_hook("access_token_response", _check_token_response)
        session.register_compliance_hook("refresh_token_response", _check_token_response)
        return session

    def _call(self, fetch: Callable[[], Mapping[str, Any]], *, failure: str) -> Mapping[str, Any]:
        try:
            return fetch()
        except InsecureTransportError as exc:
            # A deployment fault, not the shop owner's: no reconnect would help.
            raise ProviderError("Etsy's token URL must use https.") from exc
        except OAuth2Error as exc:
            # reference §2.2: {"error": "invalid_grant", "error_description": "refresh_token is revoked"}
            detail = exc.description or exc.error
            raise ProviderAuthError(f"{failure} ({detail}).") from exc
        except requests.Timeout as exc:
            raise ProviderUnavailable(
                f"Etsy's token endpoint did not answer within {self._timeout:g} s ({type(exc).__name__}).") from exc
        except requests.ConnectionError as exc:
            raise ProviderUnavailable(
                f"Etsy's token endpoint did not answer ({type(exc).__name__}).") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"Etsy's token endpoint failed ({type(exc).__name__}).") from exc

    def _issued(self, token: Mapping[str, Any]) -> IssuedToken:
        access_token = str(token.get("access_token") or "")
        refresh_token = str(token.get("refresh_token") or "")
        if not access_token or not refresh_token:
            raise ProviderAuthError("Etsy's token answer lacked an access or refresh token.")
        lifetime = dt.timedelta(seconds=_lifetime(token.get("expires_in")))
        return IssuedToken(access_token, refresh_token, self._now() + lifetime)


def _lifetime(expires_in: Any) -> float:
    if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) and expires_in > 0:
        return float(expires_in)
    return float(_DEFAULT_EXPIRES_IN)


def _raise_for_callback_error(params: Mapping[str, str]) -> None:
    """reference §2.1: a refusal comes back as error (an RFC 6749 code) and error_description."""
    error = (params.get("error") or "").strip()
    if not error:
        return
    if error == "access_denied":
        raise ProviderAuthError("The Etsy shop owner declined access; nothing was connected.")
    description = (params.get("error_description") or "").strip()
    raise ProviderAuthError(f"Etsy did not grant access: {description or error}.")


def _check_token_response(response: requests.Response) -> requests.Response:
    """oauthlib only reads the body; a 5xx page or a throttle must not look like a bad grant."""
    if response.status_code == 429:
        retry_after = _float_header(response, "retry-after")
        raise ProviderRateLimited("Etsy's token endpoint is throttling requests.", retry_after=retry_after)
    if response.status_code >= 500:
        raise ProviderUnavailable(f"Etsy's token endpoint failed (HTTP {response.status_code}).")
    try:
        json.loads(response.text)
    except ValueError as exc:
        raise ProviderUnavailable(
            f"Etsy's token endpoint answered HTTP {response.status_code} without JSON."
        ) from exc
    return response


def _float_header(response: requests.Response, name: str) -> float | None:
    try:
        return float(response.headers[name])
    except (KeyError, ValueError):
        return None
