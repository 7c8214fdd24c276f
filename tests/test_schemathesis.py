"""`schemathesis run` with every check against the app served live (pytest-django's live server) over
real HTTP, with a tenant's data and API key: a bounded run, and not one failure allowed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import ProductFactory, StockLevelFactory, make_order
from warehouse.services import PackageSpec, api_key_create, consignment_create

ROOT = Path(__file__).resolve().parent.parent
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_failure(live_server, client, tenant, customer, warehouse, settings, tmp_path):
    settings.API_KEY_FAILURE_LIMIT = 1_000_000       # the run sends wrong keys on purpose (ignored_auth)
    products = [ProductFactory(customer=customer, code=f"ST-{i}") for i in range(3)]
    for product in products:
        StockLevelFactory(product=product, warehouse=warehouse, on_hand=1000)
    order = make_order(customer=customer, warehouse=warehouse, products_qty=[(products[0], 1)], allocate=True)
    consignment_create(order=order, carrier="Post", packages=[PackageSpec()])
    make_order(customer=customer, warehouse=warehouse, products_qty=[(products[1], 2)])
    _, raw = api_key_create(tenant=tenant, name="schemathesis")
    # The schema the app serves, read once here (generating it can take longer than a client's timeout on
    # a busy machine); every test request then goes to the live server.
    schema = tmp_path / "openapi.json"
    schema.write_bytes(client.get("/api/schema/", {"format": "json"}).content)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(ROOT / "schemathesis.toml"), "run",
         str(schema), "--url", live_server.url, "-H", f"Authorization: Api-Key {raw}",
         "--checks", "all", "--max-examples", "3", "--workers", "1", "--max-time", "60", "--seed", "16",
         "--suppress-health-check", "all", "--request-timeout", "30", "--no-color",
         "--report", "junit", "--report-dir", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Tested:" in output and "failures" not in output.split("SUMMARY")[-1].lower().replace("0 failures", "")
