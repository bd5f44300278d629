"""A pipeline ticks an item through the API with a real token; the finding page shows its run."""

import re

import httpx
from playwright.sync_api import expect

from tests.api.conftest import bearer, raw_token

RUN_URL = "https://ci.example/domainflow/actions/runs/812"


def test_it_shows_a_ci_ticks_run_and_commit_beside_the_item(
    logged_in_page, live_server, viewer, ci_bot, catalogue, screenshot
):
    response = httpx.put(
        f"{live_server.url}/api/v1/findings/SI-001/checklist/go-test-race",
        json={
            "checked": True,
            "evidence": {"url": RUN_URL, "commit": "3f2c9a1b7e44", "summary": "run #812"},
        },
        headers=bearer(raw_token(ci_bot, name="ci-pipeline")),
    )
    assert response.status_code == 200

    page = logged_in_page("viewer")
    page.goto(f"{live_server.url}/findings/SI-001/")

    # The item's row, found by its key, which the page shows beside it.
    row = page.locator("form", has=page.locator("code.item-key", has_text="go-test-race"))
    expect(row.get_by_role("checkbox")).to_be_checked()
    expect(row).to_contain_text(
        re.compile(r"ticked by ci-bot,\s+\S+ \S+ UTC\s+· run #812\s+· commit 3f2c9a1\s")
    )
    run = row.get_by_role("link", name="run #812")
    expect(run).to_have_attribute("href", RUN_URL)
    expect(row.locator("code[title='3f2c9a1b7e44']")).to_have_text("3f2c9a1")
    screenshot(page, "ci-evidence")
