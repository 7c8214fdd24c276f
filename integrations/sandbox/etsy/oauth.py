"""Etsy's OAuth 2.0: consent requests, PKCE authorization codes, rotating refresh tokens (reference §2).

Tokens look like Etsy's, `<user_id>.<opaque>`, for access and refresh tokens alike. Every refresh
returns a new refresh token and retires the one presented (issue #353).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field

ACCESS_TOKEN_TTL = 3600                 # seconds; the token response says expires_in 3600
REFRESH_TOKEN_TTL = 90 * 86400          # Etsy's refresh tokens live 90 days
AUTH_CODE_TTL = 300                     # sandbox choice: Etsy does not document it; 5 minutes is common
CONSENT_TTL = 3600                      # how long a consent page stays answerable

# Scopes this project asks for (§2.1) and every scope Etsy knows.
PROJECT_SCOPES = ("transactions_r", "transactions_w", "listings_r", "listings_w", "shops_r")
ALL_SCOPES = frozenset({
    "address_r", "address_w", "billing_r", "cart_r", "cart_w", "email_r", "favorites_r", "favorites_w",
    "feedback_r", "listings_d", "listings_r", "listings_w", "profile_r", "profile_w", "recommend_r",
    "recommend_w", "shops_r", "shops_w", "transactions_r", "transactions_w",
})
SCOPE_DESCRIPTIONS = {
    "transactions_r": "See your shop's orders (receipts) and transactions",
    "transactions_w": "Update your orders, including shipping and tracking",
    "listings_r": "See your listings and their inventory, including private ones",
    "listings_w": "Change your listings' inventory, prices and quantities",
    "listings_d": "Delete your listings",
    "shops_r": "See your shop and your account's basic details",
    "shops_w": "Update your shop",
    "email_r": "See your email address",
    "address_r": "See your shipping addresses",
    "address_w": "Change your shipping addresses",
    "profile_r": "See your profile",
    "profile_w": "Change your profile",
    "billing_r": "See your billing details",
    "cart_r": "See your cart",
    "cart_w": "Change your cart",
    "favorites_r": "See your favourites",
    "favorites_w": "Change your favourites",
    "feedback_r": "See your reviews",
    "recommend_r": "See your recommendations",
    "recommend_w": "Change your recommendations",
}
VERIFIER_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
CHALLENGE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")     # base64url of a SHA-256, no padding


class OAuthError(Exception):
    """An RFC 6749 error from the token endpoint: {"error", "error_description"}."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class ConsentRequest:
    request_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    code_challenge: str
    expires_at: float


@dataclass
class AuthCode:
    code: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    user_id: int
    expires_at: float
    used: bool = False


@dataclass
class AccessToken:
    token: str
    user_id: int
    scopes: frozenset[str]
    expires_at: float
    revoked: bool = False


@dataclass
class RefreshToken:
    token: str
    user_id: int
    scopes: frozenset[str]
    expires_at: float
    retired: bool = False           # rotated away by a refresh, or revoked


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int = ACCESS_TOKEN_TTL

    def as_response(self) -> dict[str, object]:
        # Etsy's token response: no `scope` field (§2.2).
        return {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in,
                "refresh_token": self.refresh_token}


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass
class OAuthState:
    consents: dict[str, ConsentRequest] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)

    # -- consent and codes ------------------------------------------------------------------------
    def start_consent(self, *, redirect_uri: str, scopes: tuple[str, ...], state: str, code_challenge: str,
                      now: float) -> ConsentRequest:
        request = ConsentRequest(request_id=secrets.token_urlsafe(16), redirect_uri=redirect_uri,
                                 scopes=scopes, state=state, code_challenge=code_challenge,
                                 expires_at=now + CONSENT_TTL)
        self.consents[request.request_id] = request
        return request

    def take_consent(self, request_id: str, now: float) -> ConsentRequest | None:
        """A consent page can be answered once."""
        request = self.consents.pop(request_id, None)
        if request is None or request.expires_at <= now:
            return None
        return request

    def issue_code(self, consent: ConsentRequest, *, user_id: int, now: float) -> str:
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthCode(code=code, redirect_uri=consent.redirect_uri, scopes=consent.scopes,
                                    code_challenge=consent.code_challenge, user_id=user_id,
                                    expires_at=now + AUTH_CODE_TTL)
        return code

    def expire_codes(self, now: float) -> int:
        live = [c for c in self.codes.values() if not c.used and c.expires_at > now]
        for code in live:
            code.expires_at = now
        return len(live)

    # -- token endpoint ---------------------------------------------------------------------------
    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str, now: float) -> TokenPair:
        if not code:
            raise OAuthError("invalid_request", "code is required")
        if not code_verifier:
            raise OAuthError("invalid_request", "code_verifier is required")
        if not VERIFIER_PATTERN.match(code_verifier):
            raise OAuthError("invalid_request",
                             "code_verifier must be 43 to 128 characters of [A-Za-z0-9._~-]")
        grant = self.codes.get(code)
        if grant is None:
            raise OAuthError("invalid_grant", "code is invalid")
        if grant.used:
            raise OAuthError("invalid_grant", "code has already been used")
        if grant.expires_at <= now:
            raise OAuthError("invalid_grant", "code is expired")
        if redirect_uri != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri does not match the one used to request the code")
        if not secrets.compare_digest(pkce_challenge(code_verifier), grant.code_challenge):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        grant.used = True
        return self.grant(user_id=grant.user_id, scopes=grant.scopes, now=now)

    def refresh(self, *, refresh_token: str, scope: str, now: float) -> TokenPair:
        if not refresh_token:
            raise OAuthError("invalid_request", "refresh_token is required")
        current = self.refresh_tokens.get(refresh_token)
        if current is None:
            raise OAuthError("invalid_grant", "refresh_token is invalid")
        if current.retired:
            raise OAuthError("invalid_grant", "refresh_token is revoked")
        if current.expires_at <= now:
            raise OAuthError("invalid_grant", "refresh_token is expired")
        # Scopes cannot change on refresh (§2.2); a client may repeat them (requests-oauthlib does).
        asked = set(scope.split())
        if asked - current.scopes:
            raise OAuthError("invalid_scope", "scopes cannot be added on refresh; authorize again")
        current.retired = True
        return self.grant(user_id=current.user_id, scopes=tuple(current.scopes), now=now)

    def grant(self, *, user_id: int, scopes: tuple[str, ...] | frozenset[str], now: float) -> TokenPair:
        scope_set = frozenset(scopes)
        access = f"{user_id}.{secrets.token_urlsafe(64)}"
        refresh = f"{user_id}.{secrets.token_urlsafe(64)}"
        self.access_tokens[access] = AccessToken(access, user_id, scope_set, now + ACCESS_TOKEN_TTL)
        self.refresh_tokens[refresh] = RefreshToken(refresh, user_id, scope_set, now + REFRESH_TOKEN_TTL)
        return TokenPair(access_token=access, refresh_token=refresh)

    # -- control ----------------------------------------------------------------------------------
    def expire_access_tokens(self, user_id: int, now: float) -> int:
        tokens = [t for t in self.access_tokens.values() if t.user_id == user_id and t.expires_at > now]
        for token in tokens:
            token.expires_at = now - 1
        return len(tokens)

    def revoke_user(self, user_id: int) -> int:
        """What a password change does (issue #519): every token of the user stops working."""
        count = 0
        for access in self.access_tokens.values():
            if access.user_id == user_id and not access.revoked:
                access.revoked = True
                count += 1
        for refresh in self.refresh_tokens.values():
            if refresh.user_id == user_id and not refresh.retired:
                refresh.retired = True
                count += 1
        return count
