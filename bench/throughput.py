#!/usr/bin/env python
"""Throughput, query counts and response size of the pages, against the floor (issue 17).

    .venv/bin/python bench/throughput.py                  # the whole run, about 13 minutes
    .venv/bin/python bench/throughput.py --skip-growth    # only the seeded 30 findings
    .venv/bin/python bench/throughput.py --seconds 1 --rounds 1 --skip-growth   # a quick try

Run by hand, not part of the test suite; needs `wrk` (Debian: apt-get install wrk). Everything is
on 127.0.0.1 and stops by itself. It starts a throwaway PostgreSQL (scripts/postgres-cluster)
holding one database per size: the seeded catalogue (30 findings); the largest catalogue whose
findings every page can link, all 3,000 (SI|BF|BL)-NNN codes (the seed's 30 and 2,970 generated
with the codes it left free); and 10,000 findings, grown with bench/export_bench.py's generator
and its compact codes (SI0042), which no URL takes.
Generated findings spread over the 19 documents, each with the 13-item checklist, a third
ticked; each database is then ANALYZEd as autovacuum would. Each database is prepared by a child
process of this script (migrate, catalogue, reviewers, generated findings), which also counts
each endpoint's queries and finds which endpoints cannot render at 10,000: those that link a
compact code (NoReverseMatch) are marked "cannot exist: codes" and not driven there. Each
database gets a gunicorn run as `make serve` runs it (DEBUG off), and the 30 findings a second
one with PAGE_CACHE_SECONDS=0 (--compare-uncached), the page cache off: what it buys, measured
in the same rounds.

Throughput: wrk drives each endpoint with the same concurrency (one connection per wrk thread)
for a few seconds, endpoint after endpoint and server after server, for several rounds in a
rotating order, so that the noise of a shared machine falls on all of them alike. Before each
timed GET run, every gunicorn worker answers the page once, untimed: a run measures pages served
while the plan stands still (a tick run before it moved the audit chain's head, so that warm-up
renders afresh, at what the server with the page cache off pays each time). Each endpoint's
requests per second is set against the floor's from the same rounds and server (× floor):
bench/floor.py's view that reads the session, the user and their permissions and does nothing
else, served beside the app's URLs by bench/floor_settings.py; and, for reference, against
/healthz's (no database, no session) and the floor without permissions. The pages and the API's
reads go with a reviewer's session cookie (the API takes a session for a GET). A tick is the
HTMX POST the finding page sends: each wrk thread cycles over its own share of phase 2A's
seeded items asking for the opposite of the state the last response showed, so every tick is a
real change with its audit event, never a no-op or a 409. The CPU time gunicorn and PostgreSQL
spend per request is measured too (from /proc): the load of other processes does not enter it,
so it gives the same ratios without the noise.

Query counts (on a page cache hit and with the cache off) and a tick's response size come from
Django's test client, logged in as a reviewer, at each size. Last, the export of the 10,000
findings to a folder: time, and peak Python memory by tracemalloc.
"""

import argparse
import gc
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    VENV_BIN,
    Browser,
    Cleanup,
    Gunicorn,
    Machine,
    PostgresCluster,
    code_version,
    database_prepare,
    django_setup,
    gunicorn_errors,
    install_signal_handlers,
    log,
    reviewers_create,
    server_env,
    start_watchdog,
    table,
    tree_cpu_seconds,
)

FINDING = "SI-001"
PHASE = "2A"
# name, path, whether it goes with the reviewer's session; profile_pages.py and pyspy_pages.py
# drive these too, on the app's own settings
ENDPOINTS = [
    ("/healthz", "/healthz", False),
    ("tick", "/checklist/", True),
    ("dashboard /", "/", True),
    ("table /findings/", "/findings/", True),
    (f"finding /findings/{FINDING}/", f"/findings/{FINDING}/", True),
    (f"phase /phases/{PHASE}/", f"/phases/{PHASE}/", True),
    ("audit /audit/", "/audit/", True),
    ("documents /documents/", "/documents/", True),
    ("API /api/v1/findings/", "/api/v1/findings/", True),
    (f"API /api/v1/findings/{FINDING}/", f"/api/v1/findings/{FINDING}/", True),
    ("API /api/v1/phases/", "/api/v1/phases/", True),
    (f"API /api/v1/phases/{PHASE}/", f"/api/v1/phases/{PHASE}/", True),
    ("API /api/v1/audit/", "/api/v1/audit/", True),
]
# What every authenticated page pays before its own work (bench/floor.py). Measured only here:
# this script's gunicorn and test client run with the settings that serve these paths.
FLOORS = [
    ("floor: session + user", "/bench/session/", True),
    ("floor: + permissions", "/bench/permissions/", True),
]
FLOOR = FLOORS[-1][0]
FLOOR_SETTINGS = "bench.floor_settings"
# /healthz, the floors, then the pages: the ladder a page's cost climbs.
MEASURED = [ENDPOINTS[0], *FLOORS, *ENDPOINTS[1:]]
# Measured beside the pages to read them against, with no target.
REFERENCES = {"/healthz", *(name for name, _, _ in FLOORS)}
# Issue 17: every read page and API read at least half the floor's throughput, the tick a quarter.
TARGET_FLOOR = {"tick": 0.25}
TARGET_FLOOR_DEFAULT = 0.5
TARGET_TICK_BYTES = 3 * 1024
TARGET_EXPORT_SECONDS = 20
TARGET_EXPORT_MIB = 300

SMALL = 30
# Finding codes are (SI|BF|BL)-NNN (findings/models.py), so a catalogue whose pages can all
# render holds at most this many findings; beyond it, generated ones get compact codes.
CODE_PREFIXES = ("SI", "BF", "BL")
LINKABLE = len(CODE_PREFIXES) * 1000
CANNOT_EXIST = "cannot exist: codes"
# gunicorn's worker timeout, seconds (make serve keeps its default, 30).
WORKER_TIMEOUT = 120


@dataclass(frozen=True)
class Serving:
    """One gunicorn run: its database's size, and whether the page cache is on."""

    size: int
    cached: bool = True

    @property
    def label(self) -> str:
        label = f"{self.size:,} findings"
        if self.size > LINKABLE:
            label += " (compact codes)"
        return label if self.cached else f"{label}, page cache off"

    @property
    def short(self) -> str:
        return f"{self.size:,}" if self.cached else f"{self.size:,} cache off"


WRK_SCRIPT = """
-- Written by bench/throughput.py for one wrk run; counts answers by status.
local items = {%(items)s}
local threads = {}
local counter = 0
wrk.method = "%(method)s"
wrk.headers["Cookie"] = "%(cookie)s"
wrk.headers["X-CSRFToken"] = "%(csrf)s"
wrk.headers["HX-Request"] = "%(htmx)s"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
if wrk.headers["Cookie"] == "" then wrk.headers["Cookie"] = nil end
if wrk.headers["HX-Request"] == "" then wrk.headers["HX-Request"] = nil end
if wrk.method == "GET" then wrk.headers["Content-Type"] = nil end

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  ok, conflict, other = 0, 0, 0
  mine, pos, current = {}, 0, nil
  for i, item in ipairs(items) do
    if (i - 1) %% counter_total == tid then
      table.insert(mine, {id = item[1], version = item[2], checked = item[3]})
    end
  end
end

function request()
  if #mine == 0 then return wrk.format() end
  pos = pos %% #mine + 1
  current = mine[pos]
  local want = current.checked and "false" or "true"
  return wrk.format(nil, "/checklist/" .. current.id .. "/", nil,
                    "checked=" .. want .. "&version=" .. current.version)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 409 then conflict = conflict + 1
  else other = other + 1 end
  if current ~= nil and (status == 200 or status == 409) then
    local id = body:match('<form id="item%%-(%%d+)"')
    if id ~= nil and tonumber(id) == current.id then
      current.version = tonumber(body:match('name="version" value="(%%d+)"'))
      current.checked = body:find('class="checklist-item is-checked"', 1, true) ~= nil
    end
  end
end

function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("ok")
    b = b + thread:get("conflict")
    c = c + thread:get("other")
  end
  io.write(string.format("STATUS 200=%%d 409=%%d other=%%d\\n", a, b, c))
end
"""


@dataclass
class Rate:
    requests: int = 0
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=lambda: {"200": 0, "409": 0, "other": 0})
    errors: int = 0
    # CPU seconds spent while wrk ran: gunicorn (master and workers), PostgreSQL, wrk itself.
    app_cpu: float = 0.0
    database_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def cpu_ms(self, seconds: float) -> float:
        return seconds * 1000 / self.requests if self.requests else float("nan")

    @property
    def server_cpu_ms(self) -> float:
        return self.cpu_ms(self.app_cpu + self.database_cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--concurrency", type=int, default=8, help="wrk connections (= threads)")
    parser.add_argument("--seconds", type=float, default=2, help="one wrk run")
    parser.add_argument("--rounds", type=int, default=4, help="runs per endpoint and server")
    parser.add_argument(
        "--large", type=int, default=10000, help=f"findings, compact codes (> {LINKABLE:,})"
    )
    parser.add_argument(
        "--skip-growth", action="store_true", help=f"only the seeded {SMALL} findings"
    )
    parser.add_argument(
        "--compare-uncached",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"also serve the {SMALL} findings with the page cache off (PAGE_CACHE_SECONDS=0)",
    )
    parser.add_argument("--time-limit", type=float, default=1200, help="whole run, seconds")
    # The child process that prepares one database and reports on it as JSON.
    parser.add_argument("--prepare", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--findings", type=int, default=SMALL, help=argparse.SUPPRESS)
    parser.add_argument("--export-to", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.prepare:
        return prepare(options)
    if options.large <= LINKABLE:
        parser.error(f"--large: more than {LINKABLE:,}; up to it, codes are linkable")
    if shutil.which("wrk") is None:
        print("throughput.py needs wrk: apt-get install wrk", file=sys.stderr)
        return 2

    install_signal_handlers()
    cleanup = Cleanup()
    start_watchdog(options.time_limit, cleanup)
    scratch = Path(tempfile.mkdtemp(prefix="throughput-"))
    try:
        return run(options, cleanup, scratch)
    finally:
        cleanup.run()


def run(options, cleanup: Cleanup, scratch: Path) -> int:
    started = time.monotonic()
    cluster = PostgresCluster()
    cleanup.push("stop PostgreSQL", cluster.stop)
    log("starting a throwaway PostgreSQL")
    cluster_url = cluster.start()
    sizes = [SMALL] if options.skip_growth else [SMALL, LINKABLE, options.large]
    urls = {size: database_create(cluster_url, f"bench_{size}") for size in sizes}
    prepared = {}
    for size in sizes:
        log(f"preparing the database of {size:,} findings and counting its queries")
        export_to = scratch if size == options.large else None
        prepared[size] = prepare_child(urls[size], size, export_to)
    queries = {size: prepared[size]["queries"] for size in sizes}

    servings = [Serving(size) for size in sizes]
    if options.compare_uncached:
        servings.insert(1, Serving(SMALL, cached=False))
    servers, browsers = {}, {}
    for serving in servings:
        env = {**server_env(urls[serving.size]), "DJANGO_SETTINGS_MODULE": FLOOR_SETTINGS}
        if not serving.cached:
            env["PAGE_CACHE_SECONDS"] = "0"
        name = re.sub(r"[^a-z0-9]+", "_", serving.label.lower())
        # A cold /documents/ at 3,000 findings computes the plan's QA in each worker: four at
        # once on two loaded cores passed gunicorn's default 30 s and the workers were killed.
        server = Gunicorn(
            env=env,
            workers=options.workers,
            log_path=scratch / f"gunicorn-{name}.log",
            timeout=WORKER_TIMEOUT,
        )
        cleanup.push(f"stop gunicorn ({serving.label})", server.stop)
        server.start()
        servers[serving], browsers[serving] = server, Browser(server.port)
        browsers[serving].login(REVIEWER_HTTP)
    log(f"gunicorn for {', '.join(s.label for s in servings)}; logs and wrk scripts in {scratch}")
    loads = [Machine.describe(cluster).load]
    runs = runs_planned(servings, queries)
    log(f"wrk: {options.rounds} rounds of {len(runs)} runs of {options.seconds:g} s")
    rates = throughput(runs, servers, browsers, urls, cluster, options, scratch)
    loads.append(Machine.describe().load)

    print(f"\n{Machine.describe(cluster)}\n{code_version()}")
    print(f"load average (1, 5, 15 min) before and after the wrk rounds: {loads}")
    print(
        f"gunicorn: {options.workers} sync workers per server, timeout {WORKER_TIMEOUT} s; "
        f"wrk: {options.concurrency} "
        f"connections; {options.rounds} rounds of {options.seconds:g} s per endpoint and server, "
        "interleaved, each GET run after one untimed request per worker\n"
    )
    print(report(rates, servings, queries, prepared[sizes[-1]].get("export"), options))
    for serving, server in servers.items():
        problems = gunicorn_errors(server.log_path)
        if problems:
            print(
                f"\ngunicorn ({serving.label}) logged {len(problems)} errors; "
                f"the first:\n{problems[0]}"
            )
    print(f"\nwhole run {time.monotonic() - started:.0f} s; gunicorn logs in {scratch}")
    return 0


def runs_planned(servings, queries) -> list[tuple[str, str, bool, "Serving"]]:
    """Every endpoint on every server, but those that cannot render at the server's size."""
    return [
        (name, path, with_session, serving)
        for name, path, with_session in MEASURED
        for serving in servings
        if queries[serving.size][name] is not None
    ]


REVIEWER_IN_PROCESS, REVIEWER_HTTP = "bench-reviewer-00", "bench-reviewer-01"


def database_create(cluster_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(cluster_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{cluster_url.rsplit('/', 1)[0]}/{name}"


def prepare_child(database_url: str, size: int, export_to: Path | None) -> dict:
    """Run this script as a child that prepares one database; return what it reports."""
    command = [str(VENV_BIN / "python"), __file__, "--prepare", database_url]
    command += ["--findings", str(size)]
    if export_to is not None:
        command += ["--export-to", str(export_to / "export")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"preparing {database_url} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def prepare(options) -> int:
    """In the child: set up one database as `make serve` would, grow it, count its queries."""
    # django_setup keeps a settings module already chosen: the floors' paths need this one.
    os.environ["DJANGO_SETTINGS_MODULE"] = FLOOR_SETTINGS
    django_setup(options.prepare)
    database_prepare()
    reviewers_create("bench-reviewer-", 2)
    findings_grow(options.findings)
    report = {"findings": findings_count(), "queries": queries_per_page(REVIEWER_IN_PROCESS)}
    if options.export_to:
        report["export"] = export_measure(Path(options.export_to))
    print(json.dumps(report))
    return 0


# --- Data -------------------------------------------------------------------------------------


def findings_count() -> int:
    from findings.models import Finding

    return Finding.objects.count()


def findings_grow(size: int) -> None:
    """Add generated findings (export_bench.py's generator) until there are `size` in all.

    Up to LINKABLE findings in all, they take the (SI|BF|BL)-NNN codes the seed left free, so
    that every page can link them; beyond it, export_bench.py's compact codes (SI0042).
    """
    from export_bench import compact_code, generate

    now = findings_count()
    if size <= now:
        return
    log(f"generating {size - now:,} findings")
    # The generator numbers its findings from 0; the 30 seeded ones do not count.
    start, stop = now - SMALL, size - SMALL
    if size <= LINKABLE:
        free = codes_free()
        generate(start, stop, code_for=lambda n: free[n - start])
    else:
        generate(start, stop, code_for=compact_code)
    # As autovacuum would soon: plans made on an empty table's statistics mislead.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def codes_free() -> list[str]:
    """Every (SI|BF|BL)-NNN code no finding has yet, from the lowest number up."""
    from findings.models import Finding

    taken = set(Finding.objects.values_list("code", flat=True))
    every = (f"{prefix}-{n:03d}" for n in range(1000) for prefix in CODE_PREFIXES)
    return [code for code in every if code not in taken]


# --- Queries and sizes, in process ------------------------------------------------------------


def queries_per_page(username: str) -> dict[str, dict | None]:
    """Each endpoint's queries on a page cache hit and with the cache off, those of them that
    are BEGIN/COMMIT, and its response's bytes; None for one that cannot render here because
    it links a finding whose compact code no URL takes.

    Each from its second request in this process; Django's CaptureQueriesContext (as
    assertNumQueries) counts the transaction's BEGIN and COMMIT too.
    """
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings
    from django.urls import NoReverseMatch

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    results = {}
    for name, path, with_session in MEASURED:
        caller = client if with_session else Client()
        try:
            with override_settings(PAGE_CACHE_SECONDS=0):
                uncached = request_counted(caller, name, path)
        except NoReverseMatch as error:
            if not re.search(r"(SI|BF|BL)\d{4}", str(error)):
                raise
            log(f"{name}: {CANNOT_EXIST} ({error})")
            results[name] = None
            continue
        results[name] = {"hit": request_counted(caller, name, path), "off": uncached}
    return results


def request_counted(client, name: str, path: str) -> tuple[int, int, int]:
    """The second of two requests: its queries, those that are BEGIN/COMMIT, its bytes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        item = tick_item() if name == "tick" else None
        with CaptureQueriesContext(connection) as captured:
            if item is not None:
                response = client.post(
                    f"/checklist/{item.pk}/",
                    {"checked": "false" if item.checked else "true", "version": item.version},
                    headers={"HX-Request": "true"},
                )
            else:
                response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {response.status_code} in process")
    control = sum(
        1
        for query in captured.captured_queries
        if query["sql"].split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT")
    )
    return len(captured.captured_queries), control, len(response.content)


def tick_item():
    from findings.models import ChecklistItem

    return ChecklistItem.objects.filter(finding__code=FINDING).order_by("position").first()


# --- Throughput, over HTTP --------------------------------------------------------------------


def throughput(runs, servers, browsers, urls, cluster, options, scratch: Path):
    """{serving: {endpoint: Rate}}, every endpoint and server taking turns in each round."""
    rates = {serving: {name: Rate() for name, _, _ in MEASURED} for serving in servers}
    for round_number in range(options.rounds):
        # Rotate the order, so no run always comes first or right after the same other one.
        shift = (round_number * 3) % len(runs)
        for name, path, with_session, serving in runs[shift:] + runs[:shift]:
            browser = browsers[serving]
            label = re.sub(r"[^a-z0-9]+", "_", f"{name} {serving.label}".lower())
            script = scratch / f"{label}.lua"
            items = tick_items(urls[serving.size]) if name == "tick" else []
            script.write_text(wrk_script(name, browser, with_session, options.concurrency, items))
            if name != "tick":
                workers_warm(servers[serving], browser, path, with_session, options.workers)
            wrk_run(servers[serving], cluster, path, script, options, rates[serving][name])
            time.sleep(0.3)
    return rates


def workers_warm(server: Gunicorn, browser: Browser, path: str, with_session: bool, workers: int):
    """One untimed request per worker: a sync worker busy with one takes no other, so as many
    requests at once reach every worker."""

    def one(_):
        client = Browser(server.port, timeout=120)
        if with_session:
            client.cookies = dict(browser.cookies)
        return client.request("GET", path)

    with ThreadPoolExecutor(workers) as pool:
        replies = list(pool.map(one, range(workers)))
    refused = [reply.status or reply.error for reply in replies if reply.status != 200]
    if refused:
        log(f"warming {path} on port {server.port}: {refused}; the server's log says why")


def tick_items(database_url: str) -> list[tuple[int, int, bool]]:
    """Phase 2A's seeded items as (id, version, checked), read afresh before each tick run."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute(
            """SELECT item.id, item.version, item.checked FROM findings_checklistitem item
               JOIN findings_finding finding ON finding.id = item.finding_id
               JOIN findings_phase phase ON phase.id = finding.phase_id
               WHERE phase.code = %s AND finding.title NOT LIKE 'Generated finding %%'
               ORDER BY item.id""",
            (PHASE,),
        ).fetchall()


def wrk_script(name: str, browser: Browser, with_session: bool, threads: int, items) -> str:
    cookie = "; ".join(f"{key}={value}" for key, value in browser.cookies.items())
    items = ", ".join(
        f"{{{pk}, {version}, {'true' if checked else 'false'}}}" for pk, version, checked in items
    )
    script = WRK_SCRIPT % {
        "items": items,
        "method": "POST" if name == "tick" else "GET",
        "cookie": cookie if with_session else "",
        "csrf": browser.csrf_token if name == "tick" else "",
        "htmx": "true" if name == "tick" else "",
    }
    script = script.replace("counter_total", str(threads))
    if name != "tick":
        # GETs need no request(): wrk sends the same request, cheaper for it.
        script = re.sub(r"function request\(\).*?\nend\n", "", script, flags=re.DOTALL)
    return script


def wrk_run(server: Gunicorn, cluster: PostgresCluster, path, script, options, rate) -> None:
    command = ["wrk", "-t", str(options.concurrency), "-c", str(options.concurrency)]
    command += ["-d", f"{options.seconds:g}s", "--timeout", "10s", "-s", str(script)]
    command.append(f"http://127.0.0.1:{server.port}{path}")
    app_pid, database_pid = server.process.pid, cluster.postmaster_pid()
    app, database = tree_cpu_seconds(app_pid), tree_cpu_seconds(database_pid)
    client = children_cpu_seconds()
    output = subprocess.run(
        command, capture_output=True, text=True, timeout=options.seconds + 60
    ).stdout
    rate.app_cpu += tree_cpu_seconds(app_pid) - app
    rate.database_cpu += tree_cpu_seconds(database_pid) - database
    rate.client_cpu += children_cpu_seconds() - client
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    statuses = re.search(r"STATUS 200=(\d+) 409=(\d+) other=(\d+)", output)
    if done is None or statuses is None:
        raise RuntimeError(f"wrk gave no result:\n{output}")
    seconds = float(done[2]) / (1000 if done[3] == "ms" else 1)
    rate.requests += int(done[1])
    rate.seconds += seconds
    for key, value in zip(("200", "409", "other"), statuses.groups(), strict=True):
        rate.statuses[key] += int(value)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if errors:
        rate.errors += sum(int(n) for n in errors.groups())


def children_cpu_seconds() -> float:
    """CPU time of this process's reaped children: the wrk runs (gunicorn is still running)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- Export -----------------------------------------------------------------------------------


def export_measure(scratch: Path) -> tuple[float, float]:
    """Seconds to export every finding to a folder, and the peak Python memory of a second run."""
    from findings.export.snapshot import snapshot_load
    from findings.export.tree import tree_write

    gc.collect()
    started = time.perf_counter()
    tree_write(snapshot=snapshot_load(), out=scratch / "export")
    seconds = time.perf_counter() - started
    tracemalloc.start()
    tree_write(snapshot=snapshot_load(), out=scratch / "export-traced")
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


# --- Report -----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def target_of(name: str) -> float:
    return TARGET_FLOOR.get(name, TARGET_FLOOR_DEFAULT)


def report(rates, servings, queries, export, options) -> str:
    sections = []
    by_rate = {
        serving: {
            name: rates[serving][name].per_second / rates[serving][FLOOR].per_second
            for name in rates[serving]
            if rates[serving][name].requests
        }
        for serving in servings
    }
    by_cpu = {
        serving: {
            name: rates[serving][FLOOR].server_cpu_ms / rates[serving][name].server_cpu_ms
            for name in rates[serving]
            if rates[serving][name].requests
        }
        for serving in servings
    }
    for title, ratios in (("throughput", by_rate), ("server CPU per request", by_cpu)):
        sections.append(
            f"{'' if title == 'throughput' else chr(10)}× floor by {title}: each endpoint "
            f"against '{FLOOR}' on the same server in the same rounds\n"
            + headline(ratios, servings, queries)
        )

    for serving in servings:
        base, floor = rates[serving]["/healthz"], rates[serving][FLOOR]
        rows = []
        for name, _, _ in MEASURED:
            rate = rates[serving][name]
            if not rate.requests:
                rows.append([name, CANNOT_EXIST])
                continue
            rows.append(
                [
                    name,
                    f"{rate.per_second:.1f}",
                    f"{rate.per_second / base.per_second:.3f}",
                    f"{rate.per_second / floor.per_second:.2f}",
                    f"{rate.cpu_ms(rate.app_cpu):.2f}",
                    f"{rate.cpu_ms(rate.database_cpu):.2f}",
                    f"{rate.server_cpu_ms:.2f}",
                    f"{rate.cpu_ms(rate.client_cpu):.2f}",
                    f"{base.server_cpu_ms / rate.server_cpu_ms:.3f}",
                    f"{floor.server_cpu_ms / rate.server_cpu_ms:.2f}",
                ]
            )
        sections.append(
            f"\n{serving.label}: req/s, and server CPU per request in ms (gunicorn master and "
            "workers + PostgreSQL; wrk: the client's)"
        )
        header = ["endpoint", "req/s", "× /healthz", "× floor", "gunicorn", "PostgreSQL"]
        header += ["server", "wrk", "CPU × /healthz", "CPU × floor"]
        sections.append(table(header, rows))

    statuses = []
    for serving in servings:
        for name, _, _ in MEASURED:
            rate = rates[serving][name]
            if rate.requests:
                statuses.append(
                    [
                        f"{name}, {serving.label}",
                        rate.requests,
                        rate.statuses["200"],
                        rate.statuses["409"],
                        rate.statuses["other"],
                        rate.errors,
                        f"{rate.seconds:.1f}",
                    ]
                )
    sections.append("\nAnswers (wrk): every one should be a 200")
    sections.append(
        table(["endpoint", "requests", "200", "409", "other", "socket errors", "s"], statuses)
    )

    sizes = sorted(queries)
    header = ["endpoint", *(f"at {size:,}" for size in sizes), "target", ""]
    rows = []
    for name, _, _ in MEASURED:
        counted = [queries[size][name] for size in sizes]
        shown = [queries_shown(counts) for counts in counted]
        if name in REFERENCES:
            rows.append([name, *shown])
            continue
        present = [counts for counts in counted if counts is not None]
        same = all(counts["hit"][0] == present[0]["hit"][0] for counts in present) and all(
            counts["off"][0] == present[0]["off"][0] for counts in present
        )
        rows.append([name, *shown, "the same at every size", verdict(same)])
    sections.append(
        "\nSQL queries per request (Django test client as a reviewer; counted as "
        "assertNumQueries): on a page cache hit / with the page cache off"
    )
    sections.append(table(header, rows, align="<" + ">" * len(sizes) + "><"))

    rows = []
    for size in sizes:
        size_bytes = queries[size]["tick"]["off"][2]
        ok = size_bytes <= TARGET_TICK_BYTES
        rows.append([f"tick response at {size:,}", size_bytes, "≤ 3,072", verdict(ok)])
    if export is not None:
        seconds, peak = export
        rows.append(
            [
                f"export of {options.large:,} findings, s",
                f"{seconds:.1f}",
                f"< {TARGET_EXPORT_SECONDS}",
                verdict(seconds < TARGET_EXPORT_SECONDS),
            ]
        )
        rows.append(
            [
                f"export of {options.large:,} findings, peak MiB",
                f"{peak:.0f}",
                f"< {TARGET_EXPORT_MIB}",
                verdict(peak < TARGET_EXPORT_MIB),
            ]
        )
    sections.append("\nSizes and export")
    sections.append(table(["measure", "value", "target", ""], rows, align="<>><"))
    return "\n".join(sections)


def headline(ratios, servings, queries) -> str:
    """× floor per endpoint and server; the verdict looks at the servers with the page cache."""
    header = ["endpoint", "target", *(serving.short for serving in servings), ""]
    rows = []
    for name, _, _ in MEASURED:
        cells, missed = [], []
        for serving in servings:
            ratio = ratios[serving].get(name)
            if ratio is None:
                cells.append(CANNOT_EXIST if queries[serving.size][name] is None else "")
                continue
            cells.append(f"{ratio:.2f}")
            if serving.cached and name not in REFERENCES and ratio < target_of(name):
                missed.append(serving.short)
        if name in REFERENCES:
            rows.append([name, "", *cells])
            continue
        outcome = f"MISSED at {', '.join(missed)}" if missed else "ok"
        rows.append([name, f"≥ {target_of(name):.2f}", *cells, outcome])
    return table(header, rows, align="<>" + ">" * len(servings) + "<")


def queries_shown(counts: dict | None) -> str:
    if counts is None:
        return CANNOT_EXIST
    (hit, control, _), (off, _, _) = counts["hit"], counts["off"]
    shown = f"{hit}" if hit == off else f"{hit} / {off}"
    return f"{shown} ({hit - control} + BEGIN, COMMIT)" if control else shown


if __name__ == "__main__":
    sys.exit(main())
