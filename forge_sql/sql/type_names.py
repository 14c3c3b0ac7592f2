"""The name PostgreSQL gives a type as it is written in a cast or a typed literal: the last
part of the name, with the grammar's own spellings (``integer``, ``double precision``,
``character varying``, ``timestamp with time zone``) turned into the type's ``typname``.
An unaliased cast is named after it (PostgreSQL's FigureColname, parse_target.c)."""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql.sql import syntax
from forge_sql.sql.tokens import Token

# gram.y's Numeric, Character, ConstDatetime and ConstInterval rules: SystemTypeName(...).
_KEYWORDS = {
    "INT": "int4", "INTEGER": "int4", "SMALLINT": "int2", "BIGINT": "int8", "REAL": "float4",
    "DECIMAL": "numeric", "DEC": "numeric", "NUMERIC": "numeric", "BOOLEAN": "bool",
    "VARCHAR": "varchar", "INTERVAL": "interval",
}
_CHARACTER = ("CHARACTER", "CHAR", "NCHAR")
# PostgreSQL's reserved key words (and those of its operators), which name no type: the
# word before a string constant that is not a typed literal (SELECT 'a', x LIKE 'a').
_NOT_TYPES = frozenset({
    "ALL", "ANALYSE", "ANALYZE", "AND", "ANY", "ARRAY", "AS", "ASC", "ASYMMETRIC", "BOTH",
    "CASE", "CAST", "CHECK", "COLLATE", "COLUMN", "CONSTRAINT", "CREATE", "CURRENT_CATALOG",
    "CURRENT_DATE", "CURRENT_ROLE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "CURRENT_USER",
    "DEFAULT", "DEFERRABLE", "DESC", "DISTINCT", "DO", "ELSE", "END", "EXCEPT", "FALSE",
    "FETCH", "FOR", "FOREIGN", "FROM", "GRANT", "GROUP", "HAVING", "IN", "INITIALLY",
    "INTERSECT", "INTO", "LATERAL", "LEADING", "LIMIT", "LOCALTIME", "LOCALTIMESTAMP", "NOT",
    "NULL", "OFFSET", "ON", "ONLY", "OR", "ORDER", "PLACING", "PRIMARY", "REFERENCES",
    "RETURNING", "SELECT", "SESSION_USER", "SOME", "SYMMETRIC", "TABLE", "THEN", "TO",
    "TRAILING", "TRUE", "UNION", "UNIQUE", "USER", "USING", "VARIADIC", "WHEN", "WHERE",
    "WINDOW", "WITH", "ILIKE", "IS", "ISNULL", "LIKE", "NOTNULL", "SIMILAR", "BETWEEN",
    "ESCAPE", "OVERLAPS", "VALUES", "SET", "BY",
})
_MOST = 8  # tokens a type name written before a literal can take (timestamp(3) with ...)


def written(tokens: Sequence[Token], at: int) -> tuple[str, int] | None:
    """(PostgreSQL's name, index of the last token) of the type written from ``tokens[at]``
    on, array bounds included; None when no type name starts there."""
    if at >= len(tokens) or not syntax.is_name(tokens[at]):
        return None
    word = tokens[at].upper if not tokens[at].text.startswith('"') else ""
    if word in _NOT_TYPES:
        return None
    last = at
    if word == "DOUBLE" and _word(tokens, at + 1) == "PRECISION":
        name, last = "float8", at + 1
    elif word == "FLOAT":
        name, last = "float8", at
        close = _modifiers(tokens, at)
        if close is not None:
            digits = tokens[at + 2].text
            if close == at + 3 and digits.isdigit() and int(digits) <= 24:
                name = "float4"
            last = close
    elif word in _CHARACTER or (word == "NATIONAL" and _word(tokens, at + 1) in _CHARACTER):
        last = at + 1 if word == "NATIONAL" else at
        name = "bpchar"
        if _word(tokens, last + 1) == "VARYING":
            name, last = "varchar", last + 1
        last = _modifiers(tokens, last) or last
    elif word == "BIT":
        name = "bit"
        if _word(tokens, at + 1) == "VARYING":
            name, last = "varbit", at + 1
        last = _modifiers(tokens, last) or last
    elif word in ("TIMESTAMP", "TIME"):
        name = word.lower()
        last = _modifiers(tokens, at) or at
        zone = [_word(tokens, last + i) for i in (1, 2, 3)]
        if zone[1:] == ["TIME", "ZONE"] and zone[0] in ("WITH", "WITHOUT"):
            name += "tz" if zone[0] == "WITH" else ""
            last += 3
    elif word in _KEYWORDS:
        name = _KEYWORDS[word]
        last = _modifiers(tokens, at) or at
    else:
        # A generic type name, maybe qualified (pg_catalog.int4): its last part names it.
        while (last + 2 < len(tokens) and tokens[last + 1].text == "."
               and syntax.is_name(tokens[last + 2])):
            last += 2
        name = syntax.name(tokens[last])
        last = _modifiers(tokens, last) or last
    return name, _bounds(tokens, last)


def before_literal(tokens: Sequence[Token], literal: int) -> str | None:
    """PostgreSQL's name of the type written before the string constant at ``literal``
    (``DATE '2024-01-15'``, ``timestamp with time zone '...'``), or None."""
    for at in range(max(0, literal - _MOST), literal):
        found = written(tokens, at)
        if found is not None and found[1] == literal - 1:
            return found[0]
    return None


def _word(tokens: Sequence[Token], at: int) -> str:
    return tokens[at].upper if at < len(tokens) and syntax.is_name(tokens[at]) else ""


def _modifiers(tokens: Sequence[Token], last: int) -> int | None:
    """The closing bracket of type modifiers ``(n)`` / ``(p, s)`` after ``tokens[last]``."""
    if last + 1 < len(tokens) and tokens[last + 1].text == "(":
        return syntax.closing(tokens, last + 1)
    return None


def _bounds(tokens: Sequence[Token], last: int) -> int:
    """Past array bounds: ``[]``, ``[3]``, ``ARRAY``, ``ARRAY[3]``, repeated."""
    while last + 1 < len(tokens):
        following = tokens[last + 1]
        if following.upper == "ARRAY" and following.kind == "keyword":
            last += 1
        elif following.text == "[" and last + 2 < len(tokens) and (
            tokens[last + 2].text == "]"
        ):
            last += 2
        elif (following.text == "[" and last + 3 < len(tokens)
              and tokens[last + 2].kind == "numeric_const" and tokens[last + 3].text == "]"):
            last += 3
        else:
            break
    return last
