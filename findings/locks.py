"""The row locks of the phase-change protocol (findings/services/protocol.py), and nothing else.

Every change takes them in one fixed order: its phases' rows in id order, then the audit chain's
head, before it writes anything. Signing takes its phase's row too, so a change and a signoff of
one phase queue. The head queues every audited write behind every other: a change's writes fire
the progress triggers, which update other phases' progress rows, and a change that held such a
row while it waited for the head could meet one that held the head while it waited for the row.

The protocol composes these in that order; the audit chain's append reads the head it holds
(chain_head_for_append). This is the one module that locks rows (`select_for_update`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery

from findings.gates import lock_reason_waiting_on, unsigned_gates_before
from findings.models import AuditChainHead, Phase

HEAD_ID = 1

# Set for the extent of chain_head_hold(): its transaction holds the head's row lock throughout.
_head_held: ContextVar[bool] = ContextVar("findings_chain_head_held", default=False)


def phases_lock(which: Q) -> dict[int, str]:
    """Lock the phase rows `which` selects, in id order, in one query.

    Maps each locked phase's id to why work in it may not go on, or "" when it may. The reason
    is read in the same statement that takes the lock, so no signoff can change it afterwards.
    """
    earliest_unsigned_gate = unsigned_gates_before(OuterRef("order"))
    rows = (
        # `of` keeps PostgreSQL from locking the rows of the subqueries' tables as well.
        Phase.objects.select_for_update(of=("self",))
        .filter(which)
        .annotate(
            gate_code=Subquery(earliest_unsigned_gate.values("code")[:1]),
            gate_name=Subquery(earliest_unsigned_gate.values("name")[:1]),
        )
        .order_by("pk")
        .values_list("pk", "gate_code", "gate_name")
    )
    return {
        pk: lock_reason_waiting_on(Phase(code=code, name=name) if code is not None else None)
        for pk, code, name in rows
    }


@contextmanager
def chain_head_hold() -> Iterator[None]:
    """Lock the audit chain's head for the rest of the transaction; call inside one.

    Within the block, chain_head_for_append() knows the lock is held and reads the head plainly.
    """
    _locked_head()
    token = _head_held.set(True)
    try:
        yield
    finally:
        _head_held.reset(token)


def chain_head_for_append() -> AuditChainHead:
    """The head for the next append: read again under chain_head_hold(), else locked here.

    An audited write outside the protocol (an account change made in the admin) locks the head
    on its first append and holds it to the end of its transaction.
    """
    if _head_held.get():
        return AuditChainHead.objects.get(pk=HEAD_ID)
    return _locked_head()


def _locked_head() -> AuditChainHead:
    head = _head_rows().filter(pk=HEAD_ID).first()
    if head is not None:
        return head
    # Only an empty database (a fresh install, or after flush) lacks the head; two first writers
    # may race to create it, and the loser then waits on the winner's row.
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(pk=HEAD_ID)
    except IntegrityError:
        pass
    return _head_rows().get(pk=HEAD_ID)


def _head_rows():
    return AuditChainHead.objects.select_for_update()
