"""Hypothesis over the tick and status-move endpoints: hostile input never gives a 5xx.

Each example runs in a savepoint that is rolled back and compares a digest of every table before
and after the request (tests/security/fuzzing.py): a refusal changes nothing, a success does
exactly what it asked.
"""

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from findings.models import (
    ChecklistItem,
    Finding,
)
from tests.security.fuzzing import (
    BODY_SHAPES,
    CURRENT,
    FORM_SHAPES,
    STATUSES,
    assert_no_server_error,
    audit_actions_since,
    changed,
    db_state,
    fuzz,
    is_clean_version,
    item_of,
    last,
    rolled_back,
    send,
    success_status,
    values,
    with_version,
)

TICK_SCENARIOS = {
    # name: (persona, finding whose first item is ticked)
    "a reviewer in an open phase": ("reviewer", "SI-001"),
    "a reviewer in a locked phase": ("reviewer", "BL-006"),
    "a viewer": ("viewer", "SI-001"),
    "a user with no role": ("outsider", "SI-001"),
}
CANNOT_CHANGE = ("viewer", "outsider")


@pytest.mark.parametrize("scenario", TICK_SCENARIOS)
@fuzz
@given(
    checked=values("true", "false"),
    version=values(CURRENT, "1", "2"),
    start_ticked=st.booleans(),
    shape=st.sampled_from(BODY_SHAPES),
    htmx=st.booleans(),
)
def test_a_tick_is_applied_exactly_or_refused_without_a_trace(
    client, catalogue, personas, scenario, checked, version, start_ticked, shape, htmx
):
    persona, code = TICK_SCENARIOS[scenario]
    client.force_login(personas[persona])
    with rolled_back():
        if start_ticked:
            ChecklistItem.objects.filter(pk=item_of(code).pk).update(
                checked=True, checked_at=timezone.now(), checked_by=personas["reviewer"], version=2
            )
        item = item_of(code)
        fields = with_version({"checked": checked, "version": version}, item.version)
        before = db_state()

        response = send(client, f"/checklist/{item.pk}/", fields, shape, htmx)

        assert_no_server_error(response)
        after = db_state()
        wanted, sent_version = last(fields, "checked", shape), last(fields, "version", shape)
        form_is_clean = wanted in ("true", "false") and is_clean_version(sent_version)
        if persona in CANNOT_CHANGE:
            expected = 403
        elif shape not in FORM_SHAPES or wanted not in ("true", "false"):
            expected = 400
        elif not form_is_clean:
            expected = None  # Django's IntegerField reads "1.0", " 1" or "١" as well.
        elif "locked" in scenario:
            expected = 423
        elif (wanted == "true") == item.checked or sent_version == str(item.version):
            expected = success_status(htmx)
        else:
            expected = 409
        if expected is not None:
            assert response.status_code == expected, (fields, shape)
        assert response.status_code in {200, 302, 400, 403, 409, 423}
        if response.status_code >= 400:
            assert after == before, changed(before, after)
            return
        assert response.status_code == success_status(htmx)
        now = ChecklistItem.objects.get(pk=item.pk)
        assert now.checked == (wanted == "true")
        if now.checked == item.checked:
            assert after == before, changed(before, after)
        else:
            assert now.version == item.version + 1
            assert changed(before, after) == {"findings.ChecklistItem", "findings.AuditChainHead",
                                              "audit events"}  # fmt: skip
            assert audit_actions_since(before["audit events"]) == [
                "checklist_item.ticked" if now.checked else "checklist_item.unticked"
            ]


# /findings/<code>/status/

STATUS_SCENARIOS = {
    "a reviewer in an open phase": ("reviewer", "SI-001"),
    "a reviewer in a locked phase": ("reviewer", "BL-006"),
    "a viewer": ("viewer", "SI-001"),
    "a user with no role": ("outsider", "SI-001"),
}
# SI-001's dependencies were completed before the plan, so only the lifecycle restricts it.
MOVES = {"planned": {"in_progress"}, "in_progress": {"planned", "in_review"}}


@pytest.mark.parametrize("scenario", STATUS_SCENARIOS)
@fuzz
@given(
    target=values(*STATUSES, "completed"),
    version=values(CURRENT, "1", "2"),
    start=st.sampled_from(sorted(MOVES)),
    shape=st.sampled_from(BODY_SHAPES),
    htmx=st.booleans(),
)
def test_a_status_move_is_applied_exactly_or_refused_without_a_trace(
    client, catalogue, personas, scenario, target, version, start, shape, htmx
):
    persona, code = STATUS_SCENARIOS[scenario]
    client.force_login(personas[persona])
    with rolled_back():
        if start != "planned":
            Finding.objects.filter(code=code).update(status=start, version=2)
        finding = Finding.objects.get(code=code)
        fields = with_version({"target": target, "version": version}, finding.version)
        before = db_state()

        response = send(client, f"/findings/{code}/status/", fields, shape, htmx)

        assert_no_server_error(response)
        after = db_state()
        wanted, sent_version = last(fields, "target", shape), last(fields, "version", shape)
        if persona in CANNOT_CHANGE:
            expected = 403
        elif shape not in FORM_SHAPES or wanted not in STATUSES:
            expected = 400
        elif not is_clean_version(sent_version):
            expected = None
        elif "locked" in scenario:
            expected = 423
        elif wanted == finding.status:
            expected = success_status(htmx)
        elif sent_version != str(finding.version):
            expected = 409
        elif wanted in MOVES[finding.status]:
            expected = success_status(htmx)
        else:
            expected = 422
        if expected is not None:
            assert response.status_code == expected, (fields, shape)
        assert response.status_code in {200, 302, 400, 403, 409, 422, 423}
        if response.status_code >= 400:
            assert after == before, changed(before, after)
            return
        now = Finding.objects.get(pk=finding.pk)
        assert now.status == wanted
        if now.status == finding.status:
            assert after == before, changed(before, after)
        else:
            assert now.version == finding.version + 1
            assert audit_actions_since(before["audit events"]) == ["finding.status_changed"]
            assert changed(before, after) == {"findings.Finding", "findings.AuditChainHead",
                                              "audit events"}  # fmt: skip


# /phases/<code>/signoff/
