from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class FindingsConfig(AppConfig):
    name = "findings"
    verbose_name = "DomainFlow findings"

    def ready(self):
        from axes.signals import user_locked_out

        from findings import checks  # noqa: F401  (registers the system checks)
        from findings.audit_chain import register_sqlite_purge_check
        from findings.services.accounts import account_changes_audit

        post_migrate.connect(_sync_roles, sender=self)
        account_changes_audit()
        user_locked_out.connect(_audit_lockout)
        connection_created.connect(register_sqlite_purge_check)


def _sync_roles(**kwargs):
    # Permissions exist only after migrate has created them, so the groups follow each migrate.
    from findings.roles import roles_sync

    roles_sync()


def _audit_lockout(sender, request, username, ip_address, **kwargs):
    from findings.services.audit import login_lockout_record

    login_lockout_record(request=request, username=username or "")
