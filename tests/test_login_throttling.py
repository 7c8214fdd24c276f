"""Failed log-ins are throttled per account and per client address (django-axes), with a clear page and an
admin way to unlock; failed API keys are throttled per address."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory
from warehouse.services import api_key_create

PASSWORD = "pw-for-tests-1"


@pytest.fixture
def limit(settings):
    return settings.AXES_FAILURE_LIMIT


def log_in(username, password, address):
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


def test_wrong_passwords_lock_the_account_even_for_the_right_one(admin_user, limit):
    for i in range(limit):      # each from another address: only the account's count reaches the limit
        response = log_in(admin_user.username, "wrong", f"198.51.100.{i + 1}")
        assert response.status_code == (200 if i < limit - 1 else 429)     # the limit-th failure locks
    locked = log_in(admin_user.username, PASSWORD, "203.0.113.9")
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert "_auth_user_id" not in locked.client.session


def test_wrong_passwords_from_one_address_lock_that_address(tenant, limit):
    users = [UserFactory(tenant=tenant) for _ in range(2)]
    for i in range(limit):      # a different account each time: only the address's count reaches the limit
        log_in(f"nobody-{i}", "wrong", "198.51.100.7")
    assert log_in(users[0].username, PASSWORD, "198.51.100.7").status_code == 429
    assert log_in(users[1].username, PASSWORD, "198.51.100.8").status_code == 302     # elsewhere: fine


def test_a_success_before_the_limit_clears_the_count(admin_user, limit):
    for _ in range(limit - 1):
        log_in(admin_user.username, "wrong", "198.51.100.1")
    assert log_in(admin_user.username, PASSWORD, "198.51.100.1").status_code == 302
    for _ in range(limit - 1):
        log_in(admin_user.username, "wrong", "198.51.100.1")
    assert log_in(admin_user.username, PASSWORD, "198.51.100.1").status_code == 302


def test_tenant_admin_unlocks_their_user_in_the_admin(tenant, other_tenant, customer_user, limit):
    outsider = UserFactory(tenant=other_tenant)
    for user in (customer_user, outsider):
        for i in range(limit):
            log_in(user.username, "wrong", f"198.51.100.{i + 1}")
    staff = UserFactory(tenant=tenant, role="tenant_admin", is_staff=True)
    admin = Client()
    admin.force_login(staff)
    response = admin.post("/admin/warehouse/user/", {"action": "unlock_login",
                                                     "_selected_action": [customer_user.pk, outsider.pk]},
                          follow=True)
    assert "1 log-in(s) unlocked." in response.content.decode()     # the other tenant's user is not theirs
    assert log_in(customer_user.username, PASSWORD, "203.0.113.1").status_code == 302
    assert log_in(outsider.username, PASSWORD, "203.0.113.1").status_code == 429


def test_wrong_api_keys_from_one_address_are_throttled(tenant, settings):
    settings.API_KEY_FAILURE_LIMIT = 5
    _, raw = api_key_create(tenant=tenant, name="WMS")
    prefix = raw.split(".")[0]
    attacker = APIClient(REMOTE_ADDR="198.51.100.20")
    for _ in range(5):
        response = attacker.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Api-Key {prefix}.wrong")
        assert response.status_code == 401
    blocked = attacker.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Api-Key {raw}")   # even the right key
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "throttled"
    assert int(blocked["Retry-After"]) > 0
    honest = APIClient(REMOTE_ADDR="198.51.100.21")
    assert honest.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Api-Key {raw}").status_code == 200


def test_forwarded_for_is_ignored_without_a_trusted_proxy(tenant, settings):
    settings.API_KEY_FAILURE_LIMIT = 3
    for i in range(3):      # a client cannot dodge the count by writing its own X-Forwarded-For
        APIClient(REMOTE_ADDR="198.51.100.30").get("/api/v1/customers/", HTTP_AUTHORIZATION="Api-Key a.b",
                                                   HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    response = APIClient(REMOTE_ADDR="198.51.100.30").get("/api/v1/customers/", HTTP_AUTHORIZATION="Api-Key a.b",
                                                          HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429
