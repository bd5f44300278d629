"""Playwright, driving Debian's Chromium, against pytest-django's live server.

Every test here is marked `browser`. Each test creates its own catalogue and personas: the live
server needs a transactional database, which is emptied after every test.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test.utils import override_settings
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.conftest import PASSWORD

HERE = Path(__file__).parent
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Without these, Chromium keeps trying to reach Google's update and sync services, which this
# machine (and CI) cannot reach.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

expect.set_options(timeout=TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The hook sees the whole session's items, so mark only those collected from this folder.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def plain_http_live_server():
    """Let pytest-django's live server speak plain HTTP, with production settings otherwise.

    Its middleware is built once, when it starts and before any per-test settings apply, so the
    redirect to HTTPS is switched off here, first, for the whole session.
    """
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for every test in this folder, stopped as soon as the last one has run.

    Package rather than session scope: from start() to stop(), Playwright's sync API keeps an
    asyncio event loop running in the test thread, and every later test of the session would run
    inside it (Django refuses ORM calls there; asyncio.run and async_to_sync fail).
    """
    with pytest.MonkeyPatch.context() as patch:
        # Django refuses ORM calls from a thread with a running event loop; these tests call the
        # ORM (fixtures, live server in the same process) only between browser calls.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            # Chromium's sandbox cannot start as root (containers, CI).
            sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                headless=True,
                args=[*sandbox, *CHROMIUM_ARGS],
            )
            yield browser
            browser.close()
        finally:
            playwright.stop()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Open browser contexts (separate cookie jars) for one test, all closed at its end."""
    contexts: list[BrowserContext] = []

    def open_context(viewport: dict[str, int] = DESKTOP) -> BrowserContext:
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        # The browser's unasked favicon request would race the page's own requests for the
        # in-memory SQLite connection that the live server shares between its threads.
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def anonymous_page(transactional_db, live_server, new_context) -> Page:
    return new_context().new_page()


@pytest.fixture
def logged_in_page(transactional_db, live_server, new_context) -> Callable[..., Page]:
    """Log a persona in through the login form, in a fresh context; returns the dashboard page.

    The persona's fixture (reviewer, viewer, ...) must be requested by the test too.
    """

    def log_in(username: str, viewport: dict[str, int] = DESKTOP) -> Page:
        page = new_context(viewport).new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        expect(page.get_by_role("heading", name="Where the audit stands", level=1)).to_be_visible()
        return page

    return log_in


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    """Save a full-page screenshot when BROWSER_SCREENSHOTS names a folder; otherwise nothing."""
    folder = os.environ.get("BROWSER_SCREENSHOTS", "")

    def save(page: Page, name: str) -> None:
        if folder:
            page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)

    return save
