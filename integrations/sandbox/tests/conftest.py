"""Fixtures shared by the Amazon sandbox tests (the sandbox fixtures themselves come from the root
conftest's pytest_plugins)."""

import pytest

from .amazon_support import seller_with_token, spapi_kit


@pytest.fixture
def kit(amazon_sandbox):
    """python-amazon-sp-api clients pointed at the sandbox as reference/sp-api.md §1.1 says."""
    with spapi_kit(amazon_sandbox) as kit:
        yield kit


@pytest.fixture
def seller(kit):
    """(selling_partner_id, refresh_token) of a fresh seller."""
    return seller_with_token(kit.sandbox)
