"""The four roles of the tracker, and the CI group of service accounts, as Django groups holding
real permissions."""

from django.contrib.auth.models import Group, Permission

VIEWER, REVIEWER, SIGNOFF_LEAD, ADMIN = "Viewer", "Reviewer", "Signoff lead", "Admin"
# Service accounts: pipelines that read and tick through the API. Membership makes a user one.
CI = "CI"

READ = [
    "view_phase",
    "view_finding",
    "view_tacticaldocument",
    "view_dependency",
    "view_checklistitem",
    "view_signoff",
    "view_auditevent",
]
REVIEW = [*READ, "tick_checklistitem", "change_finding_status", "edit_content", "add_apitoken"]
SIGN = [*REVIEW, "sign_off_phase"]
# Audit events are append-only, so nobody is ever given a way to add, change or delete them by hand.
EDIT = [
    *SIGN,
    *(
        f"{verb}_{model}"
        for verb in ("add", "change", "delete")
        for model in ("phase", "finding", "tacticaldocument", "dependency", "checklistitem")
    ),
    # Every user's API tokens, service accounts' among them, from the Django admin.
    "view_apitoken",
    "change_apitoken",
]
# A machine check attests; it never signs, moves a finding or writes content.
SERVICE = [*READ, "tick_checklistitem"]

ROLE_PERMISSIONS = {VIEWER: READ, REVIEWER: REVIEW, SIGNOFF_LEAD: SIGN, ADMIN: EDIT, CI: SERVICE}


def roles_sync() -> None:
    """Create the groups and give each exactly its role's permissions."""
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(
            content_type__app_label="findings", codename__in=codenames
        )
        group.permissions.set(permissions)
