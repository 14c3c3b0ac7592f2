"""PostgreSQL's array functions over DuckDB lists (one-dimensional, lower bound 1):
array_lower, array_upper, and information_schema._pg_expandarray that pgjdbc reads keys with."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import INFORMATION_SCHEMA, SCHEMA


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.array_lower(a, dimension) AS "
        "CASE WHEN dimension = 1 AND len(a) > 0 THEN 1 END"
    )
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.array_upper(a, dimension) AS "
        "CASE WHEN dimension = 1 AND len(a) > 0 THEN len(a) END"
    )
    # Used as a set-returning function in a select list: (_pg_expandarray(k)).x
    yield (
        f"CREATE OR REPLACE MACRO {INFORMATION_SCHEMA}._pg_expandarray(a) AS "
        "unnest(list_transform(generate_series(1, len(a)), i -> {'x': a[i], 'n': i}))"
    )
