"""Destructive and data-dependent statements in SQL text, found with DuckDB's own lexer.

With a way to look up column types, a type change is judged exactly (widening or not);
without one, any type change is reported as data-dependent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.migrate.diff import Risk
from forge_sql.migrate.errors import MigrationError
from forge_sql.migrate.promotion import Promotion, classify
from forge_sql.sql.statements import Statement, split

ColumnType = Callable[[str, str], str | None]  # (table as written, column) -> DuckDB type

_NAME = r'(?:"(?:[^"]|"")*"|[A-Za-z_][\w$]*)'
_QUALIFIED = rf"{_NAME}(?:\s*\.\s*{_NAME}){{0,2}}"
_ALTER_TYPE = re.compile(
    rf"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<table>{_QUALIFIED})\s+ALTER\s+(?:COLUMN\s+)?"
    rf"(?P<column>{_NAME})\s+(?:SET\s+DATA\s+)?TYPE\s+(?P<type>.+?)(?:\s+USING\s+.*)?$",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Finding:
    risk: Risk
    summary: str
    line: int = 0  # in the file; 0 when not tied to a line

    def as_json(self) -> dict[str, object]:
        return {"risk": self.risk.value, "summary": self.summary, "line": self.line}


def statements(text: str, source: str) -> list[Statement]:
    """The statements of SQL text; a syntax error names ``source`` and the line."""
    try:
        return split(text)
    except errors.ForgeError as exc:
        line = text.count("\n", 0, exc.position or 0) + 1
        raise MigrationError(f"{source}:{line}: {exc.message}") from exc


def line_of(text: str, statement: Statement) -> int:
    return text.count("\n", 0, statement.offset) + 1


def check_sql(text: str, source: str, column_type: ColumnType | None = None) -> list[Finding]:
    found = []
    for statement in statements(text, source):
        risk, summary = judge(statement, column_type)
        if risk is not Risk.SAFE:
            found.append(Finding(risk, summary, line_of(text, statement)))
    return found


def judge(statement: Statement, column_type: ColumnType | None = None) -> tuple[Risk, str]:
    """The risk of one statement and a short description of it."""
    words = statement.words
    kind = statement.kind
    head = " ".join(words[:3])
    text = " ".join(statement.sql.split())
    short = text if len(text) <= 80 else text[:77] + "..."
    if kind == "DROP" and len(words) > 1 and words[1] in ("TABLE", "SCHEMA"):
        return Risk.DESTRUCTIVE, f"drops data: {short}"
    if kind == "CREATE" and words[:4] == ["CREATE", "OR", "REPLACE", "TABLE"]:
        return Risk.DESTRUCTIVE, f"replaces a table and its rows: {short}"
    if words[:1] == ["TRUNCATE"] or (kind == "DELETE" and not statement.has_keyword("WHERE")):
        return Risk.DESTRUCTIVE, f"deletes every row: {short}"
    if kind == "ALTER" and statement.has_keyword("DROP") and _drops_column(statement):
        return Risk.DESTRUCTIVE, f"drops a column: {short}"
    if kind == "ALTER":
        match = _ALTER_TYPE.match(statement.sql.strip())
        if match:
            return _retype(match, column_type, short)
        if statement.has_keyword("NOT") and statement.has_keyword("SET") and "NULL" in (
            t.upper for t in statement.tokens
        ):
            return Risk.DATA, f"fails if the column holds NULLs: {short}"
    if kind in ("UPDATE", "DELETE", "MERGE_INTO"):
        return Risk.DATA, f"changes existing rows: {short}"
    return Risk.SAFE, head


def _drops_column(statement: Statement) -> bool:
    uppers = [t.upper for t in statement.tokens]
    for index, word in enumerate(uppers[:-1]):
        if word == "DROP" and uppers[index + 1] not in ("NOT", "DEFAULT"):
            return True
    return False


def _retype(match: re.Match[str], column_type: ColumnType | None, short: str) -> tuple[Risk, str]:
    if column_type is None:
        return Risk.DATA, f"changes a column type (widening or not, depending on it): {short}"
    table = match["table"]
    column = match["column"].strip('"')
    current = column_type(table, column)
    if current is None:
        return Risk.SAFE, short  # the column is created by this migration
    from forge_sql.migrate.declaration import duckdb_type

    try:
        wanted = duckdb_type(match["type"].strip().rstrip(";"))
    except ValueError:
        return Risk.DATA, f"changes a column type: {short}"
    how = classify(current, wanted)
    if how in (Promotion.SAME, Promotion.WIDENING):
        return Risk.SAFE, short
    return Risk.DESTRUCTIVE, f"{how.value} type change {current} -> {wanted}: {short}"
