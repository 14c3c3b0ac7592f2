"""What each pending migration will run, and how risky it is, without changing anything.

YAML declarations are compared with the live catalog, as changed by the pending
declarations before them; SQL is shown as written; Python as the call it makes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from forge_sql.migrate import datasets, declaration, lint, positions, syncs, tables
from forge_sql.migrate import jobs as scheduled
from forge_sql.migrate.connection import Connection
from forge_sql.migrate.datasets import DatasetState
from forge_sql.migrate.declaration import ExternalDecl, TableDecl
from forge_sql.migrate.diff import Change, Risk, TableDiff, diff
from forge_sql.migrate.files import MigrationFile
from forge_sql.migrate.scripts import sql_parts
from forge_sql.migrate.tables import TableState

Key = tuple[str, str]


@dataclass(slots=True)
class Model:
    """Declarations seen so far and, when planning, table and dataset states not applied
    yet."""

    previous: dict[Key, TableDecl] = field(default_factory=dict)
    simulated: dict[Key, TableState | None] = field(default_factory=dict)
    previous_datasets: dict[Key, DatasetState | None] = field(default_factory=dict)
    simulated_datasets: dict[Key, DatasetState | None] = field(default_factory=dict)

    @classmethod
    def before(cls, files: list[MigrationFile], file: MigrationFile | None) -> Model:
        """The declarations of YAML files that run before ``file`` (all, if None)."""
        model = cls()
        for other in files:
            if other.version is None:
                continue
            if file is not None and (
                other is file or (file.version is not None and not other.version < file.version)
            ):
                break
            if other.kind == "yaml":
                loaded = declaration.load_file(other.path)
                for decl in loaded.tables:
                    model.previous[decl.qualified] = decl
                for dataset in loaded.external:
                    model.previous_datasets[dataset.qualified] = datasets.declared(
                        dataset, other.script)
        return model

    def state(self, conn: Connection | None, decl: TableDecl) -> TableState | None:
        """The table before ``decl`` applies: simulated, live, or the last declaration."""
        key = decl.qualified
        if key in self.simulated:
            return self.simulated[key]
        prior = self.previous.get(key)
        if conn is None:
            return None if prior is None or prior.drop else tables.declared(prior)
        found = tables.live(conn, *key)
        if found is not None and prior is not None and not prior.drop:
            found.partitioned_by = list(prior.partitioned_by)
            found.sorted_by = list(prior.sorted_by)
        return found

    def declare(self, decl: TableDecl, simulate: bool) -> None:
        self.previous[decl.qualified] = decl
        if simulate:
            self.simulated[decl.qualified] = None if decl.drop else tables.declared(decl)

    def dataset(self, conn: Connection | None, decl: ExternalDecl) -> DatasetState | None:
        """The dataset before ``decl`` applies: simulated, live, or the last declaration."""
        key = decl.qualified
        if key in self.simulated_datasets:
            return self.simulated_datasets[key]
        if conn is None:
            return self.previous_datasets.get(key)
        return datasets.live(conn, *key)

    def declare_dataset(self, decl: ExternalDecl, script: str, simulate: bool) -> None:
        state = datasets.declared(decl, script)
        self.previous_datasets[decl.qualified] = state
        if simulate:
            self.simulated_datasets[decl.qualified] = state

    def column_type(self, conn: Connection | None) -> lint.ColumnType | None:
        if conn is None:
            return None

        def lookup(table: str, column: str) -> str | None:
            parts = [p.strip().strip('"') for p in re.split(r"\s*\.\s*", table)]
            schema, name = (parts[-2] if len(parts) > 1 else "public"), parts[-1]
            simulated = self.simulated.get((schema, name))
            if (schema, name) in self.simulated:
                col = simulated.column(column) if simulated else None
                return col.type if col else None
            rows = conn.execute(
                "SELECT data_type FROM duckdb_columns() WHERE database_name = "
                "current_database() AND schema_name = $1 AND table_name = $2 "
                "AND column_name = $3",
                [schema, name, column],
            )
            return str(rows[0][0]) if rows else None

        return lookup


@dataclass(slots=True)
class Step:
    """One pending migration as planned."""

    file: MigrationFile
    statements: list[str]
    findings: list[lint.Finding]
    diffs: list[TableDiff] = field(default_factory=list)

    @property
    def destructive(self) -> list[lint.Finding]:
        return [f for f in self.findings if f.risk is Risk.DESTRUCTIVE]

    def as_json(self) -> dict[str, object]:
        return {
            "version": None if self.file.version is None else str(self.file.version),
            "name": self.file.name,
            "kind": "repeatable" if self.file.repeatable else self.file.kind,
            "script": self.file.script,
            "statements": self.statements,
            "findings": [f.as_json() for f in self.findings],
        }


def plan_step(conn: Connection | None, file: MigrationFile, model: Model,
              simulate: bool) -> Step:
    """Plan ``file``; with ``simulate`` the model then stands for it as if applied."""
    if file.kind == "yaml":
        loaded = declaration.load_file(file.path)
        diffs = []
        for decl in loaded.tables:
            diffs.append(diff(model.state(conn, decl), decl))
            model.declare(decl, simulate)
        found = []
        for dataset in loaded.external:
            diffs.append(datasets.diff(model.dataset(conn, dataset), dataset, file.script))
            model.declare_dataset(dataset, file.script, simulate)
            found += [lint.Finding(risk, text) for risk, text in datasets.findings(dataset)]
        document = positions.load(file.text(), file.script)
        for index, sync in enumerate(loaded.syncs):
            diffs.append(syncs.diff(None if conn is None else syncs.live(conn, sync.name),
                                    sync, file.script))
            line = document.where(("syncs", index)).line
            found += [lint.Finding(r, t, line) for r, t in syncs.findings(sync, conn)]
        for index, job in enumerate(loaded.jobs):
            line = document.where(("jobs", index)).line
            found += [lint.Finding(r, t, line) for r, t in scheduled.findings(job)]
        diffs += scheduled.diffs(conn, loaded.materialized_views, loaded.jobs, file.script)
        changes = [c for d in diffs for c in d.changes]
        return Step(file, [s for c in changes for s in c.sql],
                    _yaml_findings(changes) + found, diffs)
    if file.kind == "py":
        return Step(
            file,
            [f"-- {file.script}: up(conn) runs Python code"],
            [lint.Finding(Risk.DATA, "Python migration: what it changes is not checked")],
        )
    text = file.text()
    up, _ = sql_parts(text)
    statements = lint.statements(up, file.script)
    findings = lint.check_sql(up, file.script, model.column_type(conn))
    return Step(file, [s.sql.strip() for s in statements], findings)


def _yaml_findings(changes: list[Change]) -> list[lint.Finding]:
    return [lint.Finding(c.risk, c.summary) for c in changes if c.risk is not Risk.SAFE]


def undo_sql(diffs: list[TableDiff]) -> str:
    """The statements that reverse a YAML migration, last change first."""
    changes = [c for d in diffs for c in d.changes]
    undo = [s for c in reversed(changes) for s in c.undo]
    # Nullability first, under the names the migration left: DuckLake runs SET NOT NULL only
    # as a table's first change in a transaction, and a column rewritten back to its old
    # type no longer has the NOT NULL that DROP NOT NULL would remove.
    undo.sort(key=lambda sql: 0 if sql.endswith("SET NOT NULL") else
              1 if sql.endswith("DROP NOT NULL") else 2)
    return ";\n".join(undo)
