"""information_schema as PostgreSQL presents it, with PostgreSQL type names: DuckDB's own
uses DuckDB's, so rewrite.py points ``information_schema.X`` here for the X provided."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import INFORMATION_SCHEMA, SCHEMA, literal, visible
from forge_sql.catalog.roles import OWNER
from forge_sql.catalog.session_functions import TOKEN
from forge_sql.seam import oids

_HERE = "database_name = current_database()"
_KINDS = (
    "CASE d.kind WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' "
    "WHEN 'f' THEN 'FOREIGN KEY' ELSE 'CHECK' END"
)
# Bits of binary precision of the integer and float types (information_schema.sql).
_BINARY_PRECISION = {
    oids.INT2: 16,
    oids.INT4: 32,
    oids.INT8: 64,
    oids.FLOAT4: 24,
    oids.FLOAT8: 53,
}


def _columns() -> str:
    s = SCHEMA
    precision = " ".join(f"WHEN {oid} THEN {bits}" for oid, bits in _BINARY_PRECISION.items())
    typmod = f"{s}.type_typmod(c.data_type)"
    return (
        f"CREATE OR REPLACE VIEW {INFORMATION_SCHEMA}.columns AS SELECT "
        "c.database_name AS table_catalog, c.schema_name AS table_schema, "
        "c.table_name, c.column_name, c.column_index AS ordinal_position, "
        "CASE WHEN c.column_default <> 'NULL' THEN "
        f"{s}.default_text(c.column_default, c.data_type) END AS column_default, "
        "CASE WHEN c.is_nullable THEN 'YES' ELSE 'NO' END AS is_nullable, "
        "CASE WHEN t.typcategory = 'A' THEN 'ARRAY' ELSE t.sql_name END AS data_type, "
        "NULL::INTEGER AS character_maximum_length, "
        f"CASE WHEN t.oid IN ({oids.VARCHAR}, {oids.TEXT}, {oids.BPCHAR}) THEN 1073741824 "
        "END AS character_octet_length, "
        f"CASE t.oid {precision} WHEN {oids.NUMERIC} THEN "
        f"CASE WHEN {typmod} > 0 THEN ({typmod} - 4) // 65536 END END AS numeric_precision, "
        f"CASE WHEN t.oid IN ({', '.join(map(str, _BINARY_PRECISION))}) THEN 2 "
        f"WHEN t.oid = {oids.NUMERIC} THEN 10 END AS numeric_precision_radix, "
        f"CASE WHEN t.oid IN ({oids.INT2}, {oids.INT4}, {oids.INT8}) THEN 0 "
        f"WHEN t.oid = {oids.NUMERIC} AND {typmod} > 0 THEN ({typmod} - 4) % 65536 "
        "END AS numeric_scale, "
        "CASE WHEN t.typcategory = 'D' THEN CASE WHEN t.oid = "
        f"{oids.DATE} THEN 0 ELSE 6 END END AS datetime_precision, "
        "NULL::VARCHAR AS interval_type, NULL::INTEGER AS interval_precision, "
        "NULL::VARCHAR AS character_set_catalog, NULL::VARCHAR AS character_set_schema, "
        "NULL::VARCHAR AS character_set_name, NULL::VARCHAR AS collation_catalog, "
        "NULL::VARCHAR AS collation_schema, NULL::VARCHAR AS collation_name, "
        "NULL::VARCHAR AS domain_catalog, NULL::VARCHAR AS domain_schema, "
        "NULL::VARCHAR AS domain_name, c.database_name AS udt_catalog, "
        "'pg_catalog' AS udt_schema, t.typname AS udt_name, "
        "NULL::VARCHAR AS scope_catalog, NULL::VARCHAR AS scope_schema, "
        "NULL::VARCHAR AS scope_name, NULL::INTEGER AS maximum_cardinality, "
        "c.column_index::VARCHAR AS dtd_identifier, 'NO' AS is_self_referencing, "
        "'NO' AS is_identity, NULL::VARCHAR AS identity_generation, "
        "NULL::VARCHAR AS identity_start, NULL::VARCHAR AS identity_increment, "
        "NULL::VARCHAR AS identity_maximum, NULL::VARCHAR AS identity_minimum, "
        "'NO' AS identity_cycle, 'NEVER' AS is_generated, "
        "NULL::VARCHAR AS generation_expression, "
        "CASE WHEN c.updatable THEN 'YES' ELSE 'NO' END AS is_updatable "
        f"FROM ({_column_rows()}) AS c JOIN {s}.pg_type_rows AS t "
        f"ON t.oid = {s}.type_oid(c.data_type) "
        "ORDER BY c.schema_name, c.table_name, c.column_index"
    )


# The session's temporary relations, in the schema PostgreSQL gives them (pg_temp_N, N the
# backend's number: here its process id); DuckDB keeps them in catalog temp.
_TEMP_SCHEMA = "'pg_temp_' || forge_backend_pid(getvariable('forge_session'))"
_COLUMN_FIELDS = (
    "c.table_name, c.column_name, c.column_index, c.column_default, c.is_nullable, c.data_type"
)


def _column_rows() -> str:
    """Columns of the database's relations, then of the session's temporary ones."""
    s = SCHEMA
    return (
        f"SELECT c.database_name, c.schema_name, {_COLUMN_FIELDS}, "
        "v.view_name IS NULL AS updatable "
        f"FROM {s}.lake_columns AS c "
        f"LEFT JOIN {s}.lake_views AS v ON v.database_name = c.database_name "
        "AND v.schema_name = c.schema_name AND v.view_name = c.table_name "
        f"WHERE c.{_HERE} AND NOT c.internal AND {visible('c.schema_name')} "
        f"UNION ALL SELECT current_database(), {_TEMP_SCHEMA}, {_COLUMN_FIELDS}, "
        "v.view_name IS NULL "
        "FROM duckdb_columns() AS c LEFT JOIN duckdb_views() AS v "
        "ON v.database_name = 'temp' AND v.view_name = c.table_name "
        "WHERE c.database_name = 'temp' AND NOT c.internal"
    )


# information_schema.routines' columns after the ones filled in, all NULL here (PostgreSQL's
# too, for functions of SQL or C with no result cast): (name, DuckDB type).
_ROUTINE_NULLS = (
    ("module_catalog", "VARCHAR"), ("module_schema", "VARCHAR"), ("module_name", "VARCHAR"),
    ("udt_catalog", "VARCHAR"), ("udt_schema", "VARCHAR"), ("udt_name", "VARCHAR"),
)
_ROUTINE_TYPE_NULLS = (
    ("character_maximum_length", "INTEGER"), ("character_octet_length", "INTEGER"),
    ("character_set_catalog", "VARCHAR"), ("character_set_schema", "VARCHAR"),
    ("character_set_name", "VARCHAR"), ("collation_catalog", "VARCHAR"),
    ("collation_schema", "VARCHAR"), ("collation_name", "VARCHAR"),
    ("numeric_precision", "INTEGER"), ("numeric_precision_radix", "INTEGER"),
    ("numeric_scale", "INTEGER"), ("datetime_precision", "INTEGER"),
    ("interval_type", "VARCHAR"), ("interval_precision", "INTEGER"),
)
_ROUTINE_RESULT_CAST = (
    ("result_cast_from_data_type", "VARCHAR"), ("result_cast_as_locator", "VARCHAR"),
    ("result_cast_char_max_length", "INTEGER"), ("result_cast_char_octet_length", "INTEGER"),
    ("result_cast_char_set_catalog", "VARCHAR"), ("result_cast_char_set_schema", "VARCHAR"),
    ("result_cast_char_set_name", "VARCHAR"), ("result_cast_collation_catalog", "VARCHAR"),
    ("result_cast_collation_schema", "VARCHAR"), ("result_cast_collation_name", "VARCHAR"),
    ("result_cast_numeric_precision", "INTEGER"),
    ("result_cast_numeric_precision_radix", "INTEGER"),
    ("result_cast_numeric_scale", "INTEGER"), ("result_cast_datetime_precision", "INTEGER"),
    ("result_cast_interval_type", "VARCHAR"), ("result_cast_interval_precision", "INTEGER"),
    ("result_cast_type_udt_catalog", "VARCHAR"), ("result_cast_type_udt_schema", "VARCHAR"),
    ("result_cast_type_udt_name", "VARCHAR"), ("result_cast_scope_catalog", "VARCHAR"),
    ("result_cast_scope_schema", "VARCHAR"), ("result_cast_scope_name", "VARCHAR"),
    ("result_cast_maximum_cardinality", "INTEGER"), ("result_cast_dtd_identifier", "VARCHAR"),
)


def _nulls(columns: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"NULL::{kind} AS {name}" for name, kind in columns)


def _routines() -> str:
    """information_schema.routines: DuckDB's built-in functions and the server's catalog
    macros as pg_catalog's (every role may call them, as PostgreSQL's), then the macros
    users created in the lake. Aggregates have no routine_type, as in PostgreSQL."""
    s = SCHEMA
    database, schema = SCHEMA.split(".")
    routine_schema = (
        "CASE WHEN f.database_name = current_database() THEN f.schema_name "
        "ELSE 'pg_catalog' END"
    )
    result = f"{s}.type_oid(f.return_type)"
    return (
        f"CREATE OR REPLACE VIEW {INFORMATION_SCHEMA}.routines AS SELECT "
        "current_database() AS specific_catalog, "
        f"{routine_schema} AS specific_schema, "
        "f.function_name || '_' || (hash(f.function_oid, f.parameter_types) % 100000000)"
        "::VARCHAR AS specific_name, "
        f"current_database() AS routine_catalog, {routine_schema} AS routine_schema, "
        "f.function_name AS routine_name, "
        "CASE WHEN f.function_type <> 'aggregate' THEN 'FUNCTION' END AS routine_type, "
        f"{_nulls(_ROUTINE_NULLS)}, "
        "CASE WHEN f.return_type IS NULL THEN 'USER-DEFINED' "
        "WHEN t.typcategory = 'A' THEN 'ARRAY' ELSE t.sql_name END AS data_type, "
        f"{_nulls(_ROUTINE_TYPE_NULLS)}, "
        "current_database() AS type_udt_catalog, 'pg_catalog' AS type_udt_schema, "
        "t.typname AS type_udt_name, NULL::VARCHAR AS scope_catalog, "
        "NULL::VARCHAR AS scope_schema, NULL::VARCHAR AS scope_name, "
        "NULL::INTEGER AS maximum_cardinality, '0' AS dtd_identifier, "
        "CASE WHEN f.macro_definition IS NULL THEN 'EXTERNAL' ELSE 'SQL' END "
        "AS routine_body, "
        "CASE WHEN f.database_name = current_database() THEN f.macro_definition END "
        "AS routine_definition, "
        "CASE WHEN f.macro_definition IS NULL THEN f.function_name END AS external_name, "
        "CASE WHEN f.macro_definition IS NULL THEN 'C' ELSE 'SQL' END "
        "AS external_language, "
        "'GENERAL' AS parameter_style, "
        "CASE WHEN f.stability = 'CONSISTENT' THEN 'YES' ELSE 'NO' END AS is_deterministic, "
        "'MODIFIES' AS sql_data_access, "
        "CASE WHEN f.function_type = 'aggregate' THEN NULL ELSE 'NO' END AS is_null_call, "
        "NULL::VARCHAR AS sql_path, 'YES' AS schema_level_routine, "
        "0 AS max_dynamic_result_sets, 'NO' AS is_user_defined_cast, "
        "'NO' AS is_implicitly_invocable, 'INVOKER' AS security_type, "
        "NULL::VARCHAR AS to_sql_specific_catalog, NULL::VARCHAR AS to_sql_specific_schema, "
        "NULL::VARCHAR AS to_sql_specific_name, 'NO' AS as_locator, "
        "NULL::TIMESTAMPTZ AS created, NULL::TIMESTAMPTZ AS last_altered, "
        "NULL::VARCHAR AS new_savepoint_level, 'NO' AS is_udt_dependent, "
        f"{_nulls(_ROUTINE_RESULT_CAST)} "
        f"FROM duckdb_functions() AS f LEFT JOIN {s}.pg_type_rows AS t ON t.oid = {result} "
        # Operators are functions in DuckDB's list; PostgreSQL's routines are named ones.
        "WHERE f.function_type <> 'pragma' AND NOT starts_with(f.function_name, 'forge_') "
        "AND NOT starts_with(f.function_name, '__') "
        "AND regexp_full_match(f.function_name, '[A-Za-z_][A-Za-z0-9_$]*') AND ("
        "(f.database_name = 'system' AND f.schema_name = 'main') "
        f"OR (f.database_name = {literal(database)} AND f.schema_name = {literal(schema)}) "
        "OR (f.database_name = current_database() AND NOT f.internal "
        f"AND {visible('f.schema_name')})) "
        # The extensions' Python functions (their implementations above are forge_*).
        "UNION ALL BY NAME SELECT current_database() AS specific_catalog, "
        "e.schema_name AS specific_schema, e.name || '_' || e.oid AS specific_name, "
        "current_database() AS routine_catalog, e.schema_name AS routine_schema, "
        "e.name AS routine_name, 'FUNCTION' AS routine_type, e.data_type, "
        "current_database() AS type_udt_catalog, 'pg_catalog' AS type_udt_schema, "
        "t.typname AS type_udt_name, '0' AS dtd_identifier, 'EXTERNAL' AS routine_body, "
        "e.name AS external_name, 'PYTHON' AS external_language, "
        "'GENERAL' AS parameter_style, "
        "CASE WHEN e.volatile = 'i' THEN 'YES' ELSE 'NO' END AS is_deterministic, "
        "'MODIFIES' AS sql_data_access, "
        "CASE WHEN e.strict THEN 'NO' ELSE 'YES' END AS is_null_call, "
        "'YES' AS schema_level_routine, 0 AS max_dynamic_result_sets, "
        "'NO' AS is_user_defined_cast, 'NO' AS is_implicitly_invocable, "
        "'INVOKER' AS security_type, 'NO' AS as_locator, 'NO' AS is_udt_dependent "
        f"FROM {s}.extension_functions AS e LEFT JOIN {s}.pg_type_rows AS t "
        "ON t.oid = e.rettype"
    )


def definitions() -> Iterator[str]:
    s, i = SCHEMA, INFORMATION_SCHEMA
    yield f"DROP SCHEMA IF EXISTS {i} CASCADE"
    yield f"CREATE SCHEMA {i}"
    yield (
        f"CREATE OR REPLACE VIEW {i}.tables AS SELECT current_database() AS table_catalog, "
        "schema_name AS table_schema, table_name, 'BASE TABLE' AS table_type, "
        "NULL::VARCHAR AS self_referencing_column_name, NULL::VARCHAR AS reference_generation, "
        "NULL::VARCHAR AS user_defined_type_catalog, NULL::VARCHAR AS user_defined_type_schema, "
        "NULL::VARCHAR AS user_defined_type_name, 'YES' AS is_insertable_into, "
        "'NO' AS is_typed, NULL::VARCHAR AS commit_action "
        f"FROM {s}.lake_tables() "
        "UNION ALL SELECT database_name, schema_name, view_name, 'VIEW', NULL, NULL, NULL, "
        "NULL, NULL, 'NO', 'NO', NULL "
        f"FROM {s}.lake_views WHERE {_HERE} AND NOT internal AND {visible('schema_name')} "
        f"UNION ALL SELECT current_database(), {_TEMP_SCHEMA}, table_name, "
        "'LOCAL TEMPORARY', NULL, NULL, NULL, NULL, NULL, 'YES', 'NO', 'PRESERVE' "
        "FROM duckdb_tables() WHERE database_name = 'temp' AND NOT internal "
        f"UNION ALL SELECT current_database(), {_TEMP_SCHEMA}, view_name, 'VIEW', NULL, "
        "NULL, NULL, NULL, NULL, 'NO', 'NO', NULL "
        "FROM duckdb_views() WHERE database_name = 'temp' AND NOT internal"
    )
    yield _columns()
    yield _routines()
    # PostgreSQL shows the privileges granted to or by a role the caller has (all of them
    # to a superuser); forge_enabled_roles gives those roles, or NULL for all.
    yield (
        f"CREATE OR REPLACE VIEW {i}.table_privileges AS SELECT g.grantor, g.grantee, "
        "current_database() AS table_catalog, g.table_schema, g.table_name, "
        "g.privilege_type, g.is_grantable, g.with_hierarchy "
        f"FROM {s}.table_grants AS g, (SELECT forge_enabled_roles({TOKEN}) AS roles) AS r "
        "WHERE r.roles IS NULL OR list_contains(r.roles, g.grantee) "
        "OR list_contains(r.roles, g.grantor)"
    )
    yield (
        f"CREATE OR REPLACE VIEW {i}.role_table_grants AS SELECT * FROM {i}.table_privileges "
        "WHERE grantee <> 'PUBLIC'"
    )
    yield (
        f"CREATE OR REPLACE VIEW {i}.schemata AS SELECT current_database() AS catalog_name, "
        f"nspname AS schema_name, {literal(OWNER)} AS schema_owner, "
        "NULL::VARCHAR AS default_character_set_catalog, "
        "NULL::VARCHAR AS default_character_set_schema, "
        "NULL::VARCHAR AS default_character_set_name, NULL::VARCHAR AS sql_path "
        f"FROM {s}.pg_namespace"
    )
    yield (
        f"CREATE OR REPLACE VIEW {i}.views AS SELECT current_database() AS table_catalog, "
        "schema_name AS table_schema, view_name AS table_name, "
        "definition AS view_definition, 'NONE' AS check_option, 'NO' AS is_updatable, "
        "'NO' AS is_insertable_into, 'NO' AS is_trigger_updatable, "
        "'NO' AS is_trigger_deletable, 'NO' AS is_trigger_insertable_into "
        f"FROM {s}.view_definitions WHERE {visible('schema_name')}"
    )
    yield (
        f"CREATE OR REPLACE VIEW {i}.table_constraints AS SELECT "
        "current_database() AS constraint_catalog, d.schema_name AS constraint_schema, "
        "d.name AS constraint_name, current_database() AS table_catalog, "
        "d.schema_name AS table_schema, d.table_name, "
        f"{_KINDS} AS constraint_type, 'NO' AS is_deferrable, 'NO' AS initially_deferred, "
        "'YES' AS enforced, CASE WHEN d.kind IN ('p', 'u') THEN 'YES' END AS nulls_distinct "
        f"FROM {s}.declared AS d WHERE d.kind IN ('p', 'u', 'c', 'f')"
    )
    yield (
        f"CREATE OR REPLACE VIEW {i}.key_column_usage AS SELECT "
        "current_database() AS constraint_catalog, d.schema_name AS constraint_schema, "
        "d.name AS constraint_name, current_database() AS table_catalog, "
        "d.schema_name AS table_schema, d.table_name, k.column_name, "
        "k.ordinal_position::INTEGER AS ordinal_position, "
        "CASE WHEN d.kind = 'f' THEN k.ordinal_position END::INTEGER "
        "AS position_in_unique_constraint "
        f"FROM {s}.declared AS d, "
        "(SELECT unnest(d.columns) AS column_name, "
        "generate_subscripts(d.columns, 1) AS ordinal_position) AS k "
        "WHERE d.kind IN ('p', 'u', 'f')"
    )
