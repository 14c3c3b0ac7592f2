"""pg_range: empty (DuckDB has no range types), with PostgreSQL 16's columns.

asyncpg's type introspection LEFT JOINs it on rngtypid and rngmultitypid.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE TABLE {SCHEMA}.pg_range (rngtypid BIGINT, rngsubtype BIGINT, "
        "rngmultitypid BIGINT, rngcollation BIGINT, rngsubopc BIGINT, "
        "rngcanonical VARCHAR, rngsubdiff VARCHAR)"
    )
