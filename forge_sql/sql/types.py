"""DuckDB types as PostgreSQL types: OIDs and typmods for results, DuckDB names for parameters."""

from __future__ import annotations

import re
from functools import lru_cache

from forge_sql.seam import numeric, oids
from forge_sql.seam.backend import Column

_SCALARS: dict[str, int] = {
    "BOOLEAN": oids.BOOL,
    "TINYINT": oids.INT2,
    "SMALLINT": oids.INT2,
    "UTINYINT": oids.INT2,
    "INTEGER": oids.INT4,
    "USMALLINT": oids.INT4,
    "BIGINT": oids.INT8,
    "UINTEGER": oids.INT8,
    "UBIGINT": oids.NUMERIC,
    "HUGEINT": oids.NUMERIC,
    "UHUGEINT": oids.NUMERIC,
    "BIGNUM": oids.NUMERIC,
    "VARINT": oids.NUMERIC,
    "FLOAT": oids.FLOAT4,
    "DOUBLE": oids.FLOAT8,
    "VARCHAR": oids.VARCHAR,
    "BLOB": oids.BYTEA,
    "BIT": oids.VARCHAR,
    "DATE": oids.DATE,
    "TIME": oids.TIME,
    "TIME WITH TIME ZONE": oids.TIME,
    "TIMESTAMP": oids.TIMESTAMP,
    "TIMESTAMP_S": oids.TIMESTAMP,
    "TIMESTAMP_MS": oids.TIMESTAMP,
    "TIMESTAMP_NS": oids.TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": oids.TIMESTAMPTZ,
    "INTERVAL": oids.INTERVAL,
    "UUID": oids.UUID,
    "JSON": oids.JSON,
    "NULL": oids.TEXT,
    "UNKNOWN": oids.TEXT,
    '"NULL"': oids.TEXT,
}


def scalar_oid(duckdb_name: str) -> int | None:
    """The OID for a plain DuckDB type name (``HUGEINT``), None if it is not one."""
    return _SCALARS.get(duckdb_name.upper())


_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_LIST = re.compile(r"(.*)(\[\d*\])$")


@lru_cache(maxsize=1024)
def pg_type(duckdb_type: str) -> tuple[int, int]:
    """(type OID, typmod) that PostgreSQL clients are told for a DuckDB column type."""
    name = duckdb_type.strip()
    if name in _SCALARS:
        return _SCALARS[name], -1
    decimal = _DECIMAL.fullmatch(name)
    if decimal:
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
        if numeric.unconstrained(precision, scale):
            return oids.NUMERIC, -1  # PostgreSQL's numeric without typmod
        # PostgreSQL's numeric typmod: ((precision << 16) | scale) + VARHDRSZ.
        return oids.NUMERIC, ((precision << 16) | scale) + 4
    if name.startswith("ENUM("):
        return oids.VARCHAR, -1
    listed = _LIST.fullmatch(name)
    if listed:
        element = listed.group(1)
        if _LIST.fullmatch(element) is None:
            element_oid, _ = pg_type(element)
            array_oid = oids.ARRAY_OF.get(element_oid)
            if array_oid and element_oid != oids.JSON:
                return array_oid, -1
    # STRUCT, MAP, UNION, nested lists: rendered as JSON text.
    return oids.JSON, -1


_PARAM_TYPES: dict[int, str] = {
    oids.BOOL: "BOOLEAN",
    oids.BYTEA: "BLOB",
    oids.CHAR: "VARCHAR",
    oids.NAME: "VARCHAR",
    oids.INT8: "BIGINT",
    oids.INT2: "SMALLINT",
    oids.INT4: "INTEGER",
    oids.TEXT: "VARCHAR",
    oids.OID: "BIGINT",
    oids.JSON: "JSON",
    oids.JSONB: "JSON",
    oids.FLOAT4: "FLOAT",
    oids.FLOAT8: "DOUBLE",
    oids.BPCHAR: "VARCHAR",
    oids.VARCHAR: "VARCHAR",
    oids.DATE: "DATE",
    oids.TIME: "TIME",
    oids.TIMESTAMP: "TIMESTAMP",
    oids.TIMESTAMPTZ: "TIMESTAMPTZ",
    oids.INTERVAL: "INTERVAL",
    oids.TIMETZ: "TIMETZ",
    # Unconstrained numeric: forge_sql.seam.numeric's DECIMAL(38,10).
    oids.NUMERIC: numeric.DUCKDB_TYPE,
    oids.UUID: "UUID",
}


def duckdb_type(oid: int) -> str | None:
    """The DuckDB type a parameter declared with ``oid`` is cast to, or None if unknown."""
    if oid in _PARAM_TYPES:
        return _PARAM_TYPES[oid]
    element = oids.ELEMENT_OF.get(oid)
    if element is not None and element in _PARAM_TYPES:
        return _PARAM_TYPES[element] + "[]"
    return None


TEXT_TYPMOD = -2
"""``column``'s ``varchar`` for a string expression PostgreSQL types text, not varchar."""


def column(name: str, duckdb_type: str, varchar: int = -1) -> Column:
    """A RowDescription field for a DuckDB result column. A VARCHAR (VARCHAR[]) column is
    announced as varchar (varchar[]) with typmod ``varchar``, or, given TEXT_TYPMOD, as
    text (text[])."""
    oid, typmod = pg_type(duckdb_type)
    if is_string(duckdb_type):
        if varchar == TEXT_TYPMOD:
            oid = oids.TEXT if oid == oids.VARCHAR else oids.TEXT_ARRAY
        elif oid == oids.VARCHAR:
            typmod = varchar
    return Column(name, oid, oids.type_size(oid), typmod)


def is_string(duckdb_type: str) -> bool:
    """Whether PostgreSQL would type the column text or varchar (see ``column``)."""
    return duckdb_type in ("VARCHAR", "VARCHAR[]")
