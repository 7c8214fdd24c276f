"""The sandbox's pages for people: Etsy's consent screen, its error page, and the /_sandbox/ overview."""

from __future__ import annotations

import time
from typing import Any, Iterable, Sequence

from ..http import escape
from .oauth import SCOPE_DESCRIPTIONS, ConsentRequest
from .state import Listing, Product, Receipt, Shop, Store

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.2rem;margin-top:2rem} h3{font-size:1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f5f5f5}
.card{border:1px solid #ddd;border-radius:8px;padding:1.5rem;max-width:520px;margin:auto}
.muted{color:#666;font-size:.85rem} code{background:#f3f3f3;padding:0 .2rem}
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;border-radius:20px;border:1px solid #222;
cursor:pointer}
#allow{background:#222;color:#fff} select{font-size:1rem;padding:.3rem;width:100%}
.status-paid{color:#b25000} .status-completed{color:#1a7f37} .status-canceled{color:#a00}
"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            "<link rel=\"icon\" href=\"data:,\">"  # no /favicon.ico request in the call log
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def error_page(message: str) -> str:
    return _page("Etsy sandbox: error", f"<div class=\"card\"><h1>Something went wrong</h1>"
                                        f"<p id=\"error\">{escape(message)}</p></div>")


def consent_page(*, app_name: str, consent: ConsentRequest, shops: Sequence[tuple[Shop, str]]) -> str:
    """Etsy's "Allow access" screen. `shops` pairs each seeded shop with its owner's login name."""
    scopes = "".join(f"<li><code>{escape(s)}</code> {escape(SCOPE_DESCRIPTIONS.get(s, ''))}</li>"
                     for s in consent.scopes)
    if shops:
        options = "".join(f"<option value=\"{shop.shop_id}\">{escape(shop.shop_name)} "
                          f"(shop {shop.shop_id}, signed in as {escape(login)})</option>"
                          for shop, login in shops)
        picker = ("<label for=\"shop\">Connect this shop</label>"
                  f"<select id=\"shop\" name=\"shop_id\">{options}</select>")
    else:
        picker = ("<p id=\"shop\">No shop exists in this sandbox yet: allowing access creates a demo shop "
                  "and connects it.</p><input type=\"hidden\" name=\"shop_id\" value=\"new\">")
    body = f"""
<div class="card">
  <h1>Allow <span id="app-name">{escape(app_name)}</span> to access your Etsy account?</h1>
  <p>This app is asking to:</p>
  <ul id="scopes">{scopes}</ul>
  <form method="post" action="/oauth/connect">
    <input type="hidden" name="request_id" value="{escape(consent.request_id)}">
    {picker}
    <p class="muted">You will return to <code id="redirect-uri">{escape(consent.redirect_uri)}</code></p>
    <button type="submit" id="allow" name="decision" value="allow">Allow access</button>
    <button type="submit" id="deny" name="decision" value="deny">Deny</button>
  </form>
  <p class="muted">Etsy sandbox: no real Etsy account is involved.</p>
</div>"""
    return _page("Etsy sandbox: allow access", body)


def _when(epoch: int | None) -> str:
    if not epoch:
        return ""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def _rows(rows: Iterable[Sequence[Any]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], empty: str) -> str:
    body = _rows(rows)
    if not body:
        return f"<p class=\"muted\">{escape(empty)}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _receipt_row(receipt: Receipt) -> list[str]:
    items = "<br>".join(f"{escape(t.sku or '(no SKU)')} × {t.quantity}" for t in receipt.transactions)
    shipments = "<br>".join(f"{escape(s.carrier_name or '?')} {escape(s.tracking_code or '(no tracking)')}"
                            for s in receipt.shipments)
    if not shipments and receipt.is_shipped:
        shipments = "marked shipped, no tracking"
    return [str(receipt.receipt_id), f"<span class=\"status-{escape(receipt.status.split()[0])}\">"
            f"{escape(receipt.status)}</span>", _when(receipt.created_timestamp), escape(receipt.name), items,
            shipments]


def _listing_row(listing: Listing) -> list[str]:
    def describe(p: Product) -> str:
        values = " / ".join(v for pv in p.property_values for v in pv["values"])
        disabled = "" if p.is_enabled else " (disabled)"
        price = f"{p.price / 100:.2f}"
        return f"{escape(p.sku or '(no SKU)')} {escape(values)} — qty {p.quantity}, {price}{disabled}"

    products = "<br>".join(describe(p) for p in listing.products)
    return [str(listing.listing_id), escape(listing.title), escape(listing.state), str(listing.quantity),
            products]


def dashboard(*, store: Store, keystring: str, redirect_uris: Sequence[str], limits: dict[str, int],
              calls: Sequence[dict[str, Any]], faults: str = "") -> str:
    parts = ["<h1>Etsy sandbox</h1>",
             f"<p>API key <code>{escape(keystring)}:…</code> · limits {limits['per_second']}/s, "
             f"{limits['per_day']}/day, {limits['remaining_today']} left today · redirect URIs: "
             + ", ".join(f"<code>{escape(u)}</code>" for u in redirect_uris) + "</p>"]
    if not store.shops:
        parts.append("<p class=\"muted\">No shops yet. Create one with <code>POST /_sandbox/shops</code>, "
                     "start with <code>--seed-demo</code>, or connect through "
                     "<code>/oauth/connect</code>.</p>")
    parts.append(faults)
    for shop in store.shops.values():
        receipts = sorted(store.shop_receipts(shop.shop_id), key=lambda r: r.created_timestamp, reverse=True)
        parts.append(f"<h2>{escape(shop.shop_name)} <span class=\"muted\">shop {shop.shop_id}, "
                     f"user {shop.user_id}, {escape(shop.currency_code)}</span></h2>")
        parts.append("<h3>Receipts</h3>")
        parts.append(f'<form method="post" action="/_sandbox/shops/{shop.shop_id}/receipts/form">Add a paid '
                     'receipt: SKU <input name="sku" size="14" placeholder="first listing"> quantity '
                     '<input name="quantity" type="number" value="1" min="1" max="100" style="width:4em"> '
                     '<button type="submit">Add paid receipt</button> <span class="muted">sends order.paid to '
                     'the registered webhook URL</span></form>')
        parts.append(_table(("receipt", "status", "created", "buyer", "items", "shipments"),
                            (_receipt_row(r) for r in receipts[:200]), "No receipts."))
        parts.append("<h3>Listings</h3>")
        listings = store.shop_listings(shop.shop_id)
        parts.append(_table(("listing", "title", "state", "quantity", "products"),
                            (_listing_row(listing) for listing in listings), "No listings."))
    parts.append("<h2>Recent calls</h2>")
    recent = list(reversed(calls))[:50]
    parts.append(_table(("time", "method", "path", "status"),
                        ([time.strftime("%H:%M:%S", time.gmtime(c["at"])), escape(c["method"]),
                          escape(c["path"]), str(c["status"])] for c in recent), "No calls yet."))
    return _page("Etsy sandbox", "".join(parts))
