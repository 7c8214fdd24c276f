"""pytest fixtures for the Etsy sandbox.

Register with `pytest_plugins = ["integrations.sandbox.etsy.fixtures"]`.

`etsy_sandbox_server` runs one server per test session (per xdist worker: each worker is its own
process with its own free port). `etsy_sandbox` resets it before each test and offers helpers over
the /_sandbox/ control API, so tests set the scene the same way over HTTP as a person would.
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterator

import pytest
import requests

from ..http import SandboxServer
from .app import EtsySandbox
from .oauth import PROJECT_SCOPES

KEYSTRING = "sandboxkeystring"
SHARED_SECRET = "sandboxsecret"
# Far above anything an ordinary test does; the rate-limit tests lower them through the control API.
TEST_PER_SECOND = 100_000
TEST_PER_DAY = 100_000_000


class EtsySandboxClient:
    """A test's handle on the running Etsy sandbox."""

    def __init__(self, server: SandboxServer, app: EtsySandbox) -> None:
        self.server = server
        self.app = app
        self.url = server.url
        self.keystring = app.keystring
        self.shared_secret = app.shared_secret
        self.http = requests.Session()

    @property
    def api_key(self) -> str:
        """The x-api-key header value: `keystring:shared_secret`."""
        return f"{self.keystring}:{self.shared_secret}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/v3/application"

    @property
    def token_url(self) -> str:
        return f"{self.url}/v3/public/oauth/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth/connect"

    def headers(self, access_token: str | None = None) -> dict[str, str]:
        """Headers for a vendor call: the API key, and the bearer when given."""
        headers = {"x-api-key": self.api_key}
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        return headers

    def consent(self, authorization_url: str, *, decision: str = "allow", shop_id: int | None = None) -> str:
        """Answer the consent page as a person would; returns the redirect's Location.

        Without `shop_id` the page's first shop is chosen, as a browser submits the first option.
        """
        page = self.http.get(authorization_url, allow_redirects=False, timeout=10)
        if page.status_code != 200:
            raise AssertionError(f"consent page -> {page.status_code}: {page.text[:300]}")
        request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert request_id is not None, "no request_id on the consent page"
        form = {"request_id": html.unescape(request_id.group(1)), "decision": decision}
        first_option = re.search(r'<option value="(\d+)"', page.text)
        if shop_id is not None:
            form["shop_id"] = str(shop_id)
        elif first_option is not None:
            form["shop_id"] = first_option.group(1)
        answer = self.http.post(self.authorize_url, data=form, allow_redirects=False, timeout=10)
        if answer.status_code != 302:
            raise AssertionError(f"consent answer -> {answer.status_code}: {answer.text[:300]}")
        return answer.headers["Location"]

    # -- control API -----------------------------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.url}/_sandbox/{path.lstrip('/')}", json=body, timeout=10)
        if response.status_code >= 400:
            raise AssertionError(f"sandbox control {method} {path} -> {response.status_code}: "
                                 f"{response.text}")
        return response.json()

    def reset(self) -> None:
        self.control("POST", "reset")

    def create_shop(self, **fields: Any) -> dict[str, Any]:
        """POST /_sandbox/shops; returns the Shop (shop_id, user_id, shop_name, ...)."""
        return self.control("POST", "shops", fields)

    def grant(self, user_id: int, scopes: list[str] | tuple[str, ...] = PROJECT_SCOPES) -> dict[str, Any]:
        """Tokens for `user_id` without the consent page: access_token, refresh_token, expires_in."""
        return self.control("POST", "grants", {"user_id": user_id, "scopes": list(scopes)})

    def connected_shop(self, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """A shop and a token for its owner, the usual start of a test."""
        shop = self.create_shop(**fields)
        return shop, self.grant(shop["user_id"])

    def create_listing(self, shop_id: int, **fields: Any) -> dict[str, Any]:
        """POST /_sandbox/shops/{shop_id}/listings; returns the listing with its inventory."""
        return self.control("POST", f"shops/{shop_id}/listings", fields)

    def create_receipt(self, shop_id: int, **fields: Any) -> dict[str, Any]:
        """POST /_sandbox/shops/{shop_id}/receipts; returns the full ShopReceipt."""
        return self.control("POST", f"shops/{shop_id}/receipts", fields)

    def create_receipts(self, shop_id: int, count: int, **template: Any) -> list[dict[str, Any]]:
        body = {"count": count, "template": template}
        return self.control("POST", f"shops/{shop_id}/receipts", body)["receipts"]

    def update_receipt(self, shop_id: int, receipt_id: int, **fields: Any) -> dict[str, Any]:
        return self.control("PATCH", f"shops/{shop_id}/receipts/{receipt_id}", fields)

    def state(self, shop_id: int) -> dict[str, Any]:
        """What the sandbox holds for a shop: shop, receipts, shipments, listings with inventory."""
        return self.control("GET", f"shops/{shop_id}")

    def calls(self, path_contains: str | None = None) -> list[dict[str, Any]]:
        suffix = f"?path_contains={path_contains}" if path_contains else ""
        return self.control("GET", f"calls{suffix}")["calls"]

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        return self.control("POST", "faults", faults)

    def set_rate_limits(self, **limits: int) -> dict[str, Any]:
        return self.control("POST", "rate_limits", limits)

    def expire_tokens(self, user_id: int) -> None:
        self.control("POST", "tokens/expire", {"user_id": user_id})

    def revoke_tokens(self, user_id: int) -> None:
        self.control("POST", "tokens/revoke", {"user_id": user_id})

    def add_redirect_uri(self, uri: str) -> None:
        self.control("POST", "redirect_uris", {"redirect_uri": uri})


@pytest.fixture(scope="session")
def etsy_sandbox_server() -> Iterator[SandboxServer]:
    app = EtsySandbox(keystring=KEYSTRING, shared_secret=SHARED_SECRET, per_second=TEST_PER_SECOND,
                      per_day=TEST_PER_DAY)
    with SandboxServer(app, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def etsy_sandbox(etsy_sandbox_server: SandboxServer) -> Iterator[EtsySandboxClient]:
    app = etsy_sandbox_server.app
    assert isinstance(app, EtsySandbox)
    client = EtsySandboxClient(etsy_sandbox_server, app)
    client.reset()
    yield client
    client.http.close()
