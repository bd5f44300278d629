from django.core.management.base import BaseCommand, CommandError

from findings.audit_chain import chain_verify


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain; exit non-zero at the first altered or missing event."
    )

    def handle(self, *args, **options):
        intact, chain_break = chain_verify()
        if chain_break is not None:
            raise CommandError(
                f"The audit trail is broken at {chain_break}. {intact} events before it are intact."
            )
        self.stdout.write(f"The audit trail is intact: {intact} events, each chained to the last.")
