"""Changes to user accounts, recorded in the audit chain whichever way they are made.

Accounts change through the admin's user pages, `createsuperuser`, `changepassword`,
`demo_users` and the shell, and each of those saves the auth models directly: their signals are
the one place every change passes. The receivers here only record what changed; they decide
nothing, so no rule hides in a signal.

Who acted: a change made while serving a request names the request's user (the admin's user
pages, a user changing their own password), through `account_changes_by_request`, which the
middleware applies to every request; any other change is a system change named after the program
that made it (`manage.py createsuperuser`).
"""

import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.http import HttpRequest

from findings.services.audit import ActionContext, audit_record

# Flags whose change is an event of its own: (field, action when it turns on, when it turns off).
FLAG_ACTIONS = (
    ("is_active", "user.reactivated", "user.deactivated"),
    ("is_staff", "user.staff_changed", "user.staff_changed"),
    ("is_superuser", "user.superuser_changed", "user.superuser_changed"),
)
STORED_FIELDS = ("username", "password", "is_active", "is_staff", "is_superuser")
# Commands are worth naming in full; what follows them may be anything, a password included.
COMMAND_RUNNERS = ("manage.py", "django-admin", "django")
SOURCE_LENGTH = 40

# Who acts, resolved only when an account change is recorded: most requests change no account,
# and reading their user up front would cost a query (and /healthz never reads it).
_acting: ContextVar[Callable[[], ActionContext] | None] = ContextVar(
    "account_changes_by", default=None
)


@contextmanager
def account_changes_by_request(request: HttpRequest) -> Iterator[None]:
    """Attribute the account changes made inside the block to the request's user."""
    token = _acting.set(lambda: ActionContext.from_request(request))
    try:
        yield
    finally:
        _acting.reset(token)


def account_changes_audit() -> None:
    """Connect the receivers; called once, from the app's ready()."""
    user_model = get_user_model()
    pre_save.connect(_read_stored_account, sender=user_model, dispatch_uid="account_pre_save")
    post_save.connect(_record_account_save, sender=user_model, dispatch_uid="account_post_save")
    post_delete.connect(_record_deletion, sender=user_model, dispatch_uid="account_post_delete")
    for through in (user_model.groups.through, user_model.user_permissions.through):
        m2m_changed.connect(
            _record_memberships, sender=through, dispatch_uid=f"account_m2m_{through.__name__}"
        )


def _current_context() -> ActionContext:
    acting = _acting.get()
    return acting() if acting is not None else ActionContext.system(_program_name())


def _program_name() -> str:
    """The program behind a change no admin page made, as an operator would name it."""
    program, *arguments = sys.argv or ["python"]
    path = Path(program)
    name = path.parent.name if path.name == "__main__.py" else path.name
    if name in COMMAND_RUNNERS and arguments and not arguments[0].startswith("-"):
        name = f"{name} {arguments[0]}"
    return name[:SOURCE_LENGTH] or "python"


def _record(context: ActionContext, action: str, user, codename: str, **changes) -> None:
    if context.is_system:
        permission = f"system:{context.source}"
    elif context.actor.pk == user.pk:
        # A user changing their own password needs no permission over accounts.
        permission = "own account"
    else:
        permission = f"auth.{codename}"
    audit_record(context=context, action=action, obj=user, permission=permission, **changes)


def _only_login(update_fields) -> bool:
    # A login saves last_login alone; it changes nothing about the account.
    return update_fields is not None and set(update_fields) <= {"last_login"}


def _read_stored_account(sender, instance, update_fields, **kwargs) -> None:
    instance._stored_account = None
    if instance._state.adding or _only_login(update_fields):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values(*STORED_FIELDS).first()
    instance._stored_account = stored


def _record_account_save(sender, instance, created, update_fields, **kwargs) -> None:
    if _only_login(update_fields):
        return
    context = _current_context()
    if created:
        _record(context, "user.created", instance, "add_user", after=_account_state(instance))
        return
    stored = instance.__dict__.pop("_stored_account", None)
    if stored is None:
        return
    # A save of some fields writes only those; the others' values in memory were not stored.
    saved = set(STORED_FIELDS if update_fields is None else update_fields)
    changes = []
    if "username" in saved and stored["username"] != instance.username:
        changes.append(
            ("user.renamed", {"username": stored["username"]}, {"username": instance.username})
        )
    for field, on_action, off_action in FLAG_ACTIONS:
        now = getattr(instance, field)
        if field in saved and stored[field] != now:
            changes.append((on_action if now else off_action, {field: stored[field]}, {field: now}))
    if "password" in saved and _password_changed(instance, stored["password"], update_fields):
        # Never the hash: only whether the account can still log in with a password.
        changes.append(
            ("user.password_changed", None, {"usable_password": instance.has_usable_password()})
        )
    for action, before, after in changes:
        _record(context, action, instance, "change_user", before=before, after=after)


def _password_changed(user, stored_hash: str, update_fields) -> bool:
    # set_password keeps the raw password until the save, which is how Django itself tells a new
    # password. A login that upgrades the hasher clears it and saves the new hash alone, which
    # is why a hash saved alone, without set_password, is not taken for a new password either.
    if user._password is not None:
        return True
    return update_fields is None and user.password != stored_hash


def _account_state(user) -> dict:
    return {
        "username": user.get_username(),
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "usable_password": user.has_usable_password(),
    }


def _record_deletion(sender, instance, **kwargs) -> None:
    _record(
        _current_context(), "user.deleted", instance, "delete_user", before=_account_state(instance)
    )


def _record_memberships(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """Groups or permissions added, removed or cleared, from either side of the relation."""
    user_model = get_user_model()
    is_groups = sender is user_model.groups.through
    if action.startswith("pre_"):
        if not reverse:
            user_ids = [instance.pk]
        elif pk_set is not None:
            user_ids = sorted(pk_set)
        else:
            # A group's or permission's users cleared: those it holds now.
            other_side = "group" if is_groups else "permission"
            user_ids = sorted(
                sender.objects.filter(**{other_side: instance}).values_list("user_id", flat=True)
            )
        instance._memberships_before = (user_ids, _membership_names(sender, user_ids, is_groups))
        return
    user_ids, before = instance.__dict__.pop("_memberships_before", ([], {}))
    after = _membership_names(sender, user_ids, is_groups)
    changed = [user_id for user_id in user_ids if before[user_id] != after[user_id]]
    if not changed:
        return
    context = _current_context()
    key = "groups" if is_groups else "permissions"
    for user in user_model._default_manager.filter(pk__in=changed).order_by("pk"):
        _record(
            context,
            f"user.{key}_changed",
            user,
            "change_user",
            before={key: before[user.pk]},
            after={key: after[user.pk]},
        )


def _membership_names(through, user_ids: list, is_groups: bool) -> dict:
    """Each user's group names, or permissions as `app_label.codename`, sorted."""
    rows = through.objects.filter(user_id__in=user_ids)
    if is_groups:
        pairs = rows.values_list("user_id", "group__name")
    else:
        pairs = [
            (user_id, f"{app_label}.{codename}")
            for user_id, app_label, codename in rows.values_list(
                "user_id", "permission__content_type__app_label", "permission__codename"
            )
        ]
    names = defaultdict(list)
    for user_id, name in pairs:
        names[user_id].append(name)
    return {user_id: sorted(names[user_id]) for user_id in user_ids}
