"""Declared string types DuckDB does not keep: a column declared text, varchar(n) or char(n)
(and arrays of them) is VARCHAR in DuckDB. What was declared is recorded in the lake's
forge_meta.column_types, in the transaction of the DDL, so that pg_attribute and
information_schema.columns show it (forge_sql.catalog.lake_objects) and INSERT, UPDATE and
COPY keep to the declared length (forge_sql.engine.lengths)."""

from __future__ import annotations

from collections.abc import Sequence

from forge_sql.engine.connection import Connection
from forge_sql.engine.constraint_ddl import matching, significant, unquote
from forge_sql.engine.lengths import DeclaredLengths
from forge_sql.engine.sequence_functions import search_path
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement
from forge_sql.sql.syntax import comma_items, qualified_name
from forge_sql.sql.tokens import Token
from forge_sql.storage import meta

_ELEMENT_KEYWORDS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "LIKE", "EXCLUDE")


def declared_type(tokens: Sequence[Token], at: int, end: int) -> str | None:
    """The recorded spelling of the type starting at ``tokens[at]`` ('TEXT', 'VARCHAR(10)',
    'BPCHAR(3)', with '[]' for arrays), or None when DuckDB's VARCHAR says it all (or it is
    not a string type)."""
    words = [t.upper for t in tokens[at:end]]
    if not words:
        return None
    if words[0] == "PG_CATALOG" and words[1:2] == ["."]:
        words = words[2:]
        at += 2
    length: int | None = None
    if words[0] == "TEXT":
        base, used = "TEXT", 1
    elif words[0] == "VARCHAR" or words[:2] in (["CHARACTER", "VARYING"], ["CHAR", "VARYING"]):
        base, used = "VARCHAR", 1 if words[0] == "VARCHAR" else 2
    elif words[0] in ("CHAR", "CHARACTER", "BPCHAR"):
        base, used = "BPCHAR", 1
        length = 1 if words[0] != "BPCHAR" else None
    else:
        return None
    rest = words[used:]
    if rest[:1] == ["("] and len(rest) >= 3 and rest[2] == ")" and rest[1].isdigit():
        length = int(rest[1])
        rest = rest[3:]
    array = rest[:2] == ["[", "]"]
    if base == "VARCHAR" and length is None:
        return None  # DuckDB's own VARCHAR
    if base == "BPCHAR" and length is None:
        base = "TEXT"  # bpchar without a length: blank-padded of any length, read as text
    spelled = base if length is None else f"{base}({length})"
    return spelled + ("[]" if array else "")


def column_types(statement: Statement) -> tuple[tuple[str, ...], list[tuple[str, str]]] | None:
    """(table name parts, [(column, declared type)]) of a CREATE TABLE or ALTER TABLE ADD
    COLUMN / ALTER COLUMN TYPE, or None for other statements. Columns whose type DuckDB
    keeps are listed with '' (their record goes)."""
    tokens = significant(statement)
    words = [t.upper for t in tokens]
    if words[:1] not in (["CREATE"], ["ALTER"]):
        return None
    at = 1
    if words[at:at + 2] == ["OR", "REPLACE"]:
        at += 2
    if words[at:at + 1] in (["TEMP"], ["TEMPORARY"]):
        return None
    if words[at:at + 1] == ["UNLOGGED"]:
        at += 1
    if words[at:at + 1] != ["TABLE"]:
        return None
    at += 1
    for skip in (["IF", "NOT", "EXISTS"], ["IF", "EXISTS"], ["ONLY"]):
        if words[at:at + len(skip)] == skip:
            at += len(skip)
    name, at = qualified_name(tokens, at)
    found: list[tuple[str, str]] = []
    if words[0] == "CREATE":
        if at >= len(tokens) or tokens[at].text != "(" or "AS" in words[at:at + 1]:
            return None
        close = matching(tokens, at)
        if close + 1 < len(tokens) and words[close + 1] == "AS":
            return None
        for first, end in comma_items(tokens, at + 1, close):
            if words[first] in _ELEMENT_KEYWORDS or first + 1 >= end:
                continue
            found.append((_name(tokens[first]), declared_type(tokens, first + 1, end) or ""))
        return name, found
    for first, end in comma_items(tokens, at, len(tokens)):
        if words[first] == "ADD":
            first += 1
            if words[first:first + 1] == ["COLUMN"]:
                first += 1
            if words[first:first + 3] == ["IF", "NOT", "EXISTS"]:
                first += 3
            if first + 1 < end and words[first] not in _ELEMENT_KEYWORDS:
                found.append((_name(tokens[first]), declared_type(tokens, first + 1, end) or ""))
        elif words[first] == "ALTER":
            first += 1
            if words[first:first + 1] == ["COLUMN"]:
                first += 1
            column = _name(tokens[first])
            rest = words[first + 1:end]
            if rest[:3] == ["SET", "DATA", "TYPE"]:
                found.append((column, declared_type(tokens, first + 4, end) or ""))
            elif rest[:1] == ["TYPE"]:
                found.append((column, declared_type(tokens, first + 2, end) or ""))
    return (name, found) if found else None


class ColumnTypes:
    """Writes forge_meta.column_types on one session's cursor (its transaction)."""

    def __init__(self, connection: Connection, lake: str, lengths: DeclaredLengths) -> None:
        self._connection = connection
        self._table = f"{quote_ident(lake)}.{meta.SCHEMA}.column_types"
        self._lengths = lengths

    def _recorded(self, schema: str, table: str) -> bool:
        """Whether the table has rows here: reading is cheaper than a write to the lake
        that changes nothing (a table swap renames two tables that mostly have none)."""
        return self._connection.execute(
            f"SELECT 1 FROM {self._table} WHERE schema_name = ? AND table_name = ? LIMIT 1",
            [schema, table],
        ).fetchone() is not None

    def record(self, statement: Statement, path: str | None, user: str,
               dropped: set[tuple[str, str | None]]) -> None:
        """After ``statement`` (DDL) ran: record its declared types; forget those of the
        tables ``dropped`` (schema, table), or whole schemas (table None)."""
        execute = self._connection.execute
        if statement.words[:1] != ["DROP"]:
            dropped = set()  # ALTER TABLE ... DROP COLUMN: that column's row goes below
        for schema, table in dropped:
            if table is None:
                execute(f"DELETE FROM {self._table} WHERE schema_name = ?", [schema])
            else:
                execute(f"DELETE FROM {self._table} WHERE schema_name = ? AND table_name = ?",
                        [schema, table])
        renamed = _renamed(statement)
        declared = column_types(statement)
        if declared is None and renamed is None and not dropped:
            return
        self._lengths.changed()
        if declared is None and renamed is None:
            return
        default = next(iter(search_path(path, user)), "public")  # path: SearchPath.normalized
        if renamed is not None:
            parts, new_table, old_column, new_column = renamed
            schema = parts[-2] if len(parts) > 1 else default
            if new_table is not None:
                if self._recorded(schema, parts[-1]):
                    execute(f"UPDATE {self._table} SET table_name = ? WHERE schema_name = ? "
                            "AND table_name = ?", [new_table, schema, parts[-1]])
            else:
                execute(f"UPDATE {self._table} SET column_name = ? WHERE schema_name = ? "
                        "AND table_name = ? AND column_name = ?",
                        [new_column, schema, parts[-1], old_column])
            return
        assert declared is not None
        parts, columns = declared
        schema = parts[-2] if len(parts) > 1 else default
        table = parts[-1]
        # One statement each way, whatever the number of columns: every statement on a
        # lake table costs milliseconds, and a wide CREATE TABLE would pay it per column.
        names = [column for column, _ in columns]
        if statement.words[:1] == ["CREATE"]:
            if self._recorded(schema, table):
                execute(f"DELETE FROM {self._table} WHERE schema_name = ? AND table_name = ?",
                        [schema, table])
        elif names:
            marks = ", ".join("?" * len(names))
            execute(f"DELETE FROM {self._table} WHERE schema_name = ? AND table_name = ? "
                    f"AND column_name IN ({marks})", [schema, table, *names])
        rows = [(column, spelled) for column, spelled in columns if spelled]
        if rows:
            execute(f"INSERT INTO {self._table} VALUES "
                    + ", ".join(["(?, ?, ?, ?)"] * len(rows)),
                    [value for column, spelled in rows
                     for value in (schema, table, column, spelled)])


def _renamed(statement: Statement
             ) -> tuple[tuple[str, ...], str | None, str | None, str | None] | None:
    tokens = significant(statement)
    words = [t.upper for t in tokens]
    if words[:2] != ["ALTER", "TABLE"] or "RENAME" not in words:
        return None
    at = 2
    for skip in (["IF", "EXISTS"], ["ONLY"]):
        if words[at:at + len(skip)] == skip:
            at += len(skip)
    name, at = qualified_name(tokens, at)
    rest = words[at:]
    names = [_name(t) for t in tokens[at:]]
    if rest[:2] == ["RENAME", "TO"] and len(names) == 3:
        return name, names[2], None, None
    if rest[:1] == ["RENAME"] and "TO" in rest and rest.index("TO") + 1 < len(names):
        to = rest.index("TO")
        if rest[1:2] == ["CONSTRAINT"]:
            return None
        return name, None, names[to - 1], names[to + 1]
    return None


def _name(token: Token) -> str:
    return unquote(token.text) if token.text.startswith('"') else token.text.lower()


