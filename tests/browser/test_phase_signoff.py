"""The Phase 2A gate end to end: a reviewer finishes 2A, a lead signs it, a reopening revokes it."""

from playwright.sync_api import expect

from findings.models import Finding
from tests.browser.phase_work import finish_finding

PHASE_2A = ["BF-002", "SI-001", "SI-002"]
LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."


def test_the_2a_gate_locks_2b_until_signed_and_reopening_a_finding_revokes_it(
    logged_in_page, live_server, reviewer, lead, catalogue
):
    base_url = live_server.url
    reviewer_page = logged_in_page("reviewer")
    for code in PHASE_2A:
        finish_finding(reviewer_page, base_url, code)
    assert set(Finding.objects.filter(phase__code="2A").values_list("status", flat=True)) == {
        "done"
    }

    reviewer_page.goto(f"{base_url}/findings/BL-006/")
    expect(reviewer_page.get_by_role("note").first).to_contain_text(LOCKED_BY_2A)
    expect(reviewer_page.locator(".checklist input[type=checkbox]").first).to_be_disabled()

    lead_page = logged_in_page("lead")
    lead_page.goto(f"{base_url}/phases/2A/")
    expect(lead_page.get_by_text("Ready to sign off")).to_be_visible()
    lead_page.get_by_role("link", name="Sign off phase 2A").click()
    confirmation = lead_page.get_by_role("region", name="What you approve")
    expect(confirmation).to_contain_text("3 findings with 39 checklist items.")
    lead_page.get_by_label("Signoff comment").fill("Checked every 2A item against CI.")
    lead_page.get_by_role("button", name="Confirm signoff").click()
    expect(lead_page.get_by_text("Signed off by lead")).to_be_visible()
    expect(lead_page.get_by_text("today's content still matches.")).to_be_visible()

    reviewer_page.goto(f"{base_url}/findings/BL-006/")
    first_2b_item = reviewer_page.locator(".checklist input[type=checkbox]").first
    expect(first_2b_item).to_be_enabled()
    first_2b_item.check()
    expect(first_2b_item).to_be_checked()
    expect(reviewer_page.get_by_text("ticked by reviewer")).to_be_visible()

    # A done finding keeps its items ticked: it goes back to in review first, then unticks.
    reviewer_page.goto(f"{base_url}/findings/SI-001/")
    reviewer_page.get_by_role("button", name="Move to in review").click()
    expect(reviewer_page.get_by_role("heading", name="Status: In review")).to_be_visible()
    first_2a_item = reviewer_page.locator(".checklist input[type=checkbox]").first
    # The box unticks in the browser at once; leave the page only once the server has answered.
    with reviewer_page.expect_response(lambda response: "/checklist/" in response.url):
        first_2a_item.uncheck()
    expect(first_2a_item).not_to_be_checked()

    reviewer_page.goto(f"{base_url}/phases/2A/")
    gate = reviewer_page.get_by_role("region", name="Signoff gate")
    expect(gate).to_contain_text("Not ready to sign off")
    expect(gate).to_contain_text("revoked automatically")
    expect(gate).to_contain_text("SI-001: status done → in_review.")
    expect(gate).to_contain_text("“go test ./... -race passes with zero data races” is not ticked.")

    reviewer_page.goto(f"{base_url}/findings/BL-006/")
    expect(reviewer_page.get_by_role("note").first).to_contain_text(LOCKED_BY_2A)
    expect(reviewer_page.locator(".checklist input[type=checkbox]").first).to_be_disabled()
