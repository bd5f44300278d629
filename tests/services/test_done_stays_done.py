"""Done stays true: while a finding is done, every item of its checklist stays ticked.

The probe: a reviewer unticked an item of a done finding and it stayed done at 12 of 13; an admin
could add an item to it, move one onto it or reword a ticked one, each leaving an unticked item.
"""

import pytest
from django.core.exceptions import ValidationError

from findings.models import AuditEvent, ChecklistItem, ChecklistSection, Finding, Status
from findings.services.checklist import checklist_item_save
from findings.services.dependencies import dependency_add
from findings.services.errors import Refused
from tests.admin_forms import form_data
from tests.helpers import context_for
from tests.phase_work import finish, item_of, move, tick

WAY_FORWARD = (
    "SI-001 is done, so every item of its checklist stays ticked: "
    "move SI-001 back to in review first."
)


@pytest.fixture
def si_001_done(catalogue, reviewer) -> Finding:
    return finish("SI-001", reviewer)


def item_events() -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith="checklist_item.").values_list(
            "action", flat=True
        )
    )


def assert_all_ticked(code: str = "SI-001") -> None:
    finding = Finding.objects.get(code=code)
    assert finding.status == Status.DONE
    assert not finding.checklist_items.filter(checked=False).exists()


def test_it_refuses_to_untick_an_item_of_a_done_finding_and_names_the_way_forward(
    si_001_done, reviewer
):
    events_before = item_events()

    with pytest.raises(Refused) as raised:
        tick(item_of("SI-001", 3), reviewer, checked=False)

    assert raised.value.explanation == WAY_FORWARD
    assert raised.value.current.pk == item_of("SI-001", 3).pk
    assert_all_ticked()
    assert item_events() == events_before


def test_it_unticks_the_item_once_the_finding_is_back_in_review(si_001_done, reviewer):
    move("SI-001", Status.IN_REVIEW, reviewer)

    item = tick(item_of("SI-001", 3), reviewer, checked=False)

    assert not item.checked
    assert AuditEvent.objects.filter(action="checklist_item.unticked").count() == 1


def test_it_refuses_a_new_item_on_a_done_finding(si_001_done, admin_user):
    item = ChecklistItem(
        finding=si_001_done, section=ChecklistSection.MANDATORY, text="Runbook updated", position=14
    )

    with pytest.raises(ValidationError) as raised:
        checklist_item_save(item=item, context=context_for(admin_user))

    assert raised.value.messages == [WAY_FORWARD]
    assert si_001_done.checklist_items.count() == 13
    assert "checklist_item.created" not in item_events()


def test_it_refuses_to_move_an_item_onto_a_done_finding(si_001_done, admin_user):
    item = item_of("SI-002", 1)
    item.finding = si_001_done
    item.position = 14

    with pytest.raises(ValidationError) as raised:
        checklist_item_save(item=item, context=context_for(admin_user))

    assert raised.value.messages == [WAY_FORWARD]
    assert ChecklistItem.objects.get(pk=item.pk).finding.code == "SI-002"
    assert_all_ticked()


@pytest.mark.parametrize(
    ("field", "value"),
    [("text", "Migration rehearsed twice"), ("section", ChecklistSection.INTEGRATION)],
)
def test_it_refuses_to_reword_or_re_section_a_ticked_item_of_a_done_finding(
    si_001_done, admin_user, field, value
):
    item = item_of("SI-001", 1)
    stored_value = getattr(item, field)
    setattr(item, field, value)

    with pytest.raises(ValidationError) as raised:
        checklist_item_save(item=item, context=context_for(admin_user))

    assert raised.value.messages == [WAY_FORWARD]
    assert getattr(item_of("SI-001", 1), field) == stored_value
    assert_all_ticked()


def test_it_lets_an_admin_reposition_a_ticked_item_of_a_done_finding(si_001_done, admin_user):
    item = item_of("SI-001", 1)
    item.position = 20

    checklist_item_save(item=item, context=context_for(admin_user))

    assert item_of("SI-001", 20).checked
    assert_all_ticked()


def test_the_finding_admin_shows_the_refusal_of_a_new_inline_item(admin_client, si_001_done):
    url = f"/admin/findings/finding/{si_001_done.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data.update(
        {
            "checklist_items-TOTAL_FORMS": "14",
            "checklist_items-13-id": "",
            "checklist_items-13-finding": str(si_001_done.pk),
            "checklist_items-13-position": "14",
            "checklist_items-13-section": ChecklistSection.MANDATORY,
            "checklist_items-13-text": "Runbook updated",
        }
    )

    response = admin_client.post(url, data, follow=True)

    assert f"Nothing was saved: {WAY_FORWARD}" in response.content.decode()
    assert si_001_done.checklist_items.count() == 13
    assert_all_ticked()


def test_the_checklist_item_admin_shows_the_refusal_of_a_reworded_item(admin_client, si_001_done):
    item = item_of("SI-001", 1)
    url = f"/admin/findings/checklistitem/{item.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data["text"] = "Migration rehearsed twice"

    response = admin_client.post(url, data, follow=True)

    assert response.status_code == 200
    assert f"Nothing was saved: {WAY_FORWARD}" in response.content.decode()
    assert item_of("SI-001", 1).text == item.text
    assert_all_ticked()


def test_the_checklist_item_admin_shows_the_refusal_of_a_move_onto_a_done_finding(
    admin_client, si_001_done
):
    item = item_of("SI-002", 1)
    url = f"/admin/findings/checklistitem/{item.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data.update(finding=str(si_001_done.pk), position="14")

    response = admin_client.post(url, data, follow=True)

    assert f"Nothing was saved: {WAY_FORWARD}" in response.content.decode()
    assert ChecklistItem.objects.get(pk=item.pk).finding.code == "SI-002"
    assert_all_ticked()


DEPENDANT_DONE = "BF-002 is done and depends on SI-001: move BF-002 back to in review first."


@pytest.fixture
def bf_002_done_on_si_001(catalogue, reviewer, admin_user) -> Finding:
    """BF-002 depends on SI-001, and both are done."""
    dependency_add(
        finding=Finding.objects.get(code="BF-002"),
        depends_on=Finding.objects.get(code="SI-001"),
        context=context_for(admin_user),
    )
    finish("SI-001", reviewer)
    return finish("BF-002", reviewer)


def test_it_refuses_to_move_a_finding_out_of_done_while_a_done_finding_depends_on_it(
    bf_002_done_on_si_001, reviewer
):
    with pytest.raises(Refused) as raised:
        move("SI-001", Status.IN_REVIEW, reviewer)

    assert raised.value.blockers == [DEPENDANT_DONE]
    assert raised.value.explanation == f"SI-001 cannot move to in review. {DEPENDANT_DONE}"
    assert Finding.objects.get(code="SI-001").status == Status.DONE


def test_it_moves_a_finding_out_of_done_once_its_dependant_is_back_in_review(
    bf_002_done_on_si_001, reviewer
):
    move("BF-002", Status.IN_REVIEW, reviewer)

    assert move("SI-001", Status.IN_REVIEW, reviewer).status == Status.IN_REVIEW


def test_the_finding_admin_refuses_to_move_a_finding_out_of_done_naming_the_dependant(
    bf_002_done_on_si_001, admin_client
):
    si_001 = Finding.objects.get(code="SI-001")
    url = f"/admin/findings/finding/{si_001.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data["status"] = Status.IN_REVIEW

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert DEPENDANT_DONE in response.content.decode()
    assert Finding.objects.get(code="SI-001").status == Status.DONE
