"""The consent page in a real browser: a person picks a shop and clicks "Allow access" or "Deny"."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session

pytestmark = pytest.mark.browser

SCOPES = ["transactions_r", "transactions_w", "listings_r", "listings_w", "shops_r"]


@pytest.fixture
def callback(etsy_sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    # A callback the sandbox itself answers, so the browser has somewhere to land.
    uri = f"{etsy_sandbox.url}/_sandbox/calls"
    etsy_sandbox.add_redirect_uri(uri)
    return uri


def test_person_allows_access_in_the_browser(etsy_sandbox, callback, page):
    etsy_sandbox.create_shop(shop_name="FirstShop")
    chosen = etsy_sandbox.create_shop(shop_name="SecondShop")
    oauth = OAuth2Session(etsy_sandbox.keystring, redirect_uri=callback, scope=SCOPES, pkce="S256")
    url, state = oauth.authorization_url(etsy_sandbox.authorize_url)

    page.goto(url)
    assert "transactions_w" in page.inner_text("#scopes")
    page.select_option("#shop", str(chosen["shop_id"]))
    with page.expect_navigation(url=lambda u: u.startswith(callback)):
        page.click("#allow")

    params = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert params["state"] == state
    token = oauth.fetch_token(etsy_sandbox.token_url, code=params["code"], include_client_id=True)
    me = requests.get(f"{etsy_sandbox.api_url}/users/me", headers=etsy_sandbox.headers(token["access_token"]),
                      timeout=10).json()
    assert me == {"user_id": chosen["user_id"], "shop_id": chosen["shop_id"]}
    # The consent page asks the browser for no favicon, so the call log shows the page and the answer only.
    calls = etsy_sandbox.calls()
    assert [(c["method"], c["path"]) for c in calls[:2]] == [("GET", "/oauth/connect"), ("POST", "/oauth/connect")]


def test_person_denies_access_in_the_browser(etsy_sandbox, callback, page):
    etsy_sandbox.create_shop()
    url, state = OAuth2Session(etsy_sandbox.keystring, redirect_uri=callback, scope=SCOPES,
                               pkce="S256").authorization_url(etsy_sandbox.authorize_url)

    page.goto(url)
    with page.expect_navigation(url=lambda u: u.startswith(callback)):
        page.click("#deny")

    params = parse_qs(urlsplit(page.url).query)
    assert params["error"] == ["access_denied"] and params["state"] == [state]
