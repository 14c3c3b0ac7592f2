"""Placeholders in time-travel clauses: ``FROM t AT (VERSION => $1)``.

DuckDB reads the snapshot of ``AT (VERSION => ...)`` / ``AT (TIMESTAMP => ...)`` when it
binds the query, before prepared-statement values exist, so a placeholder there is bound
as NULL. The server writes those values into the SQL as literals instead, and renumbers
the placeholders left: edits of the rewrite pass made at Bind, when the values are known
(forge_sql.engine.plans.Plan.bound).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal

from forge_sql.sql.rewrite import Edit
from forge_sql.sql.statements import Token

_CLAUSE_WORDS = ("VERSION", "TIMESTAMP")


def has_parameters(tokens: Sequence[Token]) -> bool:
    """Whether an ``AT (VERSION|TIMESTAMP => ...)`` clause holds a ``$n`` placeholder."""
    return any(_clauses(tokens))


def _clauses(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """(first, last) token indexes of each AT clause that holds a placeholder."""
    found = []
    for index, token in enumerate(tokens[:-3]):
        if token.upper != "AT" or tokens[index + 1].text != "(":
            continue
        if tokens[index + 2].upper not in _CLAUSE_WORDS or tokens[index + 3].text != "=>":
            continue
        depth = 0
        for end in range(index + 1, len(tokens)):
            text = tokens[end].text
            depth += (text == "(") - (text == ")")
            if depth == 0:
                if any(_number(t) for t in tokens[index:end]):
                    found.append((index, end))
                break
    return found


def _number(token: Token) -> int | None:
    if token.kind == "operator" and token.text.startswith("$") and token.text[1:].isdigit():
        return int(token.text[1:])
    return None


def edits(
    tokens: Sequence[Token], params: Sequence[object], *, drop: bool = False
) -> tuple[list[Edit], list[object]]:
    """Edits writing the AT clauses' placeholders as literals of ``params`` (or, with
    ``drop``, removing the clauses, to describe the current version) and renumbering the
    other placeholders; and the values still to bind."""
    tokens = [t for t in tokens if t.kind != "comment"]
    clauses = _clauses(tokens)
    inside = {i for first, last in clauses for i in range(first, last + 1)}
    kept = sorted(
        {
            n
            for i, t in enumerate(tokens)
            if (n := _number(t)) is not None and i not in inside and n <= len(params)
        }
    )
    renumber = {old: new for new, old in enumerate(kept, start=1)}
    found: list[Edit] = []
    if drop:
        found.extend(Edit(tokens[first].start, tokens[last].end, "") for first, last in clauses)
    for index, token in enumerate(tokens):
        number = _number(token)
        if number is None or (drop and index in inside):
            continue
        if index in inside:
            value = params[number - 1] if number <= len(params) else None
            found.append(Edit(token.start, token.end, literal(value)))
        elif renumber.get(number, number) != number:
            found.append(Edit(token.start, token.end, f"${renumber[number]}"))
    return found, [params[n - 1] for n in kept]


def literal(value: object) -> str:
    """A bound value as a SQL literal (the rewritten placeholder keeps its CAST)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        value = value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else str(value)
    return "'" + str(value).replace("'", "''") + "'"
