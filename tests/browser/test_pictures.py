"""The dependency graph and the burndown show as pictures on a desktop and a phone."""

import pytest
from playwright.sync_api import Page, expect

from findings.models import ChecklistItem
from tests.browser.conftest import DESKTOP, PHONE
from tests.phase_work import tick

VIEWPORTS = {"1280": DESKTOP, "390": PHONE}


def assert_visible_picture(page: Page, name: str, viewport: dict[str, int]) -> None:
    """The picture `name` is drawn, at a readable size, inside the screen's width."""
    # The graph holds links, so it is a group of them; the burndown is a plain image.
    picture = page.get_by_role("img", name=name).or_(page.get_by_role("group", name=name))
    expect(picture).to_be_visible()
    box = picture.bounding_box()
    assert box["height"] >= 60, f"{name} is {box['height']} px tall"
    assert box["width"] >= min(300, viewport["width"] - 80)
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= viewport["width"]


@pytest.mark.parametrize("width", VIEWPORTS)
def test_it_shows_the_graph_and_burndown_on_the_phase_page(
    logged_in_page, live_server, reviewer, catalogue, screenshot, width
):
    tick(ChecklistItem.objects.get(finding__code="SI-001", position=1), reviewer)
    page = logged_in_page("reviewer", viewport=VIEWPORTS[width])
    page.goto(f"{live_server.url}/phases/2A/")

    assert_visible_picture(page, "Dependency graph of phase 2A", VIEWPORTS[width])
    assert_visible_picture(page, "Progress of phase 2A", VIEWPORTS[width])
    screenshot(page, f"pictures-phase-{width}px")

    page.get_by_text("The graph as a list").click()
    expect(page.locator(".graph-list").get_by_role("link", name="SI-001")).to_be_visible()
    page.get_by_text("The figures as a table").click()
    expect(page.locator(".burndown-table")).to_be_visible()


@pytest.mark.parametrize("width", VIEWPORTS)
def test_it_shows_the_plans_burndown_on_the_dashboard(
    logged_in_page, live_server, reviewer, catalogue, width
):
    tick(ChecklistItem.objects.get(finding__code="SI-001", position=1), reviewer)
    page = logged_in_page("reviewer", viewport=VIEWPORTS[width])
    page.goto(f"{live_server.url}/")

    assert_visible_picture(page, "Progress of the plan", VIEWPORTS[width])
    expect(page.locator("#burndown-summary")).to_contain_text("items ticked went from 0 to 1")


@pytest.mark.parametrize("width", VIEWPORTS)
def test_it_links_each_node_of_the_readme_graph_to_its_finding(
    logged_in_page, live_server, reviewer, catalogue, screenshot, width
):
    page = logged_in_page("reviewer", viewport=VIEWPORTS[width])
    page.goto(f"{live_server.url}/documents/README.md/")

    assert_visible_picture(page, "Dependency graph of the plan", VIEWPORTS[width])
    screenshot(page, f"pictures-readme-{width}px")
    page.locator('svg a[href="/findings/BL-005/"]').click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("BL-005")
    # The heading can be in the DOM before the stylesheet that scales the picture has loaded.
    page.wait_for_load_state("load")
    assert_visible_picture(page, "Dependencies of BL-005", VIEWPORTS[width])
