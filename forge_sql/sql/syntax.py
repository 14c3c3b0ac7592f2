"""Reading a token stream: names as PostgreSQL folds them, matching brackets, the clause a
token stands in. Shared by the rewrite rules."""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql.sql.tokens import Token

# Clause keywords that end a FROM list at their parenthesis level.
CLAUSES = {"SELECT", "WHERE", "ON", "GROUP", "ORDER", "HAVING", "SET", "RETURNING", "VALUES"}
OPEN = {"(", "["}
CLOSE = {")": "(", "]": "["}


def name(token: Token) -> str:
    """An identifier as PostgreSQL resolves it: quoted keeps case, unquoted folds."""
    text = token.text
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        return text[1:-1].replace('""', '"')
    return text.lower()


def is_name(token: Token) -> bool:
    return token.kind in ("identifier", "keyword") and token.text != "::"


def closing(tokens: Sequence[Token], opening: int) -> int | None:
    """Index of the parenthesis closing the one at ``opening``."""
    if opening >= len(tokens) or tokens[opening].text != "(":
        return None
    depth = 0
    for at in range(opening, len(tokens)):
        depth += {"(": 1, ")": -1}.get(tokens[at].text, 0)
        if depth == 0:
            return at
    return None


def cast_parts(tokens: Sequence[Token], index: int) -> tuple[int, int] | None:
    """For ``CAST ( ... AS type )`` at ``index``: the positions of its ``AS`` and ``)``."""
    if tokens[index].upper != "CAST":
        return None
    end = closing(tokens, index + 1)
    if end is None:
        return None
    depth = 0
    for at in range(index + 1, end):
        depth += {"(": 1, ")": -1}.get(tokens[at].text, 0)
        if depth == 1 and tokens[at].upper == "AS":
            return at, end
    return None


def in_from(tokens: Sequence[Token], index: int) -> bool:
    """The token at ``index`` stands in a FROM clause (of its own parenthesis level)."""
    depth = 0
    for at in range(index - 1, -1, -1):
        text = tokens[at].text
        if text == ")":
            depth += 1
        elif text == "(":
            if depth == 0:
                return False
            depth -= 1
        elif depth == 0 and tokens[at].upper in ("FROM", "JOIN"):
            return True
        elif depth == 0 and tokens[at].upper in CLAUSES:
            return False
    return False


def called(tokens: Sequence[Token], index: int) -> bool:
    """The name at ``index`` is called (``f(``) and not qualified (``s.f(``)."""
    return (
        index + 1 < len(tokens)
        and tokens[index + 1].text == "("
        and (index == 0 or tokens[index - 1].text != ".")
    )


def qualified_start(tokens: Sequence[Token], index: int) -> int:
    """The first token of ``s.f`` when ``index`` is at ``f``."""
    return index - 2 if index >= 2 and tokens[index - 1].text == "." else index


def comma_items(tokens: Sequence[Token], start: int, end: int) -> list[tuple[int, int]]:
    """Token ranges ``[first, last)`` of the comma-separated items between ``start`` and
    ``end`` (a column list, a table's elements), commas inside brackets not counted; a
    ``;`` outside brackets ends the list, and empty items are left out."""
    items: list[tuple[int, int]] = []
    depth = 0
    first = start
    for index in range(start, end):
        text = tokens[index].text
        if text in ("(", "["):
            depth += 1
        elif text in (")", "]"):
            depth -= 1
        elif text == "," and depth == 0:
            items.append((first, index))
            first = index + 1
        elif text == ";" and depth == 0:
            end = index
            break
    if first < end:
        items.append((first, end))
    return [(a, b) for a, b in items if a < b]


def qualified_name(tokens: Sequence[Token], at: int) -> tuple[tuple[str, ...], int]:
    """The possibly qualified name starting at ``at`` (``s.t``, ``"S"."T"``), each part as
    :func:`name` resolves it, and the index of the token after it."""
    parts = [name(tokens[at])]
    at += 1
    while at + 1 < len(tokens) and tokens[at].text == ".":
        parts.append(name(tokens[at + 1]))
        at += 2
    return tuple(parts), at
