"""The signoff team of the phase news tests: the personas with email addresses, and lead2."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from findings.models import ChecklistItem, Finding, Notification, Status
from findings.roles import SIGNOFF_LEAD
from tests.phase_work import move, tick


def with_email(user):
    user.email = f"{user.get_username()}@example.org"
    user.save(update_fields=["email"])
    return user


def second_lead():
    """lead2, a signoff lead who did none of the phase's work."""
    user = with_email(get_user_model().objects.create_user("lead2"))
    user.groups.set([Group.objects.get(name=SIGNOFF_LEAD)])
    return user


def recipients(kind: str) -> list[str]:
    """The usernames the messages of this kind are queued for, in order."""
    return list(
        Notification.objects.filter(kind=kind)
        .order_by("recipient__username", "id")
        .values_list("recipient__username", flat=True)
    )


def finish_all_but_the_last_move(user, phase_code: str = "2A") -> str:
    """Do all the phase's work as `user` but the last finding's move to done; return its code."""
    for item in ChecklistItem.objects.filter(finding__phase__code=phase_code, checked=False):
        tick(item, user)
    codes = list(Finding.objects.filter(phase__code=phase_code).values_list("code", flat=True))
    for code in codes:
        for target in (Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE):
            if (code, target) != (codes[-1], Status.DONE):
                move(code, target, user)
    return codes[-1]
