"""A finding's code is coloured in light and dark mode, from a stylesheet the CSP allows."""

import pytest
from playwright.sync_api import expect


@pytest.mark.parametrize(
    ("color_scheme", "keyword_colour"),
    [("light", "rgb(169, 13, 145)"), ("dark", "rgb(102, 217, 239)")],
)
def test_it_colours_a_findings_code_keywords_in_each_color_scheme(
    logged_in_page, live_server, viewer, catalogue, color_scheme, keyword_colour
):
    page = logged_in_page("viewer")
    page.emulate_media(color_scheme=color_scheme)

    page.goto(f"{live_server.url}/findings/SI-001/")

    expect(page.locator(".highlight .k").first).to_have_css("color", keyword_colour)
