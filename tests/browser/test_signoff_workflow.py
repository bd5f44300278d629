"""The signoff team's day: the whole Phase 2A workflow with reviewer, lead and lead2.

The lead ticks one item, which bars them from signing; the reviewer does the rest of 2A's work
and requests signoff; lead2, who ticked nothing, receives the mail through a real SMTP server,
opens its link, confirms and signs; 2B unlocks.
"""

import re

from django.core.management import call_command
from playwright.sync_api import Page, expect

from findings.models import Signoff
from tests.browser.phase_work import finish_finding

PHASE_2A = ["BF-002", "SI-001", "SI-002"]


def with_email(*users) -> None:
    for user in users:
        user.email = f"{user.get_username()}@example.org"
        user.save(update_fields=["email"])


def tick_first_item_accepting_the_warning(page: Page, base_url: str, code: str) -> list[str]:
    """Tick the first item of `code` as a signoff lead; return the questions the page asked."""
    questions: list[str] = []

    def accept(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.goto(f"{base_url}/findings/{code}/")
    box = page.locator(".checklist input[type=checkbox]").first
    with page.expect_response(lambda response: "/checklist/" in response.url):
        box.check()
    expect(box).to_be_checked()
    expect(page.get_by_text("ticked by lead")).to_be_visible()
    page.remove_listener("dialog", accept)
    return questions


def test_a_reviewer_requests_signoff_and_the_independent_lead_signs_from_the_mail(
    logged_in_page, live_server, settings, smtp_server, reviewer, lead, lead2, catalogue
):
    base_url = live_server.url
    settings.SITE_URL = base_url
    with_email(reviewer, lead, lead2)

    lead_page = logged_in_page("lead")
    questions = tick_first_item_accepting_the_warning(lead_page, base_url, "SI-001")
    assert len(questions) == 1
    assert "2A" in questions[0]

    reviewer_page = logged_in_page("reviewer")
    for code in PHASE_2A:
        finish_finding(reviewer_page, base_url, code)

    lead_page.goto(f"{base_url}/phases/2A/")
    gate = lead_page.get_by_role("region", name="Signoff gate")
    expect(gate).to_contain_text("Ready to sign off")
    expect(gate).to_contain_text("You cannot sign: Items of SI-001 in this phase stand ticked by")
    expect(gate).to_contain_text("lead2 can.")
    expect(gate.get_by_role("link", name="Sign off phase 2A")).to_have_count(0)

    reviewer_page.goto(f"{base_url}/phases/2A/")
    reviewer_page.get_by_role("button", name="Request signoff").click()
    expect(reviewer_page.get_by_text("Signoff requested from lead2.")).to_be_visible()

    call_command("send_notifications", "--once")
    received = {message["To"]: message for message in smtp_server.mailbox.messages}
    assert "lead@example.org" not in received
    request = received["lead2@example.org"]
    link = re.search(r"http://\S+/phases/2A/", request.get_content())
    assert link is not None

    lead2_page = logged_in_page("lead2")
    lead2_page.goto(link.group(0))
    lead2_page.get_by_role("link", name="Sign off phase 2A").click()
    confirmation = lead2_page.locator("#signoff-confirmation")
    expect(confirmation).to_contain_text("3 findings with 39 checklist items.")
    for code in PHASE_2A:
        expect(confirmation).to_contain_text(code)
    lead2_page.get_by_label("Signoff comment").fill("Checked 2A against the CI runs.")
    lead2_page.get_by_role("button", name="Confirm signoff").click()
    expect(lead2_page.get_by_text("Signed off by lead2")).to_be_visible()
    assert Signoff.objects.active().get(phase__code="2A").signed_by == lead2

    reviewer_page.goto(f"{base_url}/findings/BL-006/")
    first_2b_item = reviewer_page.locator(".checklist input[type=checkbox]").first
    expect(first_2b_item).to_be_enabled()
