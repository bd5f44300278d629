"""The admin's forms inside a signed phase: a warning before saving, the revocation named after.

Phase 2A is signed off by lead (tests/views/conftest.py); its signoff unlocks 2B, 2C and 2D.
"""

import pytest

from findings.models import ChecklistItem, Dependency, Finding, Signoff
from tests.admin_forms import form_data
from tests.views.phase_gate import item_of

WARNING = (
    "Phase 2A is signed off: saving a change here revokes its signoff and locks 2B, 2C and 2D "
    "again."
)
NEW_SQL_LINE = "CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);"


def finding_url(code: str, suffix: str = "change/") -> str:
    return f"/admin/findings/finding/{Finding.objects.get(code=code).pk}/{suffix}"


def item_url(code: str, position: int, suffix: str = "change/") -> str:
    return f"/admin/findings/checklistitem/{item_of(code, position).pk}/{suffix}"


def bf_002_on_bl_002_url(suffix: str = "change/") -> str:
    link = Dependency.objects.get(finding__code="BF-002", depends_on__code="BL-002")
    return f"/admin/findings/dependency/{link.pk}/{suffix}"


@pytest.fixture
def signed_admin(client, signoff, admin_user):
    # Signed first, so the admin's pages are read after the signoff, as in real life.
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        lambda: finding_url("SI-001"),
        lambda: item_url("SI-001", 1),
        lambda: bf_002_on_bl_002_url(),
        lambda: finding_url("SI-002", "delete/"),
        lambda: item_url("SI-002", 13, "delete/"),
        lambda: bf_002_on_bl_002_url("delete/"),
    ],
    ids=[
        "finding",
        "item",
        "dependency",
        "finding-delete",
        "item-delete",
        "dependency-delete",
    ],
)
def test_it_warns_before_saving_a_change_inside_the_signed_phase(signed_admin, url):
    response = signed_admin.get(url())

    assert response.status_code == 200
    assert WARNING in response.content.decode()


def test_it_does_not_warn_outside_a_signed_phase(signed_admin):
    content = signed_admin.get(finding_url("BL-005")).content.decode()

    assert "is signed off: saving a change here" not in content


def test_it_does_not_warn_once_the_signoff_is_revoked(signed_admin, signoff):
    Signoff.objects.filter(pk=signoff.pk).update(
        revoke_reason="Stale.", revoked_at=signoff.signed_at
    )

    content = signed_admin.get(finding_url("SI-001")).content.decode()

    assert "is signed off: saving a change here" not in content


def test_it_names_the_revoked_signoff_after_saving_a_finding(signed_admin):
    url = finding_url("SI-001")
    data = form_data(signed_admin.get(url).content.decode())
    data["migration_sql"] += f"\r\n{NEW_SQL_LINE}"

    response = signed_admin.post(url, data, follow=True)

    content = response.content.decode()
    assert response.redirect_chain[0][1] == 302
    assert (
        "The signoff of phase 2A by lead was revoked: The approved content changed: "
        "SI-001: PostgreSQL migration changed."
    ) in content
    assert not Signoff.objects.active().exists()


def test_it_names_the_revoked_signoff_after_deleting_an_item(signed_admin):
    item = item_of("SI-002", 13)

    response = signed_admin.post(item_url("SI-002", 13, "delete/"), {"post": "yes"}, follow=True)

    assert not ChecklistItem.objects.filter(pk=item.pk).exists()
    assert (
        "The signoff of phase 2A by lead was revoked: The approved content changed: "
        f"SI-002: checklist item “{item.text}” removed."
    ) in response.content.decode()


def test_it_names_the_revoked_signoff_after_deleting_a_finding_from_the_list(signed_admin):
    pk = Finding.objects.get(code="SI-002").pk

    response = signed_admin.post(
        "/admin/findings/finding/",
        {"action": "delete_selected", "_selected_action": [pk], "post": "yes"},
        follow=True,
    )

    assert "The signoff of phase 2A by lead was revoked: " in response.content.decode()
    assert "SI-002 left the phase." in response.content.decode()


def test_it_names_no_revocation_when_the_save_changes_nothing(signed_admin, signoff):
    url = finding_url("SI-001")
    data = form_data(signed_admin.get(url).content.decode())

    response = signed_admin.post(url, data, follow=True)

    assert "was revoked" not in response.content.decode()
    signoff.refresh_from_db()
    assert signoff.is_active
