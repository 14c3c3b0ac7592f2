"""Extended query protocol over the fake backend: Parse, Bind, Describe, Execute, Close, Sync.

Expected flows follow the PostgreSQL docs, "53.2.3 Extended Query".
"""

from __future__ import annotations

import asyncio
import re
import struct

import pytest
from frontend import (
    Harness,
    Message,
    bind,
    cancel_request,
    close,
    codes,
    describe,
    execute,
    flush,
    kinds,
    parse,
    query,
    rows,
    statuses,
    sync,
    terminate,
)
from frontend import run as run_scenario

INT4 = 23


def tags(messages: list[Message]) -> list[str]:
    return [msg.fields for msg in messages if msg.type == "C"]


def numbers(messages: list[Message]) -> list[int]:
    return [int(value) for (value,) in rows(messages)]


def test_parse_describe_bind_execute_sync() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(
            parse("SELECT $1"),
            describe("S"),
            bind(params=(b"7",)),
            describe("P"),
            execute(),
            sync(),
        )
        out = await client.until_ready()
        assert kinds(out) == "1tT2TDCZ"
        assert out[1].fields == (INT4,)
        assert out[2].fields == [("?column?", INT4, 0)] == out[4].fields
        assert rows(out) == [(b"7",)]
        assert tags(out) == ["SELECT 1"] and statuses(out) == "I"

    run_scenario(scenario)


def test_describe_statement_without_rows() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("INSERT", "ins"), describe("S", "ins"), bind("", "ins"), describe("P"))
        client.send(execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "1tn2nCZ" and out[1].fields == ()
        assert tags(out) == ["INSERT 0 1"]

    run_scenario(scenario)


def test_client_parameter_types_are_kept() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(
            parse("SELECT $1", "s", (20,)), describe("S", "s"), parse("SELECT $1", oids=(0,))
        )
        client.send(describe("S"), sync())
        out = await client.until_ready()
        assert kinds(out) == "1tT1tTZ"
        assert (out[1].fields, out[4].fields) == ((20,), (INT4,))

    run_scenario(scenario)


def test_binary_parameter_and_result_formats() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        five = struct.pack("!i", 5)
        client.send(
            parse("SELECT $1"), bind(params=(five,), param_formats=(1,), result_formats=(1,))
        )
        client.send(describe("P"), execute(), bind(params=(None,)), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "12TDC2DCZ"
        assert out[2].fields == [("?column?", INT4, 1)]
        assert rows(out) == [(five,), (None,)]

    run_scenario(scenario)


def test_bad_parameter_values_are_errors_not_fatal() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT $1", "s"), bind("", "s", (b"123",), (1,)), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "1EZ" and codes(out) == ["22P03"]  # int4 needs 4 bytes
        client.send(bind("", "s", (b"x1",)), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "2EZ" and codes(out) == ["22P02"]
        assert out[1].fields["S"] == "ERROR"

    run_scenario(scenario)


def test_named_statements_and_portals() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 2", "s1"), parse("SELECT 3", "s2"), sync())
        assert kinds(await client.until_ready()) == "11Z"
        client.send(bind("", "s2"), bind("p", "s1"), execute("p"), execute(""), sync())
        out = await client.until_ready()
        assert kinds(out) == "22DDCDDDCZ"
        assert numbers(out) == [1, 2, 1, 2, 3]

    run_scenario(scenario)


def test_unnamed_statement_is_replaced_by_the_next_parse() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 1"), parse("SELECT 2"), bind(), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "112DDCZ"

    run_scenario(scenario)


def test_unnamed_statement_survives_sync() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 2"), sync())
        await client.until_ready()
        client.send(bind(), execute(), sync())
        assert kinds(await client.until_ready()) == "2DDCZ"

    run_scenario(scenario)


def test_duplicate_named_statement_is_42p05() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 1", "s"), sync())
        await client.until_ready()
        client.send(parse("SELECT 3", "s"), bind("", "s"), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "EZ" and codes(out) == ["42P05"]
        assert out[0].fields["M"] == 'prepared statement "s" already exists'
        client.send(bind("", "s"), execute(), sync())
        assert kinds(await client.until_ready()) == "2DCZ"  # still the first one

    run_scenario(scenario)


def test_duplicate_named_portal_is_42p03() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 1"), bind("p"), bind("p"), execute("p"), sync())
        out = await client.until_ready()
        assert kinds(out) == "12EZ" and codes(out) == ["42P03"]
        assert out[2].fields["M"] == 'cursor "p" already exists'

    run_scenario(scenario)


@pytest.mark.parametrize(
    ("messages", "expected", "code"),
    [
        ([bind(statement="nope"), execute()], "EZ", "26000"),
        ([describe("S", "nope")], "EZ", "26000"),
        ([describe("P", "nope")], "EZ", "34000"),
        ([execute("nope")], "EZ", "34000"),
        ([parse("bogus words")], "EZ", "42601"),
        ([parse("FAIL"), bind(), execute()], "12EZ", "42601"),
    ],
    ids=["bind", "describe-s", "describe-p", "execute", "parse", "execute-fails"],
)
def test_errors_are_sqlstates(messages: list[bytes], expected: str, code: str) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(*messages, sync())
        out = await client.until_ready()
        assert kinds(out) == expected and codes(out) == [code]
        assert out[-2].fields["S"] == "ERROR" and statuses(out) == "I"

    run_scenario(scenario)


def test_after_an_error_everything_until_sync_is_skipped() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(
            parse("SELECT 1"),
            bind(statement="nope"),
            parse("SELECT 2", "s"),
            bind("", "s"),
            describe("P"),
            execute(),
            flush(),
            query("SELECT 1"),
            close("S"),
            sync(),
            bind(),
            execute(),
            sync(),
        )
        out = await client.until_ready(2)
        assert kinds(out) == "1EZ" + "2DCZ"  # 's' was never created: Bind "" used SELECT 1
        assert codes(out) == ["26000"] and statuses(out) == "II"
        assert h.backend.results[0].closed and len(h.backend.results) == 1

    run_scenario(scenario)


def test_error_is_sent_before_the_sync_arrives() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("bogus words"))
        assert kinds(await client.take(1)) == "E"
        client.send(execute(), sync())
        assert kinds(await client.until_ready()) == "Z"

    run_scenario(scenario)


def test_error_while_streaming_drops_the_portal() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(query("BEGIN"))
        await client.until_ready()
        client.send(parse("ERRMID 5"), bind("p"), execute("p"), sync())
        out = await client.until_ready()
        assert re.fullmatch("12D*EZ", kinds(out)) and codes(out) == ["22012"]
        assert statuses(out) == "E"
        assert h.backend.results[-1].closed
        client.send(query("ROLLBACK"))
        assert statuses(await client.until_ready()) == "I"

    run_scenario(scenario)


def test_extended_transaction_status() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        seen = []
        for sql in ["BEGIN", "SELECT 1", "FAIL", "SELECT 1", "COMMIT", "BEGIN", "ROLLBACK"]:
            client.send(parse(sql), bind(), execute(), sync())
            out = await client.until_ready()
            seen.append((kinds(out), statuses(out), codes(out), tags(out)))
        assert seen == [
            ("12CZ", "T", [], ["BEGIN"]),
            ("12DCZ", "T", [], ["SELECT 1"]),
            ("12EZ", "E", ["42601"], []),
            ("12EZ", "E", ["25P02"], []),
            ("12CZ", "I", [], ["ROLLBACK"]),
            ("12CZ", "T", [], ["BEGIN"]),
            ("12CZ", "I", [], ["ROLLBACK"]),
        ]

    run_scenario(scenario)


# --- row limits ---------------------------------------------------------------------------


def test_row_limit_suspends_then_resumes() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 7"), bind(), execute("", 3), execute("", 3), execute("", 3))
        client.send(sync())
        out = await client.until_ready()
        assert kinds(out) == "12" + "DDDs" + "DDDs" + "DC" + "Z"
        assert numbers(out) == [1, 2, 3, 4, 5, 6, 7]
        assert tags(out)[0].startswith("SELECT ")

    run_scenario(scenario)


def test_row_limit_then_the_rest() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 6"), bind(), execute("", 1), execute("", 0), sync())
        out = await client.until_ready()
        assert kinds(out) == "12Ds" + "DDDDDC" + "Z"
        assert numbers(out) == [1, 2, 3, 4, 5, 6]

    run_scenario(scenario)


@pytest.mark.parametrize("limit", [100, -1])
def test_row_limit_beyond_the_rows_or_negative_runs_to_completion(limit: int) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 3"), bind(), execute("", limit), sync())
        out = await client.until_ready()
        assert kinds(out) == "12DDDCZ" and tags(out) == ["SELECT 3"]

    run_scenario(scenario)


def test_row_limit_that_fits_exactly() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 4"), bind(), *[execute("", 2)] * 3, sync())
        out = await client.until_ready()
        # PostgreSQL suspends when the limit is reached even if no rows remain; completing at
        # once is also allowed. Either way an exhausted portal then completes with no rows.
        assert re.fullmatch("12DDsDD(sC|CC)Z", kinds(out)), kinds(out)
        assert numbers(out) == [1, 2, 3, 4] and tags(out)[-1] == "SELECT 0"

    run_scenario(scenario)


def test_large_result_across_chunks_and_flushes() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        # 100000 rows span two session chunks (65536 rows) and many 256 KiB flushes.
        client.send(parse("SELECT 100000"), bind(), execute("", 70000), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "12" + "D" * 70000 + "s" + "D" * 30000 + "CZ"
        assert numbers(out) == list(range(1, 100001))

    run_scenario(scenario)


def test_row_limit_ignored_without_rows() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("INSERT"), bind(), execute("", 1), sync())
        assert kinds(await client.until_ready()) == "12CZ"

    run_scenario(scenario)


def test_completed_portal_executes_again_with_no_rows() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 2"), bind(), execute(), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "12DDCCZ" and tags(out) == ["SELECT 2", "SELECT 0"]

    run_scenario(scenario)


def test_rebinding_the_unnamed_portal_closes_the_old_one() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 5"), bind(), execute("", 1), bind(), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "12Ds2DDDDDCZ" and numbers(out) == [1, 1, 2, 3, 4, 5]
        assert [result.closed for result in h.backend.results] == [True, True]

    run_scenario(scenario)


# --- Close, Flush, pipelining -------------------------------------------------------------


def test_close_statement_and_portal() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(query("BEGIN"))
        await client.until_ready()
        client.send(parse("SELECT 3", "s"), bind("p", "s"), execute("p", 1))
        client.send(close("S", "s"), close("S", "never"), close("P", "never"))
        client.send(execute("p", 1), close("P", "p"), sync())
        out = await client.until_ready()
        # A portal outlives the statement it was bound from.
        assert kinds(out) == "12Ds333Ds3Z" and numbers(out) == [1, 2]
        assert h.backend.results[0].closed
        client.send(execute("p"), sync())
        assert codes(await client.until_ready()) == ["34000"]
        client.send(bind("q", "s"), sync())
        assert codes(await client.until_ready()) == ["26000"]

    run_scenario(scenario)


def test_flush_sends_buffered_output_without_ready_for_query() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 2"), bind(), execute(), flush())
        assert kinds(await client.take(5)) == "12DDC"
        client.send(sync(), query("SELECT 1"))
        out = await client.until_ready(2)
        assert kinds(out) == "Z" + "TDCZ"  # the Flush produced no ReadyForQuery of its own

    run_scenario(scenario)


def test_pipelined_pairs_before_one_sync() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        counts = [k % 4 for k in range(40)]
        for count in counts:
            client.send(parse(f"SELECT {count}"), bind(), execute())
        client.send(sync())
        out = await client.until_ready()
        assert kinds(out) == "".join("12" + "D" * count + "C" for count in counts) + "Z"
        assert tags(out) == [f"SELECT {count}" for count in counts]

    run_scenario(scenario)


def test_pipelined_named_statements_and_syncs() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        for k in range(10):
            client.send(parse(f"SELECT {k % 3}", f"s{k}"), describe("S", f"s{k}"))
            client.send(bind(f"p{k}", f"s{k}"), execute(f"p{k}"), sync())
        out = await client.until_ready(10)
        expected = "".join("1tT2" + "D" * (k % 3) + "CZ" for k in range(10))
        assert kinds(out) == expected and statuses(out) == "I" * 10

    run_scenario(scenario)


# --- portal lifetime ----------------------------------------------------------------------


@pytest.mark.parametrize("portal", ["", "p"])
def test_portals_are_dropped_at_sync_outside_a_transaction(portal: str) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 5"), bind(portal), execute(portal, 2), sync())
        out = await client.until_ready()
        assert kinds(out) == "12DDsZ" and statuses(out) == "I"
        assert h.backend.results[0].closed
        client.send(execute(portal), sync())
        out = await client.until_ready()
        assert kinds(out) == "EZ" and codes(out) == ["34000"]

    run_scenario(scenario)


@pytest.mark.parametrize("portal", ["", "p"])
def test_portal_survives_sync_inside_a_transaction(portal: str) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(query("BEGIN"))
        await client.until_ready()
        client.send(parse("SELECT 5"), bind(portal), execute(portal, 2), sync())
        out = await client.until_ready()
        assert kinds(out) == "12DDsZ" and statuses(out) == "T"
        client.send(execute(portal, 0), sync())
        out = await client.until_ready()
        assert kinds(out) == "DDDCZ" and numbers(out) == [3, 4, 5] and statuses(out) == "T"
        client.send(query("COMMIT"))
        assert statuses(await client.until_ready()) == "I"

    run_scenario(scenario)


def test_portal_in_a_transaction_begun_by_the_extended_protocol() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("BEGIN"), bind(), execute(), parse("SELECT 3", "s"), bind("p", "s"))
        client.send(execute("p", 1), sync())
        out = await client.until_ready()
        assert kinds(out) == "12C12DsZ" and statuses(out) == "T"
        client.send(execute("p"), parse("COMMIT"), bind(), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "DDC12CZ" and statuses(out) == "I"
        client.send(execute("p"), sync())
        assert codes(await client.until_ready()) == ["34000"]

    run_scenario(scenario)


def test_cancel_extended_execute() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SLEEP"), bind(), execute(), sync())
        while not h.backend.sessions:
            await asyncio.sleep(0.01)
        assert await asyncio.to_thread(h.backend.sessions[0].sleeping.wait, 5)
        canceller = await h.connect()
        canceller.send(cancel_request(client.process_id, client.secret_key))
        out = await client.until_ready()
        assert kinds(out) == "12EZ" and codes(out) == ["57014"]

    run_scenario(scenario)


# --- divergences from the protocol docs (see the reasons) ---------------------------------


@pytest.mark.parametrize(
    "bad_bind",
    [
        bind(params=()),  # SELECT $1 needs one parameter
        bind(params=(b"1", b"2")),
        bind(params=(b"1",), result_formats=(0, 0)),  # one result column
        bind(params=(b"1",), param_formats=(0, 0)),  # two formats, one parameter
    ],
    ids=["too-few", "too-many", "result-formats", "param-formats"],
)
def test_bind_count_mismatch_is_an_error_not_fatal(bad_bind: bytes) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT $1"), bad_bind, execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "1EZ" and codes(out) == ["08P01"]
        assert out[1].fields["S"] == "ERROR"
        client.send(bind(params=(b"4",)), execute(), sync())
        assert kinds(await client.until_ready()) == "2DCZ"

    run_scenario(scenario)


def test_simple_query_destroys_the_unnamed_statement() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse("SELECT 1"), sync(), query("SELECT 2"))
        await client.until_ready(2)
        client.send(bind(), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "EZ" and codes(out) == ["26000"]

    run_scenario(scenario)


@pytest.mark.parametrize("portal", ["", "p"])
def test_transaction_end_by_simple_query_destroys_portals(portal: str) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(query("BEGIN"), parse("SELECT 3"), bind(portal), execute(portal, 1), sync())
        assert statuses(await client.until_ready(2)) == "TT"
        client.send(query("COMMIT"))
        assert statuses(await client.until_ready()) == "I"
        client.send(execute(portal), sync())
        out = await client.until_ready()
        assert kinds(out) == "EZ" and codes(out) == ["34000"]

    run_scenario(scenario)


def test_empty_extended_query() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(parse(""), bind(), describe("P"), execute(), sync())
        out = await client.until_ready()
        assert kinds(out) == "12nIZ"

    run_scenario(scenario)


@pytest.mark.parametrize(
    "messages",
    [
        [bind(statement="nope")],
        [execute("nope")],
        [parse("SELECT $1"), bind(params=(b"123",), param_formats=(1,))],
    ],
    ids=["26000", "34000", "22P03"],
)
def test_any_error_fails_the_transaction_block(messages: list[bytes]) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(query("BEGIN; INSERT"), *messages, sync())
        out = await client.until_ready(2)
        assert statuses(out) == "TE"
        client.send(query("COMMIT"))
        assert tags(await client.until_ready()) == ["ROLLBACK"]

    run_scenario(scenario)


def test_terminate_is_honoured_while_awaiting_sync() -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(execute("nope"), terminate(), sync())
        out = await client.until_closed()
        assert kinds(out) == "E" and codes(out) == ["34000"]

    run_scenario(scenario)
