"""One client session over its own DuckDB cursor: routes each statement, by its kind, to
the part of the engine that answers it (transactions, savepoints, SQL cursors, COPY,
session and role commands) and runs the rest on DuckDB."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import duckdb

from forge_sql import errors
from forge_sql.catalog import SCHEMA as CATALOG_SCHEMA
from forge_sql.catalog import lake_objects
from forge_sql.catalog import rewrite as catalog_sql
from forge_sql.engine import (
    activity,
    batching,
    column_names,
    constant_rows,
    copy_statement,
    copyin,
    describing,
    lake_dml,
    lengths,
    lock_targets,
    locks,
    relations,
    returning,
    rules,
    savepoints,
    session_settings,
    sql_cursors,
    sql_prepared,
    storage_calls,
    sync_calls,
    table_functions,
    vacuum,
    view_bodies,
)
from forge_sql.engine.connection import Connection
from forge_sql.engine.constraints import Declarations
from forge_sql.engine.database import Database
from forge_sql.engine.declared_types import ColumnTypes, column_types
from forge_sql.engine.materialized_views import (
    MatviewCommands,
    not_populated,
    refused_write,
)
from forge_sql.engine.ownership import Ownership
from forge_sql.engine.plans import Plan, Planner
from forge_sql.engine.relation_ddl import RelationDdl
from forge_sql.engine.result import ArrowResult, RowsResult, TableResult, TagResult
from forge_sql.engine.result_sources import Relations, Scope
from forge_sql.engine.role_commands import RoleCommands
from forge_sql.engine.search_path import PG_CATALOG, SearchPath, SessionPath, qualify
from forge_sql.engine.sequence_commands import SequenceCommands
from forge_sql.engine.sequence_functions import search_path
from forge_sql.engine.session_commands import SessionCommands
from forge_sql.engine.session_locks import SessionLocks
from forge_sql.engine.transactions import TransactionBlock, ends_block
from forge_sql.plugins import faults
from forge_sql.plugins.scalars import DATABASE as MACRO_DATABASE
from forge_sql.seam.backend import (
    Column,
    CopyOut,
    PreparedStatement,
    Result,
    StartupInfo,
)
from forge_sql.sql import duckdb_errors as engine_errors
from forge_sql.sql import numeric, object_lists
from forge_sql.sql.configuration import SEMANTICS
from forge_sql.sql.quoting import literal, redact_passwords
from forge_sql.sql.rewrite import Rules
from forge_sql.sql.statements import Statement, classify, single, split

log = logging.getLogger(__name__)

# Kinds that run without the implicit transaction: reads, and statements DuckDB will not
# run inside a transaction.
_OUTSIDE_IMPLICIT = {"SELECT", "EXPLAIN", "CALL", "PRAGMA", "VACUUM", "ANALYZE", "EMPTY"}
# Kinds that change nothing a savepoint would have to undo.
_READS = {"SELECT", "EXPLAIN", "PRAGMA", "EMPTY"}
# Kinds a read-only transaction refuses (25006).
_WRITES = {
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "CREATE_FUNC",
    "DROP",
    "ALTER",
    "MERGE_INTO",
    "VACUUM",
    "CALL",
    "ROLE",
}
# Kinds that may create a relation, type or function in a schema.
_CREATES = {"CREATE", "CREATE_FUNC", "MATVIEW", "SEQUENCE", "COPY"}
# Kinds after which the creator of a table, view or schema is recorded as its owner.
_DDL = {"CREATE", "CREATE_FUNC", "ALTER", "DROP"}
# Statement kinds that read no data: a transaction that ran only these has taken no snapshot
# (savepoints are the server's own journal until a ROLLBACK TO runs writes again).
_SNAPSHOT_FREE = {"TRANSACTION", "SETTING", "SESSION", "VACUUM", "EMPTY"}
# Kinds whose DuckDB result is one row holding the number of rows they changed (CREATE
# TABLE AS too: _counts_rows), which PostgreSQL reports in the command tag only.
_COUNTED = {"INSERT", "UPDATE", "DELETE", "MERGE_INTO"}
T = TypeVar("T")

_ACCESSES_KEPT = 512  # statements whose relation accesses a session remembers
_TEXTS_KEPT = 256  # query strings whose split a session remembers
_TEXT_KEPT_CHARS = 4096  # longer ones (bulk INSERT ... VALUES) are split each time


class EngineSession:
    """Implements seam.backend.BackendSession over one DuckDB cursor."""

    def __init__(self, database: Database, startup: StartupInfo,
                 superuser: bool | None = None) -> None:
        """``superuser``: None to follow the configuration (a client); True for a process
        that opened the data directory itself (offline migrate)."""
        self._database = database
        self._startup = startup
        self.settings = session_settings.SessionSettings(
            dict(startup.parameters), session_settings.server_defaults(database.settings)
        )
        if superuser is None:
            superuser = database.is_superuser(startup.user)
        if not superuser:
            self.settings.server_value("is_superuser", "off")
        self._superuser = superuser  # storage maintenance: superusers only
        self.backend = activity.BackendStatus(
            startup.process_id, startup.user, startup.database, superuser, startup.remote, self
        )
        self.cursors = sql_cursors.Cursors(database.data_dir / "tmp")
        self.batch_rows = database.settings.batch_rows
        self.batch_bytes = database.settings.batch_bytes
        connection = self._connection = Connection(
            database.cursor(),
            self.cursors,
            database.locks,
            self.backend.token,
            database.workload,
            self._statement_timeout,
            self.batch_rows,
            self.batch_bytes,
        )
        connection.superuser = superuser  # an extension function's traceback: superusers
        self._cursor = connection.raw  # for the parts that read a result just executed
        self._execution = connection.execution
        self.locks = SessionLocks(
            database, self.backend, self.settings, connection, self.cancel_requested
        )
        # Reading a live SQL cursor reads the lake: the catalog is held as by a statement.
        self.cursors.reading = lambda: self.locks.holding_catalog(locks.ACCESS_SHARE)
        self._table_functions = table_functions.Caller(
            connection, database.table_functions, startup.user, superuser,
            database.settings.extension_settings,
            {k: v.get_secret_value() for k, v in database.settings.secrets.items()},
            authorize=lambda statement: self.authorize(Plan(statement, statement.sql, 0)),
            progress=self.backend.reporting,
        )
        self._declarations = Declarations(connection, database.catalog)
        self._lake_dml = lake_dml.LakeDml(connection, database.catalog, self._declarations)
        # Views a DROP ... CASCADE removes lose their owner rows as the dropped relation does
        # (inside the step the replay already runs again, so not recorded twice).
        self._relation_ddl = RelationDdl(
            connection, self._declarations, database.catalog,
            lambda dropped: self._record_owner(dropped, replay=False),
        )
        self.block = TransactionBlock(
            connection, database, self.settings, self.backend.token, self.locks.ending_transaction
        )
        self._planner = Planner(
            self._cursor, self, self.locks.reading_catalog, database.sandbox, superuser
        )
        self._inserts = batching.Gathering(self._cursor, self)
        self._savepoints = savepoints.Savepoints(
            self.block, connection, database, self._declarations, self.settings,
            self._lake_dml,
        )
        self._cursor_commands = sql_cursors.CursorCommands(self.cursors, connection, self.block)
        self._commands = SessionCommands(
            self.settings,
            self.block,
            self.cursors,
            database,
            self.backend.token,
            self.apply_timezone,
        )
        # The token lets pg_functions know the calling session; it is random, so a client
        # cannot act as another session by setting the variable.
        connection.execute(f"SET VARIABLE forge_session = '{self.backend.token}'")
        # current_user and friends name the session's role (DuckDB's say "duckdb"), as
        # has_table_privilege(current_user, ...) and clients' catalog queries expect.
        user = literal(startup.user)
        connection.execute("".join(
            f"CREATE OR REPLACE TEMP MACRO {name}() AS {user};"
            for name in ("current_user", "session_user", "current_role", '"user"')
        ))
        # Unqualified names resolve through the session's search_path (engine.search_path).
        self._path = SessionPath(
            database.catalog, CATALOG_SCHEMA, MACRO_DATABASE,
            lambda sql, params=None: connection.execute(
                sql, params, interruptible=False).fetchall(),
            lambda sql: connection.execute(sql, interruptible=False),
            lambda: database.schema_generation,
        )
        database.activity.register(self.backend)
        self._roles = RoleCommands(
            connection, database.catalog, database.checker, lambda: self.applied_search_path.order()
        )
        self._sequences = SequenceCommands(
            connection, database.sequences, database.catalog, database.acl, database.trusted
        )
        self._column_types = ColumnTypes(connection, database.catalog, database.declared_lengths)
        # Result types follow declared types (engine.result_sources); not while this
        # session's own DDL is uncommitted, which the shared reading does not show.
        self._ddl_pending = False
        # Tables CREATE TABLE made in the open transaction, with their declared types;
        # None after other DDL in it (result types then as DuckDB gives them).
        self._created: dict[tuple[str, str], tuple[tuple[str, str], ...]] | None = {}
        self._overlaid: tuple[Relations, Relations] | None = None  # (shared, with _created)
        self._scope: tuple[SearchPath, Relations, Scope] | None = None
        connection.result_scope = self.result_scope
        self._ownership = Ownership(connection, database.catalog, database.checker)
        self._accesses: dict[str, list[relations.Access]] = {}
        self._texts: dict[str, tuple[Statement, ...]] = {}
        self._duckdb_texts: dict[str, tuple[Statement, ...]] = {}  # forge.semantics = duckdb
        self._texts_path: str | None = None  # the search_path the texts were split under
        self._table_functions_seen = table_functions.generation()
        self._catalog_copies = False  # the cursor's catalog views read the snapshot copies
        self._prepared: dict[str, list[relations.Access]] = {}  # PREPARE name -> accesses
        # What answers each kind of statement; the others run on DuckDB (_statement).
        self._by_kind: dict[str, Callable[[Plan, Sequence[object]], Result]] = {
            "TRANSACTION": self._transaction,
            "SETTING": lambda plan, _: self._commands.setting(plan.statement),
            "SESSION": self._session_command,
            "PREPARE": self._prepare_statement,
            "EXECUTE": self._execute_prepared,
            "ROLE": self._role_command,
            "CURSOR": self._sql_cursor,
            "COPY": self._copy,
            "VACUUM": self._vacuum,
            "SEQUENCE": self._sequence_command,
            "MATVIEW": self._matview_command,
        }
        self._sql_prepared = sql_prepared.Prepared(  # PREPARE of table-function calls
            self._planned, self._fetch_row,
            lambda plan, values: self._run_prepared(plan, values),
        )
        self._matviews = MatviewCommands(
            database.matviews, database.catalog, self._nested, self._write_meta,
            self._relation_exists, self._owns,
        )
        self.apply_timezone()

    @property
    def function_error(self) -> errors.ForgeError | None:
        """The error a Python function of this session raised inside DuckDB (pg_functions)."""
        return self._connection.function_error

    @function_error.setter
    def function_error(self, error: errors.ForgeError | None) -> None:
        self._connection.function_error = error

    # -- BackendSession -----------------------------------------------------------------
    @property
    def transaction_status(self) -> str:
        return self.block.status

    @property
    def search_path(self) -> SearchPath:
        """The session's search path, resolved and set on its cursor."""
        if self.block.status == "E":
            return self._path.current  # DuckDB runs nothing until ROLLBACK
        database = self._database
        acl = None if self._superuser or database.trusted else database.acl()
        return self._path.follow(
            self.settings.get("search_path"), self.backend.user, acl, self.block.in_transaction
        )

    @property
    def applied_search_path(self) -> SearchPath:
        """The search path the cursor has now (functions called while DuckDB runs a
        statement of this session must not run SQL on its cursor)."""
        return self._path.current

    def split(self, sql: str) -> list[PreparedStatement]:
        self.search_path  # noqa: B018 -- Parse binds with DuckDB: resolve first
        return [
            self._planner.plan(statement, (), describe=False)
            for statement in self._split(sql)
        ]

    def prepare(self, sql: str, param_oids: Sequence[int]) -> PreparedStatement:
        self.search_path  # noqa: B018 -- Parse binds with DuckDB: resolve first
        catalog_commits = self._database.locks.catalog_commits
        prepared = self._planner.plan(single(self._split(sql)), param_oids, describe=True)
        if isinstance(prepared.handle, Plan):
            prepared.handle = dataclasses.replace(prepared.handle, catalog_commits=catalog_commits)
        return prepared

    def _catalog_changed_since(self, statement: PreparedStatement) -> bool:
        """Whether a transaction changing the catalog committed since ``statement`` was
        described (only then can its result's types differ from its Describe's)."""
        plan = statement.handle
        return not isinstance(plan, Plan) or (
            plan.catalog_commits != self._database.locks.catalog_commits)

    @property
    def rules(self) -> Rules:
        """The rewrite rules of the session's ``forge.semantics``."""
        return rules.for_semantics(self.settings.get(SEMANTICS))

    def _split(self, sql: str) -> tuple[Statement, ...]:
        """``split(sql, rules)``, remembered per query string: a statement's kind, tokens,
        rewrite and DuckDB parse depend on its text alone (and the session's semantics,
        which choose the rules), and clients send the same few texts again and again
        (tokenizing and parsing cost more than running SELECT 1)."""
        chosen = self.rules
        path = self.settings.get("search_path")
        if self._table_functions_seen != table_functions.generation() or path != self._texts_path:
            # Extensions were reloaded: table-function calls rewrite differently now. And
            # what is split under one search path is not kept for another (names resolve
            # differently; today the split depends on the text alone).
            self._table_functions_seen = table_functions.generation()
            self._texts_path = path
            self._texts.clear()
            self._duckdb_texts.clear()
        if len(sql) > _TEXT_KEPT_CHARS:
            return tuple(split(sql, chosen))
        texts = self._texts if chosen is rules.RULES else self._duckdb_texts
        return _remember(texts, sql, lambda: tuple(split(sql, chosen)), _TEXTS_KEPT)

    def execute(self, statement: PreparedStatement, params: Sequence[object]) -> Result:
        plan = statement.handle
        assert isinstance(plan, Plan)
        if plan.client is not None:
            plan = self._replanned(plan, statement.param_oids)
        kind = plan.statement.kind
        # The client's text (a table function's call, not the stand-in the pass put there).
        shown = plan.client or (
            plan.source if plan.table_calls and plan.source is not None else plan.statement)
        self.backend.active(redact_passwords(shown.sql))
        self._execution.begin()
        if self._database.invalidated is not None:
            raise engine_errors.crash(self._database.invalidated)
        if self.block.status == "E" and not ends_block(plan.statement):
            raise errors.InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        if kind == "EMPTY":
            return TagResult("")
        if len(params) != plan.param_count and plan.param_count:
            raise errors.ProtocolError(
                f"bind message supplies {len(params)} parameters, "
                f"but prepared statement requires {plan.param_count}"
            )
        if plan.arrays and params:
            sql = plan.bound(params, travel=False)[0]
            if sql != plan.sql:
                plan = dataclasses.replace(plan, sql=sql, batch=None)
        try:
            self.search_path  # noqa: B018 -- SET, RESET or ROLLBACK may have changed it
            semantics = self.settings.get(SEMANTICS)
            if semantics != self._connection.semantics:
                # SET, RESET, set_config or a rollback changed it: NULL order is the cursor's.
                self._connection.set_semantics(semantics)
            if params:  # NaN, and digits the unconstrained numeric would round: refused
                params = numeric.check_parameters(params, statement.param_oids, plan.casts)
            if self.search_path.creation is None and kind in _CREATES:
                self._creates_nowhere(plan)
            if not self._superuser:
                with self.locks.holding_catalog(locks.ACCESS_SHARE):  # reads roles from the lake
                    self.authorize(plan)
            if self._database.matviews.unpopulated and kind not in _SNAPSHOT_FREE:
                self._refuse_unpopulated(plan)
            inserts = self._inserts
            if inserts.pending is not None:
                if inserts.pending.accepts(plan.batch, plan.casts):
                    return self._gather(plan, params)
                with self.locks.holding_catalog(locks.ACCESS_SHARE):
                    inserts.flush()
            result = self._by_kind.get(kind, self._statement)(plan, params)
            if kind not in _SNAPSHOT_FREE:
                self.block.touched = True
            if statement.columns is not None and self._catalog_changed_since(statement) and (
                describing.result_changed(
                    statement.columns, result.columns, kind == "SELECT" and not plan.param_count
                )
            ):
                result.close()
                raise errors.FeatureNotSupported("cached plan must not change result type")
            return result
        except errors.ForgeError as exc:
            if self._inserts.failed(exc):
                raise  # an earlier, gathered row failed: already translated
            raise plan.locate(self.fail(exc, plan.sql)) from exc
        except BaseException as exc:
            raise plan.locate(self.fail(exc, plan.sql)) from exc

    # -- statement kinds ------------------------------------------------------------------
    def _transaction(self, plan: Plan, params: Sequence[object]) -> Result:
        """BEGIN, COMMIT, ROLLBACK; SAVEPOINT, RELEASE, ROLLBACK TO."""
        if not savepoints.is_command(plan.statement):
            return self.block.command(plan.statement)
        # ROLLBACK TO rolls the DuckDB transaction back and runs writes again.
        changes = self.locks.changes_catalog
        mode = locks.ACCESS_EXCLUSIVE if changes else locks.ACCESS_SHARE
        with self.locks.holding_catalog(mode):
            return self._savepoints.command(plan.statement)

    def _maintenance(self, plan: Plan) -> Result | None:
        """CALL forge_compact() and friends (superusers only), or None for the others."""
        if not plan.superuser_only:
            return None
        if not self._superuser:
            raise storage_calls.refuse(plan.statement)
        call = storage_calls.parse(plan.statement)
        return None if call is None else self._maintain(call)

    def _sql_cursor(self, plan: Plan, params: Sequence[object]) -> Result:
        """DECLARE, FETCH, MOVE."""
        maintained = self._maintenance(plan)
        if maintained is not None:
            return maintained
        with self.locks.holding_catalog(locks.ACCESS_SHARE):
            return self._cursor_commands.run(plan.statement, plan.sql, params)

    def _copy(self, plan: Plan, params: Sequence[object]) -> Result:
        """COPY ... FROM STDIN and COPY ... TO STDOUT."""
        maintained = self._maintenance(plan)
        if maintained is not None:
            return maintained
        copy = copy_statement.parse(plan.statement)
        if copy.direction == "out":
            return self.locks.holding_catalog_for(
                locks.ACCESS_SHARE, lambda: self._copy_out(plan.statement, copy)
            )
        self._refuse_if_read_only(plan)
        return self._in_transaction(plan, params, copy)

    def _vacuum(self, plan: Plan, params: Sequence[object]) -> Result:
        """VACUUM and ANALYZE: checked, with nothing to do on this storage (engine.vacuum)."""
        self._connection.detach_stream()
        with self.locks.holding_catalog(locks.ACCESS_SHARE):
            return vacuum.run(plan.statement, self._connection, self.block.in_transaction)

    def _statement(self, plan: Plan, params: Sequence[object]) -> Result:
        """What DuckDB runs: queries, DML and DDL."""
        maintained = self._maintenance(plan)
        if maintained is not None:
            return maintained
        if plan.statement.kind in _WRITES:
            self._refuse_if_read_only(plan)
        return self._in_transaction(plan, params, None)

    def _refuse_if_read_only(self, plan: Plan) -> None:
        if self.settings.read_only:
            raise errors.ReadOnlySqlTransaction(
                f"cannot execute {plan.statement.words[0]} in a read-only transaction"
            )

    def _in_transaction(
        self, plan: Plan, params: Sequence[object], copy: copy_statement.CopyStatement | None
    ) -> Result:
        """Run ``plan`` in the session's transaction (the implicit one if none is open),
        holding the locks it needs."""
        kind = plan.statement.kind
        block = self.block
        if kind not in _OUTSIDE_IMPLICIT and not block.in_transaction:
            block.begin_implicit()  # reads alone need no transaction
        self._lock(plan.statement, copy is not None)
        ddl = kind in lock_targets.DDL
        if ddl:
            self._connection.detach_stream()  # its result holds the catalog shared
        return self.locks.holding_catalog_for(
            locks.ACCESS_EXCLUSIVE if ddl else locks.ACCESS_SHARE,
            lambda: self._perform(plan, params, copy),
        )

    # -- SQL PREPARE of table-function calls (engine.sql_prepared) --------------------------
    def _prepare_statement(self, plan: Plan, params: Sequence[object]) -> Result:
        kept = self._sql_prepared.prepare(plan.source or plan.statement)
        return kept if kept is not None else self._statement(plan, params)

    def _execute_prepared(self, plan: Plan, params: Sequence[object]) -> Result:
        ran = self._sql_prepared.execute(plan.source or plan.statement)
        return ran if ran is not None else self._statement(plan, params)

    def _session_command(self, plan: Plan, params: Sequence[object]) -> Result:
        self._sql_prepared.forget(plan.statement)
        return self._commands.session_command(plan.statement)

    def _run_prepared(self, plan: Plan, values: Sequence[object]) -> Result:
        if plan.client is not None:
            plan = self._replanned(plan, ())
        return self._by_kind.get(plan.statement.kind, self._statement)(plan, values)

    def _planned(self, sql: str) -> Plan:
        handle = self._planner.plan(classify(sql, self.rules), (), describe=False).handle
        assert isinstance(handle, Plan)
        return handle

    def _fetch_row(self, plan: Plan) -> Sequence[object]:
        if not self._superuser:
            self.authorize(plan)
        return self._connection.execute(plan.sql).fetchone() or ()

    # -- roles and privileges --------------------------------------------------------------
    def authorize(self, plan: Plan) -> None:
        """Refuse (42501) what the session's role may not do to the relations the
        statement names (forge_sql.engine.grants); superusers may do anything."""
        if self._superuser:
            return
        # DECLARE: the cursor's query; views expanded: the client's text (their owners').
        statement = plan.query or plan.client or plan.statement
        accesses = self._relation_accesses(statement)
        if statement.kind == "PREPARE" and len(statement.tokens) > 1:
            name = statement.tokens[1].text.strip('"').lower()
            self._prepared[name] = accesses
        if not accesses:
            return
        database, path = self._database, self.search_path
        order = path.order()
        acl = database.acl()
        qualified = qualify(accesses, order, acl.relations, acl.catalog_names)
        if len(path.lake_schemas) > 1 or any(
            not (a.name.schema or a.name.catalog) and a.action not in (
                relations.CREATE, relations.EXECUTE) and a.name.name not in acl.catalog_names
            for a in qualified
        ):
            # A name the path may resolve to a relation the reading of the lake does not
            # hold yet: read it again, so the check sees what DuckDB will.
            acl = database.acl(fresh=True)
            qualified = qualify(accesses, order, acl.relations, acl.catalog_names)
        database.checker.check(
            acl, self.backend.user, qualified, self._prepared.get,
            lambda: database.acl(fresh=True), order,
        )

    def expand_views(self, statement: Statement) -> Statement | None:
        """The statement with the views calling table functions that it reads expanded."""
        return table_functions.expand_views(
            statement, lambda: self._database.acl().relations, self._visible_views, self.rules)

    def _replanned(self, plan: Plan, oids: Sequence[int]) -> Plan:
        """A plan whose views were expanded, planned again if they have changed since (as
        PostgreSQL plans a prepared statement again after DDL on what it reads)."""
        assert plan.client is not None
        fresh = self.expand_views(plan.client)
        if fresh is not None and plan.source is not None and fresh.sql == plan.source.sql:
            return plan
        handle = self._planner.plan(plan.client, oids, describe=False).handle
        assert isinstance(handle, Plan)
        return handle

    def _visible_views(self) -> tuple[dict[tuple[str, str], str], frozenset[str]]:
        with self.locks.reading_catalog():
            return table_functions.visible_views(self._connection, self._database.catalog)

    def _relation_accesses(self, statement: Statement) -> list[relations.Access]:
        return _remember(
            self._accesses, statement.sql, lambda: relations.accesses(statement), _ACCESSES_KEPT
        )

    def _resolved(self, statement: Statement) -> list[relations.Access]:
        """The relations ``statement`` names, unqualified ones as the search path resolves
        them (engine.search_path.qualify)."""
        acl = self._database.acl()
        return qualify(self._relation_accesses(statement), self.search_path.order(),
                       acl.relations, acl.catalog_names, every=False)

    def _creates_nowhere(self, plan: Plan) -> None:
        """CREATE of an unqualified name when no schema of search_path exists: 3F000."""
        statement = plan.query or plan.statement
        for access in self._relation_accesses(statement):
            name = access.name
            if access.action == relations.CREATE and not (
                    name.schema or name.catalog or access.temporary):
                self.search_path.creation_schema()

    def _role_command(self, plan: Plan, params: Sequence[object]) -> Result:
        """CREATE ROLE, GRANT, REVOKE ...: rows of the lake's role tables, written in the
        session's transaction (so they commit or roll back with it)."""
        self._refuse_if_read_only(plan)
        self._connection.detach_stream()
        block = self.block
        if not block.in_transaction:
            block.begin_implicit()
        self.locks.acquire([(locks.ROLES, locks.EXCLUSIVE)])
        self._database.acl_changing()
        statement, acl, user = plan.statement, self._database.acl(), self.backend.user
        result = self._roles.run(statement, acl, user)
        block.record(statement, plan.sql, (), "role and privilege commands are not kept")
        if block.implicit:
            block.replay.record(lambda: self._roles.run(statement, acl, user))
        return result

    def _sequence_command(self, plan: Plan, params: Sequence[object]) -> Result:
        """CREATE / ALTER / DROP SEQUENCE (forge_sql.engine.sequence_commands)."""
        self._refuse_if_read_only(plan)
        self._connection.detach_stream()
        block = self.block
        if not block.in_transaction:
            block.begin_implicit()
        with self.locks.holding_catalog(locks.ACCESS_SHARE):
            result = self._sequences.run(
                plan.statement, self.search_path.normalized, self.backend.user,
                self._superuser, block.at_end,
            )
        block.record(plan.statement, plan.sql, (), "sequence commands are not kept")
        block.replay.spoil()
        return result

    def _matview_command(self, plan: Plan, params: Sequence[object]) -> Result:
        """CREATE / REFRESH / DROP MATERIALIZED VIEW (engine.materialized_views): the
        statements they stand for run in the session's transaction."""
        self._refuse_if_read_only(plan)
        self._connection.detach_stream()
        block = self.block
        if not block.in_transaction:
            block.begin_implicit()
        block.replay.spoil()  # forge_meta rows are written beside the statements
        result = self._matviews.run(plan.statement, block.at_end)
        block.record(plan.statement, plan.sql, (), "materialized view commands are not kept")
        return result

    def _nested(self, sql: str) -> Result:
        """Run ``sql`` as the session's next statement would run (a materialized view's
        CREATE TABLE, DELETE and INSERT)."""
        prepared = self._planner.plan(single(self._split(sql)), (), describe=False)
        return self.execute(prepared, [])

    def _write_meta(self, sql: str, params: list[object]) -> None:
        self._connection.execute(sql, params)

    def _relation_exists(self, schema: str, name: str) -> bool:
        return bool(self._connection.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = $1 AND schema_name = $2 "
            "AND table_name = $3 UNION ALL SELECT 1 FROM duckdb_views() "
            "WHERE database_name = $1 AND schema_name = $2 AND view_name = $3",
            [self._database.catalog, schema, name],
        ).fetchall())

    def _owns(self, key: tuple[str, str]) -> bool:
        if self._superuser or self._database.trusted:
            return True
        return self._database.acl().owns(self.backend.user, ("r", key[0], key[1]))

    def _refuse_unpopulated(self, plan: Plan) -> None:
        """Reading a materialized view created WITH NO DATA: 55000, as PostgreSQL."""
        unpopulated = self._database.matviews.unpopulated
        for access in self._resolved(plan.query or plan.statement):
            key = (access.name.schema or "public", access.name.name)
            if access.action == relations.READ and key in unpopulated:
                raise not_populated(key[1])

    def _refuse_matview_write(self, plan: Plan) -> None:
        """INSERT, UPDATE, DELETE, TRUNCATE or DROP TABLE of a materialized view (42809)."""
        if self._matviews.refreshing or not self._database.matviews.all():
            return
        statement = plan.statement
        writes = (relations.INSERT, relations.UPDATE, relations.DELETE, relations.TRUNCATE)
        targets = [
            (a.name.schema or "public", a.name.name)
            for a in self._resolved(statement)
            if a.action in writes or (a.action == relations.OWN and statement.words[:1] == [
                "DROP"])
        ]
        refused_write(statement, self._database.matviews, targets)

    def _columns_from_sequences(self, plan: Plan) -> Plan:
        """serial, identity and nextval columns of CREATE/ALTER TABLE: their sequences made,
        the statement rewritten for DuckDB (forge_sql.engine.serial_columns)."""
        rewritten = self._sequences.columns(
            plan.statement, self.search_path.normalized, self.backend.user,
            self.block.at_end,
        )
        if rewritten is None:
            return plan
        self.block.replay.spoil()
        statement = single(split(rewritten.sql, self.rules))
        return dataclasses.replace(
            plan, statement=statement, sql=statement.for_duckdb, parsed=statement.parsed
        )

    def _record_owner(self, statement: Statement, replay: bool = True) -> None:
        """The DDL succeeded: record the owner of what it created (with users configured)."""
        if self._database.trusted:
            return
        accesses = self._relation_accesses(statement)
        if not accesses:
            return
        self._database.acl_changing()
        acl, user = self._database.acl(), self.backend.user
        if user not in acl.roles:
            return  # offline migrate as an OS user: the bootstrap superuser owns it
        accesses = qualify(
            accesses, self.applied_search_path.order(), acl.relations, acl.catalog_names,
            every=False,
        )
        self._ownership.after(statement, accesses, acl, user)
        if replay and self.block.implicit:
            self.block.replay.record(lambda: self._ownership.after(statement, accesses, acl, user))

    def _perform(
        self, plan: Plan, params: Sequence[object], copy: copy_statement.CopyStatement | None
    ) -> Result:
        block = self.block
        if plan.statement.kind in ("INSERT", "UPDATE", "DELETE", "MERGE_INTO", "DROP"):
            self._refuse_matview_write(plan)
        if plan.statement.kind in ("INSERT", "UPDATE"):
            self._sequences.check_identity(
                plan.statement, self.search_path.normalized, self.backend.user
            )
            plan, params = self._fit_lengths(plan, params)
        elif plan.statement.words[:1] == ["TRUNCATE"]:
            self._sequences.restart_identity(
                plan.statement, self.search_path.normalized, self.backend.user,
                block.at_end,
            )
        if copy is not None:
            block.record(plan.statement, plan.sql, params, "COPY data is not kept")
            block.replay.spoil()  # the data is consumed as it arrives
            return copyin.start(block, self._connection, self._database, copy)
        if plan.batch is not None and params and self._inserts.collecting and (
            block.implicit or block.status == "T"
        ):
            return self._gather(plan, params)
        dropped: set[tuple[str, str | None]] = set()
        several = object_lists.parse(plan.statement.sql, plan.statement.tokens)
        if several is not None:  # DROP TABLE a, b / TRUNCATE a, b: one DuckDB statement each
            plan = dataclasses.replace(plan, sql=several.duckdb_sql(), parsed=None)
        if plan.statement.kind in ("CREATE", "ALTER", "DROP"):
            self._read_catalog_copies(False)
            if plan.statement.kind == "CREATE" and "VIEW" in plan.statement.words[:5]:
                plan = self._view_resolved(plan)
            plan = self._columns_from_sequences(plan)
            dropped = self._sequences.follow_ddl(
                plan.statement, self.search_path.normalized, self.backend.user,
                block.at_end,
            )
            declared = self._relation_ddl.execute(plan.statement)
            if declared is not None:
                block.record(plan.statement, plan.sql, params)
                if block.implicit:
                    ddl = plan.statement
                    block.replay.record(lambda: self._relation_ddl.execute(ddl))
                self._record_owner(plan.statement)
                self._record_column_types(plan.statement, dropped)
                return declared
        if returning.handles(plan.statement):
            written = self._lake_written(plan, params)
            if written is not None:
                return written
        result = self._run(plan, params)
        if plan.statement.kind in _DDL and plan.statement.words[1:2] == ["SCHEMA"]:
            database = self._database  # search paths name schemas that may now (not) exist
            database.schemas_changed()
            block.at_end.append(lambda _: database.schemas_changed())
        if plan.statement.kind in _DDL:
            self._record_owner(plan.statement)
            if plan.statement.kind != "CREATE_FUNC":
                self._record_column_types(plan.statement, dropped)
        return result

    def _view_resolved(self, plan: Plan) -> Plan:
        """CREATE VIEW with its query's relations resolved now (engine.view_bodies)."""
        sql = view_bodies.qualified(plan.sql, self.search_path.creation, self._locate)
        return plan if sql is None else dataclasses.replace(plan, sql=sql, parsed=None)

    def _locate(self, names: set[str]) -> dict[str, str | None]:
        """The schema each relation name resolves to through the search path, as this
        session's transaction sees the lake; None: temporary, the catalog's, or missing."""
        listed = ", ".join(literal(n) for n in sorted(names))
        # duckdb_columns() lists tables and views alike; duckdb_tables() would ask DuckLake
        # for every table's statistics.
        rows = self._connection.execute(
            "SELECT DISTINCT database_name, schema_name, lower(table_name) FROM "
            f"duckdb_columns() WHERE lower(table_name) IN ({listed})"
        ).fetchall()
        lake, (catalog_database, catalog_schema) = self._database.catalog, CATALOG_SCHEMA.split(".")
        found: dict[str, str | None] = {}
        for name in names:
            places = {(d, s) for d, s, n in rows if n == name}
            found[name] = None
            if any(d == "temp" for d, _ in places):
                continue
            for schema in self.search_path.order():
                if schema == PG_CATALOG:
                    if (catalog_database, catalog_schema) in places:
                        break
                elif (lake, schema) in places:
                    found[name] = schema
                    break
        return found

    def _lake_written(self, plan: Plan, params: Sequence[object]) -> Result | None:
        """RETURNING and ON CONFLICT on a lake table, which the server runs itself
        (engine.lake_dml); None when DuckDB runs the statement as written."""
        sql, values = plan.bound(params) if plan.at_parameters else (plan.sql, list(params))
        self._read_catalog_copies(False)
        statement, dml = plan.statement, self._lake_dml
        result = dml.run(statement, sql, values)
        if result is None:
            return None
        block = self.block
        block.record(statement, sql, values)  # ROLLBACK TO runs it again the same way
        if block.implicit:
            if statement.returns_rows:
                block.replay.spoil()  # the rows go to the client: it has seen this run
            else:
                block.replay.record(lambda: dml.run(statement, sql, values))
        return result

    def _record_column_types(
        self, statement: Statement, dropped: set[tuple[str, str | None]] | None = None
    ) -> None:
        """The DDL succeeded: record the string types it declared (engine.declared_types)."""
        path, user = self.applied_search_path.normalized, self.backend.user
        self._column_types.record(statement, path, user, dropped or set())
        if not self._ddl_pending:
            self._ddl_pending = True
            self.block.at_end.append(self._ddl_ended)
        self._note_created(statement, path, user)
        if self.block.implicit:
            self.block.replay.record(
                lambda: self._column_types.record(statement, path, user, dropped or set())
            )

    def _ddl_ended(self, committed: bool) -> None:
        self._ddl_pending = False
        self._created, self._overlaid = {}, None
        self._database.result_sources.changed()

    def _note_created(self, statement: Statement, path: str | None, user: str) -> None:
        """Keep what a CREATE TABLE of the open transaction declared, which the shared
        reading of the catalog does not show until it commits."""
        declared = column_types(statement)
        if self._created is None:
            return
        if declared is None or statement.words[:1] != ["CREATE"]:
            self._created = None
            return
        parts, columns = declared
        default = next(iter(search_path(path, user)), "public")  # path: SearchPath.normalized
        schema = parts[-2] if len(parts) > 1 else default
        self._created[(schema.lower(), parts[-1].lower())] = tuple(
            (column.lower(), spelled) for column, spelled in columns
        )
        self._overlaid = None

    def result_scope(self) -> Scope | None:
        """The relations and search path result types are worked out with."""
        relations = self._database.result_sources.relations()
        if self._ddl_pending:
            if self._created is None:
                return None
            overlaid = self._overlaid
            if overlaid is None or overlaid[0] is not relations:
                overlaid = (relations, relations.overlaid(self._created))
                self._overlaid = overlaid
            relations = overlaid[1]
        path = self.applied_search_path  # called while a result is read: no SQL here
        known = self._scope
        if known is not None and known[0] == path and known[1] is relations:
            return known[2]
        scope = Scope(relations, path.lake_schemas)
        self._scope = (path, relations, scope)
        return scope

    def _lock(self, statement: Statement, copy_in: bool) -> None:
        """Take the locks ``statement`` needs, held to the end of the transaction, before
        DuckDB reads anything for it: a writer that waited then works on the data the
        previous holder committed (forge_sql.engine.locks)."""
        self.locks.statement_locks(
            statement, copy_in, self.block, self._savepoints.renew_snapshot
        )

    def refresh_catalog(self) -> None:
        self._database.refresh_catalog()

    def _fit_lengths(
        self, plan: Plan, params: Sequence[object]
    ) -> tuple[Plan, Sequence[object]]:
        """What an INSERT or UPDATE writes to varchar(n) / char(n) columns, fitted or
        refused (22001) as PostgreSQL does (forge_sql.engine.lengths)."""
        declared = self._database.declared_lengths
        connection = self._connection
        found = lengths.target(plan.statement)
        if found is None or not declared.any(connection):
            return plan, params
        parts = found[0]
        schemas = self.search_path.lake_schemas
        schema = parts[-2] if len(parts) > 1 else schemas[0] if len(schemas) == 1 else next(
            (s for s in schemas if self._relation_exists(s, parts[-1])), "public"
        )
        limits = declared.of(connection, schema, parts[-1])
        if not limits:
            return plan, params

        def columns() -> list[str]:
            return [c for (c,) in connection.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = "
                "current_database() AND schema_name = ? AND table_name = ? "
                "ORDER BY column_index", [schema, parts[-1]],
            ).fetchall()]

        statement = plan.statement
        fitted = lengths.apply(statement, statement.sql, params, limits, columns)
        if fitted.sql != statement.sql:
            statement = single(split(fitted.sql, self.rules))
            plan = dataclasses.replace(
                plan, statement=statement, sql=statement.for_duckdb, parsed=statement.parsed,
                batch=None,
            )
        return plan, fitted.params

    def _gather(self, plan: Plan, params: Sequence[object]) -> Result:
        """Keep the row of a pipelined single-row INSERT for one Arrow insert later."""
        if self._database.declared_lengths.any(self._connection):
            plan, params = self._fit_lengths(plan, params)
        return self._inserts.gather(plan.statement, plan.sql, plan.batch, plan.casts, params)

    def execute_many(
        self, statement: PreparedStatement, param_sets: Sequence[Sequence[object]]
    ) -> tuple[list[Result], Exception | None]:
        """A single-row INSERT's parameter sets become one Arrow insert (engine.batching);
        other statements run one set after the other, up to a result with rows or a COPY
        (the wire reads it, then comes back with the rest)."""
        plan = statement.handle
        results: list[Result] = []
        if not isinstance(plan, Plan) or plan.batch is None or plan.arrays:
            for params in param_sets:
                try:
                    result = self.execute(statement, params)
                except errors.ForgeError as exc:
                    return results, exc
                results.append(result)
                if result.columns is not None or result.copy is not None:
                    break
            return results, None
        inserts = self._inserts
        inserts.start()
        try:
            for params in param_sets:
                pending = inserts.pending
                if (pending is not None and len(params) == plan.param_count
                        and pending.accepts(plan.batch, plan.casts)):
                    # What execute does with the rows after the first, without the checks
                    # that the first made for the whole call (status, privileges, locks).
                    results.append(self._gather(plan, params))
                else:
                    results.append(self.execute(statement, params))
            if inserts.pending is not None:
                with self.locks.holding_catalog(locks.ACCESS_SHARE):
                    inserts.flush()
        except errors.ForgeError as exc:
            at = inserts.failed_at if inserts.failed_at is not None else len(results)
            return results[:at], exc
        finally:
            inserts.stop()
        return results, None

    def error_occurred(self) -> None:
        self.block.error_occurred()

    @property
    def pending_commit(self) -> bool:
        return self.block.implicit

    def sync(self) -> None:
        if self.block.implicit:
            try:
                self.block.end_implicit("COMMIT")
            except BaseException as exc:
                raise self.fail(exc) from exc

    def cursor_columns(self, name: str) -> tuple[Column, ...] | None:
        return self.cursors.get(name).columns

    def take_deallocations(self) -> list[str]:
        return self._commands.take_deallocations()

    def take_parameter_changes(self) -> dict[str, str]:
        changed = dict(self.settings.changed)
        self.settings.changed.clear()
        return changed

    def idle_timeouts(self) -> tuple[float, float]:
        return (
            session_settings.duration_ms(self.settings.get("idle_session_timeout")),
            session_settings.duration_ms(
                self.settings.get("idle_in_transaction_session_timeout")
            ),
        )

    def cancel(self) -> None:
        self._execution.cancel()

    def cancel_requested(self) -> bool:
        """Whether the running statement should stop (cancel or statement_timeout)."""
        return self._execution.cancel_requested()

    def interrupt(self) -> None:
        """pg_cancel_backend from another session."""
        self.cancel()

    def terminate(self) -> None:
        """pg_terminate_backend from another session: the wire closes the connection."""
        self.cancel()
        if self._startup.terminate is not None:
            self._startup.terminate()

    def ready(self) -> None:
        self._execution.end()
        self.backend.ready(self.block.status)

    def close(self) -> None:
        self._database.activity.unregister(self.backend)
        self._database.sequences.forget(self.backend.token)
        self._database.advisory_locks.release_all(self.backend.token)
        self.cursors.close_all()
        self._connection.detach_stream()
        self.block.close()
        self._database.locks.release_all(self.backend.token)  # after the rollback
        self._connection.close()
        database = self._database
        if database.invalidated is not None and not database.activity.count():
            try:
                database.recover()
            except BaseException:
                log.exception("could not open the database again")

    # -- used by results and the session's parts ---------------------------------------------
    def fail(self, exc: BaseException, sql: str | None = None) -> errors.ForgeError:
        """Translate ``exc`` and mark an open transaction block as failed."""
        error = self._connection.translate(exc, sql)
        if isinstance(error, errors.DataCorrupted):
            # It reads the lake's file list: as a statement, holding the catalog shared
            # (the statement's own hold has ended by now; this one is the session's).
            try:
                with self.locks.holding_catalog(locks.ACCESS_SHARE):
                    self._database.data_corrupted(error)
            except errors.ForgeError:
                pass  # canceled or timed out waiting: reported without the file names
        if isinstance(error, errors.CrashShutdown):
            self._database.invalidate(error.detail or error.message)
        self._inserts.discard()
        self.block.fail()
        # (An extension function's exception is logged where it is kept: plugins.faults.)
        if not isinstance(exc, duckdb.Error | errors.ForgeError | faults.ExtensionFault):
            log.error("unexpected error running %r", sql and redact_passwords(sql), exc_info=exc)
        return error

    def running(self, flag: bool) -> None:
        """Mark a statement as executing (cancel may interrupt it), arming statement_timeout."""
        self._connection.running(flag)

    def _statement_timeout(self) -> float:
        return session_settings.duration_ms(self.settings.get("statement_timeout"))

    def detach_stream(self) -> None:
        """Another statement is about to run on the cursor: keep the open result readable."""
        self._connection.detach_stream()

    # -- execution ----------------------------------------------------------------------
    def _run(self, plan: Plan, params: Sequence[object]) -> Result:
        sql = plan.sql
        if plan.at_parameters:
            sql, params = plan.bound(params)
        self._read_catalog_copies(
            not self.block.in_transaction and catalog_sql.needed(plan.statement.sql)
        )
        connection = self._connection
        if plan.table_calls:
            return self._run_table_functions(plan, params)
        # Parsed once, when split or prepared: DuckDB runs that parse.
        cursor = connection.execute(sql if plan.parsed is None else plan.parsed, params)
        return self._ran(plan, cursor, sql, params)

    def _run_table_functions(self, plan: Plan, params: Sequence[object]) -> Result:
        """A statement calling Python table functions: their rows are registered for it
        and released once its result is read (engine.table_functions)."""
        connection = self._connection
        sql, values = plan.expanded(self._table_functions, params)
        result: Result | None = None
        try:
            cursor = connection.execute(sql, values)
            if self.block.status == "T" and plan.statement.kind not in _READS:
                # ROLLBACK TO cannot run the function again: its rows are consumed.
                self.block.record(plan.statement, sql, values, "table function rows are not kept")
            self.block.replay.spoil()
            result = self._ran(plan, cursor, sql, values, recorded=True)
            return result
        finally:
            if not connection.streams(result):
                connection.release_streams()

    def _ran(
        self, plan: Plan, cursor: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object],
        recorded: bool = False,
    ) -> Result:
        """The result of ``plan`` just executed on the cursor."""
        connection = self._connection
        statement = plan.statement
        block = self.block
        if recorded:
            if not block.in_transaction:
                block.release_xact_locks()
        elif block.status == "T" and statement.kind not in _READS:
            block.journal.record(statement, plan.sql, params)
        elif not block.in_transaction:
            block.release_xact_locks()  # the statement was its own transaction
        if block.implicit and not recorded:
            if statement.returns_rows:
                block.replay.spoil()  # the rows go to the client: it has seen this run
            else:
                block.replay.record(lambda: connection.execute(sql, params))
        if not statement.returns_rows:
            # DuckDB answers INSERT/UPDATE/DELETE/CREATE TABLE AS with one "Count" row and
            # DROP/ALTER with a "Success" one; PostgreSQL sends neither, only the tag.
            count = 0
            if _counts_rows(statement):
                row = cursor.fetchone()
                count = int(row[0]) if row and isinstance(row[0], int) else 0
            return TagResult(statement.tag(count))
        columns = column_names.result_columns(
            statement.sql, cursor.description or (), connection.result_scope()
        )
        if self.settings.timezone != connection.timezone:
            # set_config('TimeZone', ...) ran: take the rows before the cursor changes zone.
            table = cursor.to_arrow_table()
            self.apply_timezone()
            return TableResult(table, columns, "SELECT")
        if constant_rows.applies(statement, cursor.description or ()):
            connection.running(True)  # as a stream's reads are: cancel and timeout apply
            try:
                rows, types = constant_rows.fetch(cursor)
            finally:
                connection.running(False)
            return RowsResult(rows, types, columns)
        result = ArrowResult(connection, self.fail, statement, connection.open_reader(), columns)
        connection.stream(result)
        return result

    def _maintain(
        self,
        call: storage_calls.MaintenanceCall | storage_calls.BackupCall | sync_calls.SyncCall,
    ) -> Result:
        """CALL forge_compact() and friends: run outside any transaction, as VACUUM."""
        if self.block.in_transaction:
            raise errors.ActiveSqlTransaction(
                "storage maintenance cannot run inside a transaction block"
                if not isinstance(call, sync_calls.SyncCall)
                else "CALL forge_sync cannot run inside a transaction block"
            )
        if isinstance(call, sync_calls.SyncCall):
            return sync_calls.run(call, self._connection, self._database, self.backend.user,
                                  self.cancel_requested, storage_calls.columns(), self.locks)
        if isinstance(call, storage_calls.BackupCall):
            self._connection.detach_stream()
            return storage_calls.backup(call, self._database)
        with self.locks.maintaining():
            return storage_calls.run(
                call, self._connection, self._database, self.locks.for_maintenance()
            )

    def _copy_out(self, statement: Statement, copy: copy_statement.CopyStatement) -> Result:
        """COPY ... TO STDOUT: the rows of the table or query, streamed as for a SELECT."""
        self._read_catalog_copies(False)
        connection = self._connection
        select = copy.select_sql()
        plan = None
        if table_functions.named_in(select) or table_functions.may_name_views(select):
            # (a view calling table functions is expanded by planning: Planner.plan)
            planned = self._planner.plan(single(self._split(select)), (), describe=False)
            assert isinstance(planned.handle, Plan)
            plan = planned.handle if planned.handle.table_calls else None
        result: ArrowResult | None = None
        try:
            if plan is not None:
                # COPY (SELECT ... FROM f()) TO STDOUT: the function's rows, streamed.
                if not self._superuser:
                    self.authorize(plan)
                select, values = plan.expanded(self._table_functions, ())
                description = connection.execute(select, values).description or ()
            else:
                description = connection.execute(select).description or ()
            columns = column_names.result_columns(select, description, connection.result_scope())
            result = ArrowResult(
                connection, self.fail, statement, connection.open_reader(), columns,
                CopyOut(copy.format),
            )
            connection.stream(result)  # holding the catalog: SessionLocks.holding_catalog_for
            return result
        finally:
            if result is None:
                connection.release_streams()

    def _read_catalog_copies(self, wanted: bool) -> None:
        """Point the catalog views at the lake's objects as copied at its latest snapshot
        (forge_sql.catalog.lake_objects), or at DuckDB's functions, which also see this
        transaction's uncommitted changes; ``wanted`` only outside a transaction."""
        if wanted:
            wanted = self._database.refresh_catalog()
        if wanted != self._catalog_copies:
            value = "true" if wanted else "false"
            self._connection.execute(
                f"SET VARIABLE {lake_objects.VARIABLE} = {value}", interruptible=False
            )
            self._catalog_copies = wanted

    def apply_timezone(self) -> None:
        """DuckDB computes and prints timestamptz in the connection's TimeZone."""
        self._connection.set_timezone(self.settings.timezone)


def _counts_rows(statement: Statement) -> bool:
    """Whether DuckDB answers ``statement`` with the number of rows it changed."""
    if statement.kind in _COUNTED:
        return True
    return statement.kind == "CREATE" and "TABLE" in statement.words and (
        statement.has_keyword("AS")
    )


def _remember(cache: dict[str, T], key: str, make: Callable[[], T], kept: int) -> T:
    """``cache[key]``, made and kept on first use; a full cache starts over (the texts a
    session sends again are few, so it fills again at once)."""
    found = cache.get(key)
    if found is None:
        found = make()
        if len(cache) >= kept:
            cache.clear()
        cache[key] = found
    return found
