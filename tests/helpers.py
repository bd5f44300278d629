"""Helpers that many test modules share, in one place."""

from django.contrib.auth import get_user_model

from findings.services.audit import ActionContext


def context_for(user, request_id: str = "r1", ip_address: str = "127.0.0.1") -> ActionContext:
    """What a browser request by `user` would give the services."""
    return ActionContext(
        actor=user, request_id=request_id, ip_address=ip_address, user_agent="pytest"
    )


def context_in_thread(
    user_id: int, request_id: str, ip_address: str = "127.0.0.1"
) -> ActionContext:
    """context_for in a thread of a concurrency test.

    Each thread loads its own user, so no permission cache is shared between threads.
    """
    return context_for(get_user_model().objects.get(pk=user_id), request_id, ip_address)
