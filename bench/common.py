"""What the load test and the throughput benchmark share: run by hand, not part of the test suite.

A throwaway PostgreSQL cluster (scripts/postgres-cluster), the app under gunicorn as `make serve`
runs it (DEBUG off) on a free loopback port, or `scripts/serve` itself (gunicorn and the
notification sender in one process group, which a fault run kills), in-process Django for setup
and checks, a small stdlib HTTP client that logs in like a browser, and the cleanup that stops
all of it whatever happens (try/finally, atexit, SIGTERM/SIGHUP, and a watchdog for a run that
overstays).
"""

import atexit
import contextlib
import http.client
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

PROJECT = Path(__file__).resolve().parent.parent
VENV_BIN = PROJECT / ".venv" / "bin"
CLUSTER_SCRIPT = PROJECT / "scripts" / "postgres-cluster"
LOOPBACK = "127.0.0.1"
# One key for the whole run, shared by gunicorn and the in-process Django that prepares the data.
SECRET_KEY = "bench-only-" + secrets.token_urlsafe(32)
AUDIT_CHAIN_KEY = "bench-only-" + secrets.token_urlsafe(32)
PASSWORD = "bench-Reviewer-password-4821"
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
ITEM_FORM = re.compile(
    rb'<form id="item-(\d+)" class="checklist-item( is-checked)?".*?name="version" value="(\d+)"',
    re.DOTALL,
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- Cleanup ----------------------------------------------------------------------------------


class Cleanup:
    """Stop actions run once each, newest first: from `finally`, atexit or the watchdog."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[[], None]]] = []
        self._lock = threading.RLock()
        atexit.register(self.run)

    def push(self, label: str, action: Callable[[], None]) -> None:
        with self._lock:
            self._actions.append((label, action))

    def run(self) -> None:
        with self._lock:
            while self._actions:
                label, action = self._actions.pop()
                try:
                    action()
                except Exception as error:  # keep stopping the rest
                    log(f"cleanup: {label} failed: {error!r}")


def install_signal_handlers() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, so `finally` blocks stop what was started."""

    def leave(signum, frame):
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, leave)


def start_watchdog(seconds: float, cleanup: Cleanup) -> threading.Timer:
    """After `seconds`, stop everything and exit 3, even if a thread is stuck."""

    def fire() -> None:
        log(f"watchdog: the run passed its {seconds:.0f} s bound; stopping everything")
        cleanup.run()
        os._exit(3)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


# --- PostgreSQL -------------------------------------------------------------------------------


class PostgresCluster:
    """A throwaway cluster from scripts/postgres-cluster, which it also restarts and stops."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.url = ""
        self.pg_bin: Path | None = None

    def start(self) -> str:
        result = subprocess.run(
            [str(CLUSTER_SCRIPT), "start"], capture_output=True, text=True, timeout=300
        )
        exports = dict(re.findall(r"export (\w+)=([^;\n]+);", result.stdout))
        if exports.get("PG_CLUSTER_DIR"):
            self.dir = Path(exports["PG_CLUSTER_DIR"])
        if result.returncode != 0 or not exports.get("DATABASE_URL"):
            raise RuntimeError(f"scripts/postgres-cluster start failed:\n{result.stderr}")
        self.url = exports["DATABASE_URL"]
        state = dict(re.findall(r"^(\w+)=(.*)$", (self.dir / "state").read_text(), re.M))
        self.pg_bin = Path(state["pg_bin"])
        return self.url

    def _as_postgres(self, command: list[str]) -> list[str]:
        # As scripts/postgres-cluster does: pg_ctl refuses to run as root.
        return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command

    def restart(self, mode: str = "fast") -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the server is back when it returns."""
        command = [str(self.pg_bin / "pg_ctl"), "-D", str(self.dir / "data")]
        command += ["-m", mode, "-w", "-t", "60", "restart"]
        # The new postmaster keeps pg_ctl's stdout; a file, not a pipe, so this call returns.
        with open(self.dir / "server.log", "ab") as server_log:
            subprocess.run(
                self._as_postgres(command),
                stdin=subprocess.DEVNULL,
                stdout=server_log,
                stderr=server_log,
                check=True,
                timeout=90,
            )

    def postmaster_pid(self) -> int:
        return int((self.dir / "data" / "postmaster.pid").read_text().split()[0])

    def version(self) -> str:
        result = subprocess.run(
            [str(self.pg_bin / "postgres"), "--version"], capture_output=True, text=True
        )
        return result.stdout.strip()

    def stop(self) -> None:
        if self.dir is None:
            return
        env = {**os.environ, "PG_CLUSTER_DIR": str(self.dir)}
        subprocess.run([str(CLUSTER_SCRIPT), "stop"], env=env, timeout=120, capture_output=True)
        self.dir = None


# --- The app: gunicorn and in-process Django --------------------------------------------------


def server_env(database_url: str) -> dict[str, str]:
    """The environment of `make serve` (DEBUG off), with cookies a plain-HTTP client sends back."""
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY=SECRET_KEY,
        AUDIT_CHAIN_KEY=AUDIT_CHAIN_KEY,
        DATABASE_URL=database_url,
        SECURE_SSL_REDIRECT="0",
        SECURE_PROXY_SSL_HEADER="1",
        SECURE_COOKIES="0",
        ALLOWED_HOSTS=LOOPBACK,
        LOG_LEVEL="INFO",
    )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class Gunicorn:
    """`gunicorn domainflow.wsgi` with sync workers on a free loopback port, logging to a file."""

    # How long the server gets to answer /healthz after its start.
    START_TIMEOUT = 60

    def __init__(
        self, *, env: dict[str, str], workers: int, log_path: Path, timeout: int | None = None
    ) -> None:
        """`timeout`: gunicorn's worker timeout in seconds; None keeps its default (30), as
        `make serve` does."""
        self.env, self.workers, self.log_path = env, workers, log_path
        self.timeout = timeout
        self.port = 0
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        command = [str(VENV_BIN / "gunicorn"), "domainflow.wsgi", "--workers", str(self.workers)]
        command += ["--bind", f"{LOOPBACK}:{self.port}", "--graceful-timeout", "10"]
        if self.timeout is not None:
            command += ["--timeout", str(self.timeout)]
        # gunicorn 27 otherwise opens a control socket at one fixed path per user.
        return [*command, "--no-control-socket"]

    def process_env(self) -> dict[str, str]:
        return self.env

    def start(self) -> None:
        self.port = free_port()
        with open(self.log_path, "ab") as server_log:
            # Its own session, so a Ctrl-C in the terminal reaches only us, and we stop it.
            self.process = subprocess.Popen(
                self.command(),
                cwd=PROJECT,
                env=self.process_env(),
                stdin=subprocess.DEVNULL,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start; see {self.log_path}")
            if Browser(self.port, timeout=2).request("GET", "/healthz").status == 200:
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"the server did not answer /healthz within {self.START_TIMEOUT} s; see {self.log_path}"
        )

    def master_pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> set[int]:
        return children(self.master_pid())

    def group_pids(self) -> set[int]:
        """Every living process of the session started for the server (its process group)."""
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # state, ppid, pgrp: fields 3 to 5 of proc(5); a zombie is already dead.
            if fields[0] != "Z" and int(fields[2]) == self.process.pid:
                found.add(int(entry.name))
        return found

    def kill(self) -> None:
        """SIGKILL to the whole process group at once, as a machine that loses power."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        # The group is the session we created for it: whatever of it outlived its leader.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None


class ServeScript(Gunicorn):
    """`scripts/serve`, what `make serve` runs: checks, migrate, load_catalogue, then gunicorn and
    the notification sender beside it, all in one process group."""

    # Five manage.py runs come before gunicorn.
    START_TIMEOUT = 180

    def command(self) -> list[str]:
        return [str(PROJECT / "scripts" / "serve")]

    def process_env(self) -> dict[str, str]:
        return {**self.env, "HOST": LOOPBACK, "PORT": str(self.port), "WORKERS": str(self.workers)}

    def master_pid(self) -> int:
        """gunicorn's master: the child of the script that runs gunicorn (the other: the sender)."""
        for pid in children(self.process.pid):
            try:
                if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return pid
            except OSError:
                continue
        return 0


def children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def django_setup(database_url: str) -> None:
    """Set up Django in this process on the cluster, quietly, with the test client's host."""
    os.environ.update(server_env(database_url))
    os.environ.update(ALLOWED_HOSTS=f"{LOOPBACK},testserver", LOG_LEVEL="WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "domainflow.settings")
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()


def database_prepare() -> None:
    """What scripts/serve does before serving: collectstatic, migrate, load the catalogue."""
    from django.core.management import call_command

    from findings.services.audit import ActionContext
    from findings.services.catalogue import catalogue_load

    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("migrate", interactive=False, verbosity=0)
    catalogue_load(context=ActionContext.system("bench"))


def reviewers_create(prefix: str, count: int) -> list[str]:
    """`count` users in the Reviewer group, all with PASSWORD (hashed once: hashing is slow)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from findings.roles import REVIEWER

    user_model = get_user_model()
    hashed = make_password(PASSWORD)
    names = [f"{prefix}{n:02d}" for n in range(count)]
    users = user_model.objects.bulk_create(
        user_model(username=name, password=hashed) for name in names
    )
    Group.objects.get(name=REVIEWER).user_set.add(*users)
    return names


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=PROJECT,
        env=server_env(database_url),
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0 when no answer came (refused, reset, timed out)
    body: bytes
    headers: dict[str, str]
    elapsed: float
    error: str = ""


class LoginFailed(Exception):
    pass


class Browser:
    """One user's session over plain HTTP: cookies, the CSRF token, one connection at a time.

    gunicorn's sync workers close the connection after each response; http.client reopens it.
    """

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
        self.cookies: dict[str, str] = {}

    def move_to(self, port: int) -> None:
        """Send the next requests to another server with the same cookies, as a load balancer
        does when one fails: the session lives in the database and the CSRF secret in the
        cookie, not in the server."""
        self.connection.close()
        self.port = port
        self.connection = http.client.HTTPConnection(
            LOOPBACK, port, timeout=self.connection.timeout
        )

    @property
    def csrf_token(self) -> str:
        return self.cookies.get("csrftoken", "")

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"User-Agent": "domainflow-bench", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            elapsed = time.perf_counter() - started
            return Reply(0, b"", {}, elapsed, error=f"{type(error).__name__}: {error}")
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        received = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, data, received, elapsed)

    def login(self, username: str, password: str = PASSWORD) -> list[Reply]:
        """Log in through /accounts/login/ as a browser does; return both replies."""
        page = self.request("GET", "/accounts/login/")
        token = CSRF_INPUT.search(page.body)
        if page.status != 200 or token is None:
            raise LoginFailed(f"login page: {page.status} {page.error}")
        form = {
            "csrfmiddlewaretoken": token.group(1).decode(),
            "username": username,
            "password": password,
            "next": "/",
        }
        answer = self.request("POST", "/accounts/login/", form=form)
        if answer.status != 302 or "sessionid" not in self.cookies:
            raise LoginFailed(f"login of {username}: {answer.status} {answer.error}")
        return [page, answer]


@dataclass
class ItemState:
    id: int
    checked: bool
    version: int


def items_shown(body: bytes) -> list[ItemState]:
    """The checklist items a finding page or a tick fragment shows, in order."""
    return [
        ItemState(int(match[1]), bool(match[2]), int(match[3]))
        for match in ITEM_FORM.finditer(body)
    ]


# --- CPU accounting ---------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and all its descendants, living or already reaped.

    Reaped children's time moves into their parent's cutime/cstime, so the sum stays whole when
    PostgreSQL backends or gunicorn workers come and go between two readings.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime: fields 14 to 17 of proc(5), 11 to 14 after the name.
    own = sum(int(value) for value in fields[11:15]) / CLOCK_TICKS
    return own + sum(tree_cpu_seconds(int(child)) for child in children)


# --- Reporting --------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def table(header: list[str], rows: list[list], align: str = "") -> str:
    """A plain-text table; `align` gives '<' or '>' per column (default: first left, rest right)."""
    # Short rows are padded with empty cells.
    cells = [
        [str(cell) for cell in row] + [""] * (len(header) - len(row)) for row in [header, *rows]
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    align = align or "<" + ">" * (len(header) - 1)
    lines = [
        "  ".join(f"{cell:{align[i]}{widths[i]}}" for i, cell in enumerate(row)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


@dataclass
class Machine:
    cpus: int = field(default_factory=lambda: os.cpu_count() or 0)
    cpu_model: str = ""
    memory: str = ""
    load: str = ""
    python: str = field(default_factory=platform.python_version)
    django: str = ""
    postgres: str = ""

    @classmethod
    def describe(cls, cluster: PostgresCluster | None = None) -> "Machine":
        import django

        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
        meminfo = Path("/proc/meminfo").read_text()
        total_kib = int(re.search(r"^MemTotal:\s*(\d+)", meminfo, re.M)[1])
        return cls(
            cpu_model=model[1] if model else "unknown",
            memory=f"{total_kib / 2**20:.1f} GiB",
            load=" ".join(f"{value:.2f}" for value in os.getloadavg()),
            django=django.get_version(),
            postgres=cluster.version() if cluster else "",
        )

    def __str__(self) -> str:
        return (
            f"machine: {self.cpus} CPUs ({self.cpu_model}), {self.memory} RAM, "
            f"load average {self.load}; Python {self.python}, Django {self.django}, "
            f"{self.postgres}"
        )


def code_version() -> str:
    """The commit measured, and the app files changed since (others edit the checkout too)."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True
    ).stdout.strip()
    status = subprocess.run(
        ["git", "status", "--short", "--", "findings", "domainflow", "templates", "static"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    changed = [line[3:] for line in status if line.strip()]
    if not changed:
        return f"code: commit {head}, no uncommitted app changes"
    return f"code: commit {head} plus uncommitted changes to {', '.join(changed)}"


def gunicorn_errors(log_path: Path) -> list[str]:
    """The tracebacks the app logged (its JSON lines with an exception), and worker restarts."""
    import json

    problems = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("exception"):
                problems.append(f"{entry.get('time')} {entry['message']}\n{entry['exception']}")
        elif "WORKER TIMEOUT" in line or "Worker exiting" in line or "was sent SIG" in line:
            problems.append(line)
    return problems
