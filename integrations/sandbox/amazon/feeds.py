"""Feeds API 2021-06-30 with JSON_LISTINGS_FEED processing (feeds_2021-06-30.json, sp-api.md §3.2),
and the presigned document URLs, which Amazon serves from S3 and the sandbox from `/_s3/feeds/`.

Timeline: a feed is IN_QUEUE when created, IN_PROGRESS on the next getFeed (or after
`feed_step_seconds`), DONE on the one after (or after twice that, polled or not). The feed is applied
to the seller's listings when it reaches DONE; the processing report is the result document. A seller
subscribed to FEED_PROCESSING_FINISHED gets that notification when the feed is DONE, FATAL or CANCELLED.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from integrations.sandbox.http import Request, Response, empty_response, json_response

from .common import UTC, SpApiError, csv_values, int_arg, iso, json_body, parse_iso, seal, sign, unseal
from .listings import apply_patches, check_patches, patch_problems
from .notifications import notify_feed_finished
from .state import CallContext, Feed, FeedDocument, Listing, Seller

if TYPE_CHECKING:
    from .app import AmazonSandbox

URL_SECONDS = 300                  # "The URL expires after 5 min" (sp-api.md §3.2)
MAX_MESSAGES = 25_000              # per JSON_LISTINGS_FEED (changelog 6 May 2025)
OPERATION_TYPES = ("UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE")
PROCESSING_STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")


def _invalid(details: str) -> SpApiError:
    # Every 400 example in the Feeds model: code "400", message "Invalid input", the reason in details.
    return SpApiError(400, "400", "Invalid input", details)


# -- presigned URLs (S3 stand-in) ------------------------------------------------------------------

def presigned_url(sb: AmazonSandbox, doc: FeedDocument, method: str, content_encoding: str = "") -> str:
    date = sb.state.clock.now().strftime("%Y%m%dT%H%M%SZ")
    query = {"X-Amz-Date": date, "X-Amz-Expires": str(URL_SECONDS)}
    if content_encoding:
        query["response-content-encoding"] = content_encoding
    query["X-Amz-Signature"] = sign(sb.state.secret, method, doc.id, date, str(URL_SECONDS), content_encoding)
    return f"{sb.base_url}/_s3/feeds/{doc.id}?{urlencode(query)}"


def _s3_error(status: int, code: str, message: str) -> Response:
    # S3 answers in XML, so a client that calls .json() on a failed upload fails here as it would there.
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(status=status, body=body.encode("utf-8"), content_type="application/xml")


def _check_url(sb: AmazonSandbox, request: Request, method: str) -> tuple[FeedDocument | None, Response | None]:
    doc = sb.state.documents.get(request.params["documentId"])
    if doc is None:
        return None, _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    date, expires = request.arg("X-Amz-Date") or "", request.arg("X-Amz-Expires") or ""
    encoding = request.arg("response-content-encoding") or ""
    if request.arg("X-Amz-Signature") != sign(sb.state.secret, method, doc.id, date, expires, encoding):
        return None, _s3_error(403, "SignatureDoesNotMatch",
                               "The request signature we calculated does not match the signature you provided.")
    try:
        expiry = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) + timedelta(seconds=int(expires))
    except ValueError:
        return None, _s3_error(403, "AccessDenied", "Request is not valid.")
    if sb.state.clock.now() > expiry:
        return None, _s3_error(403, "AccessDenied", "Request has expired")
    return doc, None


def s3_put(sb: AmazonSandbox, request: Request) -> Response:
    doc, error = _check_url(sb, request, "PUT")
    if error or doc is None:
        return error or _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    if doc.kind != "input":
        return _s3_error(403, "AccessDenied", "Access Denied")
    sent = (request.headers.get("content-type") or "").replace(" ", "").lower()
    # The presigned URL is signed for the contentType given to createFeedDocument (sp-api.md §3.2 step 2).
    if sent != doc.content_type.replace(" ", "").lower():
        return _s3_error(403, "SignatureDoesNotMatch",
                         f"Content-Type {request.headers.get('content-type')!r} does not match the signed "
                         f"{doc.content_type!r}.")
    doc.content = request.body
    return Response(status=200, headers={"ETag": '"%s"' % hashlib.md5(request.body, usedforsecurity=False).hexdigest()},
                    content_type="")


def s3_get(sb: AmazonSandbox, request: Request) -> Response:
    doc, error = _check_url(sb, request, "GET")
    if error or doc is None:
        return error or _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    if doc.content is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    headers = {}
    # Without enableContentEncodingUrlHeader a GZIP document is served as plain bytes (Content-Encoding
    # identity) and the client gunzips it; with it, Content-Encoding: gzip (getFeedDocument).
    if doc.compression == "GZIP" and request.arg("response-content-encoding") == "gzip":
        headers["Content-Encoding"] = "gzip"
    return Response(status=200, body=doc.content, headers=headers, content_type=doc.content_type)


# -- documents -------------------------------------------------------------------------------------

def create_feed_document(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    content_type = json_body(request).get("contentType")     # the library also sends a stray "path": ignored
    if not isinstance(content_type, str) or not content_type.strip():
        raise _invalid("contentType is required")
    doc = FeedDocument(id=sb.state.new_uuid(), seller_id=ctx.seller.selling_partner_id, content_type=content_type,
                       kind="input", created=sb.state.clock.now())
    sb.state.documents[doc.id] = doc
    return json_response({"feedDocumentId": doc.id, "url": presigned_url(sb, doc, "PUT")}, status=201)


def get_feed_document(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    doc = sb.state.documents.get(request.params["feedDocumentId"])
    if doc is None or doc.seller_id != ctx.seller.selling_partner_id:
        raise SpApiError(404, "NotFound", "The feed document was not found", "Invalid feedDocumentId")
    encoding = "gzip" if request.arg("enableContentEncodingUrlHeader") == "true" and doc.compression else ""
    body: dict[str, Any] = {"feedDocumentId": doc.id, "url": presigned_url(sb, doc, "GET", encoding)}
    if doc.compression:
        body["compressionAlgorithm"] = doc.compression
    return json_response(body)


# -- feeds -----------------------------------------------------------------------------------------

def feed_json(feed: Feed) -> dict[str, Any]:
    body: dict[str, Any] = {"feedId": feed.id, "feedType": feed.feed_type, "marketplaceIds": list(feed.marketplace_ids),
                            "createdTime": iso(feed.created), "processingStatus": feed.status}
    if feed.started:
        body["processingStartTime"] = iso(feed.started)
    if feed.ended:
        body["processingEndTime"] = iso(feed.ended)
    if feed.result_document_id:
        body["resultFeedDocumentId"] = feed.result_document_id
    return body


def create_feed(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    body = json_body(request)
    feed_type, doc_id, marketplaces = body.get("feedType"), body.get("inputFeedDocumentId"), body.get("marketplaceIds")
    if not isinstance(feed_type, str) or not feed_type:
        raise _invalid("feedType is required")
    if not isinstance(marketplaces, list) or not 1 <= len(marketplaces) <= 25 or \
            not all(isinstance(m, str) for m in marketplaces):
        raise _invalid("marketplaceIds must list 1 to 25 marketplace ids")
    doc = sb.state.documents.get(doc_id) if isinstance(doc_id, str) else None
    if doc is None or doc.seller_id != ctx.seller.selling_partner_id or doc.kind != "input":
        raise _invalid("inputFeedDocumentId is not a feed document of this selling partner")
    if doc.content is None:
        raise _invalid("The feed document has not been uploaded")
    if feed_type == "JSON_LISTINGS_FEED" and not sb.limiter.take(ctx.seller.selling_partner_id,
                                                                 "createFeed:JSON_LISTINGS_FEED"):
        return sb.throttled(request)
    feed = Feed(id=sb.state.new_feed_id(), seller_id=ctx.seller.selling_partner_id, feed_type=feed_type,
                marketplace_ids=list(marketplaces), input_document_id=doc.id, created=sb.state.clock.now())
    ctx.seller.feeds[feed.id] = feed
    _finish_in_time(sb, feed)
    return json_response({"feedId": feed.id}, status=202)


def _finish_in_time(sb: AmazonSandbox, feed: Feed) -> None:
    """Amazon processes a feed whether anybody polls it or not: finish it once its time has come."""
    step = sb.state.settings.feed_step_seconds
    state = sb.state

    def tick() -> None:
        with sb.lock:
            seller = state.sellers.get(feed.seller_id)
            if sb.state is not state or seller is None or seller.feeds.get(feed.id) is not feed:
                return                          # the sandbox was reset meanwhile
            advance(sb, seller, feed, polled=False)
            if feed.status in ("IN_QUEUE", "IN_PROGRESS"):
                _finish_in_time(sb, feed)       # the clock said a hair less than its time: again shortly

    timer = threading.Timer(max(0.02, 2 * step - (state.clock.now() - feed.created).total_seconds() + 0.02), tick)
    timer.daemon = True
    timer.start()


def _own_feed(ctx: CallContext, feed_id: str) -> Feed:
    feed = ctx.seller.feeds.get(feed_id)
    if feed is None:
        raise SpApiError(404, "NotFound", "The feed was not found", f"No feed {feed_id} for this selling partner")
    return feed


def get_feed(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    feed = _own_feed(ctx, request.params["feedId"])
    advance(sb, ctx.seller, feed, polled=True)
    return json_response(feed_json(feed))


def cancel_feed(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    feed = _own_feed(ctx, request.params["feedId"])
    advance(sb, ctx.seller, feed, polled=False)
    if feed.status != "IN_QUEUE":          # "Only feeds with processingStatus=IN_QUEUE can be cancelled"
        raise _invalid(f"The feed is {feed.status} and can no longer be cancelled")
    feed.status = "CANCELLED"
    notify_feed_finished(sb, ctx.seller, feed)
    return empty_response(200)


def get_feeds(sb: AmazonSandbox, request: Request, ctx: CallContext) -> Response:
    token = request.arg("nextToken")
    if token:
        try:
            page = unseal(token, sb.state.secret)
        except ValueError:
            raise _invalid("nextToken is invalid") from None
        if page.get("t") != "feeds" or page.get("s") != ctx.seller.selling_partner_id:
            raise _invalid("nextToken is invalid")
        query, start = page["q"], int(page["i"])
    else:
        types = csv_values(request, "feedTypes")
        if not types:
            raise _invalid("Either feedTypes or nextToken is required")
        statuses = csv_values(request, "processingStatuses")
        if any(s not in PROCESSING_STATUSES for s in statuses):
            raise _invalid("processingStatuses has an invalid value")
        query = {"types": types, "statuses": statuses, "marketplaces": csv_values(request, "marketplaceIds"),
                 "since": request.arg("createdSince"), "until": request.arg("createdUntil"),
                 "size": int_arg(request, "pageSize", 10, 1, 100)}
        start = 0
    rows = []
    for feed in sorted(ctx.seller.feeds.values(), key=lambda f: f.id):
        advance(sb, ctx.seller, feed, polled=False)
        if feed.feed_type not in query["types"] or (query["statuses"] and feed.status not in query["statuses"]):
            continue
        if query["marketplaces"] and not set(query["marketplaces"]) & set(feed.marketplace_ids):
            continue
        if (query["since"] and feed.created < parse_iso(query["since"])) or \
                (query["until"] and feed.created > parse_iso(query["until"])):
            continue
        rows.append(feed)
    chunk = rows[start:start + query["size"]]
    body: dict[str, Any] = {"feeds": [feed_json(f) for f in chunk]}
    if start + query["size"] < len(rows):
        body["nextToken"] = seal({"t": "feeds", "s": ctx.seller.selling_partner_id, "q": query,
                                  "i": start + query["size"]}, sb.state.secret)
    return json_response(body)


# -- processing ------------------------------------------------------------------------------------

def advance(sb: AmazonSandbox, seller: Seller, feed: Feed, *, polled: bool) -> None:
    if feed.status not in ("IN_QUEUE", "IN_PROGRESS"):
        return
    now = sb.state.clock.now()
    step = sb.state.settings.feed_step_seconds
    by_time = int((now - feed.created).total_seconds() // step) if step > 0 else 2
    stage = max(feed.polls, by_time)         # the status shown is the one reached before this poll counts
    if polled:
        feed.polls += 1
    if stage >= 1 and feed.status == "IN_QUEUE":
        feed.status, feed.started = "IN_PROGRESS", now
    if stage >= 2:
        finish(sb, seller, feed)


def finish(sb: AmazonSandbox, seller: Seller, feed: Feed) -> None:
    """Process the feed now: apply it, write the report, mark it DONE (or FATAL)."""
    if feed.status not in ("IN_QUEUE", "IN_PROGRESS"):
        return
    now = sb.state.clock.stamp()
    doc = sb.state.documents[feed.input_document_id]
    if feed.feed_type == "JSON_LISTINGS_FEED":
        status, report = process_listings_feed(seller, feed, doc.content or b"", now)
    else:
        status, report = "FATAL", _report(seller, feed, [{"code": "UNSUPPORTED_FEED_TYPE", "severity": "ERROR",
                                                          "message": f"The sandbox does not process {feed.feed_type}"}],
                                          processed=0, accepted=0)
    content = json.dumps(report, indent=2).encode("utf-8")
    compression = None
    if sb.state.settings.gzip_feed_reports:
        content, compression = gzip.compress(content), "GZIP"
    result = FeedDocument(id=sb.state.new_uuid(), seller_id=seller.selling_partner_id,
                          content_type="application/json; charset=UTF-8", kind="result", created=now,
                          content=content, compression=compression)
    sb.state.documents[result.id] = result
    feed.report = report
    feed.status, feed.result_document_id = status, result.id
    feed.started = feed.started or now
    feed.ended = now
    notify_feed_finished(sb, seller, feed)


def _report(seller: Seller, feed: Feed, issues: list[dict[str, Any]], *, processed: int, accepted: int) -> dict[str, Any]:
    """The processing report, version 2.0 (sp-api.md §3.2)."""
    return {
        "header": {"sellerId": seller.selling_partner_id, "version": "2.0", "feedId": feed.id},
        "issues": issues,
        "summary": {"errors": sum(1 for i in issues if i["severity"] == "ERROR"),
                    "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
                    "messagesProcessed": processed, "messagesAccepted": accepted,
                    "messagesInvalid": processed - accepted},
    }


def process_listings_feed(seller: Seller, feed: Feed, content: bytes, now: datetime) -> tuple[str, dict[str, Any]]:
    def fatal(message: str) -> tuple[str, dict[str, Any]]:
        return "FATAL", _report(seller, feed, [{"code": "INVALID_FEED", "severity": "ERROR", "message": message}],
                                processed=0, accepted=0)

    try:
        document = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return fatal(f"The feed is not valid UTF-8 JSON: {exc}")
    if not isinstance(document, dict) or not isinstance(document.get("header"), dict):
        return fatal("The feed must be an object with a header and messages")
    header = document["header"]
    if header.get("sellerId") != seller.selling_partner_id:
        return fatal(f"header.sellerId {header.get('sellerId')!r} is not the submitting selling partner")
    if header.get("version") != "2.0":
        return fatal("header.version must be 2.0")
    messages = document.get("messages")
    if not isinstance(messages, list) or not messages:
        return fatal("messages must be a non-empty list")
    if len(messages) > MAX_MESSAGES:
        return fatal(f"A feed may hold at most {MAX_MESSAGES} messages")

    issues: list[dict[str, Any]] = []
    accepted = 0
    seen: set[Any] = set()
    for message in messages:
        found = _message_issues(seller, message, seen)
        if not found:
            _apply_message(seller, message, now)
            accepted += 1
        message_id = message.get("messageId") if isinstance(message, dict) else None
        issues.extend({"messageId": message_id, **i} for i in found)
    return "DONE", _report(seller, feed, issues, processed=len(messages), accepted=accepted)


def _message_issues(seller: Seller, message: Any, seen: set[Any]) -> list[dict[str, Any]]:
    def error(code: str, text: str) -> list[dict[str, Any]]:
        return [{"code": code, "severity": "ERROR", "message": text}]

    if not isinstance(message, dict):
        return error("INVALID_MESSAGE", "A message must be an object")
    message_id = message.get("messageId")
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        return error("INVALID_MESSAGE", "messageId is required and must be an integer")
    if message_id in seen:
        return error("INVALID_MESSAGE", f"messageId {message_id} is used more than once")
    seen.add(message_id)
    sku, operation = message.get("sku"), message.get("operationType")
    if not isinstance(sku, str) or not sku:
        return error("INVALID_MESSAGE", "sku is required")
    if operation not in OPERATION_TYPES:
        return error("INVALID_MESSAGE", f"operationType must be one of {', '.join(OPERATION_TYPES)}")
    listing = seller.listings.get(sku)
    if operation == "DELETE":
        return [] if listing else error("SKU_NOT_FOUND", f"SKU '{sku}' does not exist")
    if not isinstance(message.get("productType"), str) or not message["productType"]:
        return error("90220", "'productType' is required but not supplied.")
    if operation == "PATCH":
        problems = patch_problems({"productType": message["productType"], "patches": message.get("patches")})
        if problems:
            return error("INVALID_MESSAGE", "; ".join(problems))
        if listing is None:
            return error("SKU_NOT_FOUND", f"SKU '{sku}' does not exist; a PATCH cannot create a listing")
        return [{k: v for k, v in i.items() if k in ("code", "severity", "message")}
                for i in check_patches(message["patches"])]
    if not isinstance(message.get("attributes"), dict):
        return error("90220", "'attributes' is required but not supplied.")
    if operation == "PARTIAL_UPDATE" and listing is None:
        return error("SKU_NOT_FOUND", f"SKU '{sku}' does not exist")
    return []


def _apply_message(seller: Seller, message: dict[str, Any], now: datetime) -> None:
    sku, operation = message["sku"], message["operationType"]
    if operation == "DELETE":
        seller.listings.pop(sku, None)
    elif operation == "PATCH":
        apply_patches(seller.listings[sku], message["patches"], now)
    elif operation == "PARTIAL_UPDATE":
        listing = seller.listings[sku]
        listing.attributes.update(message["attributes"])
        listing.updated = now
    else:                                   # UPDATE replaces the whole listing, creating it if new
        old = seller.listings.get(sku)
        seller.listings[sku] = Listing(sku=sku, product_type=message["productType"],
                                       marketplace_id=old.marketplace_id if old else seller.marketplace_ids[0],
                                       asin=old.asin if old else "B0" + hashlib.sha1(sku.encode()).hexdigest()[:8].upper(),
                                       item_name=old.item_name if old else sku, created=old.created if old else now,
                                       updated=now, attributes=dict(message["attributes"]))
