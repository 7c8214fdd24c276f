"""Tokens API 2021-03-01: createRestrictedDataToken (tokens_2021-03-01.json, sp-api.md §9)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.sandbox.http import Request, Response, json_response

from .common import SpApiError, json_body
from .state import ACCESS_TOKEN_SECONDS, CallContext, path_matches

if TYPE_CHECKING:
    from .app import AmazonSandbox

MAX_RESOURCES = 50
DATA_ELEMENTS = frozenset({"buyerInfo", "shippingAddress", "buyerTaxInformation"})
# Restricted operations an RDT may name (Tokens API use case guide). The sandbox serves only the
# Orders ones; the others can still be minted so a client that asks for them is not refused.
RESTRICTED_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("GET", "/orders/v0/orders"),
    ("GET", "/orders/v0/orders/{orderId}"),
    ("GET", "/orders/v0/orders/{orderId}/address"),
    ("GET", "/orders/v0/orders/{orderId}/buyerInfo"),
    ("GET", "/orders/v0/orders/{orderId}/orderItems"),
    ("GET", "/orders/v0/orders/{orderId}/orderItems/buyerInfo"),
    ("GET", "/orders/v0/orders/{orderId}/regulatedInfo"),
    ("GET", "/mfn/v0/shipments/{shipmentId}"),
    ("POST", "/mfn/v0/shipments"),
    ("GET", "/fba/outbound/2020-07-01/fulfillmentOrders/{sellerFulfillmentOrderId}"),
    ("GET", "/reports/2021-06-30/documents/{reportDocumentId}"),
    ("GET", "/shipping/v1/shipments/{shipmentId}"),
    ("POST", "/shipping/v1/shipments/{shipmentId}/purchaseLabels"),
)


def _invalid(details: str) -> SpApiError:
    # The model's 400 example: code InvalidRequest, a fixed message, the reason in details.
    return SpApiError(400, "InvalidRequest", "Request is missing or has invalid parameters", details)


def _restricted(method: str, path: str) -> bool:
    return any(m == method and (path_matches(template, path) or template == path)
               for m, template in RESTRICTED_OPERATIONS)


def create_restricted_data_token(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    if ctx.token.kind != "access":
        raise SpApiError(403, "Unauthorized", "Access to requested resource is denied.",
                         "A restricted data token cannot be used to create another one.")
    body = json_body(request)      # python-amazon-sp-api adds original_path, marketplaceIds, ...: ignored
    resources = body.get("restrictedResources")
    if not isinstance(resources, list) or not resources:
        raise _invalid("Resource not provided.")
    if len(resources) > MAX_RESOURCES:
        raise _invalid(f"A maximum of {MAX_RESOURCES} restricted resources may be requested.")
    accepted: list[dict[str, Any]] = []
    for resource in resources:
        if not isinstance(resource, dict):
            raise _invalid("Resource not provided.")
        method, path = resource.get("method"), resource.get("path")
        if method not in ("GET", "PUT", "POST", "DELETE"):
            raise _invalid(f"Invalid method {method!r} for restricted resource.")
        if not isinstance(path, str) or not path.startswith("/"):
            raise _invalid("Resource not provided.")
        if not _restricted(method, path):
            raise _invalid(f"{method} {path} is not a restricted operation.")
        elements = resource.get("dataElements")
        if elements is not None:
            if not isinstance(elements, list) or not all(isinstance(e, str) for e in elements):
                raise _invalid("dataElements must be a list of strings.")
            unknown = [e for e in elements if e not in DATA_ELEMENTS]
            if unknown:
                raise _invalid(f"Invalid dataElements: {', '.join(unknown)}.")
        accepted.append({"method": method, "path": path, "dataElements": list(elements or [])})
    token = sb.state.issue_access_token(seller_id=ctx.seller.selling_partner_id, client_id=ctx.token.client_id,
                                        kind="rdt", resources=accepted)
    # No payload wrapper, as the model and its sandbox examples (sp-api.md §9).
    return json_response({"restrictedDataToken": token.token, "expiresIn": ACCESS_TOKEN_SECONDS})
