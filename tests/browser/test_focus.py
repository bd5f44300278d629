"""Keyboard focus stays on the control that an htmx swap replaced."""

import re

from playwright.sync_api import expect

ITEM = "Real database integration tests pass"


def test_it_keeps_focus_on_the_ticked_checkbox_after_the_swap(
    logged_in_page, live_server, reviewer, catalogue
):
    page = logged_in_page("reviewer")
    page.goto(f"{live_server.url}/findings/SI-001/")
    expect(page.get_by_role("heading", name=re.compile(r"^SI-001 "), level=1)).to_be_visible()
    box = page.get_by_label(ITEM, exact=True)
    box.focus()

    with page.expect_response(lambda response: "/checklist/" in response.url):
        page.keyboard.press("Space")

    expect(page.get_by_text("Checklist: 1 of 13 ticked")).to_be_visible()
    expect(box).to_be_checked()
    expect(box).to_be_focused()

    # Focus is on the new checkbox, not merely somewhere: the next key press unticks it.
    with page.expect_response(lambda response: "/checklist/" in response.url):
        page.keyboard.press("Space")

    expect(page.get_by_text("Checklist: 0 of 13 ticked")).to_be_visible()
    expect(box).not_to_be_checked()
    expect(box).to_be_focused()
