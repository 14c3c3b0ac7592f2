"""The table the COPY tests share: its DDL, its rows as Python values, and those rows in
each COPY format exactly as PostgreSQL 15 writes them (checked against a real server)."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from decimal import Decimal
from typing import Any

import psycopg

COLUMNS = ("id", "name", "amount", "ts", "flag", "d", "b", "day", "u", "tags")

# Binary COPY needs the PostgreSQL type of each column (psycopg ``Copy.set_types``).
PG_TYPES = ["int8", "varchar", "float8", "timestamp", "bool", "numeric", "bytea", "date",
            "uuid", "varchar[]"]

U1 = uuid.UUID("a8d1e230-300f-4f32-8210-c377328aff0d")

ROWS: list[tuple[Any, ...]] = [
    (1, "ann", 1.5, dt.datetime(2024, 1, 2, 3, 4, 5, 123456), True, Decimal("12.50"),
     b"\x00\x01\xff", dt.date(2024, 2, 29), U1, ["a", "b c", None]),
    (2, "tab\there\nnl\\bs", None, None, False, Decimal("-0.01"), b"", None, None, []),
    (3, "", 0.25, dt.datetime(1999, 12, 31, 23, 59, 59), None, Decimal("0.00"), None,
     dt.date(2000, 1, 1), None, ["x,y", 'q"z']),
]

TEXT = (
    b'1\tann\t1.5\t2024-01-02 03:04:05.123456\tt\t12.50\t\\\\x0001ff\t2024-02-29\t'
    b'a8d1e230-300f-4f32-8210-c377328aff0d\t{a,"b c",NULL}\n'
    b"2\ttab\\there\\nnl\\\\bs\t\\N\t\\N\tf\t-0.01\t\\\\x\t\\N\t\\N\t{}\n"
    b'3\t\t0.25\t1999-12-31 23:59:59\t\\N\t0.00\t\\N\t2000-01-01\t\\N\t{"x,y","q\\\\"z"}\n'
)

CSV_HEADER = b"id,name,amount,ts,flag,d,b,day,u,tags\n"
CSV = (
    b"1,ann,1.5,2024-01-02 03:04:05.123456,t,12.50,\\x0001ff,2024-02-29,"
    b'a8d1e230-300f-4f32-8210-c377328aff0d,"{a,""b c"",NULL}"\n'
    b'2,"tab\there\nnl\\bs",,,f,-0.01,\\x,,,{}\n'
    b'3,"",0.25,1999-12-31 23:59:59,,0.00,,2000-01-01,,"{""x,y"",""q\\""z""}"\n'
)

# The same rows written by SQL, so COPY TO tests do not depend on COPY FROM.
INSERT = """INSERT INTO {table} VALUES
 (1, 'ann', 1.5, TIMESTAMP '2024-01-02 03:04:05.123456', true, 12.50, '\\x00\\x01\\xFF'::BLOB,
  DATE '2024-02-29', 'a8d1e230-300f-4f32-8210-c377328aff0d'::UUID, ['a', 'b c', NULL]),
 (2, 'tab' || chr(9) || 'here' || chr(10) || 'nl\\bs', NULL, NULL, false, -0.01, ''::BLOB,
  NULL, NULL, []::VARCHAR[]),
 (3, '', 0.25, TIMESTAMP '1999-12-31 23:59:59', NULL, 0.00, NULL, DATE '2000-01-01', NULL,
  ['x,y', 'q"z'])"""

BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
BINARY_TRAILER = b"\xff\xff"


def create(conn: psycopg.Connection, table: str, rows: bool = False) -> None:
    """Create the shared table (optionally holding ROWS, inserted by SQL)."""
    conn.execute(f"CREATE TABLE {table} (id BIGINT, name VARCHAR, amount DOUBLE, ts TIMESTAMP,"
                 f" flag BOOLEAN, d DECIMAL(10,2), b BLOB, day DATE, u UUID, tags VARCHAR[])")
    if rows:
        conn.execute(INSERT.format(table=table))


def contents(conn: psycopg.Connection, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` ordered by its first column."""
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def binary_header(extension: bytes = b"") -> bytes:
    """Signature, flags field and header extension area ("COPY", Binary Format)."""
    return BINARY_SIGNATURE + struct.pack("!ii", 0, len(extension)) + extension


def binary_tuple(*fields: bytes | None) -> bytes:
    """One tuple: field count, then each field's length (-1 for NULL) and bytes."""
    out = struct.pack("!h", len(fields))
    for value in fields:
        out += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    return out
