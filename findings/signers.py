"""Who may sign a phase off: the holders of the signoff permission whom separation of duties
does not bar. The signoff service, the phase page's gate panel and the notifications of a phase
ready to sign all decide it here.

Separation of duties bars a user who owns a finding of the phase, and, when it is strict
(SIGNOFF_STRICT_SEPARATION), a user whose tick is among the phase's current attestations: an item
of the phase ticked by them now. A tick someone else has since redone no longer bars its first
author; an approval is of what the phase holds, so only who attests it now matters. A tick by a
service account (a member of the CI group) attests a machine check: it bars nobody, and service
accounts never sign.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q

from findings.models import ChecklistItem, Finding, Phase, Signoff
from findings.roles import CI

SIGN_PERMISSION = "findings.sign_off_phase"


@dataclass
class Signers:
    """The phase's possible signers: who may sign now, and who holds the role but is barred."""

    eligible: list = field(default_factory=list)
    barred: dict = field(default_factory=dict)  # user -> the reasons they may not sign

    @property
    def nobody_reason(self) -> str:
        """Why nobody can sign the phase, or "" when someone can."""
        if self.eligible:
            return ""
        if not self.barred:
            return "Nobody can sign it off: no active user holds the signoff lead role."
        names = ", ".join(user.get_username() for user in self.barred)
        return (
            f"Nobody can sign it off: every holder of the signoff lead role ({names}) owns a "
            "finding of the phase or ticked one of its items. An admin can give the role to "
            "someone independent of the phase's work."
        )


def is_service_account(user) -> bool:
    """Whether `user` is a service account, which attests machine checks and never signs."""
    return user.groups.filter(name=CI).exists()


def signoff_permission_holders():
    """Active users holding the signoff permission, through a group, directly or as superuser,
    service accounts aside."""
    app_label, codename = SIGN_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__in=permission)
            | Q(user_permissions__in=permission)
        )
        .exclude(groups__name=CI)
        .distinct()
        .order_by("username")
    )


def duty_problems(*, phase: Phase, user_ids) -> dict[int, list[str]]:
    """Why separation of duties bars each of these users from signing `phase`. Two queries."""
    user_ids = list(user_ids)
    problems: dict[int, list[str]] = {}
    owned: dict[int, list[str]] = {}
    for owner_id, code in (
        Finding.objects.filter(phase_id=phase.pk, owner_id__in=user_ids)
        .order_by("code")
        .values_list("owner_id", "code")
    ):
        owned.setdefault(owner_id, []).append(code)
    for user_id, codes in owned.items():
        problems.setdefault(user_id, []).append(
            f"You own {', '.join(codes)} in this phase; someone else must sign it off."
        )
    if settings.SIGNOFF_STRICT_SEPARATION:
        ticked: dict[int, list[str]] = {}
        for user_id, code in (
            ChecklistItem.objects.filter(
                finding__phase_id=phase.pk, checked=True, checked_by_id__in=user_ids
            )
            .exclude(checked_by__groups__name=CI)
            .order_by("finding__code")
            .values_list("checked_by_id", "finding__code")
            .distinct()
        ):
            ticked.setdefault(user_id, []).append(code)
        for user_id, codes in ticked.items():
            problems.setdefault(user_id, []).append(
                f"Items of {', '.join(codes)} in this phase stand ticked by you; with strict "
                "separation of duties someone else must sign it off."
            )
    return problems


def tick_would_bar_signing(user, phase: Phase | None, *, signed: bool | None = None) -> bool:
    """Whether ticking an item of `phase` would bar `user` from signing the phase off.

    So with strict separation, for a holder of the signoff permission, in a gated phase not yet
    signed off: the one case in which the page warns before a tick. `signed` says whether the
    phase has an active signoff, for a caller that has read it; otherwise one query reads it.
    """
    if not settings.SIGNOFF_STRICT_SEPARATION or phase is None or not phase.requires_signoff:
        return False
    if not user.has_perm(SIGN_PERMISSION):
        return False
    if signed is None:
        signed = Signoff.objects.active().filter(phase_id=phase.pk).exists()
    return not signed


def phase_signers(phase: Phase) -> Signers:
    """Who may sign `phase` off now, and who is barred and why. Three queries."""
    holders = list(signoff_permission_holders())
    problems = duty_problems(phase=phase, user_ids=[user.pk for user in holders])
    signers = Signers()
    for user in holders:
        if user.pk in problems:
            signers.barred[user] = problems[user.pk]
        else:
            signers.eligible.append(user)
    return signers
