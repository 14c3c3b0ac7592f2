"""Statement splitting and classification: kind and command tag."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import duckdb

from forge_sql import errors
from forge_sql.sql import configuration
from forge_sql.sql.duckdb_errors import translate

T = TypeVar("T")

_CREATE_OBJECTS = {
    "TABLE",
    "VIEW",
    "SCHEMA",
    "INDEX",
    "SEQUENCE",
    "MACRO",
    "FUNCTION",
    "TYPE",
    "SECRET",
}


@dataclass(frozen=True, slots=True)
class Token:
    start: int
    end: int
    kind: str  # identifier, numeric_const, string_const, operator, keyword, comment
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement as the engine sees it."""

    sql: str
    kind: str  # DuckDB StatementType name: SELECT, INSERT, TRANSACTION, SET, ...
    tokens: tuple[Token, ...]
    offset: int = 0  # where the statement starts in the query string it came from

    @property
    def words(self) -> list[str]:
        """Leading keywords and identifiers, upper-cased (comments skipped)."""
        return [t.upper for t in self.tokens if t.kind in ("keyword", "identifier")][:6]

    @property
    def returns_rows(self) -> bool:
        if self.kind in ("SELECT", "EXPLAIN", "CALL", "PRAGMA", "EXECUTE"):
            return True
        return self.kind in ("INSERT", "UPDATE", "DELETE") and self.has_keyword("RETURNING")

    def has_keyword(self, word: str) -> bool:
        return any(t.kind == "keyword" and t.upper == word for t in self.tokens)

    def tag(self, rows: int) -> str:
        """CommandComplete tag, as PostgreSQL words it."""
        kind = self.kind
        if kind == "DELETE" and self.words[:1] == ["TRUNCATE"]:
            return "TRUNCATE TABLE"
        if kind == "INSERT":
            return f"INSERT 0 {rows}"
        if kind in ("SELECT", "UPDATE", "DELETE", "COPY", "MERGE_INTO"):
            return f"{'MERGE' if kind == 'MERGE_INTO' else kind} {rows}"
        words = self.words
        if kind == "CREATE" and "TABLE" in words and self.has_keyword("AS"):
            return f"SELECT {rows}"  # CREATE TABLE AS reports the rows it stored
        if kind in ("CREATE", "DROP", "ALTER") and words:
            obj = next((w for w in words[1:] if w in _CREATE_OBJECTS), "")
            obj = "FUNCTION" if obj == "MACRO" else obj
            return f"{words[0]} {obj}".strip()
        if kind == "CREATE_FUNC":
            return "CREATE FUNCTION"
        return words[0] if words else kind


def tokenize(sql: str) -> tuple[Token, ...]:
    """DuckDB's lexer (comments dropped), with each token's text."""
    starts = duckdb.tokenize(sql)
    if not sql.isascii():
        starts = _character_offsets(sql, starts)
    tokens = []
    for index, (start, kind) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(sql)
        text = sql[start:end]
        if kind.name == "identifier" and text.startswith('"'):
            quoted = _QUOTED.match(text)
            text = quoted.group(0) if quoted else text
        elif kind.name == "string_const":
            text = text[: _string_end(text)]
        else:
            # The lexer gives starts only: cut at trailing white space or a comment.
            text = _TOKEN_END.split(text, maxsplit=1)[0]
        text = text.rstrip()
        tokens.append(Token(start, start + len(text), kind.name, text))
    return tuple(tokens)


_TOKEN_END = re.compile(r"\s|--|/\*")
_DOLLAR_TAG = re.compile(r"\$[A-Za-z_0-9]*\$")


def _string_end(text: str) -> int:
    """Length of the string literal at the start of ``text`` (what follows may be a
    comment): '...' with '' inside, E'...' with backslash escapes, or $tag$...$tag$."""
    dollar = _DOLLAR_TAG.match(text)
    if dollar is not None:
        end = text.find(dollar.group(0), dollar.end())
        return len(text) if end < 0 else end + len(dollar.group(0))
    quote = text.find("'")
    if quote < 0:
        return len(text)
    backslash = text[:quote].upper().endswith("E")
    index = quote + 1
    while index < len(text):
        char = text[index]
        if backslash and char == "\\":
            index += 2
            continue
        if char == "'":
            if text[index + 1 : index + 2] == "'":
                index += 2
                continue
            return index + 1
        index += 1
    return len(text)
# A quoted identifier may hold spaces; "" inside it is an escaped quote.
_QUOTED = re.compile(r'"(?:[^"]|"")*"?')


def _character_offsets(sql: str, starts: list[tuple[int, T]]) -> list[tuple[int, T]]:
    """DuckDB's lexer counts UTF-8 bytes; Python strings count characters."""
    encoded = sql.encode()
    converted = []
    byte, char = 0, 0
    for start, kind in starts:
        char += len(encoded[byte:start].decode())
        byte = start
        converted.append((char, kind))
    return converted


# Rewrites SQL that DuckDB's parser refuses into what the session would execute (for
# classification only), or returns it unchanged.
Reparse = Callable[[str], str]


def split(sql: str, reparse: Reparse | None = None) -> list[Statement]:
    """Statements of a simple-query string, in order, split at top-level semicolons.
    ``reparse``: a statement DuckDB's parser refuses is classified by what it rewrites it
    to (the pg_catalog emulation's ``OPERATOR(pg_catalog.~)``, ``::pg_catalog.text``)."""
    tokens = tokenize(sql)
    pieces: list[Statement] = []
    first = 0
    for index, token in enumerate(tokens):
        if token.kind == "operator" and token.text.startswith(";"):
            if index > first:
                pieces.append(
                    _statement(
                        sql, tokens[first].start, token.start, tokens[first:index], reparse
                    )
                )
            first = index + 1
    if first < len(tokens):
        pieces.append(
            _statement(sql, tokens[first].start, len(sql), tokens[first:], reparse)
        )
    return pieces


def classify(sql: str, reparse: Reparse | None = None) -> Statement:
    """One statement (a Parse message): more than one is an error, as in PostgreSQL."""
    statements = split(sql, reparse)
    if len(statements) > 1:
        raise errors.SyntaxError_("cannot insert multiple commands into a prepared statement")
    if not statements:
        return Statement("", "EMPTY", ())
    return statements[0]


def _statement(
    query: str, start: int, end: int, tokens: Sequence[Token], reparse: Reparse | None
) -> Statement:
    sql = query[start:end]
    shifted = tuple(Token(t.start - start, t.end - start, t.kind, t.text) for t in tokens)
    kind = _server_kind(sql, shifted)
    if kind is None:
        try:
            parsed = _parse(sql, reparse)
        except duckdb.Error as exc:
            error = translate(exc, sql)
            if error.position is not None:
                error.position += start
            raise error from exc
        kind = parsed[0].type.name if parsed else "EMPTY"
    return Statement(sql, kind, shifted, start)


def _parse(sql: str, reparse: Reparse | None) -> list[duckdb.Statement]:
    """DuckDB's parse of ``sql``, or of what ``reparse`` makes of it."""
    try:
        return duckdb.extract_statements(sql)
    except duckdb.ParserException:
        rewritten = reparse(sql) if reparse is not None else sql
        if rewritten == sql:
            raise
        return duckdb.extract_statements(rewritten)


def _server_kind(sql: str, tokens: Sequence[Token]) -> str | None:
    """Kinds the server answers itself (PostgreSQL syntax DuckDB's parser refuses)."""
    first = tokens[0].upper
    if first in ("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"):
        return "TRANSACTION"
    if first in ("SAVEPOINT", "RELEASE"):
        return "TRANSACTION"
    if first in ("SET", "SHOW", "RESET") and configuration.parse(sql):
        return "SETTING"
    if first in ("DEALLOCATE", "DISCARD", "CLOSE", "LISTEN", "UNLISTEN", "NOTIFY"):
        return "SESSION"
    if first in ("DECLARE", "FETCH", "MOVE"):
        return "CURSOR"
    if is_role_command(tokens):
        return "ROLE"  # CREATE ROLE, GRANT, ...: answered by the server (role_commands)
    if first in ("CREATE", "ALTER", "DROP") and _declares_constraint(tokens):
        return first  # PostgreSQL key syntax DuckDB's parser may refuse (engine.constraints)
    if first == "COPY" and any(t.upper in ("STDIN", "STDOUT") for t in tokens):
        return "COPY"  # PostgreSQL's option syntax, which DuckDB's parser refuses
    return None

def is_role_command(tokens: Sequence[Token]) -> bool:
    """CREATE ROLE, GRANT, REVOKE, ALTER DEFAULT PRIVILEGES ...: answered by the server
    (forge_sql.engine.role_commands)."""
    words = [t.upper for t in tokens[:4]]
    if words[:1] in (["GRANT"], ["REVOKE"]):
        return True
    if words[:3] == ["ALTER", "DEFAULT", "PRIVILEGES"]:
        return True
    if words[:1] == ["DROP"] and words[1:2] in (["ROLE"], ["USER"], ["GROUP"]):
        return True
    return words[:1] in (["CREATE"], ["ALTER"]) and words[1:2] in (["ROLE"], ["USER"], ["GROUP"])


def _declares_constraint(tokens: Sequence[Token]) -> bool:
    words = [t.upper for t in tokens[:4] if t.kind != "comment"]
    if words[1:2] == ["INDEX"] or words[:3] == ["CREATE", "UNIQUE", "INDEX"]:
        return True
    if words[0] == "DROP":
        return False
    keys = ("PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "FOREIGN", "CONSTRAINT", "EXCLUDE")
    return any(t.upper in keys and t.kind == "keyword" for t in tokens)


def identifier(statement: Statement, token: Token) -> str:
    """The name ``token`` spells, as PostgreSQL resolves it: a quoted identifier keeps its
    case (and may hold spaces, which end the lexer's token text), others fold to lower."""
    if not token.text.startswith('"'):
        return token.text.lower()
    sql = statement.sql
    index = token.start + 1
    name: list[str] = []
    while index < len(sql):
        char = sql[index]
        if char == '"':
            if sql[index + 1 : index + 2] != '"':
                return "".join(name)
            index += 1
        name.append(char)
        index += 1
    raise errors.SyntaxError_(f"unterminated quoted identifier at or near {token.text}")
