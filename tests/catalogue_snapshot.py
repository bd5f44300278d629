"""The seeded catalogue's rows, written once per test session and copied into each test.

`catalogue_load` runs about 1,300 queries; a test that needs the catalogue gets the rows it writes
(same ids, same audit events) in a few bulk inserts instead. The audit events are chained onto
whatever the test's chain holds already (its personas' events, usually), as the real load would
chain them: numbered after the head, stamped now and hashed under the configured key. See the
`catalogue` fixture in tests/conftest.py for when the copy is used.
"""

from dataclasses import dataclass
from graphlib import TopologicalSorter

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from findings.audit_chain import chain_key_id, event_hash
from findings.models import AuditChainHead, AuditEvent, PhaseProgress
from findings.services.audit import ActionContext
from findings.services.catalogue import CatalogueReport, catalogue_load
from tests.database_roles import as_owner

# The progress triggers (findings.db_triggers) write these rows as the rows they count go in.
TRIGGER_WRITTEN = {PhaseProgress}
CHAIN = {AuditEvent, AuditChainHead}
# What the chain gives each event; the database numbers the events' ids itself.
CHAIN_FIELDS = {"id", "sequence", "previous_hash", "hash", "key_id", "created_at"}

Rows = dict[object, dict]


def table_rows(model: type[Model]) -> Rows:
    """Every row of the model's table by primary key, read past any custom manager."""
    pk = model._meta.pk.attname
    return {row[pk]: row for row in QuerySet(model=model).values()}


def sequences_restart(models) -> None:
    """Give each table's next row the id after its highest, as in a fresh database.

    PostgreSQL's sequences ignore rollbacks and SQLite's outlive a flush, so without this the ids
    a load gives out depend on the tests that ran before it. Moving a PostgreSQL sequence needs
    the tables' owner, not the app role.
    """
    with as_owner(), connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Without its sqlite_sequence row, a table numbers on from its highest id.
            tables = [model._meta.db_table for model in models]
            placeholders = ", ".join(["%s"] * len(tables))
            cursor.execute(f"DELETE FROM sqlite_sequence WHERE name IN ({placeholders})", tables)
        else:
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)


@dataclass(frozen=True)
class CatalogueSnapshot:
    context: ActionContext
    rows_before: dict[type[Model], Rows]
    rows_written: dict[type[Model], Rows]
    events: list[dict]
    chain_head: dict
    report: CatalogueReport

    @classmethod
    def capture(cls, context: ActionContext) -> "CatalogueSnapshot":
        """Load the catalogue in a transaction that is rolled back, keeping the rows it wrote."""
        models = apps.get_models()
        with transaction.atomic():
            sequences_restart(models)
            before = {model: table_rows(model) for model in models}
            report = catalogue_load(context=context)
            after = {model: table_rows(model) for model in models}
            transaction.set_rollback(True)
        touched = {model for model in models if after[model] != before[model]}
        for model in touched:
            # Only inserts are copied: a load that changed or deleted rows needs a new copier.
            changed = [pk for pk, row in before[model].items() if after[model].get(pk) != row]
            assert not changed, f"catalogue_load changed {model.__name__} rows {changed}"
        events = sorted(after[AuditEvent].values(), key=lambda row: row["sequence"])
        [chain_head] = after[AuditChainHead].values()
        return cls(
            context=context,
            rows_before={model: before[model] for model in touched - CHAIN},
            rows_written={
                model: {pk: row for pk, row in after[model].items() if pk not in before[model]}
                for model in touched - TRIGGER_WRITTEN - CHAIN
            },
            events=[
                {name: value for name, value in row.items() if name not in CHAIN_FIELDS}
                for row in events
            ],
            chain_head=chain_head,
            report=report,
        )

    def fits(self) -> bool:
        """Whether the catalogue's tables are as the capture found them, so the copy equals a
        real load (the audit chain may hold more: the copy's events are chained onto it)."""
        return all(table_rows(model) == rows for model, rows in self.rows_before.items())

    def restore(self) -> CatalogueReport:
        """Insert the captured rows, each table after the tables it refers to, then the events."""
        for model in self._insert_order():
            # A plain QuerySet, as for AuditEvent below, whose own refuses bulk inserts.
            QuerySet(model=model).bulk_create(
                model(**row) for row in self.rows_written[model].values()
            )
        # The rows went in with their ids, which PostgreSQL's sequences did not give out.
        sequences_restart(self.rows_written)
        self._chain_events()
        return CatalogueReport(created=list(self.report.created))

    def _chain_events(self) -> None:
        """Append the captured events to the chain as findings.audit_chain.chain_append does."""
        head = QuerySet(model=AuditChainHead).first()
        if head is None:
            head = AuditChainHead(pk=self.chain_head["id"])
            head.save(force_insert=True)
        key = settings.AUDIT_CHAIN_KEY
        events = []
        for row in self.events:
            event = AuditEvent(
                **row,
                sequence=head.sequence + 1,
                previous_hash=head.hash,
                key_id=chain_key_id(key),
                created_at=timezone.now(),
            )
            event.hash = event_hash(event, head.hash, key)
            head.sequence, head.hash = event.sequence, event.hash
            events.append(event)
        QuerySet(model=AuditEvent).bulk_create(events)
        head.save(update_fields=["sequence", "hash"])

    def _insert_order(self) -> list[type[Model]]:
        models = set(self.rows_written)
        referred = {
            model: {
                field.related_model
                for field in model._meta.concrete_fields
                if field.is_relation and field.related_model in models - {model}
            }
            for model in models
        }
        return list(TopologicalSorter(referred).static_order())
