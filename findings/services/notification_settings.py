"""A user's choice of which kinds of notification they receive (no row means they receive it)."""

from collections.abc import Collection

from findings.models import NotificationKind, NotificationSetting
from findings.services.errors import Refused


def notification_kinds_enabled(*, user) -> list[str]:
    """The kinds `user` receives: every kind but those they turned off."""
    turned_off = set(
        NotificationSetting.objects.filter(user=user, enabled=False).values_list("kind", flat=True)
    )
    return [kind for kind in NotificationKind.values if kind not in turned_off]


def notification_settings_set(*, user, enabled_kinds: Collection[str]) -> None:
    """Turn on exactly `enabled_kinds` for `user` and every other kind off, in one statement."""
    unknown = set(enabled_kinds) - set(NotificationKind.values)
    if unknown:
        raise Refused(f"There is no kind of notification called {', '.join(sorted(unknown))}.")
    NotificationSetting.objects.bulk_create(
        [
            NotificationSetting(user=user, kind=kind, enabled=kind in enabled_kinds)
            for kind in NotificationKind.values
        ],
        update_conflicts=True,
        unique_fields=["user", "kind"],
        update_fields=["enabled"],
    )
