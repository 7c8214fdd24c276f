"""EtsySandbox: Etsy Open API v3 on the wire, plus the /_sandbox/ control API.

Written from reference/etsy-api.md (section numbers in comments) and Etsy's own issue threads,
never from the product's client. Routes:

  GET  /oauth/connect                    consent page (POST /oauth/connect answers it)
  POST /v3/public/oauth/token            authorization_code (PKCE S256) and refresh_token grants
  GET  /v3/application/openapi-ping      x-api-key only
  GET  /v3/application/users/me          shops_r
  GET  /v3/application/users/{user_id}/shops, /v3/application/shops/{shop_id}    x-api-key only
  GET  /v3/application/shops/{shop_id}/receipts[/{receipt_id}[/transactions]]     transactions_r
  PUT  /v3/application/shops/{shop_id}/receipts/{receipt_id}                      transactions_w
  POST /v3/application/shops/{shop_id}/receipts/{receipt_id}/tracking             transactions_w
  GET  /v3/application/shops/{shop_id}/listings          x-api-key; a listings_r bearer shows SKUs
  GET  /v3/application/listings/{listing_id}/inventory   listings_r
  PUT  /v3/application/listings/{listing_id}/inventory   listings_w
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any, Callable, Iterable
from urllib.parse import urlencode

from ..http import Request, Response, SandboxApp, html_response, json_response, redirect
from .inventory import MISSING_PRODUCTS, ON_PROPERTY_KEYS, InventoryInvalid, parse_inventory
from .oauth import ALL_SCOPES, CHALLENGE_PATTERN, PROJECT_SCOPES, AccessToken, OAuthError, OAuthState
from .pages import consent_page, dashboard, error_page
from .ratelimit import RateLimiter
from .receipts import MIN_TIMESTAMP, build_receipt, patch_receipt, ship_receipt, update_receipt
from .state import (LISTING_STATES, EtsyError, Listing, Receipt, Shop, Store, application_id, inventory_json,
                    listing_json, receipt_json, shop_json, transaction_json)
from .webhooks import WebhookSender
from .values import bad, parse_bool, parse_int, parse_optional_int, parse_str

DEFAULT_REDIRECT_URIS = (
    "http://localhost:8000/integrations/etsy/callback/",
    "http://127.0.0.1:8000/integrations/etsy/callback/",
)
# §1: the exact 403 bodies Etsy has sent since the shared secret became mandatory (2026-02-09).
SHARED_SECRET_REQUIRED = "Shared secret is required in x-api-key header."
API_KEY_MALFORMED = "Invalid API key: should be in the format 'keystring:shared_secret'."
# Sandbox wording: Etsy's body for a well-formed but wrong key is not documented.
API_KEY_INVALID = "Invalid API key"
RECEIPT_SORT_KEYS: dict[str, Callable[[Receipt], int]] = {
    "created": lambda r: r.created_timestamp,
    "updated": lambda r: r.updated_timestamp,
    "receipt_id": lambda r: r.receipt_id,
}
LISTING_SORT_KEYS: dict[str, Callable[[Listing], int]] = {
    "created": lambda listing: listing.created_timestamp,
    "updated": lambda listing: listing.updated_timestamp,
    "price": lambda listing: listing.price,
    "score": lambda listing: listing.listing_id,
}
SORT_ORDERS = {"asc": False, "ascending": False, "up": False, "desc": True, "descending": True, "down": True}
LISTING_INCLUDES = frozenset({"Shipping", "Images", "Shop", "User", "Translations", "Inventory", "Videos",
                              "Personalization", "BuyerPrice"})
# Optional "enhanced shipment details" of createReceiptShipment (§5), kept for the control API.
SHIPMENT_DETAIL_FIELDS = ("mail_class", "weight", "weight_units", "length", "width", "height",
                          "dimension_units", "shipping_label_cost", "shipping_label_currency",
                          "revenue_eligibility", "ship_from_country", "ship_to_country", "incoterm",
                          "customs_data", "duty_amount", "duty_currency")
MAX_OFFSET = 12000

VendorHandler = Callable[[Request, "AccessToken | None"], Response]


def _with_query(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode({k: v for k, v in params.items() if v})


def _content_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


class EtsySandbox(SandboxApp):
    name = "etsy"
    # Set by reset_state(), which also runs at construction.
    store: Store
    oauth: OAuthState
    limiter: RateLimiter
    redirect_uris: list[str]

    def __init__(self, *, keystring: str = "sandboxkeystring", shared_secret: str = "sandboxsecret",
                 redirect_uris: Iterable[str] = DEFAULT_REDIRECT_URIS, per_second: int = 10,
                 per_day: int = 10000, app_name: str = "Integration hub (sandbox)",
                 seed: Callable[["EtsySandbox"], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.keystring = keystring
        self.shared_secret = shared_secret
        self.app_name = app_name
        self._default_redirect_uris = tuple(redirect_uris)
        self._default_limits = (per_second, per_day)
        self._seed = seed                      # re-applied after every reset (the --seed-demo data)
        self._clock = clock
        self.webhooks = WebhookSender()        # ORDER_PAID to the registered endpoint
        self.webhook_defaults: dict[str, Any] = {}
        super().__init__()
        self.reset_state()

    def now(self) -> int:
        return int(self._clock())

    @property
    def api_key(self) -> str:
        return f"{self.keystring}:{self.shared_secret}"

    # -- SandboxApp hooks --------------------------------------------------------------------------
    def reset_state(self) -> None:
        self.store = Store()
        self.oauth = OAuthState()
        per_second, per_day = self._default_limits
        self.limiter = RateLimiter(per_second=per_second, per_day=per_day)
        self.redirect_uris = list(self._default_redirect_uris)
        self.webhooks.reset()
        if self.webhook_defaults:             # --webhook-url: the endpoint registered at start-up
            self.webhooks.configure(**self.webhook_defaults)
        if self._seed is not None:
            self._seed(self)

    def vendor_error(self, status: int, message: str, code: str = "") -> Response:
        # Etsy's 500 body is {"error": "Server Error"} (§10).
        return json_response({"error": "Server Error" if status >= 500 else message}, status=status)

    def throttled(self, request: Request) -> Response:
        return self._too_many("second", retry_after=1)

    def before_vendor_call(self, request: Request) -> Response | None:
        if not request.path.startswith("/v3/application/"):
            return None                  # the token endpoint and consent page need no API key (§2.2)
        refused = self._check_api_key(request.headers.get("x-api-key"))
        if refused is not None:
            return refused
        verdict = self.limiter.hit()     # QPS first, then QPD (§9)
        if not verdict.allowed:
            return self._too_many(verdict.exceeded, retry_after=verdict.retry_after)
        return None

    def decorate(self, request: Request, response: Response) -> None:
        response.headers.setdefault("x-etsy-request-uuid", secrets.token_urlsafe(21))
        if request.path.startswith("/v3/"):
            for name, value in self._limit_headers().items():
                response.headers.setdefault(name, value)

    # -- keys and limits ---------------------------------------------------------------------------
    def _check_api_key(self, value: str | None) -> Response | None:
        value = (value or "").strip()
        if value and ":" not in value:
            return json_response({"error": SHARED_SECRET_REQUIRED}, status=403)
        keystring, _, secret = value.partition(":")
        if not keystring or not secret or ":" in secret:
            return json_response({"error": API_KEY_MALFORMED}, status=403)
        if not (secrets.compare_digest(keystring, self.keystring)
                and secrets.compare_digest(secret, self.shared_secret)):
            return json_response({"error": API_KEY_INVALID}, status=403)
        return None

    def _limit_headers(self) -> dict[str, str]:
        return {"x-limit-per-second": str(self.limiter.per_second),
                "x-remaining-this-second": str(self.limiter.remaining_this_second()),
                "x-limit-per-day": str(self.limiter.per_day),
                "x-remaining-today": str(self.limiter.remaining_today())}

    def _too_many(self, exceeded: str, *, retry_after: int) -> Response:
        # Bodies and headers from §9 (issues #198, #256).
        message = "Exceeded daily rate limit" if exceeded == "day" else "Exceeded per second rate limit"
        headers = self._limit_headers()
        headers["retry-after"] = str(retry_after)
        headers["x-remaining-this-second" if exceeded == "second" else "x-remaining-today"] = "0"
        return json_response({"error": message}, status=429, headers=headers)

    # -- routing -----------------------------------------------------------------------------------
    def register_routes(self) -> None:
        add = self._vendor
        self.router.add("GET", "/oauth/connect", self._connect_page)
        self.router.add("POST", "/oauth/connect", self._connect_decision)
        self.router.add("POST", "/v3/public/oauth/token", self._token)
        v3 = "/v3/application"
        receipt = f"{v3}/shops/{{shop_id}}/receipts/{{receipt_id}}"
        add("GET", f"{v3}/openapi-ping", self._ping)
        add("GET", f"{v3}/users/me", self._me, scope="shops_r")
        add("GET", f"{v3}/users/{{user_id}}/shops", self._shop_by_owner)
        add("GET", f"{v3}/shops/{{shop_id}}", self._shop)
        add("GET", f"{v3}/shops/{{shop_id}}/receipts", self._receipts, scope="transactions_r")
        add("GET", receipt, self._receipt, scope="transactions_r")
        add("PUT", receipt, self._update_receipt, scope="transactions_w")
        add("GET", f"{receipt}/transactions", self._transactions, scope="transactions_r")
        add("POST", f"{receipt}/tracking", self._create_shipment, scope="transactions_w")
        add("GET", f"{v3}/shops/{{shop_id}}/listings", self._listings, scope="listings_r", optional=True)
        add("GET", f"{v3}/listings/{{listing_id}}/inventory", self._inventory, scope="listings_r")
        add("PUT", f"{v3}/listings/{{listing_id}}/inventory", self._update_inventory, scope="listings_w")
        add("PATCH", f"{v3}/shops/{{shop_id}}/listings/{{listing_id}}", self._update_listing, scope="listings_w")

        control = self._control
        control("GET", "/_sandbox/", self._control_page)
        control("GET", "/_sandbox/shops", self._control_shops)
        control("POST", "/_sandbox/shops", self._control_create_shop)
        control("GET", "/_sandbox/shops/{shop_id}", self._control_shop_state)
        control("PATCH", "/_sandbox/shops/{shop_id}", self._control_patch_shop)
        control("POST", "/_sandbox/shops/{shop_id}/listings", self._control_create_listing)
        control("PATCH", "/_sandbox/shops/{shop_id}/listings/{listing_id}", self._control_patch_listing)
        control("POST", "/_sandbox/shops/{shop_id}/receipts", self._control_create_receipts)
        control("PATCH", "/_sandbox/shops/{shop_id}/receipts/{receipt_id}", self._control_patch_receipt)
        control("POST", "/_sandbox/grants", self._control_grant)
        control("POST", "/_sandbox/tokens/expire", self._control_expire_tokens)
        control("POST", "/_sandbox/tokens/revoke", self._control_revoke_tokens)
        control("POST", "/_sandbox/codes/expire", self._control_expire_codes)
        control("GET", "/_sandbox/webhooks", self._control_webhooks)
        control("POST", "/_sandbox/webhooks", self._control_webhooks)
        control("POST", "/_sandbox/shops/{shop_id}/receipts/form", self._control_receipt_form)
        control("GET", "/_sandbox/rate_limits", self._control_rate_limits)
        control("POST", "/_sandbox/rate_limits", self._control_rate_limits)
        control("GET", "/_sandbox/redirect_uris", self._control_redirect_uris)
        control("POST", "/_sandbox/redirect_uris", self._control_redirect_uris)

    def _vendor(self, method: str, pattern: str, handler: VendorHandler, *, scope: str | None = None,
                optional: bool = False) -> None:
        def run(request: Request) -> Response:
            try:
                token = self._authenticate(request, scope, required=not optional) if scope else None
                return handler(request, token)
            except EtsyError as exc:
                return json_response(exc.body(), status=exc.status)
        self.router.add(method, pattern, run)

    def _control(self, method: str, pattern: str, handler: Callable[[Request], Response]) -> None:
        def run(request: Request) -> Response:
            try:
                return handler(request)
            except EtsyError as exc:
                return json_response(exc.body(), status=exc.status)
            except InventoryInvalid as exc:
                return json_response({"error": str(exc)}, status=400)
            except ValueError as exc:            # a body that is not JSON
                return json_response({"error": f"Invalid JSON body: {exc}"}, status=400)
        self.router.add(method, pattern, run)

    def _authenticate(self, request: Request, scope: str, *, required: bool) -> AccessToken | None:
        header = (request.headers.get("authorization") or "").strip()
        if not header:
            if not required:
                return None
            # Sandbox wording: Etsy's body for a missing bearer is not documented.
            raise EtsyError(401, "invalid_token", "access token is missing")
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise EtsyError(401, "invalid_token", "access token is invalid")
        user_part, dot, _ = value.partition(".")
        if not dot or not user_part.isdigit():
            raise EtsyError(403, "No user was provided as part of the bearer token.")
        token = self.oauth.access_tokens.get(value)
        if token is None or token.revoked or token.user_id != int(user_part):
            raise EtsyError(401, "invalid_token", "access token is invalid")
        if token.expires_at <= self._clock():
            raise EtsyError(401, "invalid_token", "access token is expired")
        if scope not in token.scopes:
            raise EtsyError(403, "insufficient_scope", "Insufficient scope")
        return token

    # -- lookups -----------------------------------------------------------------------------------
    def _path_id(self, request: Request, name: str) -> int:
        return parse_int(request.params[name], name, minimum=1)

    def _shop_or_404(self, shop_id: int) -> Shop:
        shop = self.store.shops.get(shop_id)
        if shop is None:
            raise EtsyError(404, f"Could not find a Shop with shop_id = {shop_id}")
        return shop

    def _owned_shop(self, request: Request, token: AccessToken | None) -> Shop:
        shop = self._shop_or_404(self._path_id(request, "shop_id"))
        if token is None or token.user_id != shop.user_id:
            raise EtsyError(403, f"User does not own Shop {shop.shop_id}")     # issue #588
        return shop

    def _owned_receipt(self, request: Request, token: AccessToken | None) -> tuple[Shop, Receipt]:
        shop = self._owned_shop(request, token)
        receipt_id = self._path_id(request, "receipt_id")
        receipt = self.store.receipts.get(receipt_id)
        if receipt is None or receipt.shop_id != shop.shop_id:
            # Etsy's wording for a receipt that is not in this shop (issue #338).
            raise EtsyError(404, f"Could not find a Shop Receipt with receipt_id = {receipt_id} "
                                 f"associated with shop_id = {shop.shop_id}.")
        return shop, receipt

    def _listing_or_404(self, request: Request) -> Listing:
        listing_id = self._path_id(request, "listing_id")
        listing = self.store.listings.get(listing_id)
        if listing is None:
            raise EtsyError(404, f"Could not find a Listing with listing_id = {listing_id}")
        return listing

    def _currency(self, shop_id: int) -> str:
        return self.store.shops[shop_id].currency_code

    # -- query parameters (URL Syntax page; §4.1, §11) ----------------------------------------------
    @staticmethod
    def _arg(request: Request, name: str) -> str | None:
        value = request.arg(name)
        return value if value not in (None, "") else None

    def _opt_int_arg(self, request: Request, name: str, *, minimum: int | None = None,
                     maximum: int | None = None) -> int | None:
        value = self._arg(request, name)
        return None if value is None else parse_int(value, name, minimum=minimum, maximum=maximum)

    def _int_arg(self, request: Request, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self._opt_int_arg(request, name, minimum=minimum, maximum=maximum)
        return default if value is None else value

    def _bool_arg(self, request: Request, name: str) -> bool | None:
        value = self._arg(request, name)
        return None if value is None else parse_bool(value, name)

    def _choice_arg(self, request: Request, name: str, choices: Iterable[str], default: str) -> str:
        value = self._arg(request, name) or default
        allowed = list(choices)
        if value not in allowed:
            raise bad(f"Invalid value for [{name}]: one of {', '.join(allowed)}")
        return value

    @staticmethod
    def _list_arg(request: Request, name: str) -> list[str]:
        # Arrays are comma-separated; repeated parameters (requests' default for lists) work too.
        values = request.query.get(name, [])
        return [part.strip() for value in values for part in value.split(",") if part.strip()]

    def _page(self, request: Request) -> tuple[int, int]:
        return (self._int_arg(request, "limit", 25, minimum=1, maximum=100),
                self._int_arg(request, "offset", 0, minimum=0, maximum=MAX_OFFSET))

    # -- OAuth (§2) --------------------------------------------------------------------------------
    def _connect_page(self, request: Request) -> Response:
        def arg(name: str) -> str:
            return (request.arg(name) or "").strip()

        if arg("client_id") != self.keystring:
            return html_response(error_page("The application asking for access is not known."), 400)
        redirect_uri = request.arg("redirect_uri") or ""
        if redirect_uri not in self.redirect_uris:
            # No redirect at all for an unregistered callback (§2.1).
            return html_response(error_page("The requested redirect URL is not permitted."), 400)
        state = arg("state")

        def refuse(error: str, description: str) -> Response:
            location = _with_query(redirect_uri, error=error, error_description=description, state=state)
            return redirect(location)

        if arg("response_type") != "code":
            return refuse("unsupported_response_type", "response_type must be code")
        if not state:
            return refuse("invalid_request", "state is required")
        scopes = tuple(dict.fromkeys(arg("scope").split()))
        if not scopes:
            return refuse("invalid_scope", "scope is required")
        unknown = [s for s in scopes if s not in ALL_SCOPES]
        if unknown:
            return refuse("invalid_scope", f"unknown scope: {' '.join(unknown)}")
        if arg("code_challenge_method") != "S256":
            return refuse("invalid_request", "code_challenge_method must be S256")
        if not CHALLENGE_PATTERN.match(arg("code_challenge")):
            return refuse("invalid_request", "code_challenge must be base64url(SHA-256(code_verifier))")
        consent = self.oauth.start_consent(redirect_uri=redirect_uri, scopes=scopes, state=state,
                                           code_challenge=arg("code_challenge"), now=self._clock())
        shops = [(shop, self.store.users[shop.user_id].login_name) for shop in self.store.shops.values()]
        return html_response(consent_page(app_name=self.app_name, consent=consent, shops=shops))

    def _connect_decision(self, request: Request) -> Response:
        form = request.form()
        consent = self.oauth.take_consent(form.get("request_id", ""), self._clock())
        if consent is None:
            return html_response(error_page("This request for access has expired or was already answered. "
                                            "Start again from the app."), 400)
        if form.get("decision") != "allow":
            return redirect(_with_query(consent.redirect_uri, error="access_denied",
                                        error_description="The user denied access to the application.",
                                        state=consent.state))
        choice = form.get("shop_id") or "new"
        if choice == "new":
            shop = self.store.create_shop(now=self.now())
        else:
            found = self.store.shops.get(int(choice)) if choice.isdigit() else None
            if found is None:
                return html_response(error_page(f"Unknown shop {choice}."), 400)
            shop = found
        code = self.oauth.issue_code(consent, user_id=shop.user_id, now=self._clock())
        return redirect(_with_query(consent.redirect_uri, code=code, state=consent.state))

    def _token(self, request: Request) -> Response:
        try:
            try:
                raw = request.data()       # form (the docs) or JSON (etsyv3's refresh), by Content-Type
            except ValueError:
                raise OAuthError("invalid_request",
                                 "send application/x-www-form-urlencoded or application/json") from None
            data = {key: "" if value is None else str(value) for key, value in raw.items()}
            grant_type = data.get("grant_type", "")
            if not grant_type:
                raise OAuthError("invalid_request", "grant_type is required")
            if grant_type not in ("authorization_code", "refresh_token"):
                raise OAuthError("unsupported_grant_type", f"grant_type {grant_type} is not supported")
            client_id = data.get("client_id", "")
            if not client_id:
                # Etsy wants client_id in the body, not as HTTP Basic auth (reference/dependencies.md).
                raise OAuthError("invalid_request", "client_id is required")
            if client_id != self.keystring:
                raise OAuthError("invalid_client", "client_id is not a known keystring", status=401)
            if grant_type == "authorization_code":
                pair = self.oauth.exchange_code(code=data.get("code", ""),
                                                redirect_uri=data.get("redirect_uri", ""),
                                                code_verifier=data.get("code_verifier", ""),
                                                now=self._clock())
            else:
                pair = self.oauth.refresh(refresh_token=data.get("refresh_token", ""),
                                          scope=data.get("scope", ""), now=self._clock())
        except OAuthError as exc:
            return json_response(exc.body(), status=exc.status, headers={"Cache-Control": "no-store"})
        return json_response(pair.as_response(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- users and shops (§3) ----------------------------------------------------------------------
    def _ping(self, request: Request, token: AccessToken | None) -> Response:
        return json_response({"application_id": application_id(self.keystring)})

    def _me(self, request: Request, token: AccessToken | None) -> Response:
        assert token is not None
        body: dict[str, Any] = {"user_id": token.user_id}
        shop = self.store.shop_of_user(token.user_id)
        if shop is not None:                 # optional in the schema: absent for a user without a shop
            body["shop_id"] = shop.shop_id
        return json_response(body)

    def _shop_by_owner(self, request: Request, token: AccessToken | None) -> Response:
        user_id = self._path_id(request, "user_id")
        shop = self.store.shop_of_user(user_id)
        if shop is None:
            raise EtsyError(404, f"Could not find a shop for user with user_id = {user_id}")   # issue #526
        return json_response(shop_json(self.store, shop))            # one Shop, not a list (§3)

    def _shop(self, request: Request, token: AccessToken | None) -> Response:
        shop = self._shop_or_404(self._path_id(request, "shop_id"))
        return json_response(shop_json(self.store, shop))

    # -- receipts (§4, §5) -------------------------------------------------------------------------
    def _receipts(self, request: Request, token: AccessToken | None) -> Response:
        shop = self._owned_shop(request, token)
        bounds = {name: self._opt_int_arg(request, name, minimum=MIN_TIMESTAMP)
                  for name in ("min_created", "max_created", "min_last_modified", "max_last_modified")}
        flags = {name: self._bool_arg(request, name)
                 for name in ("was_paid", "was_shipped", "was_delivered", "was_canceled")}
        sort_on = self._choice_arg(request, "sort_on", RECEIPT_SORT_KEYS, "created")
        descending = SORT_ORDERS[self._choice_arg(request, "sort_order", SORT_ORDERS, "desc")]
        limit, offset = self._page(request)

        def keep(r: Receipt) -> bool:
            checks = (
                (bounds["min_created"], lambda v: r.created_timestamp >= v),
                (bounds["max_created"], lambda v: r.created_timestamp <= v),
                (bounds["min_last_modified"], lambda v: r.updated_timestamp >= v),
                (bounds["max_last_modified"], lambda v: r.updated_timestamp <= v),
                (flags["was_paid"], lambda v: r.is_paid == v),
                (flags["was_shipped"], lambda v: r.is_shipped == v),
                (flags["was_delivered"], lambda v: r.is_delivered == v),
                (flags["was_canceled"], lambda v: (r.status == "canceled") == v),
            )
            return all(check(value) for value, check in checks if value is not None)

        key = RECEIPT_SORT_KEYS[sort_on]
        matches = sorted((r for r in self.store.shop_receipts(shop.shop_id) if keep(r)),
                         key=lambda r: (key(r), r.receipt_id), reverse=descending)
        page = matches[offset:offset + limit]
        return json_response({"count": len(matches), "results": [receipt_json(r) for r in page]})

    def _receipt(self, request: Request, token: AccessToken | None) -> Response:
        _, receipt = self._owned_receipt(request, token)
        return json_response(receipt_json(receipt))

    def _transactions(self, request: Request, token: AccessToken | None) -> Response:
        _, receipt = self._owned_receipt(request, token)
        results = [transaction_json(receipt, t) for t in receipt.transactions]
        return json_response({"count": len(results), "results": results})

    def _form_or_json(self, request: Request) -> dict[str, Any]:
        try:
            return request.data()
        except ValueError:
            raise bad("Send the body as application/x-www-form-urlencoded or application/json") from None

    def _create_shipment(self, request: Request, token: AccessToken | None) -> Response:
        shop, receipt = self._owned_receipt(request, token)
        if shop.shipment_api_restricted:
            # Sandbox wording for the post-2024-10-21 restriction (§4.2); Etsy answers 403.
            raise EtsyError(403, "This application is not allowed to create shipments for this shop.")
        body = self._form_or_json(request)
        tracking_code = parse_str(body.get("tracking_code"), "tracking_code").strip()
        carrier_name = parse_str(body.get("carrier_name"), "carrier_name").strip()
        if tracking_code and not carrier_name:
            raise bad("Missing input parameter: [carrier_name]")
        if carrier_name and not tracking_code:
            raise bad("Missing input parameter: [tracking_code]")
        details = {name: body[name] for name in SHIPMENT_DETAIL_FIELDS if body.get(name) not in (None, "")}
        ship_date = body.get("ship_date")
        if isinstance(ship_date, str):
            try:
                datetime.fromisoformat(ship_date.replace("Z", "+00:00"))
                details["ship_date"] = ship_date
            except ValueError:
                pass                       # the docs: a malformed ship_date is silently ignored (§5)
        ship_receipt(self.store, receipt, tracking_code=tracking_code, carrier_name=carrier_name,
                     note_to_buyer=parse_str(body.get("note_to_buyer"), "note_to_buyer"),
                     send_bcc=parse_bool(body.get("send_bcc", False), "send_bcc"), details=details,
                     content_type=_content_type(request), now=self.now())
        return json_response(receipt_json(receipt))

    def _update_receipt(self, request: Request, token: AccessToken | None) -> Response:
        _, receipt = self._owned_receipt(request, token)
        body = self._form_or_json(request)
        flags = {name: parse_bool(body[name], name) if body.get(name) not in (None, "") else None
                 for name in ("was_paid", "was_shipped")}
        update_receipt(receipt, was_paid=flags["was_paid"], was_shipped=flags["was_shipped"], now=self.now())
        return json_response(receipt_json(receipt))

    # -- listings and inventory (§6, §7) -----------------------------------------------------------
    def _listings(self, request: Request, token: AccessToken | None) -> Response:
        shop = self._shop_or_404(self._path_id(request, "shop_id"))
        owner = token is not None and token.user_id == shop.user_id
        state = self._choice_arg(request, "state", LISTING_STATES, "active")
        if state != "active" and not owner:
            raise EtsyError(403, f"User does not own Shop {shop.shop_id}")
        limit, offset = self._page(request)
        sort_on = self._choice_arg(request, "sort_on", LISTING_SORT_KEYS, "created")
        descending = SORT_ORDERS[self._choice_arg(request, "sort_order", SORT_ORDERS, "desc")]
        includes = self._list_arg(request, "includes")
        unknown = [i for i in includes if i not in LISTING_INCLUDES]
        if unknown:
            raise bad(f"Invalid value for [includes]: {', '.join(unknown)}")
        skus = set(self._list_arg(request, "skus"))
        key = LISTING_SORT_KEYS[sort_on]
        matches = sorted((listing for listing in self.store.shop_listings(shop.shop_id)
                          if listing.state == state and (not skus or skus & set(listing.skus))),
                         key=lambda listing: (key(listing), listing.listing_id), reverse=descending)
        results = []
        for listing in matches[offset:offset + limit]:
            item = listing_json(listing, shop.currency_code, show_sku=owner)
            if "Inventory" in includes:
                item["inventory"] = inventory_json(listing, shop.currency_code, show_sku=owner)
            if "Shop" in includes:
                item["shop"] = shop_json(self.store, shop)
            if "Images" in includes:
                item["images"] = []
            results.append(item)
        return json_response({"count": len(matches), "results": results})

    def _inventory(self, request: Request, token: AccessToken | None) -> Response:
        listing = self._listing_or_404(request)
        owner = token is not None and token.user_id == listing.user_id
        currency = self._currency(listing.shop_id)
        show_deleted = bool(self._bool_arg(request, "show_deleted"))
        listing_object = (listing_json(listing, currency, show_sku=owner)
                          if "Listing" in self._list_arg(request, "includes") else None)
        return json_response(inventory_json(listing, currency, show_sku=owner, show_deleted=show_deleted,
                                            listing_object=listing_object))

    def _update_inventory(self, request: Request, token: AccessToken | None) -> Response:
        listing = self._listing_or_404(request)
        if token is None or token.user_id != listing.user_id:
            raise EtsyError(403, f"User does not own Listing {listing.listing_id}")
        # JSON only; any other Content-Type reads as a body without products (§7.2 rule 6, issue #168).
        if _content_type(request) != "application/json":
            raise bad(MISSING_PRODUCTS)
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError):
            raise bad(MISSING_PRODUCTS) from None
        try:
            spec = parse_inventory(body, value_id_for=self.store.value_id_for)
        except InventoryInvalid as exc:
            raise bad(str(exc)) from None
        self.store.replace_inventory(listing, spec, now=self.now())
        return json_response(inventory_json(listing, self._currency(listing.shop_id), show_sku=True))

    def _update_listing(self, request: Request, token: AccessToken | None) -> Response:
        """updateListing: here only `state` (active | inactive) is applied, the way a seller hides a listing
        or shows it again. A listing with no quantity cannot be made active."""
        listing = self._listing_or_404(request)
        if listing.shop_id != self._path_id(request, "shop_id"):
            raise EtsyError(404, f"Could not find a Listing with listing_id = {listing.listing_id} in this shop")
        if token is None or token.user_id != listing.user_id:
            raise EtsyError(403, f"User does not own Listing {listing.listing_id}")
        try:
            body = request.data()
        except (ValueError, UnicodeDecodeError):
            raise bad("The body could not be read") from None
        state = body.get("state")
        if state is not None:
            if state not in ("active", "inactive"):
                raise bad(f"Invalid value for [state]: {state!r}; expected active or inactive")
            if state == "active" and listing.quantity <= 0:
                raise bad("A listing with quantity 0 cannot be activated")
            if state != listing.state:
                listing.state = state
                listing.state_timestamp = self.now()
            listing.updated_timestamp = self.now()
        return json_response(listing_json(listing, self._currency(listing.shop_id), show_sku=True))

    # -- control API -------------------------------------------------------------------------------
    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        data = request.json()
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise bad("The body must be a JSON object")
        return data

    def _control_shop(self, request: Request) -> Shop:
        shop_id = self._path_id(request, "shop_id")
        shop = self.store.shops.get(shop_id)
        if shop is None:
            raise EtsyError(404, f"No shop {shop_id} in the sandbox")
        return shop

    def _control_page(self, request: Request) -> Response:
        limits = {"per_second": self.limiter.per_second, "per_day": self.limiter.per_day,
                  "remaining_today": self.limiter.remaining_today()}
        return html_response(dashboard(store=self.store, keystring=self.keystring,
                                       redirect_uris=self.redirect_uris, limits=limits, calls=self.calls,
                                       faults=self.faults_form("/tracking")))

    def _control_shops(self, request: Request) -> Response:
        return json_response({"shops": [shop_json(self.store, s) for s in self.store.shops.values()]})

    def _control_create_shop(self, request: Request) -> Response:
        data = self._body(request)
        allowed = {"shop_id", "user_id", "shop_name", "currency_code", "country_iso", "login_name",
                   "shipment_api_restricted"}
        if set(data) - allowed:
            raise bad(f"Unknown shop field(s): {', '.join(sorted(set(data) - allowed))}")
        shop = self.store.create_shop(
            now=self.now(),
            shop_id=parse_optional_int(data.get("shop_id"), "shop_id", minimum=1),
            user_id=parse_optional_int(data.get("user_id"), "user_id", minimum=1),
            shop_name=parse_str(data.get("shop_name"), "shop_name") or None,
            currency_code=parse_str(data.get("currency_code") or "USD", "currency_code"),
            country_iso=parse_str(data.get("country_iso") or "US", "country_iso"),
            login_name=parse_str(data.get("login_name"), "login_name") or None,
            shipment_api_restricted=parse_bool(data.get("shipment_api_restricted", False), "restricted"),
        )
        return json_response(shop_json(self.store, shop))

    def _control_patch_shop(self, request: Request) -> Response:
        shop = self._control_shop(request)
        data = self._body(request)
        if "shop_name" in data:
            shop.shop_name = parse_str(data["shop_name"], "shop_name")
        if "shipment_api_restricted" in data:
            shop.shipment_api_restricted = parse_bool(data["shipment_api_restricted"], "restricted")
        shop.updated_timestamp = self.now()
        return json_response(shop_json(self.store, shop))

    def _control_shop_state(self, request: Request) -> Response:
        shop = self._control_shop(request)
        receipts = sorted(self.store.shop_receipts(shop.shop_id),
                          key=lambda r: (r.created_timestamp, r.receipt_id))
        shipments = [{"receipt_id": r.receipt_id, "receipt_shipping_id": s.receipt_shipping_id,
                      "tracking_code": s.tracking_code, "carrier_name": s.carrier_name,
                      "shipment_notification_timestamp": s.shipment_notification_timestamp,
                      "note_to_buyer": s.note_to_buyer, "send_bcc": s.send_bcc, "details": s.details,
                      "content_type": s.content_type}
                     for r in receipts for s in r.shipments]
        return json_response({"shop": shop_json(self.store, shop),
                              "receipts": [receipt_json(r) for r in receipts],
                              "shipments": shipments,
                              "listings": [self._listing_with_inventory(listing)
                                           for listing in self.store.shop_listings(shop.shop_id)]})

    def _listing_with_inventory(self, listing: Listing) -> dict[str, Any]:
        currency = self._currency(listing.shop_id)
        item = listing_json(listing, currency, show_sku=True)
        item["inventory"] = inventory_json(listing, currency, show_sku=True)
        return item

    def _control_create_listing(self, request: Request) -> Response:
        shop = self._control_shop(request)
        data = self._body(request)
        allowed = {"title", "description", "state", "products", *ON_PROPERTY_KEYS}
        if set(data) - allowed:
            raise bad(f"Unknown listing field(s): {', '.join(sorted(set(data) - allowed))}")
        state = parse_str(data.get("state", "active"), "state")
        if state not in LISTING_STATES:
            raise bad(f"Invalid value for [state]: one of {', '.join(LISTING_STATES)}")
        spec = parse_inventory(_inventory_body(data), value_id_for=self.store.value_id_for)
        title = parse_str(data.get("title") or "Sandbox listing", "title")
        listing = self.store.create_listing(shop, title=title, spec=spec, now=self.now(), state=state,
                                            description=parse_str(data.get("description"), "description"))
        return json_response(self._listing_with_inventory(listing))

    def _control_patch_listing(self, request: Request) -> Response:
        shop = self._control_shop(request)
        listing_id = self._path_id(request, "listing_id")
        listing = self.store.listings.get(listing_id)
        if listing is None or listing.shop_id != shop.shop_id:
            raise EtsyError(404, f"No listing {listing_id} in shop {shop.shop_id}")
        data = self._body(request)
        if "state" in data:
            state = parse_str(data["state"], "state")
            if state not in LISTING_STATES:
                raise bad(f"Invalid value for [state]: one of {', '.join(LISTING_STATES)}")
            listing.state, listing.state_timestamp = state, self.now()
        if "title" in data:
            listing.title = parse_str(data["title"], "title")
        listing.updated_timestamp = self.now()
        return json_response(self._listing_with_inventory(listing))

    def _default_transactions(self, shop: Shop) -> list[dict[str, Any]]:
        for listing in self.store.shop_listings(shop.shop_id):
            if listing.products:
                return [{"product_id": listing.products[0].product_id, "quantity": 1}]
        return [{"sku": "SANDBOX-ITEM-1", "quantity": 1}]

    def _control_create_receipts(self, request: Request) -> Response:
        shop = self._control_shop(request)
        data = self._body(request)
        if "count" not in data:
            fields = dict(data)
            fields.setdefault("transactions", self._default_transactions(shop))
            receipt = build_receipt(self.store, shop, fields, now=self.now())
            self.store.receipts[receipt.receipt_id] = receipt
            self._paid(receipt, was_paid=False)
            return json_response(receipt_json(receipt))
        count = parse_int(data["count"], "count", minimum=1, maximum=5000)
        template = data.get("template") or {}
        if not isinstance(template, dict) or set(data) - {"count", "template"}:
            raise bad('Send {"count": N, "template": {...receipt fields...}}')
        if "receipt_id" in template and count > 1:
            raise bad("A template for several receipts cannot fix receipt_id")
        template.setdefault("transactions", self._default_transactions(shop))
        base = parse_int(template.get("created_timestamp", self.now()), "created_timestamp",
                         minimum=MIN_TIMESTAMP)
        built: list[Receipt] = []
        for index in range(count):
            # One second apart, oldest first, so that sorting and time windows are testable.
            fields = {**template, "created_timestamp": base - (count - 1 - index)}
            built.append(build_receipt(self.store, shop, fields, now=self.now()))
            self.store.receipts[built[-1].receipt_id] = built[-1]
            self._paid(built[-1], was_paid=False)
        return json_response({"receipts": [receipt_json(r) for r in built]})

    def _control_patch_receipt(self, request: Request) -> Response:
        shop = self._control_shop(request)
        receipt_id = self._path_id(request, "receipt_id")
        receipt = self.store.receipts.get(receipt_id)
        if receipt is None or receipt.shop_id != shop.shop_id:
            raise EtsyError(404, f"No receipt {receipt_id} in shop {shop.shop_id}")
        was_paid = receipt.is_paid
        patch_receipt(receipt, self._body(request), now=self.now())
        self._paid(receipt, was_paid=was_paid)
        return json_response(receipt_json(receipt))

    def _paid(self, receipt: Receipt, *, was_paid: bool) -> None:
        """A receipt that has just become paid is an order.paid webhook (sent after this call returns)."""
        if receipt.is_paid and not was_paid:
            self.webhooks.order_paid(shop_id=receipt.shop_id, receipt_id=receipt.receipt_id, api_base=self.base_url)

    def _control_webhooks(self, request: Request) -> Response:
        """GET: the registered endpoint and every delivery with its attempts. POST {"url": ".../{shop_id}/",
        "secret": "whsec_..." (optional), "time_scale": 1, "payload_shape": "flat" | "data",
        "fail_next": N}: register the endpoint (as in Etsy's developer portal); answers the signing secret."""
        hooks = self.webhooks
        if request.method == "POST":
            data = self._body(request)
            if "url" in data:
                try:
                    hooks.configure(url=str(data["url"]), secret=data.get("secret") or None,
                                    time_scale=float(data.get("time_scale") or 1.0),
                                    payload_shape=str(data.get("payload_shape") or "flat"))
                except (ValueError, TypeError) as exc:
                    raise bad(str(exc)) from None
            if "fail_next" in data:
                hooks.fail_next = parse_int(data["fail_next"], "fail_next", minimum=0, maximum=100)
        return json_response({"url": hooks.url_template, "signing_secret": hooks.secret,
                              "time_scale": hooks.time_scale, "payload_shape": hooks.payload_shape,
                              "deliveries": [d.summary() for d in hooks.deliveries]})

    def _control_receipt_form(self, request: Request) -> Response:
        """The dashboard's "Add a paid receipt" form: a buyer has just paid for one item of the shop."""
        shop = self._control_shop(request)
        form = request.form()
        sku = (form.get("sku") or "").strip()
        transactions = [{"sku": sku, "quantity": parse_int(form.get("quantity") or 1, "quantity", minimum=1,
                                                            maximum=100)}] if sku else self._default_transactions(shop)
        receipt = build_receipt(self.store, shop, {"status": "paid", "transactions": transactions}, now=self.now())
        self.store.receipts[receipt.receipt_id] = receipt
        self._paid(receipt, was_paid=False)
        return redirect("/_sandbox/")

    def _user_id(self, data: dict[str, Any]) -> int:
        if data.get("user_id") is None:
            raise bad("user_id is required")
        return parse_int(data["user_id"], "user_id", minimum=1)

    def _control_grant(self, request: Request) -> Response:
        data = self._body(request)
        user = self.store.ensure_user(self._user_id(data))
        scopes = data.get("scopes", list(PROJECT_SCOPES))
        if not isinstance(scopes, list) or not all(isinstance(s, str) and s in ALL_SCOPES for s in scopes):
            raise bad(f"scopes must be a list of Etsy scopes: {', '.join(sorted(ALL_SCOPES))}")
        pair = self.oauth.grant(user_id=user.user_id, scopes=tuple(scopes), now=self._clock())
        return json_response(pair.as_response())

    def _control_expire_tokens(self, request: Request) -> Response:
        user_id = self._user_id(self._body(request))
        return json_response({"expired": self.oauth.expire_access_tokens(user_id, self._clock())})

    def _control_revoke_tokens(self, request: Request) -> Response:
        user_id = self._user_id(self._body(request))
        return json_response({"revoked": self.oauth.revoke_user(user_id)})

    def _control_expire_codes(self, request: Request) -> Response:
        return json_response({"expired": self.oauth.expire_codes(self._clock())})

    def _control_rate_limits(self, request: Request) -> Response:
        if request.method == "POST":
            data = self._body(request)
            per_second = parse_optional_int(data.get("per_second"), "per_second", minimum=1)
            per_day = parse_optional_int(data.get("per_day"), "per_day", minimum=1)
            self.limiter.configure(per_second=per_second, per_day=per_day)
            remaining = parse_optional_int(data.get("remaining_today"), "remaining_today", minimum=0)
            if remaining is not None:
                self.limiter.set_remaining_today(remaining)
        return json_response({"per_second": self.limiter.per_second, "per_day": self.limiter.per_day,
                              "remaining_this_second": self.limiter.remaining_this_second(),
                              "remaining_today": self.limiter.remaining_today()})

    def _control_redirect_uris(self, request: Request) -> Response:
        if request.method == "POST":
            data = self._body(request)
            uris = data.get("redirect_uris") or ([data["redirect_uri"]] if data.get("redirect_uri") else [])
            if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u for u in uris):
                raise bad('Send {"redirect_uri": "..."} or {"redirect_uris": [...]}')
            for uri in uris:
                if uri not in self.redirect_uris:
                    self.redirect_uris.append(uri)
        return json_response({"redirect_uris": list(self.redirect_uris)})


def _inventory_body(data: dict[str, Any]) -> dict[str, Any]:
    """The control API's short listing form turned into an updateListingInventory body.

    Arrays left out default to what the products show: a property is named in price_, quantity_ or
    sku_on_property when those values differ between the products.
    """
    raw_products = data.get("products")
    if not isinstance(raw_products, list) or not raw_products:
        raise bad("A listing needs a non-empty products array")
    products = []
    for index, raw in enumerate(raw_products):
        if not isinstance(raw, dict):
            raise bad(f"Invalid value for [products[{index}]]: expected an object")
        extra = set(raw) - {"sku", "quantity", "price", "property_values", "is_enabled", "readiness_state_id"}
        if extra:
            raise bad(f"Unknown product field(s): {', '.join(sorted(extra))}")
        values = [dict(pv, value_ids=pv.get("value_ids", [])) if isinstance(pv, dict) else pv
                  for pv in raw.get("property_values") or []]
        offering = {"price": raw.get("price", 10.0), "quantity": raw.get("quantity", 1),
                    "is_enabled": raw.get("is_enabled", True)}
        if raw.get("readiness_state_id") is not None:
            offering["readiness_state_id"] = raw["readiness_state_id"]
        products.append({"sku": raw.get("sku", ""), "property_values": values, "offerings": [offering]})
    first = products[0]["property_values"]
    property_ids = sorted({pv["property_id"] for pv in first if isinstance(pv, dict) and "property_id" in pv})
    body: dict[str, Any] = {"products": products}
    varying = {"price_on_property": lambda p: p["offerings"][0]["price"],
               "quantity_on_property": lambda p: p["offerings"][0]["quantity"],
               "sku_on_property": lambda p: p["sku"]}
    for key in ON_PROPERTY_KEYS:
        if key in data:
            body[key] = data[key]
        elif key in varying:
            distinct = {repr(varying[key](p)) for p in products}
            body[key] = property_ids if len(distinct) > 1 else []
    return body
