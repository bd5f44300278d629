from functools import wraps

from django.core.exceptions import PermissionDenied

from findings.services.audit import missing_permission_message


def permission_needed(permission: str):
    """Refuse the view with a 403 that names the missing permission, for a logged-in user.

    Anonymous users never get here: LoginRequiredMiddleware sends them to the login page first.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(permission):
                raise PermissionDenied(missing_permission_message(permission))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
