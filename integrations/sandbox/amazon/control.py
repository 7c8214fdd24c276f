"""The Amazon sandbox's control API under /_sandbox/: seed and inspect what the sandbox holds, turn
its knobs. Not Amazon's API: plain JSON, `{"error": ...}` on failure, every success 200."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Callable

from integrations.sandbox.http import Request, Response, html_response, json_response, redirect

from . import feeds, pages
from .common import iso
from .notifications import notify_order_change
from .ratelimit import UsagePlan
from .seeding import build_listing, build_order, build_supply_source, update_order
from .state import Listing, Order, Seller

if TYPE_CHECKING:
    from .app import AmazonSandbox

MAX_BULK_ORDERS = 20_000


def _error(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status=status)


def _body(request: Request) -> dict[str, Any]:
    data = request.json() if request.body else {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def order_json(order: Order) -> dict[str, Any]:
    """The whole order as the sandbox holds it, PII included, with its items and packages."""
    return {**copy.deepcopy(order.data), "OrderItems": copy.deepcopy(order.items),
            "Packages": copy.deepcopy(order.packages)}


def listing_json(listing: Listing) -> dict[str, Any]:
    return {"sku": listing.sku, "quantity": listing.quantity, "productType": listing.product_type,
            "asin": listing.asin, "item_name": listing.item_name, "marketplace_id": listing.marketplace_id,
            "attributes": copy.deepcopy(listing.attributes), "updated": iso(listing.updated)}


def seller_state(sb: AmazonSandbox, seller: Seller) -> dict[str, Any]:
    for feed in seller.feeds.values():
        feeds.advance(sb, seller, feed, polled=False)
    return {
        "seller": seller.summary(),
        "orders": [order_json(o) for o in seller.orders.values()],
        "confirmations": copy.deepcopy(seller.confirmations),
        "listings": {sku: listing_json(listing) for sku, listing in seller.listings.items()},
        "feeds": [{**feeds.feed_json(f), "report": copy.deepcopy(f.report)} for f in seller.feeds.values()],
        "supply_sources": copy.deepcopy(list(seller.supply_sources.values())),
    }


class ControlApi:
    def __init__(self, sb: AmazonSandbox) -> None:
        self.sb = sb

    def register(self) -> None:
        def add(method: str, pattern: str, handler: Callable[[Request], Response]) -> None:
            self.sb.router.add(method, pattern, self._guarded(handler))

        add("GET", "/_sandbox/", self.dashboard)
        add("GET", "/_sandbox/app", self.get_app)
        add("POST", "/_sandbox/app", self.set_app)
        add("GET", "/_sandbox/sellers", self.list_sellers)
        add("POST", "/_sandbox/sellers", self.create_seller)
        add("GET", "/_sandbox/sellers/{sp}", self.get_seller)
        add("POST", "/_sandbox/sellers/{sp}/refresh_tokens", self.new_refresh_token)
        add("POST", "/_sandbox/sellers/{sp}/revoke", self.revoke)
        add("POST", "/_sandbox/sellers/{sp}/supply_sources", self.create_supply_source)
        add("PATCH", "/_sandbox/sellers/{sp}/supply_sources/{id}", self.update_supply_source)
        add("POST", "/_sandbox/sellers/{sp}/orders", self.create_orders)
        add("POST", "/_sandbox/sellers/{sp}/orders/form", self.add_order_form)
        add("GET", "/_sandbox/sellers/{sp}/orders/{id}", self.get_order)
        add("PATCH", "/_sandbox/sellers/{sp}/orders/{id}", self.update_order)
        add("POST", "/_sandbox/sellers/{sp}/listings", self.create_listing)
        add("GET", "/_sandbox/notifications", self.get_notifications)
        add("POST", "/_sandbox/sqs", self.set_sqs)
        add("GET", "/_sandbox/rate_limits", self.get_rate_limits)
        add("POST", "/_sandbox/rate_limits", self.set_rate_limits)
        add("GET", "/_sandbox/clock", self.get_clock)
        add("POST", "/_sandbox/clock", self.set_clock)
        add("GET", "/_sandbox/settings", self.get_settings)
        add("POST", "/_sandbox/settings", self.set_settings)
        add("POST", "/_sandbox/tokens/expire", self.expire_tokens)
        add("POST", "/_sandbox/oauth_codes", self.issue_code)
        add("POST", "/_sandbox/feeds/{feedId}/process", self.process_feed)

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _guarded(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """A bad spec is the caller's mistake: 400 with the reason, never a 500."""
        def guarded(request: Request) -> Response:
            try:
                return handler(request)
            except (ValueError, TypeError, KeyError) as exc:
                return _error(str(exc) if not isinstance(exc, KeyError) else f"missing field {exc}")
        return guarded

    def _seller(self, request: Request) -> Seller | Response:
        seller = self.sb.state.sellers.get(request.params["sp"])
        return seller if seller is not None else _error(f"no seller {request.params['sp']}", 404)

    # -- pages and app ---------------------------------------------------------------------------
    def dashboard(self, request: Request) -> Response:
        for seller in self.sb.state.sellers.values():
            for feed in seller.feeds.values():
                feeds.advance(self.sb, seller, feed, polled=False)
        refresh = request.arg("refresh")
        return html_response(pages.dashboard(self.sb.state, self.sb.calls, self.sb.base_url,
                                             int(refresh) if refresh and refresh.isdigit() else None,
                                             faults=self.sb.faults_form("shipmentConfirmation")))

    def _app_json(self) -> dict[str, Any]:
        app = self.sb.state.app
        return {"application_id": app.application_id, "lwa_client_id": app.client_id,
                "lwa_client_secret": app.client_secret, "redirect_uris": list(app.redirect_uris), "name": app.name,
                "endpoint": self.sb.base_url,
                "consent_url": f"{self.sb.base_url}/apps/authorize/consent?application_id={app.application_id}"
                               f"&version=beta"}

    def get_app(self, request: Request) -> Response:
        return json_response(self._app_json())

    def set_app(self, request: Request) -> Response:
        data = _body(request)
        app = self.sb.state.app
        if "redirect_uris" in data:
            app.redirect_uris = [str(u) for u in data["redirect_uris"]]
        for uri in data.get("add_redirect_uris") or []:
            if uri not in app.redirect_uris:
                app.redirect_uris.append(str(uri))
        return json_response(self._app_json())

    # -- sellers ---------------------------------------------------------------------------------
    def list_sellers(self, request: Request) -> Response:
        return json_response({"sellers": [s.summary() for s in self.sb.state.sellers.values()]})

    def create_seller(self, request: Request) -> Response:
        data = _body(request)
        marketplaces = data.get("marketplace_ids")
        if marketplaces is not None and (not isinstance(marketplaces, list) or not marketplaces):
            return _error("marketplace_ids must be a non-empty list")
        seller = self.sb.state.add_seller(selling_partner_id=data.get("selling_partner_id"), name=data.get("name"),
                                          marketplace_ids=marketplaces)
        token = self.sb.state.issue_refresh_token(seller.selling_partner_id)
        return json_response({**seller.summary(), "refresh_token": token})

    def get_seller(self, request: Request) -> Response:
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        return json_response(seller_state(self.sb, seller))

    def new_refresh_token(self, request: Request) -> Response:
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        return json_response({"refresh_token": self.sb.state.issue_refresh_token(seller.selling_partner_id)})

    def revoke(self, request: Request) -> Response:
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        return json_response({"revoked": self.sb.state.revoke_seller(seller.selling_partner_id)})

    # -- supply sources, orders, listings ----------------------------------------------------------
    def create_supply_source(self, request: Request) -> Response:
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        source = build_supply_source(self.sb.state, seller, _body(request))
        if source["supplySourceId"] in seller.supply_sources:
            return _error(f"supply source {source['supplySourceId']} already exists")
        seller.supply_sources[source["supplySourceId"]] = source
        return json_response(source)

    def update_supply_source(self, request: Request) -> Response:
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        source = seller.supply_sources.get(request.params["id"])
        if source is None:
            return _error(f"no supply source {request.params['id']}", 404)
        data = _body(request)
        unknown = set(data) - {"status", "alias", "address", "timezone"}
        if unknown:
            return _error(f"unknown supply source field(s): {', '.join(sorted(unknown))}")
        if "status" in data and data["status"] not in ("Active", "Inactive", "Archived"):
            return _error("status must be Active, Inactive or Archived")
        source.update({k: data[k] for k in ("status", "alias", "address") if k in data})
        if "timezone" in data:
            source.setdefault("configuration", {})["timezone"] = data["timezone"]
        source["updatedAt"] = iso(self.sb.state.clock.stamp())
        return json_response(source)

    def create_orders(self, request: Request) -> Response:
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        data = _body(request)
        if "count" not in data:
            order = build_order(self.sb.state, seller, data)
            seller.orders[order.id] = order
            notify_order_change(self.sb, order, reason="Order placed")
            return json_response(order_json(order))
        count, template = data["count"], data.get("template") or {}
        if set(data) - {"count", "template"}:
            return _error("with count, put the order fields in template")
        if not isinstance(count, int) or not 1 <= count <= MAX_BULK_ORDERS:
            return _error(f"count must be an integer between 1 and {MAX_BULK_ORDERS}")
        if "AmazonOrderId" in template:
            return _error("a template cannot fix AmazonOrderId")
        built = []
        for _ in range(count):
            spec = copy.deepcopy(template)
            for item in spec.get("items") or []:
                item.pop("OrderItemId", None)        # every order gets its own item ids
            order = build_order(self.sb.state, seller, spec)
            seller.orders[order.id] = order
            notify_order_change(self.sb, order, reason="Order placed")
            built.append(order)
        return json_response({"orders": [order_json(o) for o in built]})

    def add_order_form(self, request: Request) -> Response:
        """The dashboard's "Add an order" form: one MFN order for a SKU, as if a buyer had just ordered."""
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        form = request.form()
        sku = (form.get("sku") or "").strip()
        quantity = int(form.get("quantity") or 1)
        marketplace_id = (form.get("marketplace_id") or seller.marketplace_ids[0]).strip()
        if not sku or not 1 <= quantity <= 100:
            return _error("give a SKU and a quantity between 1 and 100")
        if marketplace_id not in seller.marketplace_ids:
            return _error(f"this seller does not sell in marketplace {marketplace_id}")
        order = build_order(self.sb.state, seller, {"MarketplaceId": marketplace_id,
                                                    "items": [{"SellerSKU": sku, "QuantityOrdered": quantity}]})
        seller.orders[order.id] = order
        notify_order_change(self.sb, order, reason="Order placed")
        return redirect("/_sandbox/")

    def get_notifications(self, request: Request) -> Response:
        state = self.sb.state
        return json_response({
            "sqs_endpoint_url": self.sb.sqs.endpoint_url,
            "destinations": list(state.destinations.values()),
            "subscriptions": {sp: s.subscriptions for sp, s in state.sellers.items() if s.subscriptions},
            "sent": list(self.sb.sqs.sent)})

    def set_sqs(self, request: Request) -> Response:
        url = _body(request).get("endpoint_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _error("endpoint_url must be an http(s) URL")
        self.sb.sqs.endpoint_url = url
        return json_response({"sqs_endpoint_url": url})

    def get_order(self, request: Request) -> Response:
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        order = seller.orders.get(request.params["id"])
        return json_response(order_json(order)) if order else _error(f"no order {request.params['id']}", 404)

    def update_order(self, request: Request) -> Response:
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        order = seller.orders.get(request.params["id"])
        if order is None:
            return _error(f"no order {request.params['id']}", 404)
        status = order.status
        update_order(self.sb.state, seller, order, _body(request))
        if order.status != status:           # Amazon sends ORDER_CHANGE on order status changes
            notify_order_change(self.sb, order, reason=f"Order status changed from {status} to {order.status}")
        return json_response(order_json(order))

    def create_listing(self, request: Request) -> Response:
        seller = self._seller(request)
        if isinstance(seller, Response):
            return seller
        listing = build_listing(self.sb.state, seller, _body(request))
        seller.listings[listing.sku] = listing
        return json_response(listing_json(listing))

    # -- knobs -----------------------------------------------------------------------------------
    def get_rate_limits(self, request: Request) -> Response:
        return json_response(self.sb.limiter.snapshot())

    def set_rate_limits(self, request: Request) -> Response:
        data = _body(request)
        overrides = {}
        for operation, plan in (data.get("overrides") or {}).items():
            overrides[operation] = UsagePlan(float(plan["rate"]), int(plan["burst"]))
        enabled = data.get("enabled")
        time_scale = data.get("time_scale")
        self.sb.limiter.configure(enabled=None if enabled is None else bool(enabled),
                                  time_scale=None if time_scale is None else float(time_scale),
                                  overrides=overrides or None)
        if data.get("refill"):
            self.sb.limiter.refill()
        return json_response(self.sb.limiter.snapshot())

    def _clock_json(self) -> dict[str, Any]:
        clock = self.sb.state.clock
        return {"now": iso(clock.now()), "lag_seconds": clock.lag_seconds, "offset_seconds": clock.offset_seconds}

    def get_clock(self, request: Request) -> Response:
        return json_response(self._clock_json())

    def set_clock(self, request: Request) -> Response:
        data = _body(request)
        clock = self.sb.state.clock
        if "lag_seconds" in data:
            if float(data["lag_seconds"]) < 0:
                return _error("lag_seconds must not be negative")
            clock.lag_seconds = float(data["lag_seconds"])
        if "offset_seconds" in data:
            clock.offset_seconds = float(data["offset_seconds"])
        if "advance_seconds" in data:
            clock.offset_seconds += float(data["advance_seconds"])
        return json_response(self._clock_json())

    def get_settings(self, request: Request) -> Response:
        return json_response(self.sb.state.settings.as_dict())

    def set_settings(self, request: Request) -> Response:
        data = _body(request)
        settings = self.sb.state.settings
        unknown = set(data) - set(settings.as_dict())
        if unknown:
            return _error(f"unknown setting(s): {', '.join(sorted(unknown))}")
        for key, value in data.items():
            current = getattr(settings, key)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    return _error(f"{key} must be true or false")
                setattr(settings, key, value)
            else:
                setattr(settings, key, type(current)(value))
        if settings.order_items_page_size < 1 or settings.supply_sources_max_page_size < 1:
            return _error("page sizes must be at least 1")
        return json_response(settings.as_dict())

    def expire_tokens(self, request: Request) -> Response:
        data = _body(request)
        return json_response({"expired": self.sb.state.expire_access_tokens(data.get("selling_partner_id"))})

    def issue_code(self, request: Request) -> Response:
        """A consent without the browser: the spapi_oauth_code a confirm would have produced."""
        data = _body(request)
        seller = self.sb.state.sellers.get(data.get("selling_partner_id") or "")
        if seller is None:
            return _error("selling_partner_id must name an existing seller", 404)
        redirect_uri = data.get("redirect_uri") or (self.sb.state.app.redirect_uris or [""])[0]
        code = self.sb.state.issue_code(seller.selling_partner_id, redirect_uri)
        return json_response({"code": code.code, "selling_partner_id": seller.selling_partner_id,
                              "redirect_uri": redirect_uri, "expires_at": iso(code.expires)})

    def process_feed(self, request: Request) -> Response:
        for seller in self.sb.state.sellers.values():
            feed = seller.feeds.get(request.params["feedId"])
            if feed is not None:
                feeds.finish(self.sb, seller, feed)
                return json_response({**feeds.feed_json(feed), "report": copy.deepcopy(feed.report)})
        return _error(f"no feed {request.params['feedId']}", 404)
