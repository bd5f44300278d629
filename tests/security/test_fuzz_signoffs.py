"""Hypothesis over signing and revoking a phase: hostile input never gives a 5xx.

Each example runs in a savepoint that is rolled back and compares a digest of every table before
and after the request (tests/security/fuzzing.py): a refusal changes nothing, a success does
exactly what it asked.
"""

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from findings.models import (
    Finding,
    Phase,
    Signoff,
)
from findings.services.approval import content_fingerprint, phase_content
from tests.security.fuzzing import (
    BODY_SHAPES,
    assert_no_server_error,
    audit_actions_since,
    changed,
    db_state,
    fuzz,
    is_valid_note,
    last,
    make_phase_ready,
    rolled_back,
    send,
    success_status,
    values,
)

SIGN_SCENARIOS = ["not ready", "ready", "ready, but the lead owns a finding", "a reviewer"]


@pytest.mark.parametrize("scenario", SIGN_SCENARIOS)
@fuzz
@given(
    comment=values("Checked every item.", "  ok  "),
    shape=st.sampled_from(BODY_SHAPES),
    htmx=st.booleans(),
)
def test_a_signoff_is_recorded_exactly_or_refused_without_a_trace(
    client, catalogue, personas, scenario, comment, shape, htmx
):
    signer = personas["reviewer" if scenario == "a reviewer" else "lead"]
    client.force_login(signer)
    with rolled_back():
        phase = Phase.objects.get(code="2A")
        if scenario.startswith("ready"):
            make_phase_ready(phase, ticked_by=personas["reviewer"])
        if "owns" in scenario:
            Finding.objects.filter(code="SI-001").update(owner=signer)
        # The fingerprint the confirmation page shows, so that only the comment varies.
        fingerprint = content_fingerprint(phase_content(phase.pk))
        fields = {"comment": comment, "fingerprint": [fingerprint]}
        before = db_state()

        response = send(client, "/phases/2A/signoff/", fields, shape, htmx)

        assert_no_server_error(response)
        after = db_state()
        note = last(fields, "comment", shape)
        if scenario == "a reviewer":
            expected = 403
        elif not is_valid_note(note):
            expected = 400
        elif scenario == "ready":
            expected = success_status(htmx)
        else:
            expected = 422
        assert response.status_code == expected, (fields, shape)
        if expected == 422 and "owns" in scenario:
            # Refusing a signer their own work is audited, and nothing else is written.
            assert audit_actions_since(before["audit events"]) == ["phase.signoff_refused"]
            assert changed(before, after) == {"findings.AuditChainHead", "audit events"}
        elif response.status_code >= 400:
            assert after == before, changed(before, after)
        else:
            signoff = Signoff.objects.active().get(phase=phase)
            assert (signoff.signed_by, signoff.comment) == (signer, note.strip())
            assert audit_actions_since(before["audit events"]) == ["phase.signed_off"]
            assert changed(before, after) == {"findings.Signoff", "findings.AuditChainHead",
                                              "audit events"}  # fmt: skip


# /phases/<code>/signoff/revoke/

REVOKE_SCENARIOS = ["signed off", "not signed off", "a reviewer"]


@pytest.mark.parametrize("scenario", REVOKE_SCENARIOS)
@fuzz
@given(
    reason=values("The evidence was wrong.", "\tredo\n"),
    shape=st.sampled_from(BODY_SHAPES),
    htmx=st.booleans(),
)
def test_a_revocation_is_recorded_exactly_or_refused_without_a_trace(
    client, catalogue, personas, scenario, reason, shape, htmx
):
    revoker = personas["reviewer" if scenario == "a reviewer" else "lead"]
    client.force_login(revoker)
    with rolled_back():
        phase = Phase.objects.get(code="2A")
        if scenario != "not signed off":
            Signoff.objects.create(
                phase=phase, signed_by=personas["admin"], signed_at=timezone.now()
            )
        fields = {"reason": reason}
        before = db_state()

        response = send(client, "/phases/2A/signoff/revoke/", fields, shape, htmx)

        assert_no_server_error(response)
        after = db_state()
        note = last(fields, "reason", shape)
        if scenario == "a reviewer":
            expected = 403
        elif not is_valid_note(note):
            expected = 400
        elif scenario == "signed off":
            expected = success_status(htmx)
        else:
            expected = 422
        assert response.status_code == expected, (fields, shape)
        if response.status_code >= 400:
            assert after == before, changed(before, after)
            return
        signoff = Signoff.objects.get(phase=phase)
        assert (signoff.revoked_by, signoff.revoke_reason) == (revoker, note.strip())
        assert audit_actions_since(before["audit events"]) == ["phase.signoff_revoked"]
        assert changed(before, after) == {"findings.Signoff", "findings.AuditChainHead",
                                          "audit events"}  # fmt: skip


# The admin's finding change form.
