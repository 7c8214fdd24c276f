"""Listings Items patchListingsItem and the Feeds JSON_LISTINGS_FEED flow, both changing the sandbox's
listing quantities (listingsItems_2021-08-01.json, feeds_2021-06-30.json; reference/sp-api.md §1.6, §3)."""

from __future__ import annotations

import gzip
import io
import json

import httpx
import pytest
from sp_api.base.exceptions import (
    SellingApiBadRequestException, SellingApiForbiddenException, SellingApiRequestThrottledException,
)

from .amazon_support import AU, assert_valid, seller_with_token

JSON_CT = "application/json; charset=UTF-8"


def availability(quantity) -> dict:
    return {"productType": "PRODUCT", "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                                   "value": [{"fulfillment_channel_code": "DEFAULT",
                                                              "quantity": quantity}]}]}


def quantities(sandbox, seller_id: str) -> dict[str, int]:
    return {sku: listing["quantity"] for sku, listing in sandbox.state(seller_id)["listings"].items()}


def test_patch_sets_the_quantity_even_for_skus_with_slashes_and_spaces(kit, seller):
    seller_id, refresh = seller
    kit.sandbox.add_listing(seller_id, "SKU 1/x", quantity=4)
    answer = kit.listings(refresh).patch_listings_item(seller_id, "SKU 1/x", body=availability(9))
    recorded = kit.recorder.last("/listings/")
    assert f"/items/{seller_id}/SKU%201%2Fx?".encode() in recorded.raw_path     # one encoded path segment
    assert_valid("listingsItems_2021-08-01", "ListingsItemSubmissionResponse", recorded.body)
    assert (answer.payload["sku"], answer.payload["status"], answer.payload["issues"]) == ("SKU 1/x", "ACCEPTED", [])
    assert recorded.headers["x-amzn-ratelimit-limit"] == "5.0"
    assert quantities(kit.sandbox, seller_id) == {"SKU 1/x": 9}
    item = kit.listings(refresh).get_listings_item(seller_id, "SKU 1/x",
                                                   includedData=["summaries", "fulfillmentAvailability"]).payload
    assert_valid("listingsItems_2021-08-01", "Item", kit.recorder.last().body)
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 9}]


@pytest.mark.parametrize(("sku", "body", "code"), [
    ("NOT-LISTED", availability(3), "SKU_NOT_FOUND"),
    ("MUG", availability(-1), "INVALID_VALUE"),
    ("MUG", availability("lots"), "INVALID_VALUE"),
    ("MUG", {"productType": "PRODUCT", "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability/0",
                                                    "value": [{"quantity": 1}]}]}, "UNSUPPORTED_PATH"),
])
def test_patches_that_cannot_apply_are_invalid_with_an_error_issue(kit, seller, sku, body, code):
    seller_id, refresh = seller
    kit.sandbox.add_listing(seller_id, "MUG", quantity=4)
    answer = kit.listings(refresh).patch_listings_item(seller_id, sku, body=body).payload
    assert_valid("listingsItems_2021-08-01", "ListingsItemSubmissionResponse", kit.recorder.last().body)
    assert answer["status"] == "INVALID"
    assert [(i["code"], i["severity"]) for i in answer["issues"]] == [(code, "ERROR")]
    assert quantities(kit.sandbox, seller_id) == {"MUG": 4}


def test_malformed_bodies_and_other_sellers_are_refused(kit, seller):
    seller_id, refresh = seller
    other_id, _ = seller_with_token(kit.sandbox)
    kit.sandbox.add_listing(seller_id, "MUG")
    api = kit.listings(refresh)
    with pytest.raises(SellingApiBadRequestException) as raised:
        api.patch_listings_item(seller_id, "MUG", body={"patches": availability(1)["patches"]})
    assert raised.value.amzn_code == "BAD_REQUEST"
    assert_valid("listingsItems_2021-08-01", "ErrorList", kit.recorder.last().body)
    with pytest.raises(SellingApiBadRequestException):
        api.patch_listings_item(seller_id, "MUG", body={"productType": "PRODUCT", "patches": []})
    with pytest.raises(SellingApiForbiddenException):
        api.patch_listings_item(other_id, "MUG", body=availability(1))


def test_validation_preview_checks_without_applying(kit, seller):
    seller_id, refresh = seller
    listing = kit.sandbox.add_listing(seller_id, "MUG", quantity=4)
    answer = kit.listings(refresh).patch_listings_item(seller_id, "MUG", body=availability(8), mode="VALIDATION_PREVIEW",
                                                       includedData=["identifiers", "issues"]).payload
    assert answer["status"] == "VALID" and answer["identifiers"] == [{"marketplaceId": AU, "asin": listing["asin"]}]
    assert quantities(kit.sandbox, seller_id) == {"MUG": 4}


def listings_feed(seller_id: str) -> dict:
    patch = availability(0)["patches"]
    return {"header": {"sellerId": seller_id, "version": "2.0", "issueLocale": "en_US"}, "messages": [
        {"messageId": 1, "sku": "MUG", "operationType": "PATCH", "productType": "PRODUCT",
         "patches": [{**patch[0], "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 11}]}]},
        {"messageId": 2, "sku": "TEE", "operationType": "PATCH", "productType": "PRODUCT",
         "patches": [{**patch[0], "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]}]},
        {"messageId": 3, "sku": "GHOST", "operationType": "PATCH", "productType": "PRODUCT", "patches": patch},
        {"messageId": 4, "sku": "TEE", "operationType": "SHOUT", "productType": "PRODUCT"},
        {"messageId": 5, "sku": "CAP", "operationType": "PATCH", "productType": "PRODUCT",
         "patches": [{**patch[0], "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": -2}]}]},
    ]}


def test_a_listings_feed_end_to_end(kit, seller):
    seller_id, refresh = seller
    for sku, qty in (("MUG", 1), ("TEE", 5), ("CAP", 2)):
        kit.sandbox.add_listing(seller_id, sku, quantity=qty)
    feeds = kit.feeds(refresh)
    document, created = feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(json.dumps(listings_feed(seller_id)).encode()),
                                          content_type=JSON_CT)
    doc_body = next(r.body for r in kit.recorder.responses if r.path.endswith("/documents"))
    assert_valid("feeds_2021-06-30", "CreateFeedDocumentResponse", doc_body)
    assert document.payload["url"].startswith(kit.sandbox.url + "/_s3/feeds/")
    assert_valid("feeds_2021-06-30", "CreateFeedResponse", kit.recorder.last("/feeds").body)
    assert kit.recorder.last("/feeds").status == 202

    statuses = []
    for _ in range(3):
        feed = feeds.get_feed(created.payload["feedId"]).payload
        assert_valid("feeds_2021-06-30", "Feed", kit.recorder.last().body)
        statuses.append(feed["processingStatus"])
    assert statuses == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    assert feed["feedType"] == "JSON_LISTINGS_FEED" and feed["marketplaceIds"] == [AU]

    report = json.loads(feeds.get_feed_result_document(feed["resultFeedDocumentId"]))
    meta = kit.recorder.last("/documents/")
    assert_valid("feeds_2021-06-30", "FeedDocument", meta.body)
    assert meta.body["compressionAlgorithm"] == "GZIP"
    assert report["header"] == {"sellerId": seller_id, "version": "2.0", "feedId": created.payload["feedId"]}
    assert report["summary"] == {"errors": 3, "warnings": 0, "messagesProcessed": 5, "messagesAccepted": 2,
                                 "messagesInvalid": 3}
    assert sorted(i["messageId"] for i in report["issues"]) == [3, 4, 5]
    assert next(i for i in report["issues"] if i["messageId"] == 3)["code"] == "SKU_NOT_FOUND"
    assert quantities(kit.sandbox, seller_id) == {"MUG": 11, "TEE": 0, "CAP": 2}


def test_feeds_also_finish_with_time(kit, seller):
    seller_id, refresh = seller
    kit.sandbox.add_listing(seller_id, "MUG", quantity=1)
    feeds = kit.feeds(refresh)
    feed = {"header": {"sellerId": seller_id, "version": "2.0"},
            "messages": [{"messageId": 1, "sku": "MUG", "operationType": "PATCH", "productType": "PRODUCT",
                          "patches": availability(6)["patches"]}]}
    _, created = feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(json.dumps(feed).encode()), content_type=JSON_CT)
    kit.sandbox.set_clock(advance_seconds=5)
    assert feeds.get_feed(created.payload["feedId"]).payload["processingStatus"] == "DONE"
    assert quantities(kit.sandbox, seller_id) == {"MUG": 6}


def test_an_unreadable_feed_is_fatal_with_a_report(kit, seller):
    seller_id, refresh = seller
    feeds = kit.feeds(refresh)
    _, created = feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(b"{not json"), content_type=JSON_CT)
    feed = kit.sandbox.process_feed(created.payload["feedId"])
    assert feed["processingStatus"] == "FATAL" and feed["report"]["issues"][0]["severity"] == "ERROR"
    report = json.loads(feeds.get_feed_result_document(feed["resultFeedDocumentId"]))
    assert report["summary"]["messagesProcessed"] == 0


def test_presigned_urls_check_content_type_and_expiry(kit, seller):
    _, refresh = seller
    feeds = kit.feeds(refresh)
    url = feeds.create_feed_document(None, JSON_CT).payload["url"]
    wrong = httpx.put(url, content=b"{}", headers={"Content-Type": "text/tab-separated-values"})
    assert wrong.status_code == 403 and b"SignatureDoesNotMatch" in wrong.content
    assert httpx.put(url, content=b"{}", headers={"Content-Type": JSON_CT}).status_code == 200
    expired = feeds.create_feed_document(None, JSON_CT).payload["url"]
    kit.sandbox.set_clock(advance_seconds=301)
    late = httpx.put(expired, content=b"{}", headers={"Content-Type": JSON_CT})
    assert late.status_code == 403 and b"Request has expired" in late.content


def test_create_feed_needs_an_uploaded_document_of_ones_own(kit, seller):
    _, refresh = seller
    _, other_refresh = seller_with_token(kit.sandbox)
    feeds = kit.feeds(refresh)
    empty = feeds.create_feed_document(None, JSON_CT).payload["feedDocumentId"]
    with pytest.raises(SellingApiBadRequestException) as raised:
        feeds.create_feed("JSON_LISTINGS_FEED", empty)
    assert raised.value.error[0] == {"code": "400", "message": "Invalid input",
                                     "details": "The feed document has not been uploaded"}
    assert_valid("feeds_2021-06-30", "ErrorList", kit.recorder.last().body)
    theirs, _ = kit.feeds(other_refresh).submit_feed("JSON_LISTINGS_FEED", io.BytesIO(b"{}"), content_type=JSON_CT)
    with pytest.raises(SellingApiBadRequestException):
        feeds.create_feed("JSON_LISTINGS_FEED", theirs.payload["feedDocumentId"])


def test_result_documents_can_ask_for_content_encoding(kit, seller):
    seller_id, refresh = seller
    feeds = kit.feeds(refresh)
    _, created = feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(b"[]"), content_type=JSON_CT)
    doc_id = kit.sandbox.process_feed(created.payload["feedId"])["resultFeedDocumentId"]
    assert json.loads(feeds.get_feed_result_document(doc_id))["header"]["sellerId"] == seller_id
    plain = httpx.get(kit.recorder.last("/documents/").body["url"])
    assert "content-encoding" not in plain.headers                    # identity: the client gunzips
    assert json.loads(gzip.decompress(plain.content))["header"]["sellerId"] == seller_id
    report = feeds.get_feed_result_document(doc_id, enableContentEncodingUrlHeader="true")
    assert json.loads(report)["header"]["sellerId"] == seller_id
    encoded = httpx.get(kit.recorder.last("/documents/").body["url"])
    assert encoded.headers["content-encoding"] == "gzip" and encoded.json()["header"]["sellerId"] == seller_id


def test_only_queued_feeds_can_be_cancelled(kit, seller):
    _, refresh = seller
    feeds = kit.feeds(refresh)
    _, queued = feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(b"{}"), content_type=JSON_CT)
    feeds.cancel_feed(queued.payload["feedId"])
    assert kit.recorder.last().status == 200
    assert feeds.get_feed(queued.payload["feedId"]).payload["processingStatus"] == "CANCELLED"
    _, done = feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(b"{}"), content_type=JSON_CT)
    kit.sandbox.process_feed(done.payload["feedId"])
    with pytest.raises(SellingApiBadRequestException):
        feeds.cancel_feed(done.payload["feedId"])
    listed = feeds.get_feeds(feedTypes=["JSON_LISTINGS_FEED"], processingStatuses=["CANCELLED"]).payload
    assert_valid("feeds_2021-06-30", "GetFeedsResponse", kit.recorder.last().body)
    assert [f["feedId"] for f in listed["feeds"]] == [queued.payload["feedId"]]


def test_json_listings_feeds_are_limited_to_five_per_five_minutes(kit, seller):
    _, refresh = seller
    kit.sandbox.set_rate_limits(time_scale=1)
    feeds = kit.feeds(refresh)
    for _ in range(5):
        feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(b"{}"), content_type=JSON_CT)
    with pytest.raises(SellingApiRequestThrottledException) as raised:
        feeds.submit_feed("JSON_LISTINGS_FEED", io.BytesIO(b"{}"), content_type=JSON_CT)
    assert raised.value.amzn_code == "QuotaExceeded"
