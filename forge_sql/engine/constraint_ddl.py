"""Read the keys, checks and indexes out of PostgreSQL DDL that DuckLake would refuse.

DuckLake enforces NOT NULL only and refuses PRIMARY KEY, UNIQUE, CHECK, FOREIGN KEY and
CREATE INDEX. ORMs and migration tools send them anyway; this module parses them off the
statement (on DuckDB's tokens, so literals and quoted names are safe) and gives back the
DDL DuckDB can run plus what was declared. forge_sql.engine.constraints records it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from forge_sql import errors
from forge_sql.sql import rewrite, storage_parameters
from forge_sql.sql.rewrite import Source
from forge_sql.sql.statements import Statement, Token, tokenize
from forge_sql.sql.syntax import comma_items

KEY_WORDS = {"PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "FOREIGN", "CONSTRAINT", "EXCLUDE"}
_TABLE_CONSTRAINTS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE")
# Options after a key or check that DuckDB has no use for, as (words, then a name or group).
_AFTER_KEY = (
    ("NOT", "DEFERRABLE"),
    ("DEFERRABLE",),
    ("INITIALLY", "DEFERRED"),
    ("INITIALLY", "IMMEDIATE"),
    ("NOT", "VALID"),
    ("NO", "INHERIT"),
    ("NULLS", "NOT", "DISTINCT"),
    ("NULLS", "DISTINCT"),
)
_FK_ACTIONS = (
    ("NO", "ACTION"),
    ("RESTRICT",),
    ("CASCADE",),
    ("SET", "NULL"),
    ("SET", "DEFAULT"),
)


@dataclass(frozen=True, slots=True)
class Declared:
    """One key, check or index. ``definition`` is what pg_get_constraintdef prints."""

    kind: str  # 'p' primary key, 'u' unique, 'c' check, 'f' foreign key, 'i' index
    columns: tuple[str, ...]
    name: str | None = None
    definition: str | None = None


@dataclass(frozen=True, slots=True)
class CreateTable:
    """CREATE TABLE with its keys and checks taken out."""

    sql: str  # what DuckDB runs
    table: tuple[str, ...]  # name parts as written (unquoted)
    declared: tuple[Declared, ...]
    if_not_exists: bool
    or_replace: bool


@dataclass(frozen=True, slots=True)
class CreateIndex:
    table: tuple[str, ...]
    index: Declared
    if_not_exists: bool


@dataclass(frozen=True, slots=True)
class AlterTable:
    """ALTER TABLE actions on declared constraints (and renames, which they follow)."""

    table: tuple[str, ...]
    if_exists: bool
    add: tuple[Declared, ...] = ()
    drop: tuple[str, ...] = ()
    drop_if_exists: bool = False
    rename_constraint: tuple[str, str] | None = None
    rename_column: tuple[str, str] | None = None
    rename_table: str | None = None


@dataclass(slots=True)
class _Cursor:
    """A position in a token list, with the small reads the grammar needs."""

    tokens: Sequence[Token]
    sql: str
    at: int = 0
    edits: list[tuple[int, int, str]] = field(default_factory=list)

    def peek(self, offset: int = 0) -> str:
        index = self.at + offset
        return self.tokens[index].upper if index < len(self.tokens) else ""

    def take(self, *words: str) -> bool:
        """Consume ``words`` if the next tokens are exactly these."""
        if all(self.peek(i) == word for i, word in enumerate(words)):
            self.at += len(words)
            return True
        return False

    def done(self) -> bool:
        return self.at >= len(self.tokens)

    def name(self) -> tuple[str, ...]:
        """A possibly qualified name: ident ( . ident )*."""
        parts = [self.identifier()]
        while self.peek() == "." and self.at + 1 < len(self.tokens):
            self.at += 1
            parts.append(self.identifier())
        return tuple(parts)

    def identifier(self) -> str:
        if self.done():
            raise errors.SyntaxError_("syntax error at end of input")
        token = self.tokens[self.at]
        if token.kind not in ("identifier", "keyword"):
            raise errors.SyntaxError_(f'syntax error at or near "{token.text}"')
        self.at += 1
        return unquote(token.text)

    def group(self) -> tuple[int, int]:
        """The token range inside the parenthesised group starting here; moves past it."""
        if self.peek() != "(":
            found = self.tokens[self.at].text if not self.done() else "end of input"
            raise errors.SyntaxError_(f'syntax error at or near "{found}": expected "("')
        close = matching(self.tokens, self.at)
        inside = (self.at + 1, close)
        self.at = close + 1
        return inside

    def names_in_group(self) -> tuple[str, ...]:
        start, end = self.group()
        return tuple(unquote(t.text) for t in self.tokens[start:end] if t.text != ",")

    def text(self, start: int, end: int) -> str:
        """Source text of tokens[start:end]."""
        if start >= end:
            return ""
        return self.sql[self.tokens[start].start : self.tokens[end - 1].end]


def unquote(text: str) -> str:
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text


def matching(tokens: Sequence[Token], open_at: int) -> int:
    """Index of the bracket closing the one at ``open_at``."""
    depth = 0
    for index in range(open_at, len(tokens)):
        text = tokens[index].text
        if text in ("(", "["):
            depth += 1
        elif text in (")", "]"):
            depth -= 1
            if depth == 0:
                return index
    raise errors.SyntaxError_("syntax error at end of input: unbalanced parentheses")


def significant(statement: Statement) -> list[Token]:
    return [t for t in statement.tokens if t.kind != "comment"]


def declares_keys(statement: Statement) -> bool:
    """Cheap test: could this CREATE/ALTER TABLE or CREATE INDEX declare a key or index?"""
    words = statement.words
    if words[:1] == ["CREATE"] and ("INDEX" in words[1:3]):
        return True
    return any(t.kind == "keyword" and t.upper in KEY_WORDS for t in statement.tokens)


# -- CREATE TABLE ------------------------------------------------------------------------


def parse_create_table(statement: Statement) -> CreateTable | None:
    """The CREATE TABLE without its keys and checks, or None if it has none (or is TEMP,
    LIKE or AS: DuckDB's own tables keep DuckDB's own constraint handling)."""
    statement = _without_storage_parameters(statement)
    tokens = significant(statement)
    cur = _Cursor(tokens, statement.sql)
    if not cur.take("CREATE"):
        return None
    or_replace = cur.take("OR", "REPLACE")
    if cur.peek() in ("TEMP", "TEMPORARY"):
        return None
    cur.take("UNLOGGED")
    if not cur.take("TABLE"):
        return None
    if_not_exists = cur.take("IF", "NOT", "EXISTS")
    table = cur.name()
    if cur.peek() != "(":
        return None
    open_at = cur.at
    close_at = matching(tokens, open_at)
    if close_at + 1 < len(tokens) and tokens[close_at + 1].upper == "AS":
        return None
    declared: list[Declared] = []
    kept: list[str] = []
    not_null: set[str] = set()
    elements = comma_items(tokens, open_at + 1, close_at)
    for start, end in elements:
        if tokens[start].upper in _TABLE_CONSTRAINTS:
            item = _table_constraint(_Cursor(tokens[start:end], statement.sql))
            declared.append(item)
            if item.kind == "p":
                not_null.update(c.lower() for c in item.columns)
            continue
        kept.append(_column(tokens, start, end, statement.sql, declared))
    if not declared:
        return None
    columns = [
        unquote(tokens[start].text).lower()
        for start, _ in elements
        if tokens[start].upper
        not in _TABLE_CONSTRAINTS
    ]
    kept = [
        text + " NOT NULL" if name in not_null and not _says_not_null(text) else text
        for name, text in zip(columns, kept, strict=True)
    ]
    primary = [d for d in declared if d.kind == "p"]
    if len(primary) > 1:
        raise errors.InvalidTableDefinition(
            f'multiple primary keys for table "{table[-1]}" are not allowed'
        )
    sql = (
        statement.sql[: tokens[open_at].end]
        + ", ".join(kept)
        + statement.sql[tokens[close_at].start :]
    )
    return CreateTable(sql, table, tuple(declared), if_not_exists, or_replace)


def _without_storage_parameters(statement: Statement) -> Statement:
    """The statement without its WITH (storage parameters) (sql.storage_parameters: this
    statement is the server's, so the rewrite pass did not see it)."""
    source = Source.of(statement.sql, statement.tokens)
    if not storage_parameters.RULE.wants(source.sql):
        return statement
    edits = tuple(storage_parameters.RULE.edits(source))
    if not edits:
        return statement
    sql, tokens = rewrite.apply_tokens(statement.sql, statement.tokens, edits)
    return Statement(sql, statement.kind, tokens, statement.offset)


def _says_not_null(text: str) -> bool:
    return " NOT NULL" in " ".join(text.upper().split())




def _column(
    tokens: Sequence[Token], start: int, end: int, sql: str, declared: list[Declared]
) -> str:
    """A column definition's text with its key clauses taken out (PRIMARY KEY becomes
    NOT NULL); the clauses are appended to ``declared``."""
    name = unquote(tokens[start].text)
    cur = _Cursor(tokens[start:end], sql, at=1)
    pieces: list[tuple[int, int]] = []  # kept token ranges, relative to the cursor
    kept_from = 1
    replacement: list[str] = []
    while not cur.done():
        clause_start = cur.at
        constraint_name = None
        if cur.peek() == "CONSTRAINT":
            cur.at += 1
            constraint_name = cur.identifier()
        item = _column_constraint(cur, name, constraint_name)
        if item is None:
            cur.at = clause_start
            if cur.peek() == "(" or cur.peek() == "[":
                cur.at = matching(cur.tokens, cur.at) + 1
            else:
                cur.at += 1
            continue
        declared.append(item)
        pieces.append((kept_from, clause_start))
        kept_from = cur.at
        if item.kind == "p":
            replacement.append("NOT NULL")
    pieces.append((kept_from, len(cur.tokens)))
    text = cur.text(0, 1)
    for piece_start, piece_end in pieces:
        chunk = cur.text(piece_start, piece_end)
        if chunk:
            text += " " + chunk
    for extra in replacement:
        text += " " + extra
    return text


def _column_constraint(cur: _Cursor, column: str, name: str | None) -> Declared | None:
    if cur.take("PRIMARY", "KEY"):
        _skip_key_options(cur)
        return Declared("p", (column,), name)
    if cur.take("UNIQUE"):
        _skip_key_options(cur)
        return Declared("u", (column,), name)
    if cur.peek() == "CHECK":
        cur.at += 1
        start, end = cur.group()
        _skip_key_options(cur)
        return Declared("c", (column,), name, f"CHECK ({cur.text(start, end)})")
    if cur.peek() == "REFERENCES":
        first = cur.at
        cur.at += 1
        cur.name()
        if cur.peek() == "(":
            cur.group()
        _skip_reference_options(cur)
        return Declared(
            "f", (column,), name, f"FOREIGN KEY ({quote(column)}) " + cur.text(first, cur.at)
        )
    if name is not None:
        raise errors.SyntaxError_(f'syntax error at or near "{cur.peek()}" after CONSTRAINT')
    return None


def _skip_key_options(cur: _Cursor) -> None:
    """Move past the options of a key or check that DuckDB has no use for (PostgreSQL's
    index_parameters and constraint characteristics)."""
    while not cur.done():
        if any(cur.take(*words) for words in _AFTER_KEY):
            continue
        if cur.peek() in ("INCLUDE", "WITH") and cur.peek(1) == "(":
            cur.at += 1
            cur.group()
        elif cur.take("USING", "INDEX", "TABLESPACE"):
            cur.identifier()
        else:
            return


def _skip_reference_options(cur: _Cursor) -> None:
    """Move past MATCH, ON DELETE / ON UPDATE actions and the constraint characteristics."""
    while not cur.done():
        if cur.take("MATCH"):
            cur.identifier()
        elif cur.take("ON", "DELETE") or cur.take("ON", "UPDATE"):
            if not any(cur.take(*words) for words in _FK_ACTIONS):
                raise errors.SyntaxError_(f'syntax error at or near "{cur.peek()}"')
            if cur.peek() == "(":
                cur.group()  # SET NULL (columns)
        elif any(cur.take(*words) for words in _AFTER_KEY):
            continue
        else:
            return


def _table_constraint(cur: _Cursor) -> Declared:
    name = None
    if cur.take("CONSTRAINT"):
        name = cur.identifier()
    if cur.take("PRIMARY", "KEY"):
        columns = cur.names_in_group()
        _skip_key_options(cur)
        return _finish(cur, Declared("p", columns, name))
    if cur.take("UNIQUE"):
        cur.take("NULLS", "NOT", "DISTINCT") or cur.take("NULLS", "DISTINCT")
        columns = cur.names_in_group()
        _skip_key_options(cur)
        return _finish(cur, Declared("u", columns, name))
    if cur.take("CHECK"):
        start, end = cur.group()
        expression = cur.text(start, end)
        _skip_key_options(cur)
        referenced = tuple(
            dict.fromkeys(unquote(t.text) for t in cur.tokens[start:end] if t.kind == "identifier")
        )
        return _finish(cur, Declared("c", referenced, name, f"CHECK ({expression})"))
    if cur.take("FOREIGN", "KEY"):
        first = cur.at
        columns = cur.names_in_group()
        if not cur.take("REFERENCES"):
            raise errors.SyntaxError_('syntax error in FOREIGN KEY: expected "REFERENCES"')
        cur.name()
        if cur.peek() == "(":
            cur.group()
        _skip_reference_options(cur)
        return _finish(cur, Declared("f", columns, name, "FOREIGN KEY " + cur.text(first, cur.at)))
    if cur.peek() == "EXCLUDE":
        raise errors.FeatureNotSupported("EXCLUDE constraints are not supported")
    found = cur.tokens[cur.at].text if not cur.done() else "end of input"
    raise errors.SyntaxError_(f'syntax error at or near "{found}"')


def references(definition: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The referenced table (name parts) and columns (() for its primary key) of a foreign
    key's definition, ``FOREIGN KEY (a) REFERENCES t [(b)] ...``."""
    cur = _Cursor(tokenize(definition), definition)
    while not cur.done() and not cur.take("REFERENCES"):
        cur.at += 1
    table = cur.name()
    columns = cur.names_in_group() if cur.peek() == "(" else ()
    return table, columns


def spelled_references(
    definition: str, primary_key: Callable[[tuple[str, ...]], tuple[str, ...]]
) -> str:
    """A foreign key's definition with ``REFERENCES`` in capitals and the referenced columns
    listed (``primary_key(table)``'s when the statement left them out, as PostgreSQL fills
    them in): what pg_get_constraintdef prints and what the catalog reads confkey from."""
    tokens = tokenize(definition)
    cur = _Cursor(tokens, definition)
    while not cur.done() and cur.peek() != "REFERENCES":
        cur.at += 1
    if cur.done():
        return definition
    word = tokens[cur.at]
    cur.at += 1
    table = cur.name()
    end = tokens[cur.at - 1].end
    text = definition[: word.start] + "REFERENCES" + definition[word.end : end]
    if cur.peek() != "(":
        columns = primary_key(table)
        if columns:
            text += " (" + ", ".join(quote(c) for c in columns) + ")"
    return text + definition[end:]


def _finish(cur: _Cursor, item: Declared) -> Declared:
    if not cur.done():
        raise errors.SyntaxError_(f'syntax error at or near "{cur.tokens[cur.at].text}"')
    return item


def quote(name: str) -> str:
    """An identifier as PostgreSQL prints it: bare when it is lower-case and plain."""
    if (
        name
        and (name[0].isalpha() or name[0] == "_")
        and name.replace("_", "a").isalnum()
        and name == name.lower()
    ):
        return name
    return '"' + name.replace('"', '""') + '"'


# -- CREATE INDEX / DROP INDEX -----------------------------------------------------------


def parse_create_index(statement: Statement) -> CreateIndex | None:
    """CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] t
    [USING method] (items) [INCLUDE (...)] [NULLS [NOT] DISTINCT] [WITH (...)] [WHERE ...]."""
    tokens = significant(statement)
    cur = _Cursor(tokens, statement.sql)
    if not cur.take("CREATE"):
        return None
    unique = cur.take("UNIQUE")
    if not cur.take("INDEX"):
        return None
    cur.take("CONCURRENTLY")
    if_not_exists = cur.take("IF", "NOT", "EXISTS")
    name = None if cur.peek() == "ON" else cur.identifier()
    if not cur.take("ON"):
        raise errors.SyntaxError_('syntax error in CREATE INDEX: expected "ON"')
    cur.take("ONLY")
    table = cur.name()
    method = "btree"
    if cur.take("USING"):
        method = cur.identifier().lower()
    start, end = cur.group()
    items = comma_items(tokens, start, end)
    columns = tuple(
        unquote(tokens[a].text)
        if b - a == 1 or tokens[a + 1].upper in ("ASC", "DESC", "NULLS")
        else cur.text(a, b)
        for a, b in items
    )
    keys = ", ".join(cur.text(a, b) for a, b in items)
    definition = f"{'UNIQUE ' if unique else ''}INDEX USING {method} ({keys})"
    where = next((i for i in range(cur.at, len(tokens)) if tokens[i].upper == "WHERE"), None)
    if where is not None:
        definition += " WHERE " + cur.text(where + 1, len(tokens))
    return CreateIndex(table, Declared("i", columns, name, definition), if_not_exists)


def parse_drop_index(statement: Statement) -> tuple[list[tuple[str, ...]], bool] | None:
    """DROP INDEX [CONCURRENTLY] [IF EXISTS] name [, ...] [CASCADE | RESTRICT]."""
    cur = _Cursor(significant(statement), statement.sql)
    if not cur.take("DROP", "INDEX"):
        return None
    cur.take("CONCURRENTLY")
    if_exists = cur.take("IF", "EXISTS")
    names = [cur.name()]
    while cur.take(","):
        names.append(cur.name())
    cur.take("CASCADE") or cur.take("RESTRICT")
    _finish(cur, Declared("i", ()))
    return names, if_exists


# -- ALTER TABLE -------------------------------------------------------------------------


def parse_alter_table(statement: Statement) -> AlterTable | None:
    """ALTER TABLE actions the engine handles itself (None: DuckDB runs the statement)."""
    cur = _Cursor(significant(statement), statement.sql)
    if not cur.take("ALTER", "TABLE"):
        return None
    if_exists = cur.take("IF", "EXISTS")
    cur.take("ONLY")
    table = cur.name()
    if cur.take("RENAME", "TO"):
        return AlterTable(table, if_exists, rename_table=cur.identifier())
    if cur.take("RENAME", "CONSTRAINT"):
        old = cur.identifier()
        if not cur.take("TO"):
            raise errors.SyntaxError_('syntax error in RENAME CONSTRAINT: expected "TO"')
        return AlterTable(table, if_exists, rename_constraint=(old, cur.identifier()))
    if cur.peek() == "RENAME":
        cur.at += 1
        cur.take("COLUMN")
        old = cur.identifier()
        if not cur.take("TO"):
            return None
        return AlterTable(table, if_exists, rename_column=(old, cur.identifier()))
    actions = comma_items(cur.tokens, cur.at, len(cur.tokens))
    adds: list[Declared] = []
    drops: list[str] = []
    drop_if_exists = False
    others = 0
    for start, end in actions:
        action = _Cursor(cur.tokens[start:end], statement.sql)
        if action.take("ADD") and action.peek() in _TABLE_CONSTRAINTS:
            adds.append(_table_constraint(action))
        elif action.take("DROP", "CONSTRAINT"):
            drop_if_exists = action.take("IF", "EXISTS")
            drops.append(action.identifier())
            action.take("CASCADE") or action.take("RESTRICT")
            _finish(action, Declared("c", ()))
        else:
            others += 1
    if others and (adds or drops):
        raise errors.FeatureNotSupported(
            "ALTER TABLE cannot combine constraint changes with other actions",
            hint="Run the constraint changes in their own ALTER TABLE statement.",
        )
    return AlterTable(
        table, if_exists, add=tuple(adds), drop=tuple(drops), drop_if_exists=drop_if_exists
    )
