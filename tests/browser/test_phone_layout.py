"""The phone layout (390 px): one-line header with a menu, the findings table's four columns,
the status panel first, and touch targets a finger can hit."""

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE

TOUCH_TARGET_PX = 44
CONTROLS = (
    "button, summary, select, input[type=checkbox], .site-header nav a, .data-table a,"
    " .pagination a"
)
# The size of every control on the page that is drawn (display: none has no box).
CONTROL_SIZES = """selector => [...document.querySelectorAll(selector)]
    .map(element => [element.outerHTML.slice(0, 80), element.getBoundingClientRect()])
    .filter(([, box]) => box.width > 0 && box.height > 0)
    .map(([html, box]) => [html, box.width, box.height])"""


def box_of(page: Page, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not drawn"
    return box


def test_it_fits_the_header_on_one_line_and_folds_the_menu_behind_a_button_on_a_phone(
    logged_in_page, live_server, reviewer, catalogue
):
    page = logged_in_page("reviewer", viewport=PHONE)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit log")).to_be_hidden()
    brand, menu = box_of(page, ".brand"), box_of(page, ".site-menu > summary")

    assert brand["y"] < menu["y"] + menu["height"] and menu["y"] < brand["y"] + brand["height"]
    assert box_of(page, ".site-header")["height"] <= 2 * TOUCH_TARGET_PX

    page.get_by_text("Menu", exact=True).click()
    nav.get_by_role("link", name="Audit log").click()

    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()

    # A desktop shows the same menu open, in the header's one line, without the button.
    page.set_viewport_size(DESKTOP)
    expect(page.locator(".site-menu > summary")).to_be_hidden()
    for name in ["Dashboard", "Findings", "Audit log", "Documents", "Settings"]:
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert box_of(page, ".site-header")["height"] <= 2 * TOUCH_TARGET_PX


def test_it_keeps_code_title_phase_and_status_of_the_findings_table_on_screen(
    logged_in_page, live_server, reviewer, catalogue, screenshot
):
    page = logged_in_page("reviewer", viewport=PHONE)
    page.goto(f"{live_server.url}/findings/")
    headers = page.locator("#finding-table th")
    expect(headers.filter(visible=True)).to_have_text(
        [re.compile(name) for name in ("Code", "Title", "Phase", "Status")]
    )

    inner_width = page.evaluate("window.innerWidth")
    for header in headers.filter(visible=True).all():
        box = header.bounding_box()
        assert box is not None and box["x"] + box["width"] <= inner_width, header.inner_text()
    scroll_width, client_width = page.locator("#finding-table .table-container").evaluate(
        "container => [container.scrollWidth, container.clientWidth]"
    )
    assert scroll_width <= client_width
    screenshot(page, "findings-table-390px")


def test_it_puts_the_status_panel_before_the_facts_on_a_phone(
    logged_in_page, live_server, reviewer, catalogue
):
    page = logged_in_page("reviewer", viewport=PHONE)
    page.goto(f"{live_server.url}/findings/SI-001/")
    expect(page.get_by_role("button", name="Move to in progress")).to_be_visible()

    status, facts = box_of(page, "#status-panel"), box_of(page, ".facts")

    assert status["y"] + status["height"] <= facts["y"]


def test_it_makes_every_control_a_44_px_touch_target_on_a_phone(
    logged_in_page, live_server, reviewer, catalogue
):
    page = logged_in_page("reviewer", viewport=PHONE)
    small = []
    for path in ["/findings/SI-001/", "/findings/"]:
        page.goto(f"{live_server.url}{path}")
        page.get_by_text("Menu", exact=True).click()
        sizes = page.evaluate(CONTROL_SIZES, CONTROLS)
        assert len(sizes) > 10, f"{path} shows only {len(sizes)} controls"
        small += [
            (path, html, round(width), round(height))
            for html, width, height in sizes
            if width < TOUCH_TARGET_PX or height < TOUCH_TARGET_PX
        ]

    assert small == [], "\n".join(map(str, small))
