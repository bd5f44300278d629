#!/usr/bin/env python
"""How the tactical document export's cost grows: run by hand, not part of the test suite.

    .venv/bin/python bench/export_bench.py                          # throwaway SQLite in /tmp
    .venv/bin/python bench/export_bench.py --database-url postgres://...  # an EMPTY scratch DB

It migrates the database, loads the seeded catalogue, then adds generated findings (spread over
the 19 documents, each with the standard 13-item checklist, a third of it ticked, and half of
them with SQL and Go of their own). At each size it times the export to a folder, the streamed
zip and document QA, and measures the export's peak Python memory with tracemalloc.

Finding codes allow three digits (SI-001), so at most 2,997 findings could have real codes; the
generated ones drop the hyphen to fit ten thousand into the six-character column (SI0042).
"""

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PREFIXES = ("SI", "BF", "BL")
GENERATED_SQL = (
    "BEGIN;\nCREATE TABLE bench_{n} (id UUID PRIMARY KEY, version BIGINT NOT NULL);\nCOMMIT;"
)
GENERATED_GO = "package bench\n\nfunc Apply{n}() error {{\n\treturn nil\n}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an empty scratch database (default: SQLite)")
    parser.add_argument("--sizes", default="1000,10000", help="generated findings, cumulative")
    options = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="export-bench-"))
    os.environ["DATABASE_URL"] = options.database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    os.environ.setdefault("SECRET_KEY", "export-bench-only")
    os.environ.setdefault("AUDIT_CHAIN_KEY", "export-bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "domainflow.settings")
    sys.path.insert(0, str(PROJECT))

    import django

    django.setup()
    from django.core.management import call_command

    from findings.services.audit import ActionContext
    from findings.services.catalogue import catalogue_load

    call_command("migrate", verbosity=0)
    catalogue_load(context=ActionContext.system("export_bench"))

    print(f"database: {os.environ['DATABASE_URL']}; output under {scratch}\n")
    print(HEADER)
    print(measure("seeded catalogue", scratch))
    generated = 0
    for size in (int(size) for size in options.sizes.split(",")):
        generate(generated, size)
        generated = size
        print(measure(f"+{size:,} generated", scratch))
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess peak RSS over the whole run (generation included): {peak_rss:.0f} MiB")


HEADER = (
    f"{'catalogue':<20} {'findings':>8} {'files':>5} {'MiB out':>8} {'export s':>9} "
    f"{'peak MiB':>9} {'zip s':>7} {'QA s':>7} {'QA failures':>12}\n" + "-" * 93
)


def measure(label: str, scratch: Path) -> str:
    from findings.export.reports import tree_reports
    from findings.export.snapshot import snapshot_load
    from findings.export.tree import tree_write, zip_stream
    from findings.models import Finding

    out = scratch / label.replace(" ", "_").replace(",", "").replace("+", "")
    # Start each size from a collected heap, so generation's garbage is not billed to the export.
    gc.collect()
    started = time.perf_counter()
    tree_write(snapshot=snapshot_load(), out=out)
    export_seconds = time.perf_counter() - started

    tracemalloc.start()
    tree_write(snapshot=snapshot_load(), out=out.with_name(out.name + "_traced"))
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    started = time.perf_counter()
    for _ in zip_stream(snapshot_load()):
        pass
    zip_seconds = time.perf_counter() - started

    started = time.perf_counter()
    failures = sum(len(report.problems) for report in tree_reports(snapshot_load()))
    qa_seconds = time.perf_counter() - started

    files = list(out.rglob("*.md"))
    size = sum(path.stat().st_size for path in files) / 2**20
    findings = Finding.objects.filter(document__isnull=False).count()
    return (
        f"{label:<20} {findings:>8,} {len(files):>5} {size:>8.1f} {export_seconds:>9.2f} "
        f"{peak:>9.1f} {zip_seconds:>7.2f} {qa_seconds:>7.2f} {failures:>12,}"
    )


def compact_code(n: int) -> str:
    """A code outside the app's SI-NNN pattern, so that the export can reach 10,000 findings;
    pages cannot link such codes."""
    return f"{PREFIXES[n % 3]}{n:04d}"


def generate(start: int, stop: int, code_for=compact_code) -> None:
    """Add generated findings number `start` up to `stop`, in bulk, as a load would."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from findings.item_keys import STANDARD_ITEM_KEYS
    from findings.models import ChecklistItem, Dependency, Finding, Status, TacticalDocument
    from findings.seed import STANDARD_CHECKLIST

    documents = list(TacticalDocument.objects.order_by("sequence"))
    foundations = list(Finding.objects.filter(code__in=("BF-001", "BL-002")))
    user, _ = get_user_model().objects.get_or_create(username="bench")
    ticked_at = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)
    statuses = (Status.PLANNED, Status.IN_PROGRESS, Status.IN_REVIEW)
    with transaction.atomic():
        findings = Finding.objects.bulk_create(
            Finding(
                code=code_for(n),
                title=f"Generated finding {n}",
                priority="HIGH",
                phase_id=documents[n % len(documents)].phase_id,
                document=documents[n % len(documents)],
                status=statuses[n % 3],
                effort_min_days=1 + n % 3 if n % 2 else None,
                effort_max_days=3 + n % 3 if n % 2 else None,
                problem_statement=f"Generated problem {n}." if n % 2 else "",
                migration_sql=GENERATED_SQL.format(n=n) if n % 2 else "",
                go_implementation=GENERATED_GO.format(n=n) if n % 2 else "",
            )
            for n in range(start, stop)
        )
        findings = Finding.objects.filter(code__in=[f.code for f in findings])
        Dependency.objects.bulk_create(
            Dependency(finding=finding, depends_on=foundation)
            for finding in findings
            for foundation in foundations
        )
        ChecklistItem.objects.bulk_create(
            (
                ChecklistItem(
                    finding=finding,
                    section=section,
                    text=text.replace("[dependency findings]", "BF-001, BL-002"),
                    key=key,
                    position=position,
                    checked=position % 3 == 0,
                    checked_by=user if position % 3 == 0 else None,
                    checked_at=ticked_at if position % 3 == 0 else None,
                )
                for finding in findings
                for position, ((section, text), key) in enumerate(
                    zip(STANDARD_CHECKLIST, STANDARD_ITEM_KEYS.values(), strict=True), start=1
                )
            ),
            batch_size=2000,
        )


if __name__ == "__main__":
    main()
