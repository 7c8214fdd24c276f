"""Production settings: `check --deploy` is clean, a weak SECRET_KEY stops the start, the CSP header is on
every response, and the API schema and docs need a login or an API key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.services import api_key_create

ROOT = Path(__file__).resolve().parent.parent
STRONG = "k3T9-vQ2xLr8Zp1mWc7Hs4Ny6Bd0Fg5Jt2Ue9Ai3Ko8Rw1Xy7Mn4Pq6Sv0Lz5Tb2Hc"


def manage(tmp_path, *args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_", "SECURE_"))}
    base.update(DJANGO_SETTINGS_MODULE="config.settings", DJANGO_DEBUG="false", SECRET_KEY=STRONG,
                FIELD_ENCRYPTION_KEYS="ZmFrZS1rZXktZm9yLWNoZWNrcy0wMDAwMDAwMDAwMDA=",
                ALLOWED_HOSTS="hub.example.com", DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
                HUB_VAR_DIR=str(tmp_path), CELERY_BROKER_URL="memory://")
    base.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_in_production(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_behind_a_proxy_that_redirects_to_https(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", SECURE_SSL_REDIRECT="false")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("weak", ["short", "django-insecure-" + "x1y2z3" * 10, "ab" * 40])
def test_a_weak_secret_key_stops_production_start(tmp_path, weak):
    result = manage(tmp_path, "check", SECRET_KEY=weak)
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_production_sends_hsts_and_redirects_to_https(tmp_path):
    code = ("from django.test import Client; c = Client(); r = c.get('/login/', HTTP_HOST='hub.example.com');"
            "print(r.status_code, r['Location']);"
            "s = c.get('/login/', HTTP_HOST='hub.example.com', HTTP_X_FORWARDED_PROTO='https');"
            "print(s.status_code, s['Strict-Transport-Security'])")
    result = manage(tmp_path, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()[-2:]
    assert first == "301 https://hub.example.com/login/"
    assert second.startswith("200 max-age=31536000; includeSubDomains; preload")


def test_every_page_has_a_content_security_policy_without_inline_code(client, admin_user):
    client.force_login(admin_user)
    for url in ["/login/", "/", "/api/docs/", "/admin/login/"]:
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy


@pytest.fixture
def docs_closed(settings):
    settings.API_DOCS_PUBLIC = False


def test_schema_needs_a_login_or_an_api_key_in_production(docs_closed, client, tenant, admin_user):
    anonymous = client.get("/api/schema/", {"format": "json"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    _, raw = api_key_create(tenant=tenant, name="docs")
    assert client.get("/api/schema/", {"format": "json"}, HTTP_AUTHORIZATION=f"Api-Key {raw}").status_code == 200
    client.force_login(admin_user)
    assert client.get("/api/schema/", {"format": "json"}).status_code == 200


def test_docs_page_needs_a_login_in_production(docs_closed, client, admin_user):
    response = client.get("/api/docs/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/api/docs/")
    client.force_login(admin_user)
    assert client.get("/api/docs/").status_code == 200
