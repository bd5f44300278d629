from django.core.management.commands import flush

from findings.audit_chain import audit_purge_allowed


class Command(flush.Command):
    """Django's flush, allowed to empty the append-only audit table since it empties everything."""

    def handle(self, **options):
        with audit_purge_allowed(options["database"]):
            super().handle(**options)
