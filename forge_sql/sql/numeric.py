"""numeric without silent digit loss: the rewrite of bare ``numeric`` / ``decimal`` type
names to forge_sql.seam.numeric's DECIMAL(38,10), and the checks of values going into it
(constants in the statement, bound parameters, COPY data).

PostgreSQL's numeric has up to 131072 digits before the point and 16383 after; DuckDB's
DECIMAL 38 in all. A value the server cannot hold exactly is refused with 22003 (numeric
field overflow) and NaN / Infinity, which DECIMAL has no room for, with 0A000, instead of
the rounding or the NULL DuckDB would give.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation

from forge_sql.errors import (
    FeatureNotSupported,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
)
from forge_sql.seam import oids
from forge_sql.seam.numeric import DUCKDB_TYPE, PRECISION, SCALE
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.tokens import Token

_NAMES = frozenset({"NUMERIC", "DECIMAL"})
_CASTS = frozenset({"CAST", "TRY_CAST"})
_DDL = frozenset({"CREATE", "ALTER"})
_COLUMN_STARTS = frozenset({"(", ",", "COLUMN", "ADD"})
_WANTS = re.compile(r"numeric|decimal|[\d.]{39}", re.I)
OVERFLOW = "numeric field overflow"  # PostgreSQL's words (numeric.c, apply_typmod)
NOT_STORED = "numeric NaN and Infinity cannot be stored"


def _edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    ddl = bool(tokens) and tokens[0].upper in _DDL
    for index, token in enumerate(tokens):
        if token.kind == "numeric_const":
            check_literal(token.text)
        elif token.upper in _NAMES and token.kind == "keyword" and _is_type(tokens, index, ddl):
            if index + 1 < len(tokens) and tokens[index + 1].text == "(":
                continue  # numeric(p,s): DuckDB's DECIMAL(p,s) rounds and refuses as PostgreSQL
            yield Edit(token.start, token.end, DUCKDB_TYPE)
            constant = _cast_constant(tokens, index)
            if constant is not None:
                check_text(constant)


# Statements that name neither type nor hold a 39-character number skip the rule.
RULES: tuple[Rule, ...] = (Rule("numeric", _edits, lambda sql: _WANTS.search(sql) is not None),)


_BARE = re.compile(r"\s*(numeric|decimal)\s*((\[\s*\])*)\s*", re.I)


def type_name(text: str) -> str:
    """A type's text with a bare numeric respelled (``numeric[]`` -> ``DECIMAL(38,10)[]``),
    for type names written outside SQL statements (migrations' YAML declarations)."""
    bare = _BARE.fullmatch(text)
    return text if bare is None else DUCKDB_TYPE + re.sub(r"\s", "", bare.group(2))


def _is_type(tokens: Sequence[Token], index: int, ddl: bool) -> bool:
    """Whether the word at ``index`` names a type: after ``::``, as CAST's target, after
    TYPE (ALTER COLUMN), before a string (``numeric '1.5'``) or as a column's type in DDL."""
    before = tokens[index - 1] if index else None
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    if before is None:
        return False
    if before.text == "::" or before.upper == "TYPE":
        return True
    if after is not None and after.kind == "string_const":
        return True
    if before.upper == "AS":
        return _cast_open(tokens, index - 1) is not None
    return (
        ddl
        and before.kind in ("identifier", "keyword")
        and before.upper not in _COLUMN_STARTS  # ADD COLUMN numeric: the column's name
        and index >= 2
        and tokens[index - 2].upper in _COLUMN_STARTS
    )


def _cast_open(tokens: Sequence[Token], as_index: int) -> int | None:
    """The index of CAST's ``(`` when the AS at ``as_index`` is CAST's, else None."""
    depth = 0
    for at in range(as_index - 1, 0, -1):
        text = tokens[at].text
        if text == ")":
            depth += 1
        elif text == "(":
            if depth == 0:
                return at if tokens[at - 1].upper in _CASTS else None
            depth -= 1
    return None


def _cast_constant(tokens: Sequence[Token], index: int) -> str | None:
    """The string constant a bare numeric type is applied to: ``'1.5'::numeric``,
    ``CAST('1.5' AS numeric)``, ``numeric '1.5'`` (None for any other operand)."""
    before = tokens[index - 1]
    if before.text == "::" and index >= 2 and tokens[index - 2].kind == "string_const":
        if index >= 3 and tokens[index - 3].text == "::":
            return None  # '1'::text::numeric: another cast came first
        return _unquoted(tokens[index - 2].text)
    if before.upper == "AS":
        opening = _cast_open(tokens, index - 1)
        if opening is not None and opening + 2 == index - 1 and (
            tokens[opening + 1].kind == "string_const"
        ):
            return _unquoted(tokens[opening + 1].text)
    if index + 1 < len(tokens) and tokens[index + 1].kind == "string_const":
        return _unquoted(tokens[index + 1].text)
    return None


def _unquoted(text: str) -> str | None:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    return None  # E'..', $$..$$: left to DuckDB


def check_literal(text: str) -> None:
    """A numeric constant of the statement DuckDB would read as a DOUBLE (more than 38
    digits) loses digits: refused."""
    if "e" in text.lower() or len(text) <= PRECISION:
        return
    digits = text.replace(".", "").replace("_", "").lstrip("0")
    if len(digits) > PRECISION:
        raise NumericValueOutOfRange(
            OVERFLOW,
            detail=f"The constant {text[:60]} has {len(digits)} digits; the server's numeric "
            f"holds at most {PRECISION} (DuckDB's DECIMAL).",
        )


def check_text(text: str | None) -> None:
    """Refuse a text that the unconstrained numeric cannot hold exactly; text that is no
    number at all is left to DuckDB's own error."""
    if text is None:
        return
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return
    check_value(value, text)


def check_value(value: Decimal, shown: object = None) -> None:
    """22003 when ``value`` has more than 10 digits after the point or more than 28 before
    it (trailing zeros do not count), 0A000 for NaN and Infinity."""
    if not value.is_finite():
        raise FeatureNotSupported(
            NOT_STORED,
            detail="DuckDB's DECIMAL, which holds the server's numeric, has no NaN or "
            "Infinity.",
            hint="Use double precision for values that may be NaN or infinite.",
        )
    fraction, whole = digits(value)
    if fraction > SCALE or whole > PRECISION - SCALE:
        raise NumericValueOutOfRange(
            OVERFLOW,
            detail=f"{shown if shown is not None else value} does not fit the server's "
            f"numeric without a type modifier (DECIMAL({PRECISION},{SCALE}): at most "
            f"{PRECISION - SCALE} digits before the decimal point and {SCALE} after it).",
        )


def digits(value: Decimal) -> tuple[int, int]:
    """(digits after the point, digits before it) of a finite value, without trailing zeros
    after the point or leading zeros. Computed on the digits: ``normalize`` would round to
    the context's 28 digits."""
    _, numerals, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, numerals)).lstrip("0")
    stripped = text.rstrip("0")
    if not stripped:
        return 0, 0
    exponent += len(text) - len(stripped)
    return max(0, -exponent), max(0, len(stripped) + exponent)


def check_parameters(
    values: Sequence[object], param_oids: Sequence[int], casts: Sequence[str | None]
) -> list[object]:
    """Bound values of numeric parameters, checked: NaN and Infinity are refused (DuckDB
    would bind NULL or a double), so are values of more than 38 digits and values cast to
    the unconstrained numeric (a numeric column) that it would round. A numeric parameter
    sent as text and bound uncast becomes a Decimal: DuckDB then types it as a number (its
    own DECIMAL(p,s)), as PostgreSQL types it numeric, not as text; text for a numeric
    column is bound as its Decimal too."""
    checked = list(values)
    for number, value in enumerate(values):
        cast = casts[number] if number < len(casts) else None
        if isinstance(value, Decimal):
            if cast == DUCKDB_TYPE or not value.is_finite() or sum(digits(value)) > PRECISION:
                check_value(value)
        elif isinstance(value, str) and cast == DUCKDB_TYPE:
            try:
                exact = Decimal(value.strip())
            except (InvalidOperation, ValueError):
                continue  # no number: DuckDB's cast says so (22P02)
            check_value(exact, value)
            # Bound as the Decimal: DuckDB parses text into DECIMAL(38,10) at ~45 us a
            # value, and gathered executemany rows are cast column-wise.
            checked[number] = exact
        elif isinstance(value, str) and cast is None and number < len(param_oids) and (
            param_oids[number] == oids.NUMERIC
        ):
            try:
                number_value = Decimal(value.strip())
            except (InvalidOperation, ValueError):
                raise InvalidTextRepresentation(
                    f'invalid input syntax for type numeric: "{value[:60]}"'
                ) from None
            if not number_value.is_finite() or sum(digits(number_value)) > PRECISION:
                check_value(number_value, value)
            checked[number] = number_value
    return checked


def copy_cast(column: str) -> str:
    """SQL turning the text of a COPY column into the unconstrained numeric, refusing what
    the cast would round (more than 10 decimals, an exponent that comes out otherwise, 29
    digits before the point) and NaN / Infinity. Plain values take the first branch: one
    regex test per value."""
    cast = f"CAST({column} AS {DUCKDB_TYPE})"
    return (
        f"CASE WHEN {column} IS NULL OR NOT regexp_matches({column}, '{_SUSPECT}') "
        f"THEN {cast} "
        f"WHEN regexp_matches({column}, '{_NOT_FINITE}', 'i') "
        f"THEN error('{NOT_STORED}: ' || {column}) "
        f"WHEN NOT ({_refused(column)}) THEN {cast} "
        f"ELSE error('{OVERFLOW}: ' || {column} || ' does not fit {DUCKDB_TYPE}') END"
    )


def copy_refused(column: str) -> str:
    """SQL that is true for the rows ``copy_cast`` refuses (to name the line at fault)."""
    return (
        f"{column} IS NOT NULL AND regexp_matches({column}, '{_SUSPECT}') AND "
        f"(regexp_matches({column}, '{_NOT_FINITE}', 'i') OR {_refused(column)})"
    )


def _refused(column: str) -> str:
    """A number (DuckDB reads it as DOUBLE) with more than 10 decimals, or one that the
    DECIMAL cast refuses or reads otherwise than the DOUBLE cast."""
    exact = f"TRY_CAST({column} AS {DUCKDB_TYPE})"
    return (
        f"TRY_CAST({column} AS DOUBLE) IS NOT NULL AND ("
        f"regexp_matches({column}, '{_LONG_FRACTION}') OR {exact} IS NULL "
        f"OR CAST({exact} AS DOUBLE) <> TRY_CAST({column} AS DOUBLE))"
    )


_LONG_FRACTION = r"\.\d{10}\d*[1-9]"
_NOT_FINITE = r"^\s*[+-]?(nan|inf|infinity)\s*$"
_SUSPECT = r"\.\d{10}\d*[1-9]|[eEnNiI]|\d{29}"
