"""Operands and arguments read from a statement's tokens, for the rewrite rules that wrap
or translate them (forge_sql.sql.semantics, format_string, similar_to)."""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql.sql import syntax
from forge_sql.sql.postgres import _operand_end  # one reading of a primary expression
from forge_sql.sql.tokens import Token


def operand_end(tokens: Sequence[Token], at: int) -> int | None:
    """The last token of the primary expression starting at ``at`` (a column, placeholder,
    string, call or parenthesised expression) with its subscripts and casts, type names of
    several words included; None when it is something else."""
    last = _operand_end(tokens, at)
    return None if last is None else type_end(tokens, last)


# Words after which an operand has certainly ended (clauses, boolean operators, CASE parts).
ENDING_WORDS = {
    "AND", "OR", "THEN", "ELSE", "END", "WHEN", "FROM", "WHERE", "AS", "ORDER", "GROUP",
    "HAVING", "LIMIT", "OFFSET", "UNION", "EXCEPT", "INTERSECT", "IS", "NOT", "IN", "BETWEEN",
    "LIKE", "ILIKE", "SIMILAR", "ASC", "DESC", "NULLS", "ON", "USING", "JOIN", "WINDOW",
    "RETURNING", "FILTER", "OVER", "ESCAPE", "FOR", "SET", "VALUES",
}


def ends_operand(token: Token) -> bool:
    """``token`` cannot continue the operand before it (``^`` binds tighter than ``/``)."""
    if token.kind == "operator":
        return token.text not in ("^", "**", "::", "[", "(", ".")
    return token.upper in ENDING_WORDS


def type_end(tokens: Sequence[Token], last: int) -> int:
    """Past the rest of a cast's type name that a primary expression stops short of:
    ``double precision``, ``character varying``, ``numeric(10, 2)``, ``with time zone``, and
    casts after it."""
    while last + 1 < len(tokens):
        following = tokens[last + 1]
        if following.upper in ("PRECISION", "VARYING"):
            last += 1
        elif following.upper in ("WITH", "WITHOUT") and [
            t.upper for t in tokens[last + 2 : last + 4]
        ] == ["TIME", "ZONE"]:
            last += 3
        elif following.text == "(" and last >= 1 and (
            tokens[last - 1].text == "::" or tokens[last].upper in ("PRECISION", "VARYING")
        ):
            close = syntax.closing(tokens, last + 1)
            if close is None:
                return last
            last = close
        elif last + 2 < len(tokens) and (
            (following.text == "::" and syntax.is_name(tokens[last + 2]))
            or (following.text == "[" and tokens[last + 2].text == "]")  # ::int[]
        ):
            last += 2
        else:
            return last
    return last


def plain_string(token: Token) -> bool:
    """A standard string constant ``'...'`` (not E'', not $$ ... $$)."""
    return token.kind == "string_const" and token.text.startswith("'")


def arguments(tokens: Sequence[Token], opening: int, close: int) -> list[tuple[int, int]]:
    """(first, last) token indexes of each argument of the call whose ``(`` is at
    ``opening`` and ``)`` at ``close``."""
    found: list[tuple[int, int]] = []
    depth = 0
    start = opening + 1
    for at in range(opening + 1, close):
        text = tokens[at].text
        if text in syntax.OPEN:
            depth += 1
        elif text in syntax.CLOSE:
            depth -= 1
        elif depth == 0 and text == ",":
            if at > start:
                found.append((start, at - 1))
            start = at + 1
    if close > start:
        found.append((start, close - 1))
    return found
