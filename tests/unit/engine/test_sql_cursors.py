"""DECLARE and FETCH/MOVE parsed as PostgreSQL words them; cursor bookkeeping and spills."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from forge_sql import errors
from forge_sql.engine import sql_cursors as cursors
from forge_sql.seam.backend import Column
from forge_sql.sql.statements import classify


@pytest.mark.parametrize(("sql", "name", "query", "hold", "binary"), [
    ("DECLARE c CURSOR FOR SELECT 1", "c", "SELECT 1", False, False),
    ('DECLARE "Big" NO SCROLL CURSOR WITH HOLD FOR SELECT * FROM t', "Big",
     "SELECT * FROM t", True, False),
    ("declare C binary cursor without hold for select $1", "c", "select $1", False, True),
    ("DECLARE c INSENSITIVE CURSOR FOR\n  SELECT 'for'", "c", "SELECT 'for'", False, False),
])
def test_parse_declare(sql: str, name: str, query: str, hold: bool, binary: bool) -> None:
    declare = cursors.parse_declare(classify(sql))
    assert (declare.name, declare.query, declare.hold, declare.binary) == (
        name, query, hold, binary)


def test_scroll_is_refused() -> None:
    with pytest.raises(errors.FeatureNotSupported, match="SCROLL"):
        cursors.parse_declare(classify("DECLARE c SCROLL CURSOR FOR SELECT 1"))


@pytest.mark.parametrize(("sql", "verb", "name", "count"), [
    ("FETCH c", "FETCH", "c", 1),
    ("FETCH NEXT FROM c", "FETCH", "c", 1),
    ("FETCH 10 IN c", "FETCH", "c", 10),
    ("FETCH FORWARD 5 FROM \"My Cursor\"", "FETCH", "My Cursor", 5),
    ("FETCH FORWARD ALL FROM c", "FETCH", "c", cursors.ALL),
    ("FETCH ALL c", "FETCH", "c", cursors.ALL),
    ("MOVE 3 IN c", "MOVE", "c", 3),
    ("fetch forward from C", "FETCH", "c", 1),
])
def test_parse_fetch(sql: str, verb: str, name: str, count: int) -> None:
    assert cursors.parse_fetch(classify(sql)) == cursors.Fetch(verb, name, count)


@pytest.mark.parametrize("sql", ["FETCH PRIOR FROM c", "FETCH BACKWARD 2 FROM c",
                                 "FETCH -1 FROM c", "FETCH LAST FROM c"])
def test_backward_fetch_is_refused(sql: str) -> None:
    with pytest.raises(errors.ObjectNotInPrerequisiteState):
        cursors.parse_fetch(classify(sql))


def _cursor(tmp_path: Path, rows: int, batch: int = 4) -> cursors.Cursor:
    table = pa.table({"a": list(range(rows))})
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(batch))
    return cursors.Cursor("c", (Column("a", 20),), False, reader, tmp_path)


def _noop(flag: bool) -> None:
    pass


def test_fetch_counts_across_batches_and_spill(tmp_path: Path) -> None:
    cursor = _cursor(tmp_path, 10)
    first = cursors.FetchResult(cursor, 3, _noop)
    assert [b.to_pylist() for b in iter(first.next_batch, None)] == [[{"a": 0}, {"a": 1},
                                                                      {"a": 2}]]
    assert first.command_tag() == "FETCH 3"
    cursor.spill(_noop)  # another statement needs the connection
    assert cursor.file is not None and cursor.file.exists() and not cursor.live
    rest = cursors.FetchResult(cursor, cursors.ALL, _noop)
    values = [row["a"] for b in iter(rest.next_batch, None) for row in b.to_pylist()]
    assert values == list(range(3, 10))
    assert rest.command_tag() == "FETCH 7"
    spilled = cursor.file
    cursor.close()
    assert not spilled.exists()


def test_end_transaction_keeps_only_hold_cursors(tmp_path: Path) -> None:
    registry = cursors.Cursors(tmp_path)
    plain = _cursor(tmp_path, 3)
    held = cursors.Cursor("h", plain.columns, True, _cursor(tmp_path, 3).reader, tmp_path)
    registry.add(plain)
    registry.add(held)
    with pytest.raises(errors.DuplicateCursor):
        registry.add(_cursor(tmp_path, 1))
    registry.end_transaction(True, _noop)
    assert list(registry.open) == ["h"] and held.committed and held.file is not None
    registry.end_transaction(False, _noop)  # committed earlier: survives a later rollback
    assert list(registry.open) == ["h"]
    registry.close_all()
    assert registry.open == {} and list(tmp_path.iterdir()) == []


def test_failed_spill_leaves_a_cursor_that_refuses_to_read(tmp_path: Path) -> None:
    schema = pa.schema([("a", pa.int64())])

    def batches() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1, 2])], schema=schema)
        raise OSError("No space left on device")

    reader = pa.RecordBatchReader.from_batches(schema, batches())
    cursor = cursors.Cursor("c", (Column("a", 20),), True, reader, tmp_path)
    with pytest.raises(OSError):
        cursor.spill(_noop)
    assert list(tmp_path.iterdir()) == []  # the partial file is gone
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="could not be kept"):
        cursor.next_batch(cursors.ALL, _noop)
