"""Which data files of the lake cannot be read, for the errors DuckDB's Parquet reader
raises without naming the file (a damaged footer or page header)."""

from __future__ import annotations

import time

import duckdb

# Looking is bounded: the error is reported after this long whatever was found.
BUDGET_SECONDS = 3.0
MAX_FILES = 5


def unreadable_files(cursor: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """Data and delete files of ``catalog``'s tables whose footer (then, time allowing,
    whose whole content) does not decode; at most MAX_FILES, within BUDGET_SECONDS."""
    deadline = time.monotonic() + BUDGET_SECONDS
    paths = _files(cursor, catalog)
    found: list[str] = []
    for check in (_footer, _content):
        for path in paths:
            if len(found) >= MAX_FILES or time.monotonic() > deadline:
                return found
            if path not in found and not check(cursor, path):
                found.append(path)
        if found:
            break
    return found


def _files(cursor: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    tables = cursor.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = $1 "
        "AND NOT internal ORDER BY schema_name, table_name", [catalog]).fetchall()
    paths: list[str] = []
    for schema, table in tables:
        try:
            rows = cursor.execute(
                "SELECT data_file, delete_file FROM ducklake_list_files($1, $2, schema => $3)",
                [catalog, table, schema]).fetchall()
        except duckdb.Error:
            continue
        paths += [str(path) for row in rows for path in row if path]
    return paths


def _footer(cursor: duckdb.DuckDBPyConnection, path: str) -> bool:
    try:
        cursor.execute("SELECT count(*) FROM parquet_file_metadata($1)", [path]).fetchall()
    except duckdb.Error:
        return False
    return True


def _content(cursor: duckdb.DuckDBPyConnection, path: str) -> bool:
    try:
        # hash of the whole row: every column's pages are decoded.
        cursor.execute("SELECT count(hash(r)) FROM read_parquet($1) AS r", [path]).fetchall()
    except duckdb.Error:
        return False
    return True
