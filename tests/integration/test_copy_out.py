"""COPY ... TO STDOUT through psycopg and a raw socket: the exact bytes of the text, csv
and binary formats as PostgreSQL 15 writes them, typed rows, tags and errors."""

from __future__ import annotations

import struct

import copydata
import psycopg
import pytest
import rawclient
from copydata import ROWS
from psycopg.pq import TransactionStatus
from server import RunningServer


def copy_out(conn: psycopg.Connection, sql: str) -> tuple[bytes, int]:
    """The bytes COPY sends, and the row count of its CommandComplete."""
    cur = conn.cursor()
    with cur.copy(sql) as copy:
        data = b"".join(bytes(piece) for piece in copy)
    return data, cur.rowcount


@pytest.fixture
def small(conn: psycopg.Connection, table_name: str) -> str:
    """A one-row table: (1, 'ab<TAB>c', NULL, true)."""
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, amount DOUBLE,"
                 f" flag BOOLEAN)")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'ab' || chr(9) || 'c', NULL, true)")
    return table_name


@pytest.fixture
def full(conn: psycopg.Connection, table_name: str) -> str:
    """The shared table holding copydata.ROWS."""
    copydata.create(conn, table_name, rows=True)
    return table_name


# -- text -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("statement", "expected"), [
    ("COPY {t} TO STDOUT", b"1\tab\\tc\t\\N\tt\n"),
    ("COPY {t} (flag, id) TO STDOUT", b"t\t1\n"),
    ("COPY {t} TO STDOUT WITH (DELIMITER '|', NULL 'NULL')", b"1|ab\\tc|NULL|t\n"),
    ("COPY {t} TO STDOUT (HEADER)", b"id\tname\tamount\tflag\n1\tab\\tc\t\\N\tt\n"),
    ("COPY (SELECT name, id * 2 AS twice FROM {t}) TO STDOUT", b"ab\\tc\t2\n"),
])
def test_text(conn: psycopg.Connection, small: str, statement: str, expected: bytes) -> None:
    assert copy_out(conn, statement.format(t=small)) == (expected, 1)


def test_text_all_types(conn: psycopg.Connection, full: str) -> None:
    assert copy_out(conn, f"COPY (SELECT * FROM {full} ORDER BY id) TO STDOUT") == (
        copydata.TEXT, 3)


@pytest.mark.parametrize(("expression", "expected"), [
    ("1e20::DOUBLE", b"1e+20"),
    ("'NaN'::DOUBLE", b"NaN"),
    ("'inf'::DOUBLE", b"Infinity"),
    ("'-inf'::DOUBLE", b"-Infinity"),
    ("100::DOUBLE", b"100"),
    ("1::DOUBLE / 3", b"0.3333333333333333"),
    ("1e-7::DOUBLE", b"1e-07"),
    ("123456789012345678::DOUBLE", b"1.2345678901234568e+17"),
    ("0.1::REAL", b"0.1"),
    ("2.50::DECIMAL(10,2)", b"2.50"),
    ("-0.5::DECIMAL(3,1)", b"-0.5"),
    ("TIMESTAMP '2024-01-02 03:04:05'", b"2024-01-02 03:04:05"),
    ("TIMESTAMP '2024-01-02 03:04:05.5'", b"2024-01-02 03:04:05.5"),
    ("TIME '00:00:01'", b"00:00:01"),
    ("''::BLOB", b"\\\\x"),
    ("[]::VARCHAR[]", b"{}"),
    ("[NULL, 'NULL', '', ' x']", b'{NULL,"NULL",""," x"}'),
    ("[1, 2, NULL]::INTEGER[]", b"{1,2,NULL}"),
    ("'a\\b'", b"a\\\\b"),
    ("chr(13)", b"\\r"),
    ("chr(11) || chr(8) || chr(12)", b"\\v\\b\\f"),
    ("chr(1) || chr(127)", b"\x01\x7f"),  # other control characters go as they are
])
def test_text_value_forms(conn: psycopg.Connection, expression: str, expected: bytes) -> None:
    assert copy_out(conn, f"COPY (SELECT {expression}) TO STDOUT") == (expected + b"\n", 1)


# -- csv --------------------------------------------------------------------------------------

def test_csv_header(conn: psycopg.Connection, full: str) -> None:
    data, count = copy_out(conn, f"COPY (SELECT * FROM {full} ORDER BY id) TO STDOUT"
                                 f" WITH (FORMAT csv, HEADER)")
    assert (data, count) == (copydata.CSV_HEADER + copydata.CSV, 3)


def test_csv_force_quote(conn: psycopg.Connection, full: str) -> None:
    query = f"(SELECT * FROM {full} ORDER BY id)"
    data, _ = copy_out(conn, f"COPY {query} TO STDOUT (FORMAT csv, FORCE_QUOTE (name, tags))")
    assert data.splitlines()[0] == (
        b'1,"ann",1.5,2024-01-02 03:04:05.123456,t,12.50,\\x0001ff,2024-02-29,'
        b'a8d1e230-300f-4f32-8210-c377328aff0d,"{a,""b c"",NULL}"')
    assert data.endswith(b'nl\\bs",,,f,-0.01,\\x,,,"{}"\n'
                         b'3,"",0.25,1999-12-31 23:59:59,,0.00,,2000-01-01,,'
                         b'"{""x,y"",""q\\""z""}"\n')
    data, _ = copy_out(conn, f"COPY {query} TO STDOUT WITH CSV FORCE QUOTE *")
    assert data == (
        b'"1","ann","1.5","2024-01-02 03:04:05.123456","t","12.50","\\x0001ff","2024-02-29",'
        b'"a8d1e230-300f-4f32-8210-c377328aff0d","{a,""b c"",NULL}"\n'
        b'"2","tab\there\nnl\\bs",,,"f","-0.01","\\x",,,"{}"\n'
        b'"3","","0.25","1999-12-31 23:59:59",,"0.00",,"2000-01-01",,'
        b'"{""x,y"",""q\\""z""}"\n')


def test_csv_options(conn: psycopg.Connection) -> None:
    """NULL 'NA' written bare, a value equal to it quoted; QUOTE and ESCAPE used."""
    data, _ = copy_out(conn, "COPY (SELECT 'it''s;x' AS a, NULL AS b, '' AS c, 'NA' AS d)"
                             " TO STDOUT (FORMAT csv, DELIMITER ';', NULL 'NA', QUOTE '''',"
                             " ESCAPE '\\', HEADER)")
    assert data == b"a;b;c;d\n'it\\'s;x';NA;;'NA'\n"


def test_zero_rows(conn: psycopg.Connection, small: str) -> None:
    empty = f"(SELECT * FROM {small} WHERE false)"
    assert copy_out(conn, f"COPY {empty} TO STDOUT") == (b"", 0)
    assert copy_out(conn, f"COPY {empty} TO STDOUT (FORMAT csv, HEADER)") == (
        b"id,name,amount,flag\n", 0)
    assert copy_out(conn, f"COPY {empty} TO STDOUT (FORMAT binary)") == (
        copydata.binary_header() + copydata.BINARY_TRAILER, 0)


# -- binary -----------------------------------------------------------------------------------

def test_binary_rows(conn: psycopg.Connection, full: str) -> None:
    cur = conn.cursor()
    with cur.copy(f"COPY (SELECT * FROM {full} ORDER BY id) TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(copydata.PG_TYPES)
        rows = list(copy.rows())
    assert rows == ROWS
    assert cur.rowcount == 3


def test_text_rows(conn: psycopg.Connection, full: str) -> None:
    cur = conn.cursor()
    with cur.copy(f"COPY {full} (id, name, d, tags) TO STDOUT") as copy:
        copy.set_types(["int8", "text", "numeric", "text[]"])
        rows = sorted(copy.rows())
    assert rows == [(r[0], r[1], r[5], r[9]) for r in ROWS]


def test_binary_bytes(conn: psycopg.Connection, small: str) -> None:
    data, count = copy_out(conn, f"COPY (SELECT id, name, amount FROM {small})"
                                 f" TO STDOUT (FORMAT binary)")
    assert count == 1
    assert data == (copydata.binary_header()
                    + copydata.binary_tuple(struct.pack("!q", 1), b"ab\tc", None)
                    + copydata.BINARY_TRAILER)


# -- protocol ---------------------------------------------------------------------------------

ONE_PER_ROW = {
    "text": ("", 0, [b"1\tab\\tc\t\\N\tt\n", b"2\tx\t2.5\tf\n"]),
    "csv": ("(FORMAT csv)", 0, [b"1,ab\tc,,t\n", b"2,x,2.5,f\n"]),
    "binary": ("(FORMAT binary)", 1, [
        copydata.binary_header()
        + copydata.binary_tuple(struct.pack("!q", 1), b"ab\tc", None, b"\x01"),
        copydata.binary_tuple(struct.pack("!q", 2), b"x", struct.pack("!d", 2.5), b"\x00"),
        copydata.BINARY_TRAILER,
    ]),
}


@pytest.mark.parametrize("kind", list(ONE_PER_ROW))
def test_messages(server: RunningServer, conn: psycopg.Connection, small: str,
                  kind: str) -> None:
    """CopyOutResponse, one CopyData per row ("55.2.6 COPY Operations": "always one per
    row"; psycopg's ``rows()`` and the ADBC driver rely on it), CopyDone, ``COPY n``."""
    options, overall, bodies = ONE_PER_ROW[kind]
    conn.execute(f"INSERT INTO {small} VALUES (2, 'x', 2.5, false)")
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.query(f"COPY (SELECT * FROM {small} ORDER BY id) TO STDOUT {options}"))
        messages = raw.read_until_ready()
    assert messages[0] == (b"H", struct.pack("!bhhhhh", overall, 4, *[overall] * 4))
    assert messages[-3:] == [(b"c", b""), (b"C", b"COPY 2\0"), (b"Z", b"I")]
    assert b"".join(body for _, body in messages[1:-3]) == b"".join(bodies)
    assert messages[1:-3] == [(b"d", body) for body in bodies]


def test_extended_protocol(server: RunningServer, small: str) -> None:
    """Parse/Bind/Describe/Execute of COPY TO STDOUT, as the ADBC driver sends it."""
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.parse(f"COPY (SELECT id, name FROM {small}) TO STDOUT (FORMAT csv)")
                 + rawclient.bind() + rawclient.describe(b"P") + rawclient.execute()
                 + rawclient.sync())
        messages = raw.read_until_ready()
    assert messages[:4] == [(b"1", b""), (b"2", b""), (b"n", b""),
                            (b"H", struct.pack("!bhhh", 0, 2, 0, 0))]
    assert b"".join(body for t, body in messages if t == b"d") == b"1,ab\tc\n"
    assert messages[-3:] == [(b"c", b""), (b"C", b"COPY 1\0"), (b"Z", b"I")]


def test_many_rows(conn: psycopg.Connection) -> None:
    cur = conn.cursor()
    total = count = 0
    with cur.copy("COPY (SELECT range AS id, 'row ' || range AS name FROM range(300000))"
                  " TO STDOUT") as copy:
        copy.set_types(["int8", "text"])
        for row in copy.rows():
            total += row[0]
            count += 1
            assert row[1] == f"row {row[0]}"
    assert (count, total, cur.rowcount) == (300_000, 300_000 * 299_999 // 2, 300_000)


def test_sees_uncommitted_rows_of_its_transaction(conn: psycopg.Connection, small: str) -> None:
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {small} VALUES (2, 'new', 0.5, false)")
    data, count = copy_out(conn, f"COPY (SELECT id, name FROM {small} ORDER BY id) TO STDOUT")
    assert (data, count) == (b"1\tab\\tc\n2\tnew\n", 2)
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    conn.execute("ROLLBACK")
    assert copy_out(conn, f"COPY (SELECT id FROM {small}) TO STDOUT") == (b"1\n", 1)


@pytest.mark.parametrize(("statement", "sqlstate"), [
    ("COPY {t}_missing TO STDOUT", "42P01"),
    ("COPY {t} (nosuch) TO STDOUT", "42703"),
    ("COPY (SELECT CAST(x AS INTEGER) FROM (VALUES ('1'), ('x')) v(x)) TO STDOUT", "22P02"),
    # As for a PostgreSQL role without pg_write_server_files.
    ("COPY {t} TO '/tmp/forge_copy_out_test'", "42501"),
    ("COPY {t} TO PROGRAM 'true'", "42501"),
])
def test_errors(conn: psycopg.Connection, small: str, statement: str, sqlstate: str) -> None:
    with pytest.raises(psycopg.Error) as raised:
        copy_out(conn, statement.format(t=small))
    assert raised.value.sqlstate == sqlstate
    assert conn.info.transaction_status == TransactionStatus.IDLE
    assert copy_out(conn, f"COPY (SELECT id FROM {small}) TO STDOUT") == (b"1\n", 1)
