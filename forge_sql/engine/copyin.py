"""The COPY FROM STDIN sink: each decoded batch becomes one Arrow scan inserted by DuckDB.

DuckDB inserts an Arrow table millions of rows a second but single-row INSERTs about a
thousand (DESIGN.md), so rows never go through per-row statements. Text and CSV values
arrive as strings and are cast by DuckDB; a value that does not convert is located
afterwards, so the error names the line and column as PostgreSQL's does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from forge_sql import errors
from forge_sql.engine import search_path
from forge_sql.engine.copy_statement import CopyStatement
from forge_sql.engine.lengths import Limit, wrap
from forge_sql.seam.backend import Column, CopyIn
from forge_sql.seam.numeric import DUCKDB_TYPE as DUCKDB_NUMERIC
from forge_sql.seam.numeric import PRECISION, SCALE
from forge_sql.sql import numeric
from forge_sql.sql.duckdb_errors import translate
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.types import column
from forge_sql.storage import objectstore

if TYPE_CHECKING:
    from forge_sql.engine.connection import Connection
    from forge_sql.engine.database import Database
    from forge_sql.engine.transactions import TransactionBlock

SOURCE = "forge_copy_source"  # the name a decoded batch has in the SQL that reads it

STAGE_ROWS = 10_000  # batches this large are written as Parquet files, not inserted
# Table column types whose Arrow form Arrow's Parquet writer stores exactly as DuckDB would:
# a batch of these types is written without a round trip through DuckDB.
_ARROW_TYPES = {
    "BOOLEAN": pa.bool_(),
    "SMALLINT": pa.int16(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}
_DICTIONARY_SAMPLE = 4096  # values looked at to decide on dictionary encoding


class Session(Protocol):
    """What an Arrow insert of client rows needs of the session it runs in (the gathered
    INSERT rows of engine.batching; COPY itself takes the connection and the block)."""

    @property
    def block(self) -> TransactionBlock: ...

    def running(self, flag: bool) -> None: ...

    def detach_stream(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Staging:
    """Where a large COPY writes its Parquet files, and the table they are added to.

    DuckDB keeps a transaction's inserted rows in memory until COMMIT (about 85 MiB per
    million rows, measured), so a large COPY writes each batch as a Parquet file and adds
    it to the table with ``ducklake_add_data_files`` in the COPY's transaction: memory stays
    bounded and the COPY is still all or nothing (files of a transaction that does not
    commit are deleted).
    """

    catalog: str
    schema: str
    table: str
    directory: str  # a local directory or object-storage prefix, ending in "/"
    not_null: tuple[str, ...]


class CopyInResult:
    """A running COPY FROM STDIN; its tag is ``COPY n`` once the client's data is in."""

    columns: tuple[Column, ...] | None = None
    binary = False

    def __init__(
        self,
        block: TransactionBlock,
        connection: Connection,
        copy: CopyIn,
        table: str,
        names: Sequence[str],
        types: Sequence[str],
        staging: Staging | None = None,
        limits: dict[str, Limit] | None = None,
    ) -> None:
        self.copy = copy
        self.notices: list[tuple[str, str]] = []
        self._block = block
        self._connection = connection
        self._names = list(names)
        self._types = list(types)
        self._rows = 0
        self._staging = staging
        self._arrow_types = [_ARROW_TYPES.get(kind) for kind in types]
        targets = ", ".join(quote_ident(n) for n in names)
        # Per input format (strings or typed values), what turns column i into its type.
        # varchar(n) / char(n) columns: fitted or refused as INSERT does (engine.lengths).
        limits = limits or {}
        self._expressions = {
            typed: [
                wrap(expression, limits[name]) if name in limits else expression
                for name, expression in zip(
                    names, (_convert(f"c{i}", kind, typed) for i, kind in enumerate(types)),
                    strict=True,
                )
            ]
            for typed in (False, True)
        }
        self._into = f"INSERT INTO {table} ({targets}) SELECT "
        self._insert = {
            typed: f"{self._into}{', '.join(expressions)} FROM {SOURCE}"
            for typed, expressions in self._expressions.items()
        }
        self._numerics = [i for i, kind in enumerate(types) if kind == DUCKDB_NUMERIC]

    def write(self, batch: pa.RecordBatch, first_line: int) -> None:
        """Insert the rows of ``batch`` (strings for text/csv, typed values for binary)."""
        if batch.num_rows == 0:
            return
        if batch.num_columns != len(self._names):
            raise errors.BadCopyFileFormat(
                f"COPY data has {batch.num_columns} columns, table has {len(self._names)}"
            )
        source = pa.RecordBatch.from_arrays(
            list(batch.columns), names=[f"c{i}" for i in range(batch.num_columns)]
        )
        typed = self.copy.format.binary
        converted, expressions = self._exact_numerics(source, typed)
        self._connection.running(True)
        try:
            if self._staging is not None and batch.num_rows >= STAGE_ROWS:
                self._stage(self._staging, expressions, converted)
            else:
                insert = (self._insert[typed] if converted is source
                          else f"{self._into}{', '.join(expressions)} FROM {SOURCE}")
                self._connection.raw.from_arrow(converted).query(SOURCE, insert)
        except duckdb.Error as exc:
            raise self._locate(exc, source, first_line, typed) from exc
        finally:
            self._connection.running(False)
        self._rows += batch.num_rows

    def _exact_numerics(
        self, source: pa.RecordBatch, typed: bool
    ) -> tuple[pa.RecordBatch, list[str]]:
        """The batch with its numeric columns' text converted by Arrow, and the SQL of each
        column. DuckDB parses text into DECIMAL(38,10) at ~45 µs a value (measured, 1.5.5),
        Arrow a thousand times faster, and its safe cast refuses a value it would round; a
        column Arrow refuses stays text for ``numeric.copy_cast``, which says why."""
        expressions = self._expressions[typed]
        if not self._numerics:
            return source, expressions
        columns = list(source.columns)
        expressions = list(expressions)
        for index in self._numerics:
            try:
                columns[index] = pc.cast(columns[index], pa.decimal128(PRECISION, SCALE))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            expressions[index] = f"c{index}"
        if expressions == self._expressions[typed]:
            return source, expressions
        return pa.RecordBatch.from_arrays(columns, names=source.schema.names), expressions

    def _stage(self, staging: Staging, expressions: list[str], batch: pa.RecordBatch) -> None:
        """Write ``batch`` as a Parquet file of the table's types and add it to the table.

        Through the relation API: a view or query over the batch would keep it alive until
        the transaction ends.
        """
        for name in staging.not_null:
            # add_data_files does not check constraints: check NOT NULL as INSERT would.
            if batch.column(self._names.index(name)).null_count:
                raise errors.NotNullViolation(f"NOT NULL constraint failed: {staging.table}.{name}")
        aliased = ", ".join(
            f"{expression} AS {quote_ident(name)}"
            for expression, name in zip(expressions, self._names, strict=True)
        )
        if not objectstore.is_url(staging.directory):
            Path(staging.directory).mkdir(parents=True, exist_ok=True)
        path = f"{staging.directory}{staging.schema}-{staging.table}-{uuid.uuid4().hex}.parquet"
        self._block.staged_files.append(path)  # first: a failed write may leave a file
        pairs = zip(batch.columns, self._arrow_types, strict=True)
        local = not objectstore.is_url(path)  # object storage is written with DuckDB's secrets
        if local and all(wanted is not None and column.type == wanted for column, wanted in pairs):
            _write_parquet(pa.Table.from_batches([batch]).rename_columns(self._names), path)
        else:
            self._connection.raw.from_arrow(batch).project(aliased).to_parquet(path)
        # raw: ``write`` has detached the stream and marked the COPY running already.
        self._connection.raw.execute(
            "CALL ducklake_add_data_files(?, ?, ?, schema => ?)",
            [staging.catalog, staging.table, path, staging.schema],
        )

    def _locate(
        self, exc: duckdb.Error, source: pa.RecordBatch, first_line: int, typed: bool
    ) -> errors.ForgeError:
        """The error for ``exc``, with ``COPY t, line N, column c: "value"`` as context."""
        error = translate(exc)
        if isinstance(exc, duckdb.InterruptException):
            return error
        numbered = source.append_column("__n", pa.array(range(source.num_rows), pa.int64()))
        # The failed INSERT aborted the session's transaction: probe the batch elsewhere.
        # Only casts of the batch's own values run there, no table is read.
        probe = duckdb.connect()
        probe.register(SOURCE, numbered)
        suspects = list(range(len(self._types)))
        if isinstance(error, errors.NotNullViolation):
            # "NOT NULL constraint failed: t.amount" names the column.
            named = error.message.rpartition(".")[2].strip().lower()
            suspects = [i for i in suspects if self._names[i].lower() == named] or suspects
        try:
            for index in suspects:
                kind = self._types[index]
                column = f"c{index}"
                bad = probe.execute(
                    f"SELECT __n, {column}::VARCHAR FROM {SOURCE} "
                    f"WHERE {_null_check(column, kind, typed, error)} ORDER BY __n LIMIT 1"
                ).fetchone()
                if bad is not None:
                    line = first_line + int(bad[0])
                    name = self._names[index]
                    value = "" if bad[1] is None else f': "{bad[1]}"'
                    error.context = f"COPY {self.copy.table}, line {line}, column {name}{value}"
                    error.position = None
                    return error
        except duckdb.Error:
            pass  # keep the error without a line
        finally:
            probe.close()
        error.context = f"COPY {self.copy.table}"
        return error

    def take_rows(self, limit: int) -> Sequence[tuple[object, ...]] | None:
        return None  # read in batches

    def next_batch(self) -> pa.RecordBatch | None:
        return None

    def command_tag(self) -> str:
        return f"COPY {self._rows}"

    def close(self) -> None:
        pass


def start(
    block: TransactionBlock,
    connection: Connection,
    database: Database,
    copy: CopyStatement,
) -> CopyInResult:
    """COPY ... FROM STDIN: check the target now; rows arrive through ``write``."""
    assert copy.table is not None
    columns = ", ".join(quote_ident(c) for c in copy.columns) or "*"
    relation = connection.sql(f"SELECT {columns} FROM {copy.table}")
    names, kinds = relation.columns, [str(k) for k in relation.types]
    for name in copy.format.force_null + copy.format.force_not_null:
        if name not in names:
            raise errors.UndefinedColumn(f'column "{name}" does not exist')
    target = CopyIn(
        copy.format,
        tuple(column(name, kind) for name, kind in zip(names, kinds, strict=True)),
        copy.relation_name(),
    )
    # duckdb_columns(), not duckdb_tables(): the latter asks DuckLake for every table's
    # statistics (~7 ms a table), which made each COPY slower as the lake grew.
    schema = copy.schema_name() or search_path.schema_of(connection, copy.relation_name())
    schema, table = connection.execute(
        "SELECT DISTINCT schema_name, table_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND table_name = ? AND schema_name = ?",
        [copy.relation_name(), schema],
    ).fetchone() or (None, None)
    nullable = dict(
        connection.execute(
            "SELECT column_name, is_nullable FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    )
    staging = None
    if schema is not None:
        staging = Staging(
            database.catalog,
            schema,
            table,
            database.lake.staging_path,
            tuple(n for n in names if nullable.get(n) is False),
        )
    limits = {}
    if schema is not None and database.declared_lengths.any(connection):
        limits = database.declared_lengths.of(connection, schema, table)
    return CopyInResult(block, connection, target, copy.table, names, kinds, staging, limits)


def _write_parquet(table: pa.Table, path: str) -> None:
    """Already typed columns as a Parquet file, as DuckDB writes them (snappy, statistics),
    dictionary-encoded where a sample shows repeated values: Arrow's writer gives up a
    dictionary only after building a large one, which costs more than the write itself."""
    sample = table.slice(0, _DICTIONARY_SAMPLE)
    repeated = [
        name
        for name, column in zip(sample.column_names, sample.columns, strict=True)
        if pc.count_distinct(column).as_py() * 2 <= len(column)
    ]
    pq.write_table(table, path, compression="snappy", use_dictionary=repeated or False)


def _convert(column: str, kind: str, typed: bool) -> str:
    """SQL that turns the decoded column into the table column's type."""
    if kind == DUCKDB_NUMERIC:  # text in both formats (binary numeric arrives as its text)
        return numeric.copy_cast(column)  # digits the cast would round are refused
    if typed:
        return f"CAST({column} AS {kind})"
    if kind == "BLOB":
        # PostgreSQL's text form of bytea is hex (\x4142); DuckDB's cast reads escapes.
        return (
            f"CASE WHEN starts_with({column}, '\\x') THEN unhex(substr({column}, 3)) "
            f"ELSE CAST({column} AS BLOB) END"
        )
    if kind.endswith("]"):
        # PostgreSQL array literals use braces, DuckDB's lists brackets.
        return f"CAST(replace(replace({column}, '{{', '['), '}}', ']') AS {kind})"
    return f"CAST({column} AS {kind})"


def _null_check(column: str, kind: str, typed: bool, error: errors.ForgeError) -> str:
    """Rows at fault: a value that does not convert, or a NULL a NOT NULL column refuses."""
    if isinstance(error, errors.NotNullViolation):
        return f"{column} IS NULL"
    if kind == DUCKDB_NUMERIC:
        return numeric.copy_refused(column)
    expression = _convert(column, kind, typed).replace("CAST(", "TRY_CAST(", 1)
    if expression.startswith("CASE"):
        expression = f"TRY_CAST({column} AS BLOB)"
    return f"{column} IS NOT NULL AND ({expression}) IS NULL"
