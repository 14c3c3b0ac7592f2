"""pg_namespace: pg_catalog, public and information_schema with PostgreSQL's OIDs, then the
lake's other schemas and those extensions' functions name, with OIDs derived from their
names (stable across restarts)."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, visible

PG_CATALOG = 11
PUBLIC = 2200
# Assigned by initdb, so it differs between PostgreSQL builds; any OID below 16384
# (FirstNormalObjectId) reads as a system schema.
INFORMATION_SCHEMA = 13183
FIRST_NORMAL_OID = 16384
BOOTSTRAP_SUPERUSER = 10
# DuckDB's default schema, in every database (the lake's included): PostgreSQL has no such
# schema, so it is listed only when something was created in it.
DUCKDB_DEFAULT = "main"


def _granted(column: str, default: object) -> str:
    """The owner or ACL the server's grants record for a schema (forge_sql.catalog.roles),
    from namespace_acl joined as ``a``: a join, not a subquery per column, which DuckDB
    would plan as a join each (pg_class.py says what that cost)."""
    return f"coalesce(a.{column}, {default})"


def definitions() -> Iterator[str]:
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.namespace_oid(nsp) AS CASE nsp "
        f"WHEN 'public' THEN {PUBLIC} WHEN 'pg_catalog' THEN {PG_CATALOG} "
        f"WHEN 'information_schema' THEN {INFORMATION_SCHEMA} "
        f"ELSE {FIRST_NORMAL_OID} + (hash(nsp) % {(1 << 30) - FIRST_NORMAL_OID})::BIGINT END"
    )
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_namespace AS "
        "SELECT fixed.oid::BIGINT AS oid, fixed.nspname::VARCHAR AS nspname, "
        f"{_granted('owner', BOOTSTRAP_SUPERUSER)}::BIGINT AS nspowner, "
        f"{_granted('acl', 'NULL')}::VARCHAR[] AS nspacl FROM (VALUES "
        f"({PG_CATALOG}, 'pg_catalog'), ({PUBLIC}, 'public'), "
        f"({INFORMATION_SCHEMA}, 'information_schema')) AS fixed(oid, nspname) "
        f"LEFT JOIN {SCHEMA}.namespace_acl AS a ON a.nspname = fixed.nspname "
        f"UNION ALL SELECT {SCHEMA}.namespace_oid(sc.schema_name), sc.schema_name, "
        f"{_granted('owner', BOOTSTRAP_SUPERUSER)}, {_granted('acl', 'NULL')} "
        f"FROM {SCHEMA}.lake_schemas AS sc LEFT JOIN {SCHEMA}.namespace_acl AS a "
        "ON a.nspname = sc.schema_name WHERE sc.database_name = current_database() "
        "AND sc.schema_name NOT IN ('public', 'pg_catalog', 'information_schema') "
        f"AND {visible('sc.schema_name')} AND (sc.schema_name <> '{DUCKDB_DEFAULT}' "
        f"OR EXISTS (SELECT 1 FROM {SCHEMA}.lake_columns AS c "
        f"WHERE c.database_name = current_database() AND c.schema_name = '{DUCKDB_DEFAULT}'))"
        # A schema only an extension names (ml.predict): no lake object, yet \dn and
        # \df ml.* list it, as PostgreSQL lists the schema of any function.
        f" UNION ALL SELECT {SCHEMA}.namespace_oid(e.schema_name), e.schema_name, "
        f"{_granted('owner', BOOTSTRAP_SUPERUSER)}, {_granted('acl', 'NULL')} "
        f"FROM (SELECT DISTINCT schema_name FROM {SCHEMA}.extension_functions) AS e "
        f"LEFT JOIN {SCHEMA}.namespace_acl AS a ON a.nspname = e.schema_name "
        "WHERE e.schema_name NOT IN ('public', 'pg_catalog', 'information_schema') "
        f"AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.lake_schemas AS sc "
        "WHERE sc.database_name = current_database() AND sc.schema_name = e.schema_name)"
    )
