"""EtsyProvider: the MarketplaceProvider interface over Etsy's auth, client and mapping."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from integrations.providers.base import (
    AccessTokens,
    AuthorizationRequest,
    Connection,
    Credentials,
    KnownOrders,
    MarketplaceOrder,
    OrderPage,
    ProviderAuthError,
    ProviderRejected,
    ProviderUnavailable,
    PushResult,
    RateLimiter,
    ShipmentConfirmation,
    ShipmentReadBack,
    StockLevelUpdate,
    TokenGrant,
)

from . import mapping
from .auth import EtsyAuth
from .client import EtsyClient

logger = logging.getLogger(__name__)

# reference §4.1, §11: at most 100 per page, and offset may not pass 12000.
_PAGE_SIZE = 100
_MAX_OFFSET = 12000
# reference §8: date filters below 2000-01-01T00:00:00Z are refused.
_MIN_FILTER_EPOCH = 946684800


@dataclass(frozen=True)
class _Search:
    """One getShopReceipts filter, paged oldest first by `sort_on`.

    Oldest first, so receipts arriving while we page land after the pages already read instead of
    shifting every offset by one. Past offset 12000 the search restarts from the last row's time.
    """

    params: Mapping[str, Any]
    sort_on: str                   # "created" | "updated"
    min_param: str                 # the filter that restarts the search past the offset cap
    stamp: Callable[[Mapping[str, Any]], int | None]


class _IssuedAccessToken:
    """AccessTokens for the minutes between the code exchange and saving the credentials."""

    def __init__(self, access_token: str):
        self._access_token = access_token

    def get(self, *, force_refresh: bool = False) -> str:
        if force_refresh:
            raise ProviderAuthError("Etsy refused the access token it had just issued; connect again.")
        return self._access_token


class EtsyProvider:
    key: ClassVar[str] = "etsy"

    def __init__(self, *, keystring: str, shared_secret: str, api_base_url: str = "https://api.etsy.com",
                 oauth_connect_url: str = "https://www.etsy.com/oauth/connect",
                 token_url: str = "https://api.etsy.com/v3/public/oauth/token", timeout: float = 20.0,
                 token_timeout: float = 60.0, daily_quota_reserve: int = 50, sleep: Callable[[float], None] = time.sleep,
                 limiter: RateLimiter | None = None, requests_per_second: int = 10,
                 requests_per_day: int = 10000, retries: int = 3, retry_base: float = 1.0):
        # The token endpoint waits at least token_timeout: Etsy retires a refresh token as it answers,
        # so giving up on a slow answer loses the shop's grant (reference §2.2).
        self._auth = EtsyAuth(keystring=keystring, shared_secret=shared_secret,
                              oauth_connect_url=oauth_connect_url, token_url=token_url,
                              timeout=max(timeout, token_timeout), now=_utcnow)
        self._client = EtsyClient(keystring=keystring, shared_secret=shared_secret,
                                  api_base_url=api_base_url, timeout=timeout,
                                  daily_quota_reserve=daily_quota_reserve, sleep=sleep, limiter=limiter,
                                  requests_per_second=requests_per_second, requests_per_day=requests_per_day,
                                  retries=retries, retry_base=retry_base)

    def _use(self, conn: Connection) -> AccessTokens:
        """This connection's access tokens; its observer hears about every call (a provider serves one
        integration at a time: the registry builds one per use)."""
        self._client.observer = conn.observer
        return _tokens(conn)

    # --- connect ------------------------------------------------------------------------------------
    def authorization_url(self, *, state: str, redirect_uri: str,
                          marketplace_id: str = "") -> AuthorizationRequest:
        return self._auth.authorization_request(state=state, redirect_uri=redirect_uri)

    def complete_authorization(self, *, params: Mapping[str, str], redirect_uri: str,
                               code_verifier: str = "") -> Credentials:
        issued = self._auth.exchange_code(params=params, redirect_uri=redirect_uri,
                                          code_verifier=code_verifier)
        tokens = _IssuedAccessToken(issued.access_token)
        me = mapping.me_from_json(self._client.get_me(tokens))
        if not me.shop_id:
            raise ProviderRejected("This Etsy account has no shop: open a shop on Etsy, then connect again.")
        shop_name = mapping.shop_name_from_json(self._client.get_shop(me.shop_id))
        return Credentials(
            refresh_token=issued.refresh_token,
            account_id=me.user_id,
            shop_id=me.shop_id,
            shop_name=shop_name,
            access_token=issued.access_token,
            access_token_expires_at=issued.expires_at,
        )

    def refresh_tokens(self, *, refresh_token: str) -> TokenGrant:
        # Etsy rotates refresh tokens (#353): the caller must save both tokens, under its lock.
        return self._auth.refresh(refresh_token=refresh_token).as_grant()

    def test_connection(self, *, conn: Connection) -> str:
        tokens, shop_id = self._use(conn), _shop_id(conn)
        me = mapping.me_from_json(self._client.get_me(tokens))
        if me.shop_id != shop_id:
            raise ProviderRejected(f"The connected Etsy account now owns shop {me.shop_id or 'none'}, "
                                   f"not shop {shop_id}: connect the shop again.")
        name = mapping.shop_name_from_json(self._client.get_shop(shop_id))
        return f"Connected to Etsy shop {name or shop_id}"

    # --- orders -----------------------------------------------------------------------------------
    def orders_updated_since(self, *, conn: Connection, since: dt.datetime, until: dt.datetime | None = None,
                             cursor: Mapping[str, Any] | None = None,
                             known: KnownOrders | None = None) -> Iterator[OrderPage]:
        """Paid open receipts created in the window, late payments, and cancellations.

        Receipts carry their transactions, so `known` saves no call here. Each page's cursor is the
        search and offset after it; the watermark (when this poll started, before its first call, or
        when the resumed run first started) comes on a final page of its own.
        """
        started = _utcnow()
        if cursor and cursor.get("started"):
            started = dt.datetime.fromtimestamp(int(cursor["started"]), dt.UTC)
        watermark = min(started, _aware(until)) if until is not None else started
        tokens, shop_id = self._use(conn), _shop_id(conn)
        seen: set[tuple[str, str]] = set()
        searches = _order_searches(since, until)
        first = int((cursor or {}).get("search") or 0)
        for index, search in enumerate(searches):
            if index < first:
                continue
            resume = cursor if cursor and index == first else None
            for rows, position in self._receipt_pages(tokens, shop_id, search, resume):
                orders = _new_orders(rows, seen)
                yield OrderPage(orders=orders, listed=len(rows), cursor={
                    "search": index, **position, "started": int(started.timestamp())})
        yield OrderPage(orders=(), watermark=watermark)

    def orders_by_id(self, *, conn: Connection, order_ids: Sequence[str],
                     pushed_lines: Mapping[str, Any] | None = None) -> list[MarketplaceOrder]:
        # A webhook names the receipt only: every receipt is read whole.
        tokens, shop_id = self._use(conn), _shop_id(conn)
        return [mapping.receipt_to_order(self._client.get_shop_receipt(tokens, shop_id, str(order_id)))
                for order_id in order_ids]

    def _receipt_pages(self, tokens: AccessTokens, shop_id: str, search: _Search,
                       resume: Mapping[str, Any] | None) -> Iterator[tuple[list[Mapping[str, Any]], dict[str, Any]]]:
        params = dict(search.params)
        offset = 0
        if resume:
            offset = int(resume.get("offset") or 0)
            if resume.get("min") is not None:
                params[search.min_param] = int(resume["min"])
        while True:
            query = {**params, "sort_on": search.sort_on, "sort_order": "asc", "limit": _PAGE_SIZE,
                     "offset": offset}
            rows, count = mapping.results_page(self._client.get_shop_receipts(tokens, shop_id, query))
            offset += len(rows)
            # reference §11: stop once offset + len(results) reaches count, or on a short page.
            last = len(rows) < _PAGE_SIZE or offset >= count
            if not last and offset > _MAX_OFFSET:
                params[search.min_param] = _restart_from(rows[-1], search, params)
                offset = 0
            if rows:
                yield rows, {"offset": offset, "min": params.get(search.min_param)}
            if last:
                return

    # --- fulfilment -------------------------------------------------------------------------------
    def confirm_shipment(self, *, conn: Connection, shipment: ShipmentConfirmation) -> str:
        """createReceiptShipment, once per package (reference §5).

        Etsy ships a receipt as a whole and takes no item list, so `shipment.items` is not sent;
        a second package is a second call and becomes a second shipments[] entry. Returns a note for
        the connection log when the carrier had to go as Etsy's "other".
        """
        tokens, shop_id = self._use(conn), _shop_id(conn)
        form, note = _shipment_form(shipment)
        receipt = self._client.create_receipt_shipment(tokens, shop_id, shipment.order_id, form)
        if form.get("tracking_code") and not mapping.receipt_has_tracking(receipt, form["tracking_code"]):
            # The receipt is shipped either way; a second call would e-mail the buyer again.
            logger.warning("etsy.shipment.tracking_not_stored",
                           extra={"shop_id": shop_id, "receipt_id": shipment.order_id,
                                  "package_reference": shipment.package_reference})
        return note

    def shipments_read_back(self, *, conn: Connection, order_id: str) -> ShipmentReadBack:
        """The receipt's shipments[]: a package whose tracking code is there reached Etsy (§4.2)."""
        tokens, shop_id = self._use(conn), _shop_id(conn)
        receipt = self._client.get_shop_receipt(tokens, shop_id, str(order_id))
        try:
            return ShipmentReadBack(tracking_numbers=mapping.receipt_tracking_codes(receipt))
        except ValueError as exc:
            raise ProviderUnavailable(f"Etsy's receipt {order_id} could not be read: {exc}.") from None

    # --- stock ------------------------------------------------------------------------------------
    def push_inventory(self, *, conn: Connection, levels: Sequence[StockLevelUpdate]) -> PushResult:
        """Set offering quantities per SKU; read-modify-write of each listing's whole inventory (§7.2).

        Etsy refuses an inventory whose offerings are all 0, so such a listing is turned inactive
        instead (no stock is shown that the warehouse does not have), and active again, with its new
        quantities, once stock returns. Only listings we turned inactive are turned active again."""
        tokens, shop_id = self._use(conn), _shop_id(conn)
        ours_inactive = [str(i) for i in conn.options.get("inactive_listings") or []]
        wanted, rejected = _wanted_quantities(levels)
        found: set[str] = set()
        failed: dict[str, str] = {}
        deactivated: list[str] = []
        reactivated: list[str] = []
        listing_ids = self._listings_holding(tokens, shop_id, frozenset(wanted))
        for listing_id in [*listing_ids, *(i for i in ours_inactive if i not in listing_ids)]:
            try:
                update = mapping.inventory_update(self._client.get_listing_inventory(tokens, listing_id), wanted)
            except ProviderRejected:
                continue            # deleted since we turned it inactive: nothing to show again
            found |= update.skus
            inactive = listing_id in ours_inactive
            try:
                if mapping.offered_quantity(update.body) <= 0:
                    if not inactive and update.skus:
                        self._client.update_listing_state(tokens, shop_id, listing_id, "inactive")
                        deactivated.append(listing_id)
                    continue
                if update.changed:
                    self._client.update_listing_inventory(tokens, listing_id, update.body)
                if inactive:
                    self._client.update_listing_state(tokens, shop_id, listing_id, "active")
                    reactivated.append(listing_id)
            except ProviderRejected as exc:
                failed.update({sku: exc.message for sku in update.skus})
        rejected += [(sku, failed[sku]) for sku in sorted(failed)]
        rejected += [(sku, "no active Etsy listing has this SKU") for sku in sorted(set(wanted) - found)]
        accepted = tuple(sku for sku in wanted if sku in found and sku not in failed)
        return PushResult(accepted=accepted, rejected=tuple(rejected), deactivated=tuple(deactivated),
                          reactivated=tuple(reactivated))

    def _listings_holding(self, tokens: AccessTokens, shop_id: str, skus: frozenset[str]) -> list[str]:
        """Active listings whose `skus` include any wanted SKU; Etsy has no SKU search (reference §6)."""
        if not skus:
            return []
        listing_ids: list[str] = []
        offset = 0
        while offset <= _MAX_OFFSET:
            payload = self._client.get_listings_by_shop(tokens, shop_id, state="active", limit=_PAGE_SIZE,
                                                        offset=offset)
            rows, count = mapping.results_page(payload)
            listing_ids += [mapping.listing_id(r) for r in rows if mapping.listing_skus(r) & skus]
            offset += len(rows)
            if len(rows) < _PAGE_SIZE or offset >= count:
                break
        return [i for i in dict.fromkeys(listing_ids) if i]


# --- helpers ------------------------------------------------------------------------------------------
def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _tokens(conn: Connection) -> AccessTokens:
    if conn.tokens is None:
        raise ProviderAuthError("This Etsy connection has no access token source.")
    return conn.tokens


def _shop_id(conn: Connection) -> str:
    if not conn.shop_id:
        raise ProviderAuthError("This Etsy connection has no shop: connect the shop again.")
    return conn.shop_id


def _epoch_filter(value: dt.datetime) -> int:
    return max(mapping.datetime_to_epoch(value), _MIN_FILTER_EPOCH)


def _order_searches(since: dt.datetime, until: dt.datetime | None) -> list[_Search]:
    start, end = _epoch_filter(since), (_epoch_filter(until) if until is not None else None)
    open_paid = {"was_paid": True, "was_shipped": False, "was_canceled": False}
    created = mapping.receipt_created_epoch
    modified = mapping.receipt_modified_epoch
    searches = [
        # New orders by creation time: receipts are "static" and update_timestamp is unreliable (§8, #232).
        _Search({**open_paid, "min_created": start, "max_created": end}, "created", "min_created", created),
        # Cancellations, so outbound orders not yet picked can be cancelled too.
        _Search({"was_canceled": True, "min_last_modified": start, "max_last_modified": end}, "updated",
                "min_last_modified", modified),
    ]
    if start > _MIN_FILTER_EPOCH:
        # Older receipts whose payment settled inside the window ("payment processing" → "paid");
        # max_created keeps this from re-reading the new orders the first search already has.
        late = {**open_paid, "min_last_modified": start, "max_last_modified": end, "max_created": start - 1}
        searches.insert(1, _Search(late, "updated", "min_last_modified", modified))
    return searches


def _restart_from(last_row: Mapping[str, Any], search: _Search, params: Mapping[str, Any]) -> int:
    stamp = search.stamp(last_row)
    if stamp is None or stamp <= int(params.get(search.min_param) or 0):
        raise ProviderUnavailable("More than 12000 Etsy receipts share one second; "
                                  "the search cannot page on.")
    return stamp


def _new_orders(rows: Sequence[Mapping[str, Any]],
                seen: set[tuple[str, str]]) -> tuple[MarketplaceOrder, ...]:
    """A receipt can match two searches (say, paid while we page) or come back after a restart past
    offset 12000; within one poll each receipt is reported once per status."""
    orders: list[MarketplaceOrder] = []
    for row in rows:
        order = mapping.receipt_to_order(row)
        key = (order.order_id, order.raw_status)
        if key not in seen:
            seen.add(key)
            orders.append(order)
    return tuple(orders)


def _shipment_form(shipment: ShipmentConfirmation) -> tuple[dict[str, str], str]:
    """The createReceiptShipment form and a note for the log. The caller maps its carrier to an Etsy
    slug in carrier_code (usps, royal-mail, …); a carrier Etsy does not know goes as "other", and
    its name reaches the buyer in note_to_buyer, the only place the API has for it."""
    form = {
        "ship_date": _aware(shipment.ship_date).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "send_bcc": "false",
    }
    named = (shipment.carrier_name or shipment.carrier_code).strip()
    slug = mapping.carrier_slug(shipment.carrier_code) or mapping.carrier_slug(shipment.carrier_name)
    note = ""
    if not slug and named:
        slug = mapping.ETSY_OTHER_CARRIER
        form["note_to_buyer"] = f"Shipped with {named}."
        note = (f"{named} is not one of Etsy's carriers: sent as Etsy's \"other\" carrier, with the name in "
                "the note to the buyer. Map it to an Etsy carrier in the integration's settings if Etsy has it.")
    if shipment.tracking_number.strip():
        form["tracking_code"] = shipment.tracking_number.strip()
        form["carrier_name"] = slug or mapping.ETSY_OTHER_CARRIER
    elif slug:
        form["carrier_name"] = slug
    return form, note


ETSY_MAX_QUANTITY = 999


def _wanted_quantities(levels: Sequence[StockLevelUpdate]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    wanted: dict[str, int] = {}
    rejected: list[tuple[str, str]] = []
    for level in levels:
        sku = level.sku.strip()
        if not sku:
            rejected.append((level.sku, "blank SKU"))
            continue
        # reference §7.2: offering quantity is an integer ≥ 0; an oversold warehouse offers none.
        # Etsy caps a listing's quantity at 999: offering more than that is offering 999.
        wanted[sku] = min(max(0, int(level.quantity)), ETSY_MAX_QUANTITY)
    return wanted, rejected

