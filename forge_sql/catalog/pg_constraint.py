"""pg_constraint: declared primary keys, unique constraints and checks (not enforced).

PostgreSQL 16 keeps NOT NULL in pg_attribute.attnotnull only, so no rows for it here.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_constraint AS SELECT d.conoid AS oid, "
        "d.name AS conname, d.nspoid AS connamespace, d.kind AS contype, "
        "false AS condeferrable, false AS condeferred, true AS convalidated, "
        "d.relid AS conrelid, 0::BIGINT AS contypid, "
        "CASE WHEN d.kind IN ('p', 'u') THEN d.index_oid ELSE 0 END::BIGINT AS conindid, "
        "0::BIGINT AS conparentid, 0::BIGINT AS confrelid, ' ' AS confupdtype, "
        "' ' AS confdeltype, ' ' AS confmatchtype, true AS conislocal, 0 AS coninhcount, "
        "false AS connoinherit, CASE WHEN d.kind = 'c' THEN NULL ELSE d.attnums END AS conkey, "
        "NULL::SMALLINT[] AS confkey, NULL::BIGINT[] AS conpfeqop, NULL::BIGINT[] AS conppeqop, "
        "NULL::BIGINT[] AS conffeqop, NULL::SMALLINT[] AS confdelsetcols, "
        "NULL::BIGINT[] AS conexclop, "
        "CASE WHEN d.kind = 'c' THEN d.definition END::VARCHAR AS conbin "
        f"FROM {SCHEMA}.declared_keys AS d WHERE d.kind IN ('p', 'u', 'c')"
    )
