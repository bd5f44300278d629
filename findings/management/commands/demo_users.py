import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from findings.roles import ADMIN, REVIEWER, SIGNOFF_LEAD, VIEWER

DEMO_ACCOUNTS = (
    ("viewer", VIEWER),
    ("reviewer", REVIEWER),
    ("lead", SIGNOFF_LEAD),
    # A second lead, who can sign a phase that `lead` worked on: separation of duties bars
    # whoever owns a finding of a phase or ticked one of its items from signing it off.
    ("lead2", SIGNOFF_LEAD),
    ("admin", ADMIN),
)


class Command(BaseCommand):
    help = (
        "Create the demo users viewer, reviewer, lead, lead2 and admin: one per role and a "
        "second signoff lead (DEBUG only)."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "demo_users only runs with DEBUG on: demo accounts do not belong in production."
            )
        password = os.getenv("DOMAINFLOW_DEMO_PASSWORD") or secrets.token_urlsafe(12)
        User = get_user_model()
        for username, role in DEMO_ACCOUNTS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = role == ADMIN
            user.is_superuser = role == ADMIN
            user.save()
            user.groups.set([Group.objects.get(name=role)])
        self.stdout.write(
            "Demo accounts: " + ", ".join(f"{name} ({role})" for name, role in DEMO_ACCOUNTS)
        )
        self.stdout.write(f"Password for all of them: {password}")
