"""A signoff lead ticking in phase 2A is warned that it bars them from signing 2A, asked once."""

import re

from playwright.sync_api import Page, expect

from findings.models import ChecklistItem

ITEM = "Real database integration tests pass"
OTHER_ITEM = "`go test ./... -race` passes with zero data races"
# The label renders the backticks as code, so its accessible name has none.
OTHER_ITEM_LABEL = OTHER_ITEM.replace("`", "")
QUESTION = (
    "Ticking an item of phase 2A bars you from signing phase 2A off. "
    "Tick it and give up signing 2A?"
)


def open_si_001(page: Page, live_server) -> Page:
    page.goto(f"{live_server.url}/findings/SI-001/")
    expect(page.get_by_role("heading", name=re.compile(r"^SI-001 "), level=1)).to_be_visible()
    return page


def ticked(text: str) -> bool:
    return ChecklistItem.objects.get(finding__code="SI-001", text=text).checked


def test_it_asks_a_signoff_lead_once_before_the_first_tick(
    logged_in_page, live_server, lead, catalogue
):
    page = open_si_001(logged_in_page("lead"), live_server)
    expect(page.locator("#signing-bar-warning")).to_contain_text(
        "ticking an item here bars you from signing phase 2A off"
    )
    questions = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    first, second = (
        page.get_by_label(ITEM, exact=True),
        page.get_by_label(OTHER_ITEM_LABEL, exact=True),
    )

    first.click()
    expect(page.get_by_text("ticked by lead")).to_have_count(1)
    second.click()
    expect(page.get_by_text("ticked by lead")).to_have_count(2)
    # Unticking never asks.
    second.click()
    expect(page.get_by_text("ticked by lead")).to_have_count(1)

    assert questions == [QUESTION]
    assert ticked(ITEM)
    assert not ticked(OTHER_ITEM)


def test_it_leaves_the_item_unticked_when_the_lead_declines(
    logged_in_page, live_server, lead, catalogue
):
    page = open_si_001(logged_in_page("lead"), live_server)
    questions = []

    def decline(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", decline)
    box = page.get_by_label(ITEM, exact=True)

    box.click()
    expect(box).not_to_be_checked()
    # Declined, it asks again at the next tick.
    box.click()
    expect(box).not_to_be_checked()

    assert questions == [QUESTION, QUESTION]
    assert not ticked(ITEM)


def test_it_does_not_ask_a_reviewer(logged_in_page, live_server, reviewer, catalogue):
    page = open_si_001(logged_in_page("reviewer"), live_server)
    page.on("dialog", lambda dialog: dialog.dismiss())
    expect(page.locator("#signing-bar-warning")).to_have_count(0)

    page.get_by_label(ITEM, exact=True).click()

    expect(page.get_by_text("ticked by reviewer")).to_be_visible()
    assert ticked(ITEM)
