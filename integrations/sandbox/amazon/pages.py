"""HTML for people: the Seller Central consent page and the /_sandbox/ overview."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from integrations.sandbox.http import escape

from .common import iso
from .state import SandboxState, Seller

NEW_SELLER = "__new__"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f3f3f3;color:#0f1111}
header{background:#232f3e;color:#fff;padding:12px 24px;font-size:18px}
header small{color:#ff9900;margin-left:8px}
main{max-width:1100px;margin:24px auto;padding:0 16px}
.card{background:#fff;border:1px solid #d5d9d9;border-radius:8px;padding:16px 20px;margin-bottom:16px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{background:#fafafa}
code{background:#f0f2f2;padding:1px 4px;border-radius:3px}
button{font-size:15px;padding:8px 20px;border-radius:8px;border:1px solid #888;cursor:pointer;margin-right:8px}
#confirm{background:#ffd814;border-color:#fcd200}
#deny{background:#fff}
.muted{color:#565959;font-size:13px}
.error{color:#b12704}
label{display:block;margin:6px 0}
"""


def _page(title: str, body: str, refresh: int | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>{meta}'
            f'<style>{STYLE}</style></head><body><header>amazon seller central<small>SP-API sandbox</small>'
            f'</header><main>{body}</main></body></html>')


def consent_error(message: str) -> str:
    return _page("Authorization error", f'<div class="card"><h1>We could not authorize this application</h1>'
                                        f'<p class="error" id="error">{escape(message)}</p></div>')


def consent(state: SandboxState, fields: dict[str, str], redirect_uri: str, problem: str = "") -> str:
    app = state.app
    sellers = list(state.sellers.values())
    options = []
    for index, seller in enumerate(sellers):
        checked = " checked" if index == 0 else ""
        options.append(f'<label><input type="radio" name="selling_partner_id" value="{escape(seller.selling_partner_id)}"'
                       f'{checked}> {escape(seller.name)} <span class="muted">({escape(seller.selling_partner_id)}, '
                       f'{escape(", ".join(seller.marketplace_ids))})</span></label>')
    new_checked = "" if sellers else " checked"
    options.append(f'<label><input type="radio" name="selling_partner_id" value="{NEW_SELLER}"{new_checked}> '
                   f'Create a demo seller account named <input name="new_seller_name" value="Demo seller" '
                   f'aria-label="New seller name"></label>')
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                     for k, v in (("application_id", fields.get("application_id", "")),
                                  ("state", fields.get("state", "")), ("version", fields.get("version", "")),
                                  ("redirect_uri", redirect_uri)))
    beta = ('<p class="muted">Draft application (<code>version=beta</code>).</p>'
            if fields.get("version") == "beta" else "")
    warn = f'<p class="error">{escape(problem)}</p>' if problem else ""
    body = f"""
<div class="card">
  <h1>Authorize {escape(app.name)}</h1>
  <p><strong>{escape(app.name)}</strong> (<code>{escape(app.application_id)}</code>) asks to access your
  Amazon selling account through the Selling Partner API.</p>{beta}
  <p class="muted">After you confirm you will return to <code>{escape(redirect_uri)}</code>.</p>
  {warn}
  <form method="post" action="/apps/authorize/consent">
    {hidden}
    <fieldset><legend>Selling account</legend>{''.join(options)}</fieldset>
    <p><button type="submit" id="confirm" name="decision" value="confirm">Confirm</button>
       <button type="submit" id="deny" name="decision" value="deny">Deny</button></p>
  </form>
</div>"""
    return _page(f"Authorize {app.name}", body)


def _table(headers: Iterable[str], rows: list[list[Any]], empty: str = "none") -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _source_label(seller: Seller, source_id: str) -> str:
    source = seller.supply_sources.get(source_id)
    if source is None:
        return escape(source_id)
    return f'<span title="{escape(source_id)}">{escape(source["supplySourceCode"])}</span>'


def _seller_section(seller: Seller) -> str:
    sources = _table(("code", "alias", "status", "id", "city"), [
        [escape(s["supplySourceCode"]), escape(s["alias"]), escape(s["status"]), f'<code>{escape(s["supplySourceId"])}</code>',
         escape((s.get("address") or {}).get("city", ""))] for s in seller.supply_sources.values()])
    listings = _table(("SKU", "title", "quantity", "updated"), [
        [f"<code>{escape(listing.sku)}</code>", escape(listing.item_name), str(listing.quantity), escape(iso(listing.updated))]
        for listing in seller.listings.values()])
    orders = _table(("order", "status", "channel", "purchased", "updated", "items (shipped/ordered)", "supply source"), [
        [f"<code>{escape(o.id)}</code>", escape(o.status), escape(o.data.get("FulfillmentChannel", "")),
         escape(o.data["PurchaseDate"]), escape(o.data["LastUpdateDate"]),
         "<br>".join(f'{escape(i.get("SellerSKU", ""))} {i.get("QuantityShipped", 0)}/{i["QuantityOrdered"]}'
                     for i in o.items),
         _source_label(seller, (o.data.get("FulfillmentInstruction") or {}).get("FulfillmentSupplySourceId", ""))]
        for o in sorted(seller.orders.values(), key=lambda o: o.data["LastUpdateDate"], reverse=True)[:200]])
    confirmations = _table(("order", "package", "carrier", "tracking", "ship date", "items", "at"), [
        [f"<code>{escape(c['amazon_order_id'])}</code>", escape(c["package_reference_id"]),
         escape(c["body"]["packageDetail"].get("carrierName") or c["body"]["packageDetail"]["carrierCode"]),
         escape(c["body"]["packageDetail"]["trackingNumber"]), escape(c["body"]["packageDetail"]["shipDate"]),
         "<br>".join(f'{escape(i["orderItemId"])} × {i["quantity"]}' for i in c["body"]["packageDetail"]["orderItems"]),
         escape(c["at"])] for c in reversed(seller.confirmations)])
    feeds = _table(("feed", "type", "status", "summary"), [
        [escape(f.id), escape(f.feed_type), escape(f.status),
         escape(", ".join(f"{k} {v}" for k, v in ((f.report or {}).get("summary") or {}).items()))]
        for f in reversed(list(seller.feeds.values()))])
    return f"""
<div class="card" id="seller-{escape(seller.selling_partner_id)}">
  <h2>{escape(seller.name)} <span class="muted">{escape(seller.selling_partner_id)} ·
      {escape(", ".join(seller.marketplace_ids))}</span></h2>
  <h3>Orders ({len(seller.orders)})</h3>
  <form method="post" action="/_sandbox/sellers/{escape(seller.selling_partner_id)}/orders/form" class="add-order">
    Add an order in <select name="marketplace_id" aria-label="marketplace">{"".join(
        f'<option value="{escape(m)}">{escape(m)}</option>' for m in seller.marketplace_ids)}</select>:
    SKU <input name="sku" required size="14"> quantity <input name="quantity" type="number" value="1"
    min="1" max="100" style="width:4em"> <button type="submit">Add order</button>
    <span class="muted">{"sends ORDER_CHANGE to the subscribed queue" if seller.subscriptions.get("ORDER_CHANGE")
                          else "no ORDER_CHANGE subscription yet"}</span>
  </form>
  {orders}
  <h3>Shipment confirmations</h3>{confirmations}
  <h3>Listings</h3>{listings}
  <h3>Supply sources</h3>{sources}
  <h3>Feeds</h3>{feeds}
</div>"""


def dashboard(state: SandboxState, calls: list[dict[str, Any]], base_url: str, refresh: int | None,
              faults: str = "") -> str:
    app = state.app
    recent = _table(("time", "method", "path", "status"), [
        [escape(datetime.fromtimestamp(c["at"], timezone.utc).strftime("%H:%M:%S")), escape(c["method"]),
         f'<code>{escape(c["path"])}</code>', str(c["status"])] for c in reversed(calls[-50:])], "no calls yet")
    sellers = "".join(_seller_section(s) for s in state.sellers.values()) or \
        '<div class="card"><p class="muted">No sellers yet: POST /_sandbox/sellers or start with --seed-demo.</p></div>'
    body = f"""
<div class="card">
  <h1>Amazon SP-API sandbox</h1>
  <p>SP-API and LWA endpoint: <code>{escape(base_url)}</code> · application <code>{escape(app.application_id)}</code>
     · LWA client id <code>{escape(app.client_id)}</code></p>
  <p class="muted">Redirect URIs: {escape(", ".join(app.redirect_uris) or "none")} ·
     JSON: <a href="/_sandbox/sellers">sellers</a>, <a href="/_sandbox/calls">calls</a>,
     <a href="/_sandbox/rate_limits">rate limits</a>, <a href="/_sandbox/faults">faults</a></p>
</div>
{faults}
{sellers}
<div class="card"><h2>Recent calls</h2>{recent}</div>"""
    return _page("Amazon SP-API sandbox", body, refresh)
