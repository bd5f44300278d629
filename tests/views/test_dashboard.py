"""The dashboard at /: one card per phase with progress, effort, gate and next blockers."""

import re

import pytest
from django.utils import timezone

from findings.models import ChecklistItem, Finding, Phase, Signoff, Status
from findings.services.dependencies import dependency_add

LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."
COMPLETED_BEFORE_THE_PLAN = ["BF-001", "BF-003", "BF-004", "BF-005", "BL-002", "BL-008", "SI-003"]


def card(response, phase: str) -> str:
    """The HTML of one phase's card."""
    content = response.content.decode()
    match = re.search(
        rf'<section class="card phase [^"]*" aria-labelledby="phase-{phase}">(.*?)</section>',
        content,
        re.S,
    )
    assert match, f"no card for phase {phase}"
    return match.group(0)


def completed_section(response) -> str:
    content = response.content.decode()
    return content[content.index('id="completed"') :]


def codes_in(html: str) -> list[str]:
    return re.findall(r'href="/findings/([A-Z]{2}-\d{3})/"', html)


def sign_off_2a(by) -> Signoff:
    return Signoff.objects.create(
        phase=Phase.objects.get(code="2A"), signed_by=by, signed_at=timezone.now()
    )


def finish_phase_2a() -> None:
    ChecklistItem.objects.filter(finding__phase__code="2A").update(
        checked=True, checked_at=timezone.now()
    )
    Finding.objects.filter(phase__code="2A").update(status=Status.DONE)


def test_it_sends_anonymous_visitors_to_log_in(client, catalogue):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_it_refuses_users_without_a_role(client, outsider, catalogue):
    client.force_login(outsider)

    response = client.get("/")

    # Like /findings/ and /audit/, the dashboard needs findings.view_finding.
    assert response.status_code == 403
    assert "SI-001" not in response.content.decode()


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "admin_user"])
def test_it_shows_every_role_the_four_phases(client, catalogue, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response = client.get("/")

    content = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'aria-labelledby="phase-(2[A-D])"', content) == ["2A", "2B", "2C", "2D"]
    assert '<a href="/phases/2A/">Phase 2A · Foundation</a>' in content


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_refuses_methods_other_than_get(viewer_client, method):
    assert getattr(viewer_client, method)("/").status_code == 405


def test_it_ignores_query_parameters_it_does_not_know(viewer_client):
    response = viewer_client.get("/?phase=<script>&page=-1")

    assert response.status_code == 200
    assert "<script>" not in response.content.decode()


def test_it_counts_findings_and_checklist_items_per_phase(viewer_client):
    response = viewer_client.get("/")

    assert "Findings: 0 of 3 done" in card(response, "2A")
    assert "Checklist: 0 of 39 ticked" in card(response, "2A")
    assert "Findings: 0 of 3 done" in card(response, "2B")
    assert "Findings: 0 of 6 done" in card(response, "2C")
    assert "Findings: 0 of 11 done" in card(response, "2D")
    assert "Checklist: 0 of 143 ticked" in card(response, "2D")


def test_it_counts_done_findings_and_ticked_items(viewer_client):
    Finding.objects.filter(code="SI-002").update(status=Status.DONE)
    ChecklistItem.objects.filter(finding__code="SI-001", position__lte=4).update(
        checked=True, checked_at=timezone.now()
    )
    ChecklistItem.objects.filter(finding__code="BL-005", position=1).update(
        checked=True, checked_at=timezone.now()
    )

    response = viewer_client.get("/")

    phase_2a = card(response, "2A")
    assert "Findings: 1 of 3 done" in phase_2a
    assert '<progress max="3" value="1"' in phase_2a
    assert "Checklist: 4 of 39 ticked" in phase_2a
    assert '<progress max="39" value="4"' in phase_2a
    assert "Checklist: 1 of 39 ticked" in card(response, "2B")


def test_it_sums_the_remaining_effort_of_unfinished_estimated_findings(viewer_client):
    Finding.objects.filter(code="SI-001").update(effort_min_days=2, effort_max_days=3)
    Finding.objects.filter(code="BF-002").update(effort_min_days=1, effort_max_days=4)
    # Done work is not remaining work.
    Finding.objects.filter(code="SI-002").update(
        effort_min_days=5, effort_max_days=8, status=Status.DONE
    )

    phase_2a = card(viewer_client.get("/"), "2A")

    assert "<strong>3–7 days</strong> for 2 estimated findings." in phase_2a


def test_it_says_how_many_remaining_findings_are_not_estimated(viewer_client):
    Finding.objects.filter(code="SI-001").update(effort_min_days=2, effort_max_days=3)

    response = viewer_client.get("/")

    assert (
        "<strong>2–3 days</strong> for 1 estimated finding; 2 findings not estimated yet."
        in card(response, "2A")
    )
    assert "<strong>not estimated</strong>; 3 findings not estimated yet." in card(response, "2B")


def test_it_shows_the_later_phases_locked_until_2a_is_signed_off(viewer_client):
    response = viewer_client.get("/")

    assert 'class="card phase gate-not_ready"' in card(response, "2A")
    assert "Mandatory signoff: not ready yet" in card(response, "2A")
    for phase in ["2B", "2C", "2D"]:
        assert 'class="card phase gate-locked"' in card(response, phase)
        assert (
            f'<p class="lock"><span class="badge lock-badge">Locked</span> {LOCKED_BY_2A}</p>'
            in card(response, phase)
        )


def test_it_shows_2a_ready_to_sign_once_its_work_is_finished(viewer_client):
    finish_phase_2a()

    response = viewer_client.get("/")

    phase_2a = card(response, "2A")
    assert "gate-ready" in phase_2a
    assert "Ready to sign off" in phase_2a
    assert "Next blockers" not in phase_2a
    assert "gate-locked" in card(response, "2B")


def test_it_shows_who_signed_2a_off_and_unlocks_the_later_phases(viewer_client, lead):
    finish_phase_2a()
    signoff = sign_off_2a(lead)

    response = viewer_client.get("/")

    signed_at = f"{signoff.signed_at:%Y-%m-%d %H:%M}"
    assert f"Signed off by lead on {signed_at} UTC" in card(response, "2A")
    for phase in ["2B", "2C", "2D"]:
        assert "gate-no_gate" in card(response, phase)
        assert "No signoff gate" in card(response, phase)
        assert LOCKED_BY_2A not in card(response, phase)


def test_it_relocks_the_later_phases_when_the_signoff_is_revoked(viewer_client, lead):
    signoff = sign_off_2a(lead)
    signoff.revoked_at = timezone.now()
    signoff.revoked_by = lead
    signoff.revoke_reason = "A migration failed on staging."
    signoff.save()

    response = viewer_client.get("/")

    assert "gate-not_ready" in card(response, "2A")
    assert LOCKED_BY_2A in card(response, "2B")


def test_it_lists_what_blocks_each_phase(viewer_client):
    ChecklistItem.objects.filter(finding__code="SI-001").update(
        checked=True, checked_at=timezone.now()
    )

    response = viewer_client.get("/")

    assert (
        '<ul class="blockers">\n      <li>3 of 3 findings not done</li>'
        "<li>26 checklist items not ticked</li>\n    </ul>"
    ) in card(response, "2A")
    assert (
        f"<li>{LOCKED_BY_2A}</li><li>3 of 3 findings not done</li>"
        "<li>39 checklist items not ticked</li>"
    ) in card(response, "2B")


def test_it_counts_dependencies_on_unfinished_findings_in_other_phases(
    viewer_client, system_context
):
    dependency_add(
        finding=Finding.objects.get(code="BL-005"),
        depends_on=Finding.objects.get(code="SI-001"),
        context=system_context,
    )

    response = viewer_client.get("/")

    assert "1 dependencies on unfinished findings in other phases" in card(response, "2B")
    assert "dependencies on unfinished findings" not in card(response, "2A")


def test_it_shows_the_next_findings_most_advanced_first_without_done_ones(viewer_client):
    Finding.objects.filter(code="SI-007").update(status=Status.IN_REVIEW)
    Finding.objects.filter(code="SI-006").update(status=Status.IN_PROGRESS)
    Finding.objects.filter(code="BF-008").update(status=Status.DONE)

    response = viewer_client.get("/")

    assert codes_in(card(response, "2D")) == ["SI-007", "SI-006", "BL-009"]
    assert 'SI-007</a> Service contract clarity <span class="status status-in_review">' in (
        card(response, "2D")
    )
    assert codes_in(card(response, "2A")) == ["BF-002", "SI-001", "SI-002"]


def test_it_lists_findings_completed_before_the_plan_apart(viewer_client):
    response = viewer_client.get("/")

    assert codes_in(completed_section(response)) == COMPLETED_BEFORE_THE_PLAN
    for phase in ["2A", "2B", "2C", "2D"]:
        assert set(codes_in(card(response, phase))).isdisjoint(COMPLETED_BEFORE_THE_PLAN)


def test_it_escapes_finding_titles(viewer_client):
    Finding.objects.filter(code="SI-001").update(title="<script>alert(1)</script>")

    content = viewer_client.get("/").content.decode()

    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_it_says_how_many_more_findings_a_card_does_not_list(viewer_client):
    response = viewer_client.get("/")

    for phase in Phase.objects.all():
        open_count = phase.findings.exclude(status=Status.DONE).count()
        html = card(response, phase.code)
        if open_count > 3:
            assert (
                f'<li class="more"><a href="/phases/{phase.code}/">+{open_count - 3} more</a></li>'
            ) in html
        else:
            assert 'class="more"' not in html
    assert any(phase.findings.count() > 3 for phase in Phase.objects.all())
