"""The clauses of an INSERT, UPDATE or DELETE (PostgreSQL's grammar), cut out of its token
stream: what the engine needs to run RETURNING and ON CONFLICT itself where the storage
does not (forge_sql.engine.returning, forge_sql.engine.upsert)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.sql.tokens import Token, tokenize

_SOURCE_STARTS = {"VALUES", "SELECT", "WITH", "DEFAULT", "TABLE", "FROM"}
_NAME_KINDS = ("identifier", "keyword")


@dataclass(frozen=True, slots=True)
class Conflict:
    """``ON CONFLICT [(columns) | ON CONSTRAINT name] DO NOTHING | DO UPDATE SET ...``."""

    columns: tuple[str, ...]  # the inference columns, as written (unquoted), or ()
    constraint: str | None  # ON CONSTRAINT name
    index_predicate: str  # (columns) WHERE predicate: partial unique indexes
    update: bool  # DO UPDATE (else DO NOTHING)
    assignments: str  # DO UPDATE SET's assignments
    where: str  # DO UPDATE ... WHERE condition


@dataclass(frozen=True, slots=True)
class Dml:
    """One INSERT, UPDATE or DELETE, cut into the pieces of text it is written with."""

    verb: str  # INSERT, UPDATE or DELETE
    with_: str  # a leading WITH ... up to the verb, or ""
    target: str  # the table's name, as written (s."T")
    alias: str | None  # INSERT INTO t AS a, UPDATE t a, DELETE FROM t AS a
    columns: tuple[str, ...] | None  # INSERT's column list (unquoted), None without one
    source: str  # INSERT: VALUES ... / SELECT ... / DEFAULT VALUES
    assignments: str  # UPDATE: what follows SET
    from_: str  # UPDATE's FROM list, DELETE's USING list
    where: str  # UPDATE and DELETE: the WHERE condition
    conflict: Conflict | None
    returning: str | None  # the RETURNING list, or None

    @property
    def name(self) -> str:
        """The name the row is known by in expressions: the alias, else the table's."""
        return self.alias if self.alias is not None else self.target.rsplit(".", 1)[-1]


def parse(sql: str) -> Dml | None:
    """The clauses of ``sql``, or None for what is not a plain INSERT/UPDATE/DELETE (INSERT
    OR REPLACE, a data-modifying WITH that is not at the front, ...)."""
    tokens = tokenize(sql)
    while tokens and tokens[-1].text == ";":
        tokens = tokens[:-1]
    depths = _depths(tokens)
    main = 0
    if tokens and tokens[0].upper == "WITH":
        main = next(
            (i for i, t in enumerate(tokens)
             if depths[i] == 0 and t.upper in ("INSERT", "UPDATE", "DELETE")),
            -1,
        )
        if main < 0:
            return None
    if main >= len(tokens):
        return None
    verb = tokens[main].upper
    with_ = sql[: tokens[main].start].strip() if main else ""
    at = main + 1
    if verb == "INSERT":
        if at >= len(tokens) or tokens[at].upper != "INTO":
            return None  # INSERT OR REPLACE / OR IGNORE: DuckDB's own
        at += 1
    elif verb == "DELETE":
        if at >= len(tokens) or tokens[at].upper != "FROM":
            return None
        at += 1
    elif verb != "UPDATE":
        return None
    if at < len(tokens) and tokens[at].upper == "ONLY":
        at += 1
    target, at = _name(sql, tokens, at)
    if target is None:
        return None
    alias, at = _alias(tokens, at, verb)
    top = [i for i in range(at, len(tokens)) if depths[i] == 0]
    returning_at = next((i for i in top if tokens[i].upper == "RETURNING"), len(tokens))
    returning = _text(sql, tokens, returning_at + 1, len(tokens)) if returning_at < len(
        tokens) else None
    if returning is not None and not returning:
        raise errors.SyntaxError_("syntax error at end of input")
    if verb == "INSERT":
        return _insert(sql, tokens, depths, at, returning_at, verb, with_, target, alias,
                       returning)
    clauses = {
        tokens[i].upper: i for i in reversed(top)
        if i < returning_at and tokens[i].upper in ("SET", "FROM", "USING", "WHERE")
    }
    bounds = sorted([*clauses.values(), returning_at])

    def clause(word: str) -> str:
        start = clauses.get(word)
        if start is None:
            return ""
        end = next(b for b in bounds if b > start)
        return _text(sql, tokens, start + 1, end)

    if verb == "UPDATE" and "SET" not in clauses:
        return None
    return Dml(verb, with_, target, alias, None, "", clause("SET"),
               clause("FROM" if verb == "UPDATE" else "USING"), clause("WHERE"), None,
               returning)


def _insert(
    sql: str, tokens: Sequence[Token], depths: list[int], at: int, returning_at: int,
    verb: str, with_: str, target: str, alias: str | None, returning: str | None,
) -> Dml | None:
    columns: tuple[str, ...] | None = None
    if at < len(tokens) and tokens[at].text == "(" and not (
        at + 1 < len(tokens) and tokens[at + 1].upper in _SOURCE_STARTS
    ):
        close = _closing(tokens, depths, at)
        columns = tuple(
            unquote(t.text) for t in tokens[at + 1 : close] if t.text != ","
        )
        at = close + 1
    if at < len(tokens) and tokens[at].upper == "OVERRIDING":
        return None  # OVERRIDING {SYSTEM | USER} VALUE: identity columns, not handled here
    conflict_at = next(
        (i for i in range(at, returning_at)
         if depths[i] == 0 and tokens[i].upper == "ON" and i + 1 < returning_at
         and tokens[i + 1].upper == "CONFLICT"),
        returning_at,
    )
    source = _text(sql, tokens, at, conflict_at)
    conflict = None
    if conflict_at < returning_at:
        conflict = _conflict(sql, tokens, depths, conflict_at + 2, returning_at)
    return Dml(verb, with_, target, alias, columns, source, "", "", "", conflict, returning)


def _conflict(
    sql: str, tokens: Sequence[Token], depths: list[int], at: int, end: int
) -> Conflict:
    columns: tuple[str, ...] = ()
    constraint = None
    predicate = ""
    if at < end and tokens[at].text == "(":
        close = _closing(tokens, depths, at)
        columns = tuple(unquote(t.text) for t in tokens[at + 1 : close] if t.text != ",")
        at = close + 1
        if at < end and tokens[at].upper == "WHERE":
            do = next((i for i in range(at, end) if depths[i] == 0
                       and tokens[i].upper == "DO"), end)
            predicate = _text(sql, tokens, at + 1, do)
            at = do
    elif at + 2 < end and tokens[at].upper == "ON" and tokens[at + 1].upper == "CONSTRAINT":
        constraint = unquote(tokens[at + 2].text)
        at += 3
    if at + 1 >= end or tokens[at].upper != "DO":
        raise errors.SyntaxError_(f'syntax error at or near "{_near(tokens, at)}"')
    action = tokens[at + 1].upper
    if action == "NOTHING" and at + 2 == end:
        return Conflict(columns, constraint, predicate, False, "", "")
    if action != "UPDATE" or at + 2 >= end or tokens[at + 2].upper != "SET":
        raise errors.SyntaxError_(f'syntax error at or near "{_near(tokens, at + 1)}"')
    where = next((i for i in range(at + 3, end) if depths[i] == 0
                  and tokens[i].upper == "WHERE"), end)
    assignments = _text(sql, tokens, at + 3, where)
    condition = _text(sql, tokens, where + 1, end) if where < end else ""
    return Conflict(columns, constraint, predicate, True, assignments, condition)


def assigned_columns(assignments: str) -> list[tuple[str, str]]:
    """``a = 1, b = excluded.b`` as [(column, expression)]; PostgreSQL's ``(a, b) = (x, y)``
    as its pairs."""
    tokens = tokenize(assignments)
    depths = _depths(tokens)
    pieces: list[tuple[int, int]] = []
    first = 0
    for index, token in enumerate(tokens):
        if depths[index] == 0 and token.text == ",":
            pieces.append((first, index))
            first = index + 1
    pieces.append((first, len(tokens)))
    found: list[tuple[str, str]] = []
    for start, end in pieces:
        equals = next((i for i in range(start, end) if depths[i] == 0
                       and tokens[i].text == "="), None)
        if equals is None or equals == start:
            raise errors.SyntaxError_(f'syntax error at or near "{_near(tokens, end)}"')
        value = _text(assignments, tokens, equals + 1, end)
        if tokens[start].text == "(":
            names = [unquote(t.text) for t in tokens[start + 1 : equals - 1] if t.text != ","]
            values = _row_items(value)
            if len(values) != len(names):
                raise errors.SyntaxError_(
                    "number of columns does not match number of values"
                )
            found.extend(zip(names, values, strict=True))
            continue
        column = tokens[equals - 1].text if equals - 1 >= start else ""
        found.append((unquote(column), value))
    return found


def _row_items(text: str) -> list[str]:
    """``(x, y)`` or ``ROW(x, y)``: its items."""
    tokens = tokenize(text)
    depths = _depths(tokens)
    at = 1 if tokens and tokens[0].upper == "ROW" else 0
    if at >= len(tokens) or tokens[at].text != "(":
        return [text]
    close = _closing(tokens, depths, at)
    items, first = [], at + 1
    for index in range(at + 1, close + 1):
        if index == close or (depths[index] == depths[at] + 1 and tokens[index].text == ","):
            items.append(_text(text, tokens, first, index))
            first = index + 1
    return items


def unquote(name: str) -> str:
    """A column or constraint name as PostgreSQL folds it: quoted as written, else lower."""
    if name.startswith('"') and name.endswith('"') and len(name) >= 2:
        return name[1:-1].replace('""', '"')
    return name.lower()


def _name(sql: str, tokens: Sequence[Token], at: int) -> tuple[str | None, int]:
    if at >= len(tokens) or tokens[at].kind not in _NAME_KINDS:
        return None, at
    end = at
    while end + 2 < len(tokens) and tokens[end + 1].text == "." and (
        tokens[end + 2].kind in _NAME_KINDS
    ):
        end += 2
    return sql[tokens[at].start : tokens[end].end], end + 1


def _alias(tokens: Sequence[Token], at: int, verb: str) -> tuple[str | None, int]:
    if at < len(tokens) and tokens[at].upper == "AS":
        if at + 1 < len(tokens):
            return tokens[at + 1].text, at + 2
        return None, at + 1
    stops = {"SET", "USING", "WHERE", "RETURNING"}
    if verb != "INSERT" and at < len(tokens) and tokens[at].kind == "identifier" and (
        tokens[at].upper not in stops
    ):
        return tokens[at].text, at + 1
    return None, at


def _closing(tokens: Sequence[Token], depths: list[int], at: int) -> int:
    for index in range(at + 1, len(tokens)):
        if depths[index] == depths[at] and tokens[index].text == ")":
            return index
    raise errors.SyntaxError_("syntax error at end of input")


def _depths(tokens: Sequence[Token]) -> list[int]:
    """Bracket depth of each token; a closing bracket has its opening one's depth."""
    depths, depth = [], 0
    for token in tokens:
        if token.text in (")", "]"):
            depth -= 1
        depths.append(depth)
        if token.text in ("(", "["):
            depth += 1
    return depths


def _text(sql: str, tokens: Sequence[Token], start: int, end: int) -> str:
    if start >= end or start >= len(tokens):
        return ""
    return sql[tokens[start].start : tokens[end - 1].end]


def _near(tokens: Sequence[Token], at: int) -> str:
    return tokens[at].text if at < len(tokens) else "end of input"
