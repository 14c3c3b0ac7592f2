"""Catalog SQL written for PostgreSQL, rewritten into what the server.pgc emulation answers
(the rewrite pass's ``catalog`` slot; forge_sql.sql.postgres has the general rules).

Works on DuckDB's tokens, so string literals and quoted identifiers are never touched:

- ``pg_catalog.X`` -> ``server.pgc.X`` for the relations the emulation provides
  (catalog.PROVIDED); ``pg_catalog.f(...)`` -> ``f(...)``, which the session's search path
  resolves to the emulation's macro or DuckDB's built-in; ``::pg_catalog.text`` ->
  ``::text``; ``COLLATE pg_catalog.default`` dropped.
- ``information_schema.X`` -> the emulation's PostgreSQL-typed views, for the X it provides.
- ``X::regclass`` -> ``server.pgc.regclass(X)`` (the OID), ``X::regclass::text`` ->
  ``server.pgc.regclass_name(X)`` (the name); the same for regtype and regnamespace;
  ``X::regproc`` -> the function's name; ``X::regtype[]`` -> the list of type names.
  DuckDB has no OID-alias types: a VARCHAR alias would parse ``'t'::regclass`` but could
  not turn into an OID.
- ``FROM pg_partition_ancestors(x)``: the relation itself (there are no partitions).
- ``proc.oid = typ.typreceive`` -> ``proc.proname = typ.typreceive``, and
  ``typreceive != 0`` (and the other regproc columns of pg_type, with ``=``/``<>``) ->
  ``typreceive != '-'``: those columns are text, and ``-`` is how PostgreSQL prints the
  zero regproc, so the comparison keeps its meaning while ``typreceive::text`` still works.
- ``a.x = ANY(b.list)`` in a join's ON -> ``list_contains(b.list, a.x)``: DuckDB plans
  ``= ANY(list)`` as a subquery, which it cannot put in an outer join's condition
  (SQLAlchemy 1.4's get_indexes joins pg_attribute so on ``attnum = ANY(ix.indkey)``).
  A join condition treats NULL as false, so list_contains's false for "no match" among
  NULL elements keeps the join's rows.
- ``ix.indkey::varchar`` (and the other int2vector / oidvector columns cast to text) ->
  ``array_to_string(ix.indkey, ' ')``: the columns are lists here, and PostgreSQL prints
  a vector as its numbers separated by spaces (SQLAlchemy 1.4 splits indkey so).
- asyncpg's type introspection query -> forge_sql.catalog.introspection.QUERY.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from forge_sql.catalog import (
    INFORMATION_PROVIDED,
    INFORMATION_SCHEMA,
    PROVIDED,
    SCHEMA,
    introspection,
)
from forge_sql.sql import postgres
from forge_sql.sql import rewrite as rewriting
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.statements import Token, tokenize
from forge_sql.sql.syntax import CLOSE as _CLOSE
from forge_sql.sql.syntax import OPEN as _OPEN
from forge_sql.sql.syntax import cast_parts as _cast_as
from forge_sql.sql.syntax import closing as _closing
from forge_sql.sql.syntax import in_from as _in_from
from forge_sql.sql.syntax import is_name as _is_name
from forge_sql.sql.syntax import name as _name

_REG_TYPES = {"regclass", "regtype", "regnamespace", "regproc", "regprocedure"}
_TEXT_TYPES = {"text", "varchar", "name"}
_REGPROC_COLUMNS = {
    "typinput",
    "typoutput",
    "typreceive",
    "typsend",
    "typmodin",
    "typmodout",
    "typanalyze",
    "typsubscript",
}
_EQUALITY = {"=", "!=", "<>"}
# pg_catalog columns of type int2vector or oidvector that the emulation keeps as lists
# (indoption is text already).
_VECTOR_COLUMNS = {"indkey", "indclass", "indcollation", "proargtypes", "stxkeys"}
# Tokens after which an operand is part of a larger expression, not a select-list item.
_OPERATORS = {"=", "<>", "!=", "<", ">", "<=", ">=", "||", "+", "-", "*", "/", "AND", "OR",
              "NOT", "IN", "IS", "WHEN", "THEN", "ELSE", "CASE", "LIKE", "ANY", "ALL"}
_CLAUSES = {"SELECT", "WHERE", "ON", "GROUP", "ORDER", "HAVING", "SET", "RETURNING", "VALUES"}
# Keywords that DuckDB's lexer reports for what reads as a function call.
_FUNCTION_KEYWORDS = {
    "coalesce",
    "nullif",
    "cast",
    "left",
    "right",
    "trim",
    "substring",
    "position",
    "extract",
    "overlay",
    "greatest",
    "least",
    "row",
    "array",
}


def needed(sql: str) -> bool:
    """Cheap pre-check for the session's hot path: only catalog SQL pays for these rules."""
    return (
        "pg_" in sql  # pg_catalog, and pg_class & co. unqualified (catalog copies refresh)
        or "PG_" in sql
        or "::reg" in sql
        or "::REG" in sql
        or "information_schema" in sql
        or "INFORMATION_SCHEMA" in sql
    )


def _introspection(source: Source) -> list[Edit]:
    """asyncpg's type introspection query -> the emulation's (the whole text)."""
    if introspection.is_asyncpg_lookup(source.tokens):
        return [Edit(0, len(source.sql), introspection.QUERY)]
    return []


def _edits(source: Source) -> list[Edit]:
    """Catalog names, reg* casts and regproc comparisons."""
    sql, tokens = source.sql, source.tokens
    edits: list[Edit] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        vector = _vector_as_text(sql, tokens, index, edits)
        if vector:
            index = vector
            continue
        _vector_item(sql, tokens, index, edits)
        cast = _reg_cast(tokens, index)
        if cast is not None:
            function, end_index = cast
            first = _operand_start(tokens, index - 1)
            if first is not None:
                function = _for_operand(function, tokens[first : index])
                # Nested casts open at the same place: the outer one (later ::) first.
                opening = f"{SCHEMA}.{function}(" if function else "("
                edits.append(Edit(tokens[first].start, tokens[first].start, opening, -index))
                edits.append(Edit(token.start, tokens[end_index].end, ")"))
                label = _output_name(tokens, first, index, end_index)
                if label is not None:
                    edits.append(Edit(tokens[end_index].end, tokens[end_index].end, label))
                index = end_index + 1
                continue
        if token.upper == "CAST":
            inner = _reg_cast_call(tokens, index, edits)
            if inner is not None:
                index = inner
                continue
        skip = _qualified_name(tokens, index, edits)
        if skip:
            index += skip
            continue
        if _is_name(token) and _name(token) == "pg_partition_ancestors":
            _ancestors_in_from(sql, tokens, index, edits)
        if _is_regproc_zero(tokens, index):
            edits.append(Edit(token.start, token.end, "'-'"))
        elif token.text == "=":
            after_any = _any_in_join(sql, tokens, index, edits)
            if after_any:
                index = after_any
                continue
            _regproc_join(tokens, index, edits)
        index += 1
    return edits


_REG_WORD = re.compile(r"\breg(class|type|namespace|proc)", re.IGNORECASE)


def _wanted(sql: str) -> bool:
    """``needed``, or a reg* type named some other way (``CAST(x AS regclass)``)."""
    return needed(sql) or _REG_WORD.search(sql) is not None


RULES: tuple[Rule, ...] = (
    Rule("asyncpg introspection", _introspection, needed),
    Rule("catalog names", _edits, _wanted),
)


def rewrite(sql: str) -> str:
    """``sql`` through the catalog and PostgreSQL rules (unchanged when none applies): what
    a session runs for a catalog query without placeholders."""
    source = Source.of(sql, tokenize(sql))
    return rewriting.apply(sql, rewriting.edits(source, RULES + postgres.RULES))


def _qualified_name(tokens: Sequence[Token], index: int, edits: list[Edit]) -> int:
    """Edits for ``pg_catalog.X`` / ``information_schema.X`` at ``index``; tokens consumed."""
    token = tokens[index]
    if token.kind != "identifier" or index + 2 >= len(tokens) or tokens[index + 1].text != ".":
        return 0
    # ``"db".pg_catalog.X``: the database's own catalog (another database is refused before
    # the rewrite runs: forge_sql.engine.sandbox), so the qualifier goes with the schema.
    start = database_qualifier(tokens, index)
    if start is None:
        return 0
    schema, member = _name(token), tokens[index + 2]
    before = tokens[index - 1] if index > 0 and start == token.start else None
    after = tokens[index + 3] if index + 3 < len(tokens) else None
    if schema == "information_schema":
        if _is_name(member) and _name(member) in INFORMATION_PROVIDED:
            edits.append(Edit(start, token.end, INFORMATION_SCHEMA))
            return 3
        return 0
    if schema != "pg_catalog":
        return 0
    if start != token.start:
        if _is_name(member) and _name(member) in PROVIDED:
            edits.append(Edit(start, token.end, SCHEMA))
            return 3
        return 0
    if before is not None and before.upper == "COLLATE":
        edits.append(Edit(before.start, member.end, ""))
        return 3
    if not _is_name(member):
        return 0
    if _name(member) == "pg_partition_ancestors" and _in_from(tokens, index + 2):
        return 0  # the ancestors' call in FROM is replaced whole, schema included
    if _name(member) in PROVIDED:
        edits.append(Edit(token.start, token.end, SCHEMA))
        return 3
    called = after is not None and after.text == "("
    typed = before is not None and (before.text == "::" or before.upper == "AS")
    if typed and _name(member) in _REG_TYPES:
        return 0  # a reg* cast: _reg_cast_call rewrites it whole
    if called and _name(member) in postgres.RENAMED:
        edits.append(Edit(token.start, member.end, postgres.RENAMED[_name(member)]))
        return 3
    if called or typed:
        # Functions resolve through the search path (the emulation, then DuckDB's own);
        # DuckDB knows PostgreSQL's type names unqualified only.
        edits.append(Edit(token.start, member.start, ""))
        return 2
    return 0


def database_qualifier(tokens: Sequence[Token], index: int) -> int | None:
    """Where the name whose schema part is ``tokens[index]`` starts: the schema's own
    offset, or its database qualifier's (``db.schema.x``); None for a longer chain."""
    if index == 0 or tokens[index - 1].text != ".":
        return tokens[index].start
    if index >= 2 and tokens[index - 2].kind == "identifier" and (
        index == 2 or tokens[index - 3].text != "."
    ):
        return tokens[index - 2].start
    return None


def _ancestors_in_from(sql: str, tokens: Sequence[Token], index: int, edits: list[Edit]) -> None:
    """``FROM pg_partition_ancestors(x) [WITH ORDINALITY]``: without partitions a relation
    is its own only ancestor, so the set is one row (psql's trigger query joins it)."""
    close = _closing(tokens, index + 1)
    if close is None or not _in_from(tokens, index):
        return
    start = index - 2 if index >= 2 and tokens[index - 1].text == "." else index
    argument = sql[tokens[index + 1].end : tokens[close].start]
    end, row = close, f"(SELECT {argument} AS relid)"
    if close + 2 < len(tokens) and [t.upper for t in tokens[close + 1 : close + 3]] == [
        "WITH",
        "ORDINALITY",
    ]:
        end, row = close + 2, f"(SELECT {argument} AS relid, 1::BIGINT AS depth)"
    edits.append(Edit(tokens[start].start, tokens[end].end, row))


def _reg_cast(tokens: Sequence[Token], index: int) -> tuple[str, int] | None:
    """At ``::``: (the emulation's function for the cast, index of the cast's last token)."""
    if tokens[index].text != "::" or index == 0:
        return None
    at = index + 1
    if at + 2 < len(tokens) and _name(tokens[at]) == "pg_catalog" and tokens[at + 1].text == ".":
        at += 2
    if at >= len(tokens) or not _is_name(tokens[at]) or _name(tokens[at]) not in _REG_TYPES:
        return None
    name = _name(tokens[at])
    if name == "regprocedure":
        name = "regproc"
    array = at + 2 < len(tokens) and tokens[at + 1].text == "[" and tokens[at + 2].text == "]"
    if array and name == "regtype":
        return "regtype_names", at + 2
    if at + 2 < len(tokens) and tokens[at + 1].text == "::":
        text = at + 2
        if text + 2 < len(tokens) and _name(tokens[text]) == "pg_catalog":
            text += 2
        if _is_name(tokens[text]) and _name(tokens[text]) in _TEXT_TYPES:
            return f"{name}_name", text
    oid = _cast_to_oid(tokens, at + 1) if name == "regproc" else None
    if oid is not None:
        return "regproc", oid  # ::regproc::oid: the function's OID
    if name == "regproc" or _is_output(tokens, index, at):
        return f"{name}_name", at  # what a client reads: the name (regproc: always)
    return name, at


def _cast_to_oid(tokens: Sequence[Token], at: int) -> int | None:
    """Index of ``oid`` in ``::oid`` / ``::pg_catalog.oid`` starting at ``at``, else None."""
    if at + 1 >= len(tokens) or tokens[at].text != "::":
        return None
    at += 1
    if at + 2 < len(tokens) and _name(tokens[at]) == "pg_catalog" and tokens[at + 1].text == ".":
        at += 2
    return at if _is_name(tokens[at]) and _name(tokens[at]) == "oid" else None


def _reg_cast_call(tokens: Sequence[Token], index: int, edits: list[Edit]) -> int | None:
    """``CAST(x AS regclass)`` like ``x::regclass``; ``CAST(CAST(x AS regclass) AS text)``
    -> the name. Returns where to continue (the cast's operand), None when not a reg cast."""
    parts = _cast_parts(tokens, index)
    if parts is None:
        return None
    open_at, as_at, close = parts
    target = _cast_target(tokens, as_at, close)
    if target in _TEXT_TYPES:
        inner = _cast_parts(tokens, open_at + 1)
        if inner is None or inner[2] != as_at - 1:
            return None
        name = _cast_target(tokens, inner[1], inner[2])
        if name not in _REG_TYPES:
            return None
        function = _for_operand(f"{_reg(name)}_name", tokens[inner[0] + 1 : inner[1]])
        edits.append(Edit(tokens[index].start, tokens[inner[0]].end, f"{SCHEMA}.{function}("))
        edits.append(Edit(tokens[inner[1] - 1].end, tokens[close].end, ")"))
        return inner[0] + 1
    if target not in _REG_TYPES:
        return None
    function = _reg(target)
    if target in ("regproc", "regprocedure") or _is_output(tokens, index, close):
        function += "_name"
    function = _for_operand(function, tokens[open_at + 1 : as_at])
    opening = f"{SCHEMA}.{function}(" if function else "("
    edits.append(Edit(tokens[index].start, tokens[open_at].end, opening))
    edits.append(Edit(tokens[as_at - 1].end, tokens[close].end, ")"))
    return open_at + 1


def _for_operand(function: str, operand: Sequence[Token]) -> str:
    """The cheaper function when the operand is already an OID (a column or a number):
    no name to resolve, so ``c.oid::regclass`` compares as ``c.oid`` and prints through
    ``regclass_name_of``. Returns '' for no function at all (the cast is the identity)."""
    column = all(
        t.kind == "identifier" if i % 2 == 0 else t.text == "." for i, t in enumerate(operand)
    )
    if not operand or not (column or (len(operand) == 1 and operand[0].kind == "numeric_const")):
        return function
    if function.startswith("regproc") or function.endswith("_names"):
        return function
    return f"{function}_of" if function.endswith("_name") else ""


def _reg(name: str) -> str:
    return "regproc" if name == "regprocedure" else name


def _cast_parts(tokens: Sequence[Token], index: int) -> tuple[int, int, int] | None:
    """For ``CAST ( ... AS type )`` at ``index``: positions of ``(``, the ``AS``, ``)``."""
    parts = _cast_as(tokens, index)
    return None if parts is None else (index + 1, *parts)


def _cast_target(tokens: Sequence[Token], as_at: int, close: int) -> str:
    """The type name of a CAST, without a pg_catalog qualification ('' if not one name)."""
    names = [t for t in tokens[as_at + 1 : close] if t.text != "."]
    if len(names) == 2 and _name(names[0]) == "pg_catalog":
        names = names[1:]
    return _name(names[0]) if len(names) == 1 and _is_name(names[0]) else ""


def _is_output(tokens: Sequence[Token], cast: int, last: int) -> bool:
    """The cast ending at ``last`` is a whole item of a select list: its value is sent
    to the client, which reads a reg* value as a name, as PostgreSQL prints it."""
    after = tokens[last + 1] if last + 1 < len(tokens) else None
    if (
        after is not None
        and after.text not in (",", ";")
        and after.upper not in ("AS", "FROM")
        and after.kind != "identifier"  # an alias without AS
    ):
        return False
    depth = 0
    for at in range(cast - 1, -1, -1):
        text = tokens[at].text
        if text in _CLOSE:
            depth += 1
        elif text in _OPEN:
            if depth == 0:
                return False
            depth -= 1
        elif depth == 0 and tokens[at].upper in ("SELECT", "DISTINCT"):
            return True
        elif depth == 0 and (tokens[at].upper in _CLAUSES or tokens[at].upper in _OPERATORS):
            return False
    return False


def _operand_start(tokens: Sequence[Token], last: int) -> int | None:
    """Index of the first token of the primary expression ending at ``last``."""
    token = tokens[last]
    if token.text in _CLOSE:
        depth = 0
        for index in range(last, -1, -1):
            text = tokens[index].text
            if text in _CLOSE:
                depth += 1
            elif text in _OPEN:
                depth -= 1
                if depth == 0:
                    # A function call: include its (possibly qualified) name.
                    before = tokens[index - 1] if index > 0 else None
                    if before is not None and before.kind == "identifier":
                        return _dotted_start(tokens, index - 1)
                    if before is not None and before.text.lower() in _FUNCTION_KEYWORDS:
                        return index - 1
                    return index
        return None
    if token.kind in ("string_const", "numeric_const"):
        return last
    if token.kind == "operator" and (token.text.startswith("$") or token.text == "?"):
        return last
    if token.kind == "identifier":
        return _dotted_start(tokens, last)
    return None


def _dotted_start(tokens: Sequence[Token], index: int) -> int:
    """Walk back over ``a.b.c``."""
    while index >= 2 and tokens[index - 1].text == "." and tokens[index - 2].kind == "identifier":
        index -= 2
    return index


def _regproc_join(tokens: Sequence[Token], index: int, edits: list[Edit]) -> None:
    """``proc.oid = typ.typreceive`` -> ``proc.proname = typ.typreceive``: the regproc
    columns of pg_type hold function names here (Npgsql's type loading joins pg_proc so)."""
    if index < 1 or index + 1 >= len(tokens):
        return
    end = index + 1
    while end + 2 < len(tokens) and tokens[end + 1].text == "." and _is_name(tokens[end + 2]):
        end += 2
    left, right = tokens[index - 1], tokens[end]
    for oid, other in ((left, right), (right, left)):
        if (
            oid.kind == "identifier"
            and _name(oid) == "oid"
            and other.kind == "identifier"
            and _name(other) in _REGPROC_COLUMNS
        ):
            edits.append(Edit(oid.start, oid.end, "proname"))


def _vector_as_text(sql: str, tokens: Sequence[Token], index: int, edits: list[Edit]) -> int:
    """``x.indkey::text`` -> ``array_to_string(x.indkey, ' ')``; returns the index after
    the cast, 0 when the token at ``index`` does not start such a cast."""
    if tokens[index].text != "::" or index == 0 or index + 1 >= len(tokens):
        return 0
    column = tokens[index - 1]
    if column.kind != "identifier" or _name(column) not in _VECTOR_COLUMNS:
        return 0
    at = index + 1
    if at + 2 < len(tokens) and _name(tokens[at]) == "pg_catalog" and tokens[at + 1].text == ".":
        at += 2
    if not _is_name(tokens[at]) or _name(tokens[at]) not in _TEXT_TYPES:
        return 0
    first = _dotted_start(tokens, index - 1)
    operand = sql[tokens[first].start : column.end]
    edits.append(Edit(tokens[first].start, tokens[at].end, f"array_to_string({operand}, ' ')"))
    return at + 1


# Vector columns clients read as text from a select list: pgjdbc's getFunctionColumns and
# getProcedureColumns split proargtypes' text on spaces.
_VECTOR_ITEMS = {"proargtypes"}


def _vector_item(sql: str, tokens: Sequence[Token], index: int, edits: list[Edit]) -> None:
    """``SELECT p.proargtypes`` -> ``array_to_string(p.proargtypes, ' ') AS proargtypes``:
    a vector sent to the client is its numbers separated by spaces, as PostgreSQL prints
    an oidvector."""
    column = tokens[index]
    if column.kind != "identifier" or _name(column) not in _VECTOR_ITEMS:
        return
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    if after is not None and after.text in ("::", "[", "(", "."):
        return
    first = _dotted_start(tokens, index)
    if not _is_output(tokens, first, index):
        return
    operand = sql[tokens[first].start : column.end]
    named = after is not None and (after.upper == "AS" or after.kind == "identifier")
    label = "" if named else f' AS "{_name(column)}"'
    edits.append(Edit(tokens[first].start, column.end,
                      f"array_to_string({operand}, ' '){label}"))


def _output_name(tokens: Sequence[Token], first: int, cast: int, last: int) -> str | None:
    """`` AS "name"`` for a reg* cast that is an unnamed select-list item: the name
    PostgreSQL gives it (FigureColname: the operand's column or function name, else the
    type's), which the emulation's function call in its place would not have."""
    after = tokens[last + 1] if last + 1 < len(tokens) else None
    if after is not None and (after.upper == "AS" or after.kind == "identifier"):
        return None
    if not _is_output(tokens, cast, last):
        return None
    operand = tokens[first:cast]
    if _column_reference(operand):
        label = _name(operand[-1])
    elif operand[0].kind == "identifier" and len(operand) > 1 and operand[1].text == "(":
        label = _name(operand[0])
    else:
        label = _name(tokens[last - 2] if tokens[last].text == "]" else tokens[last])
    return ' AS "' + label.replace('"', '""') + '"'


def _column_reference(tokens: Sequence[Token]) -> bool:
    """``a`` or ``a.b``: identifiers joined by dots."""
    return bool(tokens) and len(tokens) % 2 == 1 and all(
        t.kind == "identifier" if i % 2 == 0 else t.text == "." for i, t in enumerate(tokens)
    )


def _in_on(tokens: Sequence[Token], index: int) -> bool:
    """The token at ``index`` stands in a join's ON condition (of its parenthesis level
    or an enclosing bracket of it, as in ``ON (a = b AND ...)``)."""
    depth = 0
    for at in range(index - 1, -1, -1):
        text = tokens[at].text
        if text in _CLOSE:
            depth += 1
        elif text in _OPEN:
            depth = max(depth - 1, 0)
        elif depth == 0 and tokens[at].upper in _CLAUSES:
            return tokens[at].upper == "ON"
    return False


def _any_in_join(sql: str, tokens: Sequence[Token], index: int, edits: list[Edit]) -> int:
    """``col = ANY(other.list)`` in an ON condition -> ``list_contains(other.list, col)``.
    Returns the index after the call's closing bracket, 0 when not such a comparison."""
    if index + 2 >= len(tokens) or tokens[index + 1].upper != "ANY":
        return 0
    close = _closing(tokens, index + 2)
    first = _operand_start(tokens, index - 1) if index > 0 else None
    if close is None or first is None:
        return 0
    left, listed = tokens[first:index], tokens[index + 3 : close]
    if not (_column_reference(left) and _column_reference(listed)) or not _in_on(tokens, index):
        return 0
    operand = sql[tokens[first].start : tokens[index - 1].end]
    target = sql[listed[0].start : listed[-1].end]
    edits.append(
        Edit(tokens[first].start, tokens[close].end, f"list_contains({target}, {operand})")
    )
    return close + 1


def _is_regproc_zero(tokens: Sequence[Token], index: int) -> bool:
    """The ``0`` of ``typreceive != 0``."""
    return (
        index >= 2
        and tokens[index].kind == "numeric_const"
        and tokens[index].text == "0"
        and tokens[index - 1].text in _EQUALITY
        and tokens[index - 2].kind == "identifier"
        and _name(tokens[index - 2]) in _REGPROC_COLUMNS
    )
