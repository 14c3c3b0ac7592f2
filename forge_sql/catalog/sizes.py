"""pg_relation_size and friends from the sizes of a table's Parquet files (DuckLake's
ducklake_table_info), and pg_size_pretty with PostgreSQL's units and rounding."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, literal


def _pretty() -> str:
    """PostgreSQL's pg_size_pretty (src/backend/utils/adt/dbsize.c): bytes below 10 kB, then
    kB, MB, GB, TB, PB each below 20 units, rounded half away from zero."""
    half = "((v + CASE WHEN v < 0 THEN -1 ELSE 1 END) // 2)"
    steps = []
    for index, unit in enumerate(("kB", "MB", "GB", "TB")):
        shift = 9 + 10 * index
        value = half.replace("v", f"(b // {1 << shift})")
        steps.append(f"WHEN abs(b // {1 << shift}) < 20479 THEN {value} || ' {unit}'")
    last = half.replace("v", f"(b // {1 << 49})")
    return (
        "CASE WHEN b IS NULL THEN NULL WHEN abs(b) < 10240 THEN b || ' bytes' "
        + " ".join(steps)
        + f" ELSE {last} || ' PB' END"
    )


def definitions(lake: str) -> Iterator[str]:
    """``lake``: the lake's name (ducklake_table_info takes a constant)."""
    s = SCHEMA
    yield (
        f"CREATE OR REPLACE VIEW {s}.relation_sizes AS SELECT "
        f"{s}.relation_oid(t.schema_name, t.table_name) AS oid, "
        "sum(i.file_size_bytes + i.delete_file_size_bytes)::BIGINT AS bytes "
        f"FROM {s}.lake_tables() AS t "
        f"JOIN ducklake_table_info({literal(lake)}) AS i ON i.table_name = t.table_name "
        "GROUP BY ALL"
    )
    size = f"coalesce((SELECT first(bytes) FROM {s}.relation_sizes WHERE oid = x), 0)::BIGINT"
    yield f"CREATE OR REPLACE MACRO {s}.pg_relation_size(x) AS {size}, (x, fork) AS {size}"
    yield f"CREATE OR REPLACE MACRO {s}.pg_table_size(x) AS {size}"
    yield f"CREATE OR REPLACE MACRO {s}.pg_total_relation_size(x) AS {size}"
    yield f"CREATE OR REPLACE MACRO {s}.pg_indexes_size(x) AS 0::BIGINT"  # none stored
    yield (
        f"CREATE OR REPLACE MACRO {s}.pg_database_size(x) AS "
        f"(SELECT coalesce(sum(bytes), 0)::BIGINT FROM {s}.relation_sizes)"
    )
    yield f"CREATE OR REPLACE MACRO {s}.pg_size_pretty(b) AS {_pretty()}"
