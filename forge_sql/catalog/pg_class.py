"""pg_class: the lake's tables, views and declared indexes, and the catalog's own relations.

OIDs derive from schema and name rather than DuckDB's catalog OIDs, which change on every
ALTER and restart: clients cache them (pgjdbc, asyncpg) and join pg_attribute by them.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import PROVIDED, SCHEMA, literal, visible
from forge_sql.catalog.pg_namespace import BOOTSTRAP_SUPERUSER, FIRST_NORMAL_OID, PG_CATALOG

# Above the namespace OIDs (pg_namespace.py) and below 2^31, so int4 readers cope too.
_RELATION_BASE = 1 << 30
_HALF = 1 << 29
HEAP = 2  # pg_am OIDs
BTREE = 403

# PostgreSQL 16's fixed OIDs of catalog tables (src/include/catalog/pg_*.h). Clients compare
# pg_description.classoid with 'pg_class'::regclass and the like.
CATALOG_TABLE_OIDS = {
    "pg_type": 1247,
    "pg_attribute": 1249,
    "pg_proc": 1255,
    "pg_class": 1259,
    "pg_authid": 1260,
    "pg_auth_members": 1261,
    "pg_database": 1262,
    "pg_tablespace": 1213,
    "pg_foreign_server": 1417,
    "pg_sequence": 2224,
    "pg_foreign_data_wrapper": 2328,
    "pg_shdescription": 2396,
    "pg_am": 2601,
    "pg_attrdef": 2604,
    "pg_constraint": 2606,
    "pg_conversion": 2607,
    "pg_depend": 2608,
    "pg_description": 2609,
    "pg_index": 2610,
    "pg_inherits": 2611,
    "pg_language": 2612,
    "pg_namespace": 2615,
    "pg_opclass": 2616,
    "pg_rewrite": 2618,
    "pg_trigger": 2620,
    "pg_extension": 3079,
    "pg_foreign_table": 3118,
    "pg_policy": 3256,
    "pg_partitioned_table": 3350,
    "pg_statistic_ext": 3381,
    "pg_collation": 3456,
    "pg_event_trigger": 3466,
    "pg_enum": 3501,
    "pg_range": 3541,
    "pg_publication": 6104,
    "pg_publication_rel": 6106,
    "pg_publication_namespace": 6237,
}

_COMMON = (
    "0::BIGINT AS reloftype, {owner}::BIGINT AS relowner, {relam}::BIGINT AS relam, "
    "0::BIGINT AS relfilenode, 0::BIGINT AS reltablespace, 0 AS relpages, "
    "{reltuples}::REAL AS reltuples, 0 AS relallvisible, 0::BIGINT AS reltoastrelid, "
    "{hasindex} AS relhasindex, false AS relisshared, "
    "{persistence} AS relpersistence, {relkind} AS relkind, "
    "{natts}::SMALLINT AS relnatts, {checks}::SMALLINT AS relchecks, "
    "{relkind} IN ('v', 'm') AS relhasrules, {triggers} AS relhastriggers, "
    "false AS relhassubclass, "
    "false AS relrowsecurity, false AS relforcerowsecurity, {populated} AS relispopulated, "
    "CASE WHEN {relkind} IN ('v', 'm') THEN 'n' ELSE 'd' END AS relreplident, "
    "false AS relispartition, 0::BIGINT AS relrewrite, "
    "0::BIGINT AS relfrozenxid, 0::BIGINT AS relminmxid, {acl}::VARCHAR[] AS relacl, "
    "NULL::VARCHAR[] AS reloptions, NULL::VARCHAR AS relpartbound"
)


def _select(oid: str, name: str, namespace: str | int, **columns: object) -> str:
    values = {"owner": BOOTSTRAP_SUPERUSER, "persistence": "'p'", "triggers": "false",
              "acl": "NULL", "populated": "true", **columns}
    return (
        f"SELECT {oid} AS oid, {name} AS relname, {namespace} AS relnamespace, "
        f"0::BIGINT AS reltype, {_COMMON.format(**values)}"
    )


def macros() -> Iterator[str]:
    """relation_oid(schema, name), which the other relations' definitions call.

    Relations of the schemas on the search path (public, pg_catalog) get OIDs in the lower
    half of the range, the others in the upper half, so pg_table_is_visible(oid), which
    psql and SQLAlchemy call for every row of pg_class, is a comparison, not a lookup.
    """
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.relation_oid(nsp, rel) AS ({_RELATION_BASE} "
        f"+ CASE WHEN nsp IN ('public', 'pg_catalog') THEN 0 ELSE {_HALF} END "
        f"+ hash(nsp, rel) % {_HALF})::BIGINT"
    )
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.pg_table_is_visible(x) AS "
        f"x < {FIRST_NORMAL_OID} OR (x >= {_RELATION_BASE} AND x < {_RELATION_BASE + _HALF})"
    )


def _granted(column: str, default: object) -> str:
    """The owner or ACL the server's grants record for a relation (forge_sql.catalog.roles),
    from the row of relation_acl joined as ``a`` (see _ACL_JOIN)."""
    return f"coalesce(a.{column}, {default})"


def _acl_join(schema: str, name: str) -> str:
    """relation_acl has one row per relation. A join rather than a subquery per column:
    DuckDB plans each correlated subquery as a join of its own, which made binding and
    optimizing pg_class several times slower (a BI tool's query names it two or three
    times)."""
    return (
        f"LEFT JOIN {SCHEMA}.relation_acl AS a ON a.nspname = lower({schema}) "
        f"AND a.relname = lower({name})"
    )


def definitions() -> Iterator[str]:
    s = SCHEMA
    rows = ", ".join(
        f"({CATALOG_TABLE_OIDS.get(name, 'NULL')}, {literal(name)}, "
        f"{literal('r' if name in CATALOG_TABLE_OIDS else 'v')})"
        for name in sorted(PROVIDED | CATALOG_TABLE_OIDS.keys())
    )
    yield (
        f"CREATE OR REPLACE TABLE {s}.catalog_relations AS SELECT "
        f"coalesce(oid, {s}.relation_oid('pg_catalog', relname))::BIGINT AS oid, "
        f"relname::VARCHAR AS relname, relkind::VARCHAR AS relkind "
        f"FROM (VALUES {rows}) AS r(oid, relname, relkind)"
    )
    tables = _select(
        f"{s}.relation_oid(t.schema_name, t.table_name)",
        "t.table_name",
        f"{s}.namespace_oid(t.schema_name)",
        relam=HEAP,
        reltuples="coalesce(t.row_estimate, -1)",
        hasindex="coalesce(k.indexes, 0) > 0",
        # A materialized view's rows are a lake table (forge_sql.engine.materialized_views).
        relkind="CASE WHEN m.matview_name IS NULL THEN 'r' ELSE 'm' END",
        populated="coalesce(m.populated, true)",
        owner=_granted("owner", BOOTSTRAP_SUPERUSER),
        acl=_granted("acl", "NULL"),
        natts="t.column_count",
        checks="coalesce(k.checks, 0)",
        triggers="coalesce(k.foreign_keys, 0) > 0",
    )
    views = _select(
        f"{s}.relation_oid(v.schema_name, v.view_name)",
        "v.view_name",
        f"{s}.namespace_oid(v.schema_name)",
        relam=0,
        reltuples=-1,
        hasindex="false",
        persistence="CASE WHEN v.temporary THEN 't' ELSE 'p' END",
        relkind="'v'",
        owner=_granted("owner", BOOTSTRAP_SUPERUSER),
        acl=_granted("acl", "NULL"),
        natts="v.column_count",
        checks=0,
    )
    indexes = _select(
        "d.index_oid",
        "d.name",
        "d.nspoid",
        relam=BTREE,
        reltuples=-1,
        hasindex="false",
        relkind="'i'",
        natts="len(d.columns)",
        checks=0,
    )
    sequences = _select(
        f"{s}.relation_oid(q.schema_name, q.sequence_name)",
        "q.sequence_name",
        f"{s}.namespace_oid(q.schema_name)",
        relam=0,
        reltuples=1,
        hasindex="false",
        relkind="'S'",
        owner=_granted("owner", BOOTSTRAP_SUPERUSER),
        acl=_granted("acl", "NULL"),
        natts=3,
        checks=0,
    )
    catalog = _select(
        "r.oid",
        "r.relname",
        PG_CATALOG,
        relam=f"CASE r.relkind WHEN 'r' THEN {HEAP} ELSE 0 END",
        reltuples=-1,
        hasindex="false",
        relkind="r.relkind",
        natts=0,
        checks=0,
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_class AS "
        f"{tables} FROM {s}.lake_tables() AS t LEFT JOIN {s}.declared_counts AS k "
        f"ON k.relid = {s}.relation_oid(t.schema_name, t.table_name) "
        f"{_acl_join('t.schema_name', 't.table_name')} "
        f"LEFT JOIN {s}.matview_rows AS m ON m.schema_name = t.schema_name "
        "AND m.matview_name = t.table_name "
        f"UNION ALL {views} FROM {s}.lake_views AS v {_acl_join('v.schema_name', 'v.view_name')} "
        "WHERE v.database_name = current_database() AND NOT v.internal "
        f"AND {visible('v.schema_name')} "
        f"UNION ALL {indexes} FROM {s}.declared AS d WHERE d.kind IN ('p', 'u', 'i') "
        f"UNION ALL {sequences} FROM {s}.sequence_rows AS q "
        f"{_acl_join('q.schema_name', 'q.sequence_name')} "
        f"UNION ALL {catalog} FROM {s}.catalog_relations AS r"
    )
