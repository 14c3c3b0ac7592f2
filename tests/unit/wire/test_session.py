"""Session state machine, startup and simple query, over the fake backend.

Expected message flows are those of the PostgreSQL docs, "53.2 Message Flow".
"""

from __future__ import annotations

import asyncio
import re
import struct

import pytest
from fake_backend import SERVER_PARAMETERS, FakeBackend
from frontend import (
    PROTOCOL_3_2,
    Harness,
    bind,
    codes,
    function_call,
    gssenc_request,
    kinds,
    message,
    query,
    rows,
    ssl_request,
    startup,
    statuses,
    sync,
    terminate,
)
from frontend import cancel_request as cancel_packet
from frontend import run as run_scenario

# --- startup ------------------------------------------------------------------------------


def test_startup_flow() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        out = await client.login(application_name="psql")
        assert kinds(out) == "R" + "S" * (len(SERVER_PARAMETERS) + 2) + "KZ"
        assert out[0].fields == 0  # AuthenticationOk
        reported = dict(msg.fields for msg in out if msg.type == "S")
        assert reported == {
            **SERVER_PARAMETERS,
            "application_name": "psql",
            "session_authorization": "alice",
        }
        pid, key = out[-2].fields
        assert pid in h.server.sessions and len(key) == 4
        assert out[-1].fields == "I"
        info = h.backend.sessions[0].startup
        assert (info.user, info.database, info.process_id) == ("alice", "alice", pid)

    run_scenario(scenario)


def test_startup_options_reach_the_backend() -> None:
    async def scenario(h: Harness) -> None:
        await h.session(database="db1", options=r"-c search_path=s1 --work-mem=4MB -c x=a\ b")
        info = h.backend.sessions[0].startup
        assert info.database == "db1"
        assert dict(info.parameters) == {"search_path": "s1", "work_mem": "4MB", "x": "a b"}

    run_scenario(scenario)


@pytest.mark.parametrize("request_packet", [ssl_request(), gssenc_request()], ids=["ssl", "gss"])
def test_encryption_requests_are_refused_then_startup_proceeds(request_packet: bytes) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        client.send(request_packet)
        assert await client.byte() == b"N"
        out = await client.login()
        assert kinds(out)[0] == "R" and kinds(out)[-2:] == "KZ"

    run_scenario(scenario)


def test_ssl_then_gssenc_requests_both_refused() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        client.send(gssenc_request())
        assert await client.byte() == b"N"
        client.send(ssl_request())
        assert await client.byte() == b"N"
        assert kinds(await client.login())[-1] == "Z"

    run_scenario(scenario)


def test_newer_minor_protocol_is_negotiated_down() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        client.send(startup(protocol=PROTOCOL_3_2))
        out = await client.until_ready()
        assert kinds(out)[:2] == "vR" and kinds(out)[-2:] == "KZ"
        assert out[0].fields == (0, [])

    run_scenario(scenario)


def test_unknown_protocol_options_are_reported() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        client.send(startup(**{"_pq_.x": "1", "_pq_.y": "2"}))
        out = await client.until_ready()
        assert kinds(out)[:2] == "vR"
        assert out[0].fields == (0, ["_pq_.x", "_pq_.y"])

    run_scenario(scenario)


def test_missing_user_is_fatal_28000() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        client.send(startup(user=None, database="db"))
        out = await client.until_closed()
        assert kinds(out) == "E"
        assert (out[0].fields["S"], out[0].fields["V"], out[0].fields["C"]) == (
            "FATAL",
            "FATAL",
            "28000",
        )
        assert not h.backend.sessions

    run_scenario(scenario)


def test_backend_refusal_is_fatal_and_frees_the_slot() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        client.send(startup(database="nodb"))
        out = await client.until_closed()
        assert kinds(out) == "E" and out[0].fields["C"] == "3D000"
        assert out[0].fields["S"] == "FATAL"
        await h.session()  # max_connections=1: the refused session gave its slot back

    run_scenario(scenario, max_connections=1)


def test_too_many_connections_is_fatal_53300() -> None:
    async def scenario(h: Harness) -> None:
        await h.session()
        client = await h.connect()
        client.send(startup())
        out = await client.until_closed()
        assert codes(out) == ["53300"] and out[-1].fields["S"] == "FATAL"

    run_scenario(scenario, max_connections=1)


def test_unsupported_major_protocol_is_fatal_0a000() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        client.send(startup(protocol=4 << 16))
        out = await client.until_closed()
        assert kinds(out) == "E" and out[0].fields["S"] == "FATAL"
        assert out[0].fields["C"] == "0A000"

    run_scenario(scenario)


def test_terminate_closes_the_session() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(terminate())
        assert await client.until_closed() == []
        await _wait_closed(h.backend)
        assert not h.server.sessions

    run_scenario(scenario)


async def _wait_closed(backend: FakeBackend) -> None:
    # The session closes its backend session in a worker thread after the socket closes.
    for _ in range(300):
        if all(session.closed for session in backend.sessions):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("backend session never closed")


# --- cancel -------------------------------------------------------------------------------


async def _send_cancel(h: Harness, process_id: int, key: bytes) -> None:
    """Send a CancelRequest on its own connection; the server closes it once handled."""
    canceller = await h.connect()
    canceller.send(cancel_packet(process_id, key))
    assert await canceller.until_closed() == []


async def _wait_sleeping(h: Harness, index: int = 0) -> None:
    while len(h.backend.sessions) <= index:
        await asyncio.sleep(0.01)
    assert await asyncio.to_thread(h.backend.sessions[index].sleeping.wait, 5)


def test_cancel_request_with_the_right_key_interrupts_the_query() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(query("SLEEP"))
        await _wait_sleeping(h)
        await _send_cancel(h, client.process_id, client.secret_key)
        out = await client.until_ready()
        assert kinds(out) == "EZ" and codes(out) == ["57014"]
        assert out[0].fields["M"] == "canceling statement due to user request"
        assert statuses(out) == "I"
        assert kinds(await client.simple("SELECT 1")) == "TDCZ"

    run_scenario(scenario)


def test_cancel_request_with_a_wrong_key_or_pid_is_ignored() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(query("BEGIN; SLEEP"))
        await _wait_sleeping(h)
        wrong_key = bytes(b ^ 0xFF for b in client.secret_key)
        await _send_cancel(h, client.process_id, wrong_key)
        await _send_cancel(h, client.process_id + 1, client.secret_key)
        # Each CancelRequest was handled before its connection closed: nothing was cancelled.
        assert h.backend.cancels == 0 and h.backend.sessions[0].sleeping.is_set()
        await _send_cancel(h, client.process_id, client.secret_key)
        out = await client.until_ready()
        assert kinds(out) == "CEZ" and codes(out) == ["57014"] and statuses(out) == "E"

    run_scenario(scenario)


def test_cancel_only_reaches_its_own_session() -> None:
    async def scenario(h: Harness) -> None:
        first = await h.session()
        second = await h.session()
        first.send(query("SLEEP"))
        second.send(query("SLEEP"))
        await _wait_sleeping(h, 0)
        await _wait_sleeping(h, 1)
        await _send_cancel(h, second.process_id, second.secret_key)
        assert codes(await second.until_ready()) == ["57014"]
        assert h.backend.sessions[0].sleeping.is_set()
        await _send_cancel(h, first.process_id, first.secret_key)
        assert codes(await first.until_ready()) == ["57014"]

    run_scenario(scenario)


def test_client_disconnect_cancels_the_running_query() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(query("SLEEP"))
        await _wait_sleeping(h)
        client.writer.close()
        await _wait_closed(h.backend)
        assert not h.backend.sessions[0].sleeping.is_set()
        await h.session()

    run_scenario(scenario)


# --- simple query -------------------------------------------------------------------------


def test_simple_query_rows() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        out = await client.simple("SELECT 5")
        assert kinds(out) == "TDDDDDCZ"
        assert out[0].fields == [("n", 23, 0)]
        assert rows(out) == [(b"1",), (b"2",), (b"3",), (b"4",), (b"5",)]
        assert out[-2].fields == "SELECT 5" and statuses(out) == "I"

    run_scenario(scenario)


def test_simple_query_multi_statement() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        out = await client.simple("SELECT 1; INSERT; SELECT 2;")
        assert kinds(out) == "TDC" + "C" + "TDDC" + "Z"
        assert [msg.fields for msg in out if msg.type == "C"] == [
            "SELECT 1",
            "INSERT 0 1",
            "SELECT 2",
        ]

    run_scenario(scenario)


@pytest.mark.parametrize("sql", ["", "   ", ";", " ; ;"])
def test_empty_query(sql: str) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        out = await client.simple(sql)
        assert kinds(out) == "IZ" and statuses(out) == "I"

    run_scenario(scenario)


def test_error_in_second_statement_stops_the_rest() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        out = await client.simple("SELECT 1; FAIL; SELECT 2; INSERT")
        assert kinds(out) == "TDCEZ"
        error = out[3].fields
        assert (error["S"], error["V"], error["C"], error["P"]) == ("ERROR", "ERROR", "42601", "1")
        assert statuses(out) == "I"
        assert kinds(await client.simple("SELECT 1")) == "TDCZ"

    run_scenario(scenario)


def test_syntax_error_anywhere_runs_nothing() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        out = await client.simple("INSERT; bogus words")
        assert kinds(out) == "EZ" and codes(out) == ["42601"]
        assert h.backend.results == []

    run_scenario(scenario)


def test_error_while_streaming_rows() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        out = await client.simple("ERRMID 5; SELECT 1")
        # "53.2.2": the error ends the query string, with no CommandComplete. Whether the
        # RowDescription and rows produced before the error are sent is up to the server.
        assert re.fullmatch("(TD*)?EZ", kinds(out)) and codes(out) == ["22012"]
        assert rows(out) == [(b"1",), (b"2",)][: len(rows(out))]
        assert kinds(await client.simple("SELECT 1")) == "TDCZ"

    run_scenario(scenario)


def test_transaction_status_through_begin_fail_rollback() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        seen = []
        for sql in ["BEGIN", "SELECT 1", "FAIL", "SELECT 1", "COMMIT", "BEGIN", "ROLLBACK"]:
            out = await client.simple(sql)
            seen.append((kinds(out), statuses(out), codes(out)))
        assert seen == [
            ("CZ", "T", []),
            ("TDCZ", "T", []),
            ("EZ", "E", ["42601"]),
            ("EZ", "E", ["25P02"]),
            ("CZ", "I", []),
            ("CZ", "T", []),
            ("CZ", "I", []),
        ]

    run_scenario(scenario)


def test_failed_block_in_one_multi_statement_query() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        out = await client.simple("BEGIN; SELECT 1; FAIL; SELECT 1")
        assert kinds(out) == "CTDCEZ" and statuses(out) == "E"
        out = await client.simple("ROLLBACK; SELECT 1")
        assert kinds(out) == "CTDCZ" and statuses(out) == "I"

    run_scenario(scenario)


def test_parameter_status_and_notice_before_command_complete() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        out = await client.simple("SET application_name = app2")
        assert kinds(out) in ("SCZ", "CSZ")
        assert out[kinds(out).index("S")].fields == ("application_name", "app2")
        out = await client.simple("NOTICE")
        assert kinds(out) == "NCZ" and out[0].fields["M"] == "a notice"
        assert out[0].fields["C"] == "01000"
        assert out[0].fields["S"] == "WARNING"

    run_scenario(scenario)


def test_unexpected_backend_exception_is_xx000_and_the_server_survives() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(query("CRASH"))
        out = await client.until_closed()
        assert codes(out) == ["XX000"]
        await h.session()

    run_scenario(scenario, allow_errors_logged=True)


def test_every_simple_query_result_is_closed() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        await client.simple("SELECT 3; SELECT 1")
        await client.simple("INSERT; BEGIN; COMMIT")
        assert [result.closed for result in h.backend.results] == [True] * 5

    run_scenario(scenario)


def test_result_that_fails_while_streaming_is_closed() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        assert codes(await client.simple("ERRMID 5")) == ["22012"]
        assert [result.closed for result in h.backend.results] == [True]

    run_scenario(scenario)


def test_function_call_is_refused_with_ready_for_query() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.timeout = 0.5  # the bug is a hang: fail it quickly
        client.send(function_call())
        out = await client.until_ready()
        assert kinds(out) == "EZ" and codes(out) == ["0A000"]

    run_scenario(scenario)


def test_query_is_ignored_while_awaiting_sync() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(bind(statement="nope"), query("INSERT"), sync())
        out = await client.until_ready()
        assert kinds(out) == "EZ" and codes(out) == ["26000"]
        assert h.backend.results == []

    run_scenario(scenario)


# --- bad input ----------------------------------------------------------------------------


def _fatal_08p01(out: list) -> None:
    assert kinds(out) == "E", out
    assert (out[0].fields["S"], out[0].fields["C"]) == ("FATAL", "08P01")


def test_unknown_message_type_is_fatal() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(message(b"?", b"xyz"), query("SELECT 1"))
        _fatal_08p01(await client.until_closed())
        await h.session()

    run_scenario(scenario)


def test_oversize_message_is_fatal_without_reading_the_body() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(b"Q" + struct.pack("!I", (1 << 20) + 1))  # no body follows
        _fatal_08p01(await client.until_closed())
        await h.session()

    run_scenario(scenario, max_message_size=1 << 20)


@pytest.mark.parametrize("length", [0, 3])
def test_impossible_message_length_is_fatal(length: int) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(b"S" + struct.pack("!I", length))
        _fatal_08p01(await client.until_closed())

    run_scenario(scenario)


def test_malformed_body_is_fatal() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(message(b"Q", b"SELECT 1"))  # no terminating NUL
        _fatal_08p01(await client.until_closed())

    run_scenario(scenario)


@pytest.mark.parametrize(
    "partial",
    [b"Q", b"Q\x00\x00", b"Q\x00\x00\x00\x20SELECT", b"P\x00\x00\x00\x09ab"],
    ids=["type", "length", "body", "parse"],
)
def test_truncated_message_then_eof_closes_quietly(partial: bytes) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(partial)
        client.writer.write_eof()
        assert await client.until_closed() == []
        await _wait_closed(h.backend)
        assert kinds(await (await h.session()).simple("SELECT 1")) == "TDCZ"

    run_scenario(scenario)


@pytest.mark.parametrize(
    "packet",
    [
        struct.pack("!I", 4),  # shorter than any startup packet
        struct.pack("!I", 20000) + b"x" * 8,  # longer than MAX_STARTUP_PACKET_LENGTH
        struct.pack("!II", 8, 196608),  # no parameters, no terminator
    ],
    ids=["short", "long", "unterminated"],
)
def test_bad_startup_packet_is_refused(packet: bytes) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        client.send(packet)
        out = await client.until_closed()
        assert kinds(out) in ("", "E")
        assert all(msg.fields["S"] == "FATAL" for msg in out)
        await h.session()

    run_scenario(scenario)


def test_eof_during_startup() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.connect()
        client.send(startup()[:7])
        client.writer.write_eof()
        assert await client.until_closed() == []
        await h.session()

    run_scenario(scenario)
