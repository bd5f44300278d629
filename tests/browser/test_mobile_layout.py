"""At a phone's width (390 px) the pages reflow instead of scrolling sideways."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE

OVERFLOW = "[document.documentElement.scrollWidth, window.innerWidth]"


@pytest.mark.parametrize(
    ("name", "path", "heading"),
    [
        ("dashboard", "/", "Where the audit stands"),
        ("finding", "/findings/SI-001/", "SI-001 Enhanced Transaction Management Anti-patterns"),
        ("findings-table", "/findings/", "Findings"),
    ],
)
def test_it_has_no_horizontal_page_overflow_at_390_px(
    logged_in_page, live_server, reviewer, catalogue, screenshot, name, path, heading
):
    page = logged_in_page("reviewer", viewport=PHONE)
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()

    scroll_width, inner_width = page.evaluate(OVERFLOW)

    assert scroll_width <= inner_width + 1, f"{path} is {scroll_width} px wide in {inner_width} px"
    screenshot(page, f"{name}-390px")
