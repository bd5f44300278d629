"""The dependency rules of the phase sequence: no dependency into the future, and a done finding
takes no unfinished dependency. Through the services and through the admin's real forms."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from findings.models import AuditEvent, ChecklistItem, Dependency, Finding, Phase, Status
from findings.services.checklist import done_stays_ticked_message
from findings.services.dependencies import dependency_add, dependency_remove
from findings.services.findings import finding_update
from tests.admin_forms import form_data

RULE = (
    "No dependency into the future: a finding may depend only on findings of its own phase, of "
    "an earlier phase, or completed before the plan."
)
SI_002_ON_BL_005 = f"SI-002 in phase 2A would depend on BL-005 in phase 2B. {RULE}"
DONE_SI_001_ON_SI_002 = (
    "SI-001 is done, and a done finding depends only on finished findings; SI-002 is planned. "
    "Move SI-001 back to in review first."
)


def finding(code: str) -> Finding:
    return Finding.objects.select_related("phase").get(code=code)


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def dependency_pairs() -> set[tuple[str, str]]:
    return set(Dependency.objects.values_list("finding__code", "depends_on__code"))


def finding_change_url(code: str) -> str:
    return f"/admin/findings/finding/{finding(code).pk}/change/"


@pytest.fixture
def si_001_done(catalogue):
    Finding.objects.filter(code="SI-001").update(status=Status.DONE)


def test_it_refuses_a_dependency_on_a_later_phase_naming_the_rule(catalogue, system_context):
    before_pairs, before_event = dependency_pairs(), last_event_id()

    with pytest.raises(ValidationError) as raised:
        dependency_add(
            finding=finding("SI-002"), depends_on=finding("BL-005"), context=system_context
        )

    assert raised.value.messages == [SI_002_ON_BL_005]
    assert dependency_pairs() == before_pairs
    assert last_event_id() == before_event


def test_it_refuses_a_finding_completed_before_the_plan_depending_on_one_in_the_plan(
    catalogue, system_context
):
    with pytest.raises(ValidationError) as raised:
        dependency_add(
            finding=finding("BF-003"), depends_on=finding("BL-005"), context=system_context
        )

    assert raised.value.messages == [
        f"BF-003, completed before the plan, would depend on BL-005 in phase 2B. {RULE}"
    ]


@pytest.mark.parametrize("code, depends_on", [("BL-005", "SI-001"), ("SI-002", "SI-001")])
def test_it_allows_a_dependency_on_an_earlier_phase_or_its_own(
    catalogue, system_context, code, depends_on
):
    dependency_add(finding=finding(code), depends_on=finding(depends_on), context=system_context)

    assert (code, depends_on) in dependency_pairs()


def test_it_refuses_moving_a_finding_before_a_dependant_naming_the_dependant(
    catalogue, system_context
):
    dependency_add(finding=finding("SI-002"), depends_on=finding("SI-001"), context=system_context)
    si_001 = finding("SI-001")
    si_001.phase = Phase.objects.get(code="2B")

    with pytest.raises(ValidationError) as raised:
        finding_update(finding=si_001, context=system_context)

    assert raised.value.message_dict == {
        "phase": [f"SI-002 in phase 2A would depend on SI-001 in phase 2B. {RULE}"]
    }
    assert finding("SI-001").phase.code == "2A"


def test_it_refuses_moving_a_finding_before_its_dependency_naming_the_dependency(
    catalogue, system_context
):
    dependency_add(finding=finding("BL-005"), depends_on=finding("BL-007"), context=system_context)
    bl_005 = finding("BL-005")
    bl_005.phase = Phase.objects.get(code="2A")

    with pytest.raises(ValidationError) as raised:
        finding_update(finding=bl_005, context=system_context)

    assert raised.value.message_dict == {
        "phase": [f"BL-005 in phase 2A would depend on BL-007 in phase 2B. {RULE}"]
    }
    assert finding("BL-005").phase.code == "2B"


def test_it_lets_a_finding_move_to_a_later_phase_after_its_dependencies(catalogue, system_context):
    dependency_add(finding=finding("SI-002"), depends_on=finding("SI-001"), context=system_context)
    si_002 = finding("SI-002")
    si_002.phase = Phase.objects.get(code="2B")

    finding_update(finding=si_002, context=system_context)

    assert finding("SI-002").phase.code == "2B"


def test_it_refuses_an_unfinished_dependency_of_a_done_finding_with_the_way_forward(
    si_001_done, system_context
):
    before_pairs = dependency_pairs()

    with pytest.raises(ValidationError) as raised:
        dependency_add(
            finding=finding("SI-001"), depends_on=finding("SI-002"), context=system_context
        )

    assert raised.value.messages == [DONE_SI_001_ON_SI_002]
    assert dependency_pairs() == before_pairs


def test_it_lets_a_done_finding_depend_on_a_finished_one(si_001_done, system_context):
    dependency_add(finding=finding("SI-001"), depends_on=finding("BF-003"), context=system_context)

    assert ("SI-001", "BF-003") in dependency_pairs()


def test_the_dependency_admin_shows_the_future_dependency_on_the_field(admin_client, catalogue):
    before = dependency_pairs()

    response = admin_client.post(
        "/admin/findings/dependency/add/",
        {
            "finding": str(finding("SI-002").pk),
            "depends_on": str(finding("BL-005").pk),
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["depends_on"] == [SI_002_ON_BL_005]
    assert dependency_pairs() == before


def test_the_dependency_admin_shows_the_done_rule_on_the_field(admin_client, si_001_done):
    response = admin_client.post(
        "/admin/findings/dependency/add/",
        {
            "finding": str(finding("SI-001").pk),
            "depends_on": str(finding("SI-002").pk),
            "_save": "Save",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["depends_on"] == [DONE_SI_001_ON_SI_002]
    assert ("SI-001", "SI-002") not in dependency_pairs()


def _post_with_new_inline_dependency(admin_client, code: str, depends_on: str):
    url = finding_change_url(code)
    data = form_data(admin_client.get(url).content.decode())
    row = int(data["dependency_links-TOTAL_FORMS"])
    data.update(
        {
            "dependency_links-TOTAL_FORMS": str(row + 1),
            f"dependency_links-{row}-id": "",
            f"dependency_links-{row}-finding": str(finding(code).pk),
            f"dependency_links-{row}-depends_on": str(finding(depends_on).pk),
        }
    )
    return admin_client.post(url, data)


def test_the_finding_admin_inline_shows_the_future_dependency(admin_client, catalogue):
    before = dependency_pairs()

    response = _post_with_new_inline_dependency(admin_client, "SI-002", "BL-005")

    assert response.status_code == 200
    inline_errors = response.context["inline_admin_formsets"][0].formset.errors
    assert {"depends_on": [SI_002_ON_BL_005]} in inline_errors
    assert dependency_pairs() == before


def test_the_finding_admin_inline_shows_the_done_rule(admin_client, si_001_done):
    response = _post_with_new_inline_dependency(admin_client, "SI-001", "SI-002")

    assert response.status_code == 200
    assert DONE_SI_001_ON_SI_002 in response.content.decode()
    assert ("SI-001", "SI-002") not in dependency_pairs()


def test_the_finding_admin_refuses_a_move_before_a_dependant_on_the_phase_field(
    admin_client, catalogue, system_context
):
    dependency_add(finding=finding("SI-002"), depends_on=finding("SI-001"), context=system_context)
    url = finding_change_url("SI-001")
    data = form_data(admin_client.get(url).content.decode())
    data["phase"] = str(Phase.objects.get(code="2B").pk)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phase"] == [
        f"SI-002 in phase 2A would depend on SI-001 in phase 2B. {RULE}"
    ]
    assert finding("SI-001").phase.code == "2A"


@pytest.fixture
def si_001_done_and_ticked(si_001_done):
    ChecklistItem.objects.filter(finding__code="SI-001").update(
        checked=True, checked_at=timezone.now()
    )


def test_it_refuses_a_finished_dependency_that_would_untick_a_done_findings_item(
    si_001_done_and_ticked, system_context
):
    before_pairs, since = dependency_pairs(), last_event_id()

    with pytest.raises(ValidationError) as raised:
        dependency_add(
            finding=finding("SI-001"), depends_on=finding("BF-003"), context=system_context
        )

    assert raised.value.messages == [done_stays_ticked_message("SI-001")]
    assert dependency_pairs() == before_pairs
    assert not ChecklistItem.objects.filter(finding__code="SI-001", checked=False).exists()
    assert last_event_id() == since


def test_it_refuses_removing_a_dependency_of_a_done_finding_with_the_way_forward(
    si_001_done_and_ticked, system_context
):
    link = Dependency.objects.select_related("finding", "depends_on").filter(
        finding__code="SI-001"
    )[0]
    before_pairs = dependency_pairs()

    with pytest.raises(ValidationError) as raised:
        dependency_remove(dependency=link, context=system_context)

    assert raised.value.messages == [done_stays_ticked_message("SI-001")]
    assert dependency_pairs() == before_pairs
    assert not ChecklistItem.objects.filter(finding__code="SI-001", checked=False).exists()
