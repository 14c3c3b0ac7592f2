"""pg_proc: the macros users created in the lake, and the built-in functions clients look
up by name (the type I/O functions of pg_type, such as array_recv for Npgsql)."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, literal, pg_type, visible
from forge_sql.catalog.pg_namespace import BOOTSTRAP_SUPERUSER, PG_CATALOG
from forge_sql.seam import oids

INTERNAL_LANGUAGE = 12
SQL_LANGUAGE = 14
# PostgreSQL 16's OIDs of the array I/O functions (pg_proc.dat); the others get hashed ones.
_KNOWN = {"array_in": 750, "array_out": 751, "array_recv": 2400, "array_send": 2401}

_COMMON = (
    "{owner}::BIGINT AS proowner, {lang}::BIGINT AS prolang, 100::REAL AS procost, "
    "0::REAL AS prorows, 0::BIGINT AS provariadic, '-' AS prosupport, {kind} AS prokind, "
    "false AS prosecdef, false AS proleakproof, {strict} AS proisstrict, "
    "{retset} AS proretset, 'i' AS provolatile, 's' AS proparallel, "
    "{nargs}::SMALLINT AS pronargs, 0::SMALLINT AS pronargdefaults, "
    "{rettype}::BIGINT AS prorettype, {argtypes} AS proargtypes, "
    "NULL::BIGINT[] AS proallargtypes, NULL::VARCHAR[] AS proargmodes, "
    "{argnames} AS proargnames, NULL::VARCHAR AS proargdefaults, "
    "NULL::BIGINT[] AS protrftypes, {src} AS prosrc, NULL::VARCHAR AS probin, "
    "NULL::VARCHAR AS prosqlbody, NULL::VARCHAR[] AS proconfig, NULL::VARCHAR[] AS proacl"
)


def _io_functions() -> list[str]:
    names = set()
    for row in pg_type.rows():
        for column in ("typinput", "typoutput", "typreceive", "typsend"):
            name = row[column]
            if isinstance(name, str) and name != pg_type.NO_PROC:
                names.add(name)
    return sorted(names)


def definitions() -> Iterator[str]:
    s = SCHEMA
    values = ", ".join(
        f"({_KNOWN.get(name, 'NULL')}, {literal(name)})" for name in _io_functions()
    )
    yield (
        f"CREATE OR REPLACE TABLE {s}.builtin_functions AS SELECT "
        f"coalesce(oid, {s}.relation_oid('pg_catalog', name))::BIGINT AS oid, "
        f"name::VARCHAR AS name FROM (VALUES {values}) AS f(oid, name)"
    )
    builtin = _COMMON.format(
        owner=BOOTSTRAP_SUPERUSER,
        lang=INTERNAL_LANGUAGE,
        kind="'f'",
        strict="true",
        retset="false",
        nargs=1,
        rettype=0,
        argtypes="[]::BIGINT[]",
        argnames="NULL::VARCHAR[]",
        src="b.name",
    )
    # A macro's parameters are untyped and its result type is decided per call.
    user = _COMMON.format(
        owner=BOOTSTRAP_SUPERUSER,
        lang=SQL_LANGUAGE,
        kind="'f'",
        strict="false",
        retset="f.function_type = 'table_macro'",
        nargs="len(f.parameters)",
        rettype=oids.UNKNOWN,
        argtypes=f"list_transform(f.parameters, p -> {oids.UNKNOWN}::BIGINT)",
        argnames="f.parameters",
        src="f.macro_definition",
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_proc AS "
        f"SELECT b.oid AS oid, b.name AS proname, {PG_CATALOG}::BIGINT AS pronamespace, "
        f"{builtin} FROM {s}.builtin_functions AS b "
        "UNION ALL SELECT "
        f"{s}.relation_oid(f.schema_name, f.function_name || '(' || len(f.parameters) || ')') "
        f"AS oid, f.function_name, {s}.namespace_oid(f.schema_name), {user} "
        "FROM duckdb_functions() AS f WHERE f.database_name = current_database() "
        f"AND NOT f.internal AND {visible('f.schema_name')}"
    )
