"""Supply Sources API 2020-07-01 (supplySources_2020-07-01.json, sp-api.md §4)."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from integrations.sandbox.http import Request, Response, empty_response, json_response

from .common import SpApiError, iso, json_body, seal, unseal
from .seeding import build_supply_source
from .state import CallContext

if TYPE_CHECKING:
    from .app import AmazonSandbox

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
LIST_FIELDS = ("supplySourceId", "supplySourceCode", "alias", "address")


def _invalid(message: str, details: str = "") -> SpApiError:
    # The model's examples: code InvalidInput with a numeric detail code, or an empty one.
    return SpApiError(400, "InvalidInput", message, details)


def _source(ctx: CallContext, source_id: str) -> dict[str, Any]:
    if not UUID.match(source_id):
        raise _invalid("Invalid Input")                 # the model's 400 example: a malformed UUID
    source = ctx.seller.supply_sources.get(source_id)
    if source is None:
        raise SpApiError(404, "NotFound", f"Supply source {source_id} was not found", "")
    return source


def get_supply_sources(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    raw_size = request.arg("pageSize")
    try:
        size = int(float(raw_size)) if raw_size not in (None, "") else 10      # `number`, default 10
    except ValueError:
        raise _invalid("Invalid Input", "pageSize must be a number") from None
    if size < 1:
        raise _invalid("Invalid Input", "pageSize must be at least 1")
    # Amazon documents no largest pageSize; the sandbox caps it (settings.supply_sources_max_page_size).
    size = min(size, sb.state.settings.supply_sources_max_page_size)
    # Oldest first; sources are never deleted (archiving keeps them), so the token can name the last one.
    rows = list(ctx.seller.supply_sources.values())
    token = request.arg("nextPageToken")
    if token:
        try:
            page = unseal(token, sb.state.secret)
        except ValueError:
            raise _invalid("Invalid Input", "nextPageToken is invalid") from None
        ids = [s["supplySourceId"] for s in rows]
        if page.get("t") != "ss" or page.get("s") != ctx.seller.selling_partner_id or page.get("k") not in ids:
            raise _invalid("Invalid Input", "nextPageToken is invalid")
        rows = rows[ids.index(page["k"]) + 1:]
    rows = [s for s in rows if s["status"] != "Archived"]
    chunk = rows[:size]
    # List items carry only id, code, alias and address; no status (sp-api.md §4).
    body: dict[str, Any] = {"supplySources": [{k: copy.deepcopy(s[k]) for k in LIST_FIELDS} for s in chunk]}
    if len(rows) > size:
        tail = chunk[-1]
        body["nextPageToken"] = seal({"t": "ss", "s": ctx.seller.selling_partner_id, "k": tail["supplySourceId"]},
                                     sb.state.secret)
    return json_response(body)


def get_supply_source(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    return json_response(copy.deepcopy(_source(ctx, request.params["supplySourceId"])))


def create_supply_source(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    body = json_body(request)
    spec = {k: body[k] for k in ("supplySourceCode", "alias", "address") if k in body}
    if not isinstance(spec.get("address"), dict):
        raise _invalid("Invalid Input", "address is required")
    if any(s["supplySourceCode"] == spec.get("supplySourceCode") for s in ctx.seller.supply_sources.values()):
        raise _invalid("Supply Source with given Code already exists", "1004")
    try:
        source = build_supply_source(sb.state, ctx.seller, spec)
    except ValueError as exc:
        raise _invalid("Invalid Input", str(exc)) from None
    ctx.seller.supply_sources[source["supplySourceId"]] = source
    return json_response({"supplySourceId": source["supplySourceId"], "supplySourceCode": source["supplySourceCode"]})


def _modifiable(ctx: CallContext, source_id: str) -> dict[str, Any]:
    source = _source(ctx, source_id)
    if source["status"] == "Archived":
        raise _invalid("Supply Source has been archived and cannot be modified.", "1005")
    return source


def update_supply_source_status(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    source = _modifiable(ctx, request.params["supplySourceId"])
    status = json_body(request).get("status")
    if status not in ("Active", "Inactive"):
        raise _invalid("Invalid Input", "status must be Active or Inactive")
    source["status"] = status
    source["updatedAt"] = iso(sb.state.clock.stamp())
    return empty_response(204)


def archive_supply_source(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    source = _modifiable(ctx, request.params["supplySourceId"])
    source["status"] = "Archived"
    source["updatedAt"] = iso(sb.state.clock.stamp())
    return empty_response(204)
