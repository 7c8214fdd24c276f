"""The small interface every marketplace provider implements, in the hub's own language.

Only a provider's `mapping.py` knows the vendor's JSON; everything crossing this line is one of
the frozen dataclasses below, and every vendor failure is one of the ProviderError family.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol


# --- errors ---------------------------------------------------------------------------------
class ProviderError(Exception):
    """A marketplace call failed. `message` is written for a person and holds no buyer data."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ProviderAuthError(ProviderError):
    """The grant is revoked, expired or was never valid: a person must reconnect."""


class ProviderTokenExpired(ProviderAuthError):
    """The short-lived access token expired; refreshing it and retrying once is enough."""


class ProviderRateLimited(ProviderError):
    def __init__(self, message: str, *, retry_after: float | None = None, daily: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.daily = daily          # the day's quota is spent: stop until retry_after


class ProviderUnavailable(ProviderError):
    """5xx, timeouts, unreadable answers: try again later."""


class ProviderRejected(ProviderError):
    """The marketplace refused this request (4xx): retrying the same request will not help."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


# --- auth -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    code_verifier: str = ""          # PKCE (Etsy): kept server side with the state


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Credentials:
    """What a completed authorization gives us."""

    refresh_token: str
    account_id: str                  # Amazon selling_partner_id, Etsy user_id
    shop_id: str = ""                # Etsy shop
    shop_name: str = ""
    access_token: str = ""
    access_token_expires_at: dt.datetime | None = None


class AccessTokens(Protocol):
    """Supplied by the integration service: a valid access token, refreshed under a lock when needed."""

    def get(self, *, force_refresh: bool = False) -> str: ...


class RateLimiter(Protocol):
    """Shared by every worker on every host (the service supplies one backed by Redis): call before
    each request so that all of them together stay within the marketplace's usage plan."""

    def acquire(self, key: str, *, rate: float, burst: int) -> None:
        """Blocks until one request under `key` is allowed; raises ProviderRateLimited when that would
        mean waiting longer than a worker should."""
        ...

    def throttled(self, key: str, *, rate: float, burst: int) -> None:
        """The marketplace answered 429 under `key`: every worker waits for a fresh token."""
        ...

    def observed(self, key: str, *, published_rate: float, reported_rate: float) -> None:
        """A response reported the rate the marketplace applies to `key` (lower ones are kept)."""
        ...


class CallObserver(Protocol):
    """Told about every marketplace call (the service writes a DEBUG line to the connection log):
    the operation (e.g. "getOrderItems 123-…", "GET /v3/application/shops/1/receipts"), the outcome
    ("HTTP 200", "timed out") and how long it took. Never a body: no buyer data."""

    def __call__(self, *, operation: str, outcome: str, seconds: float) -> None: ...


@dataclass(frozen=True)
class Connection:
    """Everything a provider needs to call the marketplace for one integration."""

    account_id: str
    refresh_token: str
    marketplace_id: str = ""         # Amazon marketplace (e.g. A39IBJ37TRP1C6)
    shop_id: str = ""                # Etsy shop
    tokens: AccessTokens | None = None
    options: Mapping[str, Any] = field(default_factory=dict)   # e.g. {"orders_api": "v0" | "2026-01-01"}
    observer: CallObserver | None = None


# --- orders ---------------------------------------------------------------------------------
class OrderState(enum.StrEnum):
    PENDING = "pending"                      # not paid / not ready: nothing to do yet
    READY = "ready"                          # paid, to be shipped
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    OTHER = "other"


@dataclass(frozen=True)
class MarketplaceAddress:
    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""                # ISO 3166-1 alpha-2
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class MarketplaceOrderLine:
    line_id: str                     # Amazon OrderItemId, Etsy transaction_id
    sku: str
    quantity: int
    alternative_code: str = ""       # Amazon ASIN
    title: str = ""
    quantity_shipped: int = 0


@dataclass(frozen=True)
class MarketplaceOrder:
    order_id: str
    state: OrderState
    raw_status: str
    purchased_at: dt.datetime | None
    updated_at: dt.datetime | None
    lines: tuple[MarketplaceOrderLine, ...] = ()
    address: MarketplaceAddress | None = None
    address_withheld: bool = False           # the marketplace hid the address from us
    fulfilled_by_marketplace: bool = False   # Amazon AFN (FBA): not warehouse work
    service_level: str = ""                  # normalised: Standard, Expedited, SecondDay, NextDay, ...
    shipping_method: str = ""                # the marketplace's own text
    latest_ship_at: dt.datetime | None = None
    latest_delivery_at: dt.datetime | None = None
    supply_source_id: str = ""               # Amazon FulfillmentSupplySourceId
    is_pickup: bool = False
    problems: tuple[str, ...] = ()           # data the mapping could not read, for a person to act on
    marketplace_id: str = ""                 # Amazon: the marketplace the order was placed in


@dataclass(frozen=True)
class OrderPage:
    orders: tuple[MarketplaceOrder, ...]
    # Once every page up to and including this one is committed, the next poll may start here.
    watermark: dt.datetime | None = None
    # Where a stopped run resumes once this page is committed (JSON; the provider's own, e.g. a NextToken);
    # None on the last page. A part of a page (`complete` False) points at the page itself, so what it
    # did not hold is listed again on a resume: the first parts of a long page, handed over while the rest
    # is read, or a page cut short by a throttle or an outage (then followed by the error). `listed` of
    # the page's last part counts only what the earlier parts did not hold.
    cursor: Mapping[str, Any] | None = None
    complete: bool = True
    listed: int = 0                  # orders the marketplace listed on this page (some may be cut short)


# Called by a provider with a page's order ids before it reads their details: the ids the caller already
# has (imported), which need no further call unless the list itself shows a change worth acting on.
KnownOrders = Callable[[Sequence[str]], "set[str]"]


# --- fulfilment and stock -----------------------------------------------------------------------
@dataclass(frozen=True)
class ShipmentItem:
    line_id: str
    quantity: int


@dataclass(frozen=True)
class ShipmentConfirmation:
    order_id: str
    package_reference: str           # our package id: one confirmation per package
    carrier_code: str
    carrier_name: str
    tracking_number: str
    ship_date: dt.datetime
    items: tuple[ShipmentItem, ...]
    shipping_method: str = ""
    ship_from_supply_source_id: str = ""


@dataclass(frozen=True)
class ShipmentReadBack:
    """What the marketplace says was already shipped on an order, read after an ambiguous send.

    Package references and tracking numbers identify a package when the marketplace keeps them
    (Amazon v2026 packages, Etsy shipments); otherwise only the quantity shipped per line is known
    (Amazon v0 getOrderItems), and the caller compares it with what it has confirmed itself."""

    package_references: frozenset[str] = frozenset()
    tracking_numbers: frozenset[str] = frozenset()
    shipped_quantities: Mapping[str, int] | None = None      # line id -> quantity shipped so far


@dataclass(frozen=True)
class StockLevelUpdate:
    sku: str
    quantity: int


@dataclass(frozen=True)
class PushResult:
    accepted: tuple[str, ...] = ()
    rejected: tuple[tuple[str, str], ...] = ()   # (sku, reason)
    reference: str = ""                          # e.g. the Amazon feed id
    # Etsy refuses a listing whose offerings are all 0: such listings are turned inactive instead, and
    # active again once stock returns. The caller keeps `inactive_listings` and passes it back in
    # Connection.options["inactive_listings"].
    deactivated: tuple[str, ...] = ()
    reactivated: tuple[str, ...] = ()
    # Sent in a feed the marketplace processes later (Amazon): messageId -> SKU. Nothing is accepted or
    # rejected yet; `inventory_feed_outcome` reads the outcome once the feed is finished.
    submitted: Mapping[int, str] | None = None


@dataclass(frozen=True)
class FeedFinished:
    """Amazon's FEED_PROCESSING_FINISHED notification: a feed reached DONE, FATAL or CANCELLED."""

    account_id: str
    feed_id: str
    status: str
    result_document_id: str = ""
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class PushEvent:
    """A marketplace told us an order changed (Amazon ORDER_CHANGE, Etsy ORDER_PAID). Only a hint: the
    order itself is always read back from the API before anything is imported."""

    account_id: str                  # Amazon selling partner id / Etsy shop id
    order_id: str
    change: str = ""                 # OrderStatusChange, BuyerRequestedChange, order.paid
    event_id: str = ""
    marketplace_id: str = ""
    status: str = ""
    occurred_at: dt.datetime | None = None
    # The order's items as the event named them (Amazon's ORDER_CHANGE summary: item id, SKU, quantity),
    # so that a read-back of the order header can spare one items call per order (providers check them
    # against the header's item counts first).
    lines: tuple[MarketplaceOrderLine, ...] = ()


@dataclass(frozen=True)
class SupplySource:
    supply_source_id: str
    code: str
    alias: str
    status: str                      # Active, Inactive, Archived
    timezone: str = ""

    @property
    def is_active(self) -> bool:
        return self.status == "Active"


class MarketplaceProvider(Protocol):
    key: ClassVar[str]               # "amazon", "etsy"

    def authorization_url(self, *, state: str, redirect_uri: str, marketplace_id: str = "") -> AuthorizationRequest: ...

    def complete_authorization(self, *, params: Mapping[str, str], redirect_uri: str,
                               code_verifier: str = "") -> Credentials: ...

    def refresh_tokens(self, *, refresh_token: str) -> TokenGrant: ...

    def test_connection(self, *, conn: Connection) -> str: ...

    def orders_updated_since(self, *, conn: Connection, since: dt.datetime, until: dt.datetime | None = None,
                             cursor: Mapping[str, Any] | None = None,
                             known: KnownOrders | None = None) -> Iterator[OrderPage]: ...

    def orders_by_id(self, *, conn: Connection, order_ids: Sequence[str],
                     pushed_lines: Mapping[str, Sequence[MarketplaceOrderLine]] | None = None
                     ) -> list[MarketplaceOrder]: ...

    def confirm_shipment(self, *, conn: Connection, shipment: ShipmentConfirmation) -> str:
        """Sends one package; returns a note for the connection log (e.g. how the carrier went), or ""."""
        ...

    def shipments_read_back(self, *, conn: Connection, order_id: str) -> ShipmentReadBack: ...

    def push_inventory(self, *, conn: Connection, levels: Sequence[StockLevelUpdate]) -> PushResult: ...

    def inventory_feed_outcome(self, *, conn: Connection, feed_id: str, messages: Mapping[int, str],
                               finished: FeedFinished | None = None) -> PushResult | None:
        """The outcome of a feed `push_inventory` submitted; None while the marketplace still processes it.
        Only for providers whose `push_inventory` answers with `submitted`."""
        ...
