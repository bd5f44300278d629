from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("findings", "0007_notifications")]

    # Nullable, so SQLite adds the column in place: rebuilding findings_phase for a NOT NULL
    # column would drop the progress triggers on it.
    operations = [
        migrations.AddField(
            model_name="phase",
            name="ready_announced_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
