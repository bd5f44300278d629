from django.core.management.base import BaseCommand, CommandError

from findings.db_roles import RoleError, app_role_grant


class Command(BaseCommand):
    help = (
        "As the tables' owner, after migrate: let ROLE (the role the app runs as) read and write "
        "the app's rows, but only read and append audit events. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the PostgreSQL role in the app's DATABASE_URL")

    def handle(self, *args, role: str, **options):
        try:
            tables = app_role_grant(role=role)
        except RoleError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Granted {role} its privileges on {len(tables)} tables.")
