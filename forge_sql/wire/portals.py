"""Portals ("53.2.3 Extended Query"): a bound statement, its open result, and its rows
encoded into DataRow messages a chunk at a time, so a large result streams."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from forge_sql import errors
from forge_sql.seam.backend import PreparedStatement, Result
from forge_sql.wire.encode.parts import encode_in_parts
from forge_sql.wire.encode.rows import encode_batch, result_formats
from forge_sql.wire.encode.values import ENCODED, encode_values

MAX_ROWS_PER_CHUNK = 65536  # rows encoded before the output goes out


@dataclass(slots=True)
class Portal:
    """A bound statement (Bind) and, once executed, its open result."""

    statement: PreparedStatement
    params: list[object]
    formats: list[int]  # result format codes as Bind gave them
    result: Result | None = None
    pending: pa.RecordBatch | None = None  # rows fetched but not yet sent (row limits)
    done: bool = False
    suspended: bool = False  # an Execute already stopped at its row limit
    simple: bool = False  # a statement of a simple Query: its result picks the format
    tag: str = ""

    def close(self) -> None:
        if self.result is not None:
            self.result.close()


@dataclass(slots=True)
class Chunk:
    """DataRow messages of one part of a result."""

    data: list[bytes | pa.Buffer] = field(default_factory=list)
    rows: int = 0
    finished: bool = False  # the result has no more rows
    last: bool = False  # this Execute ends with it (the result's end, or the row limit)


def chunks(portal: Portal, max_rows: int, max_bytes: int) -> Iterator[Chunk]:
    """The rows of the portal's open result until its end or ``max_rows`` (0: all), in
    chunks of about ``max_bytes``; marks the portal done (with its tag) or suspended."""
    result = portal.result
    assert result is not None
    sent = 0
    while True:
        budget = MAX_ROWS_PER_CHUNK
        if max_rows > 0:
            budget = min(max_rows - sent, budget)
        chunk = next_chunk(portal, budget, max_bytes)
        sent += chunk.rows
        if chunk.finished:
            portal.done, chunk.last = True, True
            portal.tag = result.command_tag()
            if portal.suspended and portal.tag.startswith("SELECT "):
                # A resumed portal's tag counts the rows of this Execute only.
                portal.tag = f"SELECT {sent}"
            result.close()
        elif 0 < max_rows <= sent:
            portal.suspended, chunk.last = True, True
        yield chunk
        if chunk.last:
            return


def next_chunk(portal: Portal, budget: int, max_bytes: int) -> Chunk:
    """Fetch and encode up to ``budget`` rows of the portal's result, stopping once
    ``max_bytes`` of output are encoded: a session holds at most about two chunks (one
    being written, the next being encoded), whatever the width of its rows.

    Blocks (a worker thread): DuckDB and the Arrow encoders release the GIL.
    """
    result = portal.result
    assert result is not None
    chunk = Chunk()
    if result.columns is None:
        chunk.finished = True
        return chunk
    oids = [c.type_oid for c in result.columns]
    formats = expand_formats(portal.formats, len(oids), "result")
    if budget == MAX_ROWS_PER_CHUNK and portal.pending is None and ENCODED.issuperset(oids):
        rows = result.take_rows(budget)
        if rows is not None:  # a few rows as Python values: no Arrow
            if rows:
                chunk.data.append(encode_values(rows, oids, result_formats(formats, len(oids))))
            chunk.rows, chunk.finished = len(rows), len(rows) < budget
            return chunk
    size = 0
    while chunk.rows < budget and size < max_bytes:
        batch = portal.pending
        portal.pending = None
        if batch is None:
            batch = result.next_batch()
        if batch is None:
            chunk.finished = True
            break
        room = budget - chunk.rows
        if batch.num_rows > room:
            portal.pending = batch.slice(room)
            batch = batch.slice(0, room)
        if batch.num_rows:
            encoded = encode_in_parts(lambda part, _: encode_batch(part, oids, formats), batch)
            chunk.data.extend(encoded)
            size += sum(len(piece) for piece in encoded)
            chunk.rows += batch.num_rows
    if not chunk.finished and portal.pending is None and chunk.rows >= budget:
        # Peek whether more rows exist, so a result that fits exactly completes now.
        batch = result.next_batch()
        if batch is None:
            chunk.finished = True
        else:
            portal.pending = batch
    return chunk


def expand_formats(formats: Sequence[int], count: int, what: str) -> list[int]:
    """Bind's format codes: none means text, one applies to all, else one per column."""
    if not formats:
        return [0] * count
    if len(formats) == 1:
        return [formats[0]] * count
    if len(formats) != count:
        raise errors.ProtocolError(
            f"bind message has {len(formats)} {what} formats but {count} {what}s"
        )
    return list(formats)


def zero_rows(tag: str) -> str:
    """The tag of a finished portal executed again: the same command, no rows."""
    verb, _, rest = tag.rpartition(" ")
    return f"{verb} 0" if rest.isdigit() and verb else tag
