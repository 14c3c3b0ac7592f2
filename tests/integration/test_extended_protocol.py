"""Well-formed extended-query flows over raw sockets ("55.2.3 Extended Query"): Flush,
Execute with a row limit and PortalSuspended, and the tags that follow."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
import rawclient
from rawclient import RawConnection
from server import RunningServer


@pytest.fixture
def session(server: RunningServer) -> Iterator[RawConnection]:
    """A raw connection past startup (ReadyForQuery received)."""
    with rawclient.connect(server.host, server.port) as raw:
        raw.startup()
        yield raw


def test_flush_sends_pending_responses(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT 1", "f1") + rawclient.message(b"H"))
    assert session.read_message() == (b"1", b"")  # ParseComplete without waiting for Sync
    session.send(rawclient.sync())
    assert session.read_until_ready() == [(b"Z", b"I")]


def test_row_limit_and_portal_suspended(session: RawConnection) -> None:
    session.send(rawclient.query("BEGIN"))
    session.read_until_ready()
    session.send(rawclient.parse("SELECT range FROM range(5)", "r")
                 + rawclient.bind("r", "p") + rawclient.execute("p", 2) + rawclient.sync())
    messages = session.read_until_ready()
    assert rawclient.data_rows(messages) == [["0"], ["1"]]
    assert [t for t, _ in messages][-2:] == [b"s", b"Z"]  # PortalSuspended
    session.send(rawclient.execute("p", 2) + rawclient.execute("p", 0) + rawclient.sync())
    messages = session.read_until_ready()
    assert rawclient.data_rows(messages) == [["2"], ["3"], ["4"]]
    assert [t for t, _ in messages] == [b"D", b"D", b"s", b"D", b"C", b"Z"]
    assert messages[4][1].startswith(b"SELECT ")
    session.send(rawclient.query("COMMIT"))
    assert session.read_until_ready()[-1] == (b"Z", b"I")


def test_tag_after_portal_suspended_counts_last_execute(session: RawConnection) -> None:
    session.send(rawclient.query("BEGIN"))
    session.read_until_ready()
    session.send(rawclient.parse("SELECT range FROM range(5)", "r")
                 + rawclient.bind("r", "p") + rawclient.execute("p", 4)
                 + rawclient.execute("p", 0) + rawclient.sync())
    messages = session.read_until_ready()
    assert rawclient.data_rows(messages) == [["0"], ["1"], ["2"], ["3"], ["4"]]
    assert [body for t, body in messages if t == b"C"] == [b"SELECT 1\0"]  # pquery.c PortalRun


def _field_types(body: bytes) -> list[tuple[str, int]]:
    """(name, type OID) of each field of a RowDescription."""
    count = struct.unpack("!h", body[:2])[0]
    fields, offset = [], 2
    for _ in range(count):
        end = body.index(b"\0", offset)
        name = body[offset:end].decode()
        oid = struct.unpack("!i", body[end + 7 : end + 11])[0]
        fields.append((name, oid))
        offset = end + 19
    return fields


def test_describe_statement(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT $1::INTEGER AS a, 'x' AS b, $2::DATE AS c", "d")
                 + rawclient.describe(b"S", "d") + rawclient.sync())
    messages = session.read_until_ready()
    assert [t for t, _ in messages] == [b"1", b"t", b"T", b"Z"]
    assert messages[1][1] == struct.pack("!hii", 2, 23, 1082)  # ParameterDescription
    assert _field_types(messages[2][1]) == [("a", 23), ("b", 25), ("c", 1082)]  # text


def test_describe_portal_and_no_data(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT 1 AS one", "q") + rawclient.bind("q", "pq")
                 + rawclient.describe(b"P", "pq") + rawclient.parse("SET TimeZone = 'UTC'", "set")
                 + rawclient.describe(b"S", "set") + rawclient.sync())
    messages = session.read_until_ready()
    assert [t for t, _ in messages] == [b"1", b"2", b"T", b"1", b"t", b"n", b"Z"]
    assert _field_types(messages[2][1]) == [("one", 23)]


def test_close_statement(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT 1", "gone") + rawclient.close(b"S", "gone")
                 + rawclient.close(b"S", "never_existed") + rawclient.sync())
    assert [t for t, _ in session.read_until_ready()] == [b"1", b"3", b"3", b"Z"]
    session.send(rawclient.bind("gone") + rawclient.sync())
    messages = session.read_until_ready()
    assert [e["C"] for e in rawclient.errors_in(messages)] == ["26000"]


def test_empty_statement_in_extended_protocol(session: RawConnection) -> None:
    session.send(rawclient.parse("") + rawclient.bind() + rawclient.execute() + rawclient.sync())
    assert [t for t, _ in session.read_until_ready()] == [b"1", b"2", b"I", b"Z"]


def test_error_only_spoils_its_own_sync_group(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT * FROM no_such_table_e") + rawclient.bind()
                 + rawclient.execute() + rawclient.sync()
                 + rawclient.parse("SELECT 'second'") + rawclient.bind()
                 + rawclient.execute() + rawclient.sync())
    first = session.read_until_ready()
    assert [t for t, _ in first] == [b"E", b"Z"]
    assert rawclient.error_fields(first[0][1])["C"] == "42P01"
    second = session.read_until_ready()
    assert rawclient.data_rows(second) == [["second"]]


def test_unnamed_statement_is_replaced(session: RawConnection) -> None:
    session.send(rawclient.parse("SELECT 1") + rawclient.parse("SELECT 2") + rawclient.bind()
                 + rawclient.execute() + rawclient.sync())
    assert rawclient.data_rows(session.read_until_ready()) == [["2"]]
