"""pg_attribute: the columns of the lake's tables and views, typed with PostgreSQL OIDs."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, visible


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_attribute AS SELECT "
        f"{SCHEMA}.relation_oid(c.schema_name, c.table_name) AS attrelid, "
        f"c.column_name AS attname, {SCHEMA}.type_oid(c.data_type)::BIGINT AS atttypid, "
        "-1::INTEGER AS attstattarget, "
        "coalesce(t.typlen, -1)::SMALLINT AS attlen, c.column_index::SMALLINT AS attnum, "
        "(CASE WHEN t.typcategory = 'A' THEN 1 ELSE 0 END)::INTEGER AS attndims, "
        f"-1 AS attcacheoff, {SCHEMA}.type_typmod(c.data_type) AS atttypmod, "
        "coalesce(t.typbyval, false) AS attbyval, coalesce(t.typalign, 'i') AS attalign, "
        "coalesce(t.typstorage, 'x') AS attstorage, '' AS attcompression, "
        "NOT c.is_nullable AS attnotnull, "
        "coalesce(c.column_default <> 'NULL', false) "
        f"AND {SCHEMA}.identity_kind(c.column_default) = '' AS atthasdef, "
        f"false AS atthasmissing, {SCHEMA}.identity_kind(c.column_default) AS attidentity, "
        "'' AS attgenerated, "
        "false AS attisdropped, true AS attislocal, 0 AS attinhcount, "
        "coalesce(t.typcollation, 0) AS attcollation, NULL::VARCHAR[] AS attacl, "
        "NULL::VARCHAR[] AS attoptions, NULL::VARCHAR[] AS attfdwoptions, "
        "NULL::VARCHAR AS attmissingval "
        f"FROM {SCHEMA}.lake_columns AS c LEFT JOIN {SCHEMA}.pg_type_rows AS t "
        f"ON t.oid = {SCHEMA}.type_oid(c.data_type) "
        "WHERE c.database_name = current_database() AND NOT c.internal "
        f"AND {visible('c.schema_name')}"
    )
