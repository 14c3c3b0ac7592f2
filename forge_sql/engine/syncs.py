"""Syncs: a source's rows into a lake table (append, merge by primary key, or replace),
read from the last cursor value minus a lookback. The rows, the new cursor value and the
run's record commit in one transaction: a crash leaves the old state or the new.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from forge_sql import errors
from forge_sql.ext import Column, Context, SourceLocation, SourceSpec, TableSpec
from forge_sql.plugins import faults, http
from forge_sql.plugins import table_functions as running
from forge_sql.plugins.registry import Function, Registry
from forge_sql.sql.quoting import literal, quote_ident

log = logging.getLogger("forge_sql.syncs")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# Rows written per statement (the transaction spans them all): up to CHUNK_ROWS rows or
# CHUNK_BYTES of Arrow data, whichever comes first. A merge stages its chunks and merges
# them once (a MERGE per 100k-row chunk cost 0.1-0.3 s each, loading 1M rows in process).
CHUNK_ROWS = 1_000_000
CHUNK_BYTES = 128 << 20
READ_ROWS = 100_000  # rows per batch read from a connection's query
# Type changes the evolve policy makes in place (the target's type, the source's type).
WIDENINGS = frozenset({
    ("TINYINT", "SMALLINT"), ("TINYINT", "INTEGER"), ("TINYINT", "BIGINT"),
    ("SMALLINT", "INTEGER"), ("SMALLINT", "BIGINT"), ("INTEGER", "BIGINT"),
    ("FLOAT", "DOUBLE"), ("TINYINT", "DOUBLE"), ("SMALLINT", "DOUBLE"), ("INTEGER", "DOUBLE"),
    ("DATE", "TIMESTAMP"), ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"),
})


class SyncDefinition(BaseModel):
    """One sync, as a YAML migration declares it (``syncs:``) and forge_meta.syncs keeps it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="The sync's name (CALL forge_sync('name')).")
    source: str | None = Field(
        None, description="The source (or table function) that gives the rows."
    )
    connection: str | None = Field(
        None, description="An external connection ([connections.NAME]) the query reads."
    )
    query: str | None = Field(None, description="With connection: the SELECT that gives the "
                              "rows (NAME.schema.table names its tables).")
    args: dict[str, Any] = Field(default_factory=dict, description="Its arguments by name.")
    into: str = Field(description="The target table: table or schema.table.")
    mode: Literal["append", "merge", "replace"] = Field(
        "merge", description="append rows, merge them by primary key, or replace the table."
    )
    primary_key: list[str] | None = Field(
        None, description="Merge key (default: the source's primary_key)."
    )
    cursor: str | None = Field(None, description="Cursor column (default: the source's).")
    cursor_argument: str | None = Field(
        None, description="The source's argument given the lower bound (default: since, "
        "if it has one).",
    )
    lookback: str | int | float | None = Field(
        None, description="Read from the last cursor value minus this (an interval such as "
        "'1 hour' for time cursors, a number for numeric ones).",
    )
    drift: Literal["evolve", "freeze", "discard"] = Field(
        "evolve", description="New source columns: add them (and widen types), fail, or "
        "drop them.",
    )
    schedule: str | None = Field(None, description="Cron schedule, for the job scheduler.")
    keep_runs: int = Field(100, ge=1, description="Runs kept in the history.")
    drop: bool = Field(False, description="Remove the sync (its table is left alone).")

    @field_validator("name", "source", "connection")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        for part in (value or "x").split("."):
            if not _IDENTIFIER.match(part):
                raise ValueError(f"invalid name {value!r} (lower case letters, digits, _)")
        return value

    @field_validator("into")
    @classmethod
    def _target(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) > 2 or not all(_IDENTIFIER.match(p) for p in parts):
            raise ValueError(f"into: {value!r} is not a table or schema.table name")
        return value

    @field_validator("primary_key")
    @classmethod
    def _key(cls, value: list[str] | None) -> list[str] | None:
        for column in value or []:
            if not _IDENTIFIER.match(column):
                raise ValueError(f"invalid column name {column!r}")
        return value

    @field_validator("lookback")
    @classmethod
    def _lookback(cls, value: str | int | float | None) -> str | int | float | None:
        if isinstance(value, str) and not re.fullmatch(r"[0-9 .a-zA-Z]+", value):
            raise ValueError(f"lookback {value!r}: an interval such as '1 hour' or a number")
        if isinstance(value, int | float) and value < 0:
            raise ValueError("lookback cannot be negative")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        if value is not None:
            from forge_sql.engine.jobs import check_schedule

            try:
                check_schedule(value)
            except errors.ForgeError as exc:
                raise ValueError(exc.message) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SyncDefinition:
        if (self.source is None) == (self.query is None):
            raise ValueError("give either source: or connection: and query:")
        if (self.connection is None) != (self.query is None):
            raise ValueError("connection: and query: go together")
        if self.query is not None and self.args:
            raise ValueError("args: are the source's arguments; a query takes none")
        if self.lookback is not None and self.mode == "append":
            raise ValueError("lookback with mode append would insert the rows read again: "
                             "use mode merge")
        return self

    @property
    def target(self) -> tuple[str, str]:
        schema, _, table = self.into.rpartition(".")
        return (schema or "public", table)

    def as_json(self) -> str:
        return self.model_dump_json(exclude={"drop"})


@dataclass
class Outcome:
    """One run, as forge_meta.sync_runs records it."""

    run_id: int
    name: str
    status: str = "running"
    full_refresh: bool = False
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    cursor_from: str | None = None
    cursor_to: str | None = None
    error: str | None = None
    counts: http.Counts = field(default_factory=http.Counts)
    started: float = field(default_factory=time.time)
    duration_ms: int = 0


class SyncError(errors.ForgeError):
    sqlstate = "22023"


class Locking(Protocol):
    """The server's heavyweight locks (forge_sql.engine.locks) as a run takes them, under
    the name of the session that runs it, so client writers and the run queue."""

    def table(self, schema: str, name: str) -> None:
        """Wait for the write lock of the target table (held until the run ends)."""

    def statement(self) -> contextlib.AbstractContextManager[None]:
        """Around a statement that reads or writes the lake."""

    def catalog_change(self) -> contextlib.AbstractContextManager[None]:
        """Around a CREATE or ALTER of the target."""

    def ending(self) -> contextlib.AbstractContextManager[None]:
        """Around the run's COMMIT or ROLLBACK."""

    def ended(self, committed: bool) -> None:
        """The run's transaction ended: its locks go."""


class NoLocking:
    """A run alone in its process (no other session writes)."""

    def table(self, schema: str, name: str) -> None:
        return None

    def statement(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def catalog_change(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def ending(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def ended(self, committed: bool) -> None:
        return None


_running: set[str] = set()
_running_lock = threading.Lock()


@dataclass
class Runner:
    """Runs the syncs recorded in ``lake``.forge_meta with the loaded sources."""

    con: duckdb.DuckDBPyConnection
    lake: str
    registry: Registry
    extension_settings: Mapping[str, Mapping[str, Any]]
    secrets_by_name: Mapping[str, str]
    user: str
    cancelled: Callable[[], bool] = lambda: False
    locking: Locking = field(default_factory=NoLocking)
    # Why the run must stop (cancel, statement_timeout), for the HTTP toolkit's waits.
    stop: Callable[[], str | None] = lambda: None
    # The temporary table holding the run's rows to merge (None: none staged yet).
    _stage: str | None = field(default=None, init=False, repr=False)

    def _meta(self, table: str) -> str:
        return f"{quote_ident(self.lake)}.forge_meta.{table}"

    def definition(self, name: str) -> SyncDefinition:
        row = self.con.execute(
            f"SELECT definition FROM {self._meta('syncs')} WHERE name = ?", [name]
        ).fetchone()
        if row is None:
            raise errors.UndefinedObject(
                f'sync "{name}" does not exist',
                hint="syncs are declared in YAML migrations (syncs:) and applied by "
                     "forge-sql migrate",
            )
        try:
            return SyncDefinition.model_validate_json(row[0])
        except ValueError as exc:  # pydantic's ValidationError, or JSON that does not parse
            raise errors.DataCorrupted(
                f'sync "{name}" has a definition in forge_meta.syncs that is not a sync: '
                f"{str(exc).splitlines()[0]}",
                hint="apply the migration that declares it again (forge-sql migrate)",
            ) from None

    # -- what to call ------------------------------------------------------------------
    def _function(self, sync: SyncDefinition) -> Function:
        assert sync.source is not None
        schema, _, name = sync.source.rpartition(".")
        overloads = self.registry.table(schema or "public", name)
        if not overloads:
            raise errors.UndefinedFunction(
                f'sync "{sync.name}": source {sync.source} is not loaded',
                hint="the sources are the extensions' @source and @table functions",
            )
        if len(overloads) > 1:
            raise SyncError(f'sync "{sync.name}": source {sync.source} has overloads')
        return overloads[0]

    def _arguments(self, sync: SyncDefinition, spec: TableSpec, lower: Any,
                   cursor_argument: str | None) -> dict[str, Any]:
        names = [a.name for a in spec.arguments]
        unknown = [k for k in sync.args if k not in names]
        if unknown:
            raise SyncError(
                f'sync "{sync.name}": source {sync.source} has no argument {unknown[0]}',
                detail=f"its arguments: {spec.signature}",
            )
        given = dict(sync.args)
        if cursor_argument is not None and lower is not None:
            given[cursor_argument] = lower
        missing = [a.name for a in spec.arguments if not a.has_default and a.name not in given]
        if missing:
            raise SyncError(
                f'sync "{sync.name}": source {sync.source} needs argument {missing[0]}',
                detail=f"its arguments: {spec.signature}",
                hint=f"give it under args: in the sync's declaration ({missing[0]}: ...)",
            )
        return given

    def _context(self, function: Function) -> tuple[Context, http.HttpClient]:
        settings = dict(self.extension_settings.get(function.extension, {}))
        client = http.for_function(function.spec, settings, self.secrets_by_name, True,
                                   self.stop)
        context = Context(
            user=self.user, settings=settings,
            log=logging.getLogger(f"forge_sql.ext.{function.extension}"),
            _secrets=self.secrets_by_name, superuser=True, _http=client,
            _cancelled=self.stop,
        )
        return context, client

    def _query_spec(self, sync: SyncDefinition) -> TableSpec:
        """The columns of a connection's query, as a table function's would be declared."""
        found = self.con.execute(
            "SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [sync.connection]
        ).fetchone()
        if not found or not found[0]:
            raise errors.UndefinedObject(
                f'sync "{sync.name}": connection "{sync.connection}" is not configured',
                hint="declare it under [connections.NAME] in the server's config",
            )
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM ({sync.query}) AS q"
                                         ).fetchall()
        except duckdb.Error as exc:
            raise SyncError(f'sync "{sync.name}": its query fails: {exc}') from None
        return TableSpec(
            name=sync.name, function=lambda: None, arguments=(), schema="public",
            volatility="volatile", superuser_only=True, doc="",
            source=SourceLocation("query", 0), context_argument=None,
            columns=tuple(Column(str(r[0]), str(r[1])) for r in described),
        )

    def _query_reader(self, sync: SyncDefinition, spec: TableSpec, lower: Any,
                      cursor_type: str | None) -> pa.RecordBatchReader:
        _, cursor = self._keys(sync, spec)
        where = ""
        if cursor is not None and lower is not None:
            where = (f" WHERE {quote_ident(cursor)} >= "
                     f"CAST({literal(str(lower))} AS {cursor_type})")
        # Its own cursor: the run's statements go on the connection while the rows stream,
        # in batches of READ_ROWS (10k-row batches read 1M rows from PostgreSQL 1.2-1.8x slower).
        reading = self.con.cursor()
        return reading.execute(f"SELECT * FROM ({sync.query}) AS q{where}"
                               ).to_arrow_reader(READ_ROWS)

    def _reader(self, sync: SyncDefinition, lower: Any, cursor_type: str | None,
                failed: list[errors.ForgeError], spec_of_query: TableSpec | None = None,
                ) -> tuple[pa.RecordBatchReader, TableSpec, http.Counts]:
        """The rows to write; ``spec_of_query``: a connection query's columns, when known
        (each look at them is a round trip to the external database)."""
        if sync.query is not None:
            described = spec_of_query or self._query_spec(sync)
            return (self._query_reader(sync, described, lower, cursor_type), described,
                    http.Counts())
        function = self._function(sync)
        spec = function.spec
        assert isinstance(spec, TableSpec)
        if not spec.columns:
            raise SyncError(f'sync "{sync.name}": source {sync.source} declares no columns')
        argument = sync.cursor_argument
        if argument is None and any(a.name == "since" for a in spec.arguments):
            argument = "since"
        if argument is not None and lower is not None and cursor_type is not None:
            argument_type = next(a.type for a in spec.arguments if a.name == argument)
            lower = self.con.execute(
                f"SELECT CAST(CAST(? AS {cursor_type}) AS {argument_type})", [str(lower)]
            ).fetchone()[0]  # type: ignore[index]
        arguments = self._arguments(sync, spec, lower, argument)
        context, client = self._context(function)
        columns = [(c.name, c.type) for c in spec.columns]
        select = ", ".join(f"CAST(NULL AS {t}) AS {quote_ident(n)}" for n, t in columns)
        schema = self.con.execute(f"SELECT {select} LIMIT 0").to_arrow_table().schema
        reader = running.call(function, arguments, context, schema.remove_metadata(),
                              cancelled=self.cancelled, failed=failed.append,
                              batch_rows=10_000)
        return reader, spec, client.counts

    # -- check -------------------------------------------------------------------------
    def check(self, sync: SyncDefinition) -> list[str]:
        """What would make a run of ``sync`` fail before it reads a row: an unknown source
        or connection, a query that fails, unknown or missing arguments, a key or cursor
        that is not a column, merge without a key, a lookback the cursor's type cannot
        take, a target whose columns the drift policy cannot reconcile. Nothing is read
        from the source, nothing is written."""
        problems: list[str] = []
        try:
            spec = self._source_spec(sync)
            self._keys(sync, spec)
        except errors.ForgeError as exc:
            return [exc.message]
        steps: list[Callable[[], object]] = [
            lambda: self._check_arguments(sync, spec),
            lambda: self._check_lookback(sync, spec),
            lambda: self._check_target(sync, spec),
        ]
        for step in steps:
            try:
                step()
            except errors.ForgeError as exc:
                problems.append(exc.message)
        return problems

    def _check_arguments(self, sync: SyncDefinition, spec: TableSpec) -> None:
        if sync.query is not None:
            return
        argument = sync.cursor_argument
        names = [a.name for a in spec.arguments]
        if argument is not None and argument not in names:
            raise SyncError(f'sync "{sync.name}": cursor_argument {argument} is not an '
                            f"argument of source {sync.source}",
                            detail=f"its arguments: {spec.signature}")
        self._arguments(sync, spec, None, None)

    def _check_lookback(self, sync: SyncDefinition, spec: TableSpec) -> None:
        _, cursor = self._keys(sync, spec)
        if sync.lookback is None:
            return
        if cursor is None:
            raise SyncError(f'sync "{sync.name}": lookback needs a cursor column',
                            hint="declare cursor: on the sync or on the @source")
        cursor_type = next(c.type for c in spec.columns if c.name == cursor)
        back = (f"INTERVAL {literal(sync.lookback)}" if isinstance(sync.lookback, str)
                else repr(sync.lookback))
        try:
            self.con.execute(f"SELECT CAST(NULL AS {cursor_type}) - {back}").fetchall()
        except duckdb.Error:
            raise SyncError(
                f'sync "{sync.name}": lookback {sync.lookback!r} does not apply to cursor '
                f"{cursor} of type {cursor_type}",
                hint="an interval such as '1 hour' for a time cursor, a number for a "
                     "numeric one",
            ) from None

    def _check_target(self, sync: SyncDefinition, spec: TableSpec) -> None:
        schema, table = sync.target
        rows = self.con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
            "AND schema_name = ? AND table_name = ?", [self.lake, schema, table],
        ).fetchall()
        if not rows:
            return  # created by the first run
        existing = {str(n): str(t) for n, t in rows}
        key, _ = self._keys(sync, spec)
        for column in spec.columns:
            have = existing.get(column.name)
            if have is None:
                if sync.drift == "freeze":
                    raise errors.UndefinedColumn(
                        f'sync "{sync.name}": source column "{column.name}" is not in table '
                        f"{schema}.{table} (drift: freeze)")
                if sync.drift == "discard" and sync.mode == "merge" and column.name in key:
                    raise SyncError(f'sync "{sync.name}": key column "{column.name}" is not '
                                    f"in table {schema}.{table}, and drift: discard would "
                                    "leave it out of the merge")

    # -- preview -----------------------------------------------------------------------
    def preview(self, name: str, limit: int = 10) -> pa.Table:
        """The first rows the next run would read, without writing anything."""
        sync = self.definition(name)
        cursor_type, lower = self._lower_bound(sync, self._source_spec(sync), False)
        reader, _, _ = self._reader(sync, lower, cursor_type, [])
        batches, count = [], 0
        for batch in reader:
            batches.append(batch.slice(0, limit - count))
            count += batches[-1].num_rows
            if count >= limit:
                break
        reader.close()
        return pa.Table.from_batches(batches, schema=reader.schema)

    def _source_spec(self, sync: SyncDefinition) -> TableSpec:
        if sync.query is not None:
            return self._query_spec(sync)
        spec = self._function(sync).spec
        assert isinstance(spec, TableSpec)
        return spec

    def _keys(self, sync: SyncDefinition, spec: TableSpec) -> tuple[list[str], str | None]:
        source = spec if isinstance(spec, SourceSpec) else None
        key = list(sync.primary_key or (source.primary_key if source else ()))
        cursor = sync.cursor or (source.cursor if source else None)
        names = {c.name for c in spec.columns}
        for column in [*key, *([cursor] if cursor else [])]:
            if column not in names:
                raise SyncError(f'sync "{sync.name}": {column} is not a column of '
                                + (f"source {sync.source}" if sync.source else "its query"))
        if sync.mode == "merge" and not key:
            raise SyncError(f'sync "{sync.name}": mode merge needs a primary key',
                            hint="declare primary_key: on the sync or on the @source")
        return key, cursor

    def _lower_bound(self, sync: SyncDefinition, spec: TableSpec,
                     full_refresh: bool) -> tuple[str | None, Any]:
        """The cursor column's type and the value to read from (None: everything)."""
        _, cursor = self._keys(sync, spec)
        if cursor is None:
            return None, None
        cursor_type = next(c.type for c in spec.columns if c.name == cursor)
        if full_refresh or sync.mode == "replace":  # replace reads everything
            return cursor_type, None
        row = self.con.execute(
            f"SELECT cursor_value FROM {self._meta('sync_state')} WHERE name = ?", [sync.name]
        ).fetchone()
        if row is None or row[0] is None:
            return cursor_type, None
        if sync.lookback is None:
            return cursor_type, row[0]
        back = (f"INTERVAL {literal(sync.lookback)}" if isinstance(sync.lookback, str)
                else repr(sync.lookback))
        found = self.con.execute(
            f"SELECT CAST(CAST(? AS {cursor_type}) - {back} AS VARCHAR)", [row[0]]
        ).fetchone()
        assert found is not None
        return cursor_type, found[0]

    # -- a run -------------------------------------------------------------------------
    def run(self, name: str, full_refresh: bool = False) -> Outcome:
        with _running_lock:
            if name in _running:
                raise errors.ObjectInUse(f'sync "{name}" is already running')
            _running.add(name)
        try:
            return self._run(name, full_refresh)
        finally:
            with _running_lock:
                _running.discard(name)

    def _run(self, name: str, full_refresh: bool) -> Outcome:
        sync = self.definition(name)
        row = self.con.execute(
            f"SELECT coalesce(max(run_id), 0) + 1 FROM {self._meta('sync_runs')}"
        ).fetchone()
        assert row is not None
        outcome = Outcome(int(row[0]), name, full_refresh=full_refresh)
        failed: list[errors.ForgeError] = []
        began = False
        locking = self.locking
        try:
            spec = self._source_spec(sync)
            key, cursor = self._keys(sync, spec)
            cursor_type, lower = self._lower_bound(sync, spec, full_refresh)
            outcome.cursor_from = None if lower is None else str(lower)
            reader, spec, outcome.counts = self._reader(sync, lower, cursor_type, failed,
                                                        spec)
            # As a client's write: wait for the table's other writers, then begin (the
            # snapshot sees what they committed).
            locking.table(*sync.target)
            self.con.execute("BEGIN TRANSACTION")
            began = True
            columns = self._prepare_target(sync, spec)
            target = _qualified(self.lake, *sync.target)
            if sync.mode == "replace" or full_refresh:
                with locking.statement():
                    deleted = self.con.execute(f"SELECT count(*) FROM {target}").fetchone()
                    outcome.rows_deleted = int(deleted[0]) if deleted else 0
                    self.con.execute(f"DELETE FROM {target}")
            newest = self._state(sync.name) if not full_refresh else None
            self._stage = None
            for chunk in _chunks(reader, CHUNK_ROWS, CHUNK_BYTES):
                outcome.rows_read += chunk.num_rows
                with locking.statement():
                    newest = self._write(sync, target, chunk, columns, key, cursor,
                                         cursor_type, lower, newest, outcome)
            if sync.mode == "merge":
                with locking.statement():
                    self._merge_staged(target, columns, key, cursor, outcome)
            outcome.cursor_to = newest if cursor is not None else None
            outcome.status = "succeeded"
            with locking.statement():
                self._record_state(sync, cursor_type, outcome)
                self._record_run(outcome)
                self._trim(sync)
            with locking.ending():
                self.con.execute("COMMIT")
            began = False
            locking.ended(True)
            return outcome
        except BaseException as exc:
            if began:
                with contextlib.suppress(duckdb.Error), locking.ending():
                    self.con.execute("ROLLBACK")
            locking.ended(False)
            error: BaseException = failed[0] if failed else (
                faults.error_of(exc, superuser=True) or exc)
            outcome.status = "failed"
            outcome.error = _message(error)
            try:
                self._record_run(outcome)
            except duckdb.Error as record_exc:
                log.warning("sync %s: cannot record the failed run: %s", name, record_exc)
            if error is not exc:
                raise error from None
            raise

    def _state(self, name: str) -> str | None:
        row = self.con.execute(
            f"SELECT cursor_value FROM {self._meta('sync_state')} WHERE name = ?", [name]
        ).fetchone()
        return None if row is None else row[0]

    def _prepare_target(self, sync: SyncDefinition, spec: TableSpec) -> list[tuple[str, str]]:
        """The target's columns after the drift policy: created on the first run; new
        source columns added (evolve), refused (freeze) or left out (discard)."""
        schema, table = sync.target
        source = [(c.name, c.type) for c in spec.columns]
        with self.locking.statement():
            rows = self.con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
                "AND schema_name = ? AND table_name = ? ORDER BY column_index",
                [self.lake, schema, table],
            ).fetchall()
        target = _qualified(self.lake, schema, table)
        if not rows:
            with self.locking.catalog_change():
                self.con.execute(f"CREATE SCHEMA IF NOT EXISTS "
                                 f"{quote_ident(self.lake)}.{quote_ident(schema)}")
                described = ", ".join(f"{quote_ident(n)} {t}" for n, t in source)
                self.con.execute(f"CREATE TABLE {target} ({described})")
            return source
        existing = {str(n): str(t) for n, t in rows}
        kept = []
        for column, kind in source:
            have = existing.get(column)
            source_type = self._type_name(kind)
            if have is None:
                if sync.drift == "freeze":
                    raise errors.UndefinedColumn(
                        f'sync "{sync.name}": source column "{column}" is not in table '
                        f"{schema}.{table} (drift: freeze)",
                        hint="add the column by a migration, or use drift: evolve",
                    )
                if sync.drift == "discard":
                    continue
                with self.locking.catalog_change():
                    self.con.execute(f"ALTER TABLE {target} ADD COLUMN "
                                     f"{quote_ident(column)} {kind}")
                log.info("sync %s: added column %s %s to %s", sync.name, column, kind, table)
            elif have != source_type and sync.drift == "evolve" and \
                    (have, source_type) in WIDENINGS:
                with self.locking.catalog_change():
                    self.con.execute(f"ALTER TABLE {target} ALTER COLUMN "
                                     f"{quote_ident(column)} SET DATA TYPE {source_type}")
                log.info("sync %s: widened %s.%s from %s to %s", sync.name, table, column,
                         have, source_type)
            kept.append((column, kind))
        return kept

    def _type_name(self, kind: str) -> str:
        row = self.con.execute(f"SELECT typeof(CAST(NULL AS {kind}))").fetchone()
        assert row is not None
        return str(row[0])

    def _write(self, sync: SyncDefinition, target: str, chunk: pa.Table,
               columns: Sequence[tuple[str, str]], key: Sequence[str], cursor: str | None,
               cursor_type: str | None, lower: Any, newest: str | None,
               outcome: Outcome) -> str | None:
        name = f"forge_sync_batch_{secrets.token_hex(6)}"
        ordered = chunk.append_column("__forge_order", pa.array(range(chunk.num_rows),
                                                                 pa.int64()))
        self.con.register(name, ordered)
        try:
            where = ""
            if cursor is not None and lower is not None:
                bound = f"CAST({literal(str(lower))} AS {cursor_type})"
                where = f" WHERE {quote_ident(cursor)} >= {bound}"
            rows = f"(SELECT * FROM {name}{where})"
            names = [quote_ident(n) for n, _ in columns]
            # What the chunk holds, in one pass: rows, NULL keys and the newest cursor value
            # so far (greatest() skips a NULL).
            nulls = " OR ".join(f"{quote_ident(k)} IS NULL" for k in key) or "false"
            newest_sql = (f"CAST(greatest(max({quote_ident(cursor)}), "
                          f"CAST(? AS {cursor_type or 'VARCHAR'})) AS VARCHAR)"
                          if cursor is not None else "NULL")
            found = self.con.execute(
                f"SELECT count(*), count(*) FILTER ({nulls}), {newest_sql} FROM {rows}",
                [newest] if cursor is not None else [],
            ).fetchone()
            assert found is not None
            count, null_keys = int(found[0]), int(found[1])
            if null_keys:
                raise errors.NotNullViolation(
                    f'sync "{sync.name}": {null_keys} rows have a NULL primary key '
                    f"({', '.join(key)})"
                )
            if cursor is not None:
                newest = found[2]
            if sync.mode != "merge":
                self.con.execute(f"INSERT INTO {target} ({', '.join(names)}) "
                                 f"SELECT {', '.join(names)} FROM {rows}")
                outcome.rows_inserted += count
                return newest
            # Merged rows are staged in a temporary table, and merged once at the end of
            # the run (_merge_staged): a key read in two chunks keeps its newest row, and
            # the table is joined once rather than once per chunk.
            staged = list(names)
            for column in [*key, *([cursor] if cursor else [])]:
                if quote_ident(column) not in staged:
                    staged.append(quote_ident(column))
            listed = ", ".join(staged)
            if self._stage is None:
                self._stage = f"forge_sync_stage_{secrets.token_hex(6)}"
                self.con.execute(f"CREATE TEMPORARY TABLE {self._stage} AS "
                                 f"SELECT {listed}, __forge_order FROM {name} LIMIT 0")
            self.con.execute(
                f"INSERT INTO {self._stage} SELECT {listed}, __forge_order + ? FROM {rows}",
                [outcome.rows_read - chunk.num_rows],
            )
            return newest
        finally:
            self.con.unregister(name)

    def _merge_staged(self, target: str, columns: Sequence[tuple[str, str]],
                      key: Sequence[str], cursor: str | None, outcome: Outcome) -> None:
        """One set-based MERGE of the run's staged rows into ``target``. They are
        deduplicated by key (the newest cursor value, then the last read, wins) only when
        a key repeats: the window costs about as much as the MERGE. Inserted rows are the
        table's growth (its count comes from DuckLake's statistics), where a join of the
        rows with the table's keys cost as much again."""
        stage, self._stage = self._stage, None
        if stage is None:
            return  # nothing was read
        try:
            keys = ", ".join(quote_ident(k) for k in key)
            found = self.con.execute(
                f"SELECT count(*), count(DISTINCT ({keys})) FROM {stage}").fetchone()
            assert found is not None
            source = stage
            if found[0] != found[1]:
                order = (f"{quote_ident(cursor)} DESC NULLS LAST, " if cursor else "")
                source = (f"(SELECT * FROM {stage} QUALIFY row_number() OVER "
                          f"(PARTITION BY {keys} ORDER BY {order}__forge_order DESC) = 1)")
            names = [quote_ident(n) for n, _ in columns]
            matched = " AND ".join(f"t.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)
            updates = ", ".join(f"{n} = s.{n}" for n in names if n not in
                                {quote_ident(k) for k in key})
            when_matched = (f"WHEN MATCHED THEN UPDATE SET {updates} " if updates else "")
            before = self.con.execute(f"SELECT count(*) FROM {target}").fetchone()
            merged = self.con.execute(
                f"MERGE INTO {target} AS t USING {source} AS s ON {matched} "
                f"{when_matched}WHEN NOT MATCHED THEN INSERT ({', '.join(names)}) "
                f"VALUES ({', '.join(f's.{n}' for n in names)})"
            ).fetchone()
            after = self.con.execute(f"SELECT count(*) FROM {target}").fetchone()
            assert before is not None and after is not None and merged is not None
            inserted = int(after[0]) - int(before[0])
            outcome.rows_inserted += inserted
            outcome.rows_updated += int(merged[0]) - inserted
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {stage}")

    def _record_state(self, sync: SyncDefinition, cursor_type: str | None,
                      outcome: Outcome) -> None:
        state = self._meta("sync_state")
        self.con.execute(f"DELETE FROM {state} WHERE name = ?", [sync.name])
        self.con.execute(
            f"INSERT INTO {state} (name, cursor_value, cursor_type, last_run) "
            "VALUES (?, ?, ?, ?)",
            [sync.name, outcome.cursor_to, cursor_type, outcome.run_id],
        )

    def _record_run(self, outcome: Outcome) -> None:
        outcome.duration_ms = int((time.time() - outcome.started) * 1000)
        c = outcome.counts
        self.con.execute(
            f"INSERT INTO {self._meta('sync_runs')} VALUES (?, ?, to_timestamp(?), now(), "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [outcome.run_id, outcome.name, outcome.started, outcome.status,
             outcome.full_refresh, outcome.rows_read, outcome.rows_inserted,
             outcome.rows_updated, outcome.rows_deleted, c.pages, c.requests, c.retries,
             c.throttled, outcome.duration_ms, outcome.cursor_from, outcome.cursor_to,
             outcome.error],
        )

    def _trim(self, sync: SyncDefinition) -> None:
        """Retention: the last keep_runs runs of the sync stay."""
        runs = self._meta("sync_runs")
        self.con.execute(
            f"DELETE FROM {runs} WHERE name = ? AND run_id <= (SELECT max(run_id) FROM {runs} "
            "WHERE name = ?) - ?",
            [sync.name, sync.name, sync.keep_runs],
        )


def _qualified(lake: str, schema: str, table: str) -> str:
    return f"{quote_ident(lake)}.{quote_ident(schema)}.{quote_ident(table)}"


def _chunks(reader: pa.RecordBatchReader, rows: int, size: int) -> Iterator[pa.Table]:
    batches: list[pa.RecordBatch] = []
    count = held = 0
    for batch in reader:
        batches.append(batch)
        count += batch.num_rows
        held += batch.nbytes
        if count >= rows or held >= size:
            yield pa.Table.from_batches(batches, schema=reader.schema)
            batches, count, held = [], 0, 0
    if batches:
        yield pa.Table.from_batches(batches, schema=reader.schema)


def _message(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    return str(text).split(" [forge-extension-error#")[0]


def describe_outcome(outcome: Outcome) -> list[tuple[str, int | None, str | None]]:
    """The rows CALL forge_sync answers: (action, count, detail)."""
    c = outcome.counts
    return [
        ("read", outcome.rows_read, f"{c.pages} pages, {c.requests} requests, "
         f"{c.retries} retries, {c.throttled} throttled (429)"),
        ("inserted", outcome.rows_inserted, None),
        ("updated", outcome.rows_updated, None),
        ("deleted", outcome.rows_deleted, None),
        ("cursor", None, outcome.cursor_to),
        ("run", outcome.run_id, f"{outcome.status} in {outcome.duration_ms} ms"),
    ]


def preview_rows(table: pa.Table) -> list[tuple[str, int | None, str | None]]:
    return [("preview", i + 1, json.dumps(row, default=str))
            for i, row in enumerate(table.to_pylist())]
