"""The audit log shows what a pipeline reported with a tick: its run as a link, and the commit."""

from findings.audit_display import event_evidence, field_changes
from findings.models import AuditEvent, ChecklistItem
from findings.services.checklist import Evidence, checklist_item_set
from tests.helpers import context_for


def report(user, checked: bool, evidence: Evidence) -> AuditEvent:
    item = ChecklistItem.objects.get(finding__code="SI-001", key="go-test-race")
    checklist_item_set(
        item_id=item.pk,
        checked=checked,
        expected_version=None,
        context=context_for(user),
        evidence=evidence,
    )
    return AuditEvent.objects.order_by("-sequence").first()


def test_it_shows_a_ticks_run_as_a_link_and_its_short_commit(viewer_client, ci_bot):
    report(
        ci_bot,
        True,
        Evidence(url="https://ci.example/runs/812", commit="3f2c9a1b7e", summary="run #812"),
    )

    content = viewer_client.get("/audit/?action=checklist_item.ticked").content.decode()

    assert (
        '· <a href="https://ci.example/runs/812" rel="noopener noreferrer nofollow" '
        'target="_blank">run #812</a> · commit <code title="3f2c9a1b7e">3f2c9a1</code>'
    ) in content
    assert "evidence url" not in content


def test_it_links_no_other_scheme(viewer_client, ci_bot):
    report(ci_bot, True, Evidence(url="ftp://ci.example/runs/812", commit="3f2c9a1"))

    content = viewer_client.get("/audit/?action=checklist_item.ticked").content.decode()

    assert "· ftp://ci.example/runs/812 · commit" in content
    assert 'href="ftp:' not in content


def test_it_reads_the_evidence_of_an_untick_and_lists_no_evidence_field(catalogue, ci_bot):
    report(ci_bot, True, Evidence(summary="run #812"))
    event = report(ci_bot, False, Evidence(summary="run #813 failed"))

    evidence = event_evidence(event)

    assert (evidence.run, evidence.link, evidence.commit) == ("run #813 failed", "", "")
    assert [change.field for change in field_changes(event)] == ["checked"]


def test_it_finds_no_evidence_in_an_event_without_any(catalogue, reviewer):
    event = report(reviewer, True, Evidence())

    assert event_evidence(event) is None
