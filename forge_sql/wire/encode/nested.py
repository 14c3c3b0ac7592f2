"""JSON text of struct, map, nested-list and list-of-struct values (sent with the json OID).

These are rare in bulk results, so each value is rendered in Python. Scalars inside use
JSON types where they exist and PostgreSQL's text otherwise (dates, intervals, bytea).
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import uuid

import pyarrow as pa


def json_text(array: pa.Array) -> pa.Array:
    values = array.to_pylist()  # maps come as lists of (key, value) pairs
    return pa.array(
        [None if v is None else _dump(v, array.type).encode() for v in values], pa.binary()
    )


def _dump(value: object, typ: pa.DataType) -> str:
    if value is None:
        return "null"
    if pa.types.is_map(typ):
        pairs = list(value.items()) if isinstance(value, dict) else value
        assert isinstance(pairs, list)
        return (
            "{"
            + ", ".join(f"{json.dumps(_key(k))}: {_dump(v, typ.item_type)}" for k, v in pairs)
            + "}"
        )
    if pa.types.is_struct(typ):
        assert isinstance(value, dict)
        fields = {typ.field(i).name: typ.field(i).type for i in range(typ.num_fields)}
        return (
            "{"
            + ", ".join(f"{json.dumps(k)}: {_dump(v, fields[k])}" for k, v in value.items())
            + "}"
        )
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        assert isinstance(value, list)
        return "[" + ", ".join(_dump(v, typ.value_type) for v in value) + "]"
    if pa.types.is_dictionary(typ):
        return _dump(value, typ.value_type)
    return _scalar(value)


def _key(key: object) -> str:
    return key if isinstance(key, str) else _scalar(key).strip('"')


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return json.dumps("\\x" + value.hex())
    if isinstance(value, datetime.datetime):
        return json.dumps(value.isoformat(sep=" "))
    if isinstance(value, datetime.date | datetime.time | uuid.UUID):
        return json.dumps(str(value))
    return json.dumps(str(value))
