"""COPY ... FROM STDIN through psycopg and a raw socket: the text, csv and binary formats,
the ``COPY n`` tag, errors located by line and column as PostgreSQL does, all-or-nothing
loads (bad rows, CopyFail, disconnects, transactions), and a million-row load."""

from __future__ import annotations

import datetime as dt
import struct
import time
from decimal import Decimal
from pathlib import Path

import copydata
import process_stats
import psycopg
import pytest
import rawclient
from copydata import ROWS
from psycopg import errors as pgerrors
from psycopg.pq import TransactionStatus
from server import RunningServer, start_server


def copy_in(conn: psycopg.Connection, sql: str, data: bytes | str) -> psycopg.Cursor:
    cur = conn.cursor()
    with cur.copy(sql) as copy:
        copy.write(data)
    return cur


def two_columns(conn: psycopg.Connection, table: str, rows: str = "") -> None:
    conn.execute(f"CREATE TABLE {table} (id BIGINT, name VARCHAR)")
    if rows:
        conn.execute(f"INSERT INTO {table} VALUES {rows}")


# -- text format ------------------------------------------------------------------------------

@pytest.mark.parametrize("as_text", [False, True], ids=["bytes", "str"])
def test_text_all_types(conn: psycopg.Connection, table_name: str, as_text: bool) -> None:
    copydata.create(conn, table_name)
    data = copydata.TEXT.decode() if as_text else copydata.TEXT
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN", data)
    assert cur.statusmessage == "COPY 3"
    assert cur.rowcount == 3
    assert copydata.contents(conn, table_name) == ROWS


def test_text_write_row(conn: psycopg.Connection, table_name: str) -> None:
    """psycopg turns each value into PostgreSQL's text form and escapes it for COPY."""
    copydata.create(conn, table_name)
    cur = conn.cursor()
    with cur.copy(f"COPY {table_name} FROM STDIN") as copy:
        for row in ROWS:
            copy.write_row(row)
    assert cur.statusmessage == "COPY 3"
    assert copydata.contents(conn, table_name) == ROWS


def test_text_escapes(conn: psycopg.Connection, table_name: str) -> None:
    """Backslash sequences of the text format ("COPY", File Formats, Text Format)."""
    two_columns(conn, table_name)
    data = (b"1\t\\101\\x42\\b\\f\\v\\r\\n\\t\\\\\\q\n"  # octal, hex, controls, \\, \q is q
            b"2\t\n"  # empty string, not NULL
            b"3\t\\N\n"
            b"4\tN\\\\N\n"  # a literal backslash then N
            + "5\théllo ✓\n".encode())
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN", data)
    assert cur.statusmessage == "COPY 5"
    assert copydata.contents(conn, table_name) == [
        (1, "AB\b\f\v\r\n\t\\q"), (2, ""), (3, None), (4, "N\\N"), (5, "héllo ✓"),
    ]


def test_text_end_of_data_marker(conn: psycopg.Connection, table_name: str) -> None:
    r"""A line holding only ``\.`` ends the data, as older clients send it."""
    two_columns(conn, table_name)
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN", b"1\ta\n2\tb\n\\.\n")
    assert cur.statusmessage == "COPY 2"
    assert copydata.contents(conn, table_name) == [(1, "a"), (2, "b")]


def test_text_line_endings(conn: psycopg.Connection, table_name: str) -> None:
    two_columns(conn, table_name)
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN", b"1\ta\r\n2\tb\r\n")
    assert cur.statusmessage == "COPY 2"
    assert copydata.contents(conn, table_name) == [(1, "a"), (2, "b")]


def test_text_delimiter_and_null(conn: psycopg.Connection, table_name: str) -> None:
    two_columns(conn, table_name)
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN WITH (DELIMITER '|', NULL 'null')",
                  b"1|a\tb\n2|null\n3|\n4|x\\|y\n")
    assert cur.statusmessage == "COPY 4"
    assert copydata.contents(conn, table_name) == [(1, "a\tb"), (2, None), (3, ""), (4, "x|y")]


def test_column_list(conn: psycopg.Connection, table_name: str) -> None:
    """Listed columns in any order; the others take their DEFAULT (or NULL)."""
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR,"
                 f" note VARCHAR DEFAULT 'none', amount DOUBLE)")
    cur = copy_in(conn, f"COPY {table_name} (name, id) FROM STDIN", b"a\t1\nb\t2\n")
    assert cur.statusmessage == "COPY 2"
    assert copydata.contents(conn, table_name) == [(1, "a", "none", None), (2, "b", "none", None)]


def test_zero_rows(conn: psycopg.Connection, table_name: str) -> None:
    two_columns(conn, table_name)
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN", b"")
    assert (cur.statusmessage, cur.rowcount) == ("COPY 0", 0)
    assert copydata.contents(conn, table_name) == []


# -- csv format -------------------------------------------------------------------------------

def test_csv_all_types_with_header(conn: psycopg.Connection, table_name: str) -> None:
    copydata.create(conn, table_name)
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN WITH (FORMAT csv, HEADER)",
                  copydata.CSV_HEADER + copydata.CSV)
    assert cur.statusmessage == "COPY 3"
    assert copydata.contents(conn, table_name) == ROWS


def test_csv_quoting(conn: psycopg.Connection, table_name: str) -> None:
    """Unquoted empty is NULL, quoted empty is ''; quotes protect delimiters, quotes,
    newlines and spaces."""
    two_columns(conn, table_name)
    data = (b'1,\n2,""\n3,"a,b"\n4,"say ""hi"""\n5,"line1\nline2"\n'
            b'6,  padded  \n7,"x\r\ny"\n8,\\N\n')
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN (FORMAT csv)", data)
    assert cur.statusmessage == "COPY 8"
    assert copydata.contents(conn, table_name) == [
        (1, None), (2, ""), (3, "a,b"), (4, 'say "hi"'), (5, "line1\nline2"),
        (6, "  padded  "), (7, "x\r\ny"), (8, "\\N"),
    ]


@pytest.mark.parametrize("options", [
    "WITH (FORMAT csv, HEADER true, DELIMITER ';')",
    "WITH CSV HEADER DELIMITER ';'",  # the pre-9.0 syntax psql users still type
    "(FORMAT 'csv', HEADER True, DELIMITER ';')",  # as asyncpg writes it
])
def test_csv_header_and_delimiter(conn: psycopg.Connection, table_name: str,
                                  options: str) -> None:
    two_columns(conn, table_name)
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN {options}",
                  b'id;name\n1;"a;b"\n2;c,d\n')
    assert cur.statusmessage == "COPY 2"
    assert copydata.contents(conn, table_name) == [(1, "a;b"), (2, "c,d")]


def test_csv_null_string(conn: psycopg.Connection, table_name: str) -> None:
    """A quoted NULL string is a value, not NULL."""
    two_columns(conn, table_name)
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN (FORMAT csv, NULL 'NA')",
                  b'1,NA\n2,\n3,"NA"\n')
    assert cur.statusmessage == "COPY 3"
    assert copydata.contents(conn, table_name) == [(1, None), (2, ""), (3, "NA")]


@pytest.mark.parametrize(("options", "data", "names"), [
    ("(FORMAT csv, QUOTE '''', ESCAPE '\\')", b"1,'it\\'s, fine'\n2,'say \"hi\"'\n",
     ["it's, fine", 'say "hi"']),
    ("(FORMAT csv, ESCAPE '\\')", b'1,"a\\"b"\n2,"c\\\\"\n', ['a"b', "c\\"]),
    ("(FORMAT csv, DELIMITER E'\\t')", b'1\t"a\tb"\n2\tc,d\n', ["a\tb", "c,d"]),
], ids=["quote", "escape", "tab"])
def test_csv_quote_and_escape(conn: psycopg.Connection, table_name: str, options: str,
                              data: bytes, names: list[str]) -> None:
    two_columns(conn, table_name)
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN {options}", data)
    assert cur.statusmessage == f"COPY {len(names)}"
    assert [r[1] for r in copydata.contents(conn, table_name)] == names


def test_csv_force_null_and_force_not_null(conn: psycopg.Connection, table_name: str) -> None:
    """FORCE_NULL makes quoted empty NULL; FORCE_NOT_NULL makes unquoted empty ''."""
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, a VARCHAR, b VARCHAR, c VARCHAR)")
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN"
                        f" (FORMAT csv, FORCE_NULL (a), FORCE_NOT_NULL (b))",
                  b'1,"","",""\n2,,,\n')
    assert cur.statusmessage == "COPY 2"
    assert copydata.contents(conn, table_name) == [(1, None, "", ""), (2, None, "", None)]


# -- binary format ----------------------------------------------------------------------------

def test_binary_write_row(conn: psycopg.Connection, table_name: str) -> None:
    copydata.create(conn, table_name)
    cur = conn.cursor()
    with cur.copy(f"COPY {table_name} FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(copydata.PG_TYPES)
        for row in ROWS:
            copy.write_row(row)
    assert (cur.statusmessage, cur.rowcount) == ("COPY 3", 3)
    assert copydata.contents(conn, table_name) == ROWS


def test_binary_bytes(conn: psycopg.Connection, table_name: str) -> None:
    """Hand-built data: a header extension the reader must skip, NULL fields."""
    two_columns(conn, table_name)
    data = (copydata.binary_header(extension=b"\x00\x01\x02\x03")
            + copydata.binary_tuple(struct.pack("!q", -5), "héllo".encode())
            + copydata.binary_tuple(struct.pack("!q", 7), None)
            + copydata.binary_tuple(None, b"")
            + copydata.BINARY_TRAILER)
    cur = copy_in(conn, f"COPY {table_name} (id, name) FROM STDIN WITH (FORMAT binary)", data)
    assert cur.statusmessage == "COPY 3"
    assert conn.execute(f"SELECT id, name FROM {table_name} ORDER BY id NULLS LAST"
                        ).fetchall() == [(-5, "héllo"), (7, None), (None, "")]


# -- data split across CopyData messages ------------------------------------------------------

SPLIT_CASES = {
    "text": ("", "1\thé✓\\tx\n2\t\\N\n3\t\n".encode()),
    "csv": ("(FORMAT csv, HEADER)", 'id,name\n1,"hé✓\tx"\n2,\n3,""\n'.encode()),
    "binary": ("(FORMAT binary)", copydata.binary_header()
               + copydata.binary_tuple(struct.pack("!q", 1), "hé✓\tx".encode())
               + copydata.binary_tuple(struct.pack("!q", 2), None)
               + copydata.binary_tuple(struct.pack("!q", 3), b"")
               + copydata.BINARY_TRAILER),
}


@pytest.mark.parametrize("kind", list(SPLIT_CASES))
def test_one_byte_per_copy_data(server: RunningServer, conn: psycopg.Connection,
                                table_name: str, kind: str) -> None:
    """Message boundaries mean nothing: rows, escapes and UTF-8 characters may be split."""
    options, data = SPLIT_CASES[kind]
    two_columns(conn, table_name)
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.query(f"COPY {table_name} FROM STDIN {options}"))
        assert raw.read_message() is not None
        raw.send(b"".join(rawclient.message(b"d", data[i:i + 1]) for i in range(len(data)))
                 + rawclient.message(b"c"))
        messages = raw.read_until_ready()
        assert rawclient.errors_in(messages) == []
        assert messages == [(b"C", b"COPY 3\0"), (b"Z", b"I")]
    assert copydata.contents(conn, table_name) == [(1, "hé✓\tx"), (2, None), (3, "")]


def test_copy_in_response_then_next_statement(server: RunningServer, conn: psycopg.Connection,
                                              table_name: str) -> None:
    """CopyInResponse lists the formats; a later statement of the Query sees the rows."""
    two_columns(conn, table_name)
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.query(f"COPY {table_name} (id, name) FROM STDIN;"
                                 f" SELECT count(*) FROM {table_name}"))
        assert raw.read_message() == (b"G", b"\x00" + struct.pack("!hhh", 2, 0, 0))
        raw.send(rawclient.message(b"d", b"1\ta\n2\t") + rawclient.message(b"d", b"b\n")
                 + rawclient.message(b"c"))
        messages = raw.read_until_ready()
        assert [t for t, _ in messages] == [b"C", b"T", b"D", b"C", b"Z"]
        assert messages[0] == (b"C", b"COPY 2\0")
        assert rawclient.data_rows(messages) == [["2"]]
        raw.send(rawclient.query(f"COPY {table_name} FROM STDIN (FORMAT binary)"))
        assert raw.read_message() == (b"G", b"\x01" + struct.pack("!hhh", 2, 1, 1))
        raw.send(rawclient.message(b"d", copydata.binary_header() + copydata.BINARY_TRAILER)
                 + rawclient.message(b"c"))
        assert raw.read_until_ready() == [(b"C", b"COPY 0\0"), (b"Z", b"I")]


def test_extended_protocol(server: RunningServer, conn: psycopg.Connection,
                           table_name: str) -> None:
    """Parse/Bind/Execute of COPY FROM STDIN; the Sync sent before the data is ignored
    ("55.2.6": Flush and Sync are ignored during copy-in), the one after it answered."""
    two_columns(conn, table_name)
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.parse(f"COPY {table_name} FROM STDIN (FORMAT csv)")
                 + rawclient.bind() + rawclient.describe(b"P") + rawclient.execute()
                 + rawclient.sync())
        assert [raw.read_message() for _ in range(4)] == [
            (b"1", b""), (b"2", b""), (b"n", b""),
            (b"G", b"\x00" + struct.pack("!hhh", 2, 0, 0)),
        ]
        raw.send(rawclient.message(b"d", b"5,e\n") + rawclient.message(b"c") + rawclient.sync())
        assert raw.read_until_ready() == [(b"C", b"COPY 1\0"), (b"Z", b"I")]
    assert copydata.contents(conn, table_name) == [(5, "e")]


# -- errors: nothing is stored ----------------------------------------------------------------

PRELOADED = "(100, 'kept'), (101, NULL)"


@pytest.mark.parametrize(("column", "line"), [("amount", 5), ("id", 5), ("id", 1)])
def test_bad_value(conn: psycopg.Connection, table_name: str, column: str, line: int) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, amount DOUBLE)")
    conn.execute(f"INSERT INTO {table_name} VALUES (100, 'kept', 0.5), (101, NULL, NULL)")
    before = copydata.contents(conn, table_name)
    lines = [[str(i), f"n{i}", f"{i}.5"] for i in range(1, 8)]
    lines[line - 1][["id", "name", "amount"].index(column)] = "abc"
    data = "".join("\t".join(fields) + "\n" for fields in lines)
    with pytest.raises(psycopg.DataError) as raised:
        copy_in(conn, f"COPY {table_name} FROM STDIN", data)
    assert raised.value.sqlstate == "22P02"
    assert raised.value.diag.context == f'COPY {table_name}, line {line}, column {column}: "abc"'
    assert copydata.contents(conn, table_name) == before
    assert conn.info.transaction_status == TransactionStatus.IDLE


def test_bad_value_csv_counts_physical_lines(conn: psycopg.Connection,
                                             table_name: str) -> None:
    """The header and the newline inside a quoted field each count as a line."""
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, amount DOUBLE)")
    with pytest.raises(psycopg.DataError) as raised:
        copy_in(conn, f"COPY {table_name} FROM STDIN (FORMAT csv, HEADER)",
                b'id,name,amount\n1,"x\ny",1\n2,b,zz\n')
    assert raised.value.sqlstate == "22P02"
    assert raised.value.diag.context == f'COPY {table_name}, line 4, column amount: "zz"'
    assert copydata.contents(conn, table_name) == []


@pytest.mark.parametrize(("options", "data"), [
    ("", b"1\ta\n2\tb\n3\tc\textra\n4\td\n"),
    ("", b"1\ta\n2\tb\n3\n4\td\n"),
    ("(FORMAT csv)", b"1,a\n2,b\n3,c,extra\n"),
    ("(FORMAT csv)", b"1,a\n2,b\n3\n"),
], ids=["text-extra", "text-missing", "csv-extra", "csv-missing"])
def test_wrong_column_count(conn: psycopg.Connection, table_name: str, options: str,
                            data: bytes) -> None:
    two_columns(conn, table_name, PRELOADED)
    before = copydata.contents(conn, table_name)
    with pytest.raises(psycopg.DataError) as raised:
        copy_in(conn, f"COPY {table_name} FROM STDIN {options}", data)
    assert raised.value.sqlstate == "22P04"
    assert (raised.value.diag.context or "").startswith(f"COPY {table_name}, line 3")
    assert copydata.contents(conn, table_name) == before


@pytest.mark.parametrize(("data", "context"), [
    (copydata.binary_header()
     + copydata.binary_tuple(struct.pack("!q", 1), b"a")
     + copydata.binary_tuple(struct.pack("!q", 2))
     + copydata.BINARY_TRAILER, "line 2"),
    (b"PGCOPX\n\xff\r\n\x00" + struct.pack("!ii", 0, 0) + copydata.BINARY_TRAILER, None),
    (copydata.binary_header() + copydata.binary_tuple(struct.pack("!q", 1), b"a")
     + copydata.BINARY_TRAILER + b"junk", "line 2"),
], ids=["field-count", "signature", "after-trailer"])
def test_bad_binary_data(conn: psycopg.Connection, table_name: str, data: bytes,
                         context: str | None) -> None:
    two_columns(conn, table_name, PRELOADED)
    before = copydata.contents(conn, table_name)
    with pytest.raises(psycopg.DataError) as raised:
        copy_in(conn, f"COPY {table_name} FROM STDIN (FORMAT binary)", data)
    assert raised.value.sqlstate == "22P04"
    if context is not None:
        assert (raised.value.diag.context or "").startswith(f"COPY {table_name}, {context}")
    assert copydata.contents(conn, table_name) == before


def test_invalid_utf8(conn: psycopg.Connection, table_name: str) -> None:
    two_columns(conn, table_name, PRELOADED)
    before = copydata.contents(conn, table_name)
    with pytest.raises(psycopg.DataError) as raised:
        copy_in(conn, f"COPY {table_name} FROM STDIN", b"1\ta\n2\t\xff\xfe\n")
    assert raised.value.sqlstate == "22021"
    assert copydata.contents(conn, table_name) == before


def test_not_null_violation(conn: psycopg.Connection, table_name: str) -> None:
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT NOT NULL, name VARCHAR)")
    conn.execute(f"INSERT INTO {table_name} VALUES (100, 'kept')")
    with pytest.raises(pgerrors.NotNullViolation) as raised:
        copy_in(conn, f"COPY {table_name} FROM STDIN", b"1\ta\n2\tb\n\\N\tc\n4\td\n")
    assert raised.value.sqlstate == "23502"
    assert (raised.value.diag.context or "").startswith(f"COPY {table_name}, line 3")
    assert copydata.contents(conn, table_name) == [(100, "kept")]


def test_bad_row_after_earlier_batches_were_stored(conn: psycopg.Connection,
                                                   table_name: str) -> None:
    """Several megabytes go in before the bad line: the rows before it are not kept."""
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, name VARCHAR, amount DOUBLE)")
    conn.execute(f"INSERT INTO {table_name} VALUES (-1, 'kept', 0)")
    bad_line = 250_000
    with pytest.raises(psycopg.DataError) as raised:
        cur = conn.cursor()
        with cur.copy(f"COPY {table_name} FROM STDIN") as copy:
            for start in range(0, 300_000, 50_000):
                copy.write("".join(
                    f"{i}\tname {i}\t{'abc' if i + 1 == bad_line else i / 2}\n"
                    for i in range(start, start + 50_000)))
    assert raised.value.sqlstate == "22P02"
    assert raised.value.diag.context == (
        f'COPY {table_name}, line {bad_line}, column amount: "abc"')
    assert copydata.contents(conn, table_name) == [(-1, "kept", 0.0)]


@pytest.mark.parametrize(("sql", "sqlstate"), [
    ("COPY {t}_missing FROM STDIN", "42P01"),
    ("COPY {t} (id, nosuch) FROM STDIN", "42703"),
    ("COPY {t} FROM STDIN (FORMAT csv, FORCE_NULL (nosuch))", "42703"),
    ("COPY {t} FROM STDIN (FORMAT csv, QUOTE ',')", "22023"),
    # As for a PostgreSQL role without pg_read_server_files.
    ("COPY {t} FROM '/etc/passwd'", "42501"),
])
def test_statement_errors(conn: psycopg.Connection, table_name: str, sql: str,
                          sqlstate: str) -> None:
    two_columns(conn, table_name, PRELOADED)
    with pytest.raises(psycopg.Error) as raised:
        copy_in(conn, sql.format(t=table_name), b"1\ta\n")
    assert raised.value.sqlstate == sqlstate
    assert conn.execute(f"SELECT count(*) FROM {table_name}").fetchone() == (2,)


# -- the client gives up ----------------------------------------------------------------------

def test_copy_fail_from_psycopg(conn: psycopg.Connection, table_name: str) -> None:
    """An exception in the block sends CopyFail; psycopg swallows the server's 57014 (any
    other answer would replace the exception) and the connection stays usable."""
    two_columns(conn, table_name, PRELOADED)
    before = copydata.contents(conn, table_name)
    with (pytest.raises(LookupError, match="gave up"),
          conn.cursor().copy(f"COPY {table_name} FROM STDIN") as copy):
        copy.write("".join(f"{i}\tx\n" for i in range(10_000)))
        raise LookupError("gave up")
    assert conn.info.transaction_status == TransactionStatus.IDLE
    assert copydata.contents(conn, table_name) == before


def test_copy_fail_message(server: RunningServer, conn: psycopg.Connection,
                           table_name: str) -> None:
    two_columns(conn, table_name, PRELOADED)
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.query(f"COPY {table_name} FROM STDIN"))
        assert raw.read_message() is not None
        raw.send(rawclient.message(b"d", b"1\ta\n2\tb\n")
                 + rawclient.message(b"f", b"client gave up\0"))
        messages = raw.read_until_ready()
        [error] = rawclient.errors_in(messages)
        assert (error["C"], error["M"]) == ("57014", "COPY from stdin failed: client gave up")
        assert messages[-1] == (b"Z", b"I")
        raw.send(rawclient.query(f"SELECT count(*) FROM {table_name}"))
        assert rawclient.data_rows(raw.read_until_ready()) == [["2"]]


def _still_serves(server: RunningServer, conn: psycopg.Connection, table: str,
                  before: list[tuple[object, ...]]) -> None:
    """The abandoned COPY left nothing behind and blocks nothing."""
    assert server.process.poll() is None
    with psycopg.connect(server.dsn(), autocommit=True) as fresh:
        assert copydata.contents(fresh, table) == before
        cur = copy_in(fresh, f"COPY {table} FROM STDIN", b"200\tafter\n")
        assert cur.statusmessage == "COPY 1"
    assert copydata.contents(conn, table) == sorted([*before, (200, "after")],
                                                    key=lambda r: r[0])


def test_disconnect_mid_copy_psycopg(server: RunningServer, conn: psycopg.Connection,
                                     table_name: str) -> None:
    two_columns(conn, table_name, PRELOADED)
    before = copydata.contents(conn, table_name)
    doomed = psycopg.connect(server.dsn(), autocommit=True)
    with (pytest.raises(psycopg.OperationalError),
          doomed.cursor().copy(f"COPY {table_name} FROM STDIN") as copy):
        copy.write("".join(f"{i}\tx\n" for i in range(50_000)))  # beyond psycopg's buffer
        copy.write("7\tpartial")
        doomed.pgconn.finish()
    assert doomed.closed
    _still_serves(server, conn, table_name, before)


@pytest.mark.parametrize("ending", ["close", "terminate"])
def test_disconnect_mid_copy_raw(server: RunningServer, conn: psycopg.Connection,
                                 table_name: str, ending: str) -> None:
    two_columns(conn, table_name, PRELOADED)
    before = copydata.contents(conn, table_name)
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        raw.send(rawclient.query(f"COPY {table_name} FROM STDIN"))
        assert raw.read_message() is not None
        raw.send(rawclient.message(b"d", b"1\ta\n2\tb\n3\tpart"))
        if ending == "terminate":
            raw.send(rawclient.terminate())
            assert all(t != b"Z" for t, _ in raw.read_to_close())
    _still_serves(server, conn, table_name, before)


# -- transactions -----------------------------------------------------------------------------

@pytest.mark.parametrize("end", ["ROLLBACK", "COMMIT"])
def test_copy_in_transaction(server: RunningServer, conn: psycopg.Connection,
                             table_name: str, end: str) -> None:
    two_columns(conn, table_name)
    conn.execute("BEGIN")
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN", b"1\ta\n2\tb\n")
    assert cur.statusmessage == "COPY 2"
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    assert copydata.contents(conn, table_name) == [(1, "a"), (2, "b")]
    with psycopg.connect(server.dsn(), autocommit=True) as other:
        assert copydata.contents(other, table_name) == []  # not committed yet
    assert conn.execute(end).statusmessage == end
    expected = [(1, "a"), (2, "b")] if end == "COMMIT" else []
    with psycopg.connect(server.dsn(), autocommit=True) as other:
        assert copydata.contents(other, table_name) == expected


def test_failed_copy_aborts_transaction(conn: psycopg.Connection, table_name: str) -> None:
    two_columns(conn, table_name)
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {table_name} VALUES (1, 'in transaction')")
    with pytest.raises(psycopg.DataError):
        copy_in(conn, f"COPY {table_name} FROM STDIN", b"2\tb\nx\tc\n")
    assert conn.info.transaction_status == TransactionStatus.INERROR
    with pytest.raises(pgerrors.InFailedSqlTransaction):
        conn.execute(f"SELECT count(*) FROM {table_name}")
    conn.execute("ROLLBACK")
    assert copydata.contents(conn, table_name) == []


def test_psycopg_default_transaction(server: RunningServer, table_name: str) -> None:
    """Without autocommit psycopg opens the transaction itself; COPY is part of it."""
    with psycopg.connect(server.dsn()) as conn:
        two_columns(conn, table_name)
        conn.commit()
        copy_in(conn, f"COPY {table_name} FROM STDIN", b"1\ta\n")
        conn.rollback()
        assert copydata.contents(conn, table_name) == []
        copy_in(conn, f"COPY {table_name} FROM STDIN", b"2\tb\n")
        conn.commit()
    with psycopg.connect(server.dsn()) as conn:
        assert copydata.contents(conn, table_name) == [(2, "b")]


# -- volume -----------------------------------------------------------------------------------

def test_many_small_copies(conn: psycopg.Connection, table_name: str,
                           record_property: pytest.RecordProperty) -> None:
    two_columns(conn, table_name)
    for batch in range(200):
        cur = copy_in(conn, f"COPY {table_name} FROM STDIN",
                      "".join(f"{batch * 5 + i}\tb{batch}\n" for i in range(5)))
        assert cur.statusmessage == "COPY 5"
    assert conn.execute(f"SELECT count(*), count(DISTINCT id), min(id), max(id)"
                        f" FROM {table_name}").fetchone() == (1000, 1000, 0, 999)
    try:
        files = conn.execute(
            f"SELECT count(*) FROM ducklake_list_files('forge', '{table_name}')").fetchone()
    except psycopg.Error as exc:
        record_property("parquet_files", f"not available: {exc.sqlstate} {exc}")
    else:
        assert files is not None
        record_property("parquet_files", files[0])


def test_million_rows_bounded_memory(tmp_path: Path) -> None:
    """1,000,000 rows in one COPY on a server of its own, so its peak RSS is this COPY's."""
    running = start_server(tmp_path / "data")
    try:
        rows = 1_000_000
        with psycopg.connect(running.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE big (id BIGINT, name VARCHAR, amount DOUBLE,"
                         " day DATE)")
            started = time.monotonic()
            cur = conn.cursor()
            with cur.copy("COPY big FROM STDIN") as copy:
                for start in range(0, rows, 50_000):
                    copy.write("".join(
                        f"{i}\tname number {i}\t{i * 0.25}\t2024-01-{i % 28 + 1:02d}\n"
                        for i in range(start, start + 50_000)))
            elapsed = time.monotonic() - started
            assert cur.statusmessage == f"COPY {rows}"
            assert conn.execute("SELECT count(*), sum(id), sum(amount), max(day),"
                                " max(name) FROM big").fetchone() == (
                rows, rows * (rows - 1) // 2, rows * (rows - 1) / 8, dt.date(2024, 1, 28),
                "name number 999999")
        peak_kb = process_stats.memory_kb(running.pid, "VmHWM")
        print(f"1M-row COPY: {elapsed:.1f}s, server peak RSS {peak_kb / 1024:.0f} MiB")
        assert peak_kb < 1024 * 1024
    finally:
        err = running.stop()
    assert "Traceback" not in err, err


def test_decimal_and_timestamp_text_forms(conn: psycopg.Connection, table_name: str) -> None:
    """Spellings PostgreSQL accepts on input that its own output never uses."""
    conn.execute(f"CREATE TABLE {table_name} (id BIGINT, d DECIMAL(10,2), ts TIMESTAMP,"
                 f" flag BOOLEAN, amount DOUBLE)")
    cur = copy_in(conn, f"COPY {table_name} FROM STDIN",
                  b"1\t1.5\t2024-01-02T03:04:05\ttrue\t1e3\n"
                  b"2\t-7\t2024-01-02 03:04:05.5\tno\t-Infinity\n"
                  b"3\t0.125\t2024-01-02\t1\tNaN\n")
    assert cur.statusmessage == "COPY 3"
    rows = copydata.contents(conn, table_name)
    assert rows[:2] == [
        (1, Decimal("1.50"), dt.datetime(2024, 1, 2, 3, 4, 5), True, 1000.0),
        (2, Decimal("-7.00"), dt.datetime(2024, 1, 2, 3, 4, 5, 500000), False, float("-inf")),
    ]
    assert rows[2][:4] == (3, Decimal("0.13"), dt.datetime(2024, 1, 2), True)
    assert rows[2][4] != rows[2][4]  # NaN
