"""The triggers that keep each phase's progress figures in findings_phaseprogress.

Counting a phase's findings, checklist items and open outside dependencies on each request costs
O(items); these triggers keep the counts as rows change, whoever changes them (services, admin,
bulk_create, QuerySet.update, raw SQL), so reading them costs one row per phase.

- Findings and checklist items add or subtract their share (a tick: one row, O(1)).
- Dependencies add or subtract one open outside dependency each.
- A finding whose phase or finished-ness changes while it has dependencies, in either direction,
  recounts the open outside dependencies of the phases concerned, from the indexes.
- A new phase gets its row, counted from scratch; a deleted phase loses it.

On PostgreSQL the triggers of findings, items and dependencies run once per statement over its
transition tables, so a bulk insert of 100,000 items updates each phase's row once, not 100,000
times; they update the rows in phase id order, so two transactions never wait on each other's
rows in opposite orders. TRUNCATE of those tables (alone) counts everything again; `manage.py
flush` truncates findings_phaseprogress with them. SQLite runs its triggers row by row.

Migration 0003 runs this SQL.
"""

from django.db import migrations

PROGRESS_COLUMNS = """
    phase_id, findings_total, findings_done, remaining_effort_min, remaining_effort_max,
    remaining_estimated, items_total, items_ticked, outside_dependencies_open
"""


def outside_dependencies_open(phase: str) -> str:
    """How many dependencies of phase `phase`'s findings wait on unfinished findings elsewhere.

    The same rows as selectors counted with `.exclude(depends_on__phase=F("finding__phase"))
    .exclude(depends_on__status__in=FINISHED)`: a dependency on a finding outside every phase
    counts as outside.
    """
    return f"""(
        SELECT count(*) FROM findings_dependency link
        JOIN findings_finding dependant ON dependant.id = link.finding_id
        JOIN findings_finding target ON target.id = link.depends_on_id
        WHERE dependant.phase_id = {phase}
          AND (target.phase_id IS NULL OR target.phase_id <> {phase})
          AND target.status NOT IN ('done', 'completed')
    )"""


# Every phase's figures counted from scratch; followed by a WHERE clause on `phase` or nothing.
RECOUNT = f"""
INSERT INTO findings_phaseprogress ({PROGRESS_COLUMNS})
SELECT
    phase.id,
    (SELECT count(*) FROM findings_finding f WHERE f.phase_id = phase.id),
    (SELECT count(*) FROM findings_finding f WHERE f.phase_id = phase.id AND f.status = 'done'),
    (SELECT coalesce(sum(f.effort_min_days), 0) FROM findings_finding f
     WHERE f.phase_id = phase.id AND f.status <> 'done'),
    (SELECT coalesce(sum(f.effort_max_days), 0) FROM findings_finding f
     WHERE f.phase_id = phase.id AND f.status <> 'done'),
    (SELECT count(*) FROM findings_finding f
     WHERE f.phase_id = phase.id AND f.status <> 'done' AND f.effort_min_days IS NOT NULL),
    (SELECT count(*) FROM findings_checklistitem item
     JOIN findings_finding f ON f.id = item.finding_id WHERE f.phase_id = phase.id),
    (SELECT count(*) FROM findings_checklistitem item
     JOIN findings_finding f ON f.id = item.finding_id
     WHERE f.phase_id = phase.id AND item.checked),
    {outside_dependencies_open("phase.id")}
FROM findings_phase phase
"""

# PostgreSQL. Each statement-level function reads `rows`: the changed rows of its table, each
# with a sign, +1 for the new version and -1 for the old one.
POSTGRESQL_ROWS = {
    "inserted": "SELECT *, 1 AS sign FROM new_rows",
    "deleted": "SELECT *, -1 AS sign FROM old_rows",
    "updated": "SELECT *, 1 AS sign FROM new_rows UNION ALL SELECT *, -1 AS sign FROM old_rows",
}
POSTGRESQL_REFERENCING = {
    "inserted": ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
    "deleted": ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
    "updated": ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
}
# Findings whose id, phase or finished-ness changed: the open outside dependencies of their
# dependencies and dependants may have changed with them.
POSTGRESQL_MOVED_FINDINGS = {
    "inserted": "SELECT id, phase_id, status IN ('done', 'completed') FROM new_rows",
    "deleted": "SELECT id, phase_id, status IN ('done', 'completed') FROM old_rows",
    "updated": """
        (SELECT id, phase_id, status IN ('done', 'completed') FROM new_rows
         EXCEPT SELECT id, phase_id, status IN ('done', 'completed') FROM old_rows)
        UNION
        (SELECT id, phase_id, status IN ('done', 'completed') FROM old_rows
         EXCEPT SELECT id, phase_id, status IN ('done', 'completed') FROM new_rows)
    """,
}

POSTGRESQL_ITEMS_FUNCTION = """
CREATE FUNCTION findings_phase_progress_items_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    change record;
BEGIN
    FOR change IN
        SELECT finding.phase_id,
               sum(item.sign) AS items,
               sum(item.sign * item.checked::int) AS ticked
        FROM ({rows}) AS item
        JOIN findings_finding finding ON finding.id = item.finding_id
        WHERE finding.phase_id IS NOT NULL
        GROUP BY finding.phase_id
        HAVING sum(item.sign) <> 0 OR sum(item.sign * item.checked::int) <> 0
        ORDER BY finding.phase_id
    LOOP
        UPDATE findings_phaseprogress
        SET items_total = items_total + change.items, items_ticked = items_ticked + change.ticked
        WHERE phase_id = change.phase_id;
    END LOOP;
    RETURN NULL;
END
$$;
"""

POSTGRESQL_DEPENDENCIES_FUNCTION = """
CREATE FUNCTION findings_phase_progress_dependencies_{event}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    change record;
BEGIN
    -- A concurrent change of a finding at either end could otherwise commit unseen by both:
    -- this waits for it, and it then sees this link when it recounts.
    PERFORM 1 FROM findings_finding
    WHERE id IN (SELECT finding_id FROM ({rows}) AS link
                 UNION SELECT depends_on_id FROM ({rows}) AS link)
    ORDER BY id
    FOR SHARE;
    FOR change IN
        SELECT dependant.phase_id, sum(link.sign) AS open
        FROM ({rows}) AS link
        JOIN findings_finding dependant ON dependant.id = link.finding_id
        JOIN findings_finding target ON target.id = link.depends_on_id
        WHERE dependant.phase_id IS NOT NULL
          AND (target.phase_id IS NULL OR target.phase_id <> dependant.phase_id)
          AND target.status NOT IN ('done', 'completed')
        GROUP BY dependant.phase_id
        HAVING sum(link.sign) <> 0
        ORDER BY dependant.phase_id
    LOOP
        UPDATE findings_phaseprogress
        SET outside_dependencies_open = outside_dependencies_open + change.open
        WHERE phase_id = change.phase_id;
    END LOOP;
    RETURN NULL;
END
$$;
"""

POSTGRESQL_FINDINGS_FUNCTION = """
CREATE FUNCTION findings_phase_progress_findings_{event}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    change record;
BEGIN
    FOR change IN
        WITH counted AS (
            SELECT finding.phase_id,
                   sum(finding.sign) AS findings,
                   sum(finding.sign * (finding.status = 'done')::int) AS done,
                   sum(CASE WHEN finding.status <> 'done'
                       THEN finding.sign * coalesce(finding.effort_min_days, 0) ELSE 0 END
                   ) AS effort_min,
                   sum(CASE WHEN finding.status <> 'done'
                       THEN finding.sign * coalesce(finding.effort_max_days, 0) ELSE 0 END
                   ) AS effort_max,
                   sum(CASE WHEN finding.status <> 'done' AND finding.effort_min_days IS NOT NULL
                       THEN finding.sign ELSE 0 END
                   ) AS estimated,
                   sum(finding.sign * items.total) AS items,
                   sum(finding.sign * items.ticked) AS ticked
            FROM ({rows}) AS finding
            CROSS JOIN LATERAL (
                SELECT count(*) AS total, count(*) FILTER (WHERE item.checked) AS ticked
                FROM findings_checklistitem item WHERE item.finding_id = finding.id
            ) AS items
            WHERE finding.phase_id IS NOT NULL
            GROUP BY finding.phase_id
        ),
        moved(id, phase_id, finished) AS ({moved}),
        linked AS (
            SELECT moved.id, moved.phase_id FROM moved
            WHERE EXISTS (SELECT 1 FROM findings_dependency link
                          WHERE link.finding_id = moved.id)
               OR EXISTS (SELECT 1 FROM findings_dependency link
                          WHERE link.depends_on_id = moved.id)
        ),
        recounted AS (
            SELECT phase_id FROM linked WHERE phase_id IS NOT NULL
            UNION
            SELECT dependant.phase_id FROM linked
            JOIN findings_dependency link ON link.depends_on_id = linked.id
            JOIN findings_finding dependant ON dependant.id = link.finding_id
            WHERE dependant.phase_id IS NOT NULL
        )
        SELECT coalesce(counted.phase_id, recounted.phase_id) AS phase_id,
               coalesce(counted.findings, 0) AS findings,
               coalesce(counted.done, 0) AS done,
               coalesce(counted.effort_min, 0) AS effort_min,
               coalesce(counted.effort_max, 0) AS effort_max,
               coalesce(counted.estimated, 0) AS estimated,
               coalesce(counted.items, 0) AS items,
               coalesce(counted.ticked, 0) AS ticked,
               recounted.phase_id IS NOT NULL AS recount
        FROM counted FULL JOIN recounted ON recounted.phase_id = counted.phase_id
        WHERE recounted.phase_id IS NOT NULL
           OR (counted.findings, counted.done, counted.effort_min, counted.effort_max,
               counted.estimated, counted.items, counted.ticked)
              IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0)
        ORDER BY 1
    LOOP
        UPDATE findings_phaseprogress
        SET findings_total = findings_total + change.findings,
            findings_done = findings_done + change.done,
            remaining_effort_min = remaining_effort_min + change.effort_min,
            remaining_effort_max = remaining_effort_max + change.effort_max,
            remaining_estimated = remaining_estimated + change.estimated,
            items_total = items_total + change.items,
            items_ticked = items_ticked + change.ticked
        WHERE phase_id = change.phase_id;
        IF change.recount THEN
            -- A statement of its own, so it counts what committed while it waited for the row.
            UPDATE findings_phaseprogress
            SET outside_dependencies_open = {outside}
            WHERE phase_id = change.phase_id;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
"""

POSTGRESQL_PHASE_FUNCTIONS = f"""
CREATE FUNCTION findings_phase_progress_phase_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {RECOUNT} WHERE phase.id = NEW.id;
    RETURN NULL;
END
$$;
CREATE FUNCTION findings_phase_progress_phase_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM findings_phaseprogress WHERE phase_id = OLD.id;
    RETURN NULL;
END
$$;
CREATE FUNCTION findings_phase_progress_recount() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM findings_phaseprogress;
    {RECOUNT};
    RETURN NULL;
END
$$;
CREATE TRIGGER findings_phase_progress_phase_added AFTER INSERT ON findings_phase
    FOR EACH ROW EXECUTE FUNCTION findings_phase_progress_phase_added();
CREATE TRIGGER findings_phase_progress_phase_removed AFTER DELETE ON findings_phase
    FOR EACH ROW EXECUTE FUNCTION findings_phase_progress_phase_removed();
"""

POSTGRESQL_TABLES = {
    "items": ("findings_checklistitem", POSTGRESQL_ITEMS_FUNCTION),
    "dependencies": ("findings_dependency", POSTGRESQL_DEPENDENCIES_FUNCTION),
    "findings": ("findings_finding", POSTGRESQL_FINDINGS_FUNCTION),
}


def postgresql_create() -> str:
    statements = [POSTGRESQL_PHASE_FUNCTIONS]
    for name, (table, function) in POSTGRESQL_TABLES.items():
        for event, (operation, referencing) in POSTGRESQL_REFERENCING.items():
            statements.append(
                function.format(
                    event=event,
                    rows=POSTGRESQL_ROWS[event],
                    moved=POSTGRESQL_MOVED_FINDINGS[event],
                    outside=outside_dependencies_open("change.phase_id"),
                )
            )
            statements.append(
                f"CREATE TRIGGER findings_phase_progress_{name}_{event} AFTER {operation} "
                f"ON {table} {referencing} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION findings_phase_progress_{name}_{event}();"
            )
        statements.append(
            f"CREATE TRIGGER findings_phase_progress_{name}_truncated AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION findings_phase_progress_recount();"
        )
    return "\n".join(statements)


def postgresql_drop() -> str:
    statements = []
    for name, (table, _) in POSTGRESQL_TABLES.items():
        statements.append(f"DROP TRIGGER findings_phase_progress_{name}_truncated ON {table};")
        for event in POSTGRESQL_REFERENCING:
            statements.append(f"DROP TRIGGER findings_phase_progress_{name}_{event} ON {table};")
            statements.append(f"DROP FUNCTION findings_phase_progress_{name}_{event}();")
    statements += [
        "DROP TRIGGER findings_phase_progress_phase_removed ON findings_phase;",
        "DROP TRIGGER findings_phase_progress_phase_added ON findings_phase;",
        "DROP FUNCTION findings_phase_progress_recount();",
        "DROP FUNCTION findings_phase_progress_phase_removed();",
        "DROP FUNCTION findings_phase_progress_phase_added();",
    ]
    return "\n".join(statements)


# SQLite runs triggers row by row, each seeing the rows changed before it.


def sqlite_finding_share(row: str, sign: str) -> str:
    """Add (sign "+") or take away (sign "-") a finding's own share and its items'."""
    return f"""
    UPDATE findings_phaseprogress SET
        findings_total = findings_total {sign} 1,
        findings_done = findings_done {sign} ({row}.status = 'done'),
        remaining_effort_min = remaining_effort_min {sign}
            (CASE WHEN {row}.status <> 'done' THEN coalesce({row}.effort_min_days, 0) ELSE 0 END),
        remaining_effort_max = remaining_effort_max {sign}
            (CASE WHEN {row}.status <> 'done' THEN coalesce({row}.effort_max_days, 0) ELSE 0 END),
        remaining_estimated = remaining_estimated {sign}
            ({row}.status <> 'done' AND {row}.effort_min_days IS NOT NULL),
        items_total = items_total {sign}
            (SELECT count(*) FROM findings_checklistitem WHERE finding_id = {row}.id),
        items_ticked = items_ticked {sign}
            (SELECT count(*) FROM findings_checklistitem WHERE finding_id = {row}.id AND checked)
    WHERE phase_id = {row}.phase_id;
    """


def sqlite_item_share(row: str, sign: str) -> str:
    return f"""
    UPDATE findings_phaseprogress
    SET items_total = items_total {sign} 1, items_ticked = items_ticked {sign} {row}.checked
    WHERE phase_id = (SELECT phase_id FROM findings_finding WHERE id = {row}.finding_id);
    """


def sqlite_dependency_share(row: str, sign: str) -> str:
    return f"""
    UPDATE findings_phaseprogress
    SET outside_dependencies_open = outside_dependencies_open {sign} (
        SELECT count(*) FROM findings_finding dependant
        JOIN findings_finding target ON target.id = {row}.depends_on_id
        WHERE dependant.id = {row}.finding_id
          AND (target.phase_id IS NULL OR target.phase_id <> dependant.phase_id)
          AND target.status NOT IN ('done', 'completed')
    )
    WHERE phase_id = (SELECT phase_id FROM findings_finding WHERE id = {row}.finding_id);
    """


def sqlite_linked(*ids: str) -> str:
    listed = ", ".join(ids)
    return f"""EXISTS (
        SELECT 1 FROM findings_dependency
        WHERE finding_id IN ({listed}) OR depends_on_id IN ({listed})
    )"""


def sqlite_recount_outside(*rows: str) -> str:
    """Recount the open outside dependencies of these findings' phases and their dependants'."""
    phases = ", ".join(f"{row}.phase_id" for row in rows)
    ids = ", ".join(f"{row}.id" for row in rows)
    return f"""
    UPDATE findings_phaseprogress
    SET outside_dependencies_open = {outside_dependencies_open("findings_phaseprogress.phase_id")}
    WHERE phase_id IN ({phases})
       OR phase_id IN (
           SELECT dependant.phase_id FROM findings_dependency link
           JOIN findings_finding dependant ON dependant.id = link.finding_id
           WHERE link.depends_on_id IN ({ids})
       );
    """


FINISHED_CHANGED = "(OLD.status IN ('done', 'completed')) <> (NEW.status IN ('done', 'completed'))"
SQLITE_TRIGGERS = {
    "phase_added": f"AFTER INSERT ON findings_phase BEGIN {RECOUNT} WHERE phase.id = NEW.id; END",
    "phase_removed": """AFTER DELETE ON findings_phase
        BEGIN DELETE FROM findings_phaseprogress WHERE phase_id = OLD.id; END""",
    "item_added": f"""AFTER INSERT ON findings_checklistitem
        BEGIN {sqlite_item_share("NEW", "+")} END""",
    "item_removed": f"""AFTER DELETE ON findings_checklistitem
        BEGIN {sqlite_item_share("OLD", "-")} END""",
    "item_changed": f"""AFTER UPDATE OF finding_id, checked ON findings_checklistitem
        WHEN OLD.finding_id <> NEW.finding_id OR OLD.checked <> NEW.checked
        BEGIN {sqlite_item_share("OLD", "-")} {sqlite_item_share("NEW", "+")} END""",
    "dependency_added": f"""AFTER INSERT ON findings_dependency
        BEGIN {sqlite_dependency_share("NEW", "+")} END""",
    "dependency_removed": f"""AFTER DELETE ON findings_dependency
        BEGIN {sqlite_dependency_share("OLD", "-")} END""",
    "dependency_changed": f"""AFTER UPDATE OF finding_id, depends_on_id ON findings_dependency
        BEGIN {sqlite_dependency_share("OLD", "-")} {sqlite_dependency_share("NEW", "+")} END""",
    "finding_added": f"""AFTER INSERT ON findings_finding
        BEGIN {sqlite_finding_share("NEW", "+")} END""",
    "finding_removed": f"""AFTER DELETE ON findings_finding
        BEGIN {sqlite_finding_share("OLD", "-")} END""",
    "finding_changed": f"""AFTER UPDATE OF id, phase_id, status, effort_min_days, effort_max_days
        ON findings_finding
        WHEN OLD.id <> NEW.id OR OLD.phase_id IS NOT NEW.phase_id OR OLD.status <> NEW.status
          OR OLD.effort_min_days IS NOT NEW.effort_min_days
          OR OLD.effort_max_days IS NOT NEW.effort_max_days
        BEGIN {sqlite_finding_share("OLD", "-")} {sqlite_finding_share("NEW", "+")} END""",
    "finding_links_added": f"""AFTER INSERT ON findings_finding WHEN {sqlite_linked("NEW.id")}
        BEGIN {sqlite_recount_outside("NEW")} END""",
    "finding_links_removed": f"""AFTER DELETE ON findings_finding WHEN {sqlite_linked("OLD.id")}
        BEGIN {sqlite_recount_outside("OLD")} END""",
    "finding_links_changed": f"""AFTER UPDATE OF id, phase_id, status ON findings_finding
        WHEN (OLD.id <> NEW.id OR OLD.phase_id IS NOT NEW.phase_id OR {FINISHED_CHANGED})
          AND {sqlite_linked("OLD.id", "NEW.id")}
        BEGIN {sqlite_recount_outside("OLD", "NEW")} END""",
}


def sqlite_create() -> list[str]:
    return [
        f"CREATE TRIGGER findings_phase_progress_{name} {definition}"
        for name, definition in SQLITE_TRIGGERS.items()
    ]


def sqlite_drop() -> list[str]:
    return [f"DROP TRIGGER findings_phase_progress_{name}" for name in SQLITE_TRIGGERS]


def sqlite_triggers_lifted_around(*operations):
    """Migration operations that run `operations` with the progress triggers lifted on SQLite.

    SQLite changes a column of a table it cannot alter in place (a NOT NULL column, a new
    constraint) by building a new table and renaming it over the old one, and the rename fails
    while a trigger on another table names the old one. PostgreSQL alters in place; there the
    triggers stay.
    """

    def run(statements):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor == "sqlite":
                for statement in statements():
                    schema_editor.execute(statement)

        return apply

    return [
        migrations.RunPython(run(sqlite_drop), run(sqlite_create)),
        *operations,
        migrations.RunPython(run(sqlite_create), run(sqlite_drop)),
    ]
