"""varchar(n) and char(n) lengths kept as PostgreSQL keeps them on assignment: a longer value
is refused with 22001 "value too long for type character varying(n)", unless what is beyond
n is only spaces, which are cut (docs: datatype-character). DuckDB's VARCHAR has no length,
so the server checks what INSERT, UPDATE and COPY write to columns declared with one
(forge_sql.engine.declared_types records them): values of parameters directly, expressions
through the catalog's string_fit macro (forge_sql.catalog.pg_sequence)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

from forge_sql import errors
from forge_sql.catalog import SCHEMA
from forge_sql.engine.connection import Connection
from forge_sql.engine.constraint_ddl import matching, significant, unquote
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement
from forge_sql.sql.syntax import comma_items, qualified_name
from forge_sql.sql.tokens import Token
from forge_sql.storage import meta

_DECLARED = re.compile(r"^(VARCHAR|BPCHAR)\((\d+)\)$")
Limit = tuple[int, bool]  # (n, whether char(n))


class DeclaredLengths:
    """The declared lengths of the lake's tables, as this server last read them (read again
    after any DDL of this server that declares string types)."""

    def __init__(self, lake: str) -> None:
        self._table = f"{quote_ident(lake)}.{meta.SCHEMA}.column_types"
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], dict[str, Limit]] = {}
        self._any: bool | None = None  # whether any column has a declared length

    def changed(self) -> None:
        with self._lock:
            self._known.clear()
            self._any = None

    def any(self, connection: Connection) -> bool:
        if self._any is None:
            row = connection.execute(
                f"SELECT count(*) FROM {self._table} WHERE declared_type LIKE '%(%'"
            ).fetchone()
            self._any = bool(row and row[0])
        return self._any

    def of(self, connection: Connection, schema: str, table: str) -> dict[str, Limit]:
        key = (schema, table)
        found = self._known.get(key)
        if found is not None:
            return found
        rows = connection.execute(
            f"SELECT column_name, declared_type FROM {self._table} "
            "WHERE schema_name = ? AND table_name = ?", [schema, table],
        ).fetchall()
        found = {}
        for column, declared in rows:
            match = _DECLARED.match(str(declared))
            if match:
                found[str(column)] = (int(match.group(2)), match.group(1) == "BPCHAR")
        with self._lock:
            self._known[key] = found
        return found


def type_name(limit: Limit) -> str:
    n, bpchar = limit
    return f"character({n})" if bpchar else f"character varying({n})"


def fit(value: object, limit: Limit) -> object:
    """A parameter's value as the column takes it: spaces beyond n cut, longer refused."""
    n = limit[0]
    if not isinstance(value, str) or len(value) <= n:
        return value
    if not value[n:].strip(" "):
        return value[:n]
    raise errors.StringDataRightTruncation(f"value too long for type {type_name(limit)}")


def wrap(expression: str, limit: Limit) -> str:
    n, bpchar = limit
    return f"{SCHEMA}.string_fit({expression}, {n}, {'true' if bpchar else 'false'})"


class Assignment:
    """Where an INSERT or UPDATE puts values into length-limited columns."""

    def __init__(self, sql: str, params: list[object]) -> None:
        self.sql = sql
        self.params = params


def target(statement: Statement) -> tuple[tuple[str, ...], int] | None:
    """The table an INSERT or UPDATE writes (name parts) and the token index after it."""
    tokens = significant(statement)
    words = [t.upper for t in tokens]
    if statement.kind == "INSERT":
        if "INTO" not in words[:3]:
            return None
        at = words.index("INTO") + 1
    elif statement.kind == "UPDATE" and words[:1] == ["UPDATE"]:
        at = 2 if words[1:2] == ["ONLY"] else 1
    else:
        return None
    if at >= len(tokens):
        return None
    return qualified_name(tokens, at)


def apply(statement: Statement, sql: str, params: Sequence[object],
          limits: dict[str, Limit], table_columns: Callable[[], Sequence[str]]) -> Assignment:
    """``sql`` (the statement's text as it runs) with the values it writes to ``limits``'
    columns fitted: parameters given alone checked here, other expressions wrapped."""
    tokens = significant(statement)
    words = [t.upper for t in tokens]
    found = target(statement)
    assert found is not None
    _, at = found
    values = list(params)
    edits: list[tuple[int, int, str]] = []

    def expression(first: int, end: int, limit: Limit) -> None:
        if end - first == 1 and tokens[first].text.startswith("$"):
            number = tokens[first].text[1:]
            if number.isdigit() and 0 < int(number) <= len(values):
                values[int(number) - 1] = fit(values[int(number) - 1], limit)
                return
        if end - first == 1 and tokens[first].upper in ("DEFAULT", "NULL"):
            return
        if end - first == 1 and tokens[first].kind == "string_const":
            text = tokens[first].text
            if text.startswith("'"):
                fitted = fit(text[1:-1].replace("''", "'"), limit)
                assert isinstance(fitted, str)
                edits.append((tokens[first].start, tokens[first].end,
                              "'" + fitted.replace("'", "''") + "'"))
                return
        edits.append((tokens[first].start, tokens[end - 1].end,
                      wrap(sql[tokens[first].start:tokens[end - 1].end], limit)))

    if statement.kind == "UPDATE":
        if "SET" not in words:
            return Assignment(sql, values)
        start = words.index("SET") + 1
        stop = next((i for i in range(start, len(tokens))
                     if words[i] in ("WHERE", "FROM", "RETURNING") and _depth(tokens, start, i)
                     == 0), len(tokens))
        for first, end in comma_items(tokens, start, stop):
            column = _name(tokens[first])
            if column in limits and first + 2 < end and tokens[first + 1].text == "=":
                expression(first + 2, end, limits[column])
        return Assignment(_edited(sql, edits), values)
    if at < len(tokens) and words[at] == "AS":
        at += 2
    listed = at < len(tokens) and tokens[at].text == "("
    columns: list[str] = []
    if not listed:
        columns = list(table_columns())  # the table's, in order
    else:
        close = matching(tokens, at)
        columns = [_name(t) for t in tokens[at + 1:close] if t.text != ","]
        at = close + 1
    if words[at:at + 3] in (["OVERRIDING", "SYSTEM", "VALUE"], ["OVERRIDING", "USER", "VALUE"]):
        at += 3
    if at < len(tokens) and words[at] == "VALUES":
        index = at + 1
        while index < len(tokens) and tokens[index].text == "(":
            close = matching(tokens, index)
            for position, (first, end) in enumerate(comma_items(tokens, index + 1, close)):
                if position < len(columns) and columns[position] in limits:
                    expression(first, end, limits[columns[position]])
            index = close + 1
            if index < len(tokens) and tokens[index].text == ",":
                index += 1
            else:
                break
        return Assignment(_edited(sql, edits), values)
    if listed and at < len(tokens) and words[at] in ("SELECT", "WITH", "(") and any(
            c in limits for c in columns):
        # INSERT ... (columns) SELECT: the query's rows fitted column by column (without a
        # column list, how many columns the query gives is not known here).
        end = next((i for i in range(at, len(tokens))
                    if words[i] in ("RETURNING", "ON") and _depth(tokens, at, i) == 0),
                   len(tokens))
        source = sql[tokens[at].start:tokens[end - 1].end]
        names = [f"c{i}" for i in range(len(columns))]
        fitted = ", ".join(wrap(n, limits[c]) if c in limits else n
                           for n, c in zip(names, columns, strict=True))
        edits.append((tokens[at].start, tokens[end - 1].end,
                      f"SELECT {fitted} FROM ({source}) AS forge_rows({', '.join(names)})"))
        return Assignment(_edited(sql, edits), values)
    return Assignment(sql, values)


def _edited(sql: str, edits: list[tuple[int, int, str]]) -> str:
    for start, stop, text in sorted(edits, reverse=True):
        sql = sql[:start] + text + sql[stop:]
    return sql


def _depth(tokens: Sequence[Token], start: int, at: int) -> int:
    depth = 0
    for token in tokens[start:at]:
        depth += token.text in ("(", "[")
        depth -= token.text in (")", "]")
    return depth




def _name(token: Token) -> str:
    return unquote(token.text) if token.text.startswith('"') else token.text.lower()
