#!/usr/bin/env python
"""Where a page's time goes: cProfile and the query list of each endpoint, in process.

    .venv/bin/python bench/profile_pages.py                     # the seeded 30 findings
    .venv/bin/python bench/profile_pages.py --findings 10000    # after generating more
    .venv/bin/python bench/profile_pages.py --only tick --top 25

Run by hand, next to bench/throughput.py, to explain its numbers. It starts a throwaway
PostgreSQL (scripts/postgres-cluster), migrates, loads the catalogue (and generates findings with
bench/export_bench.py's generator), then calls each endpoint through Django's test client as a
reviewer, DEBUG off as in production. For each it prints the CPU and wall time per request
without the profiler; a CPU-time profile (cProfile timed by process_time: under load the CPU is
what runs out, so waits for PostgreSQL do not count) split by where the time is spent, with the
time of built-ins, the standard library and django.utils charged to the code calling them; the
functions with the most own time; the app's own functions by cumulative time; every SQL query
with its wall time, and the plan (EXPLAIN ANALYZE) of each slow SELECT. Everything stops by
itself; nothing listens on a port.
"""

import argparse
import cProfile
import pstats
import statistics
import sys
import sysconfig
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    Cleanup,
    PostgresCluster,
    database_prepare,
    django_setup,
    install_signal_handlers,
    log,
    reviewers_create,
    start_watchdog,
    table,
)
from throughput import ENDPOINTS, FINDING, findings_count, findings_grow  # noqa: E402

# Where a function's own time goes, by the file it lives in; the first match wins.
CATEGORIES = (
    ("psycopg", "PostgreSQL client (psycopg: send, wait, fetch)"),
    ("/django/db/", "Django ORM (compile SQL, make model objects)"),
    ("/django_tables2/", "django-tables2"),
    ("/django_filters/", "django-filter and forms"),
    ("/django/forms/", "django-filter and forms"),
    ("/django/template/", "templates (Django, template-partials)"),
    ("/template_partials/", "templates (Django, template-partials)"),
    ("/markdown/", "markdown and sanitising"),
    ("nh3", "markdown and sanitising"),
    ("/findings/", "the app's own code (findings/)"),
    ("/django/", "Django: request handling, middleware, auth, sessions"),
    ("/axes/", "Django: request handling, middleware, auth, sessions"),
    ("/whitenoise/", "Django: request handling, middleware, auth, sessions"),
    ("/django_htmx/", "Django: request handling, middleware, auth, sessions"),
)
OTHER = "other"
STDLIB = sysconfig.get_paths()["stdlib"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=30, help="findings in all")
    parser.add_argument("--requests", type=int, default=30, help="requests per endpoint")
    parser.add_argument("--only", help="one endpoint: healthz, tick, dashboard, table, finding")
    parser.add_argument("--top", type=int, default=12, help="app functions shown")
    parser.add_argument(
        "--explain", type=float, default=5.0, help="EXPLAIN ANALYZE SELECTs slower than this, ms"
    )
    options = parser.parse_args()
    install_signal_handlers()
    cleanup = Cleanup()
    start_watchdog(600, cleanup)
    try:
        cluster = PostgresCluster()
        cleanup.push("stop PostgreSQL", cluster.stop)
        log("starting a throwaway PostgreSQL")
        django_setup(cluster.start())
        database_prepare()
        (reviewer,) = reviewers_create("profile-reviewer-", 1)
        findings_grow(options.findings)
        print(f"{findings_count():,} findings; {options.requests} requests per endpoint\n")
        for name, path, with_session in ENDPOINTS:
            if options.only and options.only not in name:
                continue
            print(profile_endpoint(name, path, with_session, reviewer, options))
        return 0
    finally:
        cleanup.run()


def prepare(client, name: str, path: str):
    """The request to send, as a call; a tick reads its item's state here, outside the timing."""
    if name != "tick":
        return lambda: client.get(path)
    from findings.models import ChecklistItem

    item = ChecklistItem.objects.filter(finding__code=FINDING).order_by("position").first()
    state = {"checked": "false" if item.checked else "true", "version": item.version}
    return lambda: client.post(f"/checklist/{item.pk}/", state, headers={"HX-Request": "true"})


def profile_endpoint(name: str, path: str, with_session: bool, reviewer: str, options) -> str:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    client = Client()
    if with_session:
        client.force_login(get_user_model().objects.get(username=reviewer))
    prepare(client, name, path)()
    cpu, wall = [], []
    for _ in range(options.requests):
        send = prepare(client, name, path)
        started_cpu, started = time.process_time(), time.perf_counter()
        response = send()
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {response.status_code}")

    profiler = cProfile.Profile(time.process_time)
    for _ in range(options.requests):
        send = prepare(client, name, path)
        profiler.enable()
        send()
        profiler.disable()
    stats = pstats.Stats(profiler)

    timed = QueryTimer()
    send = prepare(client, name, path)
    with connection.execute_wrapper(timed):
        send()

    lines = [
        f"=== {name} ({path}) ===",
        f"per request without the profiler: {statistics.median(cpu) * 1000:.1f} ms CPU of this "
        f"process, {statistics.median(wall) * 1000:.1f} ms wall (medians)",
        "",
        "profiled CPU time by where it is spent (own time of each function):",
        by_category(stats),
        "",
        "the functions with the most own CPU time (built-ins shown as such):",
        own_time(stats, options.top),
        "",
        f"the app's functions and rendering, by cumulative time (of {options.requests} requests):",
        app_functions(stats, options.top),
        "",
        f"{len(timed.queries)} SQL queries of one request, wall time "
        f"({sum(query[0] for query in timed.queries) * 1000:.1f} ms in all):",
    ]
    for number, (seconds, sql, _) in enumerate(timed.queries, start=1):
        lines.append(f"  {number:>2}. {seconds * 1000:6.2f} ms  {' '.join(sql.split())[:150]}")
    for number, (seconds, sql, params) in enumerate(timed.queries, start=1):
        if seconds * 1000 >= options.explain and sql.lstrip().upper().startswith("SELECT"):
            lines += ["", f"query {number} ({seconds * 1000:.1f} ms): {sql}", explain(sql, params)]
    return "\n".join(lines) + "\n"


def explain(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return "\n".join(f"    {row[0]}" for row in cursor.fetchall())


class QueryTimer:
    """A database execute wrapper that keeps each query's SQL and its wall time."""

    def __init__(self) -> None:
        self.queries: list[tuple[float, str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append((time.perf_counter() - started, sql, params))


def category(filename: str) -> str:
    for marker, label in CATEGORIES:
        if marker in filename:
            return label
    return OTHER


def passes_through(filename: str) -> bool:
    """Whether a function's time belongs to its callers: built-ins, the standard library, and
    django.utils (escaping, date formats, lazy strings), which serve every other layer."""
    if filename == "~" or filename.startswith("<"):
        return True
    if filename.startswith(STDLIB) and "site-packages" not in filename:
        return True
    return "/django/utils/" in filename


def owners(function, stats: pstats.Stats, memo: dict, depth: int = 0) -> dict[str, float]:
    """The categories a function's own time is charged to, as shares summing to one."""
    if function in memo:
        return memo[function]
    filename = function[0]
    if not passes_through(filename):
        memo[function] = {category(filename): 1.0}
        return memo[function]
    # Guard against recursion through cycles and very deep chains.
    memo[function] = {OTHER: 1.0}
    callers = stats.stats[function][4]
    if depth > 30 or not callers:
        return memo[function]
    weights = {caller: timing[3] or timing[1] for caller, timing in callers.items()}
    total = sum(weights.values()) or 1
    shares: Counter[str] = Counter()
    for caller, weight in weights.items():
        for label, share in owners(caller, stats, memo, depth + 1).items():
            shares[label] += share * weight / total
    memo[function] = dict(shares)
    return memo[function]


def by_category(stats: pstats.Stats) -> str:
    """Own time per category; pass-through functions' time goes to the code that called them."""
    spent: Counter[str] = Counter()
    memo: dict = {}
    for function, (_, _, own, _, _) in stats.stats.items():
        for label, share in owners(function, stats, memo).items():
            spent[label] += own * share
    total = sum(spent.values())
    rows = [
        [label, f"{seconds * 1000:.0f}", f"{seconds / total:.0%}"]
        for label, seconds in spent.most_common()
    ]
    return table(["where", "ms", "share"], rows)


def own_time(stats: pstats.Stats, top: int) -> str:
    rows = []
    for (filename, line, function), (_, calls, own, _, _) in stats.stats.items():
        where = filename.split("site-packages/")[-1].split("/main/")[-1]
        label = function if filename == "~" else f"{where}:{line} {function}"
        rows.append([label[-90:], calls, own * 1000])
    rows.sort(key=lambda row: -row[2])
    return table(
        ["function", "calls", "own ms"], [[*row[:2], f"{row[2]:.0f}"] for row in rows[:top]]
    )


def app_functions(stats: pstats.Stats, top: int) -> str:
    rows = []
    for (filename, line, function), (_, calls, _, cumulative, _) in stats.stats.items():
        project = "/findings/" in filename and "/.venv/" not in filename
        if project or function == "render" and "django/shortcuts" in filename:
            where = filename.split("/main/")[-1] if project else "django.shortcuts"
            rows.append([f"{where}:{line} {function}", calls, f"{cumulative * 1000:.0f}"])
    rows.sort(key=lambda row: -float(row[2]))
    return table(["function", "calls", "cumulative ms"], rows[:top])


if __name__ == "__main__":
    sys.exit(main())
