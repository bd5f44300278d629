"""Hypothesis over the admin's finding form: it saves what it shows or changes nothing.

Each example runs in a savepoint that is rolled back and compares a digest of every table before
and after the request (tests/security/fuzzing.py): a refusal changes nothing, a success does
exactly what it asked.
"""

import pytest
from django.contrib.messages import get_messages
from hypothesis import given
from hypothesis import strategies as st

from findings.models import (
    Finding,
)
from tests.admin_forms import form_data
from tests.security.fuzzing import (
    STATUSES,
    assert_no_server_error,
    changed,
    db_state,
    fuzz,
    rolled_back,
    values,
)

ADMIN_FIELDS = {
    "code": values("SI-001", "SI-999", "si-001", "SI-002"),
    "title": values("A clearer title"),
    "priority": values("CRITICAL", "LOW", ""),
    "priority_unconfirmed": values("on"),
    "status": values(*STATUSES, "completed"),
    "phase": values("1", "2", "4", ""),
    "document": values("1", "5", ""),
    "owner": values("1", "2", ""),
    "effort_min_days": values("1", "3", "", "32767", "32768"),
    "effort_max_days": values("2", "5", "", "32767", "32768"),
    "problem_statement": values("A problem.\r\n\r\n- one"),
    "migration_sql": values("SELECT 1;"),
    "dependency_links-TOTAL_FORMS": values("2", "3", "1001"),
    "dependency_links-INITIAL_FORMS": values("2", "0"),
    "dependency_links-0-id": values("1", "2"),
    "dependency_links-0-depends_on": values("1", "3", "4"),
    "dependency_links-0-DELETE": values("on"),
    "dependency_links-2-depends_on": values("1", "3", "4"),
    "checklist_items-TOTAL_FORMS": values("13", "14"),
    "checklist_items-INITIAL_FORMS": values("13", "0"),
    "checklist_items-0-id": values("1", "14"),
    "checklist_items-0-position": values("1", "2", "14"),
    "checklist_items-0-section": values("mandatory", "database"),
    "checklist_items-0-text": values("Reworded"),
    "checklist_items-0-DELETE": values("on"),
    "checklist_items-13-position": values("14", "1"),
    "checklist_items-13-section": values("integration"),
    "checklist_items-13-text": values("A new item"),
}


@pytest.fixture
def admin_change_form(admin_client, catalogue):
    finding = Finding.objects.get(code="SI-001")
    url = f"/admin/findings/finding/{finding.pk}/change/"
    return url, form_data(admin_client.get(url).content.decode())


def _form_errors(response) -> list:
    context = response.context
    errors = [context["adminform"].form.errors] if context["adminform"].form.errors else []
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        errors += [e for e in formset.errors if e] + list(formset.non_form_errors())
    return errors


@fuzz
@given(edits=st.dictionaries(st.sampled_from(sorted(ADMIN_FIELDS)), st.none(), max_size=4).flatmap(
    lambda chosen: st.fixed_dictionaries({name: ADMIN_FIELDS[name] for name in chosen})
))  # fmt: skip
def test_the_admin_finding_form_saves_what_it_shows_or_changes_nothing(
    admin_client, admin_change_form, edits
):
    url, shown = admin_change_form
    # Messages left by an earlier example's redirect would be read as this example's.
    admin_client.cookies.pop("messages", None)
    data = {**shown, "_save": "Save"}
    for name, sent in edits.items():
        if sent is None:
            data.pop(name, None)
        else:
            data[name] = sent
    with rolled_back():
        before = db_state()

        response = admin_client.post(url, data)

        assert_no_server_error(response)
        after = db_state()
        assert response.status_code in (200, 302), edits
        if response.status_code == 200:
            # The admin redisplays a refused form, with what it refused.
            assert _form_errors(response), edits
            assert after == before, changed(before, after)
            return
        messages = get_messages(response.wsgi_request)
        refusals = [message.message for message in messages if message.level_tag == "error"]
        # A save that reports "Not saved" must not have saved half of the form either.
        assert not (refusals and after != before), (edits, refusals, changed(before, after))
        if changed(before, after) - {"audit events", "findings.AuditChainHead"}:
            assert after["audit events"] > before["audit events"], "a change left no audit event"


def test_the_admin_redisplays_a_finding_form_whose_owner_is_not_an_id(
    admin_client, admin_change_form
):
    # Found by the test above: the autocomplete widget queries the database with the raw value.
    url, shown = admin_change_form
    before = db_state()

    response = admin_client.post(url, {**shown, "owner": " ", "_save": "Save"})

    assert response.status_code == 200
    assert "owner" in response.context["adminform"].form.errors
    assert db_state() == before


def test_the_admin_saves_nothing_of_a_finding_form_it_reports_as_not_saved(
    admin_client, admin_change_form
):
    # Found by the test above: the existing dependencies posted again as new rows.
    url, shown = admin_change_form
    before = db_state()

    response = admin_client.post(
        url,
        {**shown, "title": "Renamed", "dependency_links-INITIAL_FORMS": "0", "_save": "Save"},
    )

    refusals = [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
    # Redisplayed with the error, or refused as a whole: either way the rename is not kept.
    assert Finding.objects.get(code="SI-001").title != "Renamed", (response.status_code, refusals)
    assert db_state() == before


# /accounts/login/
