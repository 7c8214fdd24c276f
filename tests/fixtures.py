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


class LocalSmtp:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what arrives, for tests that read e-mail."""

    def __init__(self):
        import socket
        import threading

        from aiosmtpd.controller import Controller

        self.messages = []
        self._arrived = threading.Condition()
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes, policy

                message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
                with outer._arrived:
                    outer.messages.append(message)
                    outer._arrived.notify_all()
                return "250 OK"

        with socket.socket() as probe:          # a free port (the controller needs a fixed one to self-check)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def wait_for(self, count: int, timeout: float = 10.0) -> list:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        return list(self.messages)

    @staticmethod
    def body(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def smtp_server(settings):
    """Django's SMTP backend pointed at a local aiosmtpd server; `.messages` holds what it received."""
    server = LocalSmtp()
    server.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield server
    server.controller.stop()
