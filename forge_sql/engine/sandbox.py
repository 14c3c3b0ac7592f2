"""What a client may run, decided on DuckDB's own lexer and parser before anything runs:
statement kinds, functions, and the objects a statement names (docs/security.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import duckdb

from forge_sql import catalog, errors
from forge_sql.engine.rules import RULES
from forge_sql.sql.statements import Statement, Token, tail

_HINT = "forge-sql clients read and write data through SQL and COPY over the connection only."

# Statement kinds no client may run: they reach outside the data directory or change what
# the process has loaded (DESIGN.md, security defaults).
_FORBIDDEN = {
    "LOAD": "LOAD and INSTALL are not allowed",
    "ATTACH": "ATTACH is not allowed",
    "DETACH": "DETACH is not allowed",
    "EXPORT": "EXPORT DATABASE is not allowed",
    "COPY_DATABASE": "COPY FROM DATABASE is not allowed",
    "UPDATE_EXTENSIONS": "UPDATE EXTENSIONS is not allowed",
    "EXTENSION": "extension statements are not allowed",
    "LOGICAL_PLAN": "logical plans are not allowed",
    "RELATION": "relation statements are not allowed",
    "MULTI": "multi-statements are not allowed",
}

# Kinds only superusers may run: they act on the whole server (PRAGMA switches profiling or
# forces a checkpoint, VACUUM rewrites storage, CALL reaches DuckDB's procedures such as
# enable_logging), not on the data a role was granted.
_SUPERUSER_KINDS = {
    "PRAGMA": "PRAGMA",
    "VACUUM": "VACUUM",
    "CALL": "CALL",
}

# Functions no client may call. The postgres extension's (loaded when the catalog is in
# PostgreSQL) run SQL on the catalog's server or connect to any host even with external
# access disabled (checked on DuckDB 1.5.5); query(), query_table() and
# json_execute_serialized_sql() run SQL built at run time, which no check of the statement's
# own words can see.
_FORBIDDEN_FUNCTIONS = frozenset(
    {
        "postgres_query",
        "postgres_execute",
        "postgres_scan",
        "postgres_scan_pushdown",
        "postgres_attach",
        "postgres_configure_pool",
        "pg_clear_cache",
        "read_postgres_binary",
        "query",
        "query_table",
        "json_execute_serialized_sql",
    }
)

# DuckDB's table functions a role may call: generators and catalog listings. Every other
# built-in table function (read_*, glob, parquet_*, duckdb_logs, duckdb_secrets,
# enable_logging, checkpoint, ducklake_*, pragma_* of storage, ...) reads files, the
# server's settings, logs or storage, or changes them: superusers only.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "repeat",
        "repeat_row",
        "json_each",
        "json_tree",
        "pg_timezone_names",
        "icu_calendar_names",
        "test_all_types",
        "summary",  # SUMMARIZE
        "duckdb_columns",
        "duckdb_constraints",
        "duckdb_databases",
        "duckdb_dependencies",
        "duckdb_functions",
        "duckdb_indexes",
        "duckdb_keywords",
        "duckdb_schemas",
        "duckdb_sequences",
        "duckdb_settings",
        "duckdb_tables",
        "duckdb_types",
        "duckdb_variables",
        "duckdb_views",
        "duckdb_prepared_statements",
        "pragma_table_info",  # DESCRIBE
        "pragma_show",
        "pragma_version",
        "pragma_platform",
        "pragma_user_agent",
        "pragma_collations",
    }
)

# Statement texts whose check passed that a Sandbox remembers (sessions share it).
_PASSED_KEPT = 4096

# Built-in scalar functions that reach past the statement's own data: DuckDB's log.
_SUPERUSER_SCALARS = frozenset({"write_log"})

# Catalogs and schemas that hold the server's own state: the DuckLake metadata (every
# table's files and snapshots), the server's database (the pg_catalog emulation and its
# copies) and DuckDB's system catalog, and the lake's forge_meta (migrations, declared keys,
# external datasets, the migration lock).
_INTERNAL_QUALIFIERS = frozenset(
    {"server", "system", "pgc", "pgc_information_schema", "forge_ext"}
)
_LAKE_METADATA_PREFIX = "__ducklake_metadata"

# Words after which a name is the target a statement writes or defines.
_TARGET_AFTER = {
    "INSERT": ("INTO",),
    "UPDATE": ("UPDATE",),
    "DELETE": ("FROM", "TRUNCATE", "TABLE"),
    "MERGE_INTO": ("INTO",),
}
_OBJECT_WORDS = frozenset(
    {"TABLE", "VIEW", "SEQUENCE", "MACRO", "FUNCTION", "TYPE", "INDEX", "SCHEMA", "COLUMN"}
)
_SKIP_WORDS = frozenset({"IF", "NOT", "EXISTS", "OR", "REPLACE", "TEMP", "TEMPORARY", "ONLY"})
_STRUCTURE_WORDS = _SKIP_WORDS | _OBJECT_WORDS | {"UNIQUE", "PERSISTENT", "MATERIALIZED"}


@dataclass(frozen=True, slots=True)
class Name:
    """A possibly qualified name as a statement spells it, each part unquoted and folded."""

    parts: tuple[str, ...]
    start: int  # index of its first token

    @property
    def last(self) -> str:
        return self.parts[-1]


class Sandbox:
    """The rules, with the names that need the running server (its catalog and the lake's)."""

    def __init__(self, lake: str, server_relations: Iterable[str],
                 table_functions: Iterable[str], system_views: Iterable[str] = (),
                 functions: Iterable[str] = ()) -> None:
        self.lake = lake.lower()
        self._passed: set[tuple[str, bool]] = set()  # (statement text, superuser) allowed
        # Relations of the server's database (the emulation's views and their backing
        # tables) and DuckDB's system views. Unqualified, they resolve through the session's
        # search path after the lake's public schema, so no role may write, drop, alter or
        # shadow them: a view public.pg_class would answer every client's catalog queries.
        self.server_relations = (
            frozenset(n.lower() for n in (*server_relations, *system_views)) | catalog.PROVIDED
        )
        # Built-in and emulation functions: a macro of the same name in public would be
        # called instead of them by every session (checked on DuckDB 1.5.5).
        self.functions = frozenset(n.lower() for n in functions)
        self.denied_table_functions = (
            frozenset(n.lower() for n in table_functions) - ALLOWED_TABLE_FUNCTIONS
        )
        # DuckDB's system views over those functions (duckdb_logs), named without parentheses.
        self.denied_relations = (
            frozenset(n.lower() for n in system_views) & self.denied_table_functions
        )

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, lake: str) -> Sandbox:
        relations = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'server' UNION "
                "SELECT view_name FROM duckdb_views() WHERE database_name = 'server'"
            ).fetchall()
        ]
        functions = [
            name
            for (name,) in con.execute(
                "SELECT function_name FROM duckdb_functions() "
                "WHERE function_type IN ('table', 'table_macro', 'pragma') "
                "AND database_name = 'system' EXCEPT "
                # Names that are also scalar functions (version(), repeat()) stay callable.
                "SELECT function_name FROM duckdb_functions() "
                "WHERE function_type NOT IN ('table', 'table_macro', 'pragma')"
            ).fetchall()
        ]
        views = [
            name
            for (name,) in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE database_name = 'system'"
            ).fetchall()
        ]
        every_function = [
            name
            for (name,) in con.execute(
                "SELECT DISTINCT function_name FROM duckdb_functions() "
                # forge_ext: the extensions' functions, which no client may shadow.
                "WHERE database_name IN ('system', 'server', 'forge_ext')"
            ).fetchall()
        ]
        return cls(lake, relations, functions, views, every_function)

    def add_functions(self, names: Iterable[str]) -> None:
        """Functions a reload of the extensions added: built-in from now on."""
        self.functions = self.functions | {n.lower() for n in names}
        self._passed.clear()

    def check(self, statement: Statement, superuser: bool) -> None:
        """Raise 42501 unless the statement, and any statement inside it (PREPARE, EXPLAIN),
        is one this role may run."""
        # The rules read the statement's text and this object's names only, so a text that
        # passed once passes again: clients send the same statements over and over.
        key = (statement.sql, superuser)
        if key in self._passed:
            return
        for part in _nested(statement):
            _check_any(part)
            self._check_databases(part)
            if not superuser:
                self._check_role(part)
        if len(self._passed) >= _PASSED_KEPT:
            self._passed.clear()
        self._passed.add(key)

    def _check_databases(self, statement: Statement) -> None:
        """``db.pg_catalog.x`` and ``db.information_schema.x`` name the emulation's relations
        (forge_sql.catalog.rewrite drops the qualifier) in this database only; PostgreSQL
        refuses any other database (namespace.c, DeconstructQualifiedName)."""
        for name in _names(statement):
            parts = name.parts
            if (
                len(parts) >= 3
                and parts[-2] in ("pg_catalog", "information_schema")
                and parts[-3] != self.lake
            ):
                raise errors.FeatureNotSupported(
                    f"cross-database references are not implemented: {'.'.join(parts)}"
                )

    # -- rules for roles that are not superusers ---------------------------------------------
    def _check_role(self, statement: Statement) -> None:
        kind = statement.kind
        analyze = kind == "VACUUM" and statement.words[:1] == ["ANALYZE"]
        if kind in _SUPERUSER_KINDS and not analyze:
            raise _refuse(f"{_SUPERUSER_KINDS[kind]} is reserved to superusers")
        tokens = statement.tokens
        for name in _names(statement):
            self._check_name(name)
        for index, token in enumerate(tokens):
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if following is not None and following.text == "(" and _is_word(token):
                function = _fold(statement, token)
                if function in self.denied_table_functions or function in _SUPERUSER_SCALARS:
                    raise _refuse(f"function {function}() is reserved to superusers")
        if _reads_file(statement):
            raise _refuse("reading files is reserved to superusers")
        defines_function = any(w in ("MACRO", "FUNCTION") for w in statement.words[:5])
        for target in _targets(statement):
            if target.last in self.server_relations and (
                len(target.parts) == 1 or target.parts[-2] in ("public", self.lake, "main")
            ):
                raise _refuse(f"{target.last} is a system catalog relation")
            if defines_function and target.last in self.functions:
                raise _refuse(f"function {target.last}() is a built-in function")

    def _check_name(self, name: Name) -> None:
        qualifiers = name.parts[:-1]
        for part in qualifiers:
            if part.startswith(_LAKE_METADATA_PREFIX):
                raise _refuse("the lake's metadata is reserved to superusers")
            if part in _INTERNAL_QUALIFIERS:
                raise _refuse(f'schema "{part}" is reserved to the server')
            if part in catalog.HIDDEN_SCHEMAS:
                raise _refuse(f'schema "{part}" is reserved to superusers')
        last = name.last
        if last in self.denied_relations:
            raise _refuse(f"{last} is reserved to superusers")
        if last.startswith(_LAKE_METADATA_PREFIX) or last in catalog.HIDDEN_SCHEMAS:
            # CREATE/DROP/ALTER SCHEMA forge_meta, USE, a bare catalog name.
            raise _refuse(f'"{last}" is reserved to superusers')


def _check_any(statement: Statement) -> None:
    """Rules for every client, superusers included: nothing may leave the sandbox."""
    reason = _FORBIDDEN.get(statement.kind)
    if statement.kind == "SET" and statement.words[:2] not in (
        ["SET", "VARIABLE"],
        ["RESET", "VARIABLE"],
    ):
        # PostgreSQL settings are answered by the server; DuckDB's belong to the operator.
        reason = "DuckDB settings are fixed by the server configuration"
    if reason is None and statement.kind == "COPY" and not is_stdio_copy(statement):
        reason = (
            "COPY to or from a server file is not allowed; use COPY ... FROM STDIN or TO STDOUT"
        )
    if statement.kind in ("CREATE", "DROP") and _names_secret(statement.words):
        # The server's secret holds the lake's object-storage credentials; a client's own
        # could redirect or read what those credentials reach.
        reason = "secrets are managed by the server configuration"
    if reason is None:
        for token, following in zip(statement.tokens, statement.tokens[1:], strict=False):
            if following.text == "(" and _is_word(token):
                name = token.text.strip('"').lower()
                if name in _FORBIDDEN_FUNCTIONS:
                    reason = f"function {name}() is not allowed"
                    break
    if reason is not None:
        raise errors.InsufficientPrivilege(f"permission denied: {reason}", hint=_HINT)
    if statement.kind == "CREATE" and "SCHEMA" in statement.words[:3]:
        for target in _targets(statement):
            name = target.last
            if name.startswith("pg_") or name == "information_schema":
                # PostgreSQL reserves these (CREATE SCHEMA); here a lake schema of that
                # name would also take the place of the emulation's for unprovided views.
                raise errors.ReservedName(
                    f'unacceptable schema name "{name}"',
                    detail='The prefix "pg_" is reserved for system schemas.',
                )


def check_allowed(statement: Statement) -> None:
    """The rules for every client, on a statement and those nested in it."""
    for part in _nested(statement):
        _check_any(part)


def _refuse(reason: str) -> errors.ForgeError:
    return errors.InsufficientPrivilege(
        f"permission denied: {reason}",
        hint="Superusers are the users configured with superuser = true; "
        "docs/security.md says what other roles may run.",
    )


def _nested(statement: Statement) -> Iterator[Statement]:
    """The statement, then the statements PREPARE ... AS and EXPLAIN [ANALYZE] wrap."""
    yield statement
    inner = _inner_start(statement)
    if inner is not None:
        # From the tokens made once (forge_sql.sql.statements.tail), not the text again.
        yield from _nested(tail(statement, statement.tokens.index(inner), RULES))


def _inner_start(statement: Statement) -> Token | None:
    """The first token of the statement PREPARE ... AS or EXPLAIN holds."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    if not tokens:
        return None
    first = tokens[0].upper
    if statement.kind == "PREPARE" or first == "PREPARE":
        for token in tokens[1:]:
            if token.upper == "AS":
                following = tokens.index(token) + 1
                return tokens[following] if following < len(tokens) else None
        return None
    if statement.kind == "EXPLAIN" or first == "EXPLAIN":
        index = 1
        if index < len(tokens) and tokens[index].text == "(":
            depth = 0
            for index in range(1, len(tokens)):
                depth += {"(": 1, ")": -1}.get(tokens[index].text, 0)
                if depth == 0:
                    break
            index += 1
        while index < len(tokens) and tokens[index].upper in ("ANALYZE", "VERBOSE"):
            index += 1
        if index < len(tokens):
            return tokens[index]
    return None


def is_stdio_copy(statement: Statement) -> bool:
    """``COPY x FROM STDIN`` / ``COPY x|(query) TO STDOUT``: the word right after the
    top-level FROM or TO, not anywhere in the statement (``COPY (SELECT 1 AS stdout) TO
    '/tmp/x'`` writes a file)."""
    depth = 0
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    for index, token in enumerate(tokens):
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        if depth == 0 and token.upper in ("FROM", "TO") and index + 1 < len(tokens):
            return tokens[index + 1].upper in ("STDIN", "STDOUT")
    return False


def _names_secret(words: Sequence[str]) -> bool:
    """``CREATE [OR REPLACE] [PERSISTENT|TEMPORARY] SECRET``, ``DROP [...] SECRET``."""
    rest = [w for w in words[1:] if w not in ("OR", "REPLACE", "PERSISTENT", "TEMPORARY", "TEMP")]
    return rest[:1] == ["SECRET"]


def _is_word(token: Token) -> bool:
    return token.kind in ("identifier", "keyword")


def _fold(statement: Statement, token: Token) -> str:
    """A name as DuckDB resolves it: quoted or not, catalog names ignore case."""
    if token.text.startswith('"'):
        return token.text[1:-1].replace('""', '"').lower() if token.text.endswith('"') else (
            token.text[1:].lower()
        )
    return token.text.lower()


def _names(statement: Statement) -> Iterator[Name]:
    """Every dotted name in the statement (``a``, ``a.b``, ``a.b.c``), functions included."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not _is_word(token):
            index += 1
            continue
        start = index
        parts = [_fold(statement, token)]
        while (
            index + 2 < len(tokens)
            and tokens[index + 1].text == "."
            and _is_word(tokens[index + 2])
        ):
            index += 2
            parts.append(_fold(statement, tokens[index]))
        yield Name(tuple(parts), start)
        index += 1


def _reads_file(statement: Statement) -> bool:
    """A relation position (after FROM or JOIN, or a comma in a FROM list) holding a string
    or a quoted name with a path in it: DuckDB's replacement scan reads it as a file
    (``FROM 'lake/x.parquet'``, ``FROM "data.csv"``)."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    in_from: list[bool] = [False]
    previous: Token | None = None
    for token in tokens:
        text = token.upper
        if token.text == "(":
            in_from.append(False)
        elif token.text == ")":
            if len(in_from) > 1:
                in_from.pop()
        elif token.kind == "keyword" and text in ("FROM", "JOIN", "USING"):
            in_from[-1] = True
        elif token.kind == "keyword" and text in (
            "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "WINDOW", "QUALIFY",
            "UNION", "EXCEPT", "INTERSECT", "SELECT", "SET", "RETURNING", "VALUES", "ON",
        ):
            in_from[-1] = False
        relation_position = previous is not None and (
            (previous.kind == "keyword" and previous.upper in ("FROM", "JOIN"))
            or (previous.text == "," and in_from[-1])
        )
        if relation_position and (
            token.kind == "string_const"
            or (token.text.startswith('"') and any(c in token.text for c in "/.\\"))
        ):
            return True
        previous = token
    return False


def _targets(statement: Statement) -> Iterator[Name]:
    """The names a statement writes, defines, alters or drops."""
    kind = statement.kind
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    if not tokens:
        return
    names = [
        n for n in _names(statement)
        if n.start > 0 and not (len(n.parts) == 1 and n.last.upper() in _STRUCTURE_WORDS)
    ]
    if kind in _TARGET_AFTER:
        after = _TARGET_AFTER[kind]
        truncate = tokens[0].upper == "TRUNCATE"  # TRUNCATE a, b names several
        for name in names:
            if tokens[name.start - 1].upper in after or (
                truncate and tokens[name.start - 1].text == ","
            ):
                yield name
                if not truncate:
                    return  # the first one; later FROMs belong to subqueries
        return
    if kind not in ("CREATE", "DROP", "ALTER", "CREATE_FUNC", "COPY"):
        return
    for name in names:
        before = tokens[name.start - 1]
        word = before.upper
        if (
            word in _OBJECT_WORDS
            or word in _SKIP_WORDS
            or (before.text == "," and kind == "DROP")
            or (kind == "COPY" and name.start == 1)
            or (kind == "ALTER" and word in ("ON", "TO"))
        ):
            yield name
