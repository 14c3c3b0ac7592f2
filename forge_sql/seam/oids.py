"""PostgreSQL built-in type OIDs (src/include/catalog/pg_type.dat) used on the wire.

Clients such as node-postgres and pgjdbc parse values by these OIDs, so they must be the
real PostgreSQL numbers.
"""

from __future__ import annotations

from typing import NamedTuple

BOOL = 16
BYTEA = 17
CHAR = 18
NAME = 19
INT8 = 20
INT2 = 21
INT4 = 23
REGPROC = 24
TEXT = 25
OID = 26
JSON = 114
FLOAT4 = 700
FLOAT8 = 701
UNKNOWN = 705
BPCHAR = 1042
VARCHAR = 1043
DATE = 1082
TIME = 1083
TIMESTAMP = 1114
TIMESTAMPTZ = 1184
INTERVAL = 1186
TIMETZ = 1266
NUMERIC = 1700
UUID = 2950
JSONB = 3802

BOOL_ARRAY = 1000
BYTEA_ARRAY = 1001
CHAR_ARRAY = 1002
NAME_ARRAY = 1003
INT2_ARRAY = 1005
INT4_ARRAY = 1007
TEXT_ARRAY = 1009
BPCHAR_ARRAY = 1014
VARCHAR_ARRAY = 1015
INT8_ARRAY = 1016
FLOAT4_ARRAY = 1021
FLOAT8_ARRAY = 1022
OID_ARRAY = 1028
TIMESTAMP_ARRAY = 1115
DATE_ARRAY = 1182
TIME_ARRAY = 1183
TIMESTAMPTZ_ARRAY = 1185
INTERVAL_ARRAY = 1187
NUMERIC_ARRAY = 1231
TIMETZ_ARRAY = 1270
UUID_ARRAY = 2951
JSON_ARRAY = 199
JSONB_ARRAY = 3807


class TypeInfo(NamedTuple):
    """What RowDescription and the catalog say about a type."""

    oid: int
    name: str
    size: int  # typlen: bytes for fixed-size types, -1 for varlena
    array_oid: int  # 0 when the type has no array type here


TYPES: dict[int, TypeInfo] = {
    t.oid: t
    for t in (
        TypeInfo(BOOL, "bool", 1, BOOL_ARRAY),
        TypeInfo(BYTEA, "bytea", -1, BYTEA_ARRAY),
        TypeInfo(CHAR, "char", 1, CHAR_ARRAY),
        TypeInfo(NAME, "name", 64, NAME_ARRAY),
        TypeInfo(INT8, "int8", 8, INT8_ARRAY),
        TypeInfo(INT2, "int2", 2, INT2_ARRAY),
        TypeInfo(INT4, "int4", 4, INT4_ARRAY),
        TypeInfo(TEXT, "text", -1, TEXT_ARRAY),
        TypeInfo(OID, "oid", 4, OID_ARRAY),
        TypeInfo(JSON, "json", -1, JSON_ARRAY),
        TypeInfo(FLOAT4, "float4", 4, FLOAT4_ARRAY),
        TypeInfo(FLOAT8, "float8", 8, FLOAT8_ARRAY),
        TypeInfo(UNKNOWN, "unknown", -2, 0),
        TypeInfo(BPCHAR, "bpchar", -1, BPCHAR_ARRAY),
        TypeInfo(VARCHAR, "varchar", -1, VARCHAR_ARRAY),
        TypeInfo(DATE, "date", 4, DATE_ARRAY),
        TypeInfo(TIME, "time", 8, TIME_ARRAY),
        TypeInfo(TIMESTAMP, "timestamp", 8, TIMESTAMP_ARRAY),
        TypeInfo(TIMESTAMPTZ, "timestamptz", 8, TIMESTAMPTZ_ARRAY),
        TypeInfo(INTERVAL, "interval", 16, INTERVAL_ARRAY),
        TypeInfo(TIMETZ, "timetz", 12, TIMETZ_ARRAY),
        TypeInfo(NUMERIC, "numeric", -1, NUMERIC_ARRAY),
        TypeInfo(UUID, "uuid", 16, UUID_ARRAY),
        TypeInfo(JSONB, "jsonb", -1, JSONB_ARRAY),
    )
}

ELEMENT_OF: dict[int, int] = {t.array_oid: t.oid for t in TYPES.values() if t.array_oid}
ARRAY_OF: dict[int, int] = {t.oid: t.array_oid for t in TYPES.values() if t.array_oid}

for _array_oid, _element_oid in ELEMENT_OF.items():
    TYPES[_array_oid] = TypeInfo(_array_oid, "_" + TYPES[_element_oid].name, -1, 0)


def type_size(oid: int) -> int:
    """typlen of ``oid`` for RowDescription; -1 (variable) for types not listed."""
    info = TYPES.get(oid)
    return info.size if info else -1


# Sizes of the binary send format of fixed-size types: their typlen, except name, which
# is sent as text.
SEND_WIDTHS: dict[int, int] = {
    oid: info.size for oid, info in TYPES.items() if info.size > 0 and oid != NAME
}
