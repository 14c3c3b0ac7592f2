"""pg_attrdef: column defaults, as DuckDB prints them (pg_get_expr returns adbin as is),
with the cast PostgreSQL stores on a string constant (``'x'::character varying``).

DuckLake reports the text NULL as the default of a column declared without one.
"""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, literal, visible

_CLASS_OID = 2604  # pg_attrdef's own OID, salted into the row OIDs
_STRING_CONSTANT = r"'(?:[^']|'')*'"
_NUMBER_TYPES = r"U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|DECIMAL\(.*\)|FLOAT|DOUBLE"
_UNSIGNED = r"'[0-9]+(\.[0-9]+)?'"
_NEGATIVE_INTEGER = r"'-[0-9]+'"
_NEGATIVE_DECIMAL = r"'-[0-9]*\.[0-9]+'"


def definitions() -> Iterator[str]:
    # PostgreSQL coerces a string constant to the column's type when the default is
    # stored, and prints it with that cast (ruleutils.c's get_const_expr).
    # DuckLake keeps a default as its value's text in quotes ('0'). PostgreSQL's number
    # constant under the implicit cast to the column's type prints bare (0, 1.5); a negative
    # one prints quoted with the constant's own type ('-1'::integer).
    number = f"regexp_full_match(data_type, {literal(_NUMBER_TYPES)})"
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.default_text(expression, data_type) AS "
        f"CASE WHEN {SCHEMA}.sequence_default(expression) IS NOT NULL "
        f"THEN {SCHEMA}.sequence_default(expression) "
        f"WHEN {number} AND regexp_full_match(expression, {literal(_UNSIGNED)}) "
        "THEN substr(expression, 2, length(expression) - 2) "
        f"WHEN {number} AND regexp_full_match(expression, {literal(_NEGATIVE_INTEGER)}) "
        "THEN expression || CASE WHEN length(expression) > 12 THEN '::bigint' "
        "ELSE '::integer' END "
        f"WHEN {number} AND regexp_full_match(expression, {literal(_NEGATIVE_DECIMAL)}) "
        "THEN expression || '::numeric' "
        f"WHEN regexp_full_match(expression, {literal(_STRING_CONSTANT)}) "
        f"THEN expression || '::' || {SCHEMA}.regtype_name_of({SCHEMA}.type_oid(data_type)) "
        "ELSE expression END"
    )
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_attrdef AS SELECT "
        f"({SCHEMA}.relation_oid(schema_name, table_name) + column_index * {_CLASS_OID}) "
        f"% {1 << 31} AS oid, "
        f"{SCHEMA}.relation_oid(schema_name, table_name) AS adrelid, "
        f"column_index::SMALLINT AS adnum, {SCHEMA}.default_text(column_default, data_type) "
        "::VARCHAR AS adbin "
        f"FROM {SCHEMA}.lake_columns WHERE database_name = current_database() AND NOT internal "
        f"AND column_default <> 'NULL' AND {SCHEMA}.identity_kind(column_default) = '' "
        f"AND {visible('schema_name')}"
    )
