"""pg_proc: the macros users created in the lake, the extensions' Python functions, and the
built-in functions clients look up by name (the type I/O functions of pg_type, such as
array_recv for Npgsql)."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, literal, pg_type, visible
from forge_sql.catalog.cluster import PLPYTHON
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


# One row per extension function (overload), written by the engine at start-up and at each
# reload of the extensions (forge_sql.engine.extensions); pg_proc, pg_description,
# information_schema.routines and forge_functions() read it.
EXTENSION_FUNCTIONS = {
    "oid": "BIGINT",
    "schema_name": "VARCHAR",
    "name": "VARCHAR",
    "kind": "VARCHAR",  # scalar | table
    "argtypes": "BIGINT[]",
    "argnames": "VARCHAR[]",
    "nargdefaults": "SMALLINT",
    "argdefaults": "VARCHAR",
    "rettype": "BIGINT",
    "retset": "BOOLEAN",
    "volatile": "VARCHAR",  # i, s or v, as provolatile
    "strict": "BOOLEAN",
    "arguments": "VARCHAR",  # as pg_get_function_arguments prints them
    "result": "VARCHAR",  # as pg_get_function_result prints it
    "data_type": "VARCHAR",  # information_schema.routines.data_type
    "description": "VARCHAR",
    "signature": "VARCHAR",
    "source": "VARCHAR",
    "extension": "VARCHAR",
    "superuser_only": "BOOLEAN",
    # A table function's arguments then its columns, as PostgreSQL records RETURNS TABLE
    # (modes i then t); NULL for a scalar function, whose arguments are all IN.
    "allargtypes": "BIGINT[]",
    "argmodes": "VARCHAR[]",
    "allargnames": "VARCHAR[]",
}


def _io_functions() -> list[str]:
    names = set()
    for row in pg_type.rows():
        for column in ("typinput", "typoutput", "typreceive", "typsend"):
            name = row[column]
            if isinstance(name, str) and name != pg_type.NO_PROC:
                names.add(name)
    return sorted(names)


def tables() -> Iterator[str]:
    """The extensions' functions (forge_sql.engine.extensions writes them): before
    pg_namespace, which lists the schemas they name."""
    columns = ", ".join(f"{name} {kind}" for name, kind in EXTENSION_FUNCTIONS.items())
    yield f"CREATE OR REPLACE TABLE {SCHEMA}.extension_functions ({columns})"


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
    # What an operator asks first: which functions, from which file of which extension.
    yield (
        f"CREATE OR REPLACE MACRO {s}.forge_functions() AS TABLE SELECT "
        "schema_name AS schema, name, kind, signature, result, volatile AS volatility, "
        "superuser_only, extension, source, description "
        f"FROM {s}.extension_functions ORDER BY schema_name, name, signature"
    )
    python = (
        f"{BOOTSTRAP_SUPERUSER}::BIGINT AS proowner, {PLPYTHON}::BIGINT AS prolang, "
        "100::REAL AS procost, CASE WHEN e.retset THEN 1000 ELSE 0 END::REAL AS prorows, "
        "0::BIGINT AS provariadic, '-' AS prosupport, 'f' AS prokind, false AS prosecdef, "
        "false AS proleakproof, e.strict AS proisstrict, e.retset AS proretset, "
        "e.volatile AS provolatile, 'u' AS proparallel, "
        "len(e.argtypes)::SMALLINT AS pronargs, e.nargdefaults AS pronargdefaults, "
        "e.rettype AS prorettype, e.argtypes AS proargtypes, "
        "e.allargtypes AS proallargtypes, e.argmodes AS proargmodes, "
        "coalesce(e.allargnames, e.argnames) AS proargnames, "
        "e.argdefaults AS proargdefaults, "
        "NULL::BIGINT[] AS protrftypes, e.name AS prosrc, e.source AS probin, "
        "NULL::VARCHAR AS prosqlbody, NULL::VARCHAR[] AS proconfig, NULL::VARCHAR[] AS proacl"
    )
    yield (
        f"CREATE OR REPLACE VIEW {s}.pg_proc AS "
        f"SELECT b.oid AS oid, b.name AS proname, {PG_CATALOG}::BIGINT AS pronamespace, "
        f"{builtin} FROM {s}.builtin_functions AS b "
        "UNION ALL SELECT "
        f"{s}.relation_oid(f.schema_name, f.function_name || '(' || len(f.parameters) || ')') "
        f"AS oid, f.function_name, {s}.namespace_oid(f.schema_name), {user} "
        "FROM duckdb_functions() AS f WHERE f.database_name = current_database() "
        f"AND NOT f.internal AND {visible('f.schema_name')} "
        f"UNION ALL SELECT e.oid, e.name, {s}.namespace_oid(e.schema_name), {python} "
        f"FROM {s}.extension_functions AS e"
    )
