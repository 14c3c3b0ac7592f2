"""Statements refused because they would reach past the server's sandbox."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine.sandbox import Sandbox, check_allowed
from forge_sql.sql.statements import split


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM postgres_query('__ducklake_metadata_forge', 'SELECT 1')",
        "CALL postgres_execute('db', 'DROP TABLE x')",
        'SELECT * FROM "Postgres_Scan" (\'host=10.0.0.1\', \'public\', \'t\')',
        "SELECT * FROM system.main.postgres_scan_pushdown('', '', '')",
        "SELECT * FROM query('SELECT 1')",
        "SELECT * FROM query_table('t')",
        "CREATE MACRO m() AS TABLE SELECT * FROM postgres_query('x', 'y')",
        "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')",
        "CREATE OR REPLACE PERSISTENT SECRET s (TYPE s3)",
        "DROP SECRET forge_s3",
    ],
)
def test_refused(sql: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        check_allowed(split(sql)[0])


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT query FROM pg_stat_activity",
        "SELECT 'postgres_query(' AS text",
        "CREATE TABLE secret (query VARCHAR)",
        "SELECT * FROM duckdb_secrets()",
    ],
)
def test_allowed(sql: str) -> None:
    check_allowed(split(sql)[0])


def _sandbox() -> Sandbox:
    return Sandbox("forge", ["declared_keys", "catalog_relations"], ["read_text", "duckdb_logs",
                   "range", "enable_logging"], ["duckdb_logs", "duckdb_tables"])


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM forge_meta.migrations",
        'SELECT * FROM "FORGE_META"."x"',
        "SELECT * FROM __ducklake_metadata_forge.ducklake_table",
        "SELECT * FROM main.read_text('x')",
        'SELECT * FROM "READ_TEXT"(\'x\')',
        "SELECT * FROM duckdb_logs",
        "DROP VIEW pg_stat_activity",
        "TRUNCATE catalog_relations",
        "EXPLAIN ANALYZE SELECT * FROM read_text('x')",
        "ALTER TABLE mine RENAME TO pg_type",
        "INSERT INTO declared_keys SELECT 1",
        "CREATE OR REPLACE VIEW pg_class AS SELECT 1",
        "CALL enable_logging()",
        "PRAGMA enable_profiling",
        "VACUUM",
        "SELECT * FROM 'lake/x.parquet'",
        "SELECT * FROM mine, 'lake/x.parquet'",
        'SELECT * FROM "lake/x.parquet"',
        "EXPLAIN SELECT * FROM forge_meta.migrations",
        "PREPARE p AS SELECT * FROM server.pgc.declared_keys",
    ],
)
def test_refused_to_roles(sql: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        _sandbox().check(split(sql)[0], superuser=False)
    _sandbox().check(split(sql)[0], superuser=True)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM range(3)",
        "SELECT query, state FROM pg_stat_activity",
        "DELETE FROM mine WHERE id IN (SELECT oid FROM pg_class)",
        "UPDATE mine SET a = 1 FROM pg_type WHERE mine.a = pg_type.oid",
        "INSERT INTO mine SELECT oid FROM pg_class",
        "CREATE TABLE copy_of AS SELECT * FROM pg_class",
        "SELECT 'forge_meta.x', 'read_text(' AS read_text",
        "SELECT a, 'x' FROM mine",
        "ANALYZE",
        "SELECT declared_keys FROM mine",
    ],
)
def test_allowed_to_roles(sql: str) -> None:
    _sandbox().check(split(sql)[0], superuser=False)


@pytest.mark.parametrize(
    "sql",
    [
        "PREPARE p AS COPY (SELECT 1) TO '/tmp/x.csv'",
        "EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/x.csv'",
        "EXPLAIN (ANALYZE, FORMAT JSON) COPY (SELECT 1) TO '/tmp/x.csv'",
        "COPY (SELECT 1 AS stdout) TO '/tmp/x.csv'",
    ],
)
def test_refused_to_every_client(sql: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        _sandbox().check(split(sql)[0], superuser=True)


@pytest.mark.parametrize(
    "sql", ["CREATE SCHEMA pg_evil", "CREATE SCHEMA IF NOT EXISTS information_schema",
            'CREATE SCHEMA "PG_X"'],
)
def test_reserved_schema_names(sql: str) -> None:
    with pytest.raises(errors.ReservedName):
        _sandbox().check(split(sql)[0], superuser=True)


@pytest.mark.parametrize(
    "sql",
    ['SELECT * FROM "other".pg_catalog.pg_class', "SELECT * FROM x.information_schema.columns"],
)
def test_other_databases_catalogs_refused(sql: str) -> None:
    """PostgreSQL: cross-database references are not implemented (0A000)."""
    with pytest.raises(errors.FeatureNotSupported, match="cross-database references"):
        _sandbox().check(split(sql)[0], superuser=True)


def test_own_databases_catalogs_allowed() -> None:
    _sandbox().check(split('SELECT * FROM "forge".INFORMATION_SCHEMA.columns')[0], superuser=True)
    _sandbox().check(split('SELECT * FROM "FORGE".pg_catalog.pg_class')[0], superuser=False)
