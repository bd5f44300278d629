"""Fixtures of the page tests: phase 2A as seeded, ready to sign and signed off; varied findings."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from findings.models import ChecklistItem, Finding, Phase, Signoff, Status
from findings.services.signoffs import signoff_sign
from tests.helpers import context_for
from tests.phase_work import fingerprint_of, make_ready
from tests.views.phase_gate import COMMENT


@pytest.fixture
def phase_2a(catalogue) -> Phase:
    return Phase.objects.get(code="2A")


@pytest.fixture
def ready_2a(phase_2a, reviewer) -> Phase:
    make_ready(reviewer)
    return phase_2a


@pytest.fixture
def signoff(ready_2a, lead) -> Signoff:
    return signoff_sign(
        phase_id=ready_2a.pk,
        expected_fingerprint=fingerprint_of(ready_2a),
        comment=COMMENT,
        context=context_for(lead),
    )


@pytest.fixture
def varied(catalogue):
    """Give the seeded findings different owners, efforts, progress and statuses to sort by."""
    users = get_user_model().objects
    Finding.objects.filter(code="SI-004").update(owner=users.create_user("amy"))
    Finding.objects.filter(code="BL-009").update(owner=users.create_user("zed"))
    Finding.objects.filter(code="BL-004").update(effort_min_days=2, effort_max_days=3)
    Finding.objects.filter(code="SI-002").update(effort_min_days=5, effort_max_days=8)
    Finding.objects.filter(code="SI-005").update(status=Status.IN_REVIEW)
    ChecklistItem.objects.filter(finding__code="SI-006", position=1).update(
        checked=True, checked_at=timezone.now()
    )
