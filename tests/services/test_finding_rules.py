import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from findings.models import AuditEvent, Finding, Phase, Status
from findings.services.audit import ActionContext
from findings.services.findings import finding_create

VALID_CODE_HINT = "A finding code is SI, BF or BL, a hyphen and three digits, like SI-001."
PHASE_RULE = (
    "A finding in the plan needs a phase; only a finding completed before the plan has none."
)


@pytest.fixture
def phase(db):
    return Phase.objects.create(
        code="2A",
        name="Foundation",
        priority_band="CRITICAL",
        folder_name="phase_2a_foundation",
        order=1,
    )


@pytest.fixture
def create(phase, system_context):
    """finding_create with a valid planned finding's fields, overridden by the test's."""

    def create(**fields):
        defaults = {"code": "SI-001", "title": "Transactions", "phase": phase}
        return finding_create(context=system_context, **{**defaults, **fields})

    return create


@pytest.mark.parametrize("code", ["XX-001", "SI-01", "si-001", "SI-0001", "SI001", " SI-001"])
def test_it_rejects_a_malformed_code_saying_what_a_valid_one_is(create, code):
    with pytest.raises(ValidationError) as raised:
        create(code=code)

    assert VALID_CODE_HINT in raised.value.message_dict["code"]
    assert not Finding.objects.exists()


@pytest.mark.parametrize("code", ["SI-001", "BF-999", "BL-010"])
def test_it_accepts_a_well_formed_code(create, code):
    finding = create(code=code)

    assert Finding.objects.get(pk=finding.pk).code == code


def test_it_rejects_a_code_that_is_already_used(create):
    create(code="BF-002")

    with pytest.raises(ValidationError) as raised:
        create(code="BF-002", title="Another")

    assert "code" in raised.value.message_dict
    assert Finding.objects.count() == 1


@pytest.mark.parametrize(
    ("code", "category"), [("SI-004", "SI"), ("BF-007", "BF"), ("BL-013", "BL")]
)
def test_it_derives_the_category_from_the_code_prefix(create, code, category):
    finding = create(code=code)

    finding.refresh_from_db()

    assert finding.category == category
    assert Finding.objects.filter(category=category).count() == 1


def test_it_rederives_the_category_when_the_code_changes(create):
    finding = create(code="SI-004")

    Finding.objects.filter(pk=finding.pk).update(code="BL-004")
    finding.refresh_from_db()

    assert finding.category == "BL"


def test_it_rejects_a_minimum_effort_above_the_maximum_naming_both(create):
    with pytest.raises(ValidationError) as raised:
        create(effort_min_days=5, effort_max_days=2)

    assert raised.value.message_dict["effort_max_days"] == [
        "The maximum effort (2 days) is less than the minimum (5 days)."
    ]
    assert not Finding.objects.exists()


@pytest.mark.parametrize("effort", [{"effort_min_days": 3}, {"effort_max_days": 3}])
def test_it_rejects_only_one_end_of_the_effort_range(create, effort):
    with pytest.raises(ValidationError) as raised:
        create(**effort)

    assert raised.value.message_dict["effort_max_days"] == [
        "Give both a minimum and a maximum effort, or neither."
    ]


def test_it_rejects_an_effort_of_zero_days(create):
    with pytest.raises(ValidationError) as raised:
        create(effort_min_days=0, effort_max_days=2)

    assert "effort_min_days" in raised.value.message_dict


@pytest.mark.parametrize(("low", "high"), [(2, 5), (3, 3)])
def test_it_accepts_an_effort_range(create, low, high):
    finding = create(effort_min_days=low, effort_max_days=high)

    finding.refresh_from_db()

    assert (finding.effort_min_days, finding.effort_max_days) == (low, high)
    assert finding.has_effort_estimate


def test_it_accepts_no_effort_estimate_at_all(create):
    finding = create()

    assert (finding.effort_min_days, finding.effort_max_days) == (None, None)
    assert not finding.has_effort_estimate


def test_the_database_rejects_an_inverted_effort_range_written_around_the_model(create):
    finding = create(effort_min_days=2, effort_max_days=5)

    with pytest.raises(IntegrityError), transaction.atomic():
        Finding.objects.filter(pk=finding.pk).update(effort_min_days=5, effort_max_days=2)

    finding.refresh_from_db()
    assert (finding.effort_min_days, finding.effort_max_days) == (2, 5)


def test_the_database_rejects_half_an_effort_range_written_around_the_model(create):
    # A CHECK passes when its condition is NULL, and "max >= min" is NULL when max is NULL.
    finding = create()

    with pytest.raises(IntegrityError), transaction.atomic():
        Finding.objects.filter(pk=finding.pk).update(effort_min_days=3)


def test_it_rejects_a_completed_finding_with_a_phase(create):
    with pytest.raises(ValidationError) as raised:
        create(status=Status.COMPLETED)

    assert PHASE_RULE in raised.value.messages
    assert not Finding.objects.exists()


@pytest.mark.parametrize("status", [Status.PLANNED, Status.IN_PROGRESS, Status.DONE])
def test_it_rejects_a_finding_in_the_plan_without_a_phase(create, status):
    with pytest.raises(ValidationError) as raised:
        create(status=status, phase=None)

    assert PHASE_RULE in raised.value.messages


def test_it_accepts_a_completed_finding_without_a_phase(create):
    finding = create(status=Status.COMPLETED, phase=None)

    assert finding.phase is None
    assert not finding.checklist_items.exists()


def test_the_database_rejects_a_planned_finding_losing_its_phase(create):
    finding = create()

    with pytest.raises(IntegrityError), transaction.atomic():
        Finding.objects.filter(pk=finding.pk).update(phase=None)


def test_it_records_the_creation_in_the_audit_trail(create):
    finding = create(code="BL-007", title="Input validation")

    event = AuditEvent.objects.get()

    assert (event.action, event.finding_id, event.permission) == (
        "finding.created",
        finding.pk,
        "system:test",
    )
    assert event.after["code"] == "BL-007"
    assert event.after["title"] == "Input validation"
    assert event.before is None


def test_it_records_the_users_permission_when_a_user_creates_a_finding(phase, admin_user):
    finding_create(context=ActionContext(actor=admin_user), code="SI-001", title="Tx", phase=phase)

    event = AuditEvent.objects.get(action="finding.created")

    assert (event.actor, event.actor_username, event.permission) == (
        admin_user,
        "admin",
        "findings.add_finding",
    )


@pytest.mark.parametrize("persona", ["viewer", "reviewer", "lead", "outsider"])
def test_it_refuses_a_user_without_the_add_permission(phase, persona, request):
    user = request.getfixturevalue(persona)
    events_before = AuditEvent.objects.count()

    with pytest.raises(PermissionDenied):
        finding_create(context=ActionContext(actor=user), code="SI-001", title="Tx", phase=phase)

    assert not Finding.objects.exists()
    assert AuditEvent.objects.count() == events_before
