"""Each phase's progress figures, kept by database triggers, and an index of its next findings.

The dashboard, the finding page and every tick show a phase's counts of findings, checklist items
and open outside dependencies; the triggers of findings.db_triggers.progress keep them in
findings_phaseprogress as rows change, so reading them costs one row per phase.
"""

import django.db.models.deletion
from django.db import migrations, models

from findings.db_triggers.progress import (
    RECOUNT,
    postgresql_create,
    postgresql_drop,
    sqlite_create,
    sqlite_drop,
)


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(postgresql_create(), params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in sqlite_create():
            schema_editor.execute(statement)
    schema_editor.execute(RECOUNT, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(postgresql_drop(), params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in sqlite_drop():
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("findings", "0002_audit_append_only_triggers")]

    operations = [
        migrations.CreateModel(
            name="PhaseProgress",
            fields=[
                (
                    "phase",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="progress",
                        serialize=False,
                        to="findings.phase",
                    ),
                ),
                ("findings_total", models.PositiveIntegerField(default=0)),
                ("findings_done", models.PositiveIntegerField(default=0)),
                ("remaining_effort_min", models.PositiveIntegerField(default=0)),
                ("remaining_effort_max", models.PositiveIntegerField(default=0)),
                ("remaining_estimated", models.PositiveIntegerField(default=0)),
                ("items_total", models.PositiveIntegerField(default=0)),
                ("items_ticked", models.PositiveIntegerField(default=0)),
                ("outside_dependencies_open", models.PositiveIntegerField(default=0)),
            ],
            options={"verbose_name_plural": "phase progress"},
        ),
        migrations.AddField(
            model_name="finding",
            name="progress_rank",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.Case(
                    models.When(status="in_review", then=models.Value(0)),
                    models.When(status="in_progress", then=models.Value(1)),
                    models.When(status="planned", then=models.Value(2)),
                ),
                output_field=models.PositiveSmallIntegerField(null=True),
            ),
        ),
        migrations.AddIndex(
            model_name="finding",
            index=models.Index(
                fields=["phase", "progress_rank", "code"], name="finding_phase_next_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="finding",
            index=models.Index(
                condition=models.Q(("status", "completed")),
                fields=["code"],
                name="finding_completed_code_idx",
            ),
        ),
        # After the schema changes: on SQLite, adding a column rebuilds the table without triggers.
        migrations.RunPython(create_triggers, drop_triggers),
    ]
