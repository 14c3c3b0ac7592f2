"""The query protocol driven without sockets: frontend message bytes in, backend messages
out, over the fake backend. Counts the worker jobs (``step`` calls) a connection needs."""

from __future__ import annotations

import struct

from fake_backend import FakeBackend, FakeSession
from frontend import (
    Message,
    bind,
    codes,
    decode,
    describe,
    execute,
    flush,
    kinds,
    parse,
    query,
    rows,
    sync,
)

from forge_sql import errors
from forge_sql.seam.backend import StartupInfo
from forge_sql.wire import messages as m
from forge_sql.wire.codec import MessageReader
from forge_sql.wire.protocol import Pause, QueryProtocol


class Driver:
    """One session's protocol; :meth:`send` hands it messages and steps it as the
    connection would, keeping each step's pause and output."""

    def __init__(self, batch_bytes: int = 1 << 20) -> None:
        self.backend = FakeBackend()
        self.db: FakeSession = self.backend.open_session(StartupInfo("alice", "lake"))
        self.protocol = QueryProtocol(self.db, batch_bytes)  # type: ignore[arg-type]
        self.pauses: list[Pause] = []
        self.sizes: list[int] = []  # output bytes of each step

    def send(self, *raw: bytes) -> list[Message]:
        reader = MessageReader()
        reader.feed(b"".join(raw))
        while (framed := reader.next_message()) is not None:
            self.protocol.receive(m.decode_frontend(*framed))
        out = bytearray()
        while True:
            pause = self.protocol.step()
            data = b"".join(bytes(piece) for piece in self.protocol.take_output())
            self.pauses.append(pause)
            self.sizes.append(len(data))
            out += data
            if pause is Pause.INPUT:
                return _messages(bytes(out))
            assert pause is Pause.OUTPUT


def _messages(data: bytes) -> list[Message]:
    found = []
    offset = 0
    while offset < len(data):
        (length,) = struct.unpack_from("!I", data, offset + 1)
        body = data[offset + 5 : offset + 1 + length]
        found.append(decode(chr(data[offset]), body))
        offset += 1 + length
    return found


def test_simple_query_is_one_step() -> None:
    driver = Driver()
    out = driver.send(query("SELECT 1"))
    assert kinds(out) == "TDCZ" and rows(out) == [(b"1",)]
    assert driver.pauses == [Pause.INPUT]
    assert driver.protocol.waiting


def test_prepared_statement_up_to_sync_is_one_step() -> None:
    driver = Driver()
    out = driver.send(parse("SELECT $1"), bind(params=(b"7",)), execute(), sync())
    assert kinds(out) == "12DCZ" and rows(out) == [(b"7",)]
    driver.send(bind(params=(b"8",)), execute(), sync())
    assert driver.pauses == [Pause.INPUT, Pause.INPUT]


def test_nothing_received_nothing_done() -> None:
    driver = Driver()
    assert driver.protocol.step() is Pause.INPUT
    assert driver.protocol.take_output() == []


def test_pipelined_executions_are_one_backend_call() -> None:
    driver = Driver()
    executions = [
        piece
        for value in (b"1", b"2", b"3")
        for piece in (bind(params=(value,)), describe("P"), execute())
    ]
    out = driver.send(parse("INSERT $1"), *executions, sync())
    assert kinds(out) == "1" + "2nC" * 3 + "Z"
    assert driver.db.batches == [3] and driver.db.inserted == [1, 2, 3]
    assert driver.pauses == [Pause.INPUT]


def test_a_run_still_arriving_is_awaited_until_sync() -> None:
    driver = Driver()
    first = [p for v in (b"1", b"2") for p in (bind(params=(v,)), execute())]
    assert kinds(driver.send(parse("INSERT $1"), *first)) == "1"
    assert driver.db.batches == [] and driver.pauses == [Pause.INPUT]
    assert driver.protocol.run_arriving()  # the connection reads on without a step
    rest = [p for v in (b"3", b"4", b"5") for p in (bind(params=(v,)), execute())]
    out = driver.send(*rest)
    assert out == [] and driver.db.batches == []
    out = driver.send(sync())
    assert kinds(out) == "2C" * 5 + "Z"
    assert not driver.protocol.run_arriving()
    assert driver.db.batches == [5] and driver.db.inserted == [1, 2, 3, 4, 5]


def test_pipelined_execution_that_fails_ends_the_run_as_postgresql_does() -> None:
    driver = Driver()
    executions = [
        piece for value in (b"1", b"2", b"x", b"4") for piece in (bind(params=(value,)), execute())
    ]
    out = driver.send(parse("INSERT $1"), *executions, parse("SELECT 1"), sync())
    # The sets before the failure completed, the failing one got BindComplete then the
    # error, everything else up to Sync was skipped.
    assert kinds(out) == "1" + "2C" * 2 + "2E" + "Z"
    assert codes(out) == ["22P02"]
    assert driver.db.batches == [4] and driver.db.inserted == [1, 2]
    out = driver.send(bind(params=(b"5",)), execute(), sync())
    assert kinds(out) == "2CZ"


def test_a_bind_that_does_not_decode_ends_the_run_before_it() -> None:
    driver = Driver()
    bad = bind(params=(b"\x00\x01",), param_formats=(1,))  # 2 bytes for a binary int4
    out = driver.send(
        parse("INSERT $1"), bind(params=(b"1",)), execute(), bind(params=(b"2",)), execute(),
        bad, execute(), sync(),
    )
    assert kinds(out) == "1" + "2C" * 2 + "EZ"
    assert driver.db.batches == [2] and driver.db.inserted == [1, 2]


def test_statements_with_rows_are_not_gathered() -> None:
    driver = Driver()
    out = driver.send(
        parse("SELECT $1"), bind(params=(b"1",)), execute(), bind(params=(b"2",)), execute(),
        sync(),
    )
    assert kinds(out) == "12DC2DCZ" and rows(out) == [(b"1",), (b"2",)]
    assert driver.db.batches == []


def test_large_result_streams_in_bounded_steps() -> None:
    driver = Driver(batch_bytes=4096)
    out = driver.send(query("SELECT 20000"))
    assert len(rows(out)) == 20000 and kinds(out)[-2:] == "CZ"
    # Each step encodes about batch_bytes, or one batch of the result if that is more
    # (the fake's are 5000 rows): four batches, then the end of the result.
    assert driver.pauses == [Pause.OUTPUT] * 4 + [Pause.INPUT]
    assert max(driver.sizes) < 4096 + 5000 * 20


def test_row_limit_suspends_the_portal() -> None:
    driver = Driver()
    out = driver.send(parse("SELECT 5"), bind(), execute(max_rows=2), sync())
    assert kinds(out) == "12DDsZ"
    out = driver.send(parse("SELECT 5"), bind(), execute(max_rows=2), execute(), sync())
    assert kinds(out) == "12DDsDDDCZ"


def test_each_query_is_answered_before_the_next_runs() -> None:
    driver = Driver()
    out = driver.send(query("SELECT 1"), query("SELECT 2"))
    assert kinds(out) == "TDCZTDDCZ"
    assert driver.pauses == [Pause.OUTPUT, Pause.INPUT]


def test_flush_pauses_so_that_the_output_goes_out() -> None:
    driver = Driver()
    out = driver.send(parse("SELECT 1"), flush(), bind(), execute(), sync())
    assert kinds(out) == "12DCZ"
    assert driver.pauses == [Pause.OUTPUT, Pause.INPUT] and driver.sizes[0] > 0


def test_error_skips_to_sync_and_fails_the_block() -> None:
    driver = Driver()
    driver.send(query("BEGIN"))
    out = driver.send(parse("FAIL"), bind(), execute(), sync())
    assert kinds(out) == "12EZ" and codes(out) == ["42601"]
    assert out[-1].fields == "E" and driver.protocol.waiting
    out = driver.send(query("ROLLBACK"))
    assert out[-1].fields == "I"


def test_copy_pauses_for_the_connection_then_completes() -> None:
    driver = Driver()
    driver.protocol.receive(m.Query("COPY; SELECT 1"))
    assert driver.protocol.step() is Pause.COPY
    result = driver.protocol.copy
    assert result is not None and result.copy is not None
    driver.protocol.copy_finished("COPY 3")
    assert driver.protocol.step() is Pause.INPUT
    out = _messages(b"".join(bytes(p) for p in driver.protocol.take_output()))
    assert kinds(out) == "CTDCZ" and out[0].fields == "COPY 3"
    assert driver.protocol.copy is None and result.closed


def test_failed_copy_fails_the_statement() -> None:
    driver = Driver()
    driver.protocol.receive(m.Query("COPY; SELECT 1"))
    assert driver.protocol.step() is Pause.COPY
    driver.protocol.copy_failed(errors.QueryCanceled("COPY from stdin failed: no"))
    assert driver.protocol.step() is Pause.INPUT
    out = _messages(b"".join(bytes(p) for p in driver.protocol.take_output()))
    assert kinds(out) == "EZ" and codes(out) == ["57014"]


def test_close_releases_open_results() -> None:
    driver = Driver()
    driver.send(query("BEGIN"), parse("SELECT 10"), bind("p"), execute("p", 1), sync())
    result = driver.backend.results[-1]
    assert not result.closed
    driver.protocol.close()
    assert result.closed
