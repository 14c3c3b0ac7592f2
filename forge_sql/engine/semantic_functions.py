"""Functions PostgreSQL's value semantics need that DuckDB lacks, created on the database
once per start (forge_sql.sql.semantics rewrites statements to use them).

``a / b`` becomes DuckDB's ``//``, which has no ``interval`` overload: ``//(INTERVAL,
DOUBLE)`` divides as PostgreSQL's interval_div does (src/backend/utils/adt/timestamp.c):
whole months and days divided, their fractions cascaded down to days and microseconds.
It works on whole Arrow batches.

A divisor that may be zero is wrapped in ``forge_divisor``, a macro of the catalog schema
(on every session's search path): PostgreSQL raises 22012 where DuckDB's ``/``, ``//`` and
``%`` give NULL.

``sum(x)`` without DISTINCT, ORDER BY, FILTER or OVER becomes ``sum_fields(x)``, a macro
with an overload for intervals (PostgreSQL adds their three fields apart, interval_pl;
DuckDB has no sum of intervals) and one calling ``sum`` for other types; the overload is
chosen while the call binds. Typed macro parameters need a newer storage version than the
server's file has, so these macros are TEMP, made on each session's connection
(``SESSION_MACROS``).

``SIMILAR TO`` with a pattern computed at run time (a column, a parameter) gets it
translated by ``forge_similar_to_regex``, as a constant pattern is when the statement is
prepared.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from duckdb.func import PythonUDFType
from duckdb.sqltypes import DOUBLE, INTERVAL, VARCHAR

from forge_sql.sql.aggregate_types import SUM_FIELDS, SUM_TYPE
from forge_sql.sql.semantics import DIVISOR
from forge_sql.sql.similar_to import SIMILAR_FUNCTION, similar_to_regex
from forge_sql.sql.string_casts import BPCHAR_CUT, VARCHAR_CUT

_DAYS_PER_MONTH = 30
_SECONDS_PER_DAY = 86_400
# DuckDB hands intervals to Arrow as month_day_nano: int32 months, int32 days, int64 ns.
_MONTH_DAY_NANO = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])


SESSION_MACROS = (
    f"CREATE OR REPLACE TEMP MACRO {SUM_FIELDS}"
    "(x INTERVAL) AS to_months(sum(datepart('year', x) * 12 + datepart('month', x))::INTEGER)"
    " + to_days(sum(datepart('day', x))::INTEGER)"
    " + to_microseconds(sum(datepart('hour', x) * 3600000000 + datepart('minute', x) * 60000000"
    " + datepart('microseconds', x))::BIGINT),"
    " (x) AS sum(x)",
    # The type of PostgreSQL's sum(x), to cast DuckDB's to (sql.aggregate_types).
    f"CREATE OR REPLACE TEMP MACRO {SUM_TYPE}(x INTERVAL) AS any_value(x),"
    " (x) AS coalesce(coalesce(any_value(x), NULL::UHUGEINT), NULL::UINTEGER)",
)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Add the functions to the database (once per server start)."""
    con.create_function(
        "//", divide_interval, [INTERVAL, DOUBLE], INTERVAL, type=PythonUDFType.ARROW
    )
    con.create_function(
        SIMILAR_FUNCTION, similar_patterns, [VARCHAR, VARCHAR], VARCHAR,
        type=PythonUDFType.ARROW,
    )


def similar_patterns(
    patterns: pa.Array | pa.ChunkedArray, escapes: pa.Array | pa.ChunkedArray
) -> pa.Array:
    """SIMILAR TO patterns computed at run time as regular expressions, each distinct
    (pattern, escape) translated once per batch (a parameter is one for all rows)."""
    pairs = zip(_whole(patterns).to_pylist(), _whole(escapes).to_pylist(), strict=True)
    translated: dict[tuple[str, str], str] = {}
    out: list[str | None] = []
    for pattern, escape in pairs:
        if pattern is None or escape is None:
            out.append(None)
            continue
        key = (pattern, escape)
        if key not in translated:
            translated[key] = similar_to_regex(pattern, escape)
        out.append(translated[key])
    return pa.array(out, pa.string())


def install(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Create the macros in the catalog schema (after it is made, at every start)."""
    con.execute(
        f"CREATE OR REPLACE MACRO {schema}.{DIVISOR}(b) AS "
        "CASE WHEN b = 0 THEN error('division by zero') ELSE b END"
    )
    # Explicit casts to varchar(n) and char(n) (forge_sql.sql.string_casts).
    con.execute(f"CREATE OR REPLACE MACRO {schema}.{VARCHAR_CUT}(s, n) AS left(s, n)")
    con.execute(f"CREATE OR REPLACE MACRO {schema}.{BPCHAR_CUT}(s, n) AS rtrim(left(s, n), ' ')")


def _whole(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _round_micro(value: np.ndarray) -> np.ndarray:
    """TSROUND: to microsecond precision."""
    return np.rint(value * 1e6) / 1e6


def divide_interval(
    span: pa.Array | pa.ChunkedArray, factor: pa.Array | pa.ChunkedArray
) -> pa.Array:
    """PostgreSQL's ``interval / float8`` over one batch."""
    span = _whole(span).cast(pa.month_day_nano_interval())
    factor = _whole(factor).cast(pa.float64())
    valid = pa.compute.and_(pa.compute.is_valid(span), pa.compute.is_valid(factor))
    divisor = factor.fill_null(1.0).to_numpy(zero_copy_only=False)
    if np.any((divisor == 0) & valid.to_numpy(zero_copy_only=False)):
        raise ZeroDivisionError("division by zero")
    fields = np.frombuffer(span.buffers()[1], _MONTH_DAY_NANO, len(span), span.offset * 16)
    months = fields["months"].astype(np.float64)
    days = fields["days"].astype(np.float64)
    micros = fields["nanos"].astype(np.float64) / 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        month_quotient = months / divisor
        day_quotient = days / divisor
        new_months = np.trunc(month_quotient)
        new_days = np.trunc(day_quotient)
        month_days = _round_micro((month_quotient - new_months) * _DAYS_PER_MONTH)
        seconds = _round_micro(
            (day_quotient - new_days + month_days - np.trunc(month_days)) * _SECONDS_PER_DAY
        )
        carried = np.where(np.abs(seconds) >= _SECONDS_PER_DAY,
                           np.trunc(seconds / _SECONDS_PER_DAY), 0.0)
        seconds -= carried * _SECONDS_PER_DAY
        new_days += carried + np.trunc(month_days)
        new_micros = np.rint(micros / divisor + seconds * 1e6)
    limit = np.iinfo(np.int32).max
    out_of_range = valid.to_numpy(zero_copy_only=False) & (
        ~np.isfinite(new_micros) | (np.abs(new_months) > limit) | (np.abs(new_days) > limit)
    )
    if np.any(out_of_range):
        raise OverflowError("interval out of range")
    result = np.zeros(len(span), _MONTH_DAY_NANO)
    result["months"] = np.nan_to_num(new_months).astype(np.int32)
    result["days"] = np.nan_to_num(new_days).astype(np.int32)
    result["nanos"] = np.nan_to_num(new_micros).astype(np.int64) * 1000
    validity = pa.compute.invert(valid)
    values = pa.Array.from_buffers(
        pa.month_day_nano_interval(), len(span), [None, pa.py_buffer(result.tobytes())]
    )
    return pa.compute.if_else(validity, pa.scalar(None, pa.month_day_nano_interval()), values)
