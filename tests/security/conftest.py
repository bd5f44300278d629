"""Fixtures of the fuzz tests."""

import pytest


@pytest.fixture
def personas(reviewer, viewer, lead, admin_user, outsider):
    return {
        "reviewer": reviewer,
        "viewer": viewer,
        "lead": lead,
        "admin": admin_user,
        "outsider": outsider,
    }


@pytest.fixture
def throttled_logins(settings, admin_user):
    """Login throttling as in production: failed attempts are recorded, by design."""
    settings.AXES_ENABLED = True
