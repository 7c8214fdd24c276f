"""pytest fixtures for the Amazon sandbox. Register with `pytest_plugins = ["integrations.sandbox.amazon.fixtures"]`.

- `amazon_sandbox_server` (session): an AmazonSandbox on 127.0.0.1, on a free port, rate limits on with
  time_scale 1000 so buckets refill fast. Each pytest-xdist worker is its own process with its own server.
- `amazon_sandbox` (function): resets the sandbox, then hands out an `AmazonSandboxHandle` with the URL,
  the app for direct inspection, and helpers that drive the /_sandbox/ control API over HTTP.
"""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest

from integrations.sandbox.http import SandboxServer

from .app import AmazonSandbox

TEST_TIME_SCALE = 1000.0


class AmazonSandboxHandle:
    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.url: str = server.url
        self.app: AmazonSandbox = server.app          # type: ignore[assignment]
        self.http = httpx.Client(base_url=self.url, timeout=30)

    # -- app ------------------------------------------------------------------------------------
    @property
    def lwa_client_id(self) -> str:
        return self.app.state.app.client_id

    @property
    def lwa_client_secret(self) -> str:
        return self.app.state.app.client_secret

    @property
    def application_id(self) -> str:
        return self.app.state.app.application_id

    @property
    def lwa_host(self) -> str:
        """host:port for a python-amazon-sp-api AccessTokenClient subclass (sp-api.md §1.1)."""
        return self.url.split("://", 1)[1]

    def credentials(self, refresh_token: str) -> dict[str, str]:
        return {"refresh_token": refresh_token, "lwa_app_id": self.lwa_client_id,
                "lwa_client_secret": self.lwa_client_secret}

    # -- control API ----------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code != 200:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset")

    def app_info(self) -> dict[str, Any]:
        return self._call("GET", "/_sandbox/app")

    def set_redirect_uris(self, *uris: str) -> dict[str, Any]:
        return self._call("POST", "/_sandbox/app", {"redirect_uris": list(uris)})

    def seed_seller(self, **fields: Any) -> dict[str, Any]:
        """{"selling_partner_id", "refresh_token", "name", "marketplace_ids"}"""
        return self._call("POST", "/_sandbox/sellers", fields)

    def create_order(self, selling_partner_id: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/sellers/{selling_partner_id}/orders", fields)

    def create_orders(self, selling_partner_id: str, count: int, **template: Any) -> list[dict[str, Any]]:
        body = {"count": count, "template": template}
        return self._call("POST", f"/_sandbox/sellers/{selling_partner_id}/orders", body)["orders"]

    def update_order(self, selling_partner_id: str, order_id: str, **fields: Any) -> dict[str, Any]:
        return self._call("PATCH", f"/_sandbox/sellers/{selling_partner_id}/orders/{order_id}", fields)

    def order(self, selling_partner_id: str, order_id: str) -> dict[str, Any]:
        return self._call("GET", f"/_sandbox/sellers/{selling_partner_id}/orders/{order_id}")

    def add_supply_source(self, selling_partner_id: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/sellers/{selling_partner_id}/supply_sources", fields)

    def add_listing(self, selling_partner_id: str, sku: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/sellers/{selling_partner_id}/listings", {"sku": sku, **fields})

    def state(self, selling_partner_id: str) -> dict[str, Any]:
        return self._call("GET", f"/_sandbox/sellers/{selling_partner_id}")

    def calls(self, path_contains: str | None = None) -> list[dict[str, Any]]:
        params = {"path_contains": path_contains} if path_contains else None
        response = self.http.get("/_sandbox/calls", params=params)
        response.raise_for_status()
        return response.json()["calls"]

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        return self._call("POST", "/_sandbox/faults", faults)

    def set_rate_limits(self, **options: Any) -> dict[str, Any]:
        return self._call("POST", "/_sandbox/rate_limits", options)

    def set_clock(self, **options: Any) -> dict[str, Any]:
        return self._call("POST", "/_sandbox/clock", options)

    def settings(self, **options: Any) -> dict[str, Any]:
        return self._call("POST", "/_sandbox/settings", options)

    def expire_tokens(self, selling_partner_id: str | None = None) -> int:
        return self._call("POST", "/_sandbox/tokens/expire", {"selling_partner_id": selling_partner_id})["expired"]

    def revoke(self, selling_partner_id: str) -> int:
        return self._call("POST", f"/_sandbox/sellers/{selling_partner_id}/revoke")["revoked"]

    def issue_auth_code(self, selling_partner_id: str, redirect_uri: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/_sandbox/oauth_codes",
                          {"selling_partner_id": selling_partner_id, "redirect_uri": redirect_uri})

    def process_feed(self, feed_id: str) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/feeds/{feed_id}/process")

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="session")
def amazon_sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer(AmazonSandbox(time_scale=TEST_TIME_SCALE), host="127.0.0.1", port=0).start()
    yield server
    server.stop()


@pytest.fixture
def amazon_sandbox(amazon_sandbox_server: SandboxServer) -> Iterator[AmazonSandboxHandle]:
    handle = AmazonSandboxHandle(amazon_sandbox_server)
    handle.reset()
    yield handle
    handle.close()
