"""Connection slots reserved for superusers, authentication_timeout, the idle-session timeouts
and message size limits, against a real server with few slots."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import ExitStack

import asyncpg
import psycopg
import pytest
import rawclient
from server import RunningServer, start_server

from forge_sql.wire.auth import make_verifier

PASSWORD = "s3cret"
MAX_CONNECTIONS = 5
RESERVED = 2
MAX_MESSAGE = 1 << 20


@pytest.fixture(scope="module")
def few_slots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    verifier = make_verifier(PASSWORD)
    config = (
        f"max_connections = {MAX_CONNECTIONS}\n"
        f"superuser_reserved_connections = {RESERVED}\n"
        "authentication_timeout = 1.0\n"
        f"max_message_size = {MAX_MESSAGE}\n"
        f'[users.admin]\npassword = "{verifier}"\nsuperuser = true\n\n'
        f'[users.app]\npassword = "{verifier}"\n'
    )
    running = start_server(tmp_path_factory.mktemp("slots") / "data", config=config)
    yield running
    log = running.stop()
    assert "Traceback" not in log, log


def _connect(server: RunningServer, user: str, **options: str) -> psycopg.Connection:
    return psycopg.connect(server.dsn(user=user), password=PASSWORD, autocommit=True,
                           connect_timeout=10, **options)


def _refusal(server: RunningServer, user: str) -> asyncpg.PostgresError:
    """The error refusing a login (asyncpg: psycopg gives no SQLSTATE for those)."""

    async def login() -> None:
        conn = await asyncpg.connect(host=server.host, port=server.port, user=user,
                                     password=PASSWORD, database="forge", timeout=10)
        await conn.close()

    with pytest.raises(asyncpg.PostgresError) as info:
        asyncio.run(login())
    return info.value


def test_reserved_slots_keep_superusers_in(few_slots: RunningServer) -> None:
    with ExitStack() as stack:
        for _ in range(MAX_CONNECTIONS - RESERVED):
            stack.enter_context(_connect(few_slots, "app"))
        refused = _refusal(few_slots, "app")
        assert refused.sqlstate == "53300"
        assert "reserved for roles with the SUPERUSER attribute" in str(refused)
        with pytest.raises(psycopg.OperationalError, match="reserved for roles with the SUPER"):
            _connect(few_slots, "app")
        admins = [stack.enter_context(_connect(few_slots, "admin")) for _ in range(RESERVED)]
        assert [a.execute("SELECT 1").fetchone() for a in admins] == [(1,), (1,)]
        full = _refusal(few_slots, "admin")
        assert full.sqlstate == "53300"
        assert "sorry, too many clients already" in str(full)
    # The slots come back when the sessions end.
    with _connect(few_slots, "app") as conn:
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_unauthenticated_connections_time_out(few_slots: RunningServer) -> None:
    """authentication_timeout (1 s here): a client that never finishes startup is dropped,
    and silent connections hold no slot meanwhile."""
    silent = [socket.create_connection((few_slots.host, few_slots.port)) for _ in range(10)]
    try:
        with _connect(few_slots, "app") as conn:
            assert conn.execute("SELECT 3").fetchone() == (3,)
        started = time.monotonic()
        for sock in silent:
            sock.settimeout(10)
            assert sock.recv(1) == b""  # closed by the server
        assert time.monotonic() - started < 5
    finally:
        for sock in silent:
            sock.close()


def test_idle_session_timeout_closes_with_57P05(few_slots: RunningServer) -> None:
    conn = _connect(few_slots, "app")
    conn.execute("SET idle_session_timeout = 300")
    assert conn.execute("SHOW idle_session_timeout").fetchone() == ("300",)
    time.sleep(1.0)
    with pytest.raises(psycopg.errors.IdleSessionTimeout, match="idle-session timeout"):
        conn.execute("SELECT 1")
    assert conn.closed
    conn.close()


def test_idle_in_transaction_timeout_closes_with_25P03(few_slots: RunningServer) -> None:
    conn = _connect(few_slots, "app")
    conn.execute("SET idle_in_transaction_session_timeout = '300ms'")
    conn.execute("BEGIN")
    conn.execute("SELECT 1")
    time.sleep(1.0)
    with pytest.raises(
        psycopg.errors.IdleInTransactionSessionTimeout, match="idle-in-transaction timeout"
    ):
        conn.execute("SELECT 1")
    assert conn.closed
    conn.close()


def test_idle_timeouts_are_raw_fatal_errors(few_slots: RunningServer) -> None:
    """The exact answer, read off the wire: FATAL with PostgreSQL's SQLSTATE and text."""
    for setting, code, text in (
        ("idle_session_timeout", "57P05", "idle-session timeout"),
        ("idle_in_transaction_session_timeout", "25P03", "idle-in-transaction timeout"),
    ):
        with _raw(few_slots) as raw:
            raw.send(rawclient.query(f"SET {setting} = 200"))
            raw.read_until_ready()
            if code == "25P03":
                raw.send(rawclient.query("BEGIN"))
                raw.read_until_ready()
            started = time.monotonic()
            (error,) = rawclient.errors_in(raw.read_to_close())
            assert time.monotonic() - started < 5
            assert (error["S"], error["C"]) == ("FATAL", code)
            assert text in error["M"]


def test_idle_timeout_off_and_busy_sessions_stay(few_slots: RunningServer) -> None:
    """0 turns it off; a statement running longer than the timeout is not idle."""
    with _connect(few_slots, "app") as conn:
        conn.execute("SET idle_session_timeout = 0")
        time.sleep(0.5)
        conn.execute("SET idle_session_timeout = 400")
        # Busy for longer than the timeout: running is not idle.
        row = conn.execute("SELECT count(*) FROM range(300000000) WHERE range % 7 = 0")
        assert row.fetchone() == (42857143,)
        conn.execute("RESET idle_session_timeout")
        assert conn.execute("SHOW idle_session_timeout").fetchone() == ("0",)
        time.sleep(0.6)
        assert conn.execute("SELECT 4").fetchone() == (4,)


def test_bad_timeout_value_is_refused(few_slots: RunningServer) -> None:
    with _connect(few_slots, "app") as conn, pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("SET idle_session_timeout = 'soon'")


@contextlib.contextmanager
def _raw(server: RunningServer) -> Iterator[rawclient.RawConnection]:
    """The socket of a psycopg session authenticated as ``app`` (SCRAM done by libpq), for
    sending what no driver would."""
    with _connect(server, "app") as conn:
        sock = socket.socket(fileno=conn.pgconn.socket)
        sock.settimeout(rawclient.TIMEOUT)
        try:
            yield rawclient.RawConnection(sock)
        finally:
            sock.detach()  # psycopg closes its own socket


# -- message size limits ---------------------------------------------------------------------


def _frame(type_code: bytes, length: int) -> bytes:
    return type_code + struct.pack("!I", length)


@pytest.mark.parametrize(
    ("type_code", "length", "limit"),
    [
        (b"Q", MAX_MESSAGE + 5, MAX_MESSAGE),  # Query
        (b"P", MAX_MESSAGE + 5, MAX_MESSAGE),  # Parse
        (b"B", MAX_MESSAGE + 5, MAX_MESSAGE),  # Bind
        (b"d", MAX_MESSAGE + 5, MAX_MESSAGE),  # CopyData
        (b"F", MAX_MESSAGE + 5, MAX_MESSAGE),  # FunctionCall
        (b"D", 10005, 10000),  # Describe
        (b"E", 10005, 10000),  # Execute
        (b"C", 10005, 10000),  # Close
        (b"S", 10005, 10000),  # Sync
        (b"H", 10005, 10000),  # Flush
        (b"X", 10005, 10000),  # Terminate
        (b"c", 10005, 10000),  # CopyDone
        (b"f", 10005, 10000),  # CopyFail
        (b"p", 10005, 10000),  # a password message after startup
    ],
)
def test_oversize_messages_are_refused(
    few_slots: RunningServer, type_code: bytes, length: int, limit: int
) -> None:
    with _raw(few_slots) as raw:
        raw.send(_frame(type_code, length) + b"\0" * 64)
        (error,) = rawclient.errors_in(raw.read_to_close())
        assert (error["S"], error["C"]) == ("FATAL", "08P01")
        assert f"invalid message length {length}" in error["M"]
        assert f"{limit} bytes" in error["M"]
    with _connect(few_slots, "app") as conn:  # the server serves others
        assert conn.execute("SELECT 5").fetchone() == (5,)


def test_oversize_startup_packet_is_refused(few_slots: RunningServer) -> None:
    with rawclient.connect(few_slots.host, few_slots.port) as raw:
        raw.send(struct.pack("!i", 20000) + struct.pack("!i", rawclient.PROTOCOL_V3))
        (error,) = rawclient.errors_in(raw.read_to_close())
        assert error["C"] == "08P01" and "startup packet" in error["M"]


def test_oversize_password_message_is_refused(few_slots: RunningServer) -> None:
    with rawclient.connect(few_slots.host, few_slots.port) as raw:
        raw.send(rawclient.startup_packet(user="app"))
        assert raw.read_message() is not None  # AuthenticationSASL
        raw.send(_frame(b"p", 70000))
        (error,) = rawclient.errors_in(raw.read_to_close())
        assert error["C"] == "08P01" and "65535 bytes" in error["M"]


def test_large_query_within_the_limit_runs(few_slots: RunningServer) -> None:
    with _connect(few_slots, "app") as conn:
        literal = "x" * (MAX_MESSAGE - 100)
        assert conn.execute(f"SELECT length('{literal}')").fetchone() == (len(literal),)
