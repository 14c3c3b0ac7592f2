"""Expanding Python table functions when a statement runs: each call's arguments are
evaluated, the function is called, and its rows are registered on the session's cursor as
an Arrow stream under a name unique to the statement, which the statement then scans in
place of the call (the rewrite pass put a typed empty stand-in there: forge_sql.sql.
table_functions). The streams are unregistered when the statement's rows are read.

Replacement scans stay off on every session cursor (Database.cursor): SQL reaches a
stream only by its registered name, which is random and refused in client text.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from forge_sql import errors
from forge_sql.engine import params as parameters
from forge_sql.ext import Context, TableSpec
from forge_sql.plugins import faults, http, scalars
from forge_sql.plugins import table_functions as running
from forge_sql.plugins.registry import Function, Registry
from forge_sql.sql import duckdb_errors, rewrite, views
from forge_sql.sql import table_functions as calls
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.rewrite import Edit, Source
from forge_sql.sql.statements import Statement, classify, split, tokenize

log = logging.getLogger(__name__)


def signature(function: Function) -> calls.Signature:
    """How the rewrite pass sees a declared table function."""
    spec = function.spec
    assert isinstance(spec, TableSpec)
    describe = None
    described_by = None
    if spec.describe is not None:
        hook = spec.describe
        described_by = _hook_arguments(hook)

        def describe(given: Mapping[str, object]) -> Sequence[tuple[str, str]]:
            return described(function, hook(**given))

    return calls.Signature(
        spec.schema,
        spec.name,
        function.registered_name,
        tuple(calls.Parameter(a.name, a.type, a.has_default) for a in spec.arguments),
        tuple((c.name, c.type) for c in spec.columns),
        describe,
        described_by,
    )


def _hook_arguments(hook: Any) -> frozenset[str] | None:
    """The argument names a describe hook takes (None when it takes ``**kwargs``): only
    those must be constants in a call."""
    try:
        parameters = inspect.signature(hook).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters
                     if p.kind is not inspect.Parameter.VAR_POSITIONAL)


def described(function: Function, columns: object) -> Sequence[tuple[str, str]]:
    """A describe hook's answer as (name, type) pairs."""
    if isinstance(columns, Mapping):
        pairs = [(str(n), str(t)) for n, t in columns.items()]
    elif isinstance(columns, Iterable):
        pairs = [
            (c.name, c.type) if hasattr(c, "name") else (str(c[0]), str(c[1]))
            for c in columns
        ]
    else:
        pairs = []
    if not pairs:
        spec = function.spec
        raise faults.FaultError(
            f"the describe hook of table function {spec.name} gave no columns", "38000",
            detail=f"Function {spec.schema}.{spec.name}() of extension {function.extension} "
            f"({spec.source})",
            hint=None, traceback_text="",
        )
    return pairs


class Loaded:
    """The table functions of the loaded extensions (by their engine names), applied to
    the rewrite pass and, for views and LATERAL calls, as table macros on the database;
    replaced whole on reload."""

    def __init__(self, registry: Registry, environment: scalars.Environment) -> None:
        self._lock = threading.Lock()
        self._functions: dict[str, Function] = {}
        self._environment = environment
        self.registry = registry
        self.apply(registry)

    def apply(self, registry: Registry) -> None:
        functions = {
            f.registered_name: f for overloads in registry.tables.values() for f in overloads
        }
        with self._lock:
            self._functions = functions
            self.registry = registry
            calls.REGISTERED.replace(signature(f) for f in functions.values())

    def install(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the table macros on the database's root connection (at each open)."""
        running.register(con, self.registry, self._environment, lambda c: arrow_schema(con, c))

    def reload(self, con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
        running.unregister(con, self.registry)
        self.apply(registry)
        self.install(con)

    @property
    def storage(self) -> Path | None:
        """Where each extension's Context.storage directory is made."""
        return self._environment.storage

    def get(self, signature: calls.Signature) -> Function:
        """The function behind ``signature``; after a reload, the one now declared with
        the same name and parameters (a statement prepared before it runs the new code)."""
        found = self._functions.get(signature.key)
        if found is not None:
            return found
        for function in self._functions.values():
            if _same_parameters(function, signature):
                return function
        raise errors.UndefinedFunction(
            f"function {signature.schema}.{signature.text()} does not exist",
            hint="the extensions were reloaded without it",
        )


def _same_parameters(function: Function, wanted: calls.Signature) -> bool:
    """Whether ``function`` has ``wanted``'s schema, name and parameters."""
    current = signature(function)
    return (current.schema, current.name, current.parameters) == (
        wanted.schema, wanted.name, wanted.parameters
    )


def generation() -> int:
    """Changes when the extensions are reloaded: statements rewritten before are stale."""
    return calls.REGISTERED.generation


def named_in(sql: str) -> bool:
    """Whether ``sql`` may call a table function (a cheap test of the text)."""
    return calls.REGISTERED.wants(sql)


def calls_in(statement: Statement) -> tuple[calls.Call, ...]:
    """The table-function calls the server expands in a client's statement (none unless
    one is named; none in a view's definition or PREPARE, which DuckDB runs later:
    sql.table_functions.kept_for_later)."""
    if not calls.REGISTERED.wants(statement.sql):
        return ()
    source = Source.of(statement.sql, statement.tokens)
    if calls.kept_for_later(source):
        return ()
    return tuple(calls.calls(source))


# The views calling table functions, computed once per set of the lake's relations (the
# acl's, replaced whole when the lake changes) and of loaded table functions, and when:
# statements that name none of them look again at most every _VIEWS_CHECK seconds (the
# acl's freshness costs a query of the lake), or after view DDL planned here.
_views: tuple[object, int, float, Mapping[tuple[str, str], views.View]] = (None, -1, 0.0, {})
_VIEWS_CHECK = 0.5
# The statements whose views are expanded: what may read a view in FROM (not DELETE,
# whose FROM names its target, nor CREATE VIEW and PREPARE, which keep the text).
_EXPANDED_KINDS = frozenset({"SELECT", "INSERT", "UPDATE", "COPY", "CREATE", "EXPLAIN"})


def expand_views(
    statement: Statement,
    relations: Callable[[], Mapping[tuple[str, str], str | None]],
    visible: Callable[[], tuple[Mapping[tuple[str, str], str], frozenset[str]]],
    rules: rewrite.Rules,
) -> Statement | None:
    """``statement`` with the views it reads that call table functions replaced by their
    queries (sql.views), rewritten by ``rules`` as a client's text is; None when it reads
    none. ``relations``: the lake's committed relations, views with their CREATE VIEW
    text (which views call table functions is worked out from them once per change);
    ``visible``: the lake's views as the session's transaction sees them now, and the
    names of its temporary relations (which hide the lake's unqualified ones)."""
    global _views
    if not calls.REGISTERED.any():
        return None
    known, generation, checked, found = _views
    if statement.kind in ("CREATE", "ALTER", "DROP") and "VIEW" in statement.words:
        _views = (known, generation, 0.0, found)  # look again at the next statement
        return None  # (CREATE VIEW keeps its text: sql.table_functions.kept_for_later)
    if statement.kind not in _EXPANDED_KINDS:
        return None
    now = time.monotonic()
    if (
        not views.named(statement.sql, found) and now - checked < _VIEWS_CHECK
        and generation == calls.REGISTERED.generation
    ):
        return None
    lake = relations()
    if known is not lake or generation != calls.REGISTERED.generation:
        found = views.calling(lake)
    _views = (lake, calls.REGISTERED.generation, now, found)
    if not views.named(statement.sql, found) or calls.kept_for_later(
        Source.of(statement.sql, statement.tokens)
    ):
        return None
    current, temporary = visible()
    if any(current.get(key) != lake.get(key) for key in found):
        # Changed since the lake's last snapshot (in this transaction, or just now): the
        # definitions the session sees decide.
        seen: dict[tuple[str, str], str | None] = {
            key: sql for key, sql in lake.items() if sql is None}
        seen.update(current)
        found = views.calling(seen)
        lake = seen
    if temporary:
        found = {key: view for key, view in found.items()
                 if key[0] != views.DEFAULT_SCHEMA or key[1] not in temporary}
    sql = views.expand(statement.sql, found, lake)
    if sql is None:
        return None
    return dataclasses.replace(classify(sql, rules), offset=statement.offset)


def visible_views(
    connection: Any, lake: str  # forge_sql.engine.connection.Connection
) -> tuple[dict[tuple[str, str], str], frozenset[str]]:
    """The lake's views as the connection's transaction sees them, and the names of its
    temporary relations."""
    found = connection.execute(
        "SELECT lower(schema_name), lower(view_name), sql, temporary "
        "FROM duckdb_views() WHERE NOT internal AND (temporary OR database_name = ?) "
        "UNION ALL SELECT DISTINCT lower(schema_name), lower(table_name), NULL, true "
        "FROM duckdb_columns() WHERE database_name = 'temp'",
        [lake],
    ).fetchall()
    return (
        {(schema, name): sql or "" for schema, name, sql, temporary in found if not temporary},
        frozenset(name for _, name, _, temporary in found if temporary),
    )


def may_name_views(sql: str) -> bool:
    """Whether ``sql`` may read a view calling table functions (as last worked out)."""
    return views.named(sql, _views[3])


def refuse_stream_names(statement: Statement) -> None:
    """No client names a registered stream (they are the server's): 42501."""
    if calls.STREAM_PREFIX in statement.sql.lower() and calls.names_stream(
        Source.of(statement.sql, statement.tokens)
    ):
        raise errors.InsufficientPrivilege(
            f"names starting with {calls.STREAM_PREFIX} are reserved to the server"
        )


class Caller:
    """Expands the table-function calls of one session's statements."""

    def __init__(
        self,
        connection: Any,  # forge_sql.engine.connection.Connection
        loaded: Loaded,
        user: str,
        superuser: bool,
        extension_settings: Mapping[str, Mapping[str, Any]],
        secrets_by_name: Mapping[str, str],
        *,
        authorize: Callable[[Statement], None] | None = None,
        progress: Callable[[str | None], None] | None = None,
    ) -> None:
        self._connection = connection
        self._loaded = loaded
        self._user = user
        self._superuser = superuser
        self._extension_settings = extension_settings
        self._secrets = secrets_by_name
        self._schemas: dict[tuple[tuple[str, str], ...], pa.Schema] = {}
        self._count = 0
        # Context.query: the session's privilege check, and whether a function is being
        # called now (its query runs on the session's cursor, before the statement does).
        self._authorize = authorize
        self._progress = progress
        self._calling = False

    def expand(
        self,
        source: Statement,
        found: Sequence[calls.Call],
        other_edits: Sequence[Edit],
        params: Sequence[object],
    ) -> tuple[str, list[object]]:
        """The client's statement with each call replaced by a scan of the function's rows
        (registered now; ``release`` unregisters them), the other edits applied, and the
        parameters the text still uses, numbered again from 1."""
        connection = self._connection
        edits: list[Edit] = []
        try:
            for call in found:
                function = self._loaded.get(call.signature)
                spec = function.spec
                if spec.superuser_only and not self._superuser:
                    raise errors.InsufficientPrivilege(
                        f"permission denied for function {spec.name}",
                        detail="the function is reserved to superusers",
                    )
                arguments = self._arguments(call, params)
                if arguments is None:
                    # Arguments from another FROM item: DuckDB calls the function's table
                    # macro once per row of it (plugins.table_functions.register).
                    edits.append(Edit(call.start, call.end, source.sql[call.start : call.end]))
                    continue
                columns = calls.columns_of(call)  # as Describe gave them
                schema = self._schema(columns)
                self._calling = True
                try:
                    reader = running.call(
                        function,
                        arguments,
                        self._context(function),
                        schema,
                        cancelled=connection.execution.cancel_requested,
                        failed=self._failed,
                        batch_rows=connection.batch_rows,
                    )
                finally:
                    self._calling = False
                name = f"{calls.STREAM_PREFIX}{secrets.token_hex(8)}_{self._count}"
                self._count += 1
                connection.register_stream(name, reader)
                edits.append(Edit(call.start, call.end, calls.scan(call, name, columns)))
        except BaseException:
            connection.release_streams()
            raise
        sql = rewrite.apply(source.sql, [*edits, *other_edits])
        return _renumbered(sql, params)

    def _failed(self, error: errors.ForgeError) -> None:
        self._connection.function_error = error

    def _arguments(
        self, call: calls.Call, params: Sequence[object]
    ) -> dict[str, object] | None:
        """The given arguments' values, computed by DuckDB (constants, parameters and
        uncorrelated subqueries); None when they refer to another FROM item (LATERAL)."""
        given = [
            p.name
            for p, text in zip(call.signature.parameters, call.arguments, strict=True)
            if text is not None
        ]
        if not given:
            return {}
        sql, values = _renumbered("SELECT " + ", ".join(calls.argument_list(call)), params)
        try:
            row = self._connection.execute(sql, values).fetchone()
        except duckdb.BinderException as exc:
            if "Referenced table" not in str(exc) and "Referenced column" not in str(exc):
                raise
            if call.signature.describe is not None:
                raise errors.FeatureNotSupported(
                    f"table function {call.signature.name} cannot take arguments from "
                    "another FROM item (LATERAL): its columns come from its describe hook",
                    hint="Give its arguments as constants, parameters or subqueries.",
                ) from exc
            return None
        assert row is not None
        return dict(zip(given, row, strict=True))

    def _schema(self, columns: Sequence[tuple[str, str]]) -> pa.Schema:
        key = tuple(columns)
        found = self._schemas.get(key)
        if found is None:
            self._connection.detach_stream()
            found = self._schemas[key] = arrow_schema(self._connection.raw, columns)
        return found

    def _context(self, function: Function) -> Context:
        settings = dict(self._extension_settings.get(function.extension, {}))
        storage = self._loaded.storage
        return Context(
            user=self._user,
            settings=settings,
            log=logging.getLogger(f"forge_sql.ext.{function.extension}"),
            _secrets=self._secrets,
            superuser=self._superuser,
            _http=http.for_function(function.spec, settings, self._secrets, self._superuser,
                                    self._connection.execution.stop_requested),
            _query=self._query,
            _progress=self._progress,
            _cancelled=self._connection.execution.stop_requested,
            _storage=None if storage is None else storage / function.extension,
        )

    def _query(self, sql: str, params: Sequence[object]) -> pa.RecordBatchReader:
        """Context.query: one read-only statement, checked as the session checks its own
        (privileges of the calling role), run on the session's cursor in its transaction."""
        if not self._calling:
            raise errors.FeatureNotSupported(
                "ctx.query must be called before the table function returns its first row",
                hint="read the query's rows first, then yield or return the function's rows",
            )
        statements = split(sql)
        if len(statements) != 1:
            raise errors.SyntaxError_("ctx.query runs exactly one statement")
        statement = statements[0]
        if statement.kind != "SELECT":
            what = statement.words[0] if statement.words else statement.kind
            raise errors.ReadOnlySqlTransaction(f"ctx.query runs queries only, not {what}")
        if self._authorize is not None and not self._superuser:
            self._authorize(statement)
        try:
            self._connection.execute(statement.sql, list(params))
            return self._connection.raw.to_arrow_reader(self._connection.batch_rows)
        except duckdb.Error as exc:
            raise duckdb_errors.translate(exc, statement.sql) from None


def arrow_schema(
    con: duckdb.DuckDBPyConnection, columns: Sequence[tuple[str, str]]
) -> pa.Schema:
    """The Arrow schema DuckDB gives the declared column types."""
    select = ", ".join(f"CAST(NULL AS {kind}) AS {quote_ident(name)}" for name, kind in columns)
    table = con.execute(f"SELECT {select} LIMIT 0").to_arrow_table()
    return table.schema.remove_metadata()


def _renumbered(sql: str, params: Sequence[object]) -> tuple[str, list[object]]:
    """``sql`` with the placeholders it still has numbered from 1 in order of their first
    number (DuckDB wants as many values as placeholders), and those values."""
    tokens = [t for t in tokenize(sql) if t.kind != "comment"]
    found = parameters.placeholders(tokens)
    if not found:
        return sql, []
    numbers: dict[int, int] = {}
    for number, _ in found:
        numbers.setdefault(number, len(numbers) + 1)
    if all(old == new for old, new in numbers.items()) and len(numbers) == len(params):
        return sql, list(params)
    edits = [
        Edit(tokens[index].start, tokens[index].end, f"${numbers[number]}")
        for number, index in found
    ]
    values = [params[old - 1] for old in numbers]
    return rewrite.apply(sql, edits), values
