"""What the Amazon sandbox holds: the app, sellers with their orders, listings, supply sources and
feeds, and the LWA codes and tokens. Plain dataclasses in memory; handlers run one at a time under
the app's lock, so nothing here locks."""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta
from typing import Any, Literal

from .common import DEFAULT_MARKETPLACE_ID, Clock, parse_iso

ACCESS_TOKEN_SECONDS = 3600          # LWA access tokens and RDTs (sp-api.md §6, §9)
AUTH_CODE_SECONDS = 300              # spapi_oauth_code "expires in 5 minutes" (sp-api.md §6)


@lru_cache(maxsize=200_000)
def _stamp(value: str) -> datetime:
    """Order searches compare these dates for every order on every page: parse each string once."""
    return parse_iso(value)


@dataclass
class App:
    """The one registered SP-API application (a Draft app: consent links carry version=beta)."""

    application_id: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    name: str = "3PL Integration Hub (sandbox)"


@dataclass
class Order:
    """One order. `data` holds the v0 Order with every field, PII included; views redact it."""

    seller_id: str
    data: dict[str, Any]
    items: list[dict[str, Any]]
    packages: list[dict[str, Any]] = field(default_factory=list)     # accepted shipment confirmations
    delivery_preferences: dict[str, Any] | None = None
    buyer_company_name: str | None = None

    @property
    def id(self) -> str:
        return self.data["AmazonOrderId"]

    @property
    def purchase_date(self) -> datetime:
        return _stamp(self.data["PurchaseDate"])

    @property
    def last_update(self) -> datetime:
        return _stamp(self.data["LastUpdateDate"])

    @property
    def status(self) -> str:
        return self.data["OrderStatus"]

    @property
    def is_afn(self) -> bool:
        return self.data.get("FulfillmentChannel") == "AFN"


@dataclass
class Listing:
    sku: str
    product_type: str
    marketplace_id: str
    asin: str
    item_name: str
    created: datetime
    updated: datetime
    # Amazon listing attributes: name -> list of value objects, e.g.
    # {"fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 5}]}
    attributes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def quantity(self) -> int:
        for entry in self.attributes.get("fulfillment_availability", []):
            if entry.get("fulfillment_channel_code") == "DEFAULT":
                return int(entry.get("quantity") or 0)
        return 0


@dataclass
class FeedDocument:
    id: str
    seller_id: str
    content_type: str
    kind: Literal["input", "result"]
    created: datetime
    content: bytes | None = None          # None until uploaded
    compression: str | None = None        # "GZIP" when content is gzip-compressed


@dataclass
class Feed:
    id: str
    seller_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created: datetime
    status: str = "IN_QUEUE"
    started: datetime | None = None
    ended: datetime | None = None
    result_document_id: str | None = None
    polls: int = 0
    report: dict[str, Any] | None = None


@dataclass
class Seller:
    selling_partner_id: str
    name: str
    marketplace_ids: list[str]
    created: datetime
    orders: dict[str, Order] = field(default_factory=dict)
    listings: dict[str, Listing] = field(default_factory=dict)
    supply_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    feeds: dict[str, Feed] = field(default_factory=dict)
    confirmations: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)    # notification type -> subscription

    def summary(self) -> dict[str, Any]:
        return {"selling_partner_id": self.selling_partner_id, "name": self.name,
                "marketplace_ids": list(self.marketplace_ids)}


@dataclass
class AccessToken:
    token: str
    kind: Literal["access", "rdt", "grantless"]
    seller_id: str | None
    client_id: str
    expires: datetime
    resources: list[dict[str, Any]] = field(default_factory=list)      # RDT restricted resources


@dataclass
class RefreshToken:
    token: str
    seller_id: str
    client_id: str
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    seller_id: str
    client_id: str
    redirect_uri: str
    expires: datetime
    used: bool = False


@dataclass
class Settings:
    """Knobs a test may turn through POST /_sandbox/settings."""

    order_items_page_size: int = 100        # Amazon does not document getOrderItems' page size
    supply_sources_max_page_size: int = 50  # nor getSupplySources' largest pageSize
    feed_step_seconds: float = 2.0          # IN_QUEUE -> IN_PROGRESS -> DONE this often, or per poll
    gzip_feed_reports: bool = True          # result documents come back with compressionAlgorithm GZIP

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SandboxState:
    def __init__(self, app: App, clock: Clock, seed: int | None = None) -> None:
        self.app = app
        self.clock = clock
        self.settings = Settings()
        self.sellers: dict[str, Seller] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.documents: dict[str, FeedDocument] = {}
        self.destinations: dict[str, dict[str, Any]] = {}    # the app's notification destinations
        self.rng = random.Random(seed)
        self.secret = secrets.token_hex(16)          # signs page tokens and presigned URLs
        self._feed_counter = 50_001_017_000

    # -- ids ------------------------------------------------------------------------------------
    def _digits(self, n: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(n))

    def new_order_id(self, prefix: str) -> str:
        """Amazon's 3-7-7 order id."""
        while True:
            order_id = f"{prefix}-{self._digits(7)}-{self._digits(7)}"
            if not any(order_id in s.orders for s in self.sellers.values()):
                return order_id

    def new_order_item_id(self) -> str:
        return self._digits(14)

    def new_asin(self) -> str:
        return "B0" + "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(8))

    def new_seller_id(self) -> str:
        """Merchant tokens look like `A` plus 13 upper-case letters and digits."""
        while True:
            seller_id = "A" + "".join(self.rng.choice(string.ascii_uppercase + string.digits) for _ in range(13))
            if seller_id not in self.sellers:
                return seller_id

    def new_feed_id(self) -> str:
        self._feed_counter += 1
        return str(self._feed_counter)

    def new_uuid(self) -> str:
        return str(random_uuid(self.rng))

    # -- sellers and credentials ------------------------------------------------------------------
    def add_seller(self, *, selling_partner_id: str | None = None, name: str | None = None,
                   marketplace_ids: list[str] | None = None) -> Seller:
        seller_id = selling_partner_id or self.new_seller_id()
        seller = self.sellers.get(seller_id)
        if seller is None:
            seller = Seller(selling_partner_id=seller_id, name=name or f"Sandbox seller {seller_id[-4:]}",
                            marketplace_ids=list(marketplace_ids or [DEFAULT_MARKETPLACE_ID]),
                            created=self.clock.stamp())
            self.sellers[seller_id] = seller
        else:
            if name:
                seller.name = name
            if marketplace_ids:
                seller.marketplace_ids = list(marketplace_ids)
        return seller

    def issue_refresh_token(self, seller_id: str, client_id: str | None = None, token: str | None = None) -> str:
        value = token or "Atzr|" + secrets.token_urlsafe(48)
        self.refresh_tokens[value] = RefreshToken(value, seller_id, client_id or self.app.client_id)
        return value

    def issue_access_token(self, *, seller_id: str | None, client_id: str,
                           kind: Literal["access", "rdt", "grantless"] = "access",
                           resources: list[dict[str, Any]] | None = None) -> AccessToken:
        prefix = "Atz.sprdt|" if kind == "rdt" else "Atza|"
        record = AccessToken(token=prefix + secrets.token_urlsafe(48), kind=kind, seller_id=seller_id,
                             client_id=client_id,
                             expires=self.clock.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS),
                             resources=list(resources or []))
        self.tokens[record.token] = record
        return record

    def issue_code(self, seller_id: str, redirect_uri: str) -> AuthCode:
        code = AuthCode(code="ANsandbox" + secrets.token_urlsafe(18), seller_id=seller_id,
                        client_id=self.app.client_id, redirect_uri=redirect_uri,
                        expires=self.clock.now() + timedelta(seconds=AUTH_CODE_SECONDS))
        self.codes[code.code] = code
        return code

    def revoke_seller(self, seller_id: str) -> int:
        """The seller removed the app in Seller Central: every refresh and access token stops working."""
        count = 0
        for refresh in self.refresh_tokens.values():
            if refresh.seller_id == seller_id and not refresh.revoked:
                refresh.revoked = True
                count += 1
        for token in list(self.tokens.values()):
            if token.seller_id == seller_id:
                del self.tokens[token.token]
        return count

    def expire_access_tokens(self, seller_id: str | None = None) -> int:
        count = 0
        past = self.clock.now() - timedelta(seconds=1)
        for token in self.tokens.values():
            if seller_id is None or token.seller_id == seller_id:
                token.expires = past
                count += 1
        return count

    def find_order(self, order_id: str) -> Order | None:
        for seller in self.sellers.values():
            if order_id in seller.orders:
                return seller.orders[order_id]
        return None


def random_uuid(rng: random.Random) -> str:
    raw = "%032x" % rng.getrandbits(128)
    # version 4 / RFC 4122 variant bits so it looks like Amazon's UUIDs
    raw = raw[:12] + "4" + raw[13:16] + "89ab"[int(raw[16], 16) % 4] + raw[17:]
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


@dataclass
class CallContext:
    """Who is calling an SP-API operation: the seller the token speaks for, and the token itself."""

    seller: Seller
    token: AccessToken
    operation: str

    def data_elements(self, method: str, path: str) -> set[str] | None:
        """For a restricted data token that covers this call, the PII it unlocks (a restricted
        operation such as getOrderAddress needs no dataElements: an empty set still unlocks it).
        None for a plain LWA token or an RDT that does not cover the call."""
        if self.token.kind != "rdt":
            return None
        found: set[str] | None = None
        for resource in self.token.resources:
            if resource["method"] == method and path_matches(resource["path"], path):
                found = (found or set()) | set(resource.get("dataElements") or [])
        return found


def path_matches(template: str, path: str) -> bool:
    """`/orders/v0/orders/{orderId}/address` matches any order's address path (sp-api.md §9)."""
    want = template.strip("/").split("/")
    got = path.strip("/").split("/")
    if len(want) != len(got):
        return False
    return all((w.startswith("{") and w.endswith("}") and g) or w == g for w, g in zip(want, got, strict=False))
