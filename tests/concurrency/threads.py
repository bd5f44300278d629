"""Running a test's work in real threads against PostgreSQL, released together."""

import threading
from collections.abc import Callable

from django.db import connections

JOIN_TIMEOUT = 120


def run_together(count: int, work: Callable[[int, threading.Barrier], object]) -> list:
    """Run work(index, barrier) in `count` threads, each released by the barrier at once.

    Each thread closes its own database connections; an exception is returned as its result.
    """
    barrier = threading.Barrier(count, timeout=JOIN_TIMEOUT)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index, barrier)
        except BaseException as error:
            # Whatever escapes becomes the thread's result, for the test to report.
            results[index] = error
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results
