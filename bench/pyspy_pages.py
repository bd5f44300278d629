#!/usr/bin/env python
"""Where gunicorn's workers spend their CPU under load: py-spy on the real server, per endpoint.

    .venv/bin/pip install py-spy                       # a profiler, not a dependency of the app
    .venv/bin/python bench/pyspy_pages.py              # the seeded 30 findings
    .venv/bin/python bench/pyspy_pages.py --findings 10000 --seconds 15

Run by hand, next to bench/throughput.py and bench/profile_pages.py. It starts a throwaway
PostgreSQL and gunicorn as bench/throughput.py does, then for each endpoint drives it with wrk
(same script, concurrency and session) while `py-spy record --subprocesses --gil` samples every
worker. With --gil only samples holding the GIL count: a worker waiting for PostgreSQL or for a
connection has released it, so what remains is the Python CPU (without --gil, on a busy machine,
waits in psycopg show up as active). Each sample is charged to the innermost frame that is not
the standard library or django.utils (those serve every layer), and summed by layer; the
functions charged most are listed too. Everything is on 127.0.0.1 and stops by itself.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - bench/ is not a package
    VENV_BIN,
    Browser,
    Cleanup,
    Gunicorn,
    PostgresCluster,
    database_prepare,
    django_setup,
    install_signal_handlers,
    log,
    reviewers_create,
    server_env,
    start_watchdog,
    table,
)
from profile_pages import CATEGORIES  # noqa: E402
from throughput import (  # noqa: E402
    ENDPOINTS,
    findings_count,
    findings_grow,
    tick_items,
    wrk_script,
)

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")
LAYERS = (("/gunicorn/", "gunicorn: accept, parse, respond"), *CATEGORIES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--findings", type=int, default=30, help="findings in all")
    parser.add_argument("--seconds", type=float, default=10, help="sampling per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="wrk connections")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--top", type=int, default=12, help="functions shown")
    options = parser.parse_args()
    spy = VENV_BIN / "py-spy"
    if not spy.exists() or shutil.which("wrk") is None:
        print("needs py-spy in .venv (pip install py-spy) and wrk (apt-get install wrk)")
        return 2
    install_signal_handlers()
    cleanup = Cleanup()
    start_watchdog(600, cleanup)
    scratch = Path(tempfile.mkdtemp(prefix="pyspy-"))
    try:
        cluster = PostgresCluster()
        cleanup.push("stop PostgreSQL", cluster.stop)
        log("starting a throwaway PostgreSQL")
        database_url = cluster.start()
        django_setup(database_url)
        database_prepare()
        (reviewer,) = reviewers_create("pyspy-reviewer-", 1)
        findings_grow(options.findings)
        server = Gunicorn(
            env=server_env(database_url), workers=options.workers, log_path=scratch / "gunicorn.log"
        )
        cleanup.push("stop gunicorn", server.stop)
        server.start()
        browser = Browser(server.port)
        browser.login(reviewer)
        print(f"{findings_count():,} findings; py-spy samples in {scratch}\n")
        for name, path, with_session in ENDPOINTS:
            samples = scratch / f"{re.sub(r'[^a-z]+', '_', name)}.txt"
            script = samples.with_suffix(".lua")
            items = tick_items(database_url) if name == "tick" else []
            script.write_text(wrk_script(name, browser, with_session, options.concurrency, items))
            record(server, path, script, samples, options)
            print(f"=== {name} ===\n{summarise(samples, options.top)}\n")
        return 0
    finally:
        cleanup.run()


def record(server: Gunicorn, path: str, script: Path, samples: Path, options) -> None:
    command = ["wrk", "-t", str(options.concurrency), "-c", str(options.concurrency)]
    command += ["-d", f"{options.seconds + 3:g}s", "-s", str(script)]
    command.append(f"http://127.0.0.1:{server.port}{path}")
    with subprocess.Popen(command, stdout=subprocess.DEVNULL) as wrk:
        # Let wrk reach its pace before sampling.
        time.sleep(1)
        subprocess.run(
            [str(VENV_BIN / "py-spy"), "record", "--pid", str(server.process.pid)]
            + ["--subprocesses", "--nonblocking", "--gil", "--rate", "250", "--format", "raw"]
            + ["--duration", f"{options.seconds:g}", "--output", str(samples)],
            capture_output=True,
            check=True,
            timeout=options.seconds + 60,
        )
        wrk.wait(timeout=options.seconds + 30)


def layer(file: str) -> str | None:
    """The layer of a frame's file, or None when its time belongs to its caller."""
    path = "/" + file
    if "/django/utils/" in path:
        return None
    for marker, label in LAYERS:
        if marker in path:
            return label
    return None


def summarise(samples: Path, top: int) -> str:
    layers: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for line in samples.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [FRAME.match(frame) for frame in stack.split(";")]
        frames = [frame for frame in frames if frame is not None]
        owner = next((f for f in reversed(frames) if layer(f["file"]) is not None), None)
        if owner is None:
            layers["other"] += int(count)
            continue
        layers[layer(owner["file"])] += int(count)
        functions[f"{owner['file']}:{owner['line']} {owner['function']}"] += int(count)
    total = sum(layers.values()) or 1
    by_layer = table(
        ["layer (CPU samples of the workers)", "samples", "share"],
        [[label, n, f"{n / total:.0%}"] for label, n in layers.most_common()],
    )
    by_function = table(
        ["function charged (innermost frame of a layer)", "samples", "share"],
        [[label[-90:], n, f"{n / total:.0%}"] for label, n in functions.most_common(top)],
    )
    return f"{by_layer}\n\n{by_function}"


if __name__ == "__main__":
    sys.exit(main())
