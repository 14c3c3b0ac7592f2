"""Columns filled from sequences: ``serial`` / ``bigserial`` / ``smallserial``,
``GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY`` and ``DEFAULT nextval('s')`` in CREATE TABLE
and ALTER TABLE ... ADD COLUMN.

Each becomes a column of the integer type with NOT NULL and a DuckDB default calling the
server's nextval (DuckLake keeps and evaluates such defaults), so every way of inserting
(VALUES, INSERT ... SELECT, COPY FROM, pipelined Arrow inserts) fills it as PostgreSQL
does. The sequences serial and identity columns imply are named and owned as PostgreSQL
names and owns them (docs: datatype-numeric "Serial Types", sql-createtable).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from forge_sql import errors
from forge_sql.catalog.pg_sequence import IDENTITY_DEFAULT, NEXTVAL_DEFAULT
from forge_sql.engine.constraint_ddl import matching, significant, unquote
from forge_sql.engine.sequences import Definition, declare
from forge_sql.sql import sequence_ddl
from forge_sql.sql.statements import Statement, split
from forge_sql.sql.syntax import comma_items, qualified_name
from forge_sql.sql.tokens import Token

_SERIALS = {
    "SERIAL": "integer", "SERIAL4": "integer", "BIGSERIAL": "bigint", "SERIAL8": "bigint",
    "SMALLSERIAL": "smallint", "SERIAL2": "smallint",
}
_INTEGER_TYPES = {
    "INT": "integer", "INTEGER": "integer", "INT4": "integer", "BIGINT": "bigint",
    "INT8": "bigint", "SMALLINT": "smallint", "INT2": "smallint",
}


@dataclass
class Rewritten:
    """The statement DuckDB runs, and the sequences to create first."""

    sql: str
    sequences: list[Definition] = field(default_factory=list)
    table: tuple[str, str] = ("", "")


def applies(statement: Statement) -> bool:
    """Cheap test: might this CREATE/ALTER TABLE declare a column filled from a sequence?"""
    words = statement.words
    if words[:1] not in (["CREATE"], ["ALTER"]) or "TABLE" not in words[1:4]:
        return False
    return any(
        t.upper in _SERIALS or t.upper == "IDENTITY" or t.upper == "NEXTVAL"
        for t in statement.tokens
    )


def qualified(schema: str, name: str) -> str:
    """The regclass text a default names its sequence by: always schema-qualified, so that
    it does not depend on the inserting session's search_path."""
    return ".".join(_quote_part(p) for p in (schema, name))


def _quote_part(part: str) -> str:
    if part and (part[0].isalpha() or part[0] == "_") and part == part.lower() and all(
        c.isalnum() or c == "_" for c in part
    ):
        return part
    return '"' + part.replace('"', '""') + '"'


def rewrite(
    statement: Statement,
    default_schema: str,
    resolve: Callable[[str], tuple[str, str]],
    taken: Callable[[str, str], bool],
) -> Rewritten | None:
    """``statement`` with its serial, identity and nextval columns made DuckDB columns, or
    None when it has none. ``resolve``: a nextval argument's sequence; ``taken``: whether
    a relation of that name exists (implied sequence names are made unique)."""
    tokens = significant(statement)
    words = [t.upper for t in tokens]
    at = 1
    if words[at:at + 2] == ["OR", "REPLACE"]:
        at += 2
    if words[at] in ("TEMP", "TEMPORARY"):
        return None  # a DuckDB temporary table: not the lake's
    if words[at] == "UNLOGGED":
        at += 1
    if words[at] != "TABLE":
        return None
    at += 1
    if words[0] == "CREATE" and words[at:at + 3] == ["IF", "NOT", "EXISTS"]:
        at += 3
    if words[0] == "ALTER" and words[at:at + 2] == ["IF", "EXISTS"]:
        at += 2
    if words[0] == "ALTER" and words[at] == "ONLY":
        at += 1
    name, at = _name(tokens, at)
    schema = name[-2] if len(name) > 1 else default_schema
    table = name[-1]
    edits: list[tuple[int, int, str]] = []
    result = Rewritten("", table=(schema, table))
    if words[0] == "CREATE":
        if at >= len(tokens) or tokens[at].text != "(":
            return None
        close = matching(tokens, at)
        items = comma_items(tokens, at + 1, close)
    else:
        items = []
        for first, end in comma_items(tokens, at, len(tokens)):
            if words[first] != "ADD":
                continue
            first += 1
            if words[first] == "COLUMN":
                first += 1
            if words[first:first + 3] == ["IF", "NOT", "EXISTS"]:
                first += 3
            if words[first] in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
                continue
            items.append((first, end))
    for first, end in items:
        if words[first] in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "LIKE",
                            "EXCLUDE"):
            continue
        column = unquote(tokens[first].text) if tokens[first].text.startswith('"') else (
            tokens[first].text.lower())
        definition = _column(
            statement.sql, tokens, first, end, schema, table, column, resolve, taken, edits,
            result, alter=words[0] == "ALTER",
        )
        if definition is not None:
            result.sequences.append(definition)
    if not edits:
        return None
    sql = statement.sql
    for start, stop, text in sorted(edits, reverse=True):
        sql = sql[:start] + text + sql[stop:]
    result.sql = sql
    return result


def _column(
    sql: str, tokens: Sequence[Token], first: int, end: int, schema: str, table: str,
    column: str, resolve: Callable[[str], tuple[str, str]], taken: Callable[[str, str], bool],
    edits: list[tuple[int, int, str]], result: Rewritten, alter: bool,
) -> Definition | None:
    """The edits making one column definition DuckDB's, and the sequence it implies.
    ``alter``: ADD COLUMN, refused: DuckLake gives a column added later a constant default
    only (checked on DuckDB 1.5.5: ADD COLUMN and ALTER COLUMN SET DEFAULT both refuse
    any other), so nothing could fill it."""
    if alter and (
        (first + 1 < end and tokens[first + 1].upper in _SERIALS)
        or any(tokens[i].upper in ("IDENTITY", "NEXTVAL") for i in range(first, end))
    ):
        raise errors.FeatureNotSupported(
            "ALTER TABLE ... ADD COLUMN with serial, identity or nextval() defaults is not "
            "supported: columns added to a lake table take constant defaults only",
            hint="Create the table with the column, and copy the rows into it.",
        )
    type_token = tokens[first + 1] if first + 1 < end else None
    if type_token is None:
        return None
    serial = _SERIALS.get(type_token.upper)
    identity_at = next(
        (i for i in range(first + 2, end) if tokens[i].upper == "GENERATED"), None
    )
    if serial is not None:
        name = _implied_name(schema, table, column, taken, result)
        definition = declare(schema, name, {"as": serial})
        definition = _owned(definition, table, column)
        default = NEXTVAL_DEFAULT.format(name=qualified(schema, name).replace("'", "''"))
        edits.append((type_token.start, type_token.end,
                      f"{serial.upper()} NOT NULL DEFAULT {default}"))
        return definition
    if identity_at is not None:
        words = [t.upper for t in tokens]
        at = identity_at + 1
        if words[at] == "ALWAYS":
            kind, at = "a", at + 1
        elif words[at:at + 2] == ["BY", "DEFAULT"]:
            kind, at = "d", at + 2
        else:
            return None
        if words[at:at + 2] != ["AS", "IDENTITY"]:
            return None  # GENERATED ALWAYS AS (expression): DuckDB's own
        at += 2
        options: dict[str, object] = {}
        stop = at
        if at < end and tokens[at].text == "(":
            close = matching(tokens, at)
            text = "CREATE SEQUENCE x " + sql[tokens[at].end:tokens[close].start]
            options = sequence_ddl.parse(split(text)[0]).options
            stop = close + 1
        data_type = _INTEGER_TYPES.get(type_token.upper)
        if data_type is None:
            raise errors.InvalidParameterValue(
                "identity column type must be smallint, integer, or bigint"
            )
        options.setdefault("as", data_type)
        name = _implied_name(schema, table, column, taken, result)
        definition = _owned(declare(schema, name, options), table, column, kind)
        default = IDENTITY_DEFAULT.format(
            name=qualified(schema, name).replace("'", "''"), kind=kind
        )
        edits.append((tokens[identity_at].start, tokens[stop - 1].end,
                      f"NOT NULL DEFAULT {default}"))
        return definition
    for index in range(first + 2, end - 3):
        if tokens[index].upper == "DEFAULT" and tokens[index + 1].upper == "NEXTVAL" and (
                tokens[index + 2].text == "("):
            close = matching(tokens, index + 2)
            argument = tokens[index + 3]
            if argument.kind != "string_const":
                raise errors.FeatureNotSupported(
                    "a column default may call nextval with a sequence name only"
                )
            found = resolve(argument.text[1:-1].replace("''", "'"))
            default = NEXTVAL_DEFAULT.format(name=qualified(*found).replace("'", "''"))
            edits.append((tokens[index + 1].start, tokens[close].end, default))
    return None


def _owned(definition: Definition, table: str, column: str, identity: str = "") -> Definition:
    from dataclasses import replace

    return replace(definition, owned_table=table, owned_column=column, identity=identity)


def _implied_name(
    schema: str, table: str, column: str, taken: Callable[[str, str], bool], result: Rewritten
) -> str:
    """PostgreSQL's ChooseRelationName: table_column_seq, then ..._seq1, ... if taken."""
    base = f"{table}_{column}"
    mine = {d.name for d in result.sequences}
    for suffix in ("", *map(str, range(1, 1000))):
        name = f"{base[:63 - 3 - len(suffix)]}_seq{suffix}"
        if name not in mine and not taken(schema, name):
            return name
    raise errors.DuplicateTable(f'could not choose a name for the sequence of "{column}"')


def name_at(tokens: Sequence[Token], at: int) -> tuple[tuple[str, ...], int]:
    """The possibly qualified name at ``at``, and the index after it."""
    return _name(tokens, at)


def column_name(token: Token) -> str:
    return _column_name(token)


def _name(tokens: Sequence[Token], at: int) -> tuple[tuple[str, ...], int]:
    return qualified_name(tokens, at)






def insert_target(statement: Statement) -> tuple[tuple[str, ...], int] | None:
    """INSERT INTO name ...: the name's parts and the index of the token after it."""
    tokens = significant(statement)
    at = next((i for i, t in enumerate(tokens) if t.upper == "INTO"), None)
    if at is None or at + 1 >= len(tokens):
        return None
    return _name(tokens, at + 1)


def refuse_explicit(statement: Statement, always: set[str]) -> None:
    """428C9 where an INSERT gives, or an UPDATE sets, a value of a GENERATED ALWAYS
    identity column (``always``: the target's) without OVERRIDING SYSTEM VALUE."""
    tokens = significant(statement)
    words = [t.upper for t in tokens]
    if statement.kind == "UPDATE":
        if "SET" not in words:
            return
        depth = 0
        for index in range(words.index("SET") + 1, len(tokens) - 1):
            text = tokens[index].text
            depth += text in ("(", "[")
            depth -= text in (")", "]")
            if depth == 0 and words[index] in ("WHERE", "FROM", "RETURNING"):
                return
            name = _column_name(tokens[index])
            if depth == 0 and name in always and tokens[index + 1].text == "=" and (
                    index + 2 >= len(tokens) or words[index + 2] != "DEFAULT"):
                raise errors.GeneratedAlways(f'column "{name}" can only be updated to DEFAULT',
                                             detail=_detail(name))
        return
    target = insert_target(statement)
    if target is None:
        return
    _, at = target
    if at < len(tokens) and words[at] == "AS":
        at += 2
    columns: list[str] = []
    if at < len(tokens) and tokens[at].text == "(":
        close = matching(tokens, at)
        columns = [_column_name(t) for t in tokens[at + 1:close] if t.text != ","]
        at = close + 1
    if words[at:at + 3] == ["OVERRIDING", "SYSTEM", "VALUE"]:
        return
    given = [c for c in columns if c in always]
    if given:
        raise errors.GeneratedAlways(
            f'cannot insert a non-DEFAULT value into column "{given[0]}"',
            detail=_detail(given[0]), hint="Use OVERRIDING SYSTEM VALUE to override.",
        )


def _detail(column: str) -> str:
    return f'Column "{column}" is an identity column defined as GENERATED ALWAYS.'


def _column_name(token: Token) -> str:
    return unquote(token.text) if token.text.startswith('"') else token.text.lower()
