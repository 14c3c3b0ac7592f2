"""The cluster-level objects every PostgreSQL server has: the database, tablespaces, access
methods, collations, languages, the plpgsql extension; roles are in roles.py."""

from __future__ import annotations

from collections.abc import Iterator

from forge_sql.catalog import SCHEMA, fixed_table
from forge_sql.catalog.pg_namespace import BOOTSTRAP_SUPERUSER, PG_CATALOG

DATABASE_OID = 16384  # the first OID initdb leaves to users, as for a first CREATE DATABASE
DEFAULT_TABLESPACE = 1663
UTF8 = 6  # pg_encoding_to_char(6)

_AM = {"oid": "BIGINT", "amname": "VARCHAR", "amhandler": "VARCHAR", "amtype": "VARCHAR"}
_ACCESS_METHODS = [
    (2, "heap", "heap_tableam_handler", "t"),
    (403, "btree", "bthandler", "i"),
    (405, "hash", "hashhandler", "i"),
    (783, "gist", "gisthandler", "i"),
    (2742, "gin", "ginhandler", "i"),
    (4000, "spgist", "spghandler", "i"),
    (3580, "brin", "brinhandler", "i"),
]
_COLLATION = {
    "oid": "BIGINT",
    "collname": "VARCHAR",
    "collnamespace": "BIGINT",
    "collowner": "BIGINT",
    "collprovider": "VARCHAR",
    "collisdeterministic": "BOOLEAN",
    "collencoding": "INTEGER",
    "collcollate": "VARCHAR",
    "collctype": "VARCHAR",
    "colliculocale": "VARCHAR",
    "collicurules": "VARCHAR",
    "collversion": "VARCHAR",
}
_COLLATIONS = [
    (100, "default", PG_CATALOG, BOOTSTRAP_SUPERUSER, "d", True, -1, None, None, None, None, None),
    (950, "C", PG_CATALOG, BOOTSTRAP_SUPERUSER, "c", True, -1, "C", "C", None, None, None),
    (951, "POSIX", PG_CATALOG, BOOTSTRAP_SUPERUSER, "c", True, -1, "POSIX", "POSIX", None, None,
     None),
    (962, "ucs_basic", PG_CATALOG, BOOTSTRAP_SUPERUSER, "c", True, UTF8, "C", "C", None, None,
     None),
]
_LANGUAGE = {
    "oid": "BIGINT",
    "lanname": "VARCHAR",
    "lanowner": "BIGINT",
    "lanispl": "BOOLEAN",
    "lanpltrusted": "BOOLEAN",
    "lanplcallfoid": "BIGINT",
    "laninline": "BIGINT",
    "lanvalidator": "BIGINT",
    "lanacl": "VARCHAR[]",
}
PLPGSQL = 13582
PLPYTHON = 13590  # the extensions' Python functions (an untrusted language, as plpython3u)
_LANGUAGES = [
    (12, "internal", BOOTSTRAP_SUPERUSER, False, False, 0, 0, 2246, None),
    (13, "c", BOOTSTRAP_SUPERUSER, False, False, 0, 0, 2247, None),
    (14, "sql", BOOTSTRAP_SUPERUSER, False, True, 0, 0, 2248, None),
    (PLPGSQL, "plpgsql", BOOTSTRAP_SUPERUSER, True, True, 13579, 13580, 13581, None),
    (PLPYTHON, "plpython3u", BOOTSTRAP_SUPERUSER, True, False, 0, 0, 0, None),
]
_EXTENSION = {
    "oid": "BIGINT",
    "extname": "VARCHAR",
    "extowner": "BIGINT",
    "extnamespace": "BIGINT",
    "extrelocatable": "BOOLEAN",
    "extversion": "VARCHAR",
    "extconfig": "BIGINT[]",
    "extcondition": "VARCHAR[]",
}
_TABLESPACE = {
    "oid": "BIGINT",
    "spcname": "VARCHAR",
    "spcowner": "BIGINT",
    "spcacl": "VARCHAR[]",
    "spcoptions": "VARCHAR[]",
}


def definitions() -> Iterator[str]:
    yield from fixed_table("pg_am", _AM, _ACCESS_METHODS)
    yield from fixed_table("pg_collation", _COLLATION, _COLLATIONS)
    yield from fixed_table("pg_language", _LANGUAGE, _LANGUAGES)
    yield from fixed_table(
        "pg_extension",
        _EXTENSION,
        [(13583, "plpgsql", BOOTSTRAP_SUPERUSER, PG_CATALOG, False, "1.0", None, None)],
    )
    yield from fixed_table(
        "pg_tablespace",
        _TABLESPACE,
        [
            (DEFAULT_TABLESPACE, "pg_default", BOOTSTRAP_SUPERUSER, None, None),
            (1664, "pg_global", BOOTSTRAP_SUPERUSER, None, None),
        ],
    )
    # The lake is the one database; its name is the session's current_database().
    yield (
        f"CREATE OR REPLACE VIEW {SCHEMA}.pg_database AS SELECT "
        f"{DATABASE_OID}::BIGINT AS oid, current_database()::VARCHAR AS datname, "
        f"{BOOTSTRAP_SUPERUSER}::BIGINT AS datdba, {UTF8} AS encoding, "
        "'c' AS datlocprovider, false AS datistemplate, true AS datallowconn, "
        "-1 AS datconnlimit, 0::BIGINT AS datfrozenxid, 1::BIGINT AS datminmxid, "
        f"{DEFAULT_TABLESPACE}::BIGINT AS dattablespace, 'C' AS datcollate, 'C' AS datctype, "
        "NULL::VARCHAR AS daticulocale, NULL::VARCHAR AS daticurules, "
        "NULL::VARCHAR AS datcollversion, NULL::VARCHAR[] AS datacl"
    )
    # DuckDB's own txid_current() fails on a DuckLake database; its transaction id does not.
    yield f"CREATE OR REPLACE MACRO {SCHEMA}.txid_current() AS current_transaction_id()::BIGINT"
    yield f"CREATE OR REPLACE MACRO {SCHEMA}.pg_is_in_recovery() AS false"  # no standbys
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.pg_encoding_to_char(encoding) AS "
        f"CASE encoding WHEN {UTF8} THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END"
    )
