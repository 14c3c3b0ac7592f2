"""Property tests: whatever a client sends, the session answers by the protocol or closes.

Random bytes must end in normal answers or an ErrorResponse and a close, never a crash;
random extended-query pipelines must answer each message in order ("53.2.3 Extended
Query"), skip to Sync after an error and give exactly one ReadyForQuery per Sync.
"""

from __future__ import annotations

from frontend import (
    Harness,
    Message,
    bind,
    close,
    describe,
    execute,
    flush,
    kinds,
    message,
    parse,
    query,
    sync,
)
from frontend import run as run_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- random bytes -------------------------------------------------------------------------

_frames = st.builds(
    lambda code, body: message(bytes([code]), body),
    st.sampled_from(b"QPBDECSHFdcfp?\x00"),
    st.binary(max_size=24),
)
_valid = st.sampled_from(
    [
        parse("SELECT 2"),
        parse("SELECT 1", "s"),
        bind(),
        bind("p", "s"),
        execute(),
        execute("p", 1),
        describe("P"),
        sync(),
        flush(),
        query("SELECT 1"),
        query("BEGIN"),
        query(""),
    ]
)
_garbage = st.lists(st.one_of(st.binary(min_size=1, max_size=40), _frames, _valid), max_size=6)


@FAST
@given(_garbage)
def test_random_bytes_after_startup_never_crash_the_server(chunks: list[bytes]) -> None:
    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(b"".join(chunks))
        client.writer.write_eof()
        out = await client.until_closed()  # every answer is a well-framed message
        errors = [msg.fields for msg in out if msg.type == "E"]
        assert all(error["S"] in ("ERROR", "FATAL") for error in errors)
        assert not any(error["C"] == "XX000" for error in errors), errors
        fatal = [
            index for index, msg in enumerate(out) if msg.type == "E" and msg.fields["S"] == "FATAL"
        ]
        assert fatal in ([], [len(out) - 1])  # a FATAL error is the last word
        fresh = await h.session()
        assert kinds(await fresh.simple("SELECT 1")) == "TDCZ"

    run_scenario(scenario)


# --- random extended-query pipelines ------------------------------------------------------

_names = st.sampled_from(["", "a", "b"])
_sql = st.sampled_from(
    [
        "SELECT 3",
        "SELECT 0",
        "INSERT",
        "",
        "FAIL",
        "bogus",
        "ERRMID 3",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
    ]
)
# (kind, bytes): kind says which answer the message must get, see _check_segment.
_op = st.one_of(
    st.builds(lambda name, sql: ("P", parse(sql, name)), _names, _sql),
    st.builds(
        lambda portal, name, fmt: ("B", bind(portal, name, result_formats=fmt)),
        _names,
        st.sampled_from(["", "a", "b", "missing"]),
        st.sampled_from([(), (0,), (1,)]),
    ),
    st.builds(lambda kind, name: ("D" + kind, describe(kind, name)), st.sampled_from("SP"), _names),
    st.builds(
        lambda portal, limit: ("E", execute(portal, limit)), _names, st.sampled_from([0, 1, 2])
    ),
    st.builds(lambda kind, name: ("C", close(kind, name)), st.sampled_from("SP"), _names),
    st.just(("S", sync())),
    st.just(("H", flush())),
)
_SESSION_CODES = {"26000", "34000", "42P05", "42P03"}  # raised by the session, not the backend


def _check_segment(ops: list[str], out: list[Message]) -> None:
    """``out`` answers ``ops`` (one Sync's worth) in order, up to an error, which ends it."""
    answer = kinds(out)
    pos = 0

    def take(allowed: str) -> None:
        nonlocal pos
        assert pos < len(answer) and answer[pos] in allowed, (ops, answer, pos, allowed)
        pos += 1

    for op in ops:
        if op == "H":
            continue
        if answer[pos : pos + 1] == "E":
            break
        if op in "PBC":
            take({"P": "1", "B": "2", "C": "3"}[op] + "E")
        elif op == "DS":
            take("tE")
            if answer[pos - 1] == "t":
                take("Tn")
        elif op == "DP":
            take("TnE")
        elif op == "E":
            while answer[pos : pos + 1] == "D":
                pos += 1
            take("CsIE")
    assert answer[pos:] in ("", "E"), (ops, answer, pos)


def _check_status(before: str, out: list[Message], after: str) -> None:
    """ReadyForQuery's status follows from the tags and errors of the segment."""
    status = before
    for msg in out:
        if msg.type == "C" and msg.fields == "BEGIN":
            assert status != "E"
            status = "T"
        elif msg.type == "C" and msg.fields in ("COMMIT", "ROLLBACK"):
            assert msg.fields == "ROLLBACK" or status != "E"
            status = "I"
        elif msg.type == "E" and status == "T":
            # Errors the session raises itself do not fail the block (see
            # test_any_error_fails_the_transaction_block); the backend's errors do.
            status = "TE" if msg.fields["C"] in _SESSION_CODES else "E"
    assert after in status, (before, kinds(out), after)


@FAST
@given(st.lists(_op, max_size=30))
def test_random_extended_pipelines_answer_in_order(ops: list[tuple[str, bytes]]) -> None:
    ops = [*ops, ("S", sync())]
    syncs = sum(kind == "S" for kind, _ in ops)

    async def scenario(h: Harness) -> None:
        client = await h.session()
        client.send(*(data for _, data in ops))
        out = await client.until_ready(syncs)
        assert kinds(out).count("Z") == syncs  # and nothing is left over: see below
        segments: list[list[Message]] = [[]]
        for msg in out:
            segments[-1].append(msg)
            if msg.type == "Z":
                segments.append([])
        kinds_per_sync: list[list[str]] = [[]]
        for kind, _ in ops:
            if kind == "S":
                kinds_per_sync.append([])
            else:
                kinds_per_sync[-1].append(kind)
        status = "I"
        assert segments.pop() == [] and kinds_per_sync.pop() == []
        for segment_ops, segment in zip(kinds_per_sync, segments, strict=True):
            _check_segment(segment_ops, segment[:-1])
            _check_status(status, segment[:-1], segment[-1].fields)
            status = segment[-1].fields
        # The session is still consistent: it runs queries, and once the transaction is
        # over and a Sync has passed, no backend result is left open.
        assert kinds(await client.simple("ROLLBACK")) == "CZ"
        client.send(sync())
        assert kinds(await client.until_ready()) == "Z"
        assert kinds(await client.simple("SELECT 2")) == "TDDCZ"
        assert all(result.closed for result in h.backend.results)
        assert len(h.server.sessions) == 1

    run_scenario(scenario)
