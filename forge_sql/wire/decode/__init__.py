"""Bind parameter values: wire bytes to Python values the engine can bind.

Text-format values stay strings (the engine casts them to the parameter's type), except
bytea and arrays, whose text syntax is PostgreSQL's own. Binary values are decoded by OID.
"""

from __future__ import annotations

from forge_sql.seam import oids
from forge_sql.wire.decode.binary import decode_binary
from forge_sql.wire.decode.text import decode_utf8, parse_array, parse_bytea


def decode_param(data: bytes | None, type_oid: int, binary: bool) -> object:
    """The Python value of one Bind parameter (``None`` for SQL NULL)."""
    if data is None:
        return None
    if binary:
        return decode_binary(bytes(data), type_oid)
    if type_oid == oids.BYTEA:
        return parse_bytea(bytes(data))
    text = decode_utf8(bytes(data), type_oid)
    if type_oid in oids.ELEMENT_OF:
        element = oids.ELEMENT_OF[type_oid]
        convert = parse_bytea_text if element == oids.BYTEA else None
        return parse_array(text, type_oid, convert)
    return text


def parse_bytea_text(text: str) -> bytes:
    return parse_bytea(text.encode())


__all__ = ["decode_param"]
