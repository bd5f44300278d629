"""axe-core finds no serious or critical accessibility violation on any page, light or dark.

axe-core comes from the npm registry (package.json, `npm ci` in scripts/test-all) into
node_modules/. It is added as an init script, through the browser's DevTools protocol: the
pages' Content-Security-Policy refuses the inline <script> that add_script_tag would insert.
"""

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.site_pages import LOGGED_IN_PAGES, LOGIN_PAGE, SitePage

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}
RUN_AXE = """async () => {
    const results = await axe.run(document, {resultTypes: ["violations"]});
    return results.violations.map(violation => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        targets: violation.nodes.slice(0, 5).map(node => node.target.join(" ")),
    }));
}"""


def with_axe(context: BrowserContext) -> BrowserContext:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` in the project folder (scripts/test-all does)")
    context.add_init_script(path=AXE)
    return context


def blocking_violations(page: Page, site_page: SitePage) -> list[str]:
    """The serious and critical violations on the page, in light and in dark mode."""
    found = []
    for scheme in ["light", "dark"]:
        page.emulate_media(color_scheme=scheme)
        expect(page.get_by_role("heading", name=site_page.heading, level=1)).to_be_visible()
        found += [
            f"{site_page.path} ({scheme}): {violation['impact']} {violation['id']}: "
            f"{violation['help']} at {violation['targets']}"
            for violation in page.evaluate(RUN_AXE)
            if violation["impact"] in BLOCKING_IMPACTS
        ]
    return found


@pytest.mark.parametrize("site_page", LOGGED_IN_PAGES, ids=lambda site_page: site_page.name)
def test_it_has_no_serious_accessibility_violation(
    logged_in_page, live_server, reviewer, catalogue, site_page
):
    page = logged_in_page("reviewer")
    with_axe(page.context)
    page.goto(f"{live_server.url}{site_page.path}")

    violations = blocking_violations(page, site_page)

    assert not violations, "\n".join(violations)


def test_it_has_no_serious_accessibility_violation_on_the_login_page(
    transactional_db, live_server, new_context
):
    page = with_axe(new_context()).new_page()
    page.goto(f"{live_server.url}{LOGIN_PAGE.path}")

    violations = blocking_violations(page, LOGIN_PAGE)

    assert not violations, "\n".join(violations)
