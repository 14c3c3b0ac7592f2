"""``migrate validate``: history against files, history against the catalog, keys against data.

DuckLake enforces only NOT NULL, so declared primary keys, unique keys and checks are
checked here, against the rows stored.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.engine.syncs import SyncDefinition
from forge_sql.migrate import datasets, declaration, positions, status, tables
from forge_sql.migrate.connection import Connection
from forge_sql.migrate.declaration import JobDecl, TableDecl
from forge_sql.migrate.errors import DatabaseError
from forge_sql.migrate.files import MigrationFile
from forge_sql.migrate.promotion import Promotion, classify
from forge_sql.sql.quoting import literal, quote_ident
from forge_sql.sql.statements import split


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # checksum, missing, out-of-order, drift, violation
    message: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


def declarations(found: list[MigrationFile]) -> None:
    """Every YAML file of the directory, pending ones included, must load: a value that is
    not one SQL expression is refused here as `migrate` and `plan` refuse it."""
    for file in found:
        if file.kind == "yaml":
            declaration.load_file(file.path)


def scheduled(conn: Connection, found: list[MigrationFile]) -> list[Problem]:
    """The syncs and jobs the YAML files declare (as the last file to mention each leaves
    it), checked against the database: each sync by the server (``CALL forge_sync(...,
    validate => true)``: its source or connection, arguments, key, cursor, lookback and
    target), each job's command, role and ``after``. Each problem names file:line."""
    syncs: dict[str, tuple[SyncDefinition, str]] = {}
    jobs: dict[str, tuple[JobDecl, str]] = {}
    for file in found:
        if file.kind != "yaml":
            continue
        loaded = declaration.load_file(file.path)
        document = positions.load(file.text(), file.script)
        for index, sync in enumerate(loaded.syncs):
            where = f"{file.script}:{document.where(('syncs', index)).line}"
            syncs.pop(sync.name, None)
            if not sync.drop:
                syncs[sync.name] = (sync, where)
        for index, job in enumerate(loaded.jobs):
            where = f"{file.script}:{document.where(('jobs', index)).line}"
            jobs.pop(job.name, None)
            if not job.drop:
                jobs[job.name] = (job, where)
    problems = []
    for name, (sync, where) in syncs.items():
        try:
            rows = conn.execute(f"CALL forge_sync({literal(sync.as_json())}, validate => true)")
        except DatabaseError as exc:
            problems.append(Problem("sync", f"{where}: sync {name}: cannot be checked: "
                                    f"{exc.message}"))
            continue
        problems += [Problem("sync", f"{where}: {message}") for _, _, message in rows]
    for name, (job, where) in jobs.items():
        problems += [Problem("job", f"{where}: job {name}: {message}")
                     for message in _job_problems(conn, job, jobs.keys())]
    return problems


def _job_problems(conn: Connection, job: JobDecl, declared: Collection[str]) -> list[str]:
    found = []
    try:
        if not split(job.command or ""):
            found.append("command: no SQL statement")
    except errors.ForgeError as exc:
        found.append(f"command: {exc.message}")
    if job.run_as is not None and not conn.execute(
        "SELECT count(*) FROM pg_roles WHERE rolname = $1", [job.run_as]
    )[0][0]:
        found.append(f'run_as: role "{job.run_as}" does not exist')
    if job.after is not None and job.after not in declared and not conn.execute(
        "SELECT count(*) FROM forge_meta.cron_jobs WHERE jobname = $1", [job.after]
    )[0][0]:
        found.append(f'after: no job named "{job.after}" is declared or scheduled')
    return found


def history(items: list[status.Item]) -> list[Problem]:
    problems = []
    for item in items:
        if item.state is status.State.CHANGED:
            problems.append(Problem("checksum", f"{item.script}: changed after it was applied "
                                    "(run `forge-sql migrate repair` to accept it)"))
        elif item.state is status.State.MISSING:
            problems.append(Problem("missing", f"{item.script}: applied, but the file is gone"))
        elif item.state is status.State.OUT_OF_ORDER:
            problems.append(Problem("out-of-order", f"{item.script}: pending with a version "
                                    "lower than an applied one"))
    return problems


def drift(conn: Connection, items: list[status.Item]) -> list[Problem]:
    """Tables declared by applied YAML migrations that the catalog no longer matches."""
    expected: dict[tuple[str, str], TableDecl] = {}
    wanted_datasets: dict[tuple[str, str], datasets.DatasetState | None] = {}
    applied: list[MigrationFile] = [
        i.file for i in items
        if i.file is not None and i.state in (status.State.APPLIED, status.State.CHANGED)
        and i.file.kind == "yaml"
    ]
    for file in applied:
        loaded = declaration.load_file(file.path)
        for decl in loaded.tables:
            expected[decl.qualified] = decl
        for dataset in loaded.external:
            wanted_datasets[dataset.qualified] = datasets.declared(dataset, file.script)
    problems = _dataset_drift(conn, wanted_datasets)
    for (schema, table), decl in expected.items():
        live = tables.live(conn, schema, table)
        where = f"{schema}.{table}"
        if decl.drop:
            if live is not None:
                problems.append(Problem("drift", f"{where}: declared dropped, but it exists"))
            continue
        if live is None:
            problems.append(Problem("drift", f"{where}: declared, but missing from the catalog"))
            continue
        wanted = tables.declared(decl)
        for column in wanted.columns:
            found = live.column(column.name)
            if found is None:
                problems.append(Problem("drift", f"{where}.{column.name}: declared, but missing"))
                continue
            if classify(found.type, column.type) is not Promotion.SAME:
                problems.append(Problem("drift", f"{where}.{column.name}: declared "
                                        f"{column.type}, catalog has {found.type}"))
            if found.nullable != column.nullable:
                problems.append(Problem("drift", f"{where}.{column.name}: declared "
                                        f"{'NULL' if column.nullable else 'NOT NULL'}, catalog "
                                        f"has {'NULL' if found.nullable else 'NOT NULL'}"))
        for column in live.columns:
            if wanted.column(column.name) is None:
                problems.append(Problem("drift", f"{where}.{column.name}: in the catalog, "
                                        "not declared"))
    return problems


def _dataset_drift(conn: Connection,
                   wanted: dict[tuple[str, str], datasets.DatasetState | None]) -> list[Problem]:
    problems = []
    for (schema, name), state in wanted.items():
        live = datasets.live(conn, schema, name)
        where = f"{schema}.{name}"
        if state is None:
            if live is not None and live.view is not None:
                problems.append(Problem("drift", f"{where}: external dataset declared "
                                        "dropped, but the view exists"))
        elif live is None or live.view is None:
            problems.append(Problem("drift", f"{where}: external dataset declared, but the "
                                    "view is missing from the catalog"))
        elif live.definition != state.definition:
            problems.append(Problem("drift", f"{where}: external dataset recorded as "
                                    f"{live.definition or 'nothing'}, declared as "
                                    f"{state.definition}"))
    return problems


def violations(conn: Connection) -> list[Problem]:
    """Rows that break a recorded primary key, unique key or check."""
    rows = conn.execute(
        f"SELECT schema_name, table_name, name, kind, CAST(columns AS VARCHAR[]), definition "
        f"FROM {tables.CONSTRAINTS} WHERE kind IN ('p', 'u', 'c') "
        "ORDER BY schema_name, table_name, name"
    )
    problems = []
    for schema, table, name, kind, columns, definition in rows:
        target = f"{quote_ident(schema)}.{quote_ident(table)}"
        label = f"{schema}.{table}: {name}"
        try:
            problems += _check(conn, target, label, kind, list(columns or []), definition)
        except DatabaseError as exc:
            problems.append(Problem("violation", f"{label}: cannot be checked: {exc.message}"))
    return problems


def _check(conn: Connection, target: str, label: str, kind: str, columns: list[str],
           definition: str | None) -> list[Problem]:
    if kind == "c":
        text = definition or "TRUE"
        expression = text[len("CHECK ") :] if text.upper().startswith("CHECK ") else text
        count = conn.execute(f"SELECT count(*) FROM {target} WHERE NOT ({expression})")[0][0]
        if count:
            return [Problem("violation", f"{label}: {count} row(s) fail {text}")]
        return []
    found = []
    cols = ", ".join(quote_ident(c) for c in columns)
    if kind == "p":
        nulls = " OR ".join(f"{quote_ident(c)} IS NULL" for c in columns)
        count = conn.execute(f"SELECT count(*) FROM {target} WHERE {nulls}")[0][0]
        if count:
            found.append(Problem("violation", f"{label}: {count} row(s) with NULL in the "
                                 f"primary key ({', '.join(columns)})"))
    not_null = " AND ".join(f"{quote_ident(c)} IS NOT NULL" for c in columns)
    dupes = conn.execute(
        f"SELECT count(*), CAST(min(k) AS VARCHAR) FROM (SELECT CAST(row({cols}) AS VARCHAR) "
        f"AS k FROM {target} WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1)"
    )
    count, example = dupes[0]
    if count:
        what = "primary key" if kind == "p" else "unique key"
        found.append(Problem("violation", f"{label}: {count} duplicated {what} value(s) "
                             f"({', '.join(columns)}), e.g. {example}"))
    return found
