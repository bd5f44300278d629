"""The Content-Security-Policy in Chromium: injected inline code does not run; the app's does.

Every page records the policy violations Chromium reports, from a script Playwright installs
before the page's own (the policy does not apply to it), and the console's complaints.
"""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from findings.models import Finding

ITEM = "Real database integration tests pass"
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
    window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
INJECT_INLINE_SCRIPT = """
() => {
    const script = document.createElement("script");
    script.textContent = "window.__injected = true;";
    document.head.append(script);
}
"""
INJECT_INLINE_HANDLER = """
() => {
    const button = document.createElement("button");
    button.id = "injected-button";
    button.textContent = "Injected";
    button.setAttribute("onclick", "window.__injected = true;");
    document.body.append(button);
}
"""


def watched(page: Page) -> list[str]:
    """Record the page's policy violations and console errors; returns the console's list."""
    page.add_init_script(RECORD_VIOLATIONS)
    console_errors: list[str] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    return console_errors


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__violations")


@pytest.fixture
def watched_page(logged_in_page) -> Callable[[str], tuple[Page, list[str]]]:
    def open_watched(username: str) -> tuple[Page, list[str]]:
        page = logged_in_page(username)
        return page, watched(page)

    return open_watched


def test_it_refuses_an_inline_script_injected_into_a_page(
    watched_page, live_server, reviewer, catalogue
):
    page, console_errors = watched_page("reviewer")
    page.goto(f"{live_server.url}/findings/SI-001/")
    expect(page.get_by_label(ITEM, exact=True)).to_be_enabled()

    page.evaluate(INJECT_INLINE_SCRIPT)

    page.wait_for_function("window.__violations.length > 0")
    assert violations(page) == ["script-src-elem inline"]
    assert page.evaluate("window.__injected") is None
    assert any("Content Security Policy" in error for error in console_errors)


def test_it_refuses_an_inline_event_handler_injected_into_a_page(
    watched_page, live_server, reviewer, catalogue
):
    page, _ = watched_page("reviewer")
    page.goto(f"{live_server.url}/findings/")
    page.evaluate(INJECT_INLINE_HANDLER)

    page.locator("#injected-button").click()

    page.wait_for_function("window.__violations.length > 0")
    assert violations(page) == ["script-src-attr inline"]
    assert page.evaluate("window.__injected") is None


def test_it_ticks_an_item_over_htmx_with_no_violation(
    watched_page, live_server, reviewer, catalogue
):
    page, console_errors = watched_page("reviewer")
    page.goto(f"{live_server.url}/findings/SI-001/")
    box = page.get_by_label(ITEM, exact=True)

    box.click()

    expect(page.get_by_text("ticked by reviewer")).to_be_visible()
    expect(page.get_by_text("Checklist: 1 of 13 ticked")).to_be_visible()
    expect(box).to_be_checked()
    assert violations(page) == []
    assert console_errors == []


def test_it_filters_the_findings_table_over_htmx_with_no_violation(
    watched_page, live_server, reviewer, catalogue
):
    page, console_errors = watched_page("reviewer")
    page.goto(f"{live_server.url}/findings/")

    page.get_by_label("Phase").select_option("2A")

    expect(page).to_have_url(re.compile(r"[?&]phase=2A(&|$)"))
    expect(page.get_by_role("status")).to_have_text("Findings 1–3 of 3")
    page.get_by_role("columnheader", name="Code").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=-code(&|$)"))
    assert violations(page) == []
    assert console_errors == []


def test_it_shows_the_app_pages_with_no_violation(watched_page, live_server, reviewer, catalogue):
    page, console_errors = watched_page("reviewer")

    for path in ["/", "/phases/2A/", "/audit/", "/documents/", "/accounts/password_change/"]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        assert violations(page) == [], path
    assert console_errors == []


def test_it_lets_the_admin_work_with_no_violation(watched_page, live_server, admin_user, catalogue):
    page, console_errors = watched_page("admin")
    finding = Finding.objects.get(code="SI-001")
    pages = [
        "/admin/",
        "/admin/findings/finding/",
        f"/admin/findings/finding/{finding.pk}/change/",
        "/admin/findings/finding/add/",
        "/admin/auth/user/",
        "/admin/auth/group/add/",
        "/admin/findings/auditevent/",
    ]

    for path in pages:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        assert violations(page) == [], path
    # The admin's own scripts ran: the theme toggle and the action checkboxes are wired up.
    page.goto(f"{live_server.url}/admin/findings/finding/")
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("selected")
    assert violations(page) == []
    assert console_errors == []
