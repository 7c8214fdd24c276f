"""x-api-key and bearer checks, shop ownership, and the user and shop endpoints (reference §1, §3, §10)."""

from __future__ import annotations

import pytest
import requests

SECRET_REQUIRED = "Shared secret is required in x-api-key header."
MALFORMED = "Invalid API key: should be in the format 'keystring:shared_secret'."


def get(etsy_sandbox, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{etsy_sandbox.api_url}{path}", headers=headers, timeout=10)


def receipts_of(etsy_sandbox, shop: dict, access_token: str) -> requests.Response:
    return get(etsy_sandbox, f"/shops/{shop['shop_id']}/receipts", etsy_sandbox.headers(access_token))


@pytest.mark.parametrize(("api_key", "error"), [
    ("sandboxkeystring", SECRET_REQUIRED),
    ("someoneelseskey", SECRET_REQUIRED),
    ("sandboxkeystring:", MALFORMED),
    (":sandboxsecret", MALFORMED),
    ("sandboxkeystring:sandboxsecret:extra", MALFORMED),
    (None, MALFORMED),
    ("sandboxkeystring:wrongsecret", "Invalid API key"),
])
def test_api_key_must_be_keystring_colon_shared_secret(etsy_sandbox, api_key, error):
    headers = {} if api_key is None else {"x-api-key": api_key}
    answer = get(etsy_sandbox, "/openapi-ping", headers)
    assert answer.status_code == 403
    assert answer.json() == {"error": error}


def test_ping_with_a_good_key_names_the_application(etsy_sandbox):
    answer = get(etsy_sandbox, "/openapi-ping", {"x-api-key": etsy_sandbox.api_key})
    assert answer.status_code == 200
    assert isinstance(answer.json()["application_id"], int)
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-etsy-request-uuid"]


def test_scoped_route_checks_the_api_key_before_the_bearer(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop()
    answer = get(etsy_sandbox, "/users/me", {"x-api-key": etsy_sandbox.keystring,
                                              "Authorization": f"Bearer {grant['access_token']}"})
    assert answer.status_code == 403
    assert answer.json() == {"error": SECRET_REQUIRED}


def test_bearer_without_user_prefix_is_refused(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop()
    opaque = grant["access_token"].split(".", 1)[1]
    answer = get(etsy_sandbox, "/users/me", etsy_sandbox.headers(opaque))
    assert answer.status_code == 403
    assert answer.json() == {"error": "No user was provided as part of the bearer token."}


def test_unknown_or_tampered_bearer_is_invalid(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop()
    other_user = shop["user_id"] + 1
    tampered = f"{other_user}.{grant['access_token'].split('.', 1)[1]}"
    for token in (f"{shop['user_id']}.notatoken", tampered):
        answer = get(etsy_sandbox, "/users/me", etsy_sandbox.headers(token))
        assert answer.status_code == 401
        assert answer.json() == {"error": "invalid_token", "error_description": "access token is invalid"}


def test_missing_bearer_on_a_scoped_route_is_401(etsy_sandbox):
    answer = get(etsy_sandbox, "/users/me", etsy_sandbox.headers())
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"


def test_expired_bearer_is_401_expired(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop()
    etsy_sandbox.expire_tokens(shop["user_id"])
    answer = receipts_of(etsy_sandbox, shop, grant["access_token"])
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_token", "error_description": "access token is expired"}


def test_missing_scope_is_403_insufficient_scope(etsy_sandbox):
    shop = etsy_sandbox.create_shop()
    grant = etsy_sandbox.grant(shop["user_id"], scopes=["shops_r", "transactions_r"])
    assert receipts_of(etsy_sandbox, shop, grant["access_token"]).status_code == 200
    receipt = etsy_sandbox.create_receipt(shop["shop_id"])
    tracking = f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/receipts/{receipt['receipt_id']}/tracking"
    answer = requests.post(tracking, data={"tracking_code": "1Z999", "carrier_name": "ups"},
                           headers=etsy_sandbox.headers(grant["access_token"]), timeout=10)
    assert answer.status_code == 403
    assert answer.json() == {"error": "insufficient_scope", "error_description": "Insufficient scope"}
    assert etsy_sandbox.state(shop["shop_id"])["shipments"] == []


def test_another_users_shop_is_forbidden(etsy_sandbox):
    mine, grant = etsy_sandbox.connected_shop()
    theirs = etsy_sandbox.create_shop()
    etsy_sandbox.create_receipt(theirs["shop_id"])
    answer = receipts_of(etsy_sandbox, theirs, grant["access_token"])
    assert answer.status_code == 403
    assert answer.json() == {"error": f"User does not own Shop {theirs['shop_id']}"}


def test_a_receipt_of_another_shop_is_not_found_in_mine(etsy_sandbox):
    mine, grant = etsy_sandbox.connected_shop()
    theirs = etsy_sandbox.create_shop()
    receipt = etsy_sandbox.create_receipt(theirs["shop_id"])
    answer = get(etsy_sandbox, f"/shops/{mine['shop_id']}/receipts/{receipt['receipt_id']}",
                 etsy_sandbox.headers(grant["access_token"]))
    assert answer.status_code == 404
    expected = (f"Could not find a Shop Receipt with receipt_id = {receipt['receipt_id']} "
                f"associated with shop_id = {mine['shop_id']}.")
    assert answer.json() == {"error": expected}


def test_shop_endpoints_need_only_the_api_key(etsy_sandbox):
    shop = etsy_sandbox.create_shop(shop_name="CapsAndMugs", currency_code="EUR", country_iso="DE")
    by_id = get(etsy_sandbox, f"/shops/{shop['shop_id']}", etsy_sandbox.headers()).json()
    by_owner = get(etsy_sandbox, f"/users/{shop['user_id']}/shops", etsy_sandbox.headers()).json()
    assert by_id == by_owner                         # one Shop object, not a list
    assert by_id["shop_name"] == "CapsAndMugs" and by_id["currency_code"] == "EUR"
    assert by_id["shop_location_country_iso"] == "DE"
    assert "timezone" not in by_id                   # Etsy has no time-zone field (§3)


def test_user_without_a_shop(etsy_sandbox):
    grant = etsy_sandbox.grant(12345)
    me = get(etsy_sandbox, "/users/me", etsy_sandbox.headers(grant["access_token"]))
    assert me.json() == {"user_id": 12345}
    shops = get(etsy_sandbox, "/users/12345/shops", etsy_sandbox.headers())
    assert shops.status_code == 404
    assert shops.json() == {"error": "Could not find a shop for user with user_id = 12345"}
