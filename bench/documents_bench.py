#!/usr/bin/env python
"""/documents/ before and after its QA is computed: run by hand, not part of the test suite.

    .venv/bin/python bench/documents_bench.py                          # throwaway SQLite in /tmp
    .venv/bin/python bench/documents_bench.py --database-url postgres://...  # an EMPTY scratch DB

It migrates the database, loads the seeded catalogue, adds generated findings as
export_bench.py does, and at each size times GET /documents/ through Django's test client: the
first request computes the plan's QA, the next ones answer from the cache (findings/export/
qa_cache.py), and one after a single finding's section changed re-checks only that document.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CACHED_ROUNDS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an empty scratch database (default: SQLite)")
    parser.add_argument(
        "--sizes", default="1000,2700", help=f"generated findings, cumulative, at most {MOST:,}"
    )
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="documents-bench-"))
    os.environ["DATABASE_URL"] = options.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ.setdefault("SECRET_KEY", "documents-bench-only")
    os.environ.setdefault("AUDIT_CHAIN_KEY", "documents-bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "domainflow.settings")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    sys.path.insert(0, str(PROJECT))
    sys.path.insert(0, str(PROJECT / "bench"))

    import django

    django.setup()
    from django.core.management import call_command
    from export_bench import generate

    from findings.services.audit import ActionContext
    from findings.services.catalogue import catalogue_load

    call_command("migrate", verbosity=0)
    catalogue_load(context=ActionContext.system("documents_bench"))
    client = _client()

    print(f"database: {os.environ['DATABASE_URL']}\n")
    print(HEADER)
    print(measure("seeded catalogue", client))
    generated = 0
    for size in (int(size) for size in options.sizes.split(",")):
        generate(generated, size, code_for=linkable_code)
        generated = size
        print(measure(f"+{size:,} generated", client))


# The page links every finding, and a finding's code is SI-, BF- or BL- and three digits: 3,000
# codes in all. Generated ones take the numbers from 100 up, clear of the seed's own.
MOST = 2700


def linkable_code(n: int) -> str:
    if n >= MOST:
        raise SystemExit(f"--sizes: at most {MOST:,} generated findings have codes the page links")
    return f"{('SI', 'BF', 'BL')[n % 3]}-{100 + n // 3:03d}"


HEADER = (
    f"{'catalogue':<20} {'findings':>8} {'computing s':>12} {'cached s':>9} "
    f"{'one edit s':>11}\n" + "-" * 64
)


def _client():
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from findings.roles import VIEWER

    # The pages link static files by their collectstatic names, which a bench run never makes.
    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    user, _ = get_user_model().objects.get_or_create(username="documents-bench")
    user.groups.set([Group.objects.get(name=VIEWER)])
    client = Client()
    client.force_login(user)
    return client


def measure(label: str, client) -> str:
    from findings.models import Finding
    from findings.services.audit import ActionContext
    from findings.services.findings import finding_update

    computing = _get(client)
    cached = min(_get(client) for _ in range(CACHED_ROUNDS))
    finding = Finding.objects.get(code="SI-001")
    finding.problem_statement = f"Edited for the benchmark at {time.time()}."
    finding_update(finding=finding, context=ActionContext.system("documents_bench"))
    edited = _get(client)
    findings = Finding.objects.filter(document__isnull=False).count()
    return f"{label:<20} {findings:>8,} {computing:>12.2f} {cached:>9.3f} {edited:>11.2f}"


def _get(client) -> float:
    started = time.perf_counter()
    response = client.get("/documents/")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed


if __name__ == "__main__":
    main()
