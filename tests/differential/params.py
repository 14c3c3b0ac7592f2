"""Parameters as each driver family puts them on the wire: psycopg's own dumpers in text or
binary (typed, strings as OID 0), asyncpg (Parse without types, then binary values encoded by
the described types), pgjdbc with ``stringtype=unspecified``, node-postgres and pg8000 (every
parameter OID 0, text values)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer


class ClientEncodingError(Exception):
    """The driver itself could not encode a value for the type the server described."""


@dataclass(frozen=True)
class Encoded:
    types: Sequence[int] | None
    values: Sequence[bytes | None]
    formats: Sequence[int]


def parse_types(conn: psycopg.Connection, mode: str, values: Sequence[object]) -> list[int] | None:
    """The parameter OIDs the driver puts in Parse (None: none at all, as asyncpg)."""
    if not values:
        return None
    if mode == "asyncpg":
        return None
    if mode == "untyped_text":
        return [0] * len(values)
    return list(_dump(conn, mode, values)[0])


def encode(conn: psycopg.Connection, mode: str, values: Sequence[object],
           described: Sequence[int]) -> Encoded:
    """Values for Bind; ``described`` are the types the server's ParameterDescription gave."""
    if not values:
        return Encoded(None, [], [])
    if mode == "asyncpg":
        return _by_described(conn, values, described)
    types, dumped, formats = _dump(conn, mode, values)
    if mode == "untyped_text":
        return Encoded([0] * len(values), dumped, [0] * len(values))
    return Encoded(types, dumped, formats)


def _dump(conn: psycopg.Connection, mode: str, values: Sequence[object]
          ) -> tuple[list[int], list[bytes | None], list[int]]:
    fmt = PyFormat.BINARY if mode == "psycopg_binary" else PyFormat.TEXT
    tx = Transformer(conn)
    dumped = tx.dump_sequence(values, [fmt] * len(values))
    return ([int(t) for t in tx.types or ()], [None if d is None else bytes(d) for d in dumped],
            [int(f) for f in tx.formats or ()])


def _by_described(conn: psycopg.Connection, values: Sequence[object],
                  described: Sequence[int]) -> Encoded:
    """asyncpg encodes each argument with the codec of the described type: a value that does
    not fit it (a str for int4) fails in the client, before anything is sent."""
    if len(values) != len(described):
        raise ClientEncodingError(f"{len(values)} arguments, {len(described)} described")
    out: list[bytes | None] = []
    for value, oid in zip(values, described, strict=True):
        if value is None:
            out.append(None)
            continue
        try:
            dumper_class = conn.adapters.get_dumper_by_oid(oid, pq.Format.BINARY)
            dumper = dumper_class(type(value), conn)
            data = dumper.dump(value)
            out.append(None if data is None else bytes(data))
        except Exception as error:
            raise ClientEncodingError(f"{type(value).__name__} for type OID {oid}: {error}") \
                from error
    return Encoded(list(described), out, [1] * len(values))
