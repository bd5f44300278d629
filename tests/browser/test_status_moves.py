"""Moving SI-001 along its lifecycle with the status buttons on its page."""

import re

from django.contrib.auth.models import Group
from playwright.sync_api import expect

from findings.roles import VIEWER


def test_it_moves_a_finding_along_and_refuses_done_with_unticked_items(
    logged_in_page, live_server, reviewer, catalogue
):
    page = logged_in_page("reviewer")
    page.goto(f"{live_server.url}/findings/SI-001/")
    expect(page.get_by_role("heading", name="Status: Planned")).to_be_visible()
    page.evaluate("window.__marker = 1")

    page.get_by_role("button", name="Move to in progress").click()

    expect(page.get_by_role("heading", name="Status: In progress")).to_be_visible()
    assert page.evaluate("window.__marker") == 1, "moving the status reloaded the page"

    page.get_by_role("button", name="Move to in review").click()

    expect(page.get_by_role("heading", name="Status: In review")).to_be_visible()
    done = page.get_by_role("button", name="Move to done")
    expect(done).to_have_accessible_description(
        re.compile(r"“Real database integration tests pass” is not ticked\.")
    )

    done.click()

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("SI-001 cannot move to done.")
    expect(alert).to_contain_text("“Real database integration tests pass” is not ticked.")
    expect(page.get_by_role("heading", name="Status: In review")).to_be_visible()
    assert page.evaluate("window.__marker") == 1, "the refusal reloaded the page"

    page.reload()

    expect(page.get_by_role("heading", name="Status: In review")).to_be_visible()
    history = page.get_by_role("region", name="History")
    expect(history.get_by_text(re.compile(r"^moved from "))).to_have_count(2)


def test_it_keeps_the_status_panel_when_a_withdrawn_role_refuses_the_move(
    logged_in_page, live_server, reviewer, catalogue
):
    page = logged_in_page("reviewer")
    page.goto(f"{live_server.url}/findings/SI-001/")
    # The reviewer becomes a viewer while their page still offers the status buttons.
    reviewer.groups.set([Group.objects.get(name=VIEWER)])

    page.get_by_role("button", name="Move to in progress").click()

    expect(page.get_by_role("alert")).to_contain_text("findings.change_finding_status")
    expect(page.get_by_role("heading", name="Status: Planned")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Status: Planned")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Move to "))).to_have_count(0)
