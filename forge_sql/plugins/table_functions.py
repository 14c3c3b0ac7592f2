"""Running a table function: its rows, whatever it returns, as one Arrow stream of the
declared columns, pulled batch by batch (so a generator of any length is never held whole),
stopped between batches by cancel, with its exceptions as PostgreSQL errors.

A function may return a pyarrow Table, RecordBatch or RecordBatchReader, a polars
DataFrame or LazyFrame, or an iterable of any of those or of rows (dicts or pydantic
models). Rows are gathered ``batch_rows`` at a time; every batch is checked against the
declared columns (names, then a safe cast to each type): a mismatch names the column and
the row (counted from 1 over the whole output).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType

from forge_sql import errors
from forge_sql.ext import Context, ExtensionError, SourceSpec, TableSpec
from forge_sql.plugins import faults, scalars
from forge_sql.plugins.registry import Function, Registry
from forge_sql.sql.quoting import quote_ident

log = logging.getLogger("forge_sql.plugins")


class Stopped(Exception):
    """Raised into the Arrow stream: the statement fails with the error already handed to
    the engine (``failed``)."""


def call(
    function: Function,
    arguments: Mapping[str, object],
    context: Context | None,
    schema: pa.Schema,
    *,
    cancelled: Callable[[], bool],
    failed: Callable[[errors.ForgeError], None],
    batch_rows: int = 65536,
) -> pa.RecordBatchReader:
    """Call ``function`` with ``arguments`` (by parameter name) and return its rows as a
    reader of ``schema``'s batches. ``failed`` receives the server's own errors (bad rows,
    cancel) before the stream raises, so that the engine reports them rather than DuckDB's
    words; the function's exceptions go through plugins.faults."""
    spec = function.spec
    assert isinstance(spec, TableSpec)
    keywords = dict(arguments)
    if spec.context_argument is not None:
        keywords[spec.context_argument] = context
    try:
        if isinstance(spec, SourceSpec) and spec.secret and context is not None:
            context.secret(spec.secret)  # 42704 before any request when it is missing
        produced = spec.function(**keywords)
    except errors.ForgeError as exc:
        failed(exc)
        raise
    except Exception as exc:
        raise faults.record(spec, function.extension, exc) from None
    batches = _guarded(function, _conformed(_batches(produced, batch_rows), schema),
                       cancelled, failed)
    return pa.RecordBatchReader.from_batches(schema, batches)


def _canceled() -> errors.QueryCanceled:
    return errors.QueryCanceled("canceling statement due to user request")


def _guarded(
    function: Function,
    batches: Iterator[pa.RecordBatch],
    cancelled: Callable[[], bool],
    failed: Callable[[errors.ForgeError], None],
) -> Iterator[pa.RecordBatch]:
    """``batches``, checking for cancel before each, with every exception made the
    statement's error."""
    try:
        while True:
            if cancelled():
                raise _canceled()
            try:
                batch = next(batches)
            except StopIteration:
                return
            yield batch
    except errors.ForgeError as exc:
        failed(exc)
        raise Stopped(exc.message) from None
    except Exception as exc:
        # Reported by the session's error translation (plugins.faults: 38000 or the
        # ExtensionError's SQLSTATE, DETAIL with the function and file:line).
        raise faults.record(function.spec, function.extension, exc) from None
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


# -- whatever the function returned, as record batches ------------------------------------
def _batches(produced: object, batch_rows: int) -> Iterator[pa.RecordBatch | list[Any]]:
    """Record batches, or lists of rows, in order."""
    if produced is None:
        return
    single = _arrow(produced, batch_rows)
    if single is not None:
        yield from single
        return
    if isinstance(produced, Mapping) or not isinstance(produced, Iterable):
        raise TypeError(
            f"a table function returns rows (an iterable, Arrow or polars data), "
            f"not {type(produced).__name__}"
        )
    rows: list[Any] = []
    for item in produced:
        found = _arrow(item, batch_rows)
        if found is None:
            rows.append(item)
            if len(rows) >= batch_rows:
                yield rows
                rows = []
            continue
        if rows:
            yield rows
            rows = []
        yield from found
    if rows:
        yield rows


def _arrow(value: Any, batch_rows: int) -> Iterator[pa.RecordBatch] | None:
    """``value``'s batches when it is Arrow or polars data, else None."""
    if isinstance(value, pa.RecordBatch):
        return iter((value,))
    if isinstance(value, pa.Table):
        return iter(value.to_batches(max_chunksize=batch_rows))  # type: ignore[no-any-return]
    if isinstance(value, pa.RecordBatchReader):
        return iter(value)  # type: ignore[no-any-return]
    module = type(value).__module__ or ""
    if module.startswith("polars"):
        if hasattr(value, "collect_batches"):  # a LazyFrame: computed batch by batch
            return (
                batch
                for frame in value.collect_batches(chunk_size=batch_rows)
                for batch in frame.to_arrow().to_batches()
            )
        if hasattr(value, "to_arrow") and hasattr(value, "columns"):
            return iter(value.to_arrow().to_batches(max_chunksize=batch_rows))  # type: ignore[no-any-return]
    return None


# -- checked against the declared columns -------------------------------------------------
def _conformed(
    produced: Iterator[pa.RecordBatch | list[Any]], schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    row = 1  # of the first row of the next batch
    for item in produced:
        if isinstance(item, list):
            batch = _from_rows(item, schema, row)
        else:
            batch = _cast(item, schema, row)
        row += batch.num_rows
        if batch.num_rows:
            yield batch


class RowMismatch(errors.ForgeError):
    """Rows that do not fit the declared columns (PostgreSQL's plpython reports a
    mismatched returned row as 42804, datatype_mismatch)."""

    sqlstate = "42804"


def _from_rows(rows: Sequence[Any], schema: pa.Schema, first: int) -> pa.RecordBatch:
    names = schema.names
    wanted = set(names)
    records: list[Mapping[str, Any]] = []
    for offset, item in enumerate(rows):
        record = _record(item, first + offset)
        if record.keys() != wanted:
            extra = sorted(set(record) - wanted)
            missing = [n for n in names if n not in record]
            what = (f'has no column "{extra[0]}"' if extra
                    else f'lacks column "{missing[0]}"')
            raise RowMismatch(
                f"row {first + offset} of the table function's result {what}",
                detail=f"declared columns: {', '.join(names)}",
            )
        records.append(record)
    arrays = []
    for field in schema:
        values = [r[field.name] for r in records]
        try:
            arrays.append(pa.array(values, type=field.type))
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            at = _first_bad(values, field.type)
            raise RowMismatch(
                f'column "{field.name}" of row {first + at} of the table function\'s result: '
                f"{values[at]!r} is not a value of type {_sql(field.type)}",
                detail=str(exc),
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _record(item: Any, row: int) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    dump = getattr(item, "model_dump", None)
    if dump is not None:  # a pydantic model
        return dump()  # type: ignore[no-any-return]
    raise RowMismatch(
        f"row {row} of the table function's result is a {type(item).__name__}: rows are "
        "dicts or pydantic models (or Arrow / polars batches)"
    )


def _first_bad(values: Sequence[Any], kind: pa.DataType) -> int:
    for index, value in enumerate(values):
        try:
            pa.array([value], type=kind)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return index
    return 0


def _cast(batch: pa.RecordBatch, schema: pa.Schema, first: int) -> pa.RecordBatch:
    present = set(batch.schema.names)
    extra = [n for n in batch.schema.names if n not in schema.names]
    missing = [n for n in schema.names if n not in present]
    if extra or missing:
        what = f'has no column "{extra[0]}"' if extra else f'lacks column "{missing[0]}"'
        raise RowMismatch(
            f"the batch from row {first} of the table function's result {what}",
            detail=f"declared columns: {', '.join(schema.names)}",
        )
    if batch.schema.equals(schema, check_metadata=False):
        return batch
    arrays = []
    for field in schema:
        column = batch.column(field.name)
        if column.type.equals(field.type):
            arrays.append(column)
            continue
        try:
            arrays.append(column.cast(field.type, safe=True))
        except (pa.ArrowException, TypeError, ValueError) as exc:
            at = _first_bad_cast(column, field.type)
            raise RowMismatch(
                f'column "{field.name}" of row {first + at} of the table function\'s result: '
                f"{column[at].as_py()!r} is not a value of type {_sql(field.type)}",
                detail=str(exc),
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _first_bad_cast(column: pa.Array, kind: pa.DataType) -> int:
    """The first value that does not cast (bisecting: only on the error path)."""
    low, high = 0, len(column)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            column.slice(low, middle - low).cast(kind, safe=True)
            low = middle
        except (pa.ArrowException, TypeError, ValueError):
            high = middle
    return low


def _sql(kind: pa.DataType) -> str:
    return str(kind)


# -- DuckDB's side: table macros for the calls the server does not expand ------------------
# A call whose arguments refer to another FROM item (LATERAL) runs once per row of it, and
# a call inside a view the server does not expand (a temporary view, one created in the
# open transaction, a CREATE VIEW or PREPARE's own text) runs when DuckDB reads it: both
# are left to DuckDB, which finds a table macro of the function's name (in the extensions'
# database, on every session's search path) calling a Python function that returns the
# rows of a chunk of outer rows' calls as one list. Those rows are held whole (DuckDB
# 1.5.5 has no Python table functions to stream from), up to HELD_LIMIT bytes of Arrow
# data per chunk: past it the statement fails rather than the server's memory growing
# without bound. The streamed path is the server's expansion (engine.table_functions).
HELD_LIMIT = 128 << 20


def register(con: duckdb.DuckDBPyConnection, registry: Registry, env: scalars.Environment,
             schema_of: Callable[[Sequence[tuple[str, str]]], pa.Schema]) -> None:
    """Create the table macros (and the functions behind them) of ``registry``'s table
    functions with declared columns, on the root connection."""
    for (schema, name), overloads in registry.tables.items():
        declared = [f for f in overloads if isinstance(f.spec, TableSpec) and f.spec.columns]
        if not declared:
            continue
        for function in declared:
            _create(con, function, env, schema_of)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {scalars.qualified_macro_schema(schema)}")
        con.execute(_macro(schema, name, declared))


def unregister(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Drop ``registry``'s table macros before a reload creates the new ones (the Python
    functions stay, under their generation's names, for statements still running)."""
    for schema, name in registry.tables:
        con.execute(
            f"DROP MACRO TABLE IF EXISTS {scalars.qualified_macro_schema(schema)}."
            f"{quote_ident(name)}"
        )


def _struct(spec: TableSpec) -> str:
    fields = ", ".join(f"{quote_ident(c.name)} {c.type}" for c in spec.columns)
    return f"STRUCT({fields})[]"


def _macro(schema: str, name: str, overloads: Sequence[Function]) -> str:
    bodies = []
    for function in overloads:
        spec = function.spec
        parameters = []
        for a in spec.arguments:
            text = quote_ident(a.name)
            if a.has_default:
                text += f" := CAST({scalars._literal(a.default)} AS {a.type})"
            parameters.append(text)
        arguments = [scalars.TOKEN] + [
            f"CAST({quote_ident(a.name)} AS {a.type})" for a in spec.arguments
        ]
        bodies.append(
            f"({', '.join(parameters)}) AS TABLE SELECT r.* FROM (SELECT unnest("
            f"{function.registered_name}({', '.join(arguments)})) AS r)"
        )
    return (
        f"CREATE OR REPLACE MACRO {scalars.qualified_macro_schema(schema)}.{quote_ident(name)}"
        + ", ".join(bodies)
    )


def _held_too_much(spec: TableSpec, calls: int) -> errors.ProgramLimitExceeded:
    return errors.ProgramLimitExceeded(
        f"table function {spec.name} gave more than {HELD_LIMIT >> 20} MB of rows for "
        f"{'one call' if calls == 1 else f'{calls} calls'} that DuckDB runs itself and "
        "holds whole (a LATERAL join's calls, or a view the server does not expand)",
        hint=f"Call {spec.name} directly in FROM, or through a view, with arguments that "
        "are constants, parameters or subqueries: those calls stream.",
    )


def _create(con: duckdb.DuckDBPyConnection, function: Function, env: scalars.Environment,
            schema_of: Callable[[Sequence[tuple[str, str]]], pa.Schema]) -> None:
    spec = function.spec
    assert isinstance(spec, TableSpec)
    names = [a.name for a in spec.arguments]
    schema = schema_of([(c.name, c.type) for c in spec.columns])

    def rows(tokens: pa.Array, *args: pa.Array) -> pa.Array:
        # Arrow in and out (one call per chunk of outer rows, a LATERAL join's or the
        # view's single row): each call's rows stay in Arrow buffers, a fraction of the
        # Python rows this once built, though still whole (DuckDB 1.5.5 has no Python
        # table functions to stream from).
        try:
            offsets = [0]
            values: list[pa.Array] = []
            held = 0
            for i in range(len(tokens)):
                keywords = scalars._context(function, env, tokens[i].as_py())
                keywords.update(zip(names, (a[i].as_py() for a in args), strict=True))
                produced = spec.function(**keywords)
                total = offsets[-1]
                for batch in _conformed(_batches(produced, 65536), schema):
                    values.append(batch.to_struct_array())
                    total += batch.num_rows
                    held += batch.nbytes
                    if held > HELD_LIMIT:
                        raise _held_too_much(spec, len(tokens))
                offsets.append(total)
            whole = pa.concat_arrays(values) if values else pa.array(
                [], pa.struct(list(schema)))
            return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), whole)
        except errors.ForgeError as exc:
            raised = ExtensionError(exc.message, exc.sqlstate, detail=exc.detail, hint=exc.hint)
            raise faults.record(spec, function.extension, raised) from None
        except Exception as exc:
            raise faults.record(spec, function.extension, exc) from None

    rows.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"a{i}", inspect.Parameter.POSITIONAL_ONLY)
         for i in range(len(names) + 1)]
    )
    con.create_function(
        function.registered_name,
        rows,
        [duckdb.sqltype("VARCHAR"), *(duckdb.sqltype(a.type) for a in spec.arguments)],
        duckdb.sqltype(_struct(spec)),
        type=PythonUDFType.ARROW,
        null_handling=FunctionNullHandling.SPECIAL,
        side_effects=True,
    )
