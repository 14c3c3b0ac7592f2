"""pgjdbc, the PostgreSQL JDBC driver (DBeaver, Metabase, ...): tests/clients/java/JdbcClient.java
compiled with the system's JDK against the system's driver and run once; each test asserts on
one of its checks."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from clients.programs import (
    CLIENTS,
    require_file,
    require_program,
    result,
    run_checks,
)
from server import RunningServer

DRIVER = Path("/usr/share/java/postgresql.jar")  # Debian's libpostgresql-jdbc-java
Checks = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"j_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def checks(server: RunningServer, prefix: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Checks:
    javac = require_program("javac", "default-jdk-headless")
    java = require_program("java", "default-jdk-headless")
    driver = require_file(DRIVER, "libpostgresql-jdbc-java")
    classes = tmp_path_factory.mktemp("jdbc")
    compiled = run_checks([javac, "-d", str(classes), "-cp", str(driver),
                           str(CLIENTS / "java" / "JdbcClient.java")])
    assert compiled == {}
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        create_browsed_tables(conn, prefix)
    url = f"jdbc:postgresql://{server.host}:{server.port}/{server.database}?user=forge"
    return run_checks([java, "-cp", f"{classes}:{driver}", "JdbcClient", url, prefix])


def create_browsed_tables(conn: psycopg.Connection, prefix: str) -> None:
    """What the DatabaseMetaData checks browse: a table with a two-column primary key, a view."""
    table = f"{prefix}_meta"
    conn.execute(f"CREATE TABLE {table} (id BIGINT, name VARCHAR, amount DECIMAL(10,2),"
                 f" created TIMESTAMP, flag BOOLEAN, tags VARCHAR[], PRIMARY KEY (id, name))")
    conn.execute(f"CREATE VIEW {prefix}_meta_v AS SELECT id, name FROM {table}")


def test_connect(checks: Checks) -> None:
    found = result(checks, "connect")
    assert found["driver"] == "PostgreSQL JDBC Driver"
    assert re.fullmatch(r"42\.\d+\.\d+", found["driver_version"])
    assert (found["product"], found["product_major"]) == ("PostgreSQL", 16)
    assert (found["catalog"], found["schema"]) == ("forge", "public")
    assert (found["autocommit"], found["valid"]) == (True, True)


def test_simple_query(checks: Checks) -> None:
    found = result(checks, "simple_query")
    assert found["inserted"] == 2
    # (label, type name, java.sql.Types): INTEGER 4, VARCHAR 12, DOUBLE 8
    assert found["columns"] == [["id", "int4", 4], ["name", "varchar", 12],
                                ["amount", "float8", 8]]
    assert found["rows"] == [[1, "one", 1.5], [2, None, None]]
    assert (found["updated"], found["after_update"]) == (1, [["two"]])


def _parses_of(messages: list[str], sql_start: str) -> list[str | None]:
    """The statement name of each Parse pgjdbc sent for the statement (None: unnamed)."""
    names: list[str | None] = []
    for message in messages:
        match = re.match(r'Parse\(stmt=(\w+),query="([^"]*)"', message)
        assert match, message
        if match.group(2).startswith(sql_start):
            names.append(None if match.group(1) == "null" else match.group(1))
    return names


def test_prepared_statement_switches_to_a_named_statement(checks: Checks, prefix: str) -> None:
    """prepareThreshold=5: four unnamed Parses, then one Parse of a named statement S_n that
    the remaining executions only Bind: the server must keep it across Syncs."""
    found = result(checks, "prepared_statement")
    parses = found["parses"]
    for sql in (f"INSERT INTO {prefix}_prepared", "SELECT id, name, at_time, flag, score FROM"):
        names = _parses_of(parses, sql)
        assert names[:4] == [None] * 4, names
        assert len(names) == 5 and re.fullmatch(r"S_\d+", names[4] or ""), names
    # int4, varchar, unspecified (pgjdbc leaves timestamps to the server), bool, float8
    insert = next(p for p in parses if f"INSERT INTO {prefix}_prepared" in p)
    assert insert.endswith("oids={23,1043,0,16,701})")
    assert found["insert_server_prepared"][-1] is True
    assert found["rows"] == [
        [i, f"name {i}", f"2024-01-0{i} 10:20:30.5", i % 2 == 0, i / 4] for i in range(1, 8)
    ] + [[8, None, None, None, None]]


def test_binary_transfer(checks: Checks) -> None:
    found = result(checks, "binary_transfer")
    assert [c[:2] for c in found["columns"]] == [
        ["i2", "int2"], ["i4", "int4"], ["i8", "int8"], ["f4", "float4"], ["f8", "float8"],
        ["num", "numeric"], ["b", "bool"], ["txt", "varchar"], ["bin", "bytea"],
        ["day", "date"], ["ts", "timestamp"], ["id", "uuid"], ["ints", "_int4"],
        ["words", "_text"]]  # a list of literals is text[]
    # pgjdbc asks binary for the types it decodes in binary (not bool or text).
    assert found["formats"] == [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]
    values = {k: v for k, v in found.items() if k not in ("columns", "formats", "messages")}
    assert values == {
        "i2": -7, "i4": 2147483647, "i8": -9223372036854775807, "f4": 0.25, "f8": 1e-300,
        "num": "-123456789.125", "b": True, "txt": "héllo ✓", "bin": "0001ff",
        "day": "2024-02-29", "ts": "2024-05-06 07:08:09.123456",
        "id": "a8d1e230-300f-4f32-8210-c377328aff0d", "ints": [1, 2, None],
        "words": ["a", "b c"]}
    parse = next(m for m in found["messages"] if m.startswith("Parse(stmt=S_"))
    assert parse.endswith("oids={21,23,20,700,701,1700,16,1043,17,0,0,2950})")


def test_fetch_size_reads_a_portal_across_syncs(checks: Checks) -> None:
    """setFetchSize(10) in a transaction: Execute(portal, 10) then Sync, repeated."""
    found = result(checks, "fetch_size")
    assert found["ids"] == list(range(1, 26))
    portal = [m for m in found["executes"] if not m.startswith("Execute(portal=null")]
    assert len(portal) == 3
    assert all(re.fullmatch(r"Execute\(portal=C_\d+,limit=10\)", m) for m in portal), portal
    assert len(set(portal)) == 1


def test_batch(checks: Checks) -> None:
    found = result(checks, "batch")
    assert found["prepared_counts"] == [1] * 50
    assert found["statement_counts"] == [1, 1, 6]
    # ids 1..45 are left; names of 20, 30, 40 are NULL (10 was updated to 'ten').
    assert found["summary"] == [[45, 42, 45, "n1"]]



def test_rewritten_batch(checks: Checks) -> None:
    """reWriteBatchedInserts=true sends INSERT ... VALUES (...), (...) with up to 32 rows
    (powers of two: 32 + 4 + 1 for 37 rows)."""
    found = result(checks, "rewritten_batch")
    # sum over INTEGER is bigint, as in PostgreSQL (DuckDB's own HUGEINT would be numeric).
    assert found["summary"] == [[37, 703, "n9", 351.5]]
    assert found["widest_values_list"] == 32


def test_string_parameters_left_to_the_server(checks: Checks) -> None:
    """stringtype=unspecified (DBeaver, Metabase and others set it): every setString is
    bound with OID 0 and typed from the column it is inserted into or compared with."""
    found = result(checks, "string_unspecified")
    assert found["columns"] == [["id", "int4", 4], ["day", "date", 91],
                                ["amount", "numeric", 2], ["flag", "bool", -7]]
    assert found["rows"] == [[42, "2024-02-29", "12.50", True]]


def test_statements_limits_and_notices(checks: Checks, prefix: str) -> None:
    found = result(checks, "statements")
    assert found["results"] == [[["a"], [[1]]], [["b", "c"], [["x", 2]]]]
    assert found["max_rows"] == [[0], [1], [2]]
    # The NOTICE that a declared key is not enforced reaches the SQL editor.
    [(sqlstate, message)] = found["warnings"]
    assert sqlstate == "00000"
    assert f'"{prefix}_notice"' in message and "not enforced" in message

# -- DatabaseMetaData, as DBeaver's generic navigator reads it ---------------------------------

def test_get_schemas(checks: Checks) -> None:
    found = result(checks, "schemas")
    assert found["catalogs"] == [["forge"]]
    assert found["columns"] == ["TABLE_SCHEM", "TABLE_CATALOG"]
    names = [row[0] for row in found["rows"]]
    assert {"public", "pg_catalog", "information_schema"} <= set(names)
    assert "forge_meta" not in names  # the server's bookkeeping is not the user's
    assert names == sorted(names)


def test_get_tables(checks: Checks, prefix: str) -> None:
    found = result(checks, "tables")
    assert ["TABLE"] in found["types"] and ["VIEW"] in found["types"]
    assert found["columns"][:5] == ["TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE",
                                    "REMARKS"]
    assert found["rows"] == [
        {"TABLE_CAT": None, "TABLE_SCHEM": "public", "TABLE_NAME": f"{prefix}_meta",
         "TABLE_TYPE": "TABLE", "REMARKS": None},
        {"TABLE_CAT": None, "TABLE_SCHEM": "public", "TABLE_NAME": f"{prefix}_meta_v",
         "TABLE_TYPE": "VIEW", "REMARKS": None},
    ]


def _column(name: str, position: int, data_type: int, type_name: str, size: int,
            digits: int, nullable: bool) -> dict[str, Any]:
    return {"COLUMN_NAME": name, "DATA_TYPE": data_type, "TYPE_NAME": type_name,
            "COLUMN_SIZE": size, "DECIMAL_DIGITS": digits, "NULLABLE": int(nullable),
            "IS_NULLABLE": "YES" if nullable else "NO", "ORDINAL_POSITION": position,
            "COLUMN_DEF": None, "REMARKS": None, "IS_AUTOINCREMENT": "NO",
            "IS_GENERATEDCOLUMN": "NO"}


def test_get_columns(checks: Checks, prefix: str) -> None:
    found = result(checks, "columns")
    assert {row.pop("TABLE_NAME") for row in found["rows"]} == {f"{prefix}_meta"}
    # DATA_TYPE is java.sql.Types: BIGINT -5, VARCHAR 12, NUMERIC 2, TIMESTAMP 93, BIT -7
    # (pgjdbc's bool), ARRAY 2003; sizes as pgjdbc computes them from atttypmod.
    assert found["rows"] == [
        _column("id", 1, -5, "int8", 19, 0, False),
        _column("name", 2, 12, "varchar", 2147483647, 0, False),
        _column("amount", 3, 2, "numeric", 10, 2, True),
        _column("created", 4, 93, "timestamp", 29, 6, True),
        _column("flag", 5, -7, "bool", 1, 0, True),
        _column("tags", 6, 2003, "_varchar", 2147483647, 0, True),
    ]


def test_get_primary_keys(checks: Checks, prefix: str) -> None:
    found = result(checks, "primary_keys")
    table = f"{prefix}_meta"
    assert found["rows"] == [
        {"TABLE_SCHEM": "public", "TABLE_NAME": table, "COLUMN_NAME": "id", "KEY_SEQ": 1,
         "PK_NAME": f"{table}_pkey"},
        {"TABLE_SCHEM": "public", "TABLE_NAME": table, "COLUMN_NAME": "name", "KEY_SEQ": 2,
         "PK_NAME": f"{table}_pkey"},
    ]


def test_java_time_values(checks: Checks) -> None:
    """setObject with java.time values binds them as timestamp, timestamptz, date, time."""
    assert result(checks, "java_time") == {
        "at_local": "2024-02-29T23:59:58.123456", "at_zone": "2024-06-30T10:00:00Z",
        "day": "1999-12-31", "clock": "01:02:03"}


def test_array_parameters_and_results(checks: Checks) -> None:
    """createArrayOf: text-format array parameters ({1,NULL,3}) with array type OIDs."""
    assert result(checks, "arrays") == {
        "ints": [1, None, 3], "words": ["a", "b c", 'with "quote"', None, "{x,y}"],
        "base_type": "int4"}


def test_generated_keys(checks: Checks) -> None:
    """RETURN_GENERATED_KEYS appends RETURNING * to the INSERT into a lake table: the
    update count and the inserted row come back, as from PostgreSQL."""
    assert result(checks, "generated_keys") == {"count": 1, "keys": [[7, "seven"]]}


def test_transactions(checks: Checks) -> None:
    assert result(checks, "transactions") == {"error": "42P01", "after_error": "25P02",
                                              "rows": [[2]]}


def test_query_timeout_cancels(checks: Checks) -> None:
    """setQueryTimeout(1): pgjdbc sends a CancelRequest; the statement stops with 57014."""
    found = result(checks, "query_timeout")
    assert found["sqlstate"] == "57014"
    assert 0.9 < found["seconds"] < 30
    assert found["after"] == [[2]]


def test_type_info(checks: Checks) -> None:
    """getTypeInfo, which DBeaver's generic driver reads on connect: java.sql.Types per name."""
    types = result(checks, "type_info")
    assert {name: types.get(name) for name in (
        "int2", "int4", "int8", "float8", "numeric", "bool", "varchar", "text", "bytea", "date",
        "timestamp", "timestamptz", "uuid", "_int4")} == {
        "int2": 5, "int4": 4, "int8": -5, "float8": 8, "numeric": 2, "bool": -7, "varchar": 12,
        "text": 12, "bytea": -2, "date": 91, "timestamp": 93, "timestamptz": 93, "uuid": 1111,
        "_int4": 2003}
