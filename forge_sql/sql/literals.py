"""SQL literals that PostgreSQL and DuckDB read differently, respelled for DuckDB (the
rewrite pass's ``literals`` slot).

- PostgreSQL reads ``'\\x0001ff'::bytea`` in bytea's hex format (three bytes); DuckDB's BLOB
  cast reads ``\\xHH`` escapes, so the same text is one NUL byte and the characters ``01ff``.
  psycopg2 sends every bytes parameter that way: such literals become one escape per byte,
  which both read alike.
- PostgreSQL's LIKE and ILIKE take backslash as the escape character unless told otherwise;
  DuckDB's have none. pgjdbc and DBeaver escape ``_`` and ``%`` in the names they look up
  (``relname LIKE 'my\\_table'``), so a pattern with a backslash gets ``ESCAPE '\\'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.tokens import Token

_BYTE_TYPES = {"BYTEA", "BLOB"}
_HEX_LITERAL = re.compile(r"'\\x((?:[0-9a-fA-F]{2})*)'")
_LIKE = {"LIKE", "ILIKE"}
_ESCAPE = " ESCAPE '\\'"


def _edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if _is_bytea_hex(tokens, index):
            yield Edit(token.start, token.end, _escaped(token))
        elif _is_like_pattern(tokens, index):
            yield Edit(token.end, token.end, _ESCAPE)


# Only SQL with a backslash pays for looking.
RULES: tuple[Rule, ...] = (Rule("literals", _edits, lambda sql: "\\" in sql),)


def _is_bytea_hex(tokens: Sequence[Token], index: int) -> bool:
    """A ``'\\x..'`` string cast to bytea: ``'..'::bytea``, ``CAST('..' AS bytea)``,
    ``bytea '..'``."""
    token = tokens[index]
    if token.kind != "string_const" or not _HEX_LITERAL.fullmatch(token.text):
        return False
    after = [t.upper for t in tokens[index + 1 : index + 3]]
    before = [t.upper for t in tokens[max(index - 2, 0) : index]]
    cast = len(after) == 2 and after[1] in _BYTE_TYPES and (
        after[0] == "::" or (after[0] == "AS" and before == ["CAST", "("])
    )
    return cast or (bool(before) and before[-1] in _BYTE_TYPES)


def _is_like_pattern(tokens: Sequence[Token], index: int) -> bool:
    """The pattern string of ``x [NOT] [I]LIKE '..\\..'`` with no ESCAPE clause."""
    token = tokens[index]
    return (
        token.kind == "string_const"
        and "\\" in token.text
        and index > 0
        and tokens[index - 1].upper in _LIKE
        and (index + 1 == len(tokens) or tokens[index + 1].upper != "ESCAPE")
    )


def _escaped(token: Token) -> str:
    match = _HEX_LITERAL.fullmatch(token.text)
    assert match is not None
    digits = match.group(1)
    return "'" + "".join(f"\\x{digits[i:i + 2]}" for i in range(0, len(digits), 2)) + "'"
