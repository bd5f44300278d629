"""Work on the seeded catalogue done the way people do it, through the services, for gate tests."""

from findings.models import ChecklistItem, Finding, Phase, Signoff, Status
from findings.services.checklist import checklist_item_set
from findings.services.signoffs import content_fingerprint, phase_content, signoff_sign
from findings.services.status import finding_status_set
from tests.helpers import context_for

LOCKED_BY_2A = "Locked until phase 2A Foundation is signed off."


def tick(item: ChecklistItem, user, checked: bool = True) -> ChecklistItem:
    item.refresh_from_db()
    return checklist_item_set(
        item_id=item.pk, checked=checked, expected_version=item.version, context=context_for(user)
    )


def move(code: str, target: str, user) -> Finding:
    finding = Finding.objects.get(code=code)
    return finding_status_set(
        finding_id=finding.pk,
        target=target,
        expected_version=finding.version,
        context=context_for(user),
    )


def finish(code: str, user) -> Finding:
    """Tick every item of the finding and move it through the lifecycle to done."""
    for item in ChecklistItem.objects.filter(finding__code=code, checked=False):
        tick(item, user)
    for target in (Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE):
        finding = move(code, target, user)
    return finding


def make_ready(user, phase_code: str = "2A") -> None:
    """Tick every item of the phase and move each of its findings to done, as `user`."""
    for item in ChecklistItem.objects.filter(finding__phase__code=phase_code, checked=False):
        tick(item, user)
    for code in Finding.objects.filter(phase__code=phase_code).values_list("code", flat=True):
        for target in (Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE):
            move(code, target, user)


def fingerprint_of(phase: Phase) -> str:
    """The content fingerprint a signer's confirmation of the phase would show now."""
    return content_fingerprint(phase_content(phase.pk))


def sign(phase_code: str, *, reviewer, lead) -> Signoff:
    """Make the phase ready as `reviewer`, then sign off what it holds as `lead`."""
    make_ready(reviewer, phase_code)
    phase = Phase.objects.get(code=phase_code)
    return signoff_sign(
        phase_id=phase.pk,
        expected_fingerprint=fingerprint_of(phase),
        comment="All checked.",
        context=context_for(lead),
    )


def item_of(code: str, position: int) -> ChecklistItem:
    return ChecklistItem.objects.get(finding__code=code, position=position)
