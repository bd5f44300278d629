from django.db import migrations, models

from findings.db_triggers.progress import sqlite_triggers_lifted_around


class Migration(migrations.Migration):
    dependencies = [("findings", "0008_phase_ready_announced")]

    operations = [
        migrations.AlterModelOptions(
            name="finding",
            options={
                "ordering": ["code"],
                "permissions": [
                    ("change_finding_status", "Can move a finding through its lifecycle"),
                    ("edit_content", "Can write a finding's tactical document sections"),
                ],
            },
        ),
        *sqlite_triggers_lifted_around(
            migrations.AddField(
                model_name="finding",
                name="content_version",
                field=models.PositiveIntegerField(default=1, editable=False),
            ),
        ),
    ]
