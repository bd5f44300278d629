"""Real concurrent signoffs and unticks of phase 2A, each thread on its own database connection.

Both services lock the phase row first, so they serialise. These run on PostgreSQL only:
pytest-django's SQLite test database lives in memory, where threads share no real write lock.
"""

import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections

from findings.models import AuditEvent, ChecklistItem, Finding, Phase, Signoff, Status
from findings.roles import SIGNOFF_LEAD
from findings.services.audit import ActionContext
from findings.services.checklist import checklist_item_save, checklist_item_set
from findings.services.errors import Refused, StaleVersion
from findings.services.findings import finding_update
from findings.services.signoffs import (
    content_fingerprint,
    phase_content,
    signoff_sign,
)
from findings.services.status import finding_status_set
from tests.helpers import context_in_thread

LEADS = 10
ROUNDS = 20
JOIN_TIMEOUT = 120
# Up to this many seconds of delay before a thread acts, so both orders of a race get run.
JITTER = 0.03

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def run_together(count: int, work: Callable[[int], object]) -> list:
    """Run work(index) in `count` threads released together by a barrier.

    Each thread closes its own database connections; an exception becomes its result.
    """
    barrier = threading.Barrier(count, timeout=JOIN_TIMEOUT)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as error:
            # Whatever escapes (an IntegrityError, a deadlock) becomes the result, for the test.
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results


def set_item(item_id: int, checked: bool, user_id: int, request_id: str) -> ChecklistItem:
    version = ChecklistItem.objects.values_list("version", flat=True).get(pk=item_id)
    return checklist_item_set(
        item_id=item_id,
        checked=checked,
        expected_version=version,
        context=context_in_thread(user_id, request_id),
    )


def make_ready(user_id: int) -> None:
    """As the reviewer: tick every 2A item and move each 2A finding to done."""
    for item_id in ChecklistItem.objects.filter(finding__phase__code="2A").values_list(
        "pk", flat=True
    ):
        set_item(item_id, True, user_id, f"ready-item-{item_id}")
    for finding in Finding.objects.filter(phase__code="2A"):
        for target in (Status.IN_PROGRESS, Status.IN_REVIEW, Status.DONE):
            finding_status_set(
                finding_id=finding.pk,
                target=target,
                expected_version=Finding.objects.get(pk=finding.pk).version,
                context=context_in_thread(user_id, f"ready-{finding.code}-{target}"),
            )


def signed_over_an_unticked_item(phase: Phase) -> bool:
    return (
        Signoff.objects.active().filter(phase=phase).exists()
        and ChecklistItem.objects.filter(finding__phase=phase, checked=False).exists()
    )


@pytest.fixture
def phase_2a(catalogue, reviewer) -> Phase:
    make_ready(reviewer.pk)
    return Phase.objects.get(code="2A")


@pytest.fixture
def leads(db) -> list:
    group = Group.objects.get(name=SIGNOFF_LEAD)
    users = []
    for number in range(LEADS):
        user = get_user_model().objects.create_user(username=f"lead{number}")
        user.groups.set([group])
        users.append(user)
    return users


def test_ten_leads_signing_at_once_leave_exactly_one_signoff(phase_2a, leads):
    fingerprint = content_fingerprint(phase_content(phase_2a.pk))

    def work(index: int):
        try:
            signoff = signoff_sign(
                phase_id=phase_2a.pk,
                expected_fingerprint=fingerprint,
                comment=f"Signed by lead{index}.",
                context=context_in_thread(leads[index].pk, f"sign-{index}"),
            )
        except Refused as refusal:
            return refusal.message
        return signoff.pk

    results = run_together(LEADS, work)

    escaped = [result for result in results if isinstance(result, BaseException)]
    assert escaped == []
    [signoff] = Signoff.objects.all()
    assert signoff.is_active
    assert results.count(signoff.pk) == 1
    refusals = [result for result in results if result != signoff.pk]
    assert refusals == ["Phase 2A is already signed off."] * (LEADS - 1)
    winner = results.index(signoff.pk)
    assert (signoff.signed_by, signoff.comment) == (leads[winner], f"Signed by lead{winner}.")
    [event] = AuditEvent.objects.filter(action="phase.signed_off")
    assert (event.actor, event.object_id, event.request_id) == (
        leads[winner],
        str(signoff.pk),
        f"sign-{winner}",
    )
    assert not AuditEvent.objects.filter(action="phase.signoff_refused").exists()


def set_status(finding_code: str, target: str, user_id: int, request_id: str) -> Finding:
    finding = Finding.objects.get(code=finding_code)
    return finding_status_set(
        finding_id=finding.pk,
        target=target,
        expected_version=finding.version,
        context=context_in_thread(user_id, request_id),
    )


def test_a_signoff_racing_an_untick_never_stands_over_an_unticked_item(phase_2a, reviewer, lead):
    # A done finding's items stay ticked, so the untick comes after moving its finding back.
    item_ids = list(
        ChecklistItem.objects.filter(finding__phase=phase_2a).values_list("pk", flat=True)
    )
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    outcomes: Counter = Counter()
    # Every round starts from the same ready content, the content the lead reviewed.
    fingerprint = content_fingerprint(phase_content(phase_2a.pk))

    for round_number in range(ROUNDS):
        item_id = rng.choice(item_ids)
        # Delay one side or neither, so both orders of the race happen.
        delays = [(0.0, 0.0), (JITTER, 0.0), (0.0, JITTER)][round_number % 3]
        text = ChecklistItem.objects.values_list("text", flat=True).get(pk=item_id)
        code = ChecklistItem.objects.values_list("finding__code", flat=True).get(pk=item_id)

        def work(index: int, item_id=item_id, code=code, delays=delays, round_number=round_number):
            time.sleep(delays[index])
            if index == 0:
                try:
                    return signoff_sign(
                        phase_id=phase_2a.pk,
                        expected_fingerprint=fingerprint,
                        comment=f"Round {round_number}.",
                        context=context_in_thread(lead.pk, f"sign-{round_number}"),
                    ).pk
                except Refused as refusal:
                    return refusal
            set_status(code, Status.IN_REVIEW, reviewer.pk, f"reopen-{round_number}")
            return set_item(item_id, False, reviewer.pk, f"untick-{round_number}").checked

        signed, unticked = run_together(2, work)

        context = f"round {round_number}, seed {seed}"
        assert not isinstance(signed, Exception) or isinstance(signed, Refused), context
        assert unticked is False, context
        assert not signed_over_an_unticked_item(phase_2a), context
        if isinstance(signed, Refused):
            # The reopening came first: the sign saw it, and the untick if that came first too.
            assert signed.message == "Phase 2A is not ready to sign off.", context
            assert signed.blockers in (
                [f"{code} is in review, not done."],
                [f"{code} is in review, not done.", f"{code}: “{text}” is not ticked."],
            ), context
            outcomes["untick first"] += 1
        else:
            # The sign came first: the reopening revoked it by itself.
            signoff = Signoff.objects.get(pk=signed)
            assert not signoff.is_active, context
            assert signoff.revoked_automatically, context
            assert f"{code}: status done → in_review." in signoff.revoke_reason, context
            outcomes["sign first"] += 1

        # Reset: a re-tick and done again restore the content but not the approval, so no
        # signoff is left to revoke before the next round.
        set_item(item_id, True, reviewer.pk, f"retick-{round_number}")
        set_status(code, Status.DONE, reviewer.pk, f"done-{round_number}")
        assert not Signoff.objects.active().exists(), context

    assert sum(outcomes.values()) == ROUNDS
    # Both orders ran, so neither branch of the checks above was vacuous.
    assert set(outcomes) == {"untick first", "sign first"}, f"{outcomes}, seed {seed}"
    assert Signoff.objects.filter(revoked_automatically=True).count() == outcomes["sign first"]


def edit_sql(round_number: int, context: ActionContext) -> str:
    finding = Finding.objects.get(code="SI-001")
    finding.migration_sql += f"\n-- reviewed in round {round_number}"
    finding_update(finding=finding, context=context)
    return "SI-001: PostgreSQL migration changed."


def move_item(round_number: int, context: ActionContext) -> str:
    # A new position keeps the item's tick (new wording would not), so the phase stays ready.
    item = (
        ChecklistItem.objects.select_related("finding")
        .filter(finding__code="SI-001")
        .order_by("-position")
        .first()
    )
    item.position = 101 + round_number
    checklist_item_save(item=item, context=context)
    return f"SI-001: checklist item “{item.text}” added."


@pytest.mark.parametrize("edit", [edit_sql, move_item], ids=["finding_sql", "item_position"])
def test_a_signoff_racing_an_admins_edit_never_approves_content_it_did_not_see(
    phase_2a, lead, admin_user, edit
):
    # The rule holds "whatever path made the change", so an admin's edit must
    # serialise with signing as an untick does; otherwise the sign reads the content before
    # the edit commits, and the edit's revalidation runs before the signoff commits.
    seed = random.randrange(1_000_000)
    outcomes: Counter = Counter()

    for round_number in range(ROUNDS):
        delays = [(0.0, 0.0), (JITTER, 0.0), (0.0, JITTER)][round_number % 3]
        # What the lead's confirmation showed, before the admin's edit.
        seen = content_fingerprint(phase_content(phase_2a.pk))

        def work(index: int, delays=delays, round_number=round_number, seen=seen):
            time.sleep(delays[index])
            if index == 0:
                try:
                    return signoff_sign(
                        phase_id=phase_2a.pk,
                        expected_fingerprint=seen,
                        comment=f"Round {round_number}.",
                        context=context_in_thread(lead.pk, f"sign-{round_number}"),
                    ).pk
                except StaleVersion as refusal:
                    return refusal
            return edit(round_number, context_in_thread(admin_user.pk, f"edit-{round_number}"))

        signed, change = run_together(2, work)

        context = f"round {round_number}, seed {seed}"
        assert isinstance(signed, int | StaleVersion), f"{context}: {signed!r}"
        assert isinstance(change, str), f"{context}: {change!r}"
        if isinstance(signed, StaleVersion):
            # The edit came first, so the lead, who reviewed the content before it, signs nothing.
            assert not Signoff.objects.active().exists(), f"{context}: signed unseen content"
            outcomes["edit first"] += 1
        else:
            signoff = Signoff.objects.get(pk=signed)
            # The sign came first: the edit revoked it by itself.
            assert not signoff.is_active, context
            assert signoff.revoked_automatically, context
            assert change in signoff.revoke_reason, context
            outcomes["sign first"] += 1

    assert sum(outcomes.values()) == ROUNDS
    assert set(outcomes) == {"edit first", "sign first"}, f"{outcomes}, seed {seed}"
