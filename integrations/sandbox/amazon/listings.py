"""Listings Items API 2021-08-01 (listingsItems_2021-08-01.json, sp-api.md §3.1), and the patch
logic the JSON_LISTINGS_FEED processing shares.

Decisions the model leaves open, made here:
- A PATCH for a SKU the seller has no listing for answers 200 with status INVALID and an ERROR issue
  (`INVALID` = "not valid and was not accepted for processing"): a patch cannot create a listing.
- Amazon accepts a submission and applies it later; the sandbox applies an ACCEPTED patch at once.
- Issue codes other than Amazon's own 90220 ("'x' is required but not supplied") are the sandbox's
  own words (SKU_NOT_FOUND, INVALID_VALUE, UNSUPPORTED_PATH): match on status and severity, not codes.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from integrations.sandbox.http import Request, Response, json_response

from .common import SpApiError, csv_values, iso, json_body
from .state import CallContext, Listing, Seller

if TYPE_CHECKING:
    from .app import AmazonSandbox

PATCH_OPS = ("add", "replace", "merge", "delete")
GET_INCLUDED = frozenset({"summaries", "attributes", "issues", "offers", "fulfillmentAvailability", "procurement",
                          "relationships", "productTypes"})
PATCH_INCLUDED = frozenset({"identifiers", "issues"})


def issue(code: str, message: str, *, attribute: str | None = None, severity: str = "ERROR") -> dict[str, Any]:
    found: dict[str, Any] = {"code": code, "message": message, "severity": severity, "categories": []}
    if attribute:
        found["attributeNames"] = [attribute]
        found["categories"] = ["INVALID_ATTRIBUTE"]
    return found


def bad_request(details: str) -> SpApiError:
    return SpApiError(400, "BAD_REQUEST", "Invalid input", details)     # the model's 400 example


def patch_problems(body: Any) -> list[str]:
    """ListingsItemPatchRequest's schema: productType and a non-empty patches list of {op, path, value?}."""
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = []
    if not isinstance(body.get("productType"), str) or not body["productType"]:
        problems.append("productType is required")
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        return problems + ["patches is required and must contain at least one patch"]
    for index, patch in enumerate(patches):
        if not isinstance(patch, dict):
            problems.append(f"patches[{index}] must be an object")
            continue
        if patch.get("op") not in PATCH_OPS:
            problems.append(f"patches[{index}].op must be one of {', '.join(PATCH_OPS)}")
        if not isinstance(patch.get("path"), str):
            problems.append(f"patches[{index}].path is required")
        value = patch.get("value")
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, dict) for v in value)):
            problems.append(f"patches[{index}].value must be an array of objects")
    return problems


def _availability_issues(value: list[dict[str, Any]]) -> list[dict[str, Any]]:
    issues = []
    for entry in value:
        if not entry.get("fulfillment_channel_code"):
            issues.append(issue("90220", "'fulfillment_channel_code' is required but not supplied.",
                                attribute="fulfillment_availability"))
        quantity = entry.get("quantity")
        if entry.get("fulfillment_channel_code") == "DEFAULT" and quantity is None:
            issues.append(issue("90220", "'quantity' is required but not supplied.", attribute="fulfillment_availability"))
        elif quantity is not None and (not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0):
            issues.append(issue("INVALID_VALUE", f"'quantity' must be a whole number of 0 or more, not {quantity!r}.",
                                attribute="fulfillment_availability"))
    return issues


def check_patches(patches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issues that make a (schema-valid) patch list INVALID."""
    issues = []
    for patch in patches:
        parts = patch["path"].strip("/").split("/")
        # "Only top-level listings item attributes can be patched" (patchListingsItem)
        if len(parts) != 2 or parts[0] != "attributes" or not parts[1]:
            issues.append(issue("UNSUPPORTED_PATH", f"Only top-level attributes can be patched, not {patch['path']}."))
            continue
        if patch["op"] != "delete" and patch.get("value") is None:
            issues.append(issue("90220", f"'{parts[1]}' is required but not supplied.", attribute=parts[1]))
        elif parts[1] == "fulfillment_availability" and patch["op"] != "delete":
            issues.extend(_availability_issues(patch["value"]))
    return issues


def apply_patches(listing: Listing, patches: list[dict[str, Any]], when: Any) -> None:
    for patch in patches:
        name = patch["path"].strip("/").split("/")[1]
        if patch["op"] == "delete":
            listing.attributes.pop(name, None)
        elif patch["op"] == "merge" and name in listing.attributes:
            listing.attributes[name] = listing.attributes[name] + copy.deepcopy(patch["value"])
        else:
            listing.attributes[name] = copy.deepcopy(patch["value"])
    listing.updated = when


def _check_seller(ctx: CallContext, seller_id: str) -> Seller:
    if seller_id != ctx.seller.selling_partner_id:
        raise SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                         f"The sellerId {seller_id} does not match the authorized selling partner.")
    return ctx.seller


def _marketplaces(request: Request) -> list[str]:
    marketplaces = csv_values(request, "marketplaceIds")
    if not marketplaces:
        raise bad_request("marketplaceIds is required")
    return marketplaces


def patch_listings_item(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    seller = _check_seller(ctx, request.params["sellerId"])
    sku = request.params["sku"]           # the router decodes each path segment: SKU%201%2Fx -> "SKU 1/x"
    marketplaces = _marketplaces(request)
    included = set(csv_values(request, "includedData")) or {"issues"}
    mode = request.arg("mode")
    if mode not in (None, "", "VALIDATION_PREVIEW"):
        raise bad_request("mode must be VALIDATION_PREVIEW")
    if included - PATCH_INCLUDED or ("identifiers" in included and mode != "VALIDATION_PREVIEW"):
        raise bad_request("includedData may be issues, or identifiers with mode=VALIDATION_PREVIEW")
    body = json_body(request)
    problems = patch_problems(body)
    if problems:
        raise bad_request("; ".join(problems))
    listing = seller.listings.get(sku)
    issues = ([issue("SKU_NOT_FOUND", f"SKU '{sku}' does not exist for this seller; create the listing before "
                                      "patching it.")] if listing is None else check_patches(body["patches"]))
    if mode == "VALIDATION_PREVIEW":
        status = "INVALID" if issues else "VALID"
    else:
        status = "INVALID" if issues else "ACCEPTED"
        if listing is not None and not issues:
            apply_patches(listing, body["patches"], sb.state.clock.stamp())
    result: dict[str, Any] = {"sku": sku, "status": status, "submissionId": sb.state.new_uuid()}
    if "issues" in included:
        result["issues"] = issues
    if "identifiers" in included:
        result["identifiers"] = ([{"marketplaceId": m, "asin": listing.asin} for m in marketplaces]
                                 if listing is not None else [])
    return json_response(result)


def listing_item(listing: Listing, included: set[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"sku": listing.sku}
    if "summaries" in included:
        item["summaries"] = [{"marketplaceId": listing.marketplace_id, "asin": listing.asin,
                              "productType": listing.product_type, "conditionType": "new_new",
                              "status": ["BUYABLE"] if listing.quantity > 0 else ["DISCOVERABLE"],
                              "itemName": listing.item_name, "createdDate": iso(listing.created),
                              "lastUpdatedDate": iso(listing.updated)}]
    if "attributes" in included:
        item["attributes"] = copy.deepcopy(listing.attributes)
    if "issues" in included:
        item["issues"] = []
    if "fulfillmentAvailability" in included:
        item["fulfillmentAvailability"] = [
            {"fulfillmentChannelCode": e.get("fulfillment_channel_code", "DEFAULT"), "quantity": int(e.get("quantity") or 0)}
            for e in listing.attributes.get("fulfillment_availability", [])]
    if "productTypes" in included:
        item["productTypes"] = [{"marketplaceId": listing.marketplace_id, "productType": listing.product_type}]
    if "offers" in included:
        item["offers"] = []
    if "procurement" in included:
        item["procurement"] = []
    if "relationships" in included:
        item["relationships"] = [{"marketplaceId": listing.marketplace_id, "relationships": []}]
    return item


def get_listings_item(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    seller = _check_seller(ctx, request.params["sellerId"])
    sku = request.params["sku"]
    _marketplaces(request)
    included = set(csv_values(request, "includedData")) or {"summaries"}
    if included - GET_INCLUDED:
        raise bad_request(f"Invalid includedData value(s): {', '.join(sorted(included - GET_INCLUDED))}")
    listing = seller.listings.get(sku)
    if listing is None:
        raise SpApiError(404, "NOT_FOUND", f"SKU '{sku}' not found", "The requested listings item was not found")
    return json_response(listing_item(listing, included))
