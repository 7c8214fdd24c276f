"""What the Etsy sandbox holds (users, shops, listings with inventory, receipts) and how Etsy shows it.

Plain data and rules, no HTTP: app.py parses requests, calls in here and sends the JSON back.
Field names and order follow Etsy's Shop, ShopListing, ListingInventory and ShopReceipt schemas
(reference §3, §4.2, §7.1). Money is always {"amount", "divisor": 100, "currency_code"}; times are
integer epoch seconds in UTC (§8).
"""

from __future__ import annotations

import itertools
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterator

from .inventory import InventorySpec, ProductSpec

DIVISOR = 100
DAY = 86400

# Receipt statuses (§4.2) and what each implies for is_paid.
PAID_STATUSES = frozenset({"paid", "completed", "partially refunded", "fully refunded"})
UNPAID_STATUSES = frozenset({"open", "payment processing"})
RECEIPT_STATUSES = PAID_STATUSES | UNPAID_STATUSES | {"canceled"}
LISTING_STATES = ("active", "inactive", "sold_out", "draft", "expired")
COUNTRY_NAMES = {"US": "United States", "GB": "United Kingdom", "CA": "Canada", "AU": "Australia",
                 "DE": "Germany", "FR": "France", "NL": "Netherlands", "IE": "Ireland", "IT": "Italy",
                 "ES": "Spain", "IN": "India"}
LOCAL_PICKUP = "Local pickup"


class EtsyError(Exception):
    """An Etsy error answer: {"error": ...}, plus error_description for OAuth-style errors (§10)."""

    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description is not None:
            body["error_description"] = self.description
        return body


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "divisor": DIVISOR, "currency_code": currency}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


# -- shops and listings ---------------------------------------------------------------------------

@dataclass
class User:
    user_id: int
    login_name: str


@dataclass
class Shop:
    shop_id: int
    user_id: int
    shop_name: str
    currency_code: str
    country_iso: str
    created_timestamp: int
    updated_timestamp: int
    readiness_state_id: int            # the shop's default processing profile (§7.4)
    shipping_profile_id: int
    # Sandbox switch: the post-2024-10-21 restriction that refuses createReceiptShipment (§4.2).
    shipment_api_restricted: bool = False


@dataclass
class Product:
    product_id: int
    offering_id: int
    sku: str
    property_values: list[dict[str, Any]]
    price: int
    quantity: int
    is_enabled: bool
    readiness_state_id: int | None
    is_deleted: bool = False


@dataclass
class Listing:
    listing_id: int
    shop_id: int
    user_id: int
    title: str
    description: str
    state: str
    created_timestamp: int
    updated_timestamp: int
    state_timestamp: int
    shipping_profile_id: int
    readiness_state_id: int
    products: list[Product] = field(default_factory=list)
    deleted_products: list[Product] = field(default_factory=list)
    price_on_property: list[int] = field(default_factory=list)
    quantity_on_property: list[int] = field(default_factory=list)
    sku_on_property: list[int] = field(default_factory=list)
    readiness_state_on_property: list[int] = field(default_factory=list)

    @property
    def quantity(self) -> int:
        # "The listing quantity is the sum of available offering quantities" (ShopListing.quantity).
        return sum(p.quantity for p in self.products if p.is_enabled)

    @property
    def skus(self) -> list[str]:
        return list(dict.fromkeys(p.sku for p in self.products if p.sku))

    @property
    def price(self) -> int:
        prices = [p.price for p in self.products if p.is_enabled] or [p.price for p in self.products]
        return min(prices) if prices else 0

    def product(self, product_id: int) -> Product | None:
        return next((p for p in self.products if p.product_id == product_id), None)


# -- receipts -------------------------------------------------------------------------------------

@dataclass
class Transaction:
    transaction_id: int
    title: str
    description: str
    quantity: int
    price: int
    shipping_cost: int
    listing_id: int | None
    product_id: int | None
    sku: str | None
    variations: list[dict[str, Any]]
    product_data: list[dict[str, Any]]
    created_timestamp: int
    paid_timestamp: int | None
    shipped_timestamp: int | None
    expected_ship_date: int | None
    shipping_method: str
    shipping_upgrade: str | None
    listing_image_id: int | None
    shipping_profile_id: int | None
    min_processing_days: int = 1
    max_processing_days: int = 3


@dataclass
class Shipment:
    receipt_shipping_id: int
    shipment_notification_timestamp: int
    carrier_name: str
    tracking_code: str
    # What else the client sent, kept for the control API; Etsy does not echo these.
    note_to_buyer: str = ""
    send_bcc: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    content_type: str = ""


@dataclass
class Refund:
    amount: int
    created_timestamp: int
    reason: str
    note_from_issuer: str
    status: str


@dataclass
class Receipt:
    receipt_id: int
    shop_id: int
    currency_code: str
    seller_user_id: int
    seller_email: str
    buyer_user_id: int
    buyer_email: str | None
    name: str
    first_line: str
    second_line: str
    city: str
    state: str
    zip: str
    country_iso: str
    status: str
    is_paid: bool
    is_shipped: bool
    payment_method: str
    message_from_buyer: str
    is_gift: bool
    gift_message: str
    created_timestamp: int
    updated_timestamp: int
    total_shipping_cost: int
    total_tax_cost: int
    discount_amt: int
    gift_wrap_price: int
    transactions: list[Transaction] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    # Preferred-partner restriction (§4.2, discussion #1681): the address fields come back null.
    withhold_address: bool = False
    # Sandbox-only marker: Etsy has no pickup flag; such a receipt has an empty address and
    # "Local pickup" as each transaction's shipping_method.
    is_pickup: bool = False
    # Etsy shows no delivery field on receipts, only the was_delivered filter; this backs the filter.
    is_delivered: bool = False

    @property
    def total_price(self) -> int:
        return sum(t.price * t.quantity for t in self.transactions)

    @property
    def subtotal(self) -> int:
        return self.total_price - self.discount_amt

    @property
    def grandtotal(self) -> int:
        return self.subtotal + self.total_shipping_cost + self.total_tax_cost + self.gift_wrap_price

    def formatted_address(self) -> str:
        if self.is_pickup:
            return ""
        country = COUNTRY_NAMES.get(self.country_iso, self.country_iso)
        if self.country_iso == "US":
            locality = f"{self.city}, {self.state} {self.zip}".strip()
        else:
            locality = " ".join(part for part in (self.zip, self.city) if part)
            if self.state:
                locality = f"{locality}\n{self.state}"
        lines = [self.name, self.first_line, self.second_line, locality, country]
        return "\n".join(line for line in lines if line)


# -- the store ------------------------------------------------------------------------------------

class Store:
    """Everything one sandbox holds. Not thread-safe on its own: the app serialises calls."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.shops: dict[int, Shop] = {}
        self.listings: dict[int, Listing] = {}
        self.receipts: dict[int, Receipt] = {}
        self._value_ids: dict[tuple[int, str], int] = {}
        # Separate ranges so that a shop id can never be mistaken for a user id in a test.
        self._user_ids = itertools.count(70_000_001)
        self._shop_ids = itertools.count(50_000_001)
        self._listing_ids = itertools.count(1_500_000_001)
        self._product_ids = itertools.count(9_000_000_001)
        self._offering_ids = itertools.count(11_000_000_001)
        self._receipt_ids = itertools.count(3_000_000_001)
        self._transaction_ids = itertools.count(4_000_000_001)
        self._shipment_ids = itertools.count(7_000_000_001)
        self._value_id_seq = itertools.count(60_000_000_001)
        self._buyer_ids = itertools.count(80_000_001)
        self._misc_ids = itertools.count(110_000_001)
        self.buyer_seq = itertools.count(0)

    # -- ids ----------------------------------------------------------------------------------------
    @staticmethod
    def _take(counter: Iterator[int], used: dict[int, Any]) -> int:
        while True:
            candidate = next(counter)
            if candidate not in used:
                return candidate

    def value_id_for(self, property_id: int, value: str) -> int:
        return self._value_ids.setdefault((property_id, value.lower()), next(self._value_id_seq))

    def next_shipment_id(self) -> int:
        return next(self._shipment_ids)

    def next_transaction_id(self) -> int:
        return next(self._transaction_ids)

    def new_receipt_id(self) -> int:
        return self._take(self._receipt_ids, self.receipts)

    def new_buyer_user_id(self) -> int:
        return next(self._buyer_ids)

    # -- users and shops ----------------------------------------------------------------------------
    def ensure_user(self, user_id: int | None = None, login_name: str | None = None) -> User:
        if user_id is None:
            user_id = self._take(self._user_ids, self.users)
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = User(user_id=user_id, login_name=login_name or f"seller{user_id}")
        return user

    def shop_of_user(self, user_id: int) -> Shop | None:
        return next((s for s in self.shops.values() if s.user_id == user_id), None)

    def create_shop(self, *, now: int, shop_id: int | None = None, user_id: int | None = None,
                    shop_name: str | None = None, currency_code: str = "USD", country_iso: str = "US",
                    login_name: str | None = None, shipment_api_restricted: bool = False) -> Shop:
        if shop_id is not None and shop_id in self.shops:
            raise EtsyError(409, f"Shop {shop_id} already exists")
        if user_id is not None and self.shop_of_user(user_id) is not None:
            raise EtsyError(409, f"User {user_id} already owns a shop")
        user = self.ensure_user(user_id, login_name)
        shop_id = shop_id if shop_id is not None else self._take(self._shop_ids, self.shops)
        shop = Shop(shop_id=shop_id, user_id=user.user_id, shop_name=shop_name or f"SandboxShop{shop_id}",
                    currency_code=currency_code.upper(), country_iso=country_iso.upper(),
                    created_timestamp=now, updated_timestamp=now,
                    readiness_state_id=next(self._misc_ids), shipping_profile_id=next(self._misc_ids),
                    shipment_api_restricted=shipment_api_restricted)
        self.shops[shop_id] = shop
        return shop

    # -- listings -----------------------------------------------------------------------------------
    def create_listing(self, shop: Shop, *, title: str, spec: InventorySpec, now: int, state: str = "active",
                       description: str = "") -> Listing:
        listing = Listing(listing_id=self._take(self._listing_ids, self.listings), shop_id=shop.shop_id,
                          user_id=shop.user_id, title=title, description=description or title, state=state,
                          created_timestamp=now, updated_timestamp=now, state_timestamp=now,
                          shipping_profile_id=shop.shipping_profile_id,
                          readiness_state_id=shop.readiness_state_id)
        self.replace_inventory(listing, spec, now=now)
        self.listings[listing.listing_id] = listing
        return listing

    def replace_inventory(self, listing: Listing, spec: InventorySpec, *, now: int) -> None:
        """Etsy's PUT semantics: the sent set becomes the whole set; the rest is deleted.

        Every update issues new product and offering ids; Etsy keeps the old ones as history
        (issue #523, Etsy staff: "The product_id and offering_id change with each update").
        """
        for old in listing.products:
            old.is_deleted = True
        listing.deleted_products.extend(listing.products)
        listing.products = [self._product(p) for p in spec.products]
        listing.price_on_property = list(spec.price_on_property)
        listing.quantity_on_property = list(spec.quantity_on_property)
        listing.sku_on_property = list(spec.sku_on_property)
        listing.readiness_state_on_property = list(spec.readiness_state_on_property)
        listing.updated_timestamp = now

    def _product(self, spec: ProductSpec) -> Product:
        return Product(product_id=next(self._product_ids), offering_id=next(self._offering_ids), sku=spec.sku,
                       property_values=[dict(pv) for pv in spec.property_values], price=spec.price,
                       quantity=spec.quantity, is_enabled=spec.is_enabled,
                       readiness_state_id=spec.readiness_state_id)

    def shop_listings(self, shop_id: int) -> list[Listing]:
        return [listing for listing in self.listings.values() if listing.shop_id == shop_id]

    def find_product(self, shop_id: int, *, sku: str | None = None, listing_id: int | None = None,
                     product_id: int | None = None) -> tuple[Listing, Product] | None:
        for listing in self.shop_listings(shop_id):
            if listing_id is not None and listing.listing_id != listing_id:
                continue
            for product in listing.products:
                if product_id is not None and product.product_id != product_id:
                    continue
                if sku is not None and product_id is None and product.sku != sku:
                    continue
                return listing, product
        return None

    # -- receipts -----------------------------------------------------------------------------------
    def shop_receipts(self, shop_id: int) -> list[Receipt]:
        return [r for r in self.receipts.values() if r.shop_id == shop_id]


# -- Etsy's JSON ----------------------------------------------------------------------------------

def application_id(keystring: str) -> int:
    return zlib.crc32(keystring.encode("utf-8")) % 9_000_000 + 1_000_000


def shop_json(store: Store, shop: Shop) -> dict[str, Any]:
    user = store.users[shop.user_id]
    listings = store.shop_listings(shop.shop_id)
    sold = sum(t.quantity for r in store.shop_receipts(shop.shop_id) for t in r.transactions)
    return {
        "shop_id": shop.shop_id, "user_id": shop.user_id, "shop_name": shop.shop_name,
        "create_date": shop.created_timestamp, "created_timestamp": shop.created_timestamp,
        "title": None, "announcement": None, "currency_code": shop.currency_code, "is_vacation": False,
        "vacation_message": None, "sale_message": None, "digital_sale_message": None,
        "update_date": shop.updated_timestamp, "updated_timestamp": shop.updated_timestamp,
        "listing_active_count": sum(1 for listing in listings if listing.state == "active"),
        "digital_listing_count": 0, "login_name": user.login_name, "accepts_custom_requests": False,
        "policy_welcome": None, "policy_payment": None, "policy_shipping": None, "policy_refunds": None,
        "policy_additional": None, "policy_seller_info": None, "policy_update_date": shop.created_timestamp,
        "policy_has_private_receipt_info": False, "has_unstructured_policies": False, "policy_privacy": None,
        "vacation_autoreply": None, "url": f"https://www.etsy.com/shop/{shop.shop_name}",
        "image_url_760x100": None, "num_favorers": 0, "languages": ["en-US"], "icon_url_fullxfull": None,
        "is_using_structured_policies": True, "has_onboarded_structured_policies": True,
        "include_dispute_form_link": False, "is_direct_checkout_onboarded": True,
        "is_etsy_payments_onboarded": True, "is_calculated_eligible": shop.country_iso in ("US", "CA"),
        "is_opted_in_to_buyer_promise": False, "is_shop_us_based": shop.country_iso == "US",
        "transaction_sold_count": sold, "shipping_from_country_iso": shop.country_iso,
        "shop_location_country_iso": shop.country_iso, "review_count": 0, "review_average": None,
    }


def product_json(product: Product, listing: Listing, currency: str, *, show_sku: bool) -> dict[str, Any]:
    return {
        "product_id": product.product_id,
        # SKUs are shown only to the listing's owner (§7.1).
        "sku": product.sku if show_sku else "",
        "is_deleted": product.is_deleted,
        "offerings": [{
            "offering_id": product.offering_id, "quantity": product.quantity,
            "is_enabled": product.is_enabled,
            "is_deleted": product.is_deleted, "price": money(product.price, currency),
            "readiness_state_id": product.readiness_state_id or listing.readiness_state_id,
        }],
        "property_values": [dict(pv) for pv in product.property_values],
    }


def inventory_json(listing: Listing, currency: str, *, show_sku: bool, show_deleted: bool = False,
                   listing_object: dict[str, Any] | None = None) -> dict[str, Any]:
    products = listing.products + (listing.deleted_products if show_deleted else [])
    return {
        "products": [product_json(p, listing, currency, show_sku=show_sku) for p in products],
        "price_on_property": list(listing.price_on_property),
        "quantity_on_property": list(listing.quantity_on_property),
        "sku_on_property": list(listing.sku_on_property),
        "readiness_state_on_property": list(listing.readiness_state_on_property),
        # Present and null unless includes=Listing, as a real capture shows (§7.1).
        "listing": listing_object,
    }


def listing_json(listing: Listing, currency: str, *, show_sku: bool) -> dict[str, Any]:
    has_variations = any(p.property_values for p in listing.products)
    return {
        "listing_id": listing.listing_id, "user_id": listing.user_id, "shop_id": listing.shop_id,
        "title": listing.title, "description": listing.description, "state": listing.state,
        "creation_timestamp": listing.created_timestamp, "created_timestamp": listing.created_timestamp,
        "ending_timestamp": listing.created_timestamp + 120 * DAY,
        "original_creation_timestamp": listing.created_timestamp,
        "last_modified_timestamp": listing.updated_timestamp, "updated_timestamp": listing.updated_timestamp,
        "state_timestamp": listing.state_timestamp, "quantity": listing.quantity, "shop_section_id": None,
        "featured_rank": -1,
        "url": f"https://www.etsy.com/listing/{listing.listing_id}/{slug(listing.title)}",
        "num_favorers": 0, "non_taxable": False, "is_taxable": True, "is_customizable": False,
        "is_personalizable": False, "personalization_is_required": False,
        "personalization_char_count_max": None, "personalization_instructions": None,
        "listing_type": "physical", "tags": [], "materials": [],
        "shipping_profile_id": listing.shipping_profile_id, "return_policy_id": None,
        "processing_min": 1, "processing_max": 3, "who_made": "i_did", "when_made": "made_to_order",
        "is_supply": False, "item_weight": None, "item_weight_unit": None, "item_length": None,
        "item_width": None, "item_height": None, "item_dimensions_unit": None, "is_private": False,
        "style": [], "file_data": "", "has_variations": has_variations, "should_auto_renew": False,
        "language": "en-US", "price": money(listing.price, currency), "taxonomy_id": 1,
        "readiness_state_id": listing.readiness_state_id,
        # Filled only for the owner with a valid token, empty otherwise (§6).
        "skus": listing.skus if show_sku else [],
        "views": 0,
    }


def transaction_json(receipt: Receipt, t: Transaction) -> dict[str, Any]:
    currency = receipt.currency_code
    return {
        "transaction_id": t.transaction_id, "title": t.title, "description": t.description,
        "seller_user_id": receipt.seller_user_id, "buyer_user_id": receipt.buyer_user_id,
        "create_timestamp": t.created_timestamp, "created_timestamp": t.created_timestamp,
        "paid_timestamp": t.paid_timestamp, "shipped_timestamp": t.shipped_timestamp,
        "quantity": t.quantity, "listing_image_id": t.listing_image_id, "receipt_id": receipt.receipt_id,
        "is_digital": False, "file_data": "", "listing_id": t.listing_id, "transaction_type": "listing",
        "product_id": t.product_id, "sku": t.sku, "price": money(t.price, currency),
        "shipping_cost": money(t.shipping_cost, currency), "variations": [dict(v) for v in t.variations],
        "product_data": [dict(pv) for pv in t.product_data], "shipping_profile_id": t.shipping_profile_id,
        "min_processing_days": t.min_processing_days, "max_processing_days": t.max_processing_days,
        "shipping_method": t.shipping_method, "shipping_upgrade": t.shipping_upgrade,
        "expected_ship_date": t.expected_ship_date, "buyer_coupon": 0, "shop_coupon": 0,
    }


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    currency = receipt.currency_code
    address: dict[str, Any] = {
        "first_line": receipt.first_line, "second_line": receipt.second_line, "city": receipt.city,
        "state": receipt.state, "zip": receipt.zip, "country_iso": receipt.country_iso,
        "formatted_address": receipt.formatted_address(),
    }
    if receipt.withhold_address:
        address = {key: None for key in address}
    return {
        "receipt_id": receipt.receipt_id, "receipt_type": 0,
        "seller_user_id": receipt.seller_user_id, "seller_email": receipt.seller_email,
        "buyer_user_id": receipt.buyer_user_id, "buyer_email": receipt.buyer_email,
        "name": receipt.name, "first_line": address["first_line"], "second_line": address["second_line"],
        "city": address["city"], "state": address["state"], "zip": address["zip"],
        "status": receipt.status, "formatted_address": address["formatted_address"],
        "country_iso": address["country_iso"], "payment_method": receipt.payment_method, "payment_email": "",
        "message_from_seller": None, "message_from_buyer": receipt.message_from_buyer,
        "message_from_payment": None, "is_paid": receipt.is_paid, "is_shipped": receipt.is_shipped,
        "create_timestamp": receipt.created_timestamp, "created_timestamp": receipt.created_timestamp,
        "update_timestamp": receipt.updated_timestamp, "updated_timestamp": receipt.updated_timestamp,
        "is_gift": receipt.is_gift, "gift_message": receipt.gift_message, "gift_sender": "",
        "grandtotal": money(receipt.grandtotal, currency), "subtotal": money(receipt.subtotal, currency),
        "total_price": money(receipt.total_price, currency),
        "total_shipping_cost": money(receipt.total_shipping_cost, currency),
        "total_tax_cost": money(receipt.total_tax_cost, currency), "total_vat_cost": money(0, currency),
        "discount_amt": money(receipt.discount_amt, currency),
        "gift_wrap_price": money(receipt.gift_wrap_price, currency),
        "shipments": [{"receipt_shipping_id": s.receipt_shipping_id,
                       "shipment_notification_timestamp": s.shipment_notification_timestamp,
                       "carrier_name": s.carrier_name, "tracking_code": s.tracking_code}
                      for s in receipt.shipments],
        "transactions": [transaction_json(receipt, t) for t in receipt.transactions],
        "refunds": [{"amount": money(r.amount, currency), "created_timestamp": r.created_timestamp,
                     "reason": r.reason, "note_from_issuer": r.note_from_issuer, "status": r.status}
                    for r in receipt.refunds],
    }
