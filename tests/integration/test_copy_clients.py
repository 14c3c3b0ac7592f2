"""COPY as real clients use it: psql ``\\copy``, asyncpg's copy API, the ADBC PostgreSQL
driver (binary COPY both ways) and polars on top of ADBC."""

from __future__ import annotations

import datetime as dt
import io
import os
import struct
import subprocess
from pathlib import Path
from typing import Any, TypeVar

import adbc_driver_postgresql.dbapi as adbc
import asyncpg
import copydata
import polars as pl
import psycopg
import pyarrow as pa
import pytest
import rawclient
from copydata import ROWS
from polars.testing import assert_frame_equal
from server import RunningServer
from server import run_asyncpg as run

T = TypeVar("T")

needs_psql = pytest.mark.usefixtures("psql_installed")


# -- psql -------------------------------------------------------------------------------------

def psql(server: RunningServer, command: str | None = None, stdin: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    """psql without ~/.psqlrc (-X) or password prompt (-w), stopping at the first error."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    clean["PGCONNECT_TIMEOUT"] = "10"
    args = ["psql", server.dsn(), "-X", "-w", "-v", "ON_ERROR_STOP=1"]
    if command is not None:
        args += ["-c", command]
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60,
                          env=clean)


@needs_psql
@pytest.mark.parametrize(("options", "content"), [
    ("", copydata.TEXT),
    ("with csv header", copydata.CSV_HEADER + copydata.CSV),
    ("with (format csv, header)", copydata.CSV_HEADER + copydata.CSV),
], ids=["text", "csv-legacy", "csv"])
def test_psql_copy_from_file(server: RunningServer, conn: psycopg.Connection,
                             table_name: str, tmp_path: Path, options: str,
                             content: bytes) -> None:
    copydata.create(conn, table_name)
    source = tmp_path / "in.dat"
    source.write_bytes(content)
    done = psql(server, f"\\copy {table_name} from '{source}' {options}")
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "COPY 3\n")
    assert copydata.contents(conn, table_name) == ROWS


@needs_psql
@pytest.mark.parametrize(("source", "options", "content"), [
    ("{t}", "with csv header", copydata.CSV_HEADER + copydata.CSV),
    ("(select * from {t} order by id)", "", copydata.TEXT),
    ("(select * from {t} order by id)", "with (format csv)", copydata.CSV),
])
def test_psql_copy_to_file(server: RunningServer, conn: psycopg.Connection, table_name: str,
                           tmp_path: Path, source: str, options: str, content: bytes) -> None:
    copydata.create(conn, table_name, rows=True)
    target = tmp_path / "out.dat"
    done = psql(server, f"\\copy {source.format(t=table_name)} to '{target}' {options}")
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "COPY 3\n")
    assert target.read_bytes() == content


@needs_psql
def test_psql_copy_error_context(server: RunningServer, conn: psycopg.Connection,
                                 table_name: str, tmp_path: Path) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, amount DOUBLE)")
    conn.execute(f"INSERT INTO {table_name} VALUES (0, 'kept', 0)")
    source = tmp_path / "bad.tsv"
    source.write_text("1\ta\t1\n2\tb\t2\n3\tc\t3\n4\td\t4\n5\te\tabc\n6\tf\t6\n")
    done = psql(server, f"\\copy {table_name} from '{source}'")
    assert done.returncode != 0
    assert done.stdout == ""
    assert "ERROR:  " in done.stderr
    assert f'CONTEXT:  COPY {table_name}, line 5, column amount: "abc"' in done.stderr
    assert copydata.contents(conn, table_name) == [(0, "kept", 0.0)]


@needs_psql
def test_psql_script_with_inline_data(server: RunningServer, conn: psycopg.Connection,
                                      table_name: str) -> None:
    r"""A pg_dump-style script: COPY ... FROM stdin, data lines, ``\.``, more SQL."""
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR)")
    script = (f"COPY {table_name} (id, name) FROM stdin;\n1\tone\n2\t\\N\n\\.\n"
              f"SELECT count(*) AS n, count(name) AS named FROM {table_name};\n")
    done = psql(server, stdin=script)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["COPY 2", " n | named ", "---+-------",
                                        " 2 |     1", "(1 row)", ""]
    assert copydata.contents(conn, table_name) == [(1, "one"), (2, None)]


# -- asyncpg ----------------------------------------------------------------------------------



@pytest.mark.parametrize("width", [
    9,
    10,
], ids=["scalars", "with-array"])
def test_asyncpg_copy_records_to_table(server: RunningServer, conn: psycopg.Connection,
                                       table_name: str, width: int) -> None:
    """Binary COPY of the records, encoded with the types of a ``SELECT ... LIMIT`` probe."""
    copydata.create(conn, table_name)

    async def body(con: asyncpg.Connection) -> str:
        return await con.copy_records_to_table(table_name, records=[r[:width] for r in ROWS],
                                               columns=list(copydata.COLUMNS[:width]))

    assert run(server, body) == "COPY 3"
    assert copydata.contents(conn, table_name) == [
        (*r[:width], *[None] * (10 - width)) for r in ROWS]


@pytest.mark.parametrize(("options", "data"), [
    ({}, copydata.TEXT),
    ({"format": "csv", "header": True}, copydata.CSV_HEADER + copydata.CSV),
])
def test_asyncpg_copy_to_table(server: RunningServer, conn: psycopg.Connection,
                               table_name: str, options: dict[str, Any], data: bytes) -> None:
    copydata.create(conn, table_name)

    async def body(con: asyncpg.Connection) -> str:
        return await con.copy_to_table(table_name, source=io.BytesIO(data), **options)

    assert run(server, body) == "COPY 3"
    assert copydata.contents(conn, table_name) == ROWS


def test_asyncpg_copy_to_table_bad_row(server: RunningServer, conn: psycopg.Connection,
                                       table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR)")

    async def body(con: asyncpg.Connection) -> str:
        return await con.copy_to_table(table_name, source=io.BytesIO(b"1,a\nx,b\n"),
                                       format="csv")

    with pytest.raises(asyncpg.PostgresError) as raised:
        run(server, body)
    assert raised.value.sqlstate == "22P02"
    assert raised.value.context == f'COPY {table_name}, line 2, column id: "x"'
    assert copydata.contents(conn, table_name) == []


def test_asyncpg_copy_from_query_and_table(server: RunningServer, conn: psycopg.Connection,
                                           table_name: str) -> None:
    copydata.create(conn, table_name, rows=True)

    async def body(con: asyncpg.Connection) -> tuple[str, bytes, str, bytes]:
        csv, text = io.BytesIO(), io.BytesIO()
        csv_tag = await con.copy_from_query(f"SELECT * FROM {table_name} ORDER BY id",
                                            output=csv, format="csv", header=True)
        text_tag = await con.copy_from_table(table_name, output=text,
                                             columns=["id", "name", "b"])
        return csv_tag, csv.getvalue(), text_tag, text.getvalue()

    csv_tag, csv, text_tag, text = run(server, body)
    assert (csv_tag, csv) == ("COPY 3", copydata.CSV_HEADER + copydata.CSV)
    assert text_tag == "COPY 3"
    assert sorted(text.splitlines()) == [
        b"1\tann\t\\\\x0001ff", b"2\ttab\\there\\nnl\\\\bs\t\\\\x", b"3\t\t\\N"]


# -- ADBC -------------------------------------------------------------------------------------

# On connect the driver builds its type table from
#   SELECT oid, typname, typreceive, typbasetype, typrelid, typarray FROM pg_catalog.pg_type
#   WHERE (typreceive != 0 OR typsend != 0) AND typtype != 'r'
#   AND typreceive::TEXT != 'array_recv'
# PostgreSQL answers some 400 rows; without them every column is an opaque blob on read and
# no Arrow type maps to a PostgreSQL one on ingest.
# What the driver makes of each column against PostgreSQL 15: numeric is an opaque string.
ADBC_TYPES = ["int64", "string", "double", "timestamp[us]", "bool",
              "extension<arrow.opaque[storage_type=string, type_name=numeric,"
              " vendor_name=PostgreSQL]>",
              "binary", "date32[day]", "extension<arrow.uuid>", "list<item: string>"]


def test_adbc_copy_statements_replayed(server: RunningServer, conn: psycopg.Connection,
                                      table_name: str) -> None:
    """The driver's own COPY statements (from PostgreSQL's statement log), sent without the
    driver: ``COPY "schema" . "t" (...) FROM STDIN WITH (FORMAT binary)`` as a simple query,
    ``COPY (query) TO STDOUT (FORMAT binary)`` through Parse/Bind/Describe/Execute."""
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, day DATE)")
    row = conn.execute("SELECT CURRENT_SCHEMA()").fetchone()
    assert row is not None
    cur = conn.cursor()
    with cur.copy(f'COPY "{row[0]}" . "{table_name}" ("id", "name", "day") FROM STDIN'
                  f" WITH (FORMAT binary)") as copy:
        copy.set_types(["int8", "text", "date"])
        copy.write_row((1, "x", dt.date(2024, 1, 1)))
        copy.write_row((2, None, None))
    assert cur.statusmessage == "COPY 2"
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.parse(f"COPY (SELECT * FROM {table_name} ORDER BY id) TO STDOUT"
                                 f" (FORMAT binary)")
                 + rawclient.bind() + rawclient.describe(b"P") + rawclient.execute()
                 + rawclient.sync())
        messages = raw.read_until_ready()
    days = (dt.date(2024, 1, 1) - dt.date(2000, 1, 1)).days  # binary date: days since 2000
    assert messages[3] == (b"H", struct.pack("!bhhhh", 1, 3, 1, 1, 1))
    assert b"".join(body for t, body in messages if t == b"d") == (
        copydata.binary_header()
        + copydata.binary_tuple(struct.pack("!q", 1), b"x", struct.pack("!i", days))
        + copydata.binary_tuple(struct.pack("!q", 2), None, None)
        + copydata.BINARY_TRAILER)
    assert messages[-2:] == [(b"C", b"COPY 2\0"), (b"Z", b"I")]


def test_adbc_fetch_arrow_table(server: RunningServer, conn: psycopg.Connection,
                                table_name: str) -> None:
    """The driver reads results with COPY (query) TO STDOUT (FORMAT binary)."""
    copydata.create(conn, table_name, rows=True)
    with adbc.connect(server.url()) as connection, connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {table_name} ORDER BY id")
        table = cur.fetch_arrow_table()
    assert table.column_names == list(copydata.COLUMNS)
    assert [str(field.type) for field in table.schema] == ADBC_TYPES
    expected = [dict(zip(copydata.COLUMNS, row, strict=True)) for row in ROWS]
    for row in expected:
        row["d"] = str(row["d"])
    assert table.to_pylist() == expected


def _arrow_rows() -> pa.Table:
    return pa.table({
        "id": pa.array([10, 11], pa.int64()),
        "name": pa.array(["x", None], pa.string()),
        "amount": pa.array([0.5, None], pa.float64()),
        "ts": pa.array([dt.datetime(2024, 5, 6, 7, 8, 9, 10), None], pa.timestamp("us")),
        "flag": pa.array([True, None], pa.bool_()),
        "b": pa.array([b"\x00\xff", None], pa.binary()),
        "day": pa.array([dt.date(2024, 1, 1), None], pa.date32()),
    })


INGESTED = [(10, "x", 0.5, dt.datetime(2024, 5, 6, 7, 8, 9, 10), True, b"\x00\xff",
             dt.date(2024, 1, 1)),
            (11, None, None, None, None, None, None)]


def test_adbc_ingest_append(server: RunningServer, conn: psycopg.Connection,
                            table_name: str) -> None:
    """SELECT CURRENT_SCHEMA(), a pg_attribute probe, then COPY ... (FORMAT binary)."""
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, amount DOUBLE,"
                 f" ts TIMESTAMP, flag BOOLEAN, b BLOB, day DATE)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'before', 1, NULL, false, NULL, NULL)")
    with adbc.connect(server.url()) as connection:
        with connection.cursor() as cur:
            assert cur.adbc_ingest(table_name, _arrow_rows(), mode="append") == 2
        connection.commit()
    assert copydata.contents(conn, table_name) == [
        (1, "before", 1.0, None, False, None, None), *INGESTED]


def test_adbc_ingest_create(server: RunningServer, conn: psycopg.Connection,
                            table_name: str) -> None:
    """mode="create" sends ``CREATE TABLE "<schema>" . "t" ("id" int8, "name" text,
    "amount" float8, "ts" timestamp, "flag" bool, "b" bytea, "day" date)`` first."""
    with adbc.connect(server.url()) as connection:
        with connection.cursor() as cur:
            assert cur.adbc_ingest(table_name, _arrow_rows(), mode="create") == 2
        connection.commit()
    cur = conn.execute(f"SELECT * FROM {table_name} ORDER BY id")
    assert cur.fetchall() == INGESTED
    assert [c.name for c in cur.description] == ["id", "name", "amount", "ts", "flag", "b",
                                                 "day"]


# -- polars -----------------------------------------------------------------------------------

def test_polars_read_database_uri(server: RunningServer, conn: psycopg.Connection,
                                  table_name: str) -> None:
    copydata.create(conn, table_name, rows=True)
    frame = pl.read_database_uri(
        f"SELECT id, name, amount, ts, flag, b, day, tags FROM {table_name} ORDER BY id",
        server.url(), engine="adbc")
    expected = pl.DataFrame(
        [(r[0], r[1], r[2], r[3], r[4], r[6], r[7], r[9]) for r in ROWS],
        schema={"id": pl.Int64, "name": pl.String, "amount": pl.Float64,
                "ts": pl.Datetime("us"), "flag": pl.Boolean, "b": pl.Binary,
                "day": pl.Date, "tags": pl.List(pl.String)},
        orient="row")
    assert_frame_equal(frame, expected)


def test_polars_write_database_append(server: RunningServer, conn: psycopg.Connection,
                                      table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, amount DOUBLE,"
                 f" day DATE)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'before', NULL, NULL)")
    frame = pl.DataFrame({"id": [2, 3], "name": ["p", None], "amount": [1.25, -2.0],
                          "day": [dt.date(2024, 2, 29), None]})
    written = frame.write_database(table_name, server.url(), engine="adbc",
                                   if_table_exists="append")
    assert written == 2
    back = pl.read_database_uri(f"SELECT * FROM {table_name} ORDER BY id", server.url(),
                                engine="adbc")
    before = pl.DataFrame({"id": [1], "name": ["before"], "amount": [None], "day": [None]},
                          schema=frame.schema)
    assert_frame_equal(back, pl.concat([before, frame]))
