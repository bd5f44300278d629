"""The findings table: filtering and sorting swap only the table, and the URL keeps up."""

import re

from playwright.sync_api import Page, expect

PHASE_2A = ["BF-002", "SI-001", "SI-002"]


def row_codes(page: Page):
    """The code cells of the table's rows, in the order shown."""
    return page.get_by_role("table").locator("tbody tr td:first-child")


def test_it_filters_sorts_and_goes_back_without_reloading(
    logged_in_page, live_server, reviewer, catalogue, screenshot
):
    page = logged_in_page("reviewer")
    page.goto(f"{live_server.url}/findings/")
    expect(page.get_by_role("status")).to_have_text("Findings 1–25 of 30")
    page.evaluate("window.__marker = 1")

    page.get_by_label("Phase").select_option("2A")

    expect(page).to_have_url(re.compile(r"[?&]phase=2A(&|$)"))
    expect(row_codes(page)).to_have_text(PHASE_2A)
    expect(page.get_by_role("status")).to_have_text("Findings 1–3 of 3")
    assert page.evaluate("window.__marker") == 1, "filtering reloaded the page"
    screenshot(page, "findings-table")

    page.get_by_role("columnheader", name="Code").get_by_role("link").click()

    expect(page).to_have_url(re.compile(r"[?&]sort=-code(&|$)"))
    expect(row_codes(page)).to_have_text(list(reversed(PHASE_2A)))
    expect(page.get_by_role("columnheader", name="Code")).to_have_attribute(
        "aria-sort", "descending"
    )
    assert "phase=2A" in page.url, "sorting dropped the filter"
    assert page.evaluate("window.__marker") == 1, "sorting reloaded the page"
    sorted_url = page.url

    page.go_back()

    expect(page).to_have_url(re.compile(r"[?&]phase=2A(&|$)"))
    assert "sort=-code" not in page.url
    expect(row_codes(page)).to_have_text(PHASE_2A)
    assert page.evaluate("window.__marker") == 1, "going back reloaded the page"

    copy = page.context.new_page()
    copy.goto(sorted_url)

    expect(row_codes(copy)).to_have_text(list(reversed(PHASE_2A)))
    expect(copy.get_by_label("Phase")).to_have_value("2A")
