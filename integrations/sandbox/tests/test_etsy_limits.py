"""Rate limits (reference §9), injected faults and the call log."""

from __future__ import annotations

import time

import requests

LIMIT_HEADERS = ("x-limit-per-second", "x-remaining-this-second", "x-limit-per-day", "x-remaining-today",
                 "x-etsy-request-uuid")


def ping(etsy_sandbox) -> requests.Response:
    return requests.get(f"{etsy_sandbox.api_url}/openapi-ping", headers=etsy_sandbox.headers(), timeout=10)


def test_every_vendor_answer_carries_the_limit_headers(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop()
    answers = [
        ping(etsy_sandbox),
        requests.get(f"{etsy_sandbox.api_url}/users/me", headers=etsy_sandbox.headers("1.unknown"),
                     timeout=10),
        requests.get(f"{etsy_sandbox.api_url}/shops/999", headers=etsy_sandbox.headers(), timeout=10),
        requests.post(etsy_sandbox.token_url, data={"grant_type": "nope"}, timeout=10),
    ]
    assert [a.status_code for a in answers] == [200, 401, 404, 400]
    for answer in answers:
        for header in LIMIT_HEADERS:
            assert answer.headers.get(header), (answer.url, header)
    uuids = {a.headers["x-etsy-request-uuid"] for a in answers}
    assert len(uuids) == len(answers)


def test_per_second_limit_answers_429_with_retry_after_and_refills(etsy_sandbox):
    etsy_sandbox.set_rate_limits(per_second=3)
    answers = [ping(etsy_sandbox) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-remaining-this-second"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["x-limit-per-second"] == "3"
    refused = answers[3]
    assert refused.json() == {"error": "Exceeded per second rate limit"}
    assert refused.headers["retry-after"] == "1"
    # Refused calls are not counted against the day.
    assert int(refused.headers["x-remaining-today"]) == int(answers[2].headers["x-remaining-today"])

    time.sleep(float(refused.headers["retry-after"]) + 0.05)
    assert ping(etsy_sandbox).status_code == 200


def test_daily_quota_exhaustion(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop()
    etsy_sandbox.set_rate_limits(per_day=5000, remaining_today=2)

    answers = [ping(etsy_sandbox) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["x-remaining-today"] for a in answers] == ["1", "0", "0"]
    assert answers[2].json() == {"error": "Exceeded daily rate limit"}
    assert answers[2].headers["retry-after"] == "86400"
    assert answers[2].headers["x-limit-per-day"] == "5000"
    # The token endpoint has no documented limit and keeps working.
    form = {"grant_type": "refresh_token", "client_id": etsy_sandbox.keystring,
            "refresh_token": grant["refresh_token"]}
    refreshed = requests.post(etsy_sandbox.token_url, data=form, timeout=10)
    assert refreshed.status_code == 200
    assert etsy_sandbox.control("GET", "rate_limits")["remaining_today"] == 0


def test_reset_restores_the_limits(etsy_sandbox):
    etsy_sandbox.set_rate_limits(per_second=1, remaining_today=0)
    assert ping(etsy_sandbox).status_code == 429
    etsy_sandbox.reset()
    assert ping(etsy_sandbox).status_code == 200


def test_injected_failures_then_recovery(etsy_sandbox):
    etsy_sandbox.set_faults(fail_next=2, error_statuses=[503])
    answers = [ping(etsy_sandbox) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].json() == {"error": "Server Error"}


def test_injected_throttle_looks_like_etsys_429(etsy_sandbox):
    etsy_sandbox.set_faults(throttle_next=1)
    throttled = ping(etsy_sandbox)
    assert throttled.status_code == 429
    assert throttled.json() == {"error": "Exceeded per second rate limit"}
    assert throttled.headers["retry-after"] == "1"
    assert ping(etsy_sandbox).status_code == 200


def test_injected_fault_can_target_one_path_and_bodies_can_be_malformed(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop()
    etsy_sandbox.set_faults(malformed_next=1, path_contains="/receipts")
    assert ping(etsy_sandbox).status_code == 200
    answer = requests.get(f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/receipts",
                          headers=etsy_sandbox.headers(grant["access_token"]), timeout=10)
    assert answer.status_code == 200
    assert not answer.headers["content-type"].startswith("application/json")


def test_call_log_records_what_was_sent(etsy_sandbox):
    shop, grant = etsy_sandbox.connected_shop()
    receipt = etsy_sandbox.create_receipt(shop["shop_id"])
    requests.post(f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/receipts/{receipt['receipt_id']}/tracking",
                  data={"tracking_code": "T1", "carrier_name": "usps"},
                  headers=etsy_sandbox.headers(grant["access_token"]), timeout=10)
    requests.get(f"{etsy_sandbox.api_url}/shops/{shop['shop_id']}/receipts", params={"was_paid": "true"},
                 headers=etsy_sandbox.headers(grant["access_token"]), timeout=10)

    calls = etsy_sandbox.calls(path_contains="/receipts")
    assert [(c["method"], c["status"]) for c in calls] == [("POST", 200), ("GET", 200)]
    assert calls[0]["body"] == {"tracking_code": "T1", "carrier_name": "usps"}
    assert calls[1]["query"] == {"was_paid": ["true"]}
    assert all(not c["path"].startswith("/_sandbox") for c in etsy_sandbox.calls())
