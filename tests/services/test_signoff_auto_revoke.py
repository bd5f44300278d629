"""signoffs_revalidate: a signoff falls by itself when the content it approved changes.

Every content-changing service calls it inside its own transaction, so each path below — a
reviewer's untick or status move, an admin's edit through a service or the admin's forms — must
revoke phase 2A's signoff, say what changed, audit it and lock phase 2B again.
"""

import pytest
from django.core.exceptions import ValidationError

from findings.models import AuditEvent, ChecklistItem, Dependency, Finding, Phase, Signoff, Status
from findings.services.audit import ActionContext
from findings.services.checklist import (
    checklist_item_delete,
    checklist_item_save,
    checklist_item_set,
    done_stays_ticked_message,
)
from findings.services.dependencies import dependency_add, dependency_remove
from findings.services.errors import PhaseLocked, Refused
from findings.services.findings import finding_create, finding_update
from findings.services.signoffs import content_fingerprint, phase_content, signoff_sign
from tests.admin_forms import form_data
from tests.helpers import context_for
from tests.phase_work import fingerprint_of, make_ready, move, tick

LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."
NEW_SQL_LINE = "CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);"


def item_of(code: str, position: int) -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code=code, position=position)


def auto_revocations() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="phase.signoff_auto_revoked").order_by("id"))


def assert_revoked_automatically(signoff: Signoff, changes: list[str], actor) -> None:
    """The signoff fell with a reason naming `changes`, audited as `actor`'s change, 2B relocked."""
    signoff.refresh_from_db()
    assert not signoff.is_active
    assert signoff.revoked_automatically
    assert signoff.revoked_by == actor
    assert signoff.revoke_reason == "The approved content changed: " + " ".join(changes)
    assert not Signoff.objects.active().exists()
    [event] = auto_revocations()
    assert (event.actor, event.permission) == (actor, "system:approved content changed")
    assert (event.object_type, event.object_id) == ("signoff", str(signoff.pk))
    assert event.before == {"phase": "2A", "fingerprint": signoff.fingerprint}
    assert event.after == {
        "fingerprint": content_fingerprint(phase_content(signoff.phase_id)),
        "changes": changes,
    }
    assert_2b_locked()


def assert_2b_locked() -> None:
    item = item_of("BL-006", 2)
    with pytest.raises(PhaseLocked) as raised:
        checklist_item_set(
            item_id=item.pk,
            checked=True,
            expected_version=item.version,
            context=ActionContext.system("test"),
        )
    assert raised.value.blockers == [LOCKED_BY_2A]


def assert_still_signed(signoff: Signoff) -> None:
    signoff.refresh_from_db()
    assert signoff.is_active
    assert list(Signoff.objects.active()) == [signoff]
    assert auto_revocations() == []


@pytest.fixture
def phase_2a(catalogue) -> Phase:
    return Phase.objects.get(code="2A")


@pytest.fixture
def signoff(phase_2a, reviewer, lead) -> Signoff:
    make_ready(reviewer)
    return signoff_sign(
        phase_id=phase_2a.pk,
        expected_fingerprint=fingerprint_of(phase_2a),
        comment="All checked.",
        context=context_for(lead),
    )


@pytest.fixture
def admin_client(client, admin_user, signoff):
    # Signed first, so the admin's page is read after the signoff, as it would be in real life.
    client.force_login(admin_user)
    return client


def test_an_untick_of_a_2a_item_is_refused_and_the_signoff_stands(signoff, reviewer):
    # Every finding of a signed phase is done, and a done finding's items stay ticked.
    with pytest.raises(Refused):
        tick(item_of("SI-001", 3), reviewer, checked=False)

    signoff.refresh_from_db()
    assert signoff.is_active
    assert auto_revocations() == []


def test_reopening_a_done_2a_finding_revokes_the_signoff(signoff, reviewer):
    move("SI-002", Status.IN_REVIEW, reviewer)

    assert_revoked_automatically(signoff, ["SI-002: status done → in_review."], reviewer)


def test_a_new_dependency_of_a_signed_2a_finding_is_refused_and_the_signoff_stands(
    signoff, admin_user
):
    # Every finding of a signed phase is done, and a done finding's dependencies change only
    # once it is back in review, which revokes the signoff by itself.
    with pytest.raises(ValidationError) as raised:
        dependency_add(
            finding=Finding.objects.get(code="SI-001"),
            depends_on=Finding.objects.get(code="BF-003"),
            context=context_for(admin_user),
        )

    assert raised.value.messages == [done_stays_ticked_message("SI-001")]
    signoff.refresh_from_db()
    assert signoff.is_active


def test_removing_a_dependency_of_a_signed_2a_finding_is_refused_and_the_signoff_stands(
    signoff, admin_user
):
    link = Dependency.objects.get(finding__code="BF-002", depends_on__code="BL-002")

    with pytest.raises(ValidationError) as raised:
        dependency_remove(dependency=link, context=context_for(admin_user))

    assert raised.value.messages == [done_stays_ticked_message("BF-002")]
    signoff.refresh_from_db()
    assert signoff.is_active


def test_an_admin_editing_a_2a_findings_sql_through_the_service_revokes_it(signoff, admin_user):
    finding = Finding.objects.get(code="SI-001")
    finding.migration_sql += f"\n{NEW_SQL_LINE}"

    finding_update(finding=finding, context=context_for(admin_user))

    assert_revoked_automatically(signoff, ["SI-001: PostgreSQL migration changed."], admin_user)


def test_an_admin_editing_a_2a_findings_sql_in_the_admin_form_revokes_it(
    admin_client, signoff, admin_user
):
    url = f"/admin/findings/finding/{Finding.objects.get(code='SI-001').pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    data["migration_sql"] += f"\r\n{NEW_SQL_LINE}"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert NEW_SQL_LINE in Finding.objects.get(code="SI-001").migration_sql
    assert_revoked_automatically(signoff, ["SI-001: PostgreSQL migration changed."], admin_user)


def test_an_admin_saving_a_2a_finding_unchanged_keeps_the_signoff(admin_client, signoff):
    url = f"/admin/findings/finding/{Finding.objects.get(code='SI-001').pk}/change/"
    data = form_data(admin_client.get(url).content.decode())

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert_still_signed(signoff)


def test_an_admin_editing_a_2a_item_through_the_service_revokes_it(signoff, admin_user):
    item = item_of("SI-001", 1)
    # A new position keeps the tick (new wording would be refused: SI-001 is done).
    item.position = 20

    checklist_item_save(item=item, context=context_for(admin_user))

    moved = f"SI-001: checklist item “{item.text}”"
    assert_revoked_automatically(signoff, [f"{moved} removed.", f"{moved} added."], admin_user)


def test_an_admin_editing_a_2a_items_text_in_the_admin_revokes_it(
    admin_client, signoff, admin_user
):
    item = item_of("BF-002", 2)
    url = f"/admin/findings/checklistitem/{item.pk}/change/"
    data = form_data(admin_client.get(url).content.decode())
    # A new position keeps the tick (new wording would be refused: BF-002 is done).
    data["position"] = "20"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert item_of("BF-002", 20).pk == item.pk
    moved = f"BF-002: checklist item “{item.text}”"
    assert_revoked_automatically(signoff, [f"{moved} removed.", f"{moved} added."], admin_user)


def test_an_admin_deleting_a_2a_item_revokes_it(signoff, admin_user):
    item = item_of("SI-002", 13)

    checklist_item_delete(item=item, context=context_for(admin_user))

    assert_revoked_automatically(
        signoff, [f"SI-002: checklist item “{item.text}” removed."], admin_user
    )


def test_an_admin_adding_a_finding_to_2a_revokes_it(signoff, admin_user, phase_2a):
    finding_create(
        context=context_for(admin_user),
        code="BL-015",
        title="Outbox table for domain events",
        phase=phase_2a,
    )

    assert_revoked_automatically(signoff, ["BL-015 joined the phase."], admin_user)


def test_an_admin_moving_a_finding_out_of_2a_revokes_it(signoff, admin_user):
    finding = Finding.objects.get(code="SI-002")
    finding.phase = Phase.objects.get(code="2B")

    finding_update(finding=finding, context=context_for(admin_user))

    assert_revoked_automatically(signoff, ["SI-002 left the phase."], admin_user)


def test_an_admin_deleting_a_2a_finding_in_the_admin_revokes_it(admin_client, signoff):
    url = f"/admin/findings/finding/{Finding.objects.get(code='SI-002').pk}/delete/"

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Finding.objects.filter(code="SI-002").exists()
    signoff.refresh_from_db()
    assert not signoff.is_active, "the signoff still approves a phase that lost SI-002"
    assert signoff.revoked_automatically
    assert "SI-002 left the phase." in signoff.revoke_reason


def test_changes_to_a_2b_finding_leave_the_2a_signoff_standing(signoff, reviewer, admin_user):
    tick(item_of("BL-006", 1), reviewer)
    move("BL-006", Status.IN_PROGRESS, reviewer)
    finding = Finding.objects.get(code="BL-005")
    finding.migration_sql += f"\n{NEW_SQL_LINE}"
    finding_update(finding=finding, context=context_for(admin_user))
    dependency_add(
        finding=Finding.objects.get(code="BL-007"),
        depends_on=Finding.objects.get(code="SI-001"),
        context=context_for(admin_user),
    )

    assert_still_signed(signoff)
    assert tick(item_of("BL-006", 2), reviewer).checked


def test_re_ticking_after_the_revocation_does_not_bring_the_signoff_back(signoff, reviewer):
    item = item_of("SI-001", 3)
    move("SI-001", Status.IN_REVIEW, reviewer)
    tick(item, reviewer, checked=False)

    tick(item, reviewer)
    move("SI-001", Status.DONE, reviewer)

    signoff.refresh_from_db()
    # The content is exactly what was approved again, yet only a new signoff approves it.
    assert content_fingerprint(phase_content(signoff.phase_id)) == signoff.fingerprint
    assert not signoff.is_active
    assert not Signoff.objects.active().exists()
    assert len(auto_revocations()) == 1
    assert_2b_locked()


def test_a_revoked_signoff_is_not_revoked_again_by_a_later_change(signoff, reviewer):
    move("SI-001", Status.IN_REVIEW, reviewer)
    signoff.refresh_from_db()
    first_reason = signoff.revoke_reason

    tick(item_of("SI-001", 4), reviewer, checked=False)

    signoff.refresh_from_db()
    assert signoff.revoke_reason == first_reason
    assert len(auto_revocations()) == 1


def test_an_admin_deleting_a_2a_finding_from_the_list_revokes_it(admin_client, signoff):
    pk = Finding.objects.get(code="SI-002").pk

    response = admin_client.post(
        "/admin/findings/finding/",
        {"action": "delete_selected", "_selected_action": [pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Finding.objects.filter(pk=pk).exists()
    signoff.refresh_from_db()
    assert signoff.revoked_automatically
    assert "SI-002 left the phase." in signoff.revoke_reason
