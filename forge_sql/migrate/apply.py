"""Running migrations: each in one transaction together with its history row.

A failure rolls the transaction back, so nothing of the failing migration stays applied
and no "dirty" state is left to clean up; the error names the file and the statement.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from forge_sql.migrate import datasets, declaration, files, lint, status, syncs
from forge_sql.migrate import jobs as scheduled
from forge_sql.migrate.connection import Connection
from forge_sql.migrate.diff import Risk, TableDiff, diff
from forge_sql.migrate.errors import DatabaseError, MigrationError, StatementFailed
from forge_sql.migrate.files import MigrationFile, Version
from forge_sql.migrate.ledger import Entry, Ledger
from forge_sql.migrate.plan import Model, Step, plan_step, undo_sql
from forge_sql.migrate.progress import Progress
from forge_sql.migrate.scripts import run_python, sql_parts


@dataclass(slots=True)
class Options:
    allow_destructive: bool = False
    out_of_order: bool = False


@dataclass(slots=True)
class Outcome:
    applied: list[tuple[MigrationFile, int]] = field(default_factory=list)  # with duration ms
    undone: list[Entry] = field(default_factory=list)


class Migrator:
    def __init__(self, conn: Connection, directory: Path, options: Options,
                 progress: Progress | None = None) -> None:
        self.conn = conn
        self.directory = directory
        self.options = options
        self.progress = progress or Progress(False)
        self.ledger = Ledger(conn)

    # -- reading -------------------------------------------------------------------------
    def survey(self) -> tuple[list[MigrationFile], list[status.Item]]:
        found = files.discover(self.directory)
        return found, status.survey(found, self.ledger.entries())

    def plan(self) -> list[Step]:
        """The pending migrations as they would run now; nothing is changed."""
        found, items = self.survey()
        todo = status.pending(items, self.options.out_of_order)
        if not todo:
            return []
        model = Model.before(found, todo[0])
        return [plan_step(self.conn, f, model, simulate=True) for f in todo]

    # -- migrate -----------------------------------------------------------------------------
    def migrate(self) -> Outcome:
        found, items = self.survey()
        self._refuse_unsafe_history(items)
        todo = status.pending(items, self.options.out_of_order)
        outcome = Outcome()
        if not todo:
            return outcome
        model = Model.before(found, todo[0])
        steps = [plan_step(self.conn, f, model, simulate=True) for f in todo]
        self._refuse_destructive(steps)
        for index, file in enumerate(todo, 1):
            self.progress.start(file.script, index, len(todo))
            try:
                ms = self._apply(file, Model.before(found, file))
            except BaseException:
                self.progress.fail()
                raise
            self.progress.finish(ms)
            outcome.applied.append((file, ms))
        return outcome

    def _refuse_unsafe_history(self, items: list[status.Item]) -> None:
        problems = []
        for item in items:
            if item.state is status.State.CHANGED:
                problems.append(
                    f"{item.script} was changed after it was applied (checksum differs): "
                    "restore it, or run `forge-sql migrate repair` to accept the new content"
                )
            elif item.state is status.State.MISSING:
                problems.append(
                    f"{item.script} was applied but is missing from {self.directory}: "
                    "restore it, or run `forge-sql migrate repair` to forget it"
                )
            elif item.state is status.State.OUT_OF_ORDER and not self.options.out_of_order:
                problems.append(
                    f"{item.script} is pending but its version is lower than an applied one: "
                    "renumber it, or pass --out-of-order to apply it anyway"
                )
        if problems:
            raise MigrationError("\n".join(problems))

    def _refuse_destructive(self, steps: list[Step]) -> None:
        if self.options.allow_destructive:
            return
        found = [
            f"  {s.file.script}{':' + str(f.line) if f.line else ''}: {f.summary}"
            for s in steps for f in s.destructive
        ]
        if found:
            raise MigrationError(
                "refusing destructive changes (pass --allow-destructive to apply them):\n"
                + "\n".join(found)
            )

    def _apply(self, file: MigrationFile, model: Model) -> int:
        started = time.monotonic()
        with self._transaction(file.script):
            undo = self._run(file, model)
            ms = int((time.monotonic() - started) * 1000)
            self.ledger.record(file, ms, undo)
        return ms

    @contextlib.contextmanager
    def _transaction(self, script: str):  # type: ignore[no-untyped-def]
        self.conn.execute("BEGIN")
        try:
            yield
        except BaseException:
            with contextlib.suppress(DatabaseError):
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except DatabaseError as exc:
            raise MigrationError(f"{script}: commit failed, nothing applied: {exc}") from exc

    def _run(self, file: MigrationFile, model: Model) -> str | None:
        if file.kind == "py":
            run_python(file, "up", self.conn)
            return None
        if file.kind == "yaml":
            return self._run_yaml(file, model)
        up, down = sql_parts(file.text())
        self._run_sql(up, file.script)
        return down

    def _run_sql(self, text: str, script: str) -> None:
        for statement in lint.statements(text, script):
            line = lint.line_of(text, statement)
            if statement.kind == "TRANSACTION":
                raise MigrationError(
                    f"{script}:{line}: each migration runs in a transaction of its own; "
                    "remove BEGIN/COMMIT from the file"
                )
            try:
                self.conn.execute(statement.sql)
            except DatabaseError as exc:
                raise StatementFailed(script, line, statement.sql, exc.message,
                                      exc.sqlstate) from exc

    def _run_yaml(self, file: MigrationFile, model: Model) -> str:
        loaded = declaration.load_file(file.path)
        diffs = []
        for decl in loaded.tables:
            # Compared with the catalog inside this transaction: exact, whatever ran before.
            table_diff = diff(model.state(self.conn, decl), decl)
            refused = [c for c in table_diff.changes if c.risk is Risk.DESTRUCTIVE]
            if refused and not self.options.allow_destructive:
                raise MigrationError(
                    f"{file.script}: refusing destructive changes (pass --allow-destructive): "
                    + "; ".join(c.summary for c in refused)
                )
            self._run_changes(table_diff, file.script)
            model.declare(decl, simulate=False)
            diffs.append(table_diff)
        for dataset in loaded.external:
            dataset_diff = datasets.diff(model.dataset(self.conn, dataset), dataset, file.script)
            self._run_changes(dataset_diff, file.script)
            model.declare_dataset(dataset, file.script, simulate=False)
            diffs.append(dataset_diff)
        for sync in loaded.syncs:
            sync_diff = syncs.diff(syncs.live(self.conn, sync.name), sync, file.script)
            self._run_changes(sync_diff, file.script)
            diffs.append(sync_diff)
        for declared in scheduled.diffs(self.conn, loaded.materialized_views, loaded.jobs,
                                        file.script):
            self._run_changes(declared, file.script)
            diffs.append(declared)
        return undo_sql(diffs)

    def _run_changes(self, changes: TableDiff, script: str) -> None:
        for change in changes.changes:
            for sql in change.sql:
                try:
                    self.conn.execute(sql)
                except DatabaseError as exc:
                    raise StatementFailed(
                        f"{script} ({change.summary})", 0, sql, exc.message + _hint(exc),
                        exc.sqlstate,
                    ) from exc

    # -- down, baseline, repair ------------------------------------------------------------------
    def down(self, to: Version) -> Outcome:
        found = {f.script: f for f in files.discover(self.directory)}
        entries = [
            e for e in self.ledger.entries()
            if e.version is not None and e.kind in ("sql", "yaml", "py") and to < e.version
        ]
        entries.sort(key=lambda e: e.version.key if e.version else (), reverse=True)
        plans: list[tuple[Entry, Callable[[], None]]] = []
        refused = []
        for entry in entries:
            action, findings = self._undo_action(entry, found)
            refused += [f"  {entry.script}: {f.summary}" for f in findings
                        if f.risk is Risk.DESTRUCTIVE]
            plans.append((entry, action))
        if refused and not self.options.allow_destructive:
            raise MigrationError(
                "refusing to roll back: it would drop data (pass --allow-destructive):\n"
                + "\n".join(refused)
            )
        outcome = Outcome()
        for index, (entry, action) in enumerate(plans, 1):
            self.progress.start(f"undo {entry.script}", index, len(plans))
            started = time.monotonic()
            with self._transaction(entry.script):
                action()
                self.ledger.forget(entry)
            self.progress.finish(int((time.monotonic() - started) * 1000))
            outcome.undone.append(entry)
        return outcome

    def _undo_action(
        self, entry: Entry, found: dict[str, MigrationFile]
    ) -> tuple[Callable[[], None], list[lint.Finding]]:
        if entry.kind == "py":
            file = found.get(entry.script)
            if file is None:
                raise MigrationError(f"cannot roll back {entry.script}: the file is missing")
            return (lambda: run_python(file, "down", self.conn)), []
        undo = entry.undo
        if undo is None:
            raise MigrationError(
                f"cannot roll back {entry.script}: it has no `-- migrate:down` section"
            )
        findings = lint.check_sql(undo, entry.script, Model().column_type(self.conn))
        return (lambda: self._run_sql(undo, f"{entry.script} (down)")), findings

    def baseline(self, version: Version, name: str) -> None:
        entries = self.ledger.entries()
        if any(e.version is not None for e in entries):
            raise MigrationError(
                "the history already has versioned migrations: a baseline is for a database "
                "that was set up before forge-sql migrate managed it"
            )
        with self._transaction("baseline"):
            self.ledger.record_baseline(version, name)

    def repair(self) -> list[str]:
        """Accept edited applied files and forget history rows whose file is gone."""
        _, items = self.survey()
        done = []
        with self._transaction("repair"):
            for item in items:
                if item.state is status.State.CHANGED and item.entry and item.file:
                    self.ledger.realign(item.entry, item.file.checksum)
                    done.append(f"accepted the new checksum of {item.script}")
                elif item.state is status.State.MISSING and item.entry:
                    self.ledger.forget(item.entry)
                    done.append(f"forgot {item.script} (file missing)")
        return done


def _hint(exc: DatabaseError) -> str:
    """Why a server refuses to read a dataset's files, and what to do about it."""
    if exc.sqlstate != "42501" or "Cannot access file" not in exc.message:
        return ""
    return (
        "\n  the server reads only the directories it allowed when it started (its data "
        "directory, [external] and external_directories of its config, datasets recorded "
        "by migrations): apply this migration offline (--data-dir, server stopped) and "
        "start the server again, or add the directory to external_directories and restart"
    )
