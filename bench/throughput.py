#!/usr/bin/env python
"""Throughput, growth, query counts and response size of the pages, against issue 6's targets.

    .venv/bin/python bench/throughput.py                  # the whole run, about 5 minutes
    .venv/bin/python bench/throughput.py --skip-growth    # only the seeded 30 findings
    .venv/bin/python bench/throughput.py --seconds 2 --rounds 2   # quicker, noisier

Run by hand, not part of the test suite; needs `wrk` (Debian: apt-get install wrk). Everything is
on 127.0.0.1 and stops by itself. It starts a throwaway PostgreSQL (scripts/postgres-cluster)
holding one database per size: the seeded catalogue (30 findings), and the same grown to 1,000
and 10,000 with bench/export_bench.py's generator (findings spread over the 19 documents, each
with the 13-item checklist, a third ticked), then ANALYZEd as autovacuum would. Each database is
prepared by a child process of this script (migrate, catalogue, reviewers, generated findings),
which also counts its queries. The 30 and 10,000 databases each get a gunicorn run as
`make serve` runs it (DEBUG off), so both sizes are measured side by side in the same rounds.

Throughput: wrk drives each endpoint with the same concurrency (one connection per wrk thread)
for a few seconds, endpoint after endpoint and size after size, for several rounds in a rotating
order, so that the noise of a shared machine falls on all of them alike. Each endpoint's requests
per second is set against /healthz's (no database, no session: the load balancer's check) from
the same rounds and server; growth sets its 10,000 against its 30. The pages go with a reviewer's
session cookie, and so do two references without a target, the floor every authenticated page
pays before its own work: bench/floor.py's views that only read the session and the user, then
also the user's permissions, served beside the app's URLs by bench/floor_settings.py. A tick is
the HTMX POST the finding page sends: each wrk thread cycles over its own share of phase 2A's
seeded items asking for the opposite of the state the last response showed, so every tick is a
real change with its audit event, never a no-op or a 409. The CPU time gunicorn and PostgreSQL
spend per request is measured too (from /proc): the load of other processes does not enter it,
so it gives the same ratios without the noise.

Query counts (the floors' too) and a tick's response size come from Django's test client, logged
in as a reviewer, at 30, 1,000 and 10,000 findings. Last, the export of the 10,000 findings to a
folder: time, and peak Python memory by tracemalloc.
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
# name, path, whether it goes with the reviewer's session; profile_pages.py and pyspy_pages.py
# drive these too, on the app's own settings
ENDPOINTS = [
    ("/healthz", "/healthz", False),
    ("tick", "/checklist/", True),
    ("dashboard /", "/", True),
    ("table /findings/", "/findings/", True),
    (f"finding /findings/{FINDING}/", f"/findings/{FINDING}/", True),
]
# What every authenticated page pays before its own work (bench/floor.py). Measured only here:
# this script's gunicorn and test client run with the settings that serve these paths.
FLOORS = [
    ("floor: session + user", "/bench/session/", True),
    ("floor: + permissions", "/bench/permissions/", True),
]
FLOOR_SETTINGS = "bench.floor_settings"
# /healthz, the floors, then the pages: the ladder a page's cost climbs.
MEASURED = [ENDPOINTS[0], *FLOORS, *ENDPOINTS[1:]]
# Measured beside the pages to read them against, with no target.
REFERENCES = {"/healthz", *(name for name, _, _ in FLOORS)}
TARGET_RATIO = {"tick": 0.20, "dashboard /": 0.20}
TARGET_RATIO_DEFAULT = 0.15
TARGET_GROWTH = 0.8
TARGET_QUERIES = 15
TARGET_TICK_BYTES = 3 * 1024
TARGET_EXPORT_SECONDS = 20
TARGET_EXPORT_MIB = 300

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
    parser.add_argument("--seconds", type=float, default=3, help="one wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per endpoint and size")
    parser.add_argument("--large", type=int, default=10000, help="findings for growth")
    parser.add_argument("--skip-growth", action="store_true", help="only the seeded findings")
    parser.add_argument("--time-limit", type=float, default=900, help="whole run, seconds")
    # The child process that prepares one database and reports on it as JSON.
    parser.add_argument("--prepare", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    parser.add_argument("--findings", type=int, default=30, help=argparse.SUPPRESS)
    parser.add_argument("--export-to", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.prepare:
        return prepare(options)
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
    sizes = [30] if options.skip_growth else [30, 1000, options.large]
    measured_sizes = sizes[:1] + sizes[2:]
    urls = {size: database_create(cluster_url, f"bench_{size}") for size in sizes}
    prepared = {}
    for size in sizes:
        log(f"preparing the database of {size:,} findings and counting its queries")
        export_to = scratch if size == options.large and not options.skip_growth else None
        prepared[size] = prepare_child(urls[size], size, export_to)

    servers, browsers = {}, {}
    for size in measured_sizes:
        server = Gunicorn(
            env={**server_env(urls[size]), "DJANGO_SETTINGS_MODULE": FLOOR_SETTINGS},
            workers=options.workers,
            log_path=scratch / f"gunicorn-{size}.log",
        )
        cleanup.push(f"stop gunicorn ({size})", server.stop)
        server.start()
        servers[size], browsers[size] = server, Browser(server.port)
        browsers[size].login(REVIEWER_HTTP)
    log(f"gunicorn for {measured_sizes} findings; logs and wrk scripts in {scratch}")
    loads = [Machine.describe(cluster).load]
    log(f"wrk: {options.rounds} rounds of {len(MEASURED) * len(servers)} runs")
    rates = throughput(servers, browsers, urls, cluster, options, scratch)
    loads.append(Machine.describe().load)

    print(f"\n{Machine.describe(cluster)}\n{code_version()}")
    print(f"load average (1, 5, 15 min) before and after the wrk rounds: {loads}")
    print(
        f"gunicorn: {options.workers} sync workers per size; wrk: {options.concurrency} "
        f"connections; {options.rounds} rounds of {options.seconds:g} s per endpoint and size, "
        "interleaved\n"
    )
    queries = {size: prepared[size]["queries"] for size in sizes}
    print(report(rates, queries, prepared[sizes[-1]].get("export"), options))
    for size, server in servers.items():
        problems = gunicorn_errors(server.log_path)
        if problems:
            print(f"\ngunicorn ({size}) logged {len(problems)} errors; the first:\n{problems[0]}")
    print(f"\nwhole run {time.monotonic() - started:.0f} s; gunicorn logs in {scratch}")
    return 0


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
    """Add generated findings (export_bench.py's generator) until there are `size` in all."""
    from export_bench import generate

    now = findings_count()
    if size > now:
        log(f"generating {size - now:,} findings")
        # The generator numbers its findings from 0; the 30 seeded ones do not count.
        generate(now - 30, size - 30)
        # As autovacuum would soon: plans made on an empty table's statistics mislead.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# --- Queries and sizes, in process ------------------------------------------------------------


def queries_per_page(username: str) -> dict[str, tuple[int, int, int]]:
    """Each endpoint's queries, those of them that are BEGIN/COMMIT, and its response's bytes.

    From its second request in this process; Django's CaptureQueriesContext (as assertNumQueries)
    counts the transaction's BEGIN and COMMIT too.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    results = {}
    for name, path, with_session in MEASURED:
        measured = None
        for _ in range(2):
            caller = client if with_session else Client()
            item = tick_item() if name == "tick" else None
            with CaptureQueriesContext(connection) as captured:
                if item is not None:
                    response = caller.post(
                        f"/checklist/{item.pk}/",
                        {"checked": "false" if item.checked else "true", "version": item.version},
                        headers={"HX-Request": "true"},
                    )
                else:
                    response = caller.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {response.status_code} in process")
            control = sum(
                1
                for query in captured.captured_queries
                if query["sql"].split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT")
            )
            measured = (len(captured.captured_queries), control, len(response.content))
        results[name] = measured
    return results


def tick_item():
    from findings.models import ChecklistItem

    return ChecklistItem.objects.filter(finding__code=FINDING).order_by("position").first()


# --- Throughput, over HTTP --------------------------------------------------------------------


def throughput(servers, browsers, urls, cluster, options, scratch: Path):
    """{size: {endpoint: Rate}}, every endpoint and size taking turns in each round."""
    runs = [(name, path, session, size) for name, path, session in MEASURED for size in servers]
    rates = {size: {name: Rate() for name, _, _ in MEASURED} for size in servers}
    for round_number in range(options.rounds):
        # Rotate the order, so no run always comes first or right after the same other one.
        shift = (round_number * 3) % len(runs)
        for name, path, with_session, size in runs[shift:] + runs[:shift]:
            script = scratch / f"{re.sub(r'[^a-z]+', '_', name)}_{size}.lua"
            items = tick_items(urls[size]) if name == "tick" else []
            script.write_text(
                wrk_script(name, browsers[size], with_session, options.concurrency, items)
            )
            wrk_run(servers[size], cluster, path, script, options, rates[size][name])
            time.sleep(0.3)
    return rates


def tick_items(database_url: str) -> list[tuple[int, int, bool]]:
    """Phase 2A's seeded items as (id, version, checked), read afresh before each tick run."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute(
            """SELECT item.id, item.version, item.checked FROM findings_checklistitem item
               JOIN findings_finding finding ON finding.id = item.finding_id
               JOIN findings_phase phase ON phase.id = finding.phase_id
               WHERE phase.code = '2A' AND finding.code LIKE '%-%' ORDER BY item.id"""
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


def report(rates, queries, export, options) -> str:
    sizes = sorted(queries)
    small, large = 30, options.large
    sections = []

    header = ["endpoint", "req/s at 30", "ratio", "target", ""]
    if large in rates:
        header += ["req/s at 10k", "ratio", "raw growth", "growth", "target", ""]
    rows = []
    base_small = rates[small]["/healthz"].per_second
    base_large = rates[large]["/healthz"].per_second if large in rates else 0
    for name, _, _ in MEASURED:
        rate = rates[small][name]
        target = TARGET_RATIO.get(name, TARGET_RATIO_DEFAULT)
        ratio = rate.per_second / base_small
        row = [name, f"{rate.per_second:.1f}", f"{ratio:.3f}"]
        row += ["", ""] if name in REFERENCES else [f"≥ {target:.2f}", verdict(ratio >= target)]
        if large in rates:
            big = rates[large][name]
            big_ratio = big.per_second / base_large
            # Against /healthz of the same run, so the machine's drift between the two cancels.
            growth = big_ratio / ratio
            raw = big.per_second / rate.per_second
            row += [f"{big.per_second:.1f}", f"{big_ratio:.3f}", f"{raw:.2f}", f"{growth:.2f}"]
            row += (
                ["", ""]
                if name in REFERENCES
                else [f"≥ {TARGET_GROWTH:.1f}", verdict(growth >= TARGET_GROWTH)]
            )
        rows.append(row)
    sections.append(
        "Throughput (ratio: to /healthz in the same rounds; growth: ratio at 10k / at 30)"
        "\nfloor: what every authenticated page pays before its own work (bench/floor.py); "
        "a reference, as /healthz, with no target"
    )
    sections.append(table(header, rows, align="<>>><>>>>><"))

    rows = []
    for size in sorted(rates):
        base = rates[size]["/healthz"].server_cpu_ms
        for name, _, _ in MEASURED:
            rate = rates[size][name]
            ratio = base / rate.server_cpu_ms
            row = [
                f"{name} at {size:,}" if size != 30 else name,
                f"{rate.cpu_ms(rate.app_cpu):.2f}",
                f"{rate.cpu_ms(rate.database_cpu):.2f}",
                f"{rate.server_cpu_ms:.2f}",
                f"{rate.cpu_ms(rate.client_cpu):.2f}",
                f"{ratio:.3f}",
            ]
            target = TARGET_RATIO.get(name, TARGET_RATIO_DEFAULT)
            row += ["", ""] if name in REFERENCES else [f"≥ {target:.2f}", verdict(ratio >= target)]
            if size != small:
                small_rate = rates[small][name]
                # CPU per request is a cost, so growth of throughput is its inverse.
                growth = small_rate.server_cpu_ms / rate.server_cpu_ms
                row += [f"{growth:.2f}"]
                if name not in REFERENCES:
                    row += [f"≥ {TARGET_GROWTH:.1f}", verdict(growth >= TARGET_GROWTH)]
            rows.append(row)
    sections.append(
        "\nServer CPU per request, ms (gunicorn master and workers + PostgreSQL; wrk: the client)."
        "\nOther processes' load does not enter it: ratio = /healthz's server CPU ÷ this one's, "
        "growth = at 30 ÷ at 10k.\nOn a dedicated machine throughput is CPU-bound, so these "
        "ratios predict the throughput ratios without the noise."
    )
    header = ["endpoint", "gunicorn", "PostgreSQL", "server", "wrk", "ratio", "target", ""]
    if len(rates) > 1:
        header += ["growth", "target", ""]
    sections.append(table(header, rows, align="<>>>>>><>><"))

    statuses = []
    for size in sorted(rates):
        for name, _, _ in MEASURED:
            rate = rates[size][name]
            statuses.append(
                [
                    f"{name} at {size:,}" if size != 30 else name,
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

    header = ["endpoint", *(f"queries at {size:,}" for size in sizes), "target", ""]
    rows = []
    for name, _, _ in MEASURED:
        counts = [queries[size][name][0] for size in sizes]
        shown = [
            f"{total} ({total - control} + BEGIN, COMMIT)" if control else total
            for total, control, _ in (queries[size][name] for size in sizes)
        ]
        if name in REFERENCES:
            rows.append([name, *shown])
            continue
        ok = len(set(counts)) == 1 and max(counts) <= TARGET_QUERIES
        rows.append([name, *shown, f"same, ≤ {TARGET_QUERIES}", verdict(ok)])
    sections.append(
        "\nSQL queries per request (Django test client as a reviewer; counted as assertNumQueries)"
    )
    sections.append(table(header, rows, align="<" + ">" * len(sizes) + "><"))

    rows = []
    for size in sizes:
        size_bytes = queries[size]["tick"][2]
        ok = size_bytes <= TARGET_TICK_BYTES
        rows.append([f"tick response at {size:,}", size_bytes, "≤ 3,072", verdict(ok)])
    if export is not None:
        seconds, peak = export
        rows.append(
            [
                f"export of {large:,} findings, s",
                f"{seconds:.1f}",
                f"< {TARGET_EXPORT_SECONDS}",
                verdict(seconds < TARGET_EXPORT_SECONDS),
            ]
        )
        rows.append(
            [
                f"export of {large:,} findings, peak MiB",
                f"{peak:.0f}",
                f"< {TARGET_EXPORT_MIB}",
                verdict(peak < TARGET_EXPORT_MIB),
            ]
        )
    sections.append("\nSizes and export")
    sections.append(table(["measure", "value", "target", ""], rows, align="<>><"))
    return "\n".join(sections)


if __name__ == "__main__":
    sys.exit(main())
