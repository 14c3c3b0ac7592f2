"""A view's query resolved when the view is created, as PostgreSQL does (CREATE VIEW docs:
the query's relations are those the search path gave at that time). DuckDB keeps a view as
its text and binds it when it is read, its own schema searched first, then the reader's
search path: each unqualified relation that would so resolve elsewhere is written with the
schema it has now (engine.search_path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from forge_sql.sql import parse_tree
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.tokens import tokenize

# (names) -> for each name, the schema it resolves to now, or None (temporary, the catalog
# emulation's, or missing): the session's own view of the lake.
Locate = Callable[[set[str]], dict[str, str | None]]


def qualified(sql: str, creation: str | None, locate: Locate) -> str | None:
    """``sql``, a CREATE VIEW statement, with its query's unqualified relations qualified
    where they do not resolve to the view's own schema; None when nothing changes (or the
    statement is not one this understands: DuckDB then runs it as written)."""
    tokens = [t for t in tokenize(sql) if t.kind != "comment"]
    words = [t.text.upper() for t in tokens]
    if "VIEW" not in words[:6] or words[:1] != ["CREATE"] or "MATERIALIZED" in words[:6]:
        return None
    at = words.index("VIEW") + 1
    if words[at:at + 3] == ["IF", "NOT", "EXISTS"]:
        at += 3
    parts: list[str] = []
    while at < len(tokens) and tokens[at].kind in ("identifier", "keyword"):
        parts.append(_folded(tokens[at].text))
        at += 1
        if at < len(tokens) and tokens[at].text == ".":
            at += 1
            continue
        break
    schema = parts[-2] if len(parts) > 1 else creation
    depth, body = 0, None
    for token in tokens[at:]:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and token.text.upper() == "AS":
            body = token.end
            break
    if body is None or schema is None:
        return None
    query = sql[body:]
    tree = parse_tree.statements(query)
    if tree is None or len(tree) != 1:
        return None
    ctes: set[str] = set()
    found = list(_unqualified(tree[0], ctes))
    names = {name for _, name in found if name not in ctes}
    if not names:
        return None
    schemas = locate(names)
    encoded = query.encode()
    edits = sorted(
        ((at, schemas[name]) for at, name in found
         if name in names and schemas.get(name) not in (None, schema)),
        reverse=True,
    )
    if not edits:
        return None
    for offset, target in edits:
        assert target is not None
        encoded = encoded[:offset] + f"{quote_ident(target)}.".encode() + encoded[offset:]
    return sql[:body] + encoded.decode()


def _folded(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text.lower()


def _unqualified(node: Any, ctes: set[str]) -> Iterator[tuple[int, str]]:
    """(byte offset, folded name) of each BASE_TABLE without schema or catalog; CTE names
    are gathered into ``ctes`` (a reference to one is not a relation)."""
    if isinstance(node, list):
        for item in node:
            yield from _unqualified(item, ctes)
        return
    if not isinstance(node, dict):
        return
    cte_map = node.get("cte_map")
    if isinstance(cte_map, dict):
        for entry in cte_map.get("map") or []:
            ctes.add(str(entry.get("key", "")).lower())
    if node.get("type") == "BASE_TABLE" and "table_name" in node:
        if not node.get("schema_name") and not node.get("catalog_name"):
            location = node.get("query_location")
            if isinstance(location, int) and location < 1 << 62:
                yield location, str(node["table_name"]).lower()
        return
    for value in node.values():
        if isinstance(value, dict | list):
            yield from _unqualified(value, ctes)
