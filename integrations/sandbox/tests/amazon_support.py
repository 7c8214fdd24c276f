"""Test helpers for the Amazon sandbox: python-amazon-sp-api clients pointed at it exactly as
reference/sp-api.md §1.1 says, a recorder of every raw response they get, and validation of those
bodies against Amazon's own OpenAPI models (spapi_models/, copied from shared/spapi-models)."""

from __future__ import annotations

import copy
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator, TypeVar

import httpx
import jsonschema
from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
from sp_api.api.listings_items.listings_items_2021_08_01 import ListingsItemsV20210801
from sp_api.api.orders.orders_2026_01_01 import OrdersV20260101
from sp_api.api.orders.orders_v0 import OrdersV0
from sp_api.api.supply_sources.supply_sources import SupplySources
from sp_api.api.tokens.tokens import Tokens
from sp_api.auth import AccessTokenClient, access_token_client
from sp_api.base import Client
from sp_api.base._transport_httpx import HttpxTransport
from sp_api.base.credential_provider import CredentialProvider

from integrations.sandbox.amazon.common import iso
from integrations.sandbox.amazon.fixtures import AmazonSandboxHandle

AU = "A39IBJ37TRP1C6"
US = "ATVPDKIKX0DER"
ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
REPO = Path(__file__).resolve().parents[3]
MODELS = Path(os.environ.get("SPAPI_MODELS_DIR", Path(__file__).resolve().parent / "spapi_models"))
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

C = TypeVar("C", bound=Client)


# -- models ----------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def model(name: str) -> dict[str, Any]:
    """An Amazon model file by its name in shared/spapi-models, e.g. "ordersV0"."""
    path = MODELS / f"{name}.json"
    assert path.exists(), f"Amazon model {path} is missing (set SPAPI_MODELS_DIR)"
    return json.loads(path.read_text())


def _strict(definitions: dict[str, Any]) -> dict[str, Any]:
    """Definitions with additionalProperties: false on every object that lists its properties, so a
    misspelt or invented field fails validation instead of passing unnoticed."""
    definitions = copy.deepcopy(definitions)
    in_all_of = {ref["$ref"].rsplit("/", 1)[1] for d in definitions.values() for ref in d.get("allOf", [])
                 if "$ref" in ref}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node and "allOf" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name, definition in definitions.items():
        if name not in in_all_of:
            walk(definition)
    return definitions


FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(RFC3339.match(value))


@lru_cache(maxsize=None)
def validator(model_name: str, definition: str) -> jsonschema.Draft4Validator:
    definitions = _strict(model(model_name)["definitions"])
    assert definition in definitions, f"{definition} is not in {model_name}"
    return jsonschema.Draft4Validator({"$ref": f"#/definitions/{definition}", "definitions": definitions},
                                      format_checker=FORMATS)


def model_accepts(model_name: str, definition: str, body: Any) -> bool:
    """Validity as Amazon's model itself says (no added strictness): for request bodies, whose extra
    keys Amazon ignores."""
    schema = {"$ref": f"#/definitions/{definition}", "definitions": model(model_name)["definitions"]}
    return jsonschema.Draft4Validator(schema, format_checker=FORMATS).is_valid(body)


def schema_errors(model_name: str, definition: str, body: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator(model_name, definition).iter_errors(body)]


def assert_valid(model_name: str, definition: str, body: Any) -> None:
    errors = schema_errors(model_name, definition, body)
    assert not errors, f"{definition} ({model_name}) violations:\n" + "\n".join(errors[:20])


# -- recording every response a client receives ----------------------------------------------------

@dataclass
class Recorded:
    method: str
    path: str
    raw_path: bytes               # as sent, still percent-encoded
    status: int
    headers: httpx.Headers
    body: Any


class Recorder:
    def __init__(self) -> None:
        self.responses: list[Recorded] = []

    def hook(self, response: httpx.Response) -> None:
        response.read()
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        url = response.request.url
        self.responses.append(Recorded(response.request.method, url.path, url.raw_path, response.status_code,
                                       response.headers, body))

    def last(self, path_contains: str = "") -> Recorded:
        for recorded in reversed(self.responses):
            if path_contains in recorded.path:
                return recorded
        raise AssertionError(f"no response recorded for {path_contains!r}")


# -- clients -------------------------------------------------------------------------------------

class SpApiKit:
    """Builds python-amazon-sp-api clients for one sandbox, all recording into `recorder`."""

    def __init__(self, sandbox: AmazonSandboxHandle) -> None:
        self.sandbox = sandbox
        self.recorder = Recorder()
        # §1.1: there is no setting for the LWA URL; subclass the token client.
        self.lwa_class = type("SandboxLWA", (AccessTokenClient,), {"scheme": "http://", "host": sandbox.lwa_host})

    def marketplace(self, marketplace_id: str = AU) -> SimpleNamespace:
        return SimpleNamespace(endpoint=self.sandbox.url, marketplace_id=marketplace_id, region="us-west-2")

    def client(self, cls: type[C], refresh_token: str | None = None, *, rdt: str | None = None,
               marketplace_id: str = AU, timeout: float | None = 10.0) -> C:
        # verify=False only skips loading the CA bundle (~30 ms a client); every URL here is plain http.
        api = cls(self.marketplace(marketplace_id),
                  credentials=self.sandbox.credentials(refresh_token or "Atzr|none"),
                  restricted_data_token=rdt, auth_token_client_class=self.lwa_class, timeout=timeout, verify=False)
        api._transport = HttpxTransport(client=httpx.Client(timeout=timeout, verify=False,
                                                            event_hooks={"response": [self.recorder.hook]}))
        return api

    def lwa(self, refresh_token: str | None = None) -> AccessTokenClient:
        """For authorize_auth_code, set up as §1.2 says (CredentialProvider(...).credentials)."""
        creds = CredentialProvider(credentials=self.sandbox.credentials(refresh_token or "")).credentials
        return self.lwa_class(refresh_token=refresh_token, credentials=creds, verify=False)

    def orders(self, refresh_token: str, **kw: Any) -> OrdersV0:
        return self.client(OrdersV0, refresh_token, **kw)

    def orders_2026(self, refresh_token: str, **kw: Any) -> OrdersV20260101:
        return self.client(OrdersV20260101, refresh_token, **kw)

    def tokens(self, refresh_token: str, **kw: Any) -> Tokens:
        return self.client(Tokens, refresh_token, **kw)

    def supply_sources(self, refresh_token: str, **kw: Any) -> SupplySources:
        return self.client(SupplySources, refresh_token, **kw)

    def feeds(self, refresh_token: str, **kw: Any) -> FeedsV20210630:
        return self.client(FeedsV20210630, refresh_token, **kw)

    def listings(self, refresh_token: str, **kw: Any) -> ListingsItemsV20210801:
        return self.client(ListingsItemsV20210801, refresh_token, **kw)

    def rdt(self, refresh_token: str, *resources: dict[str, Any]) -> str:
        answer = self.tokens(refresh_token).create_restricted_data_token(restrictedResources=list(resources))
        assert_valid("tokens_2021-03-01", "CreateRestrictedDataTokenResponse", self.recorder.last("restricted").body)
        return answer.payload["restrictedDataToken"]


@contextmanager
def spapi_kit(sandbox: AmazonSandboxHandle) -> Iterator[SpApiKit]:
    """§1.1 and §1.2: the env var would override our marketplace; the token cache outlives tests."""
    saved = os.environ.pop("SP_API_DEFAULT_MARKETPLACE", None)
    access_token_client.cache.clear()
    try:
        yield SpApiKit(sandbox)
    finally:
        access_token_client.cache.clear()
        if saved is not None:
            os.environ["SP_API_DEFAULT_MARKETPLACE"] = saved


def seller_with_token(sandbox: AmazonSandboxHandle, **fields: Any) -> tuple[str, str]:
    seller = sandbox.seed_seller(**fields)
    return seller["selling_partner_id"], seller["refresh_token"]


def iso_ago(sandbox: AmazonSandboxHandle, **delta: float) -> str:
    """An ISO-8601 time this long before the sandbox's now."""
    return iso(sandbox.app.state.clock.now() - timedelta(**delta))
