"""VACUUM and ANALYZE, answered by the server: this storage has nothing for them to do.

PostgreSQL's VACUUM reclaims the space of dead row versions and ANALYZE samples columns
for the planner. A lake table's data files are immutable Parquet: a DELETE or UPDATE
writes delete files that scans apply, and every file carries its own column statistics,
written with it. Merging small files and dropping deleted rows is storage maintenance
(``CALL forge_compact()``, scheduled by the server), which rewrites the lake's files and
so is not tied to one client's statement. Both statements check what PostgreSQL checks
(the options, that the tables and columns exist, VACUUM outside a transaction block) and
change nothing (docs/compatibility.md, "VACUUM and ANALYZE").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.engine.connection import Connection
from forge_sql.engine.result import TagResult
from forge_sql.sql.statements import Statement, Token

# PostgreSQL 17's options (docs, "VACUUM", "ANALYZE"); the older unparenthesised ones are
# keywords before the table list.
VACUUM_OPTIONS = frozenset({
    "FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE", "DISABLE_PAGE_SKIPPING",
    "SKIP_LOCKED", "INDEX_CLEANUP", "PROCESS_MAIN", "PROCESS_TOAST", "TRUNCATE", "PARALLEL",
    "SKIP_DATABASE_STATS", "ONLY_DATABASE_STATS", "BUFFER_USAGE_LIMIT",
})
ANALYZE_OPTIONS = frozenset({"VERBOSE", "SKIP_LOCKED", "BUFFER_USAGE_LIMIT"})
_OLD_VACUUM_WORDS = ("FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE")


@dataclass(frozen=True, slots=True)
class Target:
    """One table of the statement's list, with the columns named for it."""

    name: str  # as written: quotes and schema kept
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Maintenance:
    verb: str  # VACUUM or ANALYZE
    options: tuple[str, ...]
    targets: tuple[Target, ...]


def parse(statement: Statement) -> Maintenance:
    """``VACUUM [(option [value], ...)] [FULL] [FREEZE] [VERBOSE] [ANALYZE] [table [(column,
    ...)], ...]`` and ``ANALYZE [(option ...)] [VERBOSE] [table [(column, ...)], ...]``."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    verb = "ANALYZE" if tokens[0].upper in ("ANALYZE", "ANALYSE") else "VACUUM"
    allowed = VACUUM_OPTIONS if verb == "VACUUM" else ANALYZE_OPTIONS
    at = 1
    options: list[str] = []
    if at < len(tokens) and tokens[at].text == "(":
        close = _closing(tokens, at)
        for item in _split(tokens[at + 1 : close]):
            word = item[0].upper
            if word not in allowed:
                raise errors.SyntaxError_(
                    f'unrecognized {verb} option "{item[0].text.lower()}"'
                )
            if len(item) == 1 or not _false(item[1]):
                options.append(word)
        at = close + 1
    old_words = _OLD_VACUUM_WORDS if verb == "VACUUM" else ("VERBOSE",)
    while at < len(tokens) and tokens[at].upper in old_words:
        options.append(tokens[at].upper)
        at += 1
    targets: list[Target] = []
    while at < len(tokens):
        first = at
        while at + 2 < len(tokens) and tokens[at + 1].text == ".":
            at += 2
        if tokens[at].kind not in ("identifier", "keyword"):
            raise errors.SyntaxError_(f'syntax error at or near "{tokens[at].text}"')
        name = statement.sql[tokens[first].start : tokens[at].end]
        at += 1
        columns: tuple[str, ...] = ()
        if at < len(tokens) and tokens[at].text == "(":
            close = _closing(tokens, at)
            columns = tuple(_identifier(item[0]) for item in _split(tokens[at + 1 : close]))
            at = close + 1
        targets.append(Target(name, columns))
        if at < len(tokens):
            if tokens[at].text != ",":
                raise errors.SyntaxError_(f'syntax error at or near "{tokens[at].text}"')
            at += 1
    return Maintenance(verb, tuple(options), tuple(targets))


def run(statement: Statement, connection: Connection, in_transaction: bool) -> TagResult:
    """Check the statement as PostgreSQL does, then do nothing: see the module docstring."""
    maintenance = parse(statement)
    if maintenance.verb == "VACUUM" and in_transaction:
        raise errors.ActiveSqlTransaction("VACUUM cannot run inside a transaction block")
    analyzing = maintenance.verb == "ANALYZE" or any(
        o in ("ANALYZE", "ANALYSE") for o in maintenance.options
    )
    for target in maintenance.targets:
        if target.columns and not analyzing:
            raise errors.FeatureNotSupported(
                "ANALYZE option must be specified when a column list is provided"
            )
        found = connection.execute(f"SELECT * FROM {target.name} LIMIT 0").description or ()
        names = {str(d[0]).lower() for d in found}
        for column in target.columns:
            if column.lower() not in names:
                relation = target.name.rpartition(".")[2].strip('"')
                raise errors.UndefinedColumn(
                    f'column "{column}" of relation "{relation}" does not exist'
                )
    return TagResult(maintenance.verb)


def _closing(tokens: Sequence[Token], opening: int) -> int:
    depth = 0
    for at in range(opening, len(tokens)):
        depth += {"(": 1, ")": -1}.get(tokens[at].text, 0)
        if depth == 0:
            return at
    raise errors.SyntaxError_("syntax error at end of input")


def _split(tokens: Sequence[Token]) -> list[Sequence[Token]]:
    """Comma-separated items, each non-empty."""
    items: list[list[Token]] = [[]]
    for token in tokens:
        if token.text == ",":
            items.append([])
        else:
            items[-1].append(token)
    if any(not item for item in items):
        raise errors.SyntaxError_('syntax error at or near ","')
    return [item for item in items if item]


def _false(token: Token) -> bool:
    return token.text.strip("'").upper() in ("FALSE", "OFF", "0")


def _identifier(token: Token) -> str:
    text = token.text
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text.lower()
