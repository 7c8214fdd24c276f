"""Small wire helpers every Amazon API module of the sandbox uses: time, errors, bodies, tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from integrations.sandbox.http import Request, Response, json_response

UTC = timezone.utc

# Marketplaces the sandbox knows (reference/sp-api.md §7). Unknown ids are accepted with US-style defaults.
# id -> (country, currency, sales channel name, order-id prefix)
MARKETPLACES: dict[str, tuple[str, str, str, str]] = {
    "A39IBJ37TRP1C6": ("AU", "AUD", "Amazon.com.au", "249"),
    "ATVPDKIKX0DER": ("US", "USD", "Amazon.com", "113"),
    "A2EUQ1WTGCTBG2": ("CA", "CAD", "Amazon.ca", "702"),
    "A1AM78C64UM0Y8": ("MX", "MXN", "Amazon.com.mx", "701"),
    "A2Q3Y263D00KWC": ("BR", "BRL", "Amazon.com.br", "171"),
    "A1F83G8C2ARO7P": ("GB", "GBP", "Amazon.co.uk", "204"),
    "A1PA6795UKMFR9": ("DE", "EUR", "Amazon.de", "302"),
    "A13V1IB3VIYZZH": ("FR", "EUR", "Amazon.fr", "403"),
    "APJ6JRA9NG5V4": ("IT", "EUR", "Amazon.it", "404"),
    "A1RKKUPIHCS9HS": ("ES", "EUR", "Amazon.es", "405"),
    "A33AVAJ2PDY3EV": ("TR", "TRY", "Amazon.com.tr", "028"),
    "A1VC38T7YXB528": ("JP", "JPY", "Amazon.co.jp", "250"),
    "A19VAU5U5O7RUS": ("SG", "SGD", "Amazon.sg", "503"),
}
DEFAULT_MARKETPLACE_ID = "A39IBJ37TRP1C6"


def marketplace_info(marketplace_id: str) -> tuple[str, str, str, str]:
    return MARKETPLACES.get(marketplace_id, ("US", "USD", "Amazon", "111"))


# -- time ------------------------------------------------------------------------------------------

def iso(moment: datetime) -> str:
    """Amazon's timestamp style in every model example: UTC, whole seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """ISO-8601 with `Z`, an offset or fractions; a date alone means midnight UTC. Raises ValueError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty date")
    value = text.strip()
    if value.endswith(("z", "Z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


class Clock:
    """The sandbox's idea of now: real time plus an offset a test can move forward.

    `lag_seconds` is how far behind now the default upper bound of an order search sits. Amazon says
    a CreatedBefore/LastUpdatedBefore must be "at least two minutes before the time of the request"
    (ordersV0.json, getOrders); the sandbox uses the same number for both rules, 0 by default so tests
    see new orders at once, 120 to behave exactly like Amazon.
    """

    def __init__(self, lag_seconds: float = 0.0, offset_seconds: float = 0.0) -> None:
        self.lag_seconds = lag_seconds
        self.offset_seconds = offset_seconds

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds)

    def stamp(self) -> datetime:
        return whole_seconds(self.now())

    def latest_allowed_before(self) -> datetime:
        """The latest CreatedBefore/LastUpdatedBefore a client may ask for."""
        return self.now() - timedelta(seconds=self.lag_seconds)

    def search_upper_bound(self) -> datetime:
        """The upper bound applied when the client gives none (whole seconds, as it is echoed)."""
        return whole_seconds(self.latest_allowed_before())


# -- errors ----------------------------------------------------------------------------------------

class SpApiError(Exception):
    """Raised inside a handler to answer with an SP-API error body."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def response(self) -> Response:
        return sp_error(self.status, self.code, self.message, self.details)


def sp_error(status: int, code: str, message: str, details: str | None = None) -> Response:
    error: dict[str, str] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return json_response({"errors": [error]}, status=status)


def invalid_input(message: str, details: str | None = None) -> SpApiError:
    return SpApiError(400, "InvalidInput", message, details)


def not_found(message: str) -> SpApiError:
    return SpApiError(404, "NotFound", message)


# -- request parsing -------------------------------------------------------------------------------

def csv_values(request: Request, *names: str) -> list[str]:
    """A Swagger 2 `csv` array parameter. Clients send `a,b` or repeat the name (httpx does for lists)."""
    values: list[str] = []
    for name in names:
        for raw in request.query.get(name, []):
            values.extend(part.strip() for part in raw.split(",") if part.strip())
    return values


def int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        number = float(raw)          # Supply Sources declares pageSize as `number`
    except ValueError:
        raise invalid_input(f"{name} must be an integer between {low} and {high}") from None
    if number != int(number) or not low <= number <= high:
        raise invalid_input(f"{name} must be an integer between {low} and {high}")
    return int(number)


def json_body(request: Request) -> dict[str, Any]:
    """The JSON object in an SP-API request body. Unknown keys are the caller's business to ignore."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if request.body and ctype and ctype != "application/json":
        raise SpApiError(415, "UnsupportedMediaType", f"Content type {ctype} is not supported; send application/json")
    if not request.body:
        return {}
    try:
        parsed = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise invalid_input("The request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise invalid_input("The request body must be a JSON object")
    return parsed


# -- opaque tokens -------------------------------------------------------------------------------

def seal(data: dict[str, Any], secret: str) -> str:
    """An opaque, tamper-evident page token (base64 of JSON plus a short MAC), like Amazon's."""
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")
    mac = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(mac + raw).decode("ascii").rstrip("=")


def unseal(token: str, secret: str) -> dict[str, Any]:
    """Raises ValueError for anything this sandbox did not issue."""
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        raise ValueError("undecodable token") from None
    mac, raw = blob[:12], blob[12:]
    expected = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).digest()[:12]
    if not raw or not hmac.compare_digest(mac, expected):
        raise ValueError("token was not issued by this sandbox")
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("bad token")
    return data


def sign(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode("utf-8"), "\n".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()
