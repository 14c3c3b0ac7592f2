"""pg_matviews, and the rows pg_class reads to show a materialized view as relkind 'm':
the lake's forge_meta.matviews as of its latest snapshot (forge_sql.catalog.snapshot)."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA


def tables() -> Iterator[str]:
    """What pg_class reads: created before it."""
    yield (
        f"CREATE OR REPLACE TABLE {SCHEMA}.matview_rows (schema_name VARCHAR, "
        "matview_name VARCHAR, definition VARCHAR, populated BOOLEAN)"
    )


def definitions() -> Iterator[str]:
    s = SCHEMA
    # PostgreSQL prints the definition deparsed, ending in ';' (pg_get_viewdef).
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_matviews AS SELECT m.schema_name AS schemaname, "
        "m.matview_name AS matviewname, "
        f"{s}.pg_get_userbyid(coalesce(a.owner, 10)) AS matviewowner, "
        "NULL::VARCHAR AS tablespace, false AS hasindexes, m.populated AS ispopulated, "
        "' ' || m.definition || ';' AS definition "
        f"FROM {s}.matview_rows AS m LEFT JOIN {s}.relation_acl AS a "
        "ON a.nspname = m.schema_name AND a.relname = m.matview_name"
    )
