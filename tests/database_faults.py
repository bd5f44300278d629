"""Database failures injected into the real connection, for the paths that must survive them."""

from contextlib import contextmanager

from django.db import OperationalError, connection


@contextmanager
def reads_failing_after(sql_start: str):
    """Make every SELECT after the first statement beginning with `sql_start` fail.

    It fails the way a server that went away does, before the statement reaches the database, so
    what was written before stays written.
    """
    seen = False

    def fail_reads_once_seen(execute, sql, params, many, context):
        nonlocal seen
        if seen and sql.lstrip().upper().startswith("SELECT"):
            raise OperationalError("server closed the connection unexpectedly")
        seen = seen or sql.startswith(sql_start)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_reads_once_seen):
        yield


# Reads like the server's own refusal, so a page that leaks exception text shows it verbatim.
DATABASE_DOWN = "could not connect to server: Connection refused"


@contextmanager
def database_failing():
    """Make every statement fail, as when the server is down, before it reaches the database."""

    def refuse_every_statement(execute, sql, params, many, context):
        raise OperationalError(DATABASE_DOWN)

    with connection.execute_wrapper(refuse_every_statement):
        yield
