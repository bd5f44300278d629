#!/usr/bin/env python
"""Load and fault test: 50 reviewers tick phase 2A's checklist on gunicorn and PostgreSQL.

    .venv/bin/python bench/load_test.py                  # steady load, then a database restart
    .venv/bin/python bench/load_test.py --skip-restart   # the steady load only

Run by hand, not part of the test suite. Everything is on 127.0.0.1 and bounded in time.
It starts a throwaway PostgreSQL (scripts/postgres-cluster), migrates, loads the catalogue,
creates the reviewers, and serves the app with gunicorn as `make serve` does (DEBUG off). Each
reviewer logs in through /accounts/login/, then loops: load a 2A finding's page, read its items'
ids and versions, and ask for a random state of a random item (an HTMX tick, as the page sends).
Phase 2A is never locked, so every tick is allowed; reviewers racing on an item get 409s.

Every request carries its own X-Request-ID, which the app writes into the audit event, so each
event is matched with the request that made it. After each phase it checks: no 5xx; every
applied change has exactly one audit event; each item's events chain its versions one by one
from its state before the load to its state now (so the state recomputed from the audit log is
the stored one, and no committed tick is lost); `manage.py verify_audit` passes; 409s happened.

The second phase restarts PostgreSQL (`pg_ctl restart -m fast`) a third of the way through.
Requests in flight then may fail; afterwards the same gunicorn workers must serve again, and the
same checks must hold. Exit status: 0 when every check passes, 1 when one fails, 3 on timeout.
"""

import argparse
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
    Gunicorn,
    ItemState,
    LoginFailed,
    Machine,
    PostgresCluster,
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


@dataclass
class Record:
    kind: str  # login, page or tick
    status: int  # 0: no answer
    started: float  # seconds since the phase began
    elapsed: float
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
    window: tuple[float, float] | None = None  # the restart, in phase seconds, grace included
    items_before: dict[int, ItemState] = field(default_factory=dict)
    items_after: dict[int, ItemState] = field(default_factory=dict)
    # The audit chain's head before and after: the phase's events lie between.
    sequence_before: int = 0
    sequence_after: int = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50, help="concurrent reviewers")
    parser.add_argument("--requests", type=int, default=2000, help="steady phase's requests")
    parser.add_argument("--restart-requests", type=int, default=1000, help="restart phase's")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--time-limit", type=float, default=180, help="whole run, seconds")
    parser.add_argument("--skip-restart", action="store_true", help="no database restart")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the sessions")
    options = parser.parse_args()

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
    usernames = reviewers_create("load-reviewer-", options.sessions)
    from findings.models import Finding

    codes = list(Finding.objects.filter(phase__code="2A").values_list("code", flat=True))
    server = Gunicorn(
        env=server_env(database_url), workers=options.workers, log_path=scratch / "gunicorn.log"
    )
    cleanup.push("stop gunicorn", server.stop)
    server.start()
    workers_before = server.worker_pids()
    log(f"gunicorn on 127.0.0.1:{server.port}, workers {sorted(workers_before)}; log {scratch}")
    machine = Machine.describe(cluster)

    rng = random.Random(options.seed)
    browsers = [Browser(server.port) for _ in usernames]
    log(f"logging {len(browsers)} reviewers in through /accounts/login/")
    logins = logins_run(browsers, usernames)
    phases = [Phase("steady", options.requests)]
    if not options.skip_restart:
        phases.append(Phase("db restart", options.restart_requests))
    for number, phase in enumerate(phases):
        # Each phase gets a share of the time left by its requests, keeping 20 s for the checks.
        requests_left = sum(later.requests for later in phases[number:])
        share = (run_deadline - time.monotonic() - 20) * phase.requests / requests_left
        log(f"phase {phase.name!r}: {phase.requests} requests, {len(browsers)} sessions")
        phase_run(
            phase,
            browsers=browsers,
            codes=codes,
            rng=rng,
            seconds=max(share, 10),
            cluster=cluster if phase.name == "db restart" else None,
        )

    print(f"\n{machine}\n{code_version()}")
    print(f"gunicorn: {options.workers} sync workers; {options.sessions} sessions\n")
    print(summary(logins, phases))
    checks = [
        (
            "every reviewer logged in",
            sum(1 for r in logins.records if r.status == 302) == len(browsers),
            "",
        )
    ]
    for phase in phases:
        checks += phase_checks(phase)
    verify = manage("verify_audit", database_url=database_url)
    checks.append(("verify_audit passes", verify.returncode == 0, verify.stdout + verify.stderr))
    workers_after = server.worker_pids()
    checks.append(
        (
            "the same gunicorn workers served throughout (none restarted)",
            workers_after == workers_before and server.process.poll() is None,
            f"before {sorted(workers_before)}, after {sorted(workers_after)}",
        )
    )
    problems = gunicorn_errors(server.log_path)
    print("\nchecks:")
    for name, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f": {detail.strip()}" if detail else ""))
    if problems:
        print(f"\nthe gunicorn log holds {len(problems)} errors; the first few:")
        for problem in dedupe(problems)[:5]:
            print("  " + problem.replace("\n", "\n  "))
    print(f"\nnote: {request_log_gaps(phases, server.log_path)}")
    print(f"\ngunicorn log: {server.log_path}; whole run {time.monotonic() - started:.0f} s")
    return 0 if all(ok for _, ok, _ in checks) else 1


def logins_run(browsers: list[Browser], usernames: list[str]) -> Phase:
    """Log every session in at once: the first burst a team's morning brings."""
    logins = Phase("login", len(browsers))
    logins.started = time.monotonic()

    def login(browser: Browser, username: str) -> None:
        for _ in range(3):
            try:
                replies = browser.login(username)
            except LoginFailed as failure:
                log(f"{failure}; retrying")
                time.sleep(1)
                continue
            for reply in replies:
                logins.records.append(
                    Record("login", reply.status, 0.0, reply.elapsed, error=reply.error)
                )
            return

    threads = [
        threading.Thread(target=login, args=(browser, name), daemon=True)
        for browser, name in zip(browsers, usernames, strict=True)
    ]
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


def phase_run(phase: Phase, *, browsers, codes, rng, seconds, cluster) -> None:
    phase.items_before = items_in_database()
    phase.sequence_before = chain_head()
    phase.started = time.monotonic()
    phase.budget = Budget(phase.requests, phase.started + seconds)
    threads = [
        threading.Thread(
            target=session_loop,
            args=(phase, browser, codes),
            kwargs={"rng": random.Random(rng.random())},
            daemon=True,
        )
        for browser in browsers
    ]
    if cluster is not None:
        threads.append(threading.Thread(target=restart_midway, args=(phase, cluster), daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1, phase.budget.deadline + 60 - time.monotonic()))
    phase.wall = time.monotonic() - phase.started
    phase.sequence_after = chain_head()
    phase.items_after = items_in_database()
    if phase.budget.cut_short:
        log(f"phase {phase.name!r} hit its time bound after {phase.budget.taken} requests")


def session_loop(phase: Phase, browser: Browser, codes, *, rng) -> None:
    def record(kind: str, reply, **details) -> None:
        phase.records.append(
            Record(
                kind,
                reply.status,
                time.monotonic() - phase.started - reply.elapsed,
                reply.elapsed,
                error=reply.error,
                **details,
            )
        )
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


def restart_midway(phase: Phase, cluster: PostgresCluster) -> None:
    """Restart PostgreSQL once a third of the phase's requests (or of its time) has gone."""
    third_of_time = phase.started + (phase.budget.deadline - phase.started) / 3
    while phase.budget.taken < phase.requests // 3 and time.monotonic() < third_of_time:
        time.sleep(0.05)
    began = time.monotonic() - phase.started
    log("restarting PostgreSQL (pg_ctl restart -m fast)")
    cluster.restart("fast")
    ended = time.monotonic() - phase.started
    log(f"PostgreSQL is back after {ended - began:.2f} s")
    phase.window = (began, ended + RECOVERY_GRACE)


def items_in_database() -> dict[int, ItemState]:
    from findings.models import ChecklistItem

    rows = ChecklistItem.objects.filter(finding__phase__code="2A").values_list(
        "pk", "checked", "version"
    )
    return {pk: ItemState(pk, checked, version) for pk, checked, version in rows}


# --- Checks -----------------------------------------------------------------------------------


def in_window(phase: Phase, record: Record) -> bool:
    """Whether the request was in flight during the restart or its grace period."""
    if phase.window is None:
        return False
    began, ended = phase.window
    return record.started < ended and record.started + record.elapsed > began


def failed(record: Record) -> bool:
    return record.status == 0 or record.status >= 500


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
    outside = [r for r in failures if not in_window(phase, r)]
    detail = f"{len(failures)} failed ({len(failures) - len(outside)} in the restart window)"
    if outside:
        first = outside[0]
        detail += (
            f"; first outside: {first.kind} {first.status} {first.error} at {first.started:.2f} s"
        )
    checks.append((f"{label} no 5xx or lost connection outside a restart", not outside, detail))

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
            "answer was lost in the restart; " + "; ".join(lost[:3]),
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
    if phase.name == "db restart":
        checks.append((f"{label} PostgreSQL was restarted mid-load", phase.window is not None, ""))
    if phase.window is not None:
        after = [r for r in ticks if r.started >= phase.window[1]]
        served = sum(1 for r in after if r.status in (200, 409))
        checks.append(
            (
                f"{label} the app recovered without a restart: ticks after the restart succeed",
                served > 0 and not any(failed(r) for r in after),
                f"{served} of {len(after)} ticks after the restart answered 200/409",
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


def request_log_gaps(phases: list[Phase], log_path: Path) -> str:
    """How many failed requests the app's request log (one line per request) has no line for."""
    import json

    logged = set()
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"domainflow.requests"' in line:
            logged.add(json.loads(line).get("request_id"))
    failures = [r for phase in phases for r in phase.records if failed(r) and r.request_id]
    missing = [r for r in failures if r.request_id not in logged]
    return (
        f"{len(missing)} of the {len(failures)} failed requests have no line in the request log "
        "(not a pass/fail check: the log should hold every request, failures most of all)"
    )


def dedupe(problems: list[str]) -> list[str]:
    seen, unique = set(), []
    for problem in problems:
        key = problem.strip().splitlines()[-1]
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def summary(logins: Phase, phases: list[Phase]) -> str:
    rows, notes = [], []
    for phase in [logins, *phases]:
        kinds = ("login",) if phase is logins else ("page", "tick", "all")
        for n, kind in enumerate(kinds):
            records = [r for r in phase.records if kind in ("all", r.kind)]
            if not records:
                continue
            statuses = Counter(r.status for r in records)
            ms = [r.elapsed * 1000 for r in records]
            rows.append(
                [
                    phase.name if n == 0 else "",
                    kind,
                    len(records),
                    sum(c for s, c in statuses.items() if 200 <= s < 400),
                    statuses[409],
                    sum(c for s, c in statuses.items() if 400 <= s < 500 and s != 409),
                    sum(c for s, c in statuses.items() if s >= 500),
                    statuses[0],
                    f"{percentile(ms, 0.50):.0f}",
                    f"{percentile(ms, 0.95):.0f}",
                    f"{max(ms):.0f}",
                    f"{len(records) / phase.wall:.1f}",
                ]
            )
        note = f"{phase.wall:.1f} s"
        if phase.window:
            began, ended = phase.window
            before = sum(1 for r in phase.records if r.started + r.elapsed <= began) / began
            after = sum(1 for r in phase.records if r.started >= ended) / (phase.wall - ended)
            note += (
                f", restart at {began:.1f} s, back by {ended:.1f} s; "
                f"{before:.1f} req/s before it, {after:.1f} after"
            )
        if phase.budget is not None and phase.budget.cut_short:
            note += ", cut short by the time bound"
        notes.append(f"{phase.name}: {note}")
    header = ["phase", "kind", "requests", "2xx/3xx", "409", "4xx", "5xx", "no answer"]
    header += ["p50 ms", "p95 ms", "max ms", "req/s"]
    return table(header, rows, align="<<" + ">" * 10) + "\n\n" + "\n".join(notes)


if __name__ == "__main__":
    sys.exit(main())
