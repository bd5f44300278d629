"""Kept pages never show a state older than the last commit, with readers and a writer racing.

One thread ticks a finding's items through the page, one at a time; as soon as each tick's
answer is back (its transaction committed), another thread reads the finding page, which it has
read before and so holds in the cache; more threads read the same page all along, storing what
they render while the ticks commit. Every read after a commit must show it.
"""

import queue
import threading

import pytest
from django.test import Client

from findings.models import ChecklistItem
from tests.concurrency.threads import run_together

URL = "/findings/SI-001/"
TICKED = 'class="checklist-item is-checked"'
BACKGROUND_READERS = 3

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_read_right_after_a_commit_on_another_thread_shows_it(catalogue, reviewer, viewer):
    items = list(ChecklistItem.objects.filter(finding__code="SI-001", checked=False))
    committed, checked = queue.Queue(), queue.Queue()
    writing_done = threading.Event()
    shown: list[tuple[int, int]] = []

    def write(client: Client) -> None:
        for item in items:
            response = client.post(
                f"/checklist/{item.pk}/",
                {"checked": "true", "version": item.version},
                headers={"HX-Request": "true"},
            )
            assert response.status_code == 200
            committed.put(item.pk)
            checked.get(timeout=60)
        writing_done.set()

    writer, checker = logged_in(reviewer), logged_in(viewer)
    readers = [logged_in(viewer) for _ in range(BACKGROUND_READERS)]
    # Read twice, so the checker's page is kept (its first answer sets the CSRF cookie).
    before = checker.get(URL).content.decode().count(TICKED)
    checker.get(URL)

    def check(client: Client) -> None:
        for ticks in range(1, len(items) + 1):
            committed.get(timeout=60)
            shown.append((client.get(URL).content.decode().count(TICKED), before + ticks))
            checked.put(True)

    def read_along(client: Client) -> None:
        while not writing_done.is_set():
            assert client.get(URL).status_code == 200

    def work(index: int, barrier) -> None:
        if index == 0:
            write(writer)
        elif index == 1:
            check(checker)
        else:
            read_along(readers[index - 2])

    results = run_together(2 + BACKGROUND_READERS, work)

    assert [result for result in results if result is not None] == []
    assert len(shown) == len(items) > 0
    assert all(seen == expected for seen, expected in shown), shown
