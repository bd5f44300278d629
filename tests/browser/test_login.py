"""Logging in through the browser, and the dashboard it lands on."""

import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD

PHASE_HEADINGS = [
    "Phase 2A · Foundation",
    "Phase 2B · Security",
    "Phase 2C · Performance",
    "Phase 2D · Architecture",
]


def test_it_sends_an_anonymous_visitor_to_the_login_page(anonymous_page, live_server):
    page = anonymous_page
    page.goto(f"{live_server.url}/")

    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)


def test_it_refuses_a_wrong_password_with_a_visible_error(anonymous_page, live_server, reviewer):
    page = anonymous_page
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_it_shows_the_dashboard_after_the_right_password(
    anonymous_page, live_server, reviewer, catalogue, screenshot
):
    page = anonymous_page
    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill("reviewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Where the audit stands")).to_be_visible()
    phase_headings = page.get_by_role("heading", level=2).filter(has_text="Phase ")
    expect(phase_headings).to_have_text(PHASE_HEADINGS)
    completed = page.get_by_role("region", name="Completed before this plan")
    expect(completed.get_by_role("link")).to_have_count(7)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    screenshot(page, "dashboard")
