"""Login with Amazon and the Seller Central consent page (reference/sp-api.md §1.2, §6), and the
403 an SP-API call gets without a good token (§5)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sp_api.auth import access_token_client
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base.exceptions import SellingApiForbiddenException, SellingApiNotFoundException

from integrations.sandbox.amazon.pages import NEW_SELLER

from .amazon_support import AU, assert_valid, iso_ago, seller_with_token

REDIRECT = "http://127.0.0.1:8000/integrations/amazon/callback/"


def token_request(sandbox, **form) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/auth/o2/token", data=form,
                      headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})


def consent_form(sandbox, decision: str, state: str = "csrf-123", **fields) -> dict[str, str]:
    return {"application_id": sandbox.application_id, "state": state, "version": "beta", "redirect_uri": "",
            "decision": decision, **fields}


def post_consent(sandbox, form: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/apps/authorize/consent", data=form, follow_redirects=False)


def redirect_query(response: httpx.Response) -> tuple[str, dict[str, str]]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    return (f"{location.scheme}://{location.netloc}{location.path}",
            {k: v[-1] for k, v in parse_qs(location.query).items()})


def test_refresh_grant_answers_like_lwa(amazon_sandbox):
    _, refresh = seller_with_token(amazon_sandbox)
    answer = token_request(amazon_sandbox, grant_type="refresh_token", refresh_token=refresh,
                           client_id=amazon_sandbox.lwa_client_id, client_secret=amazon_sandbox.lwa_client_secret)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["access_token"].startswith("Atza|") and body["refresh_token"] == refresh
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
    assert answer.headers["cache-control"] == "no-store"
    assert "x-amzn-requestid" in answer.headers


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "amzn1.application-oa2-client.other"}, 401, "invalid_client"),
    ({"refresh_token": "Atzr|not-issued"}, 400, "invalid_grant"),
    ({"refresh_token": None}, 400, "invalid_request"),
    ({"grant_type": None}, 400, "invalid_request"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type"),
])
def test_refresh_grant_errors_use_lwa_error_bodies(amazon_sandbox, change, status, error):
    _, refresh = seller_with_token(amazon_sandbox)
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": amazon_sandbox.lwa_client_id,
            "client_secret": amazon_sandbox.lwa_client_secret, **change}
    answer = token_request(amazon_sandbox, **{k: v for k, v in form.items() if v is not None})
    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"error", "error_description"} and body["error"] == error


def test_the_library_raises_authorization_error_for_a_bad_refresh_token(kit):
    orders = kit.orders("Atzr|never-issued")
    with pytest.raises(AuthorizationError) as raised:
        orders.get_orders(CreatedAfter=iso_ago(kit.sandbox, days=1))
    assert (raised.value.error_code, raised.value.status_code) == ("invalid_grant", 400)


def test_consent_page_shows_the_app_the_sellers_and_both_buttons(amazon_sandbox):
    seller = amazon_sandbox.seed_seller(name="Bondi Bikes")
    answer = httpx.get(f"{amazon_sandbox.url}/apps/authorize/consent",
                       params={"application_id": amazon_sandbox.application_id, "state": "s1", "version": "beta"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert 'id="confirm"' in page and 'id="deny"' in page
    assert "Bondi Bikes" in page and seller["selling_partner_id"] in page
    assert amazon_sandbox.application_id in page and REDIRECT in page


def test_confirm_redirects_with_state_seller_and_a_single_use_code(kit):
    sandbox = kit.sandbox
    seller_id, _ = seller_with_token(sandbox)
    sandbox.create_order(seller_id)
    target, query = redirect_query(post_consent(sandbox, consent_form(sandbox, "confirm", state="xyz-789",
                                                                      selling_partner_id=seller_id)))
    assert target == REDIRECT
    assert query["state"] == "xyz-789" and query["selling_partner_id"] == seller_id
    assert set(query) == {"state", "selling_partner_id", "spapi_oauth_code"}

    tokens = kit.lwa().authorize_auth_code(query["spapi_oauth_code"])     # no redirect_uri, like the library
    assert tokens["access_token"].startswith("Atza|") and tokens["refresh_token"].startswith("Atzr|")
    # The new refresh token speaks for the seller who consented.
    orders = kit.orders(tokens["refresh_token"]).get_orders(CreatedAfter=iso_ago(sandbox, days=1))
    assert len(orders.payload["Orders"]) == 1
    with pytest.raises(AuthorizationError) as raised:
        kit.lwa().authorize_auth_code(query["spapi_oauth_code"])
    assert raised.value.error_code == "invalid_grant"


def test_codes_expire_after_five_minutes(kit):
    sandbox = kit.sandbox
    seller_id, _ = seller_with_token(sandbox)
    early = sandbox.issue_auth_code(seller_id)["code"]
    late = sandbox.issue_auth_code(seller_id)["code"]
    sandbox.set_clock(advance_seconds=290)
    assert kit.lwa().authorize_auth_code(early)["token_type"] == "bearer"
    sandbox.set_clock(advance_seconds=20)
    with pytest.raises(AuthorizationError) as raised:
        kit.lwa().authorize_auth_code(late)
    assert raised.value.error_code == "invalid_grant"


def test_a_redirect_uri_sent_with_the_code_must_match_the_consent(amazon_sandbox):
    seller_id, _ = seller_with_token(amazon_sandbox)
    creds = {"client_id": amazon_sandbox.lwa_client_id, "client_secret": amazon_sandbox.lwa_client_secret}
    code = amazon_sandbox.issue_auth_code(seller_id)["code"]
    wrong = token_request(amazon_sandbox, grant_type="authorization_code", code=code,
                          redirect_uri="http://evil.example/cb", **creds)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    code = amazon_sandbox.issue_auth_code(seller_id)["code"]
    right = token_request(amazon_sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, **creds)
    assert right.status_code == 200 and right.json()["refresh_token"].startswith("Atzr|")


def test_deny_redirects_with_access_denied_and_the_state(amazon_sandbox):
    seller_id, _ = seller_with_token(amazon_sandbox)
    target, query = redirect_query(post_consent(amazon_sandbox, consent_form(amazon_sandbox, "deny", state="st-9",
                                                                             selling_partner_id=seller_id)))
    assert target == REDIRECT
    assert query["state"] == "st-9" and query["error"] == "access_denied" and query["error_description"]
    assert "spapi_oauth_code" not in query and "selling_partner_id" not in query


def test_with_no_sellers_the_page_offers_a_demo_seller_and_confirm_creates_it(amazon_sandbox):
    page = httpx.get(f"{amazon_sandbox.url}/apps/authorize/consent",
                     params={"application_id": amazon_sandbox.application_id, "state": "s", "version": "beta"}).text
    assert f'value="{NEW_SELLER}" checked' in page
    _, query = redirect_query(post_consent(amazon_sandbox, consent_form(
        amazon_sandbox, "confirm", selling_partner_id=NEW_SELLER, new_seller_name="Manly Surf Co")))
    sellers = httpx.get(f"{amazon_sandbox.url}/_sandbox/sellers").json()["sellers"]
    assert [(s["selling_partner_id"], s["name"]) for s in sellers] == [(query["selling_partner_id"], "Manly Surf Co")]


def test_an_unknown_application_gets_an_error_page_and_no_redirect(amazon_sandbox):
    seller_id, _ = seller_with_token(amazon_sandbox)
    query = {"application_id": "amzn1.sellerapps.app.someone-else", "state": "s", "version": "beta"}
    page = httpx.get(f"{amazon_sandbox.url}/apps/authorize/consent?{urlencode(query)}", follow_redirects=False)
    assert page.status_code == 400 and "location" not in page.headers and 'id="error"' in page.text
    posted = post_consent(amazon_sandbox, consent_form(amazon_sandbox, "confirm", selling_partner_id=seller_id,
                                                       application_id="amzn1.sellerapps.app.someone-else"))
    assert posted.status_code == 400 and "location" not in posted.headers


def test_only_registered_redirect_uris_are_used(amazon_sandbox):
    seller_id, _ = seller_with_token(amazon_sandbox)
    first, second = "http://127.0.0.1:9000/cb/", "http://127.0.0.1:9000/other/?keep=1"
    amazon_sandbox.set_redirect_uris(first, second)
    target, query = redirect_query(post_consent(amazon_sandbox, consent_form(
        amazon_sandbox, "confirm", selling_partner_id=seller_id, redirect_uri=second)))
    assert target == "http://127.0.0.1:9000/other/" and query["keep"] == "1" and query["spapi_oauth_code"]
    target, _ = redirect_query(post_consent(amazon_sandbox, consent_form(amazon_sandbox, "confirm",
                                                                         selling_partner_id=seller_id)))
    assert target == first                                        # no redirect_uri: the first registered one
    refused = httpx.get(f"{amazon_sandbox.url}/apps/authorize/consent",
                        params={"application_id": amazon_sandbox.application_id, "state": "s",
                                "redirect_uri": "http://127.0.0.1:9000/not-registered/"})
    assert refused.status_code == 400 and "not registered" in refused.text


@pytest.mark.parametrize(("headers", "details"), [
    ({}, "Access token is missing in the request header."),
    ({"x-amz-access-token": "Atza|forged"}, "The access token you provided is revoked, malformed or invalid."),
])
def test_sp_api_calls_without_a_good_token_get_403_unauthorized(amazon_sandbox, headers, details):
    answer = httpx.get(f"{amazon_sandbox.url}/orders/v0/orders",
                       params={"MarketplaceIds": AU, "CreatedAfter": "2024-01-01T00:00:00Z"}, headers=headers)
    assert answer.status_code == 403
    assert answer.json() == {"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                         "details": details}]}
    assert_valid("ordersV0", "GetOrdersResponse", answer.json())
    assert "x-amzn-requestid" in answer.headers and "x-amzn-ratelimit-limit" not in answer.headers


def test_expired_tokens_are_refused_and_revocation_ends_the_refresh_token(kit):
    sandbox = kit.sandbox
    seller_id, refresh = seller_with_token(sandbox)
    orders = kit.orders(refresh)
    since = iso_ago(sandbox, days=1)
    assert orders.get_orders(CreatedAfter=since).payload["Orders"] == []
    assert sandbox.expire_tokens(seller_id) >= 1
    with pytest.raises(SellingApiForbiddenException):        # the library still holds the cached token
        orders.get_orders(CreatedAfter=since)
    access_token_client.cache.clear()                           # a fresh access token works again
    assert orders.get_orders(CreatedAfter=since).payload["Orders"] == []
    assert sandbox.revoke(seller_id) == 1
    access_token_client.cache.clear()
    with pytest.raises(AuthorizationError) as raised:
        orders.get_orders(CreatedAfter=since)
    assert raised.value.error_code == "invalid_grant"


def test_the_host_header_is_not_checked(amazon_sandbox):
    _, refresh = seller_with_token(amazon_sandbox)
    access = token_request(amazon_sandbox, grant_type="refresh_token", refresh_token=refresh,
                           client_id=amazon_sandbox.lwa_client_id,
                           client_secret=amazon_sandbox.lwa_client_secret).json()["access_token"]
    # python-amazon-sp-api sends host=endpoint[8:] over http, e.g. "27.0.0.1:8701" (sp-api.md §0).
    answer = httpx.get(f"{amazon_sandbox.url}/orders/v0/orders",
                       params={"MarketplaceIds": AU, "CreatedAfter": "2024-01-01T00:00:00Z"},
                       headers={"x-amz-access-token": access, "host": "27.0.0.1:1"})
    assert answer.status_code == 200 and answer.json() == {
        "payload": {"Orders": [], "CreatedBefore": answer.json()["payload"]["CreatedBefore"]}}


def test_each_token_sees_only_its_own_sellers_orders(kit):
    sandbox = kit.sandbox
    a_id, a_token = seller_with_token(sandbox)
    b_id, b_token = seller_with_token(sandbox)
    a_order = sandbox.create_order(a_id)["AmazonOrderId"]
    b_order = sandbox.create_order(b_id)["AmazonOrderId"]
    since = iso_ago(sandbox, days=1)
    seen_by_a = [o["AmazonOrderId"] for o in kit.orders(a_token).get_orders(CreatedAfter=since).payload["Orders"]]
    seen_by_b = [o["AmazonOrderId"] for o in kit.orders(b_token).get_orders(CreatedAfter=since).payload["Orders"]]
    assert (seen_by_a, seen_by_b) == ([a_order], [b_order])
    with pytest.raises(SellingApiNotFoundException):
        kit.orders(a_token).get_order(b_order)
