"""Concurrent writers append to one audit chain: the head row's lock queues them, so it never forks.

The concurrent tests run on PostgreSQL only: pytest-django's SQLite test database lives in memory,
where threads do not get the separate connections and row locks that the chain relies on. The
rolled-back append needs no second connection and runs on both databases.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from findings.audit_chain import HEAD_ID, chain_verify
from findings.models import AuditChainHead, AuditEvent, ChecklistItem, Finding, Phase
from findings.services.audit import audit_record
from findings.services.checklist import checklist_item_set
from tests.concurrency.threads import JOIN_TIMEOUT, run_together
from tests.database_roles import as_owner
from tests.helpers import context_in_thread

THREADS = 20
ROUNDS = 4

# The app's work, in every thread, runs as the app's own role on PostgreSQL, as in production.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("as_app_role")]


class Rollback(Exception):
    """Raised inside a transaction to roll it back on purpose."""


def assert_one_unbroken_chain(expected_events: int) -> list[AuditEvent]:
    events = list(AuditEvent.objects.order_by("sequence"))
    assert len(events) == expected_events
    assert [event.sequence for event in events] == list(range(1, expected_events + 1))
    previous_hashes = [event.previous_hash for event in events]
    assert len(set(previous_hashes)) == len(previous_hashes), "two events share a parent: a fork"
    assert AuditChainHead.objects.values_list("sequence", "hash").get(pk=HEAD_ID) == (
        events[-1].sequence,
        events[-1].hash,
    )
    assert chain_verify() == (expected_events, None)
    return events


@pytest.mark.postgres_only
def test_twenty_concurrent_writers_never_fork_the_chain(catalogue, reviewer):
    catalogue_events = AuditEvent.objects.count()
    item_ids = list(
        ChecklistItem.objects.filter(finding__phase__code="2A")
        .order_by("pk")
        .values_list("pk", flat=True)[:THREADS]
    )
    assert len(item_ids) == THREADS

    def work(index: int, barrier: threading.Barrier) -> list[str | BaseException]:
        item_id = item_ids[index]
        finding = Finding.objects.get(checklist_items=item_id)
        outcomes: list[str | BaseException] = []
        for round_number in range(ROUNDS):
            context = context_in_thread(reviewer.pk, f"t{index}-r{round_number}", "::1")
            # Every thread starts each round together, so their appends interleave.
            barrier.wait()
            try:
                item = checklist_item_set(
                    item_id=item_id,
                    checked=round_number % 2 == 0,
                    expected_version=round_number + 1,
                    context=context,
                )
                assert item.version == round_number + 2
                outcomes.append("ticked")
                audit_record(
                    context=context,
                    action="finding.noted",
                    obj=finding,
                    permission="findings.tick_checklistitem",
                    after={"thread": index, "round": round_number},
                    finding=finding,
                )
                outcomes.append("recorded")
            except Exception as error:
                outcomes.append(error)
        return outcomes

    results = run_together(THREADS, work)

    assert [result for result in results if isinstance(result, BaseException)] == []
    outcomes = [outcome for thread_outcomes in results for outcome in thread_outcomes]
    assert [outcome for outcome in outcomes if not isinstance(outcome, str)] == []
    assert len(outcomes) == THREADS * ROUNDS * 2
    events = assert_one_unbroken_chain(catalogue_events + len(outcomes))
    # The threads' events are interleaved in the chain, so the appends really competed.
    writers = [event.request_id.split("-")[0] for event in events[catalogue_events:]]
    switches = sum(1 for a, b in zip(writers, writers[1:], strict=False) if a != b)
    assert switches >= ROUNDS * (THREADS - 1)


def test_a_rolled_back_append_leaves_no_gap(catalogue, system_context):
    phase = Phase.objects.get(code="2A")
    head = AuditChainHead.objects.values_list("sequence", "hash").get(pk=HEAD_ID)

    with pytest.raises(Rollback), transaction.atomic():
        audit_record(context=system_context, action="phase.checked", obj=phase, permission="p")
        raise Rollback

    assert AuditChainHead.objects.values_list("sequence", "hash").get(pk=HEAD_ID) == head
    event = audit_record(context=system_context, action="phase.checked", obj=phase, permission="p")
    assert (event.sequence, event.previous_hash) == (head[0] + 1, head[1])
    assert_one_unbroken_chain(head[0] + 1)


@pytest.mark.postgres_only
def test_a_writer_queued_behind_a_rolled_back_append_takes_its_place(catalogue, reviewer):
    before = AuditEvent.objects.count()
    finding = Finding.objects.get(code="SI-001")
    appended, release = threading.Event(), threading.Event()
    sequences: dict[str, int | BaseException] = {}

    def rolls_back() -> None:
        try:
            with transaction.atomic():
                event = audit_record(
                    context=context_in_thread(reviewer.pk, "rolled-back", "::1"),
                    action="finding.noted",
                    obj=finding,
                    permission="p",
                )
                sequences["rolled back"] = event.sequence
                appended.set()
                release.wait(JOIN_TIMEOUT)
                raise Rollback
        except Rollback:
            pass
        except BaseException as error:
            sequences["rolled back"] = error
            appended.set()
        finally:
            connections.close_all()

    def commits() -> None:
        try:
            appended.wait(JOIN_TIMEOUT)
            event = audit_record(
                context=context_in_thread(reviewer.pk, "committed", "::1"),
                action="finding.noted",
                obj=finding,
                permission="p",
            )
            sequences["committed"] = event.sequence
        except BaseException as error:
            sequences["committed"] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=rolls_back), threading.Thread(target=commits)]
    for thread in threads:
        thread.start()
    blocked = wait_for_a_backend_waiting_on_a_lock()
    release.set()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)

    assert not any(thread.is_alive() for thread in threads)
    assert blocked, "the second writer never queued behind the first"
    assert sequences == {"rolled back": before + 1, "committed": before + 1}
    events = assert_one_unbroken_chain(before + 1)
    assert events[-1].request_id == "committed"


def wait_for_a_backend_waiting_on_a_lock(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Only the owner of the sessions (the cluster's superuser) sees what they wait on.
        with as_owner(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] > 0:
                return True
        time.sleep(0.05)
    return False
