"""PostgreSQL type names DuckDB lacks, as DuckDB type aliases in the emulation's schema.

Sessions have that schema on their search path, so ``'{}'::jsonb`` and ``CREATE TABLE t
(doc jsonb)`` resolve to DuckDB's JSON (results then carry the json OID, 114).
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA

ALIASES = {"jsonb": "JSON"}


def definitions() -> Iterator[str]:
    for name, duckdb_type in ALIASES.items():
        yield f"CREATE TYPE {SCHEMA}.{name} AS {duckdb_type}"
