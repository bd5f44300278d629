"""Real concurrent calls of the ticking and status services, each thread on its own connection.

They run on PostgreSQL only: pytest-django's SQLite test database lives in memory, where threads
do not get the separate connections and the write lock that this app relies on.
"""

import random
import threading
from collections import Counter
from dataclasses import dataclass, replace

import pytest

from findings.models import AuditEvent, ChecklistItem, Finding, Status
from findings.services.checklist import checklist_item_set
from findings.services.errors import StaleVersion
from findings.services.status import finding_status_set
from tests.concurrency.threads import run_together
from tests.helpers import context_in_thread

THREADS = 20
ROUNDS = 15
ITEMS = 3
TICK_ACTIONS = ("checklist_item.ticked", "checklist_item.unticked")

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@dataclass(frozen=True)
class Call:
    """One service call made by a thread, and what came of it."""

    request_id: str
    item_id: int
    desired: bool
    expected_version: int
    returned: tuple[bool, int] | None = None
    stale: tuple[bool, int] | None = None
    error: BaseException | None = None


def tick_events(item_id: int) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type="checklistitem", object_id=str(item_id), action__in=TICK_ACTIONS
        ).order_by("id")
    )


@pytest.fixture
def finding(catalogue) -> Finding:
    # Phase 2A is never locked, so every refusal here can only be a stale version.
    return Finding.objects.get(code="SI-001")


def test_it_applies_every_concurrent_change_once_and_loses_none(finding, reviewer, lead):
    item_ids = list(
        finding.checklist_items.order_by("position").values_list("pk", flat=True)[:ITEMS]
    )
    user_ids = [reviewer.pk, lead.pk]
    seed = random.randrange(1_000_000)

    def work(index: int, barrier: threading.Barrier) -> list[Call]:
        rng = random.Random(seed + index)
        calls = []
        for round_number in range(ROUNDS):
            versions = dict(
                ChecklistItem.objects.filter(pk__in=item_ids).values_list("pk", "version")
            )
            item_id = rng.choice(item_ids)
            desired = rng.random() < 0.5
            request_id = f"t{index}-r{round_number}"
            context = context_in_thread(user_ids[index % 2], request_id)
            call = Call(request_id, item_id, desired, versions[item_id])
            # Every thread has read its versions before any of them writes this round.
            barrier.wait()
            try:
                item = checklist_item_set(
                    item_id=item_id,
                    checked=desired,
                    expected_version=call.expected_version,
                    context=context,
                )
                call = replace(call, returned=(item.checked, item.version))
            except StaleVersion as stale:
                current = (stale.current.checked, stale.current.version)
                call = replace(call, stale=current)
            except Exception as error:
                # Anything else is recorded, and fails the test below.
                call = replace(call, error=error)
            calls.append(call)
        return calls

    results = run_together(THREADS, work)

    escaped = [result for result in results if isinstance(result, BaseException)]
    assert escaped == [], f"seed {seed}"
    calls = [call for thread_calls in results for call in thread_calls]
    assert len(calls) == THREADS * ROUNDS
    assert [call.error for call in calls if call.error is not None] == [], f"seed {seed}"
    # No lost update: a call that returned left the item as it asked.
    assert [call for call in calls if call.returned and call.returned[0] != call.desired] == []
    # A stale refusal is only for a different state at a different version.
    assert [
        call
        for call in calls
        if call.stale and (call.stale[0] == call.desired or call.stale[1] == call.expected_version)
    ] == []

    calls_by_request = {call.request_id: call for call in calls}
    applied = 0
    for item_id in item_ids:
        item = ChecklistItem.objects.get(pk=item_id)
        events = tick_events(item_id)
        assert item.version - 1 == len(events), f"item {item_id}, seed {seed}"
        assert item.checked == (events[-1].after["checked"] if events else False)
        assert item.checked_by_id == (events[-1].actor_id if item.checked else None)
        # The events form one unbroken chain of alternating states, version by version.
        for number, event in enumerate(events, start=1):
            assert event.before == {"checked": number % 2 == 0, "version": number}
            assert event.after == {"checked": number % 2 == 1, "version": number + 1}
            call = calls_by_request[event.request_id]
            assert (call.item_id, call.desired, call.expected_version) == (
                item_id,
                event.after["checked"],
                event.before["version"],
            )
            assert call.returned == (event.after["checked"], event.after["version"])
        applied += len(events)

    request_ids = [event.request_id for event in AuditEvent.objects.filter(action__in=TICK_ACTIONS)]
    assert len(request_ids) == len(set(request_ids)) == applied
    outcomes = Counter("stale" if call.stale else "returned" for call in calls)
    # Both paths ran, so the assertions above were not vacuous.
    assert applied > 0 and outcomes["stale"] > 0, f"{outcomes}, seed {seed}"


def test_it_ticks_an_item_once_when_twenty_reviewers_tick_it_together(finding, reviewer):
    item = finding.checklist_items.get(position=1)

    def work(index: int, barrier: threading.Barrier) -> tuple[bool, int]:
        returned = checklist_item_set(
            item_id=item.pk,
            checked=True,
            expected_version=1,
            context=context_in_thread(reviewer.pk, f"t{index}"),
        )
        return returned.checked, returned.version

    results = run_together(THREADS, work)

    assert results == [(True, 2)] * THREADS
    item.refresh_from_db()
    assert (item.checked, item.checked_by, item.version) == (True, reviewer, 2)
    [event] = tick_events(item.pk)
    assert (event.action, event.before, event.after) == (
        "checklist_item.ticked",
        {"checked": False, "version": 1},
        {"checked": True, "version": 2},
    )


def test_it_starts_work_once_when_ten_reviewers_start_it_together(finding, reviewer):
    def work(index: int, barrier: threading.Barrier) -> tuple[str, int]:
        returned = finding_status_set(
            finding_id=finding.pk,
            target=Status.IN_PROGRESS,
            expected_version=1,
            context=context_in_thread(reviewer.pk, f"t{index}"),
        )
        return returned.status, returned.version

    results = run_together(10, work)

    assert results == [(Status.IN_PROGRESS, 2)] * 10
    assert Finding.objects.values_list("status", "version").get(pk=finding.pk) == (
        Status.IN_PROGRESS,
        2,
    )
    [event] = AuditEvent.objects.filter(action="finding.status_changed", finding=finding)
    assert (event.before, event.after) == (
        {"status": "planned", "version": 1},
        {"status": "in_progress", "version": 2},
    )
