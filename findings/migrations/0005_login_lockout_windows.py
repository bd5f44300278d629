import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("findings", "0004_audit_chain_keys")]

    operations = [
        migrations.CreateModel(
            name="LoginLockoutWindow",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                ("over_limit", models.BooleanField(default=False)),
                ("started_at", models.DateTimeField(db_index=True)),
                ("lockouts", models.PositiveIntegerField(default=1)),
                ("usernames", models.JSONField(default=list)),
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lockout_window",
                        to="findings.auditevent",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["ip_address", "started_at"],
                        name="lockout_window_address_idx",
                    )
                ],
            },
        ),
    ]
