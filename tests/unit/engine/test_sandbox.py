"""Statements refused because they would reach past the server's sandbox."""

from __future__ import annotations

import pytest

from forge_sql import errors
from forge_sql.engine.statements import check_allowed, split


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
