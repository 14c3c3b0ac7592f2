"""Macros mapping a DuckDB column type (duckdb_columns().data_type) to its PostgreSQL OID.

The map is generated from forge_sql.sql.types.pg_type, so pg_attribute.atttypid always
agrees with the OID RowDescription reports for the same column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from forge_sql.catalog import SCHEMA, literal
from forge_sql.seam import numeric, oids
from forge_sql.sql import types

# Parameterised types are looked up by their bare name; pg_type() needs a full one.
_SAMPLES = {"DECIMAL": "DECIMAL(18,3)", "ENUM": "ENUM('a')"}
_EXTRA = ("JSON", '"NULL"', "UNKNOWN")

# DECIMAL(p,s) -> DECIMAL, ENUM('a','b') -> ENUM, INTEGER[3] -> INTEGER[].
_REPLACEMENTS = (
    (r"^DECIMAL\(\d+,\s*\d+\)", "DECIMAL"),
    (r"^ENUM\(.*\)(\[\d*\])$", r"ENUM\1"),
    (r"^ENUM\(.*\)$", "ENUM"),
    (r"\[\d+\]$", "[]"),
    (r"^(VARCHAR|BPCHAR)\(\d+\)", r"\1"),
)
# Declared string types forge_sql.engine.declared_types records (DuckDB's are VARCHAR).
_DECLARED = {"TEXT": oids.TEXT, "TEXT[]": 1009, "BPCHAR": oids.BPCHAR, "BPCHAR[]": 1014}


def _normalized(expression: str) -> str:
    for pattern, replacement in _REPLACEMENTS:
        expression = f"regexp_replace({expression}, {literal(pattern)}, {literal(replacement)})"
    return expression


def oid_map(duckdb_names: Iterable[str]) -> dict[str, int]:
    """Bare DuckDB type name (and its list type) -> PostgreSQL OID."""
    found: dict[str, int] = {}
    for name in {*duckdb_names, *_EXTRA}:
        sample = _SAMPLES.get(name, name)
        found[name] = types.pg_type(sample)[0]
        found[name + "[]"] = types.pg_type(sample + "[]")[0]
    return found


def definitions(duckdb_names: Iterable[str]) -> Iterator[str]:
    """type_oid(duckdb_type) and type_typmod(duckdb_type); other types are JSON, as in results."""
    pairs = ", ".join(
        f"{literal(name)}: {oid}"
        for name, oid in sorted((oid_map(duckdb_names) | _DECLARED).items())
    )
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.type_oid(t) AS "
        f"COALESCE((MAP {{{pairs}}})[{_normalized('t')}], {oids.JSON})"
    )
    # PostgreSQL's numeric typmod: ((precision << 16) | scale) + VARHDRSZ; the
    # unconstrained numeric (forge_sql.seam.numeric) has none, as in results.
    yield (
        f"CREATE OR REPLACE MACRO {SCHEMA}.type_typmod(t) AS CASE "
        r"WHEN regexp_matches(t, '^(VARCHAR|BPCHAR)\(\d+\)') THEN "
        r"regexp_extract(t, '^[A-Z]+\((\d+)\)', 1)::INTEGER + 4 "
        f"WHEN regexp_matches(t, '^DECIMAL\\({numeric.PRECISION},\\s*\\d+\\)$') "
        f"AND regexp_extract(t, ',\\s*(\\d+)\\)$', 1)::INTEGER >= {numeric.SCALE} THEN -1 "
        r"WHEN regexp_matches(t, '^DECIMAL\(\d+,\s*\d+\)$') THEN "
        r"(regexp_extract(t, '^DECIMAL\((\d+)', 1)::INTEGER * 65536 "
        r"+ regexp_extract(t, ',\s*(\d+)\)$', 1)::INTEGER + 4) "
        "ELSE -1 END"
    )
