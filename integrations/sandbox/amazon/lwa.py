"""Login with Amazon: the token endpoint and the Seller Central consent page (sp-api.md §6).

Consent denial: Amazon documents no parameters for a seller who declines. The sandbox follows OAuth
2.0 (RFC 6749 §4.1.2.1) and redirects with `state`, `error=access_denied` and `error_description`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from integrations.sandbox.http import Request, Response, html_response, redirect

from . import pages
from .state import ACCESS_TOKEN_SECONDS

if TYPE_CHECKING:
    from .app import AmazonSandbox

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CLIENT_CREDENTIAL_SCOPES = frozenset({"sellingpartnerapi::notifications",
                                      "sellingpartnerapi::client_credential:rotation"})


def lwa_error(status: int, error: str, description: str) -> Response:
    return Response(status=status, body=json.dumps({"error_description": description, "error": error}).encode(),
                    headers=dict(NO_STORE), content_type="application/json;charset=UTF-8")


def _token_response(payload: dict[str, Any]) -> Response:
    return Response(status=200, body=json.dumps(payload).encode(), headers=dict(NO_STORE),
                    content_type="application/json;charset=UTF-8")


def token(sb: AmazonSandbox, request: Request) -> Response:
    """POST /auth/o2/token: form-encoded (python-amazon-sp-api) or JSON."""
    try:
        form = {k: str(v) for k, v in request.data().items()}
    except (ValueError, UnicodeDecodeError):
        return lwa_error(400, "invalid_request", "The request body could not be read")
    grant_type = form.get("grant_type")
    if not grant_type:
        return lwa_error(400, "invalid_request", "The request is missing a required parameter : grant_type")
    if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
        return lwa_error(400, "unsupported_grant_type", "The authorization grant type is not supported by the "
                                                        "authorization server")
    for name in ("client_id", "client_secret"):
        if not form.get(name):
            return lwa_error(400, "invalid_request", f"The request is missing a required parameter : {name}")
    app = sb.state.app
    if form["client_id"] != app.client_id or form["client_secret"] != app.client_secret:
        return lwa_error(401, "invalid_client", "Client authentication failed")
    state = sb.state
    now = state.clock.now()

    if grant_type == "authorization_code":
        code_value = form.get("code")
        if not code_value:
            return lwa_error(400, "invalid_request", "The request is missing a required parameter : code")
        code = state.codes.get(code_value)
        redirect_uri = form.get("redirect_uri")
        # redirect_uri is optional here (python-amazon-sp-api omits it); if sent it must match consent's.
        if code is None or code.used or code.expires < now or code.client_id != app.client_id or \
                (redirect_uri and redirect_uri != code.redirect_uri):
            return lwa_error(400, "invalid_grant", "The request has an invalid grant parameter : code")
        code.used = True
        refresh_value = state.issue_refresh_token(code.seller_id, app.client_id)
        access = state.issue_access_token(seller_id=code.seller_id, client_id=app.client_id)
        return _token_response({"access_token": access.token, "refresh_token": refresh_value,
                                "token_type": "bearer", "expires_in": ACCESS_TOKEN_SECONDS})

    if grant_type == "refresh_token":
        refresh_value = form.get("refresh_token")
        if not refresh_value:
            return lwa_error(400, "invalid_request", "The request is missing a required parameter : refresh_token")
        refresh = state.refresh_tokens.get(refresh_value)
        if refresh is None or refresh.revoked or refresh.client_id != app.client_id or \
                refresh.seller_id not in state.sellers:
            return lwa_error(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        access = state.issue_access_token(seller_id=refresh.seller_id, client_id=app.client_id)
        return _token_response({"access_token": access.token, "refresh_token": refresh_value,
                                "token_type": "bearer", "expires_in": ACCESS_TOKEN_SECONDS})

    scope = form.get("scope")
    if scope not in CLIENT_CREDENTIAL_SCOPES:
        return lwa_error(400, "invalid_scope", "The request has an invalid parameter : scope")
    access = state.issue_access_token(seller_id=None, client_id=app.client_id, kind="grantless")
    return _token_response({"access_token": access.token, "scope": scope, "token_type": "bearer",
                            "expires_in": ACCESS_TOKEN_SECONDS})


# -- consent -------------------------------------------------------------------------------------------

def _resolve_redirect(sb: AmazonSandbox, given: str | None) -> tuple[str | None, str | None]:
    """(redirect_uri, error). redirect_uri defaults to the first registered one (sp-api.md §6)."""
    registered = sb.state.app.redirect_uris
    if given:
        if given not in registered:
            return None, (f"The redirect_uri {given} is not registered for this application. Registered: "
                          + (", ".join(registered) or "none"))
        return given, None
    if not registered:
        return None, "This application has no registered OAuth redirect URI."
    return registered[0], None


def _check_request(sb: AmazonSandbox, fields: dict[str, str]) -> tuple[str | None, str | None]:
    if fields.get("application_id") != sb.state.app.application_id:
        return None, f"We could not find the application {fields.get('application_id') or '(none)'}."
    if not fields.get("state"):
        return None, "The authorization request is missing the state parameter."
    return _resolve_redirect(sb, fields.get("redirect_uri") or None)


def consent_page(sb: AmazonSandbox, request: Request) -> Response:
    fields = {k: request.arg(k) or "" for k in ("application_id", "state", "version", "redirect_uri")}
    redirect_uri, error = _check_request(sb, fields)
    if error or redirect_uri is None:
        return html_response(pages.consent_error(error or "Bad request"), status=400)
    return html_response(pages.consent(sb.state, fields, redirect_uri))


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def consent_decision(sb: AmazonSandbox, request: Request) -> Response:
    """The consent form posts here; confirm or deny, then back to the app like Seller Central."""
    fields = request.form()
    redirect_uri, error = _check_request(sb, fields)
    if error or redirect_uri is None:
        return html_response(pages.consent_error(error or "Bad request"), status=400)
    state_value = fields["state"]
    if fields.get("decision") == "deny":
        return redirect(_with_query(redirect_uri, {
            "state": state_value, "error": "access_denied",
            "error_description": "The selling partner declined to authorize the application"}))
    if fields.get("decision") != "confirm":
        return html_response(pages.consent_error("Choose Confirm or Deny."), status=400)
    seller_id = fields.get("selling_partner_id") or ""
    if seller_id == pages.NEW_SELLER:
        seller = sb.state.add_seller(name=fields.get("new_seller_name") or None)
    else:
        seller = sb.state.sellers.get(seller_id)
        if seller is None:
            return html_response(pages.consent(sb.state, fields, redirect_uri, problem="Choose a seller account."),
                                 status=400)
    code = sb.state.issue_code(seller.selling_partner_id, redirect_uri)
    return redirect(_with_query(redirect_uri, {"state": state_value, "selling_partner_id": seller.selling_partner_id,
                                               "spapi_oauth_code": code.code}))
