"""The audit trail's hash chain: numbered, linked, summed up by its head, and still verifiable
after every value that feeds the hash has made the round trip through the database.

The ORM-level refusals (update, delete, save) are in test_audit_append_only.py; the database
triggers in test_audit_triggers.py; the command that walks the chain in test_verify_audit.py.
"""

import ipaddress
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from findings.audit_chain import HEAD_ID, chain_key_id, chain_verify, event_hash
from findings.models import GENESIS_HASH, AppendOnlyError, AuditChainHead, AuditEvent, Phase
from findings.services.audit import USER_AGENT_LIMIT, ActionContext, audit_record

# The app's work runs as the app's own role on PostgreSQL, as it does in production.
pytestmark = pytest.mark.usefixtures("as_app_role")


def chain() -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("sequence"))


@pytest.fixture
def phase(db) -> Phase:
    return Phase.objects.create(
        code="2A", name="Foundation", priority_band="CRITICAL", folder_name="p2a", order=1
    )


def recorded(phase: Phase, *, context: ActionContext | None = None, **fields) -> AuditEvent:
    """An event as the database gives it back, after audit_record stored it."""
    event = audit_record(
        context=context or ActionContext.system("test"),
        action="phase.checked",
        obj=phase,
        permission="system:test",
        **fields,
    )
    event.refresh_from_db()
    return event


def rehashed(event: AuditEvent, previous_hash: str | None = None, key: str | None = None) -> str:
    """The event's hash as the app computes it, under the configured key unless told."""
    return event_hash(
        event,
        event.previous_hash if previous_hash is None else previous_hash,
        key or settings.AUDIT_CHAIN_KEY,
    )


def assert_verifies(event: AuditEvent) -> None:
    assert rehashed(event) == event.hash
    count = AuditEvent.objects.count()
    assert chain_verify() == (count, None)


def test_it_numbers_the_catalogues_events_from_one_without_gaps(catalogue):
    sequences = [event.sequence for event in chain()]

    # The seeded catalogue writes one event per phase, document and finding.
    assert len(sequences) > 50
    assert sequences == list(range(1, len(sequences) + 1))


def test_it_links_each_event_to_the_hash_of_the_one_before(catalogue):
    events = chain()

    assert events[0].previous_hash == GENESIS_HASH
    assert [event.previous_hash for event in events[1:]] == [event.hash for event in events[:-1]]
    assert len({event.hash for event in events}) == len(events)


def test_it_records_the_last_link_in_the_chain_head(catalogue):
    events = chain()

    assert list(AuditChainHead.objects.values_list("pk", "sequence", "hash")) == [
        (HEAD_ID, len(events), events[-1].hash)
    ]


def test_it_stores_the_hash_that_it_recomputes_from_the_stored_event(catalogue):
    events = chain()

    assert [rehashed(event) for event in events] == [event.hash for event in events]
    assert chain_verify() == (len(events), None)


def test_it_chains_a_new_event_onto_the_catalogues_last(catalogue):
    last = chain()[-1]

    event = recorded(Phase.objects.get(code="2A"))

    assert (event.sequence, event.previous_hash) == (last.sequence + 1, last.hash)
    assert AuditChainHead.objects.values_list("sequence", "hash").get() == (
        event.sequence,
        event.hash,
    )


def test_it_names_the_configured_key_in_every_event(catalogue):
    key_ids = set(AuditEvent.objects.values_list("key_id", flat=True))

    assert key_ids == {chain_key_id(settings.AUDIT_CHAIN_KEY)}
    assert len(chain_key_id(settings.AUDIT_CHAIN_KEY)) == 16


def test_it_starts_an_empty_trail_at_the_genesis_hash(phase):
    event = recorded(phase)

    assert (event.sequence, event.previous_hash) == (1, GENESIS_HASH)
    assert_verifies(event)


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("203.0.113.9", "203.0.113.9"),
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
        ("::FFFF:7F00:1", "::ffff:127.0.0.1"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_it_verifies_an_event_with_an_ip_address_after_the_round_trip(phase, address, stored):
    event = recorded(phase, context=ActionContext(actor=None, source="test", ip_address=address))

    assert event.ip_address == stored
    assert_verifies(event)


@pytest.mark.parametrize("address", ["::127.0.0.1", "::1:2", "::10.0.0.1"])
def test_it_verifies_an_event_with_an_ipv4_compatible_address(phase, address):
    # PostgreSQL's inet prints addresses in ::/96 in dotted form, Python in hex: the spelling
    # that comes back may differ by database, but it is the same address and still verifies.
    event = audit_record(
        context=ActionContext(actor=None, source="test", ip_address=address),
        action="phase.checked",
        obj=phase,
        permission="system:test",
    )
    hashed = event.ip_address

    event.refresh_from_db()

    assert_verifies(event)
    assert ipaddress.ip_address(event.ip_address) == ipaddress.ip_address(hashed)


@pytest.mark.parametrize(
    "address",
    ["", "localhost", "999.1.1.1", "127.0.0.1 ", "127.000.000.001", "1.2.3", "::g", "1:" * 30],
)
def test_it_stores_no_ip_address_for_an_invalid_one(phase, address):
    event = recorded(phase, context=ActionContext(actor=None, source="test", ip_address=address))

    assert event.ip_address is None
    assert_verifies(event)


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Navigateur ünïcødé 日本語 🦊",
        # A decomposed é and a right-to-left override: the database must not normalise either.
        "e\u0301 \u202eevil\u202c",
        'quotes " and \\ backslashes\tand tabs',
    ],
)
def test_it_verifies_an_event_with_a_unicode_user_agent(phase, user_agent):
    event = recorded(phase, context=ActionContext(actor=None, source="t", user_agent=user_agent))

    assert event.user_agent == user_agent
    assert_verifies(event)


@pytest.mark.parametrize("character", ["x", "é", "🦊"])
def test_it_truncates_a_long_user_agent_before_hashing_it(phase, character):
    long_agent = character * (USER_AGENT_LIMIT + 100)

    event = recorded(phase, context=ActionContext(actor=None, source="t", user_agent=long_agent))

    assert event.user_agent == character * USER_AGENT_LIMIT
    assert_verifies(event)


def test_it_verifies_an_event_with_nested_json_before_and_after(phase):
    # Keys out of order, since PostgreSQL's jsonb reorders them; nested lists, nulls and unicode.
    before = {"zeta": 1, "alpha": {"nested": [1, "two", None, {"deep": True}]}, "": []}
    after = {
        "text": 'line\nbreak "quoted" \\ </script> ünï 🦊',
        "numbers": [-1, 0, 2**63, 10**30, 0.5],
        "empty": {},
        "flags": [True, False, None],
    }

    event = recorded(phase, before=before, after=after)

    assert (event.before, event.after) == (before, after)
    assert_verifies(event)


@pytest.mark.parametrize("number", [1e20, -0.0, 1.0, 2.5e-8])
def test_it_verifies_an_event_with_a_float_in_its_json(phase, number):
    # A float is only as stable as the database's rendering of it: jsonb keeps numerics, not
    # Python floats.
    event = recorded(phase, after={"value": number})

    assert_verifies(event)


def test_it_verifies_an_event_by_a_user_with_a_request_id(phase, reviewer):
    context = ActionContext(
        actor=reviewer, request_id="req-1", ip_address="::1", user_agent="pytest"
    )

    event = recorded(phase, context=context)

    assert (event.actor_id, event.actor_username, event.request_id) == (
        reviewer.pk,
        "reviewer",
        "req-1",
    )
    assert_verifies(event)


def test_it_changes_the_hash_when_any_hashed_value_changes(phase):
    event = recorded(phase, after={"checked": True})
    original = event.hash

    for name, value in [
        ("sequence", event.sequence + 1),
        ("created_at", event.created_at + timedelta(microseconds=1)),
        ("action", "phase.unchecked"),
        ("object_repr", "Phase 2A Forged"),
        ("after", {"checked": False}),
        ("ip_address", "10.0.0.1"),
        ("user_agent", "forged"),
        ("key_id", chain_key_id("another key")),
    ]:
        kept = getattr(event, name)
        setattr(event, name, value)
        assert rehashed(event) != original, name
        setattr(event, name, kept)
    assert rehashed(event, previous_hash="f" * 64) != original
    assert rehashed(event, key="another key") != original
    assert rehashed(event) == original


def test_it_refuses_bulk_create(phase):
    recorded(phase)
    forged = AuditEvent(
        sequence=2,
        previous_hash=GENESIS_HASH,
        hash="0" * 64,
        created_at=timezone.now(),
        action="phase.forged",
        object_type="phase",
        object_id=str(phase.pk),
        object_repr=str(phase),
        permission="system:test",
    )

    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_create([forged])

    assert AuditEvent.objects.count() == 1
    assert chain_verify() == (1, None)
