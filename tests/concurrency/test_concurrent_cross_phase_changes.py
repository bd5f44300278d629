"""Changes in two phases at once, when one of them rewrites the other's progress figures.

A finding that becomes done changes the open outside dependencies of every phase whose findings
depend on it, and the progress triggers update those phases' rows without taking their phase
locks. Were such a change to hold another phase's progress row while it waited for the audit
chain's head, and a change in that phase to hold the head while it waited for the row, each
would wait on the other and PostgreSQL would abort one. Each test forces exactly that
interleaving: the status change stops when it first asks for the head, the other change runs
as far as it can, and only then does the status change go on.

PostgreSQL only: pytest-django's SQLite test database lives in memory, where threads do not get
separate connections and locks.
"""

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections

from findings import locks
from findings.audit_chain import chain_verify
from findings.models import AuditEvent, ChecklistItem, Dependency, Finding, PhaseProgress, Status
from findings.services.audit import ActionContext
from findings.services.checklist import checklist_item_delete, checklist_item_set
from findings.services.dependencies import dependency_remove
from findings.services.status import finding_status_set

TIMEOUT = 60

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def finding_ready_for_done(catalogue, reviewer) -> Finding:
    """A 2A finding in review with every item ticked, on which a 2B finding depends."""
    finding = Finding.objects.filter(phase__code="2A").order_by("code").first()
    context = ActionContext(actor=reviewer)
    for item in finding.checklist_items.all():
        checklist_item_set(
            item_id=item.pk, checked=True, expected_version=item.version, context=context
        )
    for target in (Status.IN_PROGRESS, Status.IN_REVIEW):
        finding_status_set(
            finding_id=finding.pk,
            target=target,
            expected_version=Finding.objects.get(pk=finding.pk).version,
            context=context,
        )
    dependant = Finding.objects.filter(phase__code="2B").order_by("code").first()
    Dependency.objects.create(finding=dependant, depends_on=finding)
    return finding


def delete_an_item_of(dependant: Finding, context: ActionContext) -> None:
    item = dependant.checklist_items.order_by("position").last()
    checklist_item_delete(item=item, context=context)


def remove_its_dependency_on_the_2a_finding(dependant: Finding, context: ActionContext) -> None:
    dependency = dependant.dependency_links.get(depends_on__phase__code="2A")
    dependency_remove(dependency=dependency, context=context)


def locks_awaited() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "change_in_the_dependant_phase",
    [delete_an_item_of, remove_its_dependency_on_the_2a_finding],
)
def test_a_change_in_a_phase_and_a_finding_it_depends_on_becoming_done_both_commit(
    finding_ready_for_done,
    reviewer,
    admin_user,
    monkeypatch,
    change_in_the_dependant_phase: Callable[[Finding, ActionContext], None],
):
    dependant = Finding.objects.get(dependency_links__depends_on=finding_ready_for_done)
    version = Finding.objects.values_list("version", flat=True).get(pk=finding_ready_for_done.pk)
    events_before = AuditEvent.objects.count()
    status_change_waits = threading.Event()
    status_change_may_go_on = threading.Event()
    results: dict[str, object] = {}
    locked_head = locks._locked_head

    def pausing_locked_head():
        if threading.current_thread().name == "status" and not status_change_waits.is_set():
            status_change_waits.set()
            status_change_may_go_on.wait(TIMEOUT)
        return locked_head()

    monkeypatch.setattr(locks, "_locked_head", pausing_locked_head)

    def run(name: str, work: Callable[[], object]) -> threading.Thread:
        def target():
            try:
                results[name] = work()
            except BaseException as error:
                results[name] = error
            finally:
                connections.close_all()

        thread = threading.Thread(target=target, name=name)
        thread.start()
        return thread

    status_change = run(
        "status",
        lambda: finding_status_set(
            finding_id=finding_ready_for_done.pk,
            target=Status.DONE,
            expected_version=version,
            context=ActionContext(actor=reviewer, request_id="status"),
        ),
    )
    assert status_change_waits.wait(TIMEOUT)
    other_change = run(
        "other",
        lambda: change_in_the_dependant_phase(
            dependant, ActionContext(actor=admin_user, request_id="other")
        ),
    )
    deadline = time.monotonic() + TIMEOUT
    while other_change.is_alive() and not locks_awaited() and time.monotonic() < deadline:
        time.sleep(0.01)
    status_change_may_go_on.set()
    status_change.join(TIMEOUT)
    other_change.join(TIMEOUT)

    assert not status_change.is_alive() and not other_change.is_alive()
    assert not isinstance(results["status"], BaseException), results["status"]
    assert not isinstance(results["other"], BaseException), results["other"]
    assert Finding.objects.get(pk=finding_ready_for_done.pk).status == Status.DONE
    assert set(
        AuditEvent.objects.order_by("sequence")[events_before:].values_list("request_id", flat=True)
    ) == {"status", "other"}
    assert chain_verify()[1] is None
    progress = PhaseProgress.objects.get(phase=dependant.phase)
    assert (
        progress.items_total == ChecklistItem.objects.filter(finding__phase=dependant.phase).count()
    )
    assert progress.outside_dependencies_open == (
        Dependency.objects.filter(finding__phase=dependant.phase)
        .exclude(depends_on__phase=dependant.phase)
        .exclude(depends_on__status__in=[Status.DONE, Status.COMPLETED])
        .count()
    )
