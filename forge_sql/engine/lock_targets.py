"""What a statement must lock until its transaction ends (forge_sql.engine.locks): the
table an INSERT, UPDATE, DELETE, MERGE, TRUNCATE or COPY FROM writes; for DDL the right
to change the catalog, and the table altered or dropped."""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql.engine import locks, relations
from forge_sql.sql import object_lists
from forge_sql.sql.statements import Statement, Token, tokenize

# Kinds that change the catalog; COMMENT ON is an ALTER to DuckDB.
DDL = frozenset({"CREATE", "CREATE_FUNC", "DROP", "ALTER"})
# The keyword after which a write names its table.
_TABLE_AFTER = {"INSERT": "INTO", "MERGE": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM"}


def targets(statement: Statement, copy_in: bool = False) -> list[tuple[locks.Target, str]]:
    """(target, mode) pairs ``statement`` takes, in order; empty for reads."""
    kind = statement.kind
    tokens = statement.tokens
    if kind in DDL:
        found = [(locks.CATALOG_CHANGES, locks.EXCLUSIVE)]
        words = statement.words
        if kind in ("ALTER", "DROP") and "TABLE" in words[:3]:
            several = object_lists.parse(statement.sql, tokens)
            if several is not None:  # DROP TABLE a, b: each of them
                found.extend((_relation(n), locks.ACCESS_EXCLUSIVE) for n in several.names)
                return found
            name = _name_after(tokens, "TABLE", skip=("IF", "EXISTS", "ONLY"))
            if name is not None:
                found.append((locks.relation(*name), locks.ACCESS_EXCLUSIVE))
        return found
    if kind == "COPY":
        name = _name_after(tokens, "COPY") if copy_in else None
        return [] if name is None else [(locks.relation(*name), locks.EXCLUSIVE)]
    if kind == "DELETE" and statement.words[:1] == ["TRUNCATE"]:
        several = object_lists.parse(statement.sql, tokens)
        if several is not None:  # TRUNCATE a, b: each of them
            return [(_relation(n), locks.ACCESS_EXCLUSIVE) for n in several.names]
        name = _name_after(tokens, "TRUNCATE", skip=("TABLE", "ONLY"))
        return [] if name is None else [(locks.relation(*name), locks.ACCESS_EXCLUSIVE)]
    verb = {"INSERT": "INSERT", "UPDATE": "UPDATE", "DELETE": "DELETE", "MERGE_INTO": "MERGE"}
    if kind not in verb:
        return []
    start = _first_keyword(tokens, verb[kind])
    if start is None:
        return []
    name = _name_after(tokens[start:], _TABLE_AFTER[verb[kind]], skip=("ONLY",))
    return [] if name is None else [(locks.relation(*name), locks.EXCLUSIVE)]


def relations_of(statement: Statement) -> list[locks.Target] | None:
    """The lock targets of the tables ``statement`` reads or writes, by name in the
    session's database; None when they cannot all be told (a name of another database,
    a query forge_sql.engine.relations does not know)."""
    found: list[locks.Target] = []
    for access in relations.accesses(statement):
        name = access.name
        if access.action == relations.UNKNOWN or name.catalog or not name.name:
            return None
        if relations.UNRESOLVED in (name.schema, name.name):
            return None
        found.append(locks.relation(name.schema or "public", name.name))
    return found


def _first_keyword(tokens: Sequence[Token], word: str) -> int | None:
    """Index of the statement's own verb, after a WITH clause's parenthesised queries."""
    depth = 0
    for index, token in enumerate(tokens):
        if token.kind == "operator":
            depth += token.text.count("(") - token.text.count(")")
        elif depth == 0 and token.kind == "keyword" and token.upper == word:
            return index
    return None


def _name_after(
    tokens: Sequence[Token], word: str, skip: Sequence[str] = ()
) -> tuple[str, str] | None:
    """(schema, table) of the possibly qualified name after the keyword ``word``; the
    schema is ``public`` when not given (the sessions' search path starts there)."""
    index = next(
        (i for i, t in enumerate(tokens) if t.kind == "keyword" and t.upper == word), None
    )
    if index is None:
        return None
    index += 1
    while index < len(tokens) and tokens[index].upper in skip:
        index += 1
    parts: list[str] = []
    while index < len(tokens) and tokens[index].kind in ("identifier", "keyword"):
        parts.append(_identifier(tokens[index].text))
        if index + 1 < len(tokens) and tokens[index + 1].text == ".":
            index += 2
            continue
        break
    if not parts:
        return None
    return ("public" if len(parts) == 1 else parts[-2]), parts[-1]


def _relation(name: str) -> locks.Target:
    """The lock target of a (possibly qualified) name as written."""
    parts = [_identifier(t.text) for t in tokenize(name) if t.text != "."]
    return locks.relation("public" if len(parts) == 1 else parts[-2], parts[-1])


def _identifier(text: str) -> str:
    """An identifier as the catalog stores it: quoted ones as written, others lower-cased."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text.lower()
