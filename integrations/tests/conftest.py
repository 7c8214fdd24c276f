"""Fixtures for the integration tests: the product pointed at the sandboxes over real HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from django.utils import timezone

from config.celery import app as celery_app
from integrations.models import Integration
from tests.factories import ProductFactory, StockLevelFactory, WarehouseFactory

AU = "A39IBJ37TRP1C6"


class Control:
    """The sandbox's /_sandbox/ control API over HTTP."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")

    def post(self, path: str, body: dict | None = None) -> dict:
        r = requests.post(f"{self.base}/_sandbox/{path.lstrip('/')}", json=body or {}, timeout=10)
        assert r.status_code < 300, r.text
        return r.json()

    def patch(self, path: str, body: dict) -> dict:
        r = requests.patch(f"{self.base}/_sandbox/{path.lstrip('/')}", json=body, timeout=10)
        assert r.status_code < 300, r.text
        return r.json()

    def get(self, path: str) -> dict:
        r = requests.get(f"{self.base}/_sandbox/{path.lstrip('/')}", timeout=10)
        assert r.status_code < 300, r.text
        return r.json()

    def calls(self, path_contains: str = "") -> list[dict]:
        return self.get(f"calls?path_contains={path_contains}")["calls"]


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process (the dispatch trigger's .delay() then runs at once)."""
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


@pytest.fixture
def amazon(amazon_sandbox, settings):
    from sp_api.auth import access_token_client

    access_token_client.cache.clear()
    url = amazon_sandbox.url
    settings.AMAZON_SPAPI_ENDPOINT = url
    settings.AMAZON_LWA_TOKEN_URL = f"{url}/auth/o2/token"
    settings.AMAZON_SELLER_CENTRAL_URL = url
    settings.AMAZON_LWA_APP_ID = "amzn1.application-oa2-client.sandbox"
    settings.AMAZON_LWA_CLIENT_SECRET = "sandbox-secret"
    settings.AMAZON_APPLICATION_ID = "amzn1.sellerapps.app.sandbox"
    settings.MARKETPLACE_HTTP_TIMEOUT = 5
    control = Control(url)
    yield control
    access_token_client.cache.clear()


@pytest.fixture
def second_warehouse(tenant, customer):
    wh = WarehouseFactory(tenant=tenant, code="LAX", timezone="America/Los_Angeles", country="US")
    customer.warehouses.add(wh)
    return wh


@pytest.fixture
def products(customer, warehouse, second_warehouse):
    made = {}
    for code, asin in (("MUG-01", "B000MUG001"), ("TEE-02", "B000TEE002"), ("CAP-03", "B000CAP003")):
        product = ProductFactory(customer=customer, code=code, name=code.title())
        product.alternative_codes.create(code=asin, kind="ASIN")
        StockLevelFactory(product=product, warehouse=warehouse, on_hand=500)
        StockLevelFactory(product=product, warehouse=second_warehouse, on_hand=500)
        made[code] = product
    return made


@pytest.fixture
def amazon_seller(amazon):
    return amazon.post("sellers", {"marketplace_ids": [AU]})


@pytest.fixture
def amazon_integration(tenant, customer, warehouse, amazon_seller, products):
    return Integration.objects.create(
        tenant=tenant, customer=customer, marketplace="amazon", name="Amazon AU", status=Integration.Status.ACTIVE,
        marketplace_id=AU, account_id=amazon_seller["selling_partner_id"], refresh_token=amazon_seller["refresh_token"],
        default_warehouse=warehouse, connected_at=timezone.now(), activated_at=timezone.now(), wizard_step=5,
        orders_watermark=timezone.now() - dt.timedelta(hours=1))


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def etsy(etsy_sandbox, settings):
    url = etsy_sandbox.url
    settings.ETSY_API_BASE_URL = url
    settings.ETSY_OAUTH_CONNECT_URL = f"{url}/oauth/connect"
    settings.ETSY_TOKEN_URL = f"{url}/v3/public/oauth/token"
    settings.ETSY_KEYSTRING = etsy_sandbox.keystring
    settings.ETSY_SHARED_SECRET = etsy_sandbox.shared_secret
    settings.MARKETPLACE_HTTP_TIMEOUT = 5
    return Control(url)


@pytest.fixture
def etsy_shop(etsy):
    shop = etsy.post("shops", {"shop_name": "KoalaMugsShop"})
    grant = etsy.post("grants", {"user_id": shop["user_id"]})
    return {**shop, **grant}


@pytest.fixture
def etsy_integration(tenant, customer, warehouse, etsy_shop, products):
    return Integration.objects.create(
        tenant=tenant, customer=customer, marketplace="etsy", name="Etsy shop", status=Integration.Status.ACTIVE,
        account_id=str(etsy_shop["user_id"]), shop_id=str(etsy_shop["shop_id"]), shop_name=etsy_shop["shop_name"],
        refresh_token=etsy_shop["refresh_token"], access_token=etsy_shop["access_token"],
        access_token_expires_at=timezone.now() + dt.timedelta(seconds=etsy_shop["expires_in"]),
        default_warehouse=warehouse, connected_at=timezone.now(), activated_at=timezone.now(), wizard_step=5,
        orders_watermark=timezone.now() - dt.timedelta(hours=1))


@pytest.fixture(scope="session")
def sqs_server():
    """moto's SQS server on loopback: the real SQS wire protocol, visibility timeouts and redelivery."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def sqs_queue(sqs_server, settings, amazon, amazon_sandbox, monkeypatch):
    """A fresh queue for this test; the product subscribes sellers to it and the sandbox sends to it."""
    import uuid

    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("sqs", region_name="us-east-1", endpoint_url=sqs_server)
    url = client.create_queue(QueueName=f"hub-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    settings.AMAZON_NOTIFICATIONS_SQS_ARN, settings.AMAZON_NOTIFICATIONS_QUEUE_URL = arn, url
    settings.SQS_ENDPOINT_URL = sqs_server
    amazon.post("sqs", {"endpoint_url": sqs_server})
    yield client, url
    client.delete_queue(QueueUrl=url)
