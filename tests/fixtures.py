import pytest

from tests.factories import CustomerFactory, TenantFactory, UserFactory, WarehouseFactory


@pytest.fixture(autouse=True)
def _clear_cache():
    """Redis db 15 is the test cache; each test starts from an empty one."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def tenant(db):
    return TenantFactory()


@pytest.fixture
def other_tenant(db):
    return TenantFactory()


@pytest.fixture
def customer(tenant):
    return CustomerFactory(tenant=tenant)


@pytest.fixture
def warehouse(tenant, customer):
    wh = WarehouseFactory(tenant=tenant, timezone="Australia/Sydney")
    customer.warehouses.add(wh)
    return wh


@pytest.fixture
def admin_user(tenant):
    return UserFactory(tenant=tenant, role="tenant_admin")


@pytest.fixture
def customer_user(tenant, customer):
    return UserFactory(tenant=tenant, role="customer_user", customer=customer)
