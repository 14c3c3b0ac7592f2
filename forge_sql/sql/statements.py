"""Statement splitting and classification: kind and command tag, tokens made once, the
rewrite pass's edits, and DuckDB's parse of what will run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from forge_sql import errors
from forge_sql.sql import configuration, object_lists, rewrite
from forge_sql.sql.duckdb_errors import translate
from forge_sql.sql.rewrite import Edit, Rules, Source
from forge_sql.sql.tokens import Token, tokenize

__all__ = ["Statement", "Token", "classify", "identifier", "is_role_command", "split",
           "tokenize"]

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
class Statement:
    """One SQL statement as the engine sees it."""

    sql: str
    kind: str  # DuckDB StatementType name: SELECT, INSERT, TRANSACTION, SET, ...
    tokens: tuple[Token, ...]
    offset: int = 0  # where the statement starts in the query string it came from
    # The rewrite pass's edits of ``sql`` (on its token offsets), and their result.
    edits: tuple[Edit, ...] = ()
    rewritten: str | None = None
    # SET/SHOW/RESET of a PostgreSQL parameter: the command, parsed once here.
    command: configuration.SettingCommand | None = None
    # DuckDB's parse of ``rewritten or sql``: executed as is, not parsed again.
    parsed: duckdb.Statement | None = field(default=None, compare=False, repr=False)

    def as_rewritten(self) -> Statement:
        """The statement DuckDB runs, as a statement of its own: its tokens are made from
        this one's, only the edited places lexed again (rewrite.apply_tokens)."""
        if self.rewritten is None:
            return self
        text, tokens = rewrite.apply_tokens(self.sql, self.tokens, self.edits)
        if text != self.rewritten:  # not made by this statement's edits
            text, tokens = self.rewritten, tokenize(self.rewritten)
        return Statement(text, self.kind, tokens, self.offset)

    @property
    def for_duckdb(self) -> str:
        """The text DuckDB runs: the client's, rewritten."""
        return self.sql if self.rewritten is None else self.rewritten

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


def split(sql: str, rules: Rules = ()) -> list[Statement]:
    """Statements of a simple-query string, in order, split at top-level semicolons, each
    rewritten by ``rules`` (forge_sql.sql.rewrite) and parsed by DuckDB once."""
    tokens = tokenize(sql)
    pieces: list[Statement] = []
    first = 0
    for index, token in enumerate(tokens):
        if token.kind == "operator" and token.text.startswith(";"):
            if index > first:
                pieces.append(
                    _statement(sql, tokens[first].start, token.start, tokens[first:index], rules)
                )
            first = index + 1
    if first < len(tokens):
        pieces.append(_statement(sql, tokens[first].start, len(sql), tokens[first:], rules))
    return pieces


def classify(sql: str, rules: Rules = ()) -> Statement:
    """One statement (a Parse message): more than one is an error, as in PostgreSQL."""
    return single(split(sql, rules))


def single(statements: Sequence[Statement]) -> Statement:
    """The one statement of a Parse message's split text (``classify``)."""
    if len(statements) > 1:
        raise errors.SyntaxError_("cannot insert multiple commands into a prepared statement")
    if not statements:
        return Statement("", "EMPTY", ())
    return statements[0]


def tail(statement: Statement, index: int, rules: Rules = ()) -> Statement:
    """The statement starting at token ``index`` of ``statement`` (what EXPLAIN or PREPARE
    ... AS holds), from the tokens already made; its offset counts from ``statement``'s."""
    first = statement.tokens[index].start
    return _statement(statement.sql, first, len(statement.sql), statement.tokens[index:], rules)


def _statement(
    query: str, start: int, end: int, tokens: Sequence[Token], rules: Rules
) -> Statement:
    sql = query[start:end]
    shifted = tuple(Token(t.start - start, t.end - start, t.kind, t.text) for t in tokens)
    command = None
    if shifted[0].upper in ("SET", "SHOW", "RESET"):
        command = configuration.parse(sql)
    kind = _server_kind(sql, shifted, command)
    if kind is not None:
        return Statement(sql, kind, shifted, start, command=command)
    edits = rewrite.edits(Source.of(sql, shifted), rules) if rules else ()
    rewritten = rewrite.apply(sql, edits) if edits else None
    try:
        parsed = _parse(sql, rewritten)
    except duckdb.Error as exc:
        if _parses_with_inferred_arbiter(rewritten or sql):
            # ON CONFLICT ON CONSTRAINT, which DuckDB's parser refuses: the server runs it
            # on lake tables (forge_sql.engine.upsert).
            return Statement(sql, "INSERT", shifted, start, edits, rewritten)
        error = translate(exc, sql)
        if error.position is not None:
            error.position += start
        raise error from exc
    if len(parsed) != 1:
        kind = parsed[0].type.name if parsed else "EMPTY"
        return Statement(sql, kind, shifted, start, edits, rewritten)
    return Statement(sql, parsed[0].type.name, shifted, start, edits, rewritten, None, parsed[0])


def _parses_with_inferred_arbiter(text: str) -> bool:
    """Whether ``text`` is one INSERT ... ON CONFLICT ON CONSTRAINT name that DuckDB's parser
    accepts once the arbiter is written as a column list: what the server cuts into clauses
    is then an INSERT's, whatever else the text holds."""
    tokens = tokenize(text)
    for i in range(len(tokens) - 3):
        if [t.upper for t in tokens[i : i + 3]] == ["CONFLICT", "ON", "CONSTRAINT"]:
            name = tokens[i + 3]
            inferred = f"{text[: tokens[i + 1].start]}({name.text}){text[name.end :]}"
            try:
                parsed = duckdb.extract_statements(inferred)
            except duckdb.Error:
                return False
            return len(parsed) == 1 and parsed[0].type.name == "INSERT"
    return False


def _parse(sql: str, rewritten: str | None) -> list[duckdb.Statement]:
    """DuckDB's parse of the text that will run; when the rewritten text does not parse,
    the client's own text's error (its positions are the client's)."""
    if rewritten is None:
        return duckdb.extract_statements(sql)
    try:
        return duckdb.extract_statements(rewritten)
    except duckdb.ParserException as exc:
        try:
            duckdb.extract_statements(sql)
        except duckdb.ParserException:
            raise
        raise translate(exc, None) from exc


def _server_kind(
    sql: str, tokens: Sequence[Token], command: configuration.SettingCommand | None
) -> str | None:
    """Kinds the server answers itself (PostgreSQL syntax DuckDB's parser refuses)."""
    first = tokens[0].upper
    if first in ("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"):
        return "TRANSACTION"
    if first in ("SAVEPOINT", "RELEASE"):
        return "TRANSACTION"
    if command is not None:
        return "SETTING"
    if first in ("DEALLOCATE", "DISCARD", "CLOSE", "LISTEN", "UNLISTEN", "NOTIFY"):
        return "SESSION"
    if first in ("DECLARE", "FETCH", "MOVE"):
        return "CURSOR"
    if is_role_command(tokens):
        return "ROLE"  # CREATE ROLE, GRANT, ...: answered by the server (role_commands)
    if first in ("CREATE", "ALTER", "DROP", "REFRESH") and _names_matview(tokens):
        return "MATVIEW"  # no materialized views in DuckDB (engine.materialized_views)
    if first in ("CREATE", "ALTER", "DROP") and _names_sequence(tokens):
        return "SEQUENCE"  # PostgreSQL's options DuckDB's parser refuses (engine.sequences)
    if first in ("DROP", "TRUNCATE") and object_lists.parse(sql, tokens) is not None:
        # DROP TABLE a, b / TRUNCATE a, b: one DuckDB statement per object (sql.object_lists)
        return "DROP" if first == "DROP" else "DELETE"
    if first in ("VACUUM", "ANALYZE", "ANALYSE"):
        return "VACUUM"  # nothing to reclaim or gather on this storage (engine.vacuum)
    if first in ("CREATE", "ALTER") and any(t.upper == "IDENTITY" for t in tokens):
        return first  # GENERATED ... AS IDENTITY: DuckDB's parser refuses it (serial_columns)
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


def _names_sequence(tokens: Sequence[Token]) -> bool:
    """CREATE [TEMP] SEQUENCE, ALTER SEQUENCE, DROP SEQUENCE."""
    words = [t.upper for t in tokens[:3] if t.kind != "comment"]
    if words[1:2] in (["TEMP"], ["TEMPORARY"], ["UNLOGGED"]):
        words = words[:1] + words[2:]
    return words[1:2] == ["SEQUENCE"]


def _names_matview(tokens: Sequence[Token]) -> bool:
    """CREATE / ALTER / DROP / REFRESH MATERIALIZED VIEW."""
    words = [t.upper for t in tokens[:3] if t.kind != "comment"]
    return words[1:3] == ["MATERIALIZED", "VIEW"]


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
