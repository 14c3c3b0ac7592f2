"""DataRow messages for a few rows held as Python values (``Result.take_rows``): the
booleans, integers and strings of a SELECT without FROM, encoded one by one as
PostgreSQL's output and send functions write them, without building Arrow arrays."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from forge_sql.errors import InternalError
from forge_sql.seam import oids
from forge_sql.wire.messages import data_row

TEXT, BINARY = 0, 1


def _text(value: object) -> bytes:
    if isinstance(value, bool):  # before int: bool is an int
        return b"t" if value else b"f"
    if isinstance(value, int | str):
        return str(value).encode()
    raise InternalError(f"unexpected {type(value).__name__} value in a constant row")


def _packer(layout: str) -> Callable[[object], bytes]:
    pack = struct.Struct(layout).pack

    def binary(value: object) -> bytes:
        if not isinstance(value, int):
            raise InternalError(f"unexpected {type(value).__name__} value in a constant row")
        return pack(value)
    return binary


def _string(value: object) -> bytes:
    if not isinstance(value, str):
        raise InternalError(f"unexpected {type(value).__name__} value in a constant row")
    return value.encode()


_BINARY: dict[int, Callable[[object], bytes]] = {
    oids.BOOL: _packer("?"),
    oids.INT2: _packer(">h"),
    oids.INT4: _packer(">i"),
    oids.INT8: _packer(">q"),
    oids.TEXT: _string,
    oids.VARCHAR: _string,
}
ENCODED = frozenset(_BINARY)  # the types encoded here; other results go through Arrow


def encode_values(
    rows: Sequence[tuple[object, ...]], type_oids: Sequence[int], codes: Sequence[int]
) -> bytes:
    """Every row as a DataRow message; each column's type is in ``ENCODED`` and ``codes``
    are its format codes (``rows.result_formats``)."""
    encoders = [_BINARY[oid] if code == BINARY else _text
                for oid, code in zip(type_oids, codes, strict=True)]
    return b"".join([
        data_row([None if value is None else encode(value)
                  for value, encode in zip(row, encoders, strict=True)])
        for row in rows
    ])
