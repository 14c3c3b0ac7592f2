"""``DROP TABLE a, b, c`` and ``TRUNCATE a, b [RESTART IDENTITY]``: PostgreSQL statements
that name several objects, which DuckDB refuses ("Can only drop one object at a time"), as
one DuckDB statement per object. The session runs them in one transaction, so the whole
list is dropped or emptied, or nothing is (PostgreSQL docs, "DROP TABLE", "TRUNCATE").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.sql.tokens import Token

# DROP <object> with a list of names (DROP INDEX is the engine's: engine.constraints).
DROPPED = ("TABLE", "VIEW", "SCHEMA", "SEQUENCE")
_BEHAVIOURS = ("CASCADE", "RESTRICT")


@dataclass(frozen=True, slots=True)
class ObjectList:
    """The objects one DROP or TRUNCATE names, each as written (quotes and schema kept)."""

    verb: str  # DROP or TRUNCATE
    kind: str  # TABLE, VIEW, ...: what DROP drops; TABLE for TRUNCATE
    names: tuple[str, ...]
    if_exists: bool = False
    behaviour: str = ""  # CASCADE or RESTRICT, as given
    identity: str = ""  # TRUNCATE's RESTART IDENTITY or CONTINUE IDENTITY
    written: int = 1  # names as written, a name given twice counted twice

    def statements(self) -> list[str]:
        """One statement per object, as DuckDB reads it. TRUNCATE's options go: tables of
        this storage own no sequences (RESTART IDENTITY has nothing to restart) and no
        enforced foreign key refers to them (CASCADE has nothing to follow)."""
        if self.verb == "TRUNCATE":
            return [f"TRUNCATE {name}" for name in self.names]
        exists = " IF EXISTS" if self.if_exists else ""
        behaviour = f" {self.behaviour}" if self.behaviour else ""
        return [f"DROP {self.kind}{exists} {name}{behaviour}" for name in self.names]

    def duckdb_sql(self) -> str:
        """The statements in one text (DuckDB runs them in order, in one call)."""
        return "; ".join(self.statements())


def parse(sql: str, tokens: Sequence[Token]) -> ObjectList | None:
    """The DROP or TRUNCATE statement's list, or None when it is another statement or one
    DuckDB reads as it is (a DROP of one object, a TRUNCATE without IDENTITY options)."""
    first = next((t.upper for t in tokens if t.kind != "comment"), "")
    if first not in ("DROP", "TRUNCATE"):
        return None  # the common case, decided on the first token (every statement asks)
    tokens = [t for t in tokens if t.kind != "comment"]
    try:
        found = _drop(sql, tokens) if first == "DROP" else _truncate(sql, tokens)
    except errors.SyntaxError_:
        return None  # not a shape read here: DuckDB's parser reports it
    if found is None or (found.written == 1 and not found.identity):
        return None
    return found


def _drop(sql: str, tokens: Sequence[Token]) -> ObjectList | None:
    at = 1
    kind = tokens[at].upper if at < len(tokens) else ""
    if kind not in DROPPED:
        return None
    at += 1
    if_exists = _words(tokens, at, "IF", "EXISTS")
    if if_exists:
        at += 2
    names, at = _names(sql, tokens, at)
    behaviour = ""
    if at < len(tokens) and tokens[at].upper in _BEHAVIOURS:
        behaviour = tokens[at].upper
        at += 1
    _end(tokens, at)
    # PostgreSQL drops an object named twice once.
    return ObjectList("DROP", kind, tuple(dict.fromkeys(names)), if_exists, behaviour,
                      written=len(names))


def _truncate(sql: str, tokens: Sequence[Token]) -> ObjectList | None:
    at = 1
    if at < len(tokens) and tokens[at].upper == "TABLE":
        at += 1
    names, at = _names(sql, tokens, at)
    identity = ""
    if _words(tokens, at, "RESTART", "IDENTITY") or _words(tokens, at, "CONTINUE", "IDENTITY"):
        identity = f"{tokens[at].upper} IDENTITY"
        at += 2
    behaviour = ""
    if at < len(tokens) and tokens[at].upper in _BEHAVIOURS:
        behaviour = tokens[at].upper
        at += 1
    _end(tokens, at)
    return ObjectList("TRUNCATE", "TABLE", tuple(dict.fromkeys(names)), behaviour=behaviour,
                      identity=identity, written=len(names))


def _names(sql: str, tokens: Sequence[Token], at: int) -> tuple[list[str], int]:
    """Comma-separated, possibly qualified names from ``at`` (TRUNCATE's ``ONLY`` before a
    name and ``*`` after it are PostgreSQL's inheritance markers: no table inherits here)."""
    names: list[str] = []
    while True:
        if at < len(tokens) and tokens[at].upper == "ONLY":  # a reserved word in PostgreSQL
            at += 1
        first = at
        while at < len(tokens) and tokens[at].kind in ("identifier", "keyword"):
            if tokens[at].upper in (*_BEHAVIOURS, "RESTART", "CONTINUE") and at == first:
                break
            if at + 1 < len(tokens) and tokens[at + 1].text == ".":
                at += 2
                continue
            at += 1
            break
        if at == first:
            found = tokens[at].text if at < len(tokens) else "end of input"
            raise errors.SyntaxError_(f'syntax error at or near "{found}"')
        names.append(sql[tokens[first].start : tokens[at - 1].end])
        if at < len(tokens) and tokens[at].text == "*":
            at += 1
        if at < len(tokens) and tokens[at].text == ",":
            at += 1
            continue
        return names, at


def _words(tokens: Sequence[Token], at: int, *words: str) -> bool:
    return all(
        at + i < len(tokens) and tokens[at + i].upper == word for i, word in enumerate(words)
    )


def _end(tokens: Sequence[Token], at: int) -> None:
    if at < len(tokens):
        raise errors.SyntaxError_(f'syntax error at or near "{tokens[at].text}"')
