"""Playwright fixtures: one headless Chromium for the whole session, a fresh page per test.

Chromium is the system one (/usr/bin/chromium); nothing is downloaded. Load with `-p tests.browser`
or from the root conftest's `pytest_plugins`.
"""

import os

import pytest

# Playwright's sync API keeps an asyncio event loop running in the test thread, and Django refuses
# ORM calls from a thread with a running loop. The tests only use the ORM synchronously (factories,
# assertions), never from inside the loop, so this is safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page in its own browser context (own cookies).

    The timeout only matters when something is missing; 15 s keeps a busy 2-core machine (CI beside
    other work) from failing a page that is merely slow to load."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def log_in(page, live_server, user, password="pw-for-tests-1"):
    """Log in through the login page as a person would, and land on the dashboard."""
    # The live server's first request imports and compiles everything: seconds on a busy machine.
    page.goto(f"{live_server.url}/login/", timeout=30_000)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
