"""What a statement does to which relations (read, insert, update, delete, truncate, create
in a schema, owner-only changes), from DuckDB's parse tree of each query it holds
(``json_serialize_sql``) and, around the queries, from the token stream (DML targets)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.sql import parse_tree
from forge_sql.sql.statements import Statement, Token, identifier, tail

# Actions: aclitem letters for what a relation privilege allows, and the rest.
READ, INSERT, UPDATE, DELETE, TRUNCATE = "r", "a", "w", "d", "D"
CREATE = "create"  # in the schema of the name (name.name: the object made)
OWN = "own"  # ALTER, DROP, COMMENT ON, CREATE INDEX, CREATE OR REPLACE: the owner only
OWN_SCHEMA = "own-schema"
CREATE_SCHEMA = "create-schema"  # CREATE on the database
EXECUTE = "execute"  # EXECUTE of a prepared statement: name.name is the statement's
UNKNOWN = "unknown"  # a query whose relations could not be told: superusers only


@dataclass(frozen=True, slots=True)
class Name:
    """A relation as written, each part folded as PostgreSQL folds it ('' when absent)."""

    catalog: str
    schema: str
    name: str

    def __str__(self) -> str:
        return ".".join(p for p in (self.catalog, self.schema, self.name) if p)


@dataclass(frozen=True, slots=True)
class Access:
    action: str
    name: Name
    temporary: bool = False  # CREATE TEMP: the session's own schema


def query_reads(sql: str) -> list[Name] | None:
    """Base tables a SELECT-like text names, CTE names left out; None: does not parse."""
    tree = parse_tree.statements(sql)
    if tree is None:
        return None
    found: list[Name] = []
    _walk(list(tree), frozenset(), found)
    return found


def _walk(node: object, ctes: frozenset[str], found: list[Name]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, ctes, found)
        return
    if not isinstance(node, dict):
        return
    cte_map = node.get("cte_map")
    if isinstance(cte_map, dict) and cte_map.get("map"):
        # A CTE's own query sees the CTEs before it, and itself only when recursive: in
        # WITH t AS (SELECT * FROM t) the inner t is the table (PostgreSQL and DuckDB).
        earlier = set(ctes)
        for entry in cte_map["map"]:
            name = entry["key"].lower()
            query = entry.get("value", {}).get("query", {})
            recursive = isinstance(query, dict) and (
                query.get("node", {}).get("type") == "RECURSIVE_CTE_NODE")
            _walk(query, frozenset(earlier | {name} if recursive else earlier), found)
            earlier.add(name)
        ctes = frozenset(earlier)
        node = {k: v for k, v in node.items() if k != "cte_map"}
    if node.get("type") == "BASE_TABLE" and "table_name" in node:
        catalog, schema = node.get("catalog_name") or "", node.get("schema_name") or ""
        name = node["table_name"]
        if not (catalog or schema) and name.lower() in ctes:
            return
        # The parser keeps names as written, quoted or not; DuckDB matches them without
        # regard to case, so folding every part loses nothing.
        found.append(Name(catalog.lower(), schema.lower(), name.lower()))
        return
    if node.get("type") == "TABLE_FUNCTION":
        function = node.get("function") or {}
        if str(function.get("function_name", "")).lower() in _ROW_FUNCTIONS:
            found.append(_function_table(function))
    for value in node.values():
        if isinstance(value, dict | list):
            _walk(value, ctes, found)


# DuckLake's table functions that return a table's rows (catalog, schema, table, ...):
# reading them is reading the table.
_ROW_FUNCTIONS = {"ducklake_table_changes", "ducklake_table_insertions",
                  "ducklake_table_deletions"}
UNRESOLVED = "?"  # a relation name that is not a constant: refused (grants.Checker)


def _function_table(function: dict[str, object]) -> Name:
    children = function.get("children")
    values: list[str] = []
    for child in children if isinstance(children, list) else []:
        value = child.get("value") if isinstance(child, dict) else None
        if not isinstance(value, dict) or value.get("is_null") or not isinstance(
                value.get("value"), str):
            break
        values.append(str(value["value"]).lower())
    if len(values) < 3:
        return Name(UNRESOLVED, UNRESOLVED, UNRESOLVED)
    return Name(values[0], values[1], values[2])


def accesses(statement: Statement) -> list[Access]:
    """What ``statement`` does to which relations."""
    return list(_accesses(statement, 0))


def _accesses(statement: Statement, depth: int) -> Iterator[Access]:
    if depth > 8:
        yield Access(UNKNOWN, Name("", "", ""))
        return
    kind = statement.kind
    tokens = statement.tokens
    if not tokens:
        return
    first = tokens[0].upper
    if first in _PIVOTS and kind != "SELECT":
        # PIVOT without an IN list: DuckDB runs it as CREATE TYPE (the pivot's values)
        # and a SELECT, so it parses as a CREATE statement.
        on = _top(tokens, {"ON"}, 1)
        end = on[0] if on else len(tokens)
        yield from _region_reads(statement, 1, end, "", "SELECT 1 FROM {}")
        yield from _subquery_reads(statement, end, len(tokens), "")
        return
    if kind in ("CREATE", "CREATE_FUNC", "DROP", "ALTER") and first not in (
        "CREATE", "DROP", "ALTER", "COMMENT"
    ):
        yield Access(UNKNOWN, Name("", "", ""))  # a shape this module does not know
        return
    if first == "PRAGMA":
        return  # introspection and settings: no table's rows (the sandbox decides)
    if kind == "SELECT":
        yield from _reads(statement.sql)
    elif kind in ("INSERT", "UPDATE", "DELETE", "MERGE_INTO"):
        yield from _dml(statement)
    elif kind == "COPY":
        yield from _copy(statement)
    elif kind in ("CREATE", "CREATE_FUNC"):
        yield from _create(statement)
    elif kind == "DROP":
        yield from _drop(statement)
    elif kind == "ALTER" or first == "COMMENT":
        yield from _alter(statement)
    elif kind in ("EXPLAIN", "PREPARE"):
        inner = _inner_statement(statement)
        if inner is not None and inner.kind == "UNKNOWN":
            yield Access(UNKNOWN, Name("", "", ""))
        elif inner is not None:
            yield from _accesses(inner, depth + 1)
    elif kind == "EXECUTE" and len(tokens) > 1:
        yield Access(EXECUTE, Name("", "", tokens[1].text.strip('"').lower()))
    elif kind == "CALL":
        # CALL f(...) is SELECT * FROM f(...): DuckLake's row functions read tables.
        yield from _region_reads(statement, 1, len(tokens), "", "SELECT * FROM {}")
    else:
        # SET VARIABLE x = (SELECT ...) and whatever else may hold a query.
        equals = next((i for i, t in enumerate(tokens) if t.text == "="), None)
        if statement.words[:2] == ["SET", "VARIABLE"] and equals is not None:
            yield from _region_reads(statement, equals + 1, len(tokens), "", "SELECT {}")
        else:
            yield from _subquery_reads(statement, 0, len(tokens), "")


def _reads(sql: str) -> Iterator[Access]:
    names = query_reads(sql)
    if names is None:
        yield Access(UNKNOWN, Name("", "", ""))
        return
    for name in names:
        yield Access(READ, name)


_PIVOTS = {"PIVOT", "UNPIVOT", "PIVOT_WIDER", "PIVOT_LONGER"}


# -- token helpers -----------------------------------------------------------------------
def _depths(tokens: Sequence[Token]) -> list[int]:
    """Parenthesis depth of each token; a closing one counts as its opening one."""
    depth, out = 0, []
    for token in tokens:
        opens = token.text.count("(") if token.kind == "operator" else 0
        closes = token.text.count(")") if token.kind == "operator" else 0
        if closes and not opens:
            depth -= closes
            out.append(depth)
        else:
            out.append(depth)
            depth += opens - closes
    return out


def _top(tokens: Sequence[Token], words: set[str], start: int = 0) -> list[int]:
    depths = _depths(tokens)
    return [
        i
        for i in range(start, len(tokens))
        if depths[i] == 0 and tokens[i].kind == "keyword" and tokens[i].upper in words
    ]


def _name_at(statement: Statement, index: int) -> tuple[Name, int]:
    """The qualified name starting at token ``index`` and the index after it."""
    tokens = statement.tokens
    parts: list[str] = []
    i = index
    while i < len(tokens) and tokens[i].kind in ("identifier", "keyword"):
        parts.append(identifier(statement, tokens[i]).lower())  # DuckDB ignores case
        if i + 1 < len(tokens) and tokens[i + 1].text == ".":
            i += 2
            continue
        i += 1
        break
    parts = parts[-3:]
    padded = ["", "", "", *parts][-3:]
    return Name(*padded), i


def _text(statement: Statement, start: int, end: int) -> str:
    """The statement's text from token ``start`` up to token ``end`` (exclusive)."""
    tokens = statement.tokens
    if start >= len(tokens) or start >= end:
        return ""
    stop = tokens[end].start if end < len(tokens) else len(statement.sql)
    return statement.sql[tokens[start].start : stop]


def _subquery_reads(statement: Statement, start: int, end: int, prefix: str) -> Iterator[Access]:
    """Reads of each parenthesised query in tokens [start, end)."""
    tokens = statement.tokens
    depths = _depths(tokens)
    i = start
    while i < end:
        token = tokens[i]
        if (
            token.kind == "operator"
            and token.text.endswith("(")
            and i + 1 < end
            and tokens[i + 1].upper in ("SELECT", "WITH", "FROM", "VALUES", "TABLE")
        ):
            close = i + 1
            while close < end and not (depths[close] == depths[i] and tokens[close].text == ")"):
                close += 1
            yield from _reads(prefix + _text(statement, i + 1, close))
            i = close
        i += 1


def _region_reads(
    statement: Statement, start: int, end: int, prefix: str, template: str
) -> Iterator[Access]:
    """Reads of a clause: parsed inside ``template`` (a SELECT around it), or, when that
    does not parse, of the queries in parentheses within it."""
    text = _text(statement, start, end)
    if not text.strip():
        return
    names = query_reads(prefix + template.format(text))
    if names is not None:
        yield from (Access(READ, n) for n in names)
    else:
        yield from _subquery_reads(statement, start, end, prefix)


# -- statements --------------------------------------------------------------------------
_MAIN = {"INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE"}
_CLAUSES = {"SET", "FROM", "WHERE", "RETURNING", "USING", "ON", "WHEN"}


def _dml(statement: Statement) -> Iterator[Access]:
    tokens = statement.tokens
    main = 0
    prefix = ""
    if tokens[0].upper == "WITH":
        mains = _top(tokens, _MAIN)
        if not mains:
            yield Access(UNKNOWN, Name("", "", ""))
            return
        main = mains[0]
        prefix = _text(statement, 0, main) + " "
        yield from _reads(prefix + "SELECT 1")
    verb = tokens[main].upper
    if verb == "TRUNCATE":
        i = main + 1
        while i < len(tokens):
            if tokens[i].upper in ("TABLE", "ONLY") or tokens[i].text == ",":
                i += 1
                continue
            if tokens[i].upper in ("CASCADE", "RESTRICT", "CONTINUE", "RESTART"):
                break
            name, i = _name_at(statement, i)
            if not name.name:
                break
            yield Access(TRUNCATE, name)
        return
    target_at = main + 1
    while target_at < len(tokens) and tokens[target_at].upper in (
        "INTO", "FROM", "OR", "REPLACE", "IGNORE", "ONLY",
    ):
        target_at += 1
    target, after = _name_at(statement, target_at)
    clauses = _top(tokens, _CLAUSES, after)
    bounds = [*clauses, len(tokens)]

    def clause(word: str) -> tuple[int, int] | None:
        for position, index in enumerate(clauses):
            if tokens[index].upper == word:
                return index + 1, bounds[position + 1]
        return None

    returning = clause("RETURNING")
    where = clause("WHERE")
    if verb == "INSERT":
        yield Access(INSERT, target)
        words = [t.upper for t in tokens[main : after + 1]]
        conflict = _top(tokens, {"CONFLICT"}, after)
        if "REPLACE" in words or (
            conflict and any(t.upper == "UPDATE" for t in tokens[conflict[0] :])
        ):
            yield Access(UPDATE, target)
        if conflict and conflict[0] + 1 < len(tokens) and tokens[conflict[0] + 1].upper in (
            "(", "ON"
        ):
            # A conflict target reads the key columns of the table's rows (PostgreSQL
            # requires SELECT on them).
            yield Access(READ, target)
        end = min([*(c - 1 for c in conflict), *(r[0] - 1 for r in [returning] if r), len(tokens)])
        source = after
        while source < end and not (
            tokens[source].upper in ("SELECT", "WITH", "VALUES", "FROM", "TABLE")
            or (tokens[source].text == "(" and source + 1 < end
                and tokens[source + 1].upper in ("SELECT", "WITH", "VALUES", "FROM"))
        ):
            source += 1
        if source < end:
            yield from _region_reads(statement, source, end, prefix, "{}")
        yield from _subquery_reads(statement, end, len(tokens), prefix)
    elif verb == "UPDATE":
        yield Access(UPDATE, target)
        found = clause("SET")
        if found:
            yield from _region_reads(statement, *found, prefix, "SELECT {}")
        from_ = clause("FROM")
        if from_:
            yield from _region_reads(statement, *from_, prefix, "SELECT 1 FROM {}")
    elif verb == "DELETE":
        yield Access(DELETE, target)
        using = clause("USING")
        if using:
            yield from _region_reads(statement, *using, prefix, "SELECT 1 FROM {}")
    else:  # MERGE INTO target USING source ON condition WHEN ...
        yield Access(READ, target)
        using, on = clause("USING"), clause("ON")
        if using:
            yield from _region_reads(statement, *using, prefix, "SELECT 1 FROM {}")
        if on:
            yield from _region_reads(statement, *on, prefix, "SELECT 1 WHERE {}")
        whens = [i for i in clauses if tokens[i].upper == "WHEN"]
        if whens:
            rest = range(whens[0], len(tokens))
            for i in rest:
                word = tokens[i].upper
                if tokens[i - 1].upper == "THEN" and word in ("UPDATE", "DELETE", "INSERT"):
                    yield Access({"UPDATE": UPDATE, "DELETE": DELETE, "INSERT": INSERT}[word],
                                 target)
            yield from _subquery_reads(statement, whens[0], len(tokens), prefix)
        return
    if where:
        yield Access(READ, target)
        yield from _region_reads(statement, *where, prefix, "SELECT 1 WHERE {}")
    if returning:
        yield Access(READ, target)
        yield from _subquery_reads(statement, *returning, prefix)


def _copy(statement: Statement) -> Iterator[Access]:
    tokens = statement.tokens
    if len(tokens) < 2:
        return
    if tokens[1].text == "(":
        depths = _depths(tokens)
        close = next(
            (i for i in range(2, len(tokens)) if depths[i] == 0 and tokens[i].text == ")"),
            len(tokens),
        )
        yield from _reads(_text(statement, 2, close))
        return
    name, _ = _name_at(statement, 1)
    direction = _top(tokens, {"FROM", "TO"}, 2)
    if direction and tokens[direction[0]].upper == "FROM":
        yield Access(INSERT, name)
    else:
        yield Access(READ, name)


_OBJECTS = {"TABLE", "VIEW", "SCHEMA", "INDEX", "SEQUENCE", "MACRO", "FUNCTION", "TYPE"}
_MODIFIERS = {"OR", "REPLACE", "TEMP", "TEMPORARY", "PERSISTENT", "UNIQUE", "UNLOGGED",
              "MATERIALIZED", "IF", "NOT", "EXISTS"}


def _object(tokens: Sequence[Token], start: int) -> tuple[str, int, set[str]]:
    """The object word after CREATE/DROP/ALTER and the index of the name that follows."""
    seen: set[str] = set()
    i = start
    while i < len(tokens) and tokens[i].upper in _MODIFIERS:
        seen.add(tokens[i].upper)
        i += 1
    word = tokens[i].upper if i < len(tokens) else ""
    i += 1
    while i < len(tokens) and tokens[i].upper in ("IF", "NOT", "EXISTS"):
        i += 1
    return word, i, seen


def _create(statement: Statement) -> Iterator[Access]:
    tokens = statement.tokens
    word, at, seen = _object(tokens, 1)
    if word not in _OBJECTS:
        return
    temporary = bool(seen & {"TEMP", "TEMPORARY"})
    if word == "SCHEMA":
        name, _ = _name_at(statement, at)
        yield Access(CREATE_SCHEMA, Name("", "", name.name))
        return
    if word == "INDEX":
        on = _top(tokens, {"ON"}, at)
        if on:
            yield Access(OWN, _name_at(statement, on[0] + 1)[0])
        return
    name, after = _name_at(statement, at)
    yield Access(CREATE, name, temporary)
    if "REPLACE" in seen and not temporary:
        yield Access(OWN, name)
    as_ = _top(tokens, {"AS"}, after)
    if not as_:
        return
    body = as_[0] + 1
    if word in ("TABLE", "VIEW"):
        yield from _region_reads(statement, body, len(tokens), "", "{}")
    elif word in ("MACRO", "FUNCTION"):
        if body < len(tokens) and tokens[body].upper == "TABLE":
            yield from _region_reads(statement, body + 1, len(tokens), "", "{}")
        else:
            yield from _region_reads(statement, body, len(tokens), "", "SELECT {}")


def _drop(statement: Statement) -> Iterator[Access]:
    tokens = statement.tokens
    word, at, _ = _object(tokens, 1)
    if word not in _OBJECTS:
        return
    i = at
    while i < len(tokens):
        name, i = _name_at(statement, i)
        if not name.name:
            break
        if word == "SCHEMA":
            yield Access(OWN_SCHEMA, Name("", "", name.name))
        elif word != "INDEX":
            yield Access(OWN, name)
        if i < len(tokens) and tokens[i].text == ",":
            i += 1
        else:
            break


def _alter(statement: Statement) -> Iterator[Access]:
    tokens = statement.tokens
    start = 2 if tokens[0].upper == "COMMENT" else 1  # COMMENT ON <object>
    word, at, _ = _object(tokens, start)
    if word == "COLUMN":
        name, _ = _name_at(statement, at)
        yield Access(OWN, Name("", name.catalog, name.schema))  # drop the column part
    elif word == "SCHEMA":
        yield Access(OWN_SCHEMA, Name("", "", _name_at(statement, at)[0].name))
    elif word in _OBJECTS and word != "INDEX":
        yield Access(OWN, _name_at(statement, at)[0])


def _inner_statement(statement: Statement) -> Statement | None:
    """The statement EXPLAIN [ANALYZE] [(options)] or PREPARE name [(types)] AS holds."""
    tokens = statement.tokens
    depths = _depths(tokens)
    if statement.kind == "PREPARE":
        found = _top(tokens, {"AS"})
        start = found[0] + 1 if found else len(tokens)
    else:
        start = 1
        while start < len(tokens) and (
            tokens[start].upper in ("ANALYZE", "ANALYSE", "VERBOSE") or depths[start] > 0
            or tokens[start].text == "("
        ):
            start += 1
    if start >= len(tokens):
        return None
    try:
        return tail(statement, start)
    except errors.ForgeError:
        return Statement("?", "UNKNOWN", tokens[start:])
