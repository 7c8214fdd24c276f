"""Etsy OAuth 2.0 with PKCE against the sandbox, driven by requests-oauthlib as the product will."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests_oauthlib import OAuth2Session

REDIRECT = "http://localhost:8000/integrations/etsy/callback/"
SCOPES = ["transactions_r", "transactions_w", "listings_r", "listings_w", "shops_r"]


@pytest.fixture(autouse=True)
def insecure_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # The sandbox speaks http on 127.0.0.1; oauthlib refuses http unless told (tests only).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def start(etsy_sandbox, **kwargs) -> tuple[OAuth2Session, str, str]:
    oauth = OAuth2Session(etsy_sandbox.keystring, redirect_uri=REDIRECT, scope=SCOPES, pkce="S256")
    url, state = oauth.authorization_url(etsy_sandbox.authorize_url, **kwargs)
    return oauth, url, state


def refresh(etsy_sandbox, refresh_token: str, *, as_json: bool = False, **extra: str) -> requests.Response:
    body = {"grant_type": "refresh_token", "client_id": etsy_sandbox.keystring,
            "refresh_token": refresh_token, **extra}
    sent = {"json": body} if as_json else {"data": body}
    return requests.post(etsy_sandbox.token_url, timeout=10, **sent)


def me(etsy_sandbox, access_token: str) -> requests.Response:
    return requests.get(f"{etsy_sandbox.api_url}/users/me", headers=etsy_sandbox.headers(access_token),
                        timeout=10)


def exchange(etsy_sandbox, **form: str) -> requests.Response:
    body = {"grant_type": "authorization_code", "client_id": etsy_sandbox.keystring, "redirect_uri": REDIRECT}
    return requests.post(etsy_sandbox.token_url, data={**body, **form}, timeout=10)


def test_pkce_flow_gives_tokens_for_the_chosen_shops_owner(etsy_sandbox):
    etsy_sandbox.create_shop(shop_name="OtherShop")
    shop = etsy_sandbox.create_shop(shop_name="MugShop")
    oauth, url, state = start(etsy_sandbox)

    page = requests.get(url, timeout=10)
    assert page.status_code == 200
    for text in ('id="allow"', "Allow access", 'id="deny"', "MugShop", "OtherShop", "transactions_w",
                 REDIRECT):
        assert text in page.text

    location = etsy_sandbox.consent(url, shop_id=shop["shop_id"])
    assert location.startswith(REDIRECT)
    assert query(location)["state"] == state
    token = oauth.fetch_token(etsy_sandbox.token_url, authorization_response=location, include_client_id=True)

    assert token["access_token"].startswith(f"{shop['user_id']}.")
    assert token["refresh_token"].startswith(f"{shop['user_id']}.")
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    user = me(etsy_sandbox, token["access_token"]).json()
    assert user == {"user_id": shop["user_id"], "shop_id": shop["shop_id"]}


def test_verifier_stored_between_requests_completes_the_exchange(etsy_sandbox):
    # The product's pattern: the verifier is created when the user leaves and used in another request.
    shop = etsy_sandbox.create_shop()
    client = WebApplicationClient(etsy_sandbox.keystring)
    verifier = client.create_code_verifier(64)
    challenge = client.create_code_challenge(verifier, "S256")
    leaving = OAuth2Session(etsy_sandbox.keystring, redirect_uri=REDIRECT, scope=SCOPES)
    url, state = leaving.authorization_url(etsy_sandbox.authorize_url, code_challenge=challenge,
                                           code_challenge_method="S256")
    location = etsy_sandbox.consent(url)

    returning = OAuth2Session(etsy_sandbox.keystring, redirect_uri=REDIRECT, scope=SCOPES, state=state)
    token = returning.fetch_token(etsy_sandbox.token_url, authorization_response=location,
                                  code_verifier=verifier, include_client_id=True)
    assert token["access_token"].split(".")[0] == str(shop["user_id"])


def test_wrong_verifier_is_refused_and_the_code_stays_unusable_by_others(etsy_sandbox):
    etsy_sandbox.create_shop()
    _, url, _ = start(etsy_sandbox)
    code = query(etsy_sandbox.consent(url))["code"]
    wrong = WebApplicationClient("x").create_code_verifier(43)

    answer = exchange(etsy_sandbox, code=code, code_verifier=wrong)

    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant",
                             "error_description": "code_verifier does not match the code_challenge"}


def test_code_is_single_use(etsy_sandbox):
    etsy_sandbox.create_shop()
    oauth, url, _ = start(etsy_sandbox)
    location = etsy_sandbox.consent(url)
    oauth.fetch_token(etsy_sandbox.token_url, authorization_response=location, include_client_id=True)

    again = exchange(etsy_sandbox, code=query(location)["code"], code_verifier=oauth._code_verifier)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert "already been used" in again.json()["error_description"]


def test_code_expires(etsy_sandbox):
    etsy_sandbox.create_shop()
    oauth, url, _ = start(etsy_sandbox)
    code = query(etsy_sandbox.consent(url))["code"]
    assert etsy_sandbox.control("POST", "codes/expire")["expired"] == 1

    answer = exchange(etsy_sandbox, code=code, code_verifier=oauth._code_verifier)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": "code is expired"}


def test_token_redirect_uri_must_match_the_authorize_one(etsy_sandbox):
    etsy_sandbox.create_shop()
    other = "http://127.0.0.1:8000/integrations/etsy/callback/"        # registered too, but not the one used
    oauth, url, _ = start(etsy_sandbox)
    code = query(etsy_sandbox.consent(url))["code"]

    answer = exchange(etsy_sandbox, code=code, code_verifier=oauth._code_verifier, redirect_uri=other)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(etsy_sandbox):
    oauth = OAuth2Session(etsy_sandbox.keystring, redirect_uri="http://localhost:8000/callback", scope=SCOPES,
                          pkce="S256")
    url, _ = oauth.authorization_url(etsy_sandbox.authorize_url)

    page = requests.get(url, allow_redirects=False, timeout=10)

    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "The requested redirect URL is not permitted." in page.text


def test_redirect_uri_with_a_trailing_slash_difference_is_not_registered(etsy_sandbox):
    url, _ = OAuth2Session(etsy_sandbox.keystring, redirect_uri=REDIRECT.rstrip("/"), scope=SCOPES,
                           pkce="S256").authorization_url(etsy_sandbox.authorize_url)
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 400
    etsy_sandbox.add_redirect_uri(REDIRECT.rstrip("/"))
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 200


def test_denial_redirects_with_access_denied_and_the_state(etsy_sandbox):
    etsy_sandbox.create_shop()
    _, url, state = start(etsy_sandbox)

    location = etsy_sandbox.consent(url, decision="deny")

    params = query(location)
    assert location.startswith(REDIRECT)
    assert params["error"] == "access_denied" and params["state"] == state and params["error_description"]
    assert "code" not in params


def test_a_consent_page_can_be_answered_once(etsy_sandbox):
    shop = etsy_sandbox.create_shop()
    _, url, _ = start(etsy_sandbox)
    page = requests.get(url, timeout=10).text
    request_id = page.split('name="request_id" value="')[1].split('"')[0]
    form = {"request_id": request_id, "decision": "allow", "shop_id": shop["shop_id"]}

    first = requests.post(etsy_sandbox.authorize_url, data=form, allow_redirects=False, timeout=10)
    second = requests.post(etsy_sandbox.authorize_url, data=form, allow_redirects=False, timeout=10)

    assert first.status_code == 302 and second.status_code == 400


def test_unknown_scope_and_missing_challenge_are_redirected_errors(etsy_sandbox):
    oauth = OAuth2Session(etsy_sandbox.keystring, redirect_uri=REDIRECT, scope=["transactions_r", "orders_r"],
                          pkce="S256")
    url, state = oauth.authorization_url(etsy_sandbox.authorize_url)
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    assert query(location)["error"] == "invalid_scope" and query(location)["state"] == state

    plain = OAuth2Session(etsy_sandbox.keystring, redirect_uri=REDIRECT, scope=SCOPES)     # no PKCE
    url, _ = plain.authorization_url(etsy_sandbox.authorize_url)
    location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    assert query(location)["error"] == "invalid_request"


def test_allowing_with_no_shop_seeded_creates_a_demo_shop(etsy_sandbox):
    oauth, url, _ = start(etsy_sandbox)
    assert "creates a demo shop" in requests.get(url, timeout=10).text
    location = etsy_sandbox.consent(url)
    token = oauth.fetch_token(etsy_sandbox.token_url, authorization_response=location, include_client_id=True)

    user = me(etsy_sandbox, token["access_token"]).json()
    shops = etsy_sandbox.control("GET", "shops")["shops"]
    assert [(s["shop_id"], s["user_id"]) for s in shops] == [(user["shop_id"], user["user_id"])]


def test_client_id_only_as_basic_auth_is_refused(etsy_sandbox):
    # requests-oauthlib's default; Etsy wants client_id in the body (include_client_id=True).
    etsy_sandbox.create_shop()
    oauth, url, _ = start(etsy_sandbox)
    location = etsy_sandbox.consent(url)
    with pytest.raises(OAuth2Error, match=r"\(invalid_request\) client_id is required"):
        oauth.fetch_token(etsy_sandbox.token_url, authorization_response=location)


def test_refresh_rotates_the_refresh_token_and_retires_the_old_one(etsy_sandbox):
    shop = etsy_sandbox.create_shop()
    oauth, url, _ = start(etsy_sandbox)
    first = oauth.fetch_token(etsy_sandbox.token_url, authorization_response=etsy_sandbox.consent(url),
                              include_client_id=True)

    second = oauth.refresh_token(etsy_sandbox.token_url, refresh_token=first["refresh_token"],
                                 client_id=etsy_sandbox.keystring, include_client_id=True)

    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"].startswith(f"{shop['user_id']}.")
    reused = refresh(etsy_sandbox, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json() == {"error": "invalid_grant", "error_description": "refresh_token is revoked"}
    assert me(etsy_sandbox, second["access_token"]).status_code == 200


def test_refresh_accepts_a_json_body(etsy_sandbox):
    # etsyv3 posts the refresh as JSON (§2.2).
    shop = etsy_sandbox.create_shop()
    grant = etsy_sandbox.grant(shop["user_id"])
    answer = refresh(etsy_sandbox, grant["refresh_token"], as_json=True)
    assert answer.status_code == 200
    assert set(answer.json()) == {"access_token", "token_type", "expires_in", "refresh_token"}


def test_refresh_cannot_add_scopes(etsy_sandbox):
    shop = etsy_sandbox.create_shop()
    grant = etsy_sandbox.grant(shop["user_id"], scopes=["shops_r"])
    answer = refresh(etsy_sandbox, grant["refresh_token"], scope="shops_r transactions_r")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


def test_expired_access_token_is_refreshed_and_works_again(etsy_sandbox):
    shop = etsy_sandbox.create_shop()
    grant = etsy_sandbox.grant(shop["user_id"])
    etsy_sandbox.expire_tokens(shop["user_id"])

    expired = me(etsy_sandbox, grant["access_token"])
    assert expired.status_code == 401
    assert expired.json() == {"error": "invalid_token", "error_description": "access token is expired"}

    fresh = refresh(etsy_sandbox, grant["refresh_token"]).json()
    assert me(etsy_sandbox, fresh["access_token"]).status_code == 200


def test_revoked_grant_refuses_refresh_and_access(etsy_sandbox):
    shop = etsy_sandbox.create_shop()
    grant = etsy_sandbox.grant(shop["user_id"])
    etsy_sandbox.revoke_tokens(shop["user_id"])

    refreshed = refresh(etsy_sandbox, grant["refresh_token"])
    refused = me(etsy_sandbox, grant["access_token"])

    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert refused.status_code == 401 and refused.json()["error_description"] == "access token is invalid"


def test_token_endpoint_errors_use_rfc6749_bodies(etsy_sandbox):
    url = etsy_sandbox.token_url
    assert requests.post(url, data={"grant_type": "password", "client_id": etsy_sandbox.keystring},
                         timeout=10).json()["error"] == "unsupported_grant_type"
    wrong_client = refresh(etsy_sandbox, "1.x", client_id="nope")
    assert wrong_client.status_code == 401 and wrong_client.json()["error"] == "invalid_client"
    unknown = refresh(etsy_sandbox, "1.unknown")
    assert unknown.status_code == 400 and set(unknown.json()) == {"error", "error_description"}
