"""Describing a statement with parameters without running it: the stand-ins DuckDB binds
in place of the placeholders, and the types its binder gives untyped ones.

DuckDB describes a query with parameter values only by running it; bound as a lazy
relation, with each placeholder replaced by an expression of its type, it is bound and not
run. An untyped placeholder is bound as a marked string literal, and an unoptimized plan
shows the cast the binder put on it: the type PostgreSQL would infer beside that operand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from forge_sql.engine import params
from forge_sql.seam import oids
from forge_sql.seam.backend import Column
from forge_sql.sql import rewrite
from forge_sql.sql.rewrite import Edit
from forge_sql.sql.statements import tokenize

# A NULL DuckDB does not fold: binding a constant NULL types every function of it INTEGER
# (CAST(NULL AS VARCHAR) || 'b' is INTEGER), and a value would be computed with (ln(0)).
_UNFOLDED_NULL = "(CASE WHEN random() < 0 THEN NULL END)"


def statement(sql: str, stand_ins: Sequence[object]) -> str:
    """``sql`` with each ``$n`` replaced by an expression typed as ``stand_ins[n - 1]`` is
    bound (a cast placeholder: a NULL it casts; text: an untyped string literal; a Decimal:
    a DECIMAL), so that DuckDB describes the statement as a lazy relation, which binds it
    without running it (a relation made with parameter values is executed whole), and each
    typed NULL replaced by one DuckDB does not fold."""
    if not stand_ins and "NULL" not in sql.upper():
        return sql
    tokens = [t for t in tokenize(sql) if t.kind != "comment"]
    edits = []
    for index, token in enumerate(tokens):
        # NULL::text, CAST(NULL AS text): a typed NULL, which DuckDB would fold likewise.
        if token.upper == "NULL" and token.kind == "keyword" and (
            (index + 1 < len(tokens) and tokens[index + 1].text == "::")
            or (
                index >= 2
                and index + 1 < len(tokens)
                and tokens[index - 1].text == "("
                and tokens[index - 2].upper in ("CAST", "TRY_CAST")
                and tokens[index + 1].upper == "AS"
            )
        ):
            edits.append(Edit(token.start, token.end, _UNFOLDED_NULL))
    for number, index in params.placeholders(tokens):
        value = stand_ins[number - 1] if number <= len(stand_ins) else None
        if isinstance(value, Decimal):
            text = f"CAST({_UNFOLDED_NULL} AS DECIMAL(1,0))"
        elif isinstance(value, Preferred):
            text = f"CAST('{value.mark}' AS DOUBLE)"
        elif isinstance(value, str):
            text = "'" + value.replace("'", "''") + "'"
        else:
            text = _UNFOLDED_NULL
        edits.append(Edit(tokens[index].start, tokens[index].end, text))
    return rewrite.apply(sql, tuple(edits)) if edits else sql


_MARK = "\x01p"
_MARKED_CAST = re.compile(r"CAST\('(?:\x01|\\u0001)p(\d+)' AS ((?:[^()]|\([^()]*\))+)\)")


def marked(stand_ins: Sequence[object]) -> tuple[object, ...]:
    """``stand_ins`` with each untyped placeholder's a string literal naming it."""
    return tuple(
        f"{_MARK}{n}" if value == params.UNTYPED else value for n, value in enumerate(stand_ins, 1)
    )


AMBIGUOUS = "Could not choose a best candidate function"


@dataclass(frozen=True, slots=True)
class Preferred:
    """A marked literal cast to float8 (``statement`` writes the cast)."""

    mark: str


def unmarked(stand_ins: Sequence[object]) -> list[int]:
    """Numbers of the marked placeholders (those ``marked`` named)."""
    return [
        n for n, v in enumerate(stand_ins, 1) if isinstance(v, str) and v.startswith(_MARK)
    ]


def preferring(stand_ins: Sequence[object], number: int) -> tuple[object, ...]:
    """``stand_ins`` with placeholder ``number``'s marked literal cast to float8."""
    return tuple(
        Preferred(v) if n == number and isinstance(v, str) else v
        for n, v in enumerate(stand_ins, 1)
    )


def marked_types(plan: str) -> dict[int, int]:
    """Placeholder number -> parameter OID, from the casts on the marked literals in a plan
    (EXPLAIN of ``statement(sql, marked(...))`` without optimizing). A literal the binder
    did not cast is used as text, as PostgreSQL resolves an unknown it cannot type."""
    found: dict[int, int] = {}
    for match in _MARKED_CAST.finditer(plan):
        number = int(match.group(1))
        if number not in found:
            oid = params.param_oid(match.group(2).strip(), params.COMPARED)  # text: unknown
            if oid != oids.JSON or match.group(2).strip() == "JSON":
                found[number] = oid
    return found


def result_changed(
    described: Sequence[Column], running: Sequence[Column] | None, compare_types: bool
) -> bool:
    """Whether a prepared statement's result no longer has the columns its Describe
    announced, as after its table was dropped and created again with other columns:
    PostgreSQL then refuses to run it ("cached plan must not change result type"), as
    a client reading the rows by the old description would misread them. Types are
    compared only where asked (a query without parameters: with them, Describe typed the
    stand-ins above)."""
    if running is None or running is described:
        return False
    if len(running) != len(described):
        return True
    return compare_types and any(
        (a.type_oid, a.type_modifier) != (b.type_oid, b.type_modifier)
        for a, b in zip(described, running, strict=True)
    )
