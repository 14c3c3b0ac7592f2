"""Planning: what the engine keeps behind a PreparedStatement (the statement rewritten for
DuckDB, its placeholders typed) and the result columns Describe reports without executing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import duckdb

from forge_sql import errors
from forge_sql.catalog import rewrite as catalog_sql
from forge_sql.engine import (
    batching,
    column_names,
    describing,
    returning,
    sql_cursors,
    storage_calls,
    table_functions,
    timetravel,
)
from forge_sql.engine import params as parameters
from forge_sql.engine.result_sources import Scope
from forge_sql.engine.sandbox import Sandbox
from forge_sql.engine.session_commands import show_names
from forge_sql.seam.backend import Column, PreparedStatement
from forge_sql.sql import constant_input, duckdb_errors, rewrite
from forge_sql.sql import table_functions as table_calls
from forge_sql.sql.rewrite import Edit, Rules
from forge_sql.sql.statements import Statement, classify
from forge_sql.sql.types import TEXT_TYPMOD, column

# Statements whose string constants cast to a type are converted at Parse, as PostgreSQL's
# analysis does; and how many passed checks each session keeps.
_CONSTANTS_CHECKED = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "EXPLAIN"})
_CONSTANTS_KEPT = 256


@dataclass(frozen=True, slots=True)
class Plan:
    """The engine's state behind a PreparedStatement."""

    statement: Statement  # as rewritten for DuckDB (the client's when no rule applied)
    sql: str  # with typed placeholders cast
    param_count: int
    describe_values: tuple[object, ...] = ()
    batch: batching.InsertShape | None = None  # a single-row INSERT of placeholders
    casts: tuple[str | None, ...] = ()
    query: Statement | None = None  # DECLARE: the cursor's query
    arrays: bool = False  # a placeholder is cast to a list type (params.array_casts)
    superuser_only: bool = False  # storage maintenance (storage_calls.needs_superuser)
    at_parameters: bool = False  # placeholders in AT (VERSION => $n): see engine.timetravel
    # DuckDB's parse of ``sql`` when nothing changes it at Bind: executed as parsed.
    parsed: duckdb.Statement | None = field(default=None, compare=False, repr=False)
    source: Statement | None = None  # the client's statement, with the pass's edits
    # Python table functions called in FROM: expanded when it runs (engine.table_functions)
    table_calls: tuple[table_calls.Call, ...] = ()
    # The client's statement when views calling table functions were expanded in it
    # (engine.table_functions.expand_views): privileges are checked on it.
    client: Statement | None = None
    # The lock table's count of catalog-changing commits when Describe typed the result
    # (a result can change type only across one: EngineSession.execute).
    catalog_commits: int = 0

    def bound(
        self, params: Sequence[object], *, travel: bool = True, drop: bool = False
    ) -> tuple[str, list[object]]:
        """The SQL and values to run with ``params``: the statement's edits, placeholder
        casts as deep as the array values are, and (``travel``) time travel's literals
        (``drop``: its clauses removed) spliced into the client's text at once."""
        source = self.source
        if source is None:
            return self.sql, list(params)
        casts = parameters.array_casts(self.casts, params) if self.arrays else self.casts
        edits: list[Edit] = []
        values = list(params)
        if travel and self.at_parameters:
            # First, so that they win over the casts inside a dropped clause.
            edits, values = timetravel.edits(source.tokens, params, drop=drop)
        edits.extend(source.edits)
        edits.extend(parameters.cast_edits(source.tokens, casts))
        return rewrite.apply(source.sql, edits), values

    def expanded(
        self, caller: table_functions.Caller, params: Sequence[object]
    ) -> tuple[str, list[object]]:
        """The SQL and values to run: each table-function call a scan of its rows (called
        now), with the statement's other edits and placeholder casts."""
        source = self.source
        assert source is not None
        casts = parameters.array_casts(self.casts, params) if self.arrays else self.casts
        edits = [*source.edits, *parameters.cast_edits(source.tokens, casts)]
        return caller.expand(source, self.table_calls, edits, params)

    def locate(self, error: errors.ForgeError) -> errors.ForgeError:
        """Make the error position count from the start of the client's query string."""
        if error.position is not None:
            if self.sql != self.statement.sql:
                error.position = None  # placeholders were rewritten: the offset would mislead
            else:
                error.position += self.statement.offset
        return error


class Session(Protocol):
    """What planning needs of the session it plans for."""

    @property
    def cursors(self) -> sql_cursors.Cursors: ...

    def detach_stream(self) -> None: ...

    def authorize(self, plan: Plan) -> None: ...

    def result_scope(self) -> Scope | None: ...

    def refresh_catalog(self) -> None: ...

    @property
    def rules(self) -> Rules: ...  # the rewrite rules of the session's forge.semantics

    def fail(self, exc: BaseException, sql: str | None = None) -> errors.ForgeError: ...

    def expand_views(self, statement: Statement) -> Statement | None: ...


class Planner:
    """Plans the statements of one session over its DuckDB cursor."""

    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        session: Session,
        reading_catalog: Callable[[], AbstractContextManager[None]],
        sandbox: Sandbox,
        superuser: bool,
    ) -> None:
        """``reading_catalog()``: held while planning reads the lake's catalog, so that no
        catalog change runs meanwhile (forge_sql.engine.locks)."""
        self._cursor = cursor
        self._session = session
        self._reading_catalog = reading_catalog
        self._sandbox = sandbox
        self._superuser = superuser
        # DML targets found to exist since this session last planned other DDL than DML:
        # each is bound once (binding a lake table costs milliseconds), not at every Parse.
        self._targets: set[str] = set()
        # Constant checks that passed (their SELECT's text): not run again.
        self._constants_valid: set[str] = set()

    def plan(self, statement: Statement, given: Sequence[int], describe: bool) -> PreparedStatement:
        columns: tuple[Column, ...] | None = None
        if statement.kind in ("TRANSACTION", "SETTING", "EMPTY"):
            command = statement.command
            if command is not None and command.verb == "SHOW":
                columns = tuple(column(n, "VARCHAR", TEXT_TYPMOD) for n in show_names(command))
            return PreparedStatement(
                statement.sql, tuple(given), columns, Plan(statement, statement.sql, len(given))
            )
        if statement.kind == "CURSOR":
            return self._plan_cursor(statement, given, describe)
        superuser_only = storage_calls.needs_superuser(statement)
        # Refused before anything binds or runs, on the client's own text (the rewrites
        # below only map catalog names and literals). Maintenance statements are refused
        # at execution with their own message (storage_calls.refuse).
        self._sandbox.check(statement, self._superuser or superuser_only)
        table_functions.refuse_stream_names(statement)
        client = None
        expanded = self._session.expand_views(statement)
        if expanded is not None:  # the checks above and privileges read the client's text
            client, statement = statement, expanded
        if not (describe or given or "$" in statement.sql or catalog_sql.needed(statement.sql)):
            # Nothing to describe, no parameter types to infer, no catalog copies to
            # renew: planning reads nothing of the catalog (a simple query's SELECT 1).
            return self._plan(statement, given, describe, superuser_only, client)
        with self._reading_catalog():
            return self._plan(statement, given, describe, superuser_only, client)

    def _plan(
        self, statement: Statement, given: Sequence[int], describe: bool, superuser_only: bool,
        client: Statement | None = None,
    ) -> PreparedStatement:
        columns: tuple[Column, ...] | None = None
        if catalog_sql.needed(statement.sql):
            self._session.refresh_catalog()
        if describe and statement.kind in _CONSTANTS_CHECKED:
            self._check_constants(statement)
        if describe and statement.kind in ("INSERT", "UPDATE", "DELETE"):
            self._check_target(statement)
        elif statement.kind not in ("SELECT", "EXPLAIN"):
            self._targets.clear()
        resolved = parameters.resolve(statement, given, self._column_types)
        at_parameters = bool(resolved.oids) and timetravel.has_parameters(statement.tokens)
        if describe and not at_parameters and parameters.UNTYPED in resolved.stand_ins:
            inferred = self._infer_untyped(resolved)
            if inferred:
                typed = [given[i] if i < len(given) else 0 for i in range(len(resolved.oids))]
                for number, oid in inferred.items():
                    typed[number - 1] = oid
                resolved = parameters.resolve(statement, typed, self._column_types)
        parsed = statement.parsed if resolved.sql == statement.for_duckdb else None
        source = statement
        found = table_functions.calls_in(statement)
        if statement.rewritten is not None:
            # What runs, for what reads the text after planning (privileges, column names).
            statement = statement.as_rewritten()
        plan = Plan(
            statement,
            resolved.sql,
            len(resolved.oids),
            resolved.stand_ins,
            batching.insert_shape(statement) if resolved.oids else None,
            resolved.casts,
            arrays=any(c is not None and c.endswith("]") for c in resolved.casts),
            superuser_only=superuser_only,
            at_parameters=at_parameters,
            parsed=None if at_parameters or found else parsed,
            source=source,
            table_calls=found,
            client=client,
        )
        if describe and statement.returns_rows:
            columns = self._describe(plan)
        return PreparedStatement(statement.sql, resolved.oids, columns, plan)

    def _describe(self, plan: Plan) -> tuple[Column, ...] | None:
        """Result columns without executing: DuckDB binds the query as a lazy relation."""
        if plan.superuser_only and storage_calls.parse(plan.statement) is not None:
            return storage_calls.columns()
        values = list(plan.describe_values)
        sql = plan.sql
        named = plan.statement.sql
        if plan.statement.kind in ("INSERT", "UPDATE", "DELETE"):
            # RETURNING: its list over the table's row, which binds without writing.
            query = None if plan.at_parameters else returning.describe_sql(sql)
            if query is None:
                return None
            sql = named = query
        elif plan.statement.kind not in ("SELECT", "EXPLAIN"):
            return None
        self._session.authorize(plan)
        self._session.detach_stream()
        if plan.at_parameters:
            sql, values = plan.bound(values, drop=True)
        sql = describing.statement(sql, values)
        try:
            relation = self._cursor.sql(sql)
            names, kinds = relation.columns, relation.types
        except duckdb.Error as exc:
            raise self._session.fail(exc, plan.sql) from exc
        return column_names.result_columns(
            named, zip(names, kinds, strict=True), self._session.result_scope()
        )

    def _infer_untyped(self, resolved: parameters.Parameters) -> dict[int, int]:
        """The types DuckDB's binder gives the placeholders left untyped, as PostgreSQL
        types an unknown operand by the other's: each is bound as a marked string literal
        and the plan, made without optimizing, shows the cast the binder put on it. Where
        the binder cannot choose between a function's numeric overloads (abs($1)), one
        placeholder at a time is tried as float8, the type PostgreSQL prefers there."""
        marks = describing.marked(resolved.stand_ins)
        preferred = [describing.preferring(marks, n) for n in describing.unmarked(marks)]
        attempts = [marks, *preferred[:4]]
        self._session.detach_stream()
        self._cursor.execute("PRAGMA disable_optimizer")  # which would fold the casts
        try:
            for attempt in attempts:
                sql = describing.statement(resolved.sql, attempt)
                try:
                    plan = self._cursor.execute("EXPLAIN (FORMAT json) " + sql).fetchall()
                except duckdb.Error as exc:
                    if describing.AMBIGUOUS not in str(exc) or "DOUBLE" not in str(exc):
                        return {}  # an error of the statement: Describe reports it
                    continue
                return describing.marked_types("\n".join(str(row[-1]) for row in plan))
            return {}
        finally:
            self._cursor.execute("PRAGMA enable_optimizer")

    def _check_constants(self, statement: Statement) -> None:
        """PostgreSQL converts string constants cast to a type while it analyses the
        statement, so malformed input fails at Parse (forge_sql.sql.constant_input); the
        constants are converted here, once per text (a valid list is remembered)."""
        if constant_input.WANTED.search(statement.sql) is None:
            return
        queries = constant_input.check_queries(statement.tokens)
        if queries is None or queries[0] in self._constants_valid:
            return
        tried, casts = (classify(q, self._session.rules).for_duckdb for q in queries)
        self._session.detach_stream()
        try:
            failed = self._cursor.execute(tried).fetchone()
            if failed is not None and failed[0]:
                self._cursor.execute(casts)  # raises the conversion's error
        except duckdb.Error as exc:
            if duckdb_errors.translate(exc).sqlstate.startswith("22"):
                raise self._session.fail(exc) from exc
            return  # not an input error: the statement reports what it has when it runs
        if len(self._constants_valid) >= _CONSTANTS_KEPT:
            self._constants_valid.clear()
        self._constants_valid.add(queries[0])

    def _check_target(self, statement: Statement) -> None:
        """PostgreSQL refuses INSERT, UPDATE and DELETE of a missing table at Parse (42P01),
        with the position of its name; DuckDB only when the statement runs."""
        found = parameters.target(statement)
        if found is None or found[0] in self._targets:
            return
        name, position = found
        self._session.detach_stream()
        try:
            self._cursor.sql(f"FROM {name}")  # binds the name, reads nothing
        except duckdb.CatalogException as exc:
            if "does not exist" not in str(exc):
                return
            bare = name.rsplit(".", 1)[-1].strip('"')
            raise self._session.fail(errors.UndefinedTable(
                f'relation "{bare}" does not exist', position=position + statement.offset + 1
            )) from exc
        except duckdb.Error:
            return  # not for Parse to judge: execution reports it
        self._targets.add(name)

    def _column_types(self, tables: Sequence[str]) -> dict[str, str]:
        """Column name -> DuckDB type for tables named in a statement (for inference)."""
        self._session.detach_stream()
        rows = self._cursor.execute(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE lower(table_name) IN (SELECT lower(unnest(?))) "
            "ORDER BY list_position(?, table_name), column_index",
            [list(tables), list(tables)],
        ).fetchall()
        found: dict[str, str] = {}
        for name, kind in rows:
            found.setdefault(name.lower(), kind)
        return found

    def _plan_cursor(
        self, statement: Statement, given: Sequence[int], describe: bool
    ) -> PreparedStatement:
        columns: tuple[Column, ...] | None = None
        if statement.words[0] != "DECLARE":
            fetch = sql_cursors.parse_fetch(statement)
            cursor = self._session.cursors.open.get(fetch.name)
            if fetch.verb == "FETCH" and cursor is not None:
                columns = cursor.columns
            plan = Plan(statement, statement.sql, 0)
            return PreparedStatement(statement.sql, tuple(given), columns, plan)
        declare = sql_cursors.parse_declare(statement)
        try:
            query = classify(declare.query, self._session.rules)
        except errors.ForgeError as exc:
            if exc.position is not None:
                exc.position += declare.offset + statement.offset  # from the query's start
            raise
        if query.kind != "SELECT":
            raise errors.InvalidCursorDefinition(
                f"cannot open {query.words[0] if query.words else 'empty'} query as cursor"
            )
        inner = self.plan(query, given, describe)
        inner_plan = inner.handle
        assert isinstance(inner_plan, Plan)
        if inner_plan.table_calls:
            raise errors.FeatureNotSupported(
                "DECLARE CURSOR over a Python table function is not supported",
                hint="read it with SELECT, or COPY (SELECT ...) TO STDOUT",
            )
        plan = Plan(
            statement,
            inner_plan.sql,
            inner_plan.param_count,
            inner_plan.describe_values,
            casts=inner_plan.casts,
            query=inner_plan.statement,
            arrays=inner_plan.arrays,
            source=inner_plan.source,
        )
        return PreparedStatement(statement.sql, inner.param_oids, None, plan)

