#!/usr/bin/env python
"""Load and fault test: 100 reviewers tick phase 2A's checklist on two app servers, one PostgreSQL.

    .venv/bin/python bench/load_test.py                  # steady, database restart, server kill
    .venv/bin/python bench/load_test.py --skip-restart --skip-kill   # the steady load only
    .venv/bin/python bench/load_test.py --servers 1 --skip-kill      # one server

Run by hand, not part of the test suite. Everything is on 127.0.0.1 and bounded in time.
It starts a throwaway PostgreSQL (scripts/postgres-cluster), migrates, loads the catalogue,
creates the reviewers, and starts `scripts/serve` (what `make serve` runs: DEBUG off, gunicorn
and the notification sender) --servers times, each on its own port and in its own process
group, all on the one database. The reviewers are dealt to the servers in turn. Each logs in
through /accounts/login/, then loops: load a 2A finding's page, read its items' ids and
versions, and ask for a random state of a random item (an HTMX tick, as the page sends).
Phase 2A is never locked, so every tick is allowed; reviewers racing on an item get 409s.

Every request carries its own X-Request-ID, which the app writes into the audit event, so each
event is matched with the request that made it. After each phase it checks: no 5xx; every
applied change has exactly one audit event; each item's events chain its versions one by one
from its state before the load to its state now (so the state recomputed from the audit log is
the stored one, and no committed tick is lost); `manage.py verify_audit` passes; 409s happened.

The "db restart" phase restarts PostgreSQL (`pg_ctl restart -m fast`) a third of the way
through. Requests in flight then may fail; afterwards the same gunicorn workers must serve
again, and the same checks must hold.

The "server kill" phase sends SIGKILL to the last server's whole process group (the script,
gunicorn's master and workers, the notification sender) a third of the way through. A reviewer
whose request gets no answer moves to the next server with the same cookies, as behind a load
balancer; requests to the killed server count as connection errors ("no answer"), never as
5xx. The other server must answer everything, and the same checks must hold.

Latencies (p50, p95, p99) are over the requests that got an answer, per endpoint: the finding
page (GET), the tick (POST), the login form (GET) and the login (POST); req/s counts them all.
Exit status: 0 when every check passes, 1 when one fails, 3 on timeout.
"""

import argparse
import json
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    Browser,
    Cleanup,
    ItemState,
    LoginFailed,
    Machine,
    PostgresCluster,
    ServeScript,
    code_version,
    database_prepare,
    django_setup,
    gunicorn_errors,
    install_signal_handlers,
    items_shown,
    log,
    manage,
    percentile,
    reviewers_create,
    server_env,
    start_watchdog,
    table,
)

TICK_ACTIONS = ("checklist_item.ticked", "checklist_item.unticked")
# After the restart returns, requests get this long to find the database again.
RECOVERY_GRACE = 1.0
# A client that got a 5xx or no answer waits this long before going on, as a person would.
BACKOFF = 0.2
RESTART, KILL = "db restart", "server kill"


@dataclass
class Record:
    kind: str  # login form, login, page or tick
    status: int  # 0: no answer
    started: float  # seconds since the phase began
    elapsed: float
    server: int  # the index of the server asked
    reviewer: int
    request_id: str = ""
    item_id: int | None = None
    desired: bool | None = None
    sent_version: int | None = None
    shown: ItemState | None = None
    error: str = ""


class Budget:
    """A fixed number of requests shared by the sessions, and a time after which none start."""

    def __init__(self, requests: int, deadline: float) -> None:
        self.left, self.taken, self.deadline = requests, 0, deadline
        self.cut_short = False
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if time.monotonic() >= self.deadline:
                self.cut_short = self.cut_short or self.left > 0
                return False
            if self.left <= 0:
                return False
            self.left -= 1
            self.taken += 1
            return True


@dataclass
class Phase:
    name: str
    requests: int
    records: list[Record] = field(default_factory=list)
    started: float = 0.0
    wall: float = 0.0
    budget: Budget | None = None
    # The fault in phase seconds: the restart and its grace, or the kill to the phase's end.
    window: tuple[float, float] | None = None
    killed: int | None = None  # the index of the server killed
    killed_roles: Counter = field(default_factory=Counter)  # its processes, by role
    kill_leftovers: set[int] = field(default_factory=set)  # of them, alive after the kill
    items_before: dict[int, ItemState] = field(default_factory=dict)
    items_after: dict[int, ItemState] = field(default_factory=dict)
    # The audit chain's head before and after: the phase's events lie between.
    sequence_before: int = 0
    sequence_after: int = 0


@dataclass
class Reviewer:
    number: int
    username: str
    browser: Browser


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=2, help="scripts/serve instances")
    parser.add_argument("--reviewers", type=int, default=100, help="concurrent reviewers")
    parser.add_argument("--requests", type=int, default=3000, help="steady phase's requests")
    parser.add_argument("--restart-requests", type=int, default=1500, help="restart phase's")
    parser.add_argument("--kill-requests", type=int, default=1500, help="kill phase's")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per server")
    parser.add_argument("--time-limit", type=float, default=300, help="whole run, seconds")
    parser.add_argument("--skip-restart", action="store_true", help="no database restart")
    parser.add_argument("--skip-kill", action="store_true", help="no server killed")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the sessions")
    options = parser.parse_args()
    if options.servers < 1 or (options.servers < 2 and not options.skip_kill):
        parser.error("killing a server needs --servers 2 or more (or --skip-kill)")

    install_signal_handlers()
    cleanup = Cleanup()
    run_deadline = time.monotonic() + options.time_limit
    # A hard stop a little after the soft bound, for a run stuck somewhere unexpected.
    start_watchdog(options.time_limit + 60, cleanup)
    scratch = Path(tempfile.mkdtemp(prefix="load-test-"))
    try:
        return run(options, cleanup, run_deadline, scratch)
    finally:
        cleanup.run()


def run(options, cleanup: Cleanup, run_deadline: float, scratch: Path) -> int:
    started = time.monotonic()
    cluster = PostgresCluster()
    cleanup.push("stop PostgreSQL", cluster.stop)
    log("starting a throwaway PostgreSQL")
    database_url = cluster.start()
    django_setup(database_url)
    log("migrating, loading the catalogue, creating reviewers")
    database_prepare()
    usernames = reviewers_create("load-reviewer-", options.reviewers)
    from findings.models import Finding

    codes = list(Finding.objects.filter(phase__code="2A").values_list("code", flat=True))
    servers = servers_start(options, cleanup, database_url, scratch)
    ports = [server.port for server in servers]
    workers_before = [server.worker_pids() for server in servers]
    machine = Machine.describe(cluster)

    rng = random.Random(options.seed)
    reviewers = [
        Reviewer(n, name, Browser(ports[n % len(ports)])) for n, name in enumerate(usernames)
    ]
    log(f"logging {len(reviewers)} reviewers in through /accounts/login/; logs in {scratch}")
    logins = logins_run(reviewers, ports)
    phases = [Phase("steady", options.requests)]
    if not options.skip_restart:
        phases.append(Phase(RESTART, options.restart_requests))
    if not options.skip_kill:
        phases.append(Phase(KILL, options.kill_requests))
    for number, phase in enumerate(phases):
        # Each phase gets a share of the time left by its requests, keeping 20 s for the checks.
        requests_left = sum(later.requests for later in phases[number:])
        share = (run_deadline - time.monotonic() - 20) * phase.requests / requests_left
        log(f"phase {phase.name!r}: {phase.requests} requests, {len(reviewers)} sessions")
        fault = None
        if phase.name == RESTART:
            fault = threading.Thread(target=restart_midway, args=(phase, cluster), daemon=True)
        elif phase.name == KILL:
            victim = len(servers) - 1
            fault = threading.Thread(
                target=kill_midway, args=(phase, servers[victim], victim), daemon=True
            )
        phase_run(
            phase,
            reviewers=reviewers,
            ports=ports,
            codes=codes,
            rng=rng,
            seconds=max(share, 10),
            fault=fault,
        )

    print(f"\n{machine}\n{code_version()}")
    print(
        f"{len(servers)} × scripts/serve on one PostgreSQL, gunicorn {options.workers} sync "
        f"workers each; {options.reviewers} reviewers dealt to them in turn\n"
    )
    print(summary(logins, phases, len(servers)))
    logged_in = sum(1 for r in logins.records if r.kind == "login" and r.status == 302)
    checks = [("every reviewer logged in", logged_in == len(reviewers), "")]
    for phase in phases:
        checks += phase_checks(phase)
    verify = manage("verify_audit", database_url=database_url)
    checks.append(("verify_audit passes", verify.returncode == 0, verify.stdout + verify.stderr))
    killed = {phase.killed for phase in phases}
    for number, server in enumerate(servers):
        if number in killed:
            continue
        workers_after = server.worker_pids()
        checks.append(
            (
                f"server {number + 1}: the same gunicorn workers served throughout",
                workers_after == workers_before[number] and server.process.poll() is None,
                f"before {sorted(workers_before[number])}, after {sorted(workers_after)}",
            )
        )
    print("\nchecks:")
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f": {detail.strip()}" if detail else ""))
    for number, server in enumerate(servers):
        problems = gunicorn_errors(server.log_path)
        if problems:
            print(f"\nserver {number + 1}'s log holds {len(problems)} errors; the first few:")
            for problem in dedupe(problems)[:5]:
                print("  " + problem.replace("\n", "\n  "))
    print(f"\nnote: {request_log_gaps(phases, [server.log_path for server in servers])}")
    print(f"\nlogs: {scratch}; whole run {time.monotonic() - started:.0f} s")
    return 0 if all(ok for _, ok, _ in checks) else 1


def servers_start(options, cleanup: Cleanup, database_url: str, scratch: Path) -> list:
    """Start scripts/serve --servers times, one after the other, as a deploy that starts its
    machines in turn: each runs its checks, migrate and load_catalogue before it serves."""
    servers = []
    for number in range(1, options.servers + 1):
        server = ServeScript(
            env=server_env(database_url),
            workers=options.workers,
            log_path=scratch / f"serve-{number}.log",
        )
        cleanup.push(f"stop server {number}", server.stop)
        log(f"starting server {number} (scripts/serve)")
        server.start()
        servers.append(server)
        log(
            f"server {number} on 127.0.0.1:{server.port}: process group {server.process.pid}, "
            f"gunicorn master {server.master_pid()}, workers {sorted(server.worker_pids())}"
        )
    return servers


def logins_run(reviewers: list[Reviewer], ports: list[int]) -> Phase:
    """Log every session in at once: the first burst a team's morning brings."""
    logins = Phase("login", len(reviewers))
    logins.started = time.monotonic()

    def login(reviewer: Reviewer) -> None:
        for _ in range(3):
            try:
                replies = reviewer.browser.login(reviewer.username)
            except LoginFailed as failure:
                log(f"{failure}; retrying")
                time.sleep(1)
                continue
            server = ports.index(reviewer.browser.port)
            for kind, reply in zip(("login form", "login"), replies, strict=True):
                logins.records.append(
                    Record(
                        kind,
                        reply.status,
                        0.0,
                        reply.elapsed,
                        server,
                        reviewer.number,
                        error=reply.error,
                    )
                )
            return

    threads = [threading.Thread(target=login, args=(r,), daemon=True) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    logins.wall = time.monotonic() - logins.started
    return logins


def chain_head() -> int:
    from django.db import connections

    from findings.models import AuditChainHead

    # A restart of the server cuts this process's connection too.
    connections.close_all()
    return AuditChainHead.objects.values_list("sequence", flat=True).first() or 0


def phase_run(phase: Phase, *, reviewers, ports, codes, rng, seconds, fault) -> None:
    phase.items_before = items_in_database()
    phase.sequence_before = chain_head()
    phase.started = time.monotonic()
    phase.budget = Budget(phase.requests, phase.started + seconds)
    threads = [
        threading.Thread(
            target=session_loop,
            args=(phase, reviewer, ports, codes),
            kwargs={"rng": random.Random(rng.random())},
            daemon=True,
        )
        for reviewer in reviewers
    ]
    if fault is not None:
        threads.append(fault)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1, phase.budget.deadline + 60 - time.monotonic()))
    phase.wall = time.monotonic() - phase.started
    phase.sequence_after = chain_head()
    phase.items_after = items_in_database()
    if phase.budget.cut_short:
        log(f"phase {phase.name!r} hit its time bound after {phase.budget.taken} requests")


def session_loop(phase: Phase, reviewer: Reviewer, ports: list[int], codes, *, rng) -> None:
    browser = reviewer.browser

    def record(kind: str, reply, **details) -> None:
        phase.records.append(
            Record(
                kind,
                reply.status,
                time.monotonic() - phase.started - reply.elapsed,
                reply.elapsed,
                ports.index(browser.port),
                reviewer.number,
                error=reply.error,
                **details,
            )
        )
        # No answer: the next server, as a load balancer that finds one down.
        if reply.status == 0:
            browser.move_to(ports[(ports.index(browser.port) + 1) % len(ports)])
        if reply.status == 0 or reply.status >= 500:
            time.sleep(BACKOFF)

    while phase.budget.take():
        page_id = f"load-{uuid.uuid4().hex}"
        page = browser.request(
            "GET", f"/findings/{rng.choice(codes)}/", headers={"X-Request-ID": page_id}
        )
        record("page", page, request_id=page_id)
        items = items_shown(page.body) if page.status == 200 else []
        if not items or not phase.budget.take():
            continue
        item, desired = rng.choice(items), rng.random() < 0.5
        request_id = f"load-{uuid.uuid4().hex}"
        reply = browser.request(
            "POST",
            f"/checklist/{item.id}/",
            form={"checked": "true" if desired else "false", "version": item.version},
            headers={
                "HX-Request": "true",
                "X-CSRFToken": browser.csrf_token,
                "X-Request-ID": request_id,
            },
        )
        shown = items_shown(reply.body)
        record(
            "tick",
            reply,
            request_id=request_id,
            item_id=item.id,
            desired=desired,
            sent_version=item.version,
            shown=shown[0] if shown else None,
        )


def third_of_the_way(phase: Phase) -> None:
    """Wait until a third of the phase's requests (or of its time) has gone."""
    third_of_time = phase.started + (phase.budget.deadline - phase.started) / 3
    while phase.budget.taken < phase.requests // 3 and time.monotonic() < third_of_time:
        time.sleep(0.05)


def restart_midway(phase: Phase, cluster: PostgresCluster) -> None:
    third_of_the_way(phase)
    began = time.monotonic() - phase.started
    log("restarting PostgreSQL (pg_ctl restart -m fast)")
    cluster.restart("fast")
    ended = time.monotonic() - phase.started
    log(f"PostgreSQL is back after {ended - began:.2f} s")
    phase.window = (began, ended + RECOVERY_GRACE)


def kill_midway(phase: Phase, server: ServeScript, victim: int) -> None:
    third_of_the_way(phase)
    phase.killed_roles = process_roles(server)
    phase.killed = victim
    began = time.monotonic() - phase.started
    log(f"SIGKILL to server {victim + 1}'s process group {server.process.pid}")
    server.kill()
    phase.window = (began, float("inf"))
    # Orphaned workers are reaped by init, not by us: give the kernel a moment to finish them.
    deadline = time.monotonic() + 5
    while server.group_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    phase.kill_leftovers = server.group_pids()


def process_roles(server: ServeScript) -> Counter:
    """The server's processes by role: the script, gunicorn's master and workers, the sender."""
    master = server.master_pid()
    roles = Counter()
    for pid in server.group_pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if pid == master:
            roles["gunicorn master"] += 1
        elif b"gunicorn" in cmdline:
            roles["gunicorn worker"] += 1
        elif b"send_notifications" in cmdline:
            roles["notification sender"] += 1
        elif b"scripts/serve" in cmdline:
            roles["scripts/serve"] += 1
        else:
            roles[cmdline.split(b"\0")[0].decode(errors="replace")] += 1
    return roles


def items_in_database() -> dict[int, ItemState]:
    from findings.models import ChecklistItem

    rows = ChecklistItem.objects.filter(finding__phase__code="2A").values_list(
        "pk", "checked", "version"
    )
    return {pk: ItemState(pk, checked, version) for pk, checked, version in rows}


# --- Checks -----------------------------------------------------------------------------------


def failed(record: Record) -> bool:
    return record.status == 0 or record.status >= 500


def excused(phase: Phase, record: Record) -> bool:
    """Whether the phase's fault explains a failed request.

    A database restart may cost the requests in flight during it or its grace second a 5xx or
    their answer. A killed server may cost only the answers of the requests sent to it that had
    not come back when it died, never a 5xx, and nothing on the other server.
    """
    if phase.window is None:
        return False
    began, ended = phase.window
    if phase.name == RESTART:
        return record.started < ended and record.started + record.elapsed > began
    return (
        record.status == 0
        and record.server == phase.killed
        and record.started + record.elapsed > began
    )


def phase_checks(phase: Phase) -> list[tuple[str, bool, str]]:
    from findings.models import AuditEvent

    label = f"[{phase.name}]"
    ticks = [r for r in phase.records if r.kind == "tick"]
    by_request = {r.request_id: r for r in ticks}
    events = list(
        AuditEvent.objects.filter(
            sequence__gt=phase.sequence_before, sequence__lte=phase.sequence_after
        )
        .order_by("sequence")
        .values("sequence", "action", "object_id", "request_id", "before", "after")
    )
    other_actions = Counter(e["action"] for e in events if e["action"] not in TICK_ACTIONS)
    tick_events = [e for e in events if e["action"] in TICK_ACTIONS]
    events_of_request = Counter(e["request_id"] for e in tick_events)
    checks = []

    failures = [r for r in phase.records if failed(r)]
    unexplained = [r for r in failures if not excused(phase, r)]
    statuses = Counter(r.status for r in failures)
    detail = f"{len(failures)} failed ({len(failures) - len(unexplained)} explained by the fault"
    detail += "".join(f"; {n} × {status or 'no answer'}" for status, n in statuses.items()) + ")"
    if unexplained:
        first = unexplained[0]
        detail += (
            f"; first unexplained: {first.kind} {first.status} {first.error} on server "
            f"{first.server + 1} at {first.started:.2f} s"
        )
    checks.append(
        (f"{label} no 5xx or lost connection the fault does not explain", not unexplained, detail)
    )

    strangers = [e for e in tick_events if e["request_id"] not in by_request]
    doubled = [rid for rid, n in events_of_request.items() if n > 1]
    checks.append(
        (
            f"{label} each audit event comes from one tick request, and no request made two",
            not strangers and not doubled,
            f"{len(tick_events)} tick events; {len(strangers)} from unknown requests, "
            f"{len(doubled)} requests with more than one",
        )
    )

    wrong = []
    for record in ticks:
        made = events_of_request[record.request_id]
        if record.status == 200:
            if record.shown is None or record.shown.checked != record.desired:
                wrong.append(f"200 for {record.request_id} does not show the asked state")
            elif made and record.shown.version != record.sent_version + 1:
                wrong.append(f"200 for {record.request_id} applied a change to a newer version")
        elif record.status == 409:
            if made:
                wrong.append(f"409 for {record.request_id} still wrote an audit event")
            elif record.shown is None or record.shown.version == record.sent_version:
                wrong.append(f"409 for {record.request_id} shows the version it refused")
        elif made and not failed(record):
            wrong.append(f"{record.status} for {record.request_id} wrote an audit event")
    applied = sum(1 for r in ticks if r.status == 200 and events_of_request[r.request_id])
    noops = sum(1 for r in ticks if r.status == 200 and not events_of_request[r.request_id])
    checks.append(
        (
            f"{label} every 200 shows the asked state; every applied change has one event; "
            "refusals change nothing",
            not wrong,
            f"{applied} applied, {noops} already so; " + "; ".join(wrong[:3]),
        )
    )

    committed_unanswered = sum(1 for r in ticks if failed(r) and events_of_request[r.request_id])
    lost = chain_mismatches(phase, tick_events)
    checks.append(
        (
            f"{label} each item's audit events chain its versions from before the load to now "
            "(state recomputed from the log = stored state; no committed tick lost)",
            not lost,
            f"{len(phase.items_before)} items; {committed_unanswered} ticks committed whose "
            "answer was lost in the fault; " + "; ".join(lost[:3]),
        )
    )

    conflicts = sum(1 for r in ticks if r.status == 409)
    checks.append((f"{label} stale versions were refused with 409", conflicts > 0, str(conflicts)))
    checks.append(
        (
            f"{label} no other audit events (no lockouts, no revoked signoffs)",
            not other_actions,
            ", ".join(f"{action}: {n}" for action, n in other_actions.items()),
        )
    )
    if phase.name == RESTART:
        checks += restart_checks(phase, ticks)
    if phase.name == KILL:
        checks += kill_checks(phase)
    return checks


def restart_checks(phase: Phase, ticks: list[Record]) -> list[tuple[str, bool, str]]:
    label = f"[{phase.name}]"
    if phase.window is None:
        return [(f"{label} PostgreSQL was restarted mid-load", False, "")]
    after = [r for r in ticks if r.started >= phase.window[1]]
    served = sum(1 for r in after if r.status in (200, 409))
    return [
        (f"{label} PostgreSQL was restarted mid-load", True, ""),
        (
            f"{label} the app recovered without a restart: ticks after the restart succeed",
            served > 0 and not any(failed(r) for r in after),
            f"{served} of {len(after)} ticks after the restart answered 200/409",
        ),
    ]


def kill_checks(phase: Phase) -> list[tuple[str, bool, str]]:
    label = f"[{phase.name}]"
    if phase.window is None:
        return [(f"{label} a server was killed mid-load", False, "")]
    began, victim = phase.window[0], phase.killed
    roles = ", ".join(f"{n} {role}" for role, n in phase.killed_roles.items())
    checks = [
        (
            f"{label} server {victim + 1}'s whole process group got SIGKILL mid-load and is gone",
            bool(phase.killed_roles) and not phase.kill_leftovers,
            f"at {began:.1f} s: {roles}; {len(phase.kill_leftovers)} left alive",
        )
    ]
    # Whatever was still in flight on the other servers when the kill came, and everything later.
    others = [r for r in phase.records if r.server != victim and r.started + r.elapsed > began]
    others_ticks = [r for r in others if r.kind == "tick"]
    checks.append(
        (
            f"{label} the other server carried on: it answered every request from the kill on",
            bool(others_ticks) and not any(failed(r) for r in others),
            f"{len(others)} requests, {sum(1 for r in others if failed(r))} failed; "
            f"{sum(1 for r in others_ticks if r.status in (200, 409))} ticks answered 200/409",
        )
    )
    on_victim = {r.reviewer for r in phase.records if r.server == victim}
    moved = {
        r.reviewer
        for r in phase.records
        if r.server != victim
        and r.started >= began
        and r.status in (200, 409)
        and r.reviewer in on_victim
    }
    unanswered = sum(1 for r in phase.records if r.server == victim and r.status == 0)
    checks.append(
        (
            f"{label} the killed server's reviewers moved to the other and were served "
            "(200 or 409, in the session they had)",
            bool(on_victim) and moved == on_victim,
            f"{len(moved)} of {len(on_victim)}; {unanswered} requests to the killed server "
            "got no answer",
        )
    )
    return checks


def chain_mismatches(phase: Phase, tick_events: list[dict]) -> list[str]:
    """Replay each item's tick events from its state before the phase; compare with the database."""
    now = phase.items_after
    replayed = dict(phase.items_before)
    problems = []
    for event in tick_events:
        item_id = int(event["object_id"])
        state = replayed.get(item_id)
        before, after = event["before"], event["after"]
        if state is None:
            problems.append(f"event #{event['sequence']} is about an item outside 2A")
            continue
        if (before["checked"], before["version"]) != (state.checked, state.version):
            problems.append(
                f"event #{event['sequence']} on item {item_id} starts from "
                f"{before}, but the item was {state}"
            )
        if after["version"] != before["version"] + 1 or after["checked"] == before["checked"]:
            problems.append(f"event #{event['sequence']} is not one change: {before} → {after}")
        replayed[item_id] = ItemState(item_id, after["checked"], after["version"])
    for item_id, state in now.items():
        if replayed.get(item_id) != state:
            problems.append(
                f"item {item_id} is {state} but its audit log gives {replayed.get(item_id)}"
            )
    return problems


def request_log_gaps(phases: list[Phase], log_paths: list[Path]) -> str:
    """How many failed requests the app's request logs (one line per request) have no line for."""
    logged = set()
    for log_path in log_paths:
        for line in log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"domainflow.requests"' in line:
                logged.add(json.loads(line).get("request_id"))
    # A killed server's requests in flight died with the process that would have logged them.
    failures = [
        r
        for phase in phases
        for r in phase.records
        if failed(r) and r.request_id and not (phase.name == KILL and r.server == phase.killed)
    ]
    missing = [r for r in failures if r.request_id not in logged]
    return (
        f"{len(missing)} of the {len(failures)} failed requests to a living server have no line "
        "in the request log (not a pass/fail check: the log should hold every request, failures "
        "most of all)"
    )


def dedupe(problems: list[str]) -> list[str]:
    seen, unique = set(), []
    for problem in problems:
        key = problem.strip().splitlines()[-1]
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def summary(logins: Phase, phases: list[Phase], servers: int) -> str:
    rows, notes = [], []
    for phase in [logins, *phases]:
        kinds = ["login form", "login"] if phase is logins else ["page", "tick", "all"]
        if servers > 1:
            kinds += [f"server {n + 1}" for n in range(servers)]
        first = True
        for kind in kinds:
            records = [
                r for r in phase.records if kind in ("all", r.kind, f"server {r.server + 1}")
            ]
            if not records:
                continue
            rows.append([phase.name if first else "", kind, *figures(records, phase.wall)])
            first = False
        notes.append(f"{phase.name}: {phase_note(phase)}")
    header = ["phase", "kind", "requests", "2xx/3xx", "409", "4xx", "5xx", "no answer"]
    header += ["p50 ms", "p95 ms", "p99 ms", "max ms", "req/s"]
    return table(header, rows, align="<<" + ">" * 11) + "\n\n" + "\n".join(notes)


def figures(records: list[Record], wall: float) -> list:
    """Answers by class, latency percentiles of the answered requests, and requests per second."""
    statuses = Counter(r.status for r in records)
    ms = [r.elapsed * 1000 for r in records if r.status != 0]
    latencies = [f"{percentile(ms, q):.0f}" for q in (0.50, 0.95, 0.99)] if ms else ["-"] * 3
    return [
        len(records),
        sum(c for s, c in statuses.items() if 200 <= s < 400),
        statuses[409],
        sum(c for s, c in statuses.items() if 400 <= s < 500 and s != 409),
        sum(c for s, c in statuses.items() if s >= 500),
        statuses[0],
        *latencies,
        f"{max(ms):.0f}" if ms else "-",
        f"{len(records) / wall:.1f}",
    ]


def phase_note(phase: Phase) -> str:
    note = f"{phase.wall:.1f} s"
    if phase.window:
        began, ended = phase.window
        answered = [r for r in phase.records if r.status != 0]
        before = sum(1 for r in answered if r.started + r.elapsed <= began) / began
        if phase.name == RESTART:
            after = sum(1 for r in answered if r.started >= ended) / (phase.wall - ended)
            note += f", restart at {began:.1f} s, back by {ended:.1f} s"
        else:
            after = sum(1 for r in answered if r.started >= began) / (phase.wall - began)
            note += f", SIGKILL to server {phase.killed + 1} at {began:.1f} s"
        note += f"; answered {before:.1f} req/s before it, {after:.1f} after"
    if phase.budget is not None and phase.budget.cut_short:
        note += ", cut short by the time bound"
    return note


if __name__ == "__main__":
    sys.exit(main())
