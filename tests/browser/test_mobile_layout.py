"""At a phone's width (390 px) the pages reflow instead of scrolling sideways."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE
from tests.browser.site_pages import LOGGED_IN_PAGES, LOGIN_PAGE, SitePage

OVERFLOW = "[document.scrollingElement.scrollWidth, window.innerWidth]"


def assert_no_sideways_scrolling(page: Page, site_page: SitePage) -> None:
    expect(page.get_by_role("heading", name=site_page.heading, level=1)).to_be_visible()

    scroll_width, inner_width = page.evaluate(OVERFLOW)

    assert scroll_width <= inner_width, (
        f"{site_page.path} is {scroll_width} px wide in {inner_width}"
    )


@pytest.mark.parametrize("site_page", LOGGED_IN_PAGES, ids=lambda site_page: site_page.name)
def test_it_has_no_horizontal_page_overflow_at_390_px(
    logged_in_page, live_server, reviewer, catalogue, screenshot, site_page
):
    page = logged_in_page("reviewer", viewport=PHONE)
    page.goto(f"{live_server.url}{site_page.path}")

    assert_no_sideways_scrolling(page, site_page)
    screenshot(page, f"{site_page.name}-390px")


def test_it_has_no_horizontal_overflow_on_the_login_page_at_390_px(
    transactional_db, live_server, new_context, screenshot
):
    page = new_context(PHONE).new_page()
    page.goto(f"{live_server.url}{LOGIN_PAGE.path}")

    assert_no_sideways_scrolling(page, LOGIN_PAGE)
    screenshot(page, "login-390px")
