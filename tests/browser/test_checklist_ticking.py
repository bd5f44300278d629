"""Ticking SI-001's checklist on its page: in place, persisted, guarded, aware of conflicts."""

import re

from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from findings.roles import VIEWER

ITEM = "Real database integration tests pass"
OTHER_ITEM = "`go test ./... -race` passes with zero data races"
# The label renders the backticks as code, so its accessible name has none.
OTHER_ITEM_LABEL = OTHER_ITEM.replace("`", "")


def open_si_001(page: Page, live_server) -> Page:
    page.goto(f"{live_server.url}/findings/SI-001/")
    expect(page.get_by_role("heading", name=re.compile(r"^SI-001 "), level=1)).to_be_visible()
    return page


def test_it_ticks_an_item_in_place_and_keeps_it(
    logged_in_page, live_server, reviewer, catalogue, screenshot
):
    page = open_si_001(logged_in_page("reviewer"), live_server)
    box = page.get_by_label(ITEM, exact=True)
    expect(box).not_to_be_checked()
    expect(page.get_by_text("Checklist: 0 of 13 ticked")).to_be_visible()
    page.evaluate("window.__marker = 1")

    box.click()

    expect(box).to_be_checked()
    expect(page.get_by_text("ticked by reviewer")).to_be_visible()
    expect(page.get_by_text("Checklist: 1 of 13 ticked")).to_be_visible()
    expect(page.get_by_label(OTHER_ITEM_LABEL, exact=True)).not_to_be_checked()
    assert page.evaluate("window.__marker") == 1, "ticking reloaded the page"

    page.reload()

    expect(page.get_by_label(ITEM, exact=True)).to_be_checked()
    expect(page.get_by_text("Checklist: 1 of 13 ticked")).to_be_visible()
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("listitem").first).to_contain_text(
        re.compile(rf"reviewer\s+ticked\b.*{ITEM}", re.S)
    )
    screenshot(page, "finding-1280px")


def test_it_shows_a_viewer_the_checklist_without_controls(
    logged_in_page, live_server, viewer, catalogue
):
    page = open_si_001(logged_in_page("viewer"), live_server)

    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(13)
    for box in boxes.all():
        expect(box).to_be_disabled()
    expect(page.get_by_role("button", name=re.compile(r"^Move to "))).to_have_count(0)


def test_it_keeps_the_item_on_the_page_when_a_withdrawn_role_refuses_the_tick(
    logged_in_page, live_server, reviewer, catalogue
):
    page = open_si_001(logged_in_page("reviewer"), live_server)
    # The reviewer becomes a viewer while their page still offers the checkboxes.
    reviewer.groups.set([Group.objects.get(name=VIEWER)])

    page.get_by_label(ITEM, exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text("findings.tick_checklistitem")
    expect(page.get_by_label(ITEM, exact=True)).not_to_be_checked()
    page.reload()
    expect(page.get_by_label(ITEM, exact=True)).not_to_be_checked()
    expect(page.get_by_label(ITEM, exact=True)).to_be_disabled()


def test_it_names_who_changed_an_item_when_a_stale_page_ticks_it(
    logged_in_page, live_server, reviewer, lead, catalogue, screenshot
):
    first = open_si_001(logged_in_page("reviewer"), live_server)
    stale = open_si_001(logged_in_page("lead"), live_server)
    # The lead's first tick in 2A asks whether to give up signing it (test_signing_bar_warning).
    stale.on("dialog", lambda dialog: dialog.accept())
    first_box = first.get_by_label(ITEM, exact=True)
    first_box.click()
    # The ticked-by line comes from the server, so the tick's swap is done before unticking.
    expect(first.get_by_text("ticked by reviewer")).to_be_visible()
    first_box.click()
    expect(first_box).not_to_be_checked()
    expect(first.get_by_text("ticked by reviewer")).to_have_count(0)

    # The stale page still shows the item at the version it loaded with, before both changes.
    stale_box = stale.get_by_label(ITEM, exact=True)
    stale_box.click()

    alert = stale.get_by_role("alert")
    expect(alert).to_contain_text(
        re.compile(r"reviewer unticked this item at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
    )
    expect(alert).to_contain_text("Your change was not applied")
    expect(stale_box).not_to_be_checked()
    expect(stale.get_by_text("ticked by")).to_have_count(0)
    screenshot(stale, "conflict")

    # The refusal showed the item as it is now, so ticking again applies.
    stale_box.click()

    expect(stale_box).to_be_checked()
    expect(stale.get_by_text("ticked by lead")).to_be_visible()
    expect(stale.get_by_role("alert")).to_have_count(0)
