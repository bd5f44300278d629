import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import findings.models
from findings.db_triggers.progress import sqlite_triggers_lifted_around
from findings.item_keys import STANDARD_ITEM_KEYS, item_key_for


def items_keyed(apps, schema_editor):
    """Give every existing item its key: the standard items first, so they get the fixed keys."""
    checklist_item = apps.get_model("findings", "ChecklistItem")
    items = checklist_item.objects.order_by("finding_id", "position")
    taken: dict[int, set[str]] = {}
    standard_first = sorted(
        items, key=lambda item: not (item.names_dependencies or item.text in STANDARD_ITEM_KEYS)
    )
    for item in standard_first:
        keys = taken.setdefault(item.finding_id, set())
        item.key = item_key_for(
            text=item.text, names_dependencies=item.names_dependencies, taken=keys
        )
        keys.add(item.key)
    checklist_item.objects.bulk_update(standard_first, ["key"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("findings", "0009_content_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        *sqlite_triggers_lifted_around(
            migrations.AddField(
                model_name="checklistitem",
                name="key",
                field=models.SlugField(default="", editable=False),
                preserve_default=False,
            ),
            migrations.AddField(
                model_name="checklistitem",
                name="evidence_url",
                field=models.URLField(blank=True, default="", max_length=500),
            ),
            migrations.AddField(
                model_name="checklistitem",
                name="evidence_commit",
                field=models.CharField(blank=True, default="", max_length=64),
            ),
            migrations.AddField(
                model_name="checklistitem",
                name="evidence_summary",
                field=models.CharField(blank=True, default="", max_length=500),
            ),
            migrations.RunPython(items_keyed, migrations.RunPython.noop),
            migrations.AddConstraint(
                model_name="checklistitem",
                constraint=models.UniqueConstraint(
                    fields=("finding", "key"),
                    name="checklist_item_key_is_unique",
                    violation_error_message="Another item of this finding has this key.",
                ),
            ),
        ),
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        max_length=100, validators=[findings.models.validate_single_line]
                    ),
                ),
                ("prefix", models.CharField(max_length=8)),
                ("digest", models.CharField(max_length=64, unique=True)),
                (
                    "scope",
                    models.CharField(
                        choices=[("read", "Read"), ("tick", "Read and tick")], max_length=4
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "ordering": ["-created_at", "-id"],
            },
        ),
    ]
