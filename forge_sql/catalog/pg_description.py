"""pg_description: COMMENT ON TABLE / VIEW / COLUMN / SCHEMA, as DuckLake stores them;
obj_description and col_description read it."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, visible
from forge_sql.catalog.pg_class import CATALOG_TABLE_OIDS

_PG_CLASS = CATALOG_TABLE_OIDS["pg_class"]
_PG_NAMESPACE = CATALOG_TABLE_OIDS["pg_namespace"]
_PG_PROC = CATALOG_TABLE_OIDS["pg_proc"]


def definitions() -> Iterator[str]:
    s = SCHEMA
    here = "database_name = current_database() AND comment IS NOT NULL AND comment <> ''"
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_description AS "
        f"SELECT {s}.relation_oid(schema_name, table_name) AS objoid, "
        f"{_PG_CLASS}::BIGINT AS classoid, 0 AS objsubid, comment AS description "
        f"FROM {s}.lake_tables() WHERE comment IS NOT NULL AND comment <> '' "
        f"UNION ALL SELECT {s}.relation_oid(schema_name, view_name), {_PG_CLASS}, 0, comment "
        f"FROM {s}.lake_views WHERE {here} AND NOT internal AND {visible('schema_name')} "
        f"UNION ALL SELECT {s}.relation_oid(schema_name, table_name), {_PG_CLASS}, "
        "column_index, comment "
        f"FROM {s}.lake_columns WHERE {here} AND NOT internal AND {visible('schema_name')} "
        f"UNION ALL SELECT {s}.namespace_oid(schema_name), {_PG_NAMESPACE}, 0, comment "
        f"FROM {s}.lake_schemas WHERE {here} AND {visible('schema_name')} "
        # The extensions' functions: their docstrings, as COMMENT ON FUNCTION would.
        f"UNION ALL SELECT oid, {_PG_PROC}, 0, description FROM {s}.extension_functions "
        "WHERE description <> ''"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.obj_description(object_oid, catalog_name) AS ("
        f"SELECT first(description) FROM {s}.pg_description WHERE objoid = object_oid "
        f"AND objsubid = 0 AND classoid = {s}.regclass(catalog_name)), "
        "(object_oid) AS ("
        f"SELECT first(description) FROM {s}.pg_description WHERE objoid = object_oid "
        "AND objsubid = 0)"
    )
    yield (
        f"CREATE OR REPLACE MACRO {s}.col_description(table_oid, column_number) AS ("
        f"SELECT first(description) FROM {s}.pg_description WHERE objoid = table_oid "
        f"AND objsubid = column_number AND classoid = {_PG_CLASS})"
    )
    # Databases, roles and tablespaces cannot be commented on here.
    yield (
        f"CREATE OR REPLACE MACRO {s}.shobj_description(object_oid, catalog_name) AS "
        "NULL::VARCHAR"
    )
