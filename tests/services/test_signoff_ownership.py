"""signoffs_revalidate: a signoff falls when its signer comes to own a finding of the phase.

The probe: the lead who signed 2A off was later made owner of a 2A finding, and the signoff
stood, though owning it would have barred the lead from signing.
"""

import pytest

from findings.models import AuditEvent, Finding, Signoff
from findings.services.findings import finding_update
from tests.admin_forms import form_data
from tests.helpers import context_for
from tests.phase_work import sign

BARRED = (
    "The signer now owns SI-001 in phase 2A; an owner may not sign off a phase with their own "
    "findings."
)


@pytest.fixture
def signoff(catalogue, reviewer, lead) -> Signoff:
    return sign("2A", reviewer=reviewer, lead=lead)


def assert_revoked_for_ownership(signoff: Signoff, actor) -> None:
    signoff.refresh_from_db()
    assert not signoff.is_active
    assert signoff.revoked_automatically
    assert (signoff.revoked_by, signoff.revoke_reason) == (actor, BARRED)
    [event] = AuditEvent.objects.filter(action="phase.signoff_auto_revoked")
    assert (event.object_id, event.actor, event.permission) == (
        str(signoff.pk),
        actor,
        "system:signer owns a finding of the phase",
    )
    assert event.after == {
        "fingerprint": signoff.fingerprint,
        "changes": [],
        "signer_barred": BARRED,
    }


def test_making_the_signer_owner_of_a_finding_revokes_the_signoff(signoff, lead, admin_user):
    finding = Finding.objects.get(code="SI-001")
    finding.owner = lead

    finding_update(finding=finding, context=context_for(admin_user))

    assert_revoked_for_ownership(signoff, admin_user)


def test_making_someone_else_owner_leaves_the_signoff_standing(signoff, reviewer, admin_user):
    finding = Finding.objects.get(code="SI-001")
    finding.owner = reviewer

    finding_update(finding=finding, context=context_for(admin_user))

    signoff.refresh_from_db()
    assert signoff.is_active
    assert not AuditEvent.objects.filter(action="phase.signoff_auto_revoked").exists()


def test_making_the_signer_owner_in_the_admin_revokes_the_signoff(
    signoff, lead, admin_user, client
):
    client.force_login(admin_user)
    url = f"/admin/findings/finding/{Finding.objects.get(code='SI-001').pk}/change/"
    data = form_data(client.get(url).content.decode())
    data["owner"] = str(lead.pk)

    response = client.post(url, data)

    assert response.status_code == 302
    assert Finding.objects.get(code="SI-001").owner == lead
    assert_revoked_for_ownership(signoff, admin_user)
