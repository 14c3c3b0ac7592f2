"""The system views that list relations by name: pg_tables, pg_views, pg_indexes,
pg_stat_user_tables and pg_statio_user_tables (no I/O statistics are kept: zeros)."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, literal, visible
from forge_sql.catalog.roles import OWNER

_TABLES = f"FROM {SCHEMA}.lake_tables() AS t"
_COUNTERS = (
    "seq_scan",
    "seq_tup_read",
    "idx_scan",
    "idx_tup_fetch",
    "n_tup_ins",
    "n_tup_upd",
    "n_tup_del",
    "n_tup_hot_upd",
    "n_tup_newpage_upd",
)
_IO = (
    "heap_blks_read",
    "heap_blks_hit",
    "idx_blks_read",
    "idx_blks_hit",
    "toast_blks_read",
    "toast_blks_hit",
    "tidx_blks_read",
    "tidx_blks_hit",
)


def _zeros(names: tuple[str, ...]) -> str:
    return ", ".join(f"0::BIGINT AS {name}" for name in names)


def definitions() -> Iterator[str]:
    s = SCHEMA
    owner = literal(OWNER)
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_tables AS SELECT t.schema_name AS schemaname, "
        f"t.table_name AS tablename, {owner} AS tableowner, NULL::VARCHAR AS tablespace, "
        "EXISTS (SELECT 1 FROM {s}.declared AS d WHERE d.schema_name = t.schema_name "
        "AND d.table_name = t.table_name AND d.kind IN ('p', 'u', 'i')) AS hasindexes, "
        "false AS hasrules, false AS hastriggers, false AS rowsecurity "
        f"{_TABLES}".replace("{s}", s)
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_views AS SELECT schema_name AS schemaname, "
        f"view_name AS viewname, {owner} AS viewowner, definition FROM {s}.view_definitions "
        f"WHERE {visible('schema_name')}"
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_indexes AS SELECT d.schema_name AS schemaname, "
        "d.table_name AS tablename, d.name AS indexname, NULL::VARCHAR AS tablespace, "
        f"{s}.pg_get_indexdef(d.index_oid) AS indexdef FROM {s}.declared AS d "
        "WHERE d.kind IN ('p', 'u', 'i')"
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_stat_user_tables AS SELECT "
        f"{s}.relation_oid(t.schema_name, t.table_name) AS relid, "
        "t.schema_name AS schemaname, t.table_name AS relname, "
        f"{_zeros(_COUNTERS)}, NULL::TIMESTAMPTZ AS last_seq_scan, "
        "NULL::TIMESTAMPTZ AS last_idx_scan, "
        "coalesce(t.row_estimate, 0)::BIGINT AS n_live_tup, 0::BIGINT AS n_dead_tup, "
        "0::BIGINT AS n_mod_since_analyze, 0::BIGINT AS n_ins_since_vacuum, "
        "NULL::TIMESTAMPTZ AS last_vacuum, NULL::TIMESTAMPTZ AS last_autovacuum, "
        "NULL::TIMESTAMPTZ AS last_analyze, NULL::TIMESTAMPTZ AS last_autoanalyze, "
        "0::BIGINT AS vacuum_count, 0::BIGINT AS autovacuum_count, "
        f"0::BIGINT AS analyze_count, 0::BIGINT AS autoanalyze_count {_TABLES}"
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_statio_user_tables AS SELECT "
        f"{s}.relation_oid(t.schema_name, t.table_name) AS relid, "
        "t.schema_name AS schemaname, t.table_name AS relname, "
        f"{_zeros(_IO)} {_TABLES}"
    )
