import pytest
from django.conf import settings
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the SQLite connection settings only"
)


@pytest.fixture
def file_connection(db, tmp_path):
    """A connection configured like the app's, to a file: the test database lives in memory."""
    wrapper = DatabaseWrapper(
        {**connection.settings_dict, "NAME": str(tmp_path / "tracker.sqlite3")}, alias="file"
    )
    yield wrapper
    wrapper.close()


def pragma(wrapper, name: str):
    with wrapper.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


@sqlite_only
def test_it_puts_sqlite_in_write_ahead_logging_mode(file_connection):
    assert pragma(file_connection, "journal_mode") == "wal"


@sqlite_only
def test_it_relaxes_sqlite_syncing_to_normal_under_wal(file_connection):
    # 1 is NORMAL; SQLite's default is 2 (FULL).
    assert pragma(file_connection, "synchronous") == 1


@sqlite_only
def test_it_takes_sqlites_write_lock_at_the_start_of_a_transaction():
    options = connection.settings_dict["OPTIONS"]

    assert (options["transaction_mode"], options["timeout"]) == ("IMMEDIATE", 20)
    assert connection.settings_dict["CONN_MAX_AGE"] == 0


def test_it_requires_a_login_for_every_page_by_default():
    assert "findings.middleware.LoginRequiredMiddleware" in settings.MIDDLEWARE
    assert settings.LOGIN_URL == "/accounts/login/"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL settings only")
def test_it_keeps_postgresql_connections_open_and_checks_them():
    assert connection.settings_dict["CONN_MAX_AGE"] == 60
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
