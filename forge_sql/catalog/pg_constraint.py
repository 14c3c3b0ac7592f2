"""pg_constraint: declared primary keys, unique, check and foreign key constraints (none
enforced).

PostgreSQL 16 keeps NOT NULL in pg_attribute.attnotnull only, so no rows for it here.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA


def _action(event: str) -> str:
    """confupdtype / confdeltype from the foreign key's ON UPDATE / ON DELETE clause."""
    actions = "CASCADE|RESTRICT|SET NULL|SET DEFAULT"
    clause = f"regexp_extract(d.definition, 'ON {event} ({actions})', 1)"
    return (
        f"CASE WHEN d.kind <> 'f' THEN ' ' ELSE CASE {clause} WHEN 'CASCADE' THEN 'c' "
        "WHEN 'RESTRICT' THEN 'r' WHEN 'SET NULL' THEN 'n' WHEN 'SET DEFAULT' THEN 'd' "
        "ELSE 'a' END END"
    )


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_constraint AS SELECT d.conoid AS oid, "
        "d.name AS conname, d.nspoid AS connamespace, d.kind AS contype, "
        "false AS condeferrable, false AS condeferred, true AS convalidated, "
        "d.relid AS conrelid, 0::BIGINT AS contypid, "
        "CASE WHEN d.kind IN ('p', 'u') THEN d.index_oid ELSE 0 END::BIGINT AS conindid, "
        "0::BIGINT AS conparentid, "
        "CASE WHEN d.kind = 'f' THEN d.ref_relid ELSE 0 END::BIGINT AS confrelid, "
        f"{_action('UPDATE')} AS confupdtype, {_action('DELETE')} AS confdeltype, "
        "CASE WHEN d.kind = 'f' THEN 's' ELSE ' ' END AS confmatchtype, "
        "true AS conislocal, 0 AS coninhcount, false AS connoinherit, d.attnums AS conkey, "
        "CASE WHEN d.kind = 'f' THEN d.ref_attnums END AS confkey, "
        "NULL::BIGINT[] AS conpfeqop, NULL::BIGINT[] AS conppeqop, NULL::BIGINT[] AS conffeqop, "
        "NULL::SMALLINT[] AS confdelsetcols, NULL::BIGINT[] AS conexclop, "
        "CASE WHEN d.kind = 'c' THEN regexp_replace(d.definition, '^CHECK\\s*', '') END"
        "::VARCHAR AS conbin "
        f"FROM {SCHEMA}.declared_keys AS d WHERE d.kind IN ('p', 'u', 'c', 'f')"
    )
