"""Column type changes: which ones DuckLake makes in its catalog alone, and which lose data.

Checked on DuckDB 1.5.5 + DuckLake: ``ALTER COLUMN ... SET DATA TYPE`` accepts only type
promotions (integers to wider integers, floats or wide enough decimals, FLOAT to DOUBLE,
DECIMAL to a wider DECIMAL, DATE to TIMESTAMP) and rewrites no data file. Some of those
promotions are lossy (BIGINT to DOUBLE); every other change needs the data rewritten.
"""

from __future__ import annotations

import re
from enum import Enum

# Decimal digits each integer type needs.
_INT_DIGITS = {
    "TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19, "HUGEINT": 39,
    "UTINYINT": 3, "USMALLINT": 5, "UINTEGER": 10, "UBIGINT": 20,
}
_SIGNED = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_UNSIGNED = ("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
# Mantissa digits that FLOAT and DOUBLE hold exactly.
_FLOAT_DIGITS = {"FLOAT": 7, "DOUBLE": 15}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")


class Promotion(Enum):
    SAME = "same"
    WIDENING = "widening"  # catalog-only, no value can change
    LOSSY = "lossy"  # catalog-only, but values may be rounded (BIGINT -> DOUBLE)
    REWRITE = "rewrite"  # DuckLake refuses it in place: the column's data must be rewritten


def classify(old: str, new: str) -> Promotion:
    old, new = _norm(old), _norm(new)
    if old == new:
        return Promotion.SAME
    if old in _INT_DIGITS:
        return _from_integer(old, new)
    if old == "FLOAT" and new == "DOUBLE":
        return Promotion.WIDENING
    if old == "DATE" and new == "TIMESTAMP":
        return Promotion.WIDENING
    decimal = _DECIMAL.match(old)
    if decimal:
        width, scale = int(decimal[1]), int(decimal[2])
        target = _DECIMAL.match(new)
        if target:
            new_width, new_scale = int(target[1]), int(target[2])
            if new_scale >= scale and new_width - new_scale >= width - scale:
                return Promotion.WIDENING
            return Promotion.REWRITE
        if new in _FLOAT_DIGITS:
            return Promotion.WIDENING if width <= _FLOAT_DIGITS[new] else Promotion.LOSSY
    return Promotion.REWRITE


def _from_integer(old: str, new: str) -> Promotion:
    digits = _INT_DIGITS[old]
    if new in _INT_DIGITS:
        if old in _UNSIGNED and new in _UNSIGNED:
            return Promotion.WIDENING if _INT_DIGITS[new] > digits else Promotion.REWRITE
        if old in _SIGNED and new in _SIGNED:
            return Promotion.WIDENING if _INT_DIGITS[new] > digits else Promotion.REWRITE
        if old in _UNSIGNED and new in _SIGNED:
            return Promotion.WIDENING if _INT_DIGITS[new] > digits else Promotion.REWRITE
        return Promotion.REWRITE  # signed to unsigned: negative values do not fit
    if new in _FLOAT_DIGITS:
        if old == "HUGEINT" or (old == "UBIGINT" and new == "FLOAT"):
            return Promotion.LOSSY
        return Promotion.WIDENING if digits <= _FLOAT_DIGITS[new] else Promotion.LOSSY
    target = _DECIMAL.match(new)
    if target and old != "HUGEINT" and old != "UBIGINT":
        return Promotion.WIDENING if int(target[1]) - int(target[2]) >= digits else (
            Promotion.REWRITE
        )
    return Promotion.REWRITE


# What DuckDB's catalog reports for the types the server keeps beyond it (declaration.py's
# pg_string_or_serial): a serial is its integer, a string of any declared length VARCHAR.
_STORED = {"SERIAL": "INTEGER", "BIGSERIAL": "BIGINT", "SMALLSERIAL": "SMALLINT"}
_STRING_LENGTH = re.compile(r"^(VARCHAR|CHAR)\(\d+\)$")


def _norm(name: str) -> str:
    name = name.upper().replace(" ", "")
    if _STRING_LENGTH.match(name):
        return "VARCHAR"
    return _STORED.get(name, name)
