"""Malformed and hostile protocol input over raw sockets: the server answers as PostgreSQL
does (08P01 and friends), never allocates what a forged length asks for, and stays up."""

from __future__ import annotations

import asyncio
import struct
import subprocess
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest
import rawclient
from process_stats import memory_kb
from rawclient import RawConnection
from server import RunningServer, start_server


@pytest.fixture(autouse=True)
def still_healthy(server: RunningServer) -> Iterator[None]:
    """After each test the shared server still answers a new connection."""
    yield
    assert server.process.poll() is None, "the server exited"
    with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.fixture
def raw(server: RunningServer) -> Iterator[RawConnection]:
    with rawclient.connect(server.host, server.port) as connection:
        yield connection


@pytest.fixture
def session(raw: RawConnection) -> RawConnection:
    """A raw connection past startup (ReadyForQuery received)."""
    raw.startup()
    return raw


def _fatal(messages: list[tuple[bytes, bytes]]) -> dict[str, str]:
    errors: list[dict[str, str]] = rawclient.errors_in(messages)
    assert len(errors) == 1, messages
    assert errors[0]["S"] == "FATAL"
    assert errors[0]["V"] == "FATAL"
    return errors[0]


# -- startup ---------------------------------------------------------------------------------
def test_ssl_and_gssenc_requests_answered_n(raw: RawConnection) -> None:
    raw.send(struct.pack("!ii", 8, rawclient.SSL_REQUEST_CODE))
    assert raw.read_byte() == b"N"
    raw.send(struct.pack("!ii", 8, rawclient.GSSENC_REQUEST_CODE))
    assert raw.read_byte() == b"N"
    messages = raw.startup()
    assert messages[0] == (b"R", struct.pack("!i", 0))  # AuthenticationOk
    assert messages[-1] == (b"Z", b"I")
    assert raw.process_id != 0 and len(raw.secret_key) == 4
    raw.send(rawclient.query("SELECT 'after ssl'"))
    assert rawclient.data_rows(raw.read_until_ready()) == [["after ssl"]]


def test_gssenc_request_first(raw: RawConnection) -> None:
    raw.send(struct.pack("!ii", 8, rawclient.GSSENC_REQUEST_CODE))
    assert raw.read_byte() == b"N"
    assert raw.startup()[-1] == (b"Z", b"I")


def test_truncated_startup_then_close(server: RunningServer, raw: RawConnection) -> None:
    raw.send(struct.pack("!ii", 60, rawclient.PROTOCOL_V3) + b"user\0for")
    raw.close()


def test_truncated_length_word_then_close(raw: RawConnection) -> None:
    raw.send(b"\x00\x00")
    raw.close()


def test_startup_length_two_gib(server: RunningServer, raw: RawConnection) -> None:
    before = memory_kb(server.pid)
    raw.send(struct.pack("!Ii", 2**31, rawclient.PROTOCOL_V3) + b"user\0forge\0\0")
    messages = raw.read_to_close()
    if messages:
        assert _fatal(messages)["C"] == "08P01"
    assert memory_kb(server.pid) - before < 200_000  # kB: the body was never buffered


@pytest.mark.parametrize("length", [0, 4, 7, -1])
def test_startup_length_too_small(raw: RawConnection, length: int) -> None:
    raw.send(struct.pack("!i", length) + b"\0" * 8)
    messages = raw.read_to_close()
    if messages:
        assert _fatal(messages)["C"] == "08P01"


def test_unsupported_protocol_version(raw: RawConnection) -> None:
    body = struct.pack("!i", 2 << 16) + b"user\0forge\0\0"
    raw.send(struct.pack("!i", len(body) + 4) + body)
    error = _fatal(raw.read_to_close())
    assert error["C"] == "0A000"


def test_startup_without_user(raw: RawConnection) -> None:
    body = struct.pack("!i", rawclient.PROTOCOL_V3) + b"database\0forge\0\0"
    raw.send(struct.pack("!i", len(body) + 4) + body)
    error = _fatal(raw.read_to_close())
    assert error["C"] == "28000"


def test_garbage_instead_of_startup(raw: RawConnection) -> None:
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    messages = raw.read_to_close()
    if messages:
        assert _fatal(messages)["C"] == "08P01"


# -- after startup ---------------------------------------------------------------------------
def test_unknown_message_type(session: RawConnection) -> None:
    session.send(rawclient.message(b"z", b"whatever"))
    error = _fatal(session.read_to_close())
    assert error["C"] == "08P01"


def test_password_message_after_startup(session: RawConnection) -> None:
    session.send(rawclient.message(b"p", b"secret\0"))
    error = _fatal(session.read_to_close())
    assert error["C"] == "08P01"


@pytest.mark.parametrize("length", [0, 3])
def test_message_length_below_four(session: RawConnection, length: int) -> None:
    session.send(b"Q" + struct.pack("!i", length) + b"SELECT 1\0")
    error = _fatal(session.read_to_close())
    assert error["C"] == "08P01"


def test_message_length_two_gib(server: RunningServer, session: RawConnection) -> None:
    before = memory_kb(server.pid)
    session.send(b"Q" + struct.pack("!I", 2**31 - 1) + b"SELECT 1")
    error = _fatal(session.read_to_close())
    assert error["C"] == "08P01"
    assert memory_kb(server.pid) - before < 200_000


def test_query_without_terminator(session: RawConnection) -> None:
    session.send(rawclient.message(b"Q", b"SELECT 1"))
    error = _fatal(session.read_to_close())
    assert error["C"] == "08P01"


def test_invalid_utf8_in_query(session: RawConnection) -> None:
    session.send(rawclient.query(b"SELECT '\xff\xfe'"))
    messages = session.read_to_close()
    errors = rawclient.errors_in(messages)
    assert len(errors) == 1
    assert errors[0]["C"] == "08P01"


def test_bind_to_missing_statement(session: RawConnection) -> None:
    session.send(rawclient.bind(statement="no_such_stmt") + rawclient.execute() + rawclient.sync())
    messages = session.read_until_ready()
    assert [t for t, _ in messages] == [b"E", b"Z"]  # Execute is skipped until Sync
    error = rawclient.error_fields(messages[0][1])
    assert (error["S"], error["C"]) == ("ERROR", "26000")
    assert messages[-1] == (b"Z", b"I")
    session.send(rawclient.query("SELECT 'usable'"))
    assert rawclient.data_rows(session.read_until_ready()) == [["usable"]]


def test_execute_missing_portal(session: RawConnection) -> None:
    session.send(rawclient.execute("no_such_portal") + rawclient.sync())
    messages = session.read_until_ready()
    assert [t for t, _ in messages] == [b"E", b"Z"]
    assert rawclient.error_fields(messages[0][1])["C"] == "34000"


def test_bind_with_wrong_parameter_count(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT $1::INTEGER", "s1", (23,))
                 + rawclient.bind("s1", params=(b"1", b"2")) + rawclient.execute()
                 + rawclient.sync())
    messages = session.read_until_ready()
    assert [t for t, _ in messages][:1] == [b"1"]  # ParseComplete
    errors = rawclient.errors_in(messages)
    assert [(e["S"], e["C"]) for e in errors] == [("ERROR", "08P01")]
    assert messages[-1] == (b"Z", b"I")
    session.send(rawclient.bind("s1", params=(b"41",)) + rawclient.execute() + rawclient.sync())
    assert rawclient.data_rows(session.read_until_ready()) == [["41"]]


def test_parse_with_two_statements(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT 1; SELECT 2") + rawclient.sync())
    messages = session.read_until_ready()
    assert [e["C"] for e in rawclient.errors_in(messages)] == ["42601"]


def test_duplicate_prepared_statement_name(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT 1", "dup") + rawclient.parse("SELECT 2", "dup")
                 + rawclient.sync())
    messages = session.read_until_ready()
    assert [t for t, _ in messages] == [b"1", b"E", b"Z"]
    assert rawclient.error_fields(messages[1][1])["C"] == "42P05"


def test_invalid_parameter_text(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT $1::INTEGER + 1", "", (23,))
                 + rawclient.bind(params=(b"abc",)) + rawclient.execute() + rawclient.sync())
    messages = session.read_until_ready()
    assert [e["C"] for e in rawclient.errors_in(messages)] == ["22P02"]
    session.send(rawclient.query("SELECT 2"))
    assert rawclient.data_rows(session.read_until_ready()) == [["2"]]


def test_terminate_closes_the_connection(session: RawConnection) -> None:
    session.send(rawclient.terminate())
    assert session.read_to_close() == []


def test_client_vanishes_between_messages(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT 1", "v") + rawclient.bind("v"))
    session.close()


# -- servers of their own --------------------------------------------------------------------
def test_message_larger_than_configured_maximum(tmp_path_factory: pytest.TempPathFactory) -> None:
    small = start_server(tmp_path_factory.mktemp("small") / "data",
                         config="max_message_size = 4096\n")
    try:
        with rawclient.connect(small.host, small.port) as raw:
            raw.startup()
            raw.send(rawclient.query("SELECT '" + "x" * 3000 + "' AS s"))
            assert rawclient.data_rows(raw.read_until_ready()) == [["x" * 3000]]
            raw.send(rawclient.query("SELECT '" + "x" * 10_000 + "'"))
            error = _fatal(raw.read_to_close())
            assert error["C"] == "08P01"
        with psycopg.connect(small.dsn(), autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        log = small.stop()
    assert "Traceback" not in log


@pytest.fixture(scope="module")
def scratch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own, for tests whose failure could leave a traceback in the log."""
    running = start_server(tmp_path_factory.mktemp("scratch") / "data")
    yield running
    running.stop()




def test_wrong_database_name_raw(scratch_server: RunningServer) -> None:
    with rawclient.connect(scratch_server.host, scratch_server.port) as raw:
        raw.send(rawclient.startup_packet(database="no_such_db"))
        error = _fatal(raw.read_to_close())
    assert error["M"] == 'database "no_such_db" does not exist'
    assert error["C"] == "3D000"


def test_wrong_database_name_psycopg(scratch_server: RunningServer) -> None:
    """libpq gives no SQLSTATE for a refused connection: psycopg's sqlstate is None."""
    dsn = scratch_server.dsn().replace("dbname=forge", "dbname=no_such_db")
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(dsn, connect_timeout=10)
    assert 'FATAL:  database "no_such_db" does not exist' in str(info.value)


def test_wrong_database_name_asyncpg(scratch_server: RunningServer) -> None:
    async def connect() -> None:
        await asyncpg.connect(host=scratch_server.host, port=scratch_server.port,
                              user="forge", database="no_such_db", timeout=10)

    with pytest.raises(asyncpg.InvalidCatalogNameError) as info:
        asyncio.run(connect())
    assert info.value.sqlstate == "3D000"


def test_wrong_database_name_psql(scratch_server: RunningServer) -> None:
    dsn = scratch_server.dsn().replace("dbname=forge", "dbname=no_such_db")
    done = subprocess.run(["psql", dsn, "-X", "-w", "-v", "VERBOSITY=verbose", "-c", "SELECT 1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert 'FATAL:  database "no_such_db" does not exist' in done.stderr


def test_wrong_database_does_not_break_the_server(scratch_server: RunningServer) -> None:
    dsn = scratch_server.dsn().replace("dbname=forge", "dbname=no_such_db")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=10)
    with psycopg.connect(scratch_server.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
