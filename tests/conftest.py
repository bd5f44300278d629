"""Personas and the seeded catalogue, shared by every test module.

The groups come from findings.roles through the post_migrate signal, so the personas join the
real groups with their real permissions rather than permissions granted test by test.

The catalogue is loaded once per session: `catalogue_snapshot` runs catalogue_load in a
transaction it rolls back and keeps every row it wrote (tests/catalogue_snapshot.py); the
`catalogue` fixture inserts those rows with their ids in a few bulk statements, lets the progress
triggers write the phases' progress rows as they do for the load, and chains the load's audit
events onto the test's chain (after its personas' events) as audit_record would. A real load
costs some 1,300 queries, and about 690 tests need the catalogue. A test gets the copy inside its
rolled-back transaction when none of the catalogue's rows exist yet; otherwise it loads for real:
after rows of its own, and in transactional tests, whose commits and audit log lines are part of
what they test. tests/services/test_catalogue_fixture.py holds the copy to a real load on both
engines.
"""

import os

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.db import connection
from hypothesis import settings as hypothesis_settings

from findings.roles import ADMIN, CI, REVIEWER, SIGNOFF_LEAD, VIEWER
from findings.services.audit import ActionContext
from findings.services.catalogue import catalogue_load
from tests.catalogue_snapshot import CatalogueSnapshot
from tests.notifications.smtp import SmtpServer, smtp_settings

PASSWORD = "correct horse battery staple"

# How many examples each Hypothesis test draws: "ci" on every run, "deep" (make test-deep) for a
# long search now and then. Tests set deadlines and health checks, never the count.
hypothesis_settings.register_profile("ci", max_examples=25)
hypothesis_settings.register_profile("deep", max_examples=1000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    # WhiteNoise warns on every request that collectstatic has not been run; tests never need it.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


def _user_in(username: str, *groups: str, **flags):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, **flags)
    # Group.objects.get fails loudly if post_migrate did not create the role's group.
    user.groups.set([Group.objects.get(name=name) for name in groups])
    return user


@pytest.fixture(autouse=True)
def _postgres_only_skipped_elsewhere(request):
    # Checked per test, once Django's connection is configured, rather than at import time.
    # pytest-django's SQLite test database lives in memory, where threads get neither separate
    # connections nor locks: concurrent transactions need a real PostgreSQL server.
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (run with DATABASE_URL set)")


@pytest.fixture(autouse=True)
def _cache_emptied():
    # Each test's rolled-back rows reuse the keys and versions of the last test's, and its audit
    # chain restarts where the last one's did, so a result cached by the plan's state
    # (findings/export/qa_cache.py) or a page kept under the chain's head (findings/page_cache.py)
    # must not outlive its test.
    for each_cache in caches.all():
        each_cache.clear()


@pytest.fixture
def page_cache_off(settings):
    """Every request renders its page: for tests that pin what rendering reads."""
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher's deliberate slowness would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_http_test_server(settings):
    """Production settings (DEBUG off) less what needs TLS, collectstatic or a real login form.

    The test client speaks plain HTTP, static files are served from the
    source folders, and login throttling, which needs a request that `client.login()` does not
    pass, is switched on only by the tests of throttling itself.
    """
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.AXES_ENABLED = False


@pytest.fixture
def viewer(db):
    return _user_in("viewer", VIEWER)


@pytest.fixture
def reviewer(db):
    return _user_in("reviewer", REVIEWER)


@pytest.fixture
def lead(db):
    return _user_in("lead", SIGNOFF_LEAD)


@pytest.fixture
def lead2(db):
    """A second signoff lead, for the phases the first one is barred from signing."""
    return _user_in("lead2", SIGNOFF_LEAD)


@pytest.fixture
def admin_user(db):
    return _user_in("admin", ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(db):
    return _user_in("outsider")


@pytest.fixture
def ci_bot(db):
    """A service account: a pipeline's user, in the CI group."""
    return _user_in("ci-bot", CI)


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server in this process (aiosmtpd) that Django's email framework sends to."""
    server = SmtpServer()
    server.start()
    smtp_settings(settings, server)
    yield server
    if server.running:
        server.stop()


@pytest.fixture
def system_context():
    return ActionContext.system("test")


@pytest.fixture(scope="session")
def catalogue_snapshot(django_db_setup, django_db_blocker) -> CatalogueSnapshot:
    with django_db_blocker.unblock():
        return CatalogueSnapshot.capture(ActionContext.system("test"))


@pytest.fixture
def catalogue(db, system_context, catalogue_snapshot):
    if connection.in_atomic_block and catalogue_snapshot.fits():
        return catalogue_snapshot.restore()
    return catalogue_load(context=system_context)


@pytest.fixture
def viewer_client(client, viewer, catalogue):
    client.force_login(viewer)
    return client


@pytest.fixture
def reviewer_client(client, reviewer, catalogue):
    client.force_login(reviewer)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture(scope="session")
def app_role(django_db_setup, django_db_blocker) -> str | None:
    """On PostgreSQL, the app's own login role, granted by grant_app_role's function; else None."""
    from findings.db_roles import app_role_grant
    from tests.database_roles import APP_ROLE

    if connection.vendor != "postgresql":
        return None
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        # Roles belong to the cluster, so an earlier run's role may still be there.
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        app_role_grant(role=APP_ROLE)
    return APP_ROLE


@pytest.fixture
def as_app_role(db, app_role):
    """Run the test as the app role on PostgreSQL: its connection and any a thread opens.

    Tampering that needs the owner's powers steps out with tests.database_roles.as_owner.
    """
    from django.db.backends.signals import connection_created

    from tests.database_roles import set_role

    if app_role is None:
        yield
        return

    def set_app_role(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {app_role}")

    set_role(app_role)
    connection_created.connect(set_app_role, weak=False)
    yield
    connection_created.disconnect(set_app_role)
    # Inside the test's transaction its rollback undoes SET ROLE; a transactional test's
    # flush, which follows, needs the owner back.
    if not connection.in_atomic_block:
        set_role(None)
