"""Parameter types for ``$n`` placeholders: the client's, or inferred from where they stand.

DuckDB's prepared statements leave untyped parameters UNKNOWN until values are bound, but
PostgreSQL clients (asyncpg, pgjdbc) encode arguments by the types ParameterDescription
reports. PostgreSQL infers them from context; this module does the same for the common
contexts (comparison with a column, INSERT ... VALUES, UPDATE ... SET, LIMIT/OFFSET, casts)
and rewrites each typed placeholder as ``CAST($n AS type)`` so that describing and executing
the statement agree on every type: the rewrite pass's ``parameters`` slot, whose edits are
applied together with the statement's others (forge_sql.sql.rewrite).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from forge_sql.seam import numeric, oids
from forge_sql.sql import rewrite, types
from forge_sql.sql.rewrite import Edit
from forge_sql.sql.statements import Statement, Token

_PARAM = re.compile(r"\$(\d+)$")
_COMPARISON = {"=", "<>", "!=", "<", ">", "<=", ">=", "LIKE", "ILIKE", "IN", "BETWEEN"}
_TABLE_INTRODUCERS = {"FROM", "JOIN", "INTO", "UPDATE"}
_ARITHMETIC = {"+", "-", "*", "/", "%"}
_NUMERIC_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE",
                  "DECIMAL"}
# Time travel: ``t AT (VERSION => $1)`` / ``AT (TIMESTAMP => $1)``.
_SNAPSHOT_TYPES = {"VERSION": "BIGINT", "TIMESTAMP": "TIMESTAMP WITH TIME ZONE"}

# Casts written in the SQL text: type names as PostgreSQL spells them.
_CAST_NAMES: dict[str, int] = {
    "INT": oids.INT4,
    "INTEGER": oids.INT4,
    "INT4": oids.INT4,
    "SMALLINT": oids.INT2,
    "INT2": oids.INT2,
    "BIGINT": oids.INT8,
    "INT8": oids.INT8,
    "TEXT": oids.TEXT,
    "VARCHAR": oids.VARCHAR,
    "NUMERIC": oids.NUMERIC,
    "DECIMAL": oids.NUMERIC,
    "BOOL": oids.BOOL,
    "BOOLEAN": oids.BOOL,
    "DATE": oids.DATE,
    "TIMESTAMP": oids.TIMESTAMP,
    "TIMESTAMPTZ": oids.TIMESTAMPTZ,
    "TIME": oids.TIME,
    "UUID": oids.UUID,
    "FLOAT8": oids.FLOAT8,
    "DOUBLE": oids.FLOAT8,
    "FLOAT": oids.FLOAT8,
    "REAL": oids.FLOAT4,
    "FLOAT4": oids.FLOAT4,
    "JSON": oids.JSON,
    "JSONB": oids.JSONB,
    "BYTEA": oids.BYTEA,
    "BLOB": oids.BYTEA,
    "INTERVAL": oids.INTERVAL,
    "OID": oids.OID,
}

UNTYPED = ""  # the stand-in of a placeholder bound as text, neither given nor inferred a type

ColumnTypes = Callable[[Sequence[str]], dict[str, str]]
"""Given table names, map lower-cased column name -> DuckDB type (first table wins)."""


@dataclass(frozen=True, slots=True)
class Parameters:
    """What Describe reports for the placeholders, and the SQL to run with them."""

    oids: tuple[int, ...]
    sql: str  # the statement's text for DuckDB, its rewrite edits and these casts applied
    # Values to describe the statement with, typed as execution will bind them: NULL where
    # the placeholder is cast, a string where it is bound as text, a Decimal for numeric.
    stand_ins: tuple[object, ...] = ()
    casts: tuple[str | None, ...] = ()  # the DuckDB type each placeholder is cast to


def resolve(statement: Statement, given: Sequence[int], column_types: ColumnTypes) -> Parameters:
    """Parameter OIDs (given ones win) and the statement rewritten with casts."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    # PREPARE's placeholders are the prepared statement's, given by EXECUTE (PostgreSQL's
    # Parse of a PREPARE reports no parameters).
    places = [] if statement.kind == "PREPARE" else placeholders(tokens)
    count = max((n for n, _ in places), default=0)
    count = max(count, len(given))
    if count == 0:
        return Parameters((), statement.for_duckdb)
    declared = [
        given[i] if i < len(given) and given[i] not in (0, oids.UNKNOWN) else 0
        for i in range(count)
    ]
    inferred: dict[int, str] = {}
    contexts: dict[int, str] = {}
    if any(oid == 0 or oid == oids.NUMERIC for oid in declared):
        inferred, contexts = _infer(tokens, places, column_types)
    result_oids: list[int] = []
    cast_to: dict[int, str] = {}
    stand_ins: dict[int, object] = {}
    explicit = _explicit_casts(tokens, places)
    bare_numeric = _bare_numeric_casts(tokens, places)
    checked: dict[int, str] = {}
    for number in range(1, count + 1):
        oid = declared[number - 1]
        column_type = inferred.get(number)
        if oid == oids.NUMERIC and contexts.get(number) == _OPERAND:
            # numeric * int4 is numeric: the Decimal keeps its digits (and is cast, for
            # the text a client sends for it is no operand DuckDB can choose an operator for)
            column_type = types.duckdb_type(oids.NUMERIC)
        if number in explicit:
            result_oids.append(oid or explicit[number])
            if number in bare_numeric:
                # $1::numeric: DuckDB's cast to DECIMAL(38,10) would round the value; the
                # cast recorded here has check_parameters refuse what it cannot hold.
                checked[number] = numeric.DUCKDB_TYPE
            continue
        if oid == oids.NUMERIC and not column_type:
            # Unconstrained numeric: bind the Decimal as sent, keeping its own scale.
            result_oids.append(oid)
            stand_ins[number] = Decimal(0)
        elif oid and not (oid == oids.NUMERIC and column_type):
            target = types.duckdb_type(oid)
            if target:
                cast_to[number] = target
            result_oids.append(oid)
        elif column_type:
            cast_to[number] = column_type
            result_oids.append(oid or param_oid(column_type, contexts.get(number)))
        else:
            result_oids.append(oids.TEXT)
    for number in (*cast_to, *explicit):
        stand_ins[number] = None
    values = tuple(stand_ins.get(n, UNTYPED) for n in range(1, count + 1))
    casts = tuple(cast_to.get(n) or checked.get(n) for n in range(1, count + 1))
    edits = _cast_edits(tokens, places, cast_to)
    sql = rewrite.apply(statement.sql, statement.edits + edits) if edits else statement.for_duckdb
    return Parameters(tuple(result_oids), sql, values, casts)


def placeholders(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """(parameter number, token index) of each ``$n`` outside strings and comments."""
    found = []
    for index, token in enumerate(tokens):
        if token.kind == "operator" and token.text.startswith("$"):
            match = _PARAM.match(token.text)
            if match:
                found.append((int(match.group(1)), index))
    return found


def _explicit_casts(tokens: Sequence[Token], places: list[tuple[int, int]]) -> dict[int, int]:
    """Placeholders cast in the SQL (``$n::type``, ``CAST($n AS type)``): DuckDB casts them."""
    casts: dict[int, int] = {}
    for number, index in places:
        if (index + 2 < len(tokens) and tokens[index + 1].text == "::") or (
            index >= 2
            and index + 2 < len(tokens)
            and tokens[index - 2].upper == "CAST"
            and tokens[index - 1].text == "("
            and tokens[index + 1].upper == "AS"
        ):
            casts[number] = _cast_target(tokens, index + 2)
    return casts


def _bare_numeric_casts(tokens: Sequence[Token], places: list[tuple[int, int]]) -> set[int]:
    """Placeholders written ``$n::numeric`` (or decimal), without a type modifier."""
    return {
        number for number, index in places
        if index + 2 < len(tokens) and tokens[index + 1].text == "::"
        and tokens[index + 2].upper in ("NUMERIC", "DECIMAL")
        and (index + 3 >= len(tokens) or tokens[index + 3].text not in ("(", "["))
    }


def _cast_target(tokens: Sequence[Token], at: int) -> int:
    """The OID of the type named at ``tokens[at]``: ``INTEGER[]``, ``DECIMAL(12,3)``,
    ``TIMESTAMP WITH TIME ZONE``."""
    if at + 2 < len(tokens) and tokens[at].upper.strip('"') == "PG_CATALOG" and (
        tokens[at + 1].text == "."
    ):
        at += 2  # $1::pg_catalog.int4, $1::"pg_catalog"."int4" (asyncpg's own casts)
    name = tokens[at].upper.strip('"')
    oid = _CAST_NAMES.get(name) or types.scalar_oid(name) or oids.TEXT
    after = at + 1
    if name == "TIMESTAMP" and after < len(tokens) and tokens[after].upper == "WITH":
        oid = oids.TIMESTAMPTZ
    if after < len(tokens) and tokens[after].text == "(":
        while after < len(tokens) and tokens[after].text != ")":
            after += 1
        after += 1
    if after + 1 < len(tokens) and tokens[after].text == "[" and tokens[after + 1].text == "]":
        oid = oids.ARRAY_OF.get(oid, oids.TEXT)
    return oid


def _infer(
    tokens: Sequence[Token], places: list[tuple[int, int]], column_types: ColumnTypes
) -> tuple[dict[int, str], dict[int, str]]:
    """The DuckDB type of each placeholder whose context gives one, and that context
    (_ASSIGNED, COMPARED, _OPERAND) where it changes the type PostgreSQL describes."""
    tables = _tables(tokens)
    columns = column_types(tables) if tables else {}
    inferred: dict[int, str] = {}
    contexts: dict[int, str] = {}
    _infer_insert(tokens, columns, column_types, inferred)
    assigned = _assignments(tokens)
    for number, index in places:
        if number in inferred:
            continue
        before = tokens[index - 1].upper if index > 0 else ""
        element = _any_column(tokens, index)
        if element and element in columns:
            # col = ANY($1), col <> ALL($1): an array of the column's type.
            inferred[number] = columns[element] + "[]"
            contexts[number] = COMPARED
            continue
        if before in ("LIMIT", "OFFSET"):
            inferred[number] = "BIGINT"
            continue
        if before == "=>" and index > 1 and tokens[index - 2].upper in _SNAPSHOT_TYPES:
            inferred[number] = _SNAPSHOT_TYPES[tokens[index - 2].upper]  # AT (VERSION => $1)
            continue
        column = _compared_column(tokens, index)
        if column and column in columns:
            inferred[number] = columns[column]
            if not any(start < index < end for start, end in assigned):
                contexts[number] = COMPARED
            continue
        operand = _arithmetic_operand(tokens, index, columns)
        if operand:
            inferred[number] = operand
            contexts[number] = _OPERAND
    return inferred, contexts


_ASSIGNED, COMPARED, _OPERAND = "assigned", "compared", "operand"
_CLAUSE_ENDS = {"WHERE", "FROM", "RETURNING"}


def _assignments(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    """Token ranges of UPDATE's SET lists: ``col = $1`` there stores into the column."""
    ranges = []
    for index, token in enumerate(tokens):
        if token.kind == "keyword" and token.upper == "SET" and any(
            t.upper == "UPDATE" for t in tokens[:index]
        ):
            depth, end = 0, len(tokens)
            for at in range(index + 1, len(tokens)):
                text = tokens[at].text
                depth += (text == "(") - (text == ")")
                if depth == 0 and tokens[at].upper in _CLAUSE_ENDS:
                    end = at
                    break
            ranges.append((index, end))
    return ranges


def _any_column(tokens: Sequence[Token], index: int) -> str | None:
    """The column of ``col = ANY ($n)`` (ALL, SOME, any comparison)."""
    if (
        index >= 4
        and index + 1 < len(tokens)
        and tokens[index + 1].text == ")"
        and tokens[index - 1].text == "("
        and tokens[index - 2].upper in ("ANY", "ALL", "SOME")
        and tokens[index - 3].upper in _COMPARISON - {"IN", "BETWEEN"}
        and tokens[index - 4].kind in ("identifier", "keyword")
    ):
        return tokens[index - 4].text.strip('"').lower()
    return None


def _arithmetic_operand(tokens: Sequence[Token], index: int, columns: dict[str, str]) -> str | None:
    """The type of what ``$n`` is added to, multiplied by, ...: ``$1 + 1``, ``price * $2``.

    PostgreSQL gives an unknown operand of a binary operator the other operand's type; only
    integer literals and numeric columns are followed here, where that choice is unambiguous.
    """
    neighbours = []
    if index >= 2 and tokens[index - 1].text in _ARITHMETIC:
        neighbours.append(tokens[index - 2])
    if index + 2 < len(tokens) and tokens[index + 1].text in _ARITHMETIC:
        neighbours.append(tokens[index + 2])
    for token in neighbours:
        if token.kind == "numeric_const" and token.text.isdigit():
            return "INTEGER" if int(token.text) < 2**31 else "BIGINT"
        if token.kind == "numeric_const":
            return types.duckdb_type(oids.NUMERIC)  # 1.5 and 1e5 are numeric constants
        if token.kind in ("identifier", "keyword"):
            type_name = columns.get(token.text.strip('"').lower(), "")
            if type_name.split("(")[0] in _NUMERIC_TYPES:
                return type_name
    return None


def tables(statement: Statement) -> list[str]:
    """Names of the tables a statement reads or writes (after FROM, JOIN, INTO, UPDATE)."""
    return _tables([t for t in statement.tokens if t.kind != "comment"])


def target(statement: Statement) -> tuple[str, int] | None:
    """The table an INSERT, UPDATE or DELETE writes, as written (``s."T"``), and where its
    name starts; None for other statements (WITH ... INSERT, TRUNCATE)."""
    tokens = [t for t in statement.tokens if t.kind != "comment"]
    words = [t.upper for t in tokens[:3]]
    if words[:2] in (["INSERT", "INTO"], ["DELETE", "FROM"]):
        index = 2
    elif words[:1] == ["UPDATE"]:
        index = 1
    else:
        return None
    if index < len(tokens) and tokens[index].upper == "ONLY":
        index += 1
    if index >= len(tokens) or tokens[index].kind not in ("identifier", "keyword"):
        return None
    start, end = index, index
    while end + 2 < len(tokens) and tokens[end + 1].text == "." and tokens[end + 2].kind in (
        "identifier", "keyword"
    ):
        end += 2
    return "".join(t.text for t in tokens[start : end + 1]), tokens[start].start


def _tables(tokens: Sequence[Token]) -> list[str]:
    names = []
    for index, token in enumerate(tokens[:-1]):
        if token.kind == "keyword" and token.upper in _TABLE_INTRODUCERS:
            name = _qualified_name(tokens, index + 1)
            if name:
                names.append(name)
    return names


def _qualified_name(tokens: Sequence[Token], index: int) -> str | None:
    """The last part of ``a.b.c`` starting at ``index``, unquoted."""
    if index >= len(tokens) or tokens[index].kind not in ("identifier", "keyword"):
        return None
    name = tokens[index].text
    while index + 2 < len(tokens) and tokens[index + 1].text == ".":
        index += 2
        name = tokens[index].text
    return name.strip('"')


def _compared_column(tokens: Sequence[Token], index: int) -> str | None:
    """The column a placeholder is compared with: ``col = $1``, ``$1 < col``, ``col IN ($1``."""
    # Walk left over '(' and ',' and other placeholders of an IN list / BETWEEN.
    left = index - 1
    while left >= 0 and (
        tokens[left].text in ("(", ",")
        or _PARAM.match(tokens[left].text)
        or tokens[left].upper in ("AND", "NOT")
    ):
        if tokens[left].upper == "AND" and not _in_between(tokens, left):
            break
        left -= 1
    if left >= 1 and tokens[left].upper in _COMPARISON:
        operand = left - 1
        if tokens[operand].upper == "NOT":
            operand -= 1
        if operand >= 0 and tokens[operand].kind in ("identifier", "keyword"):
            return tokens[operand].text.strip('"').lower()
    right = index + 1
    if right + 1 < len(tokens) and tokens[right].upper in _COMPARISON - {"IN", "BETWEEN"}:
        operand = right + 1
        if tokens[operand].kind in ("identifier", "keyword"):
            name = _qualified_name(tokens, operand)
            return name.lower() if name else None
    return None


def _in_between(tokens: Sequence[Token], and_index: int) -> bool:
    """Whether the AND at ``and_index`` is the one of ``x BETWEEN $1 AND $2``."""
    return and_index >= 2 and tokens[and_index - 2].upper == "BETWEEN"


def _infer_insert(
    tokens: Sequence[Token],
    columns: dict[str, str],
    column_types: ColumnTypes,
    inferred: dict[int, str],
) -> None:
    """``INSERT INTO t [(a, b)] VALUES ($1, $2), ...``: each placeholder takes its column's type."""
    words = [t.upper for t in tokens[:2]]
    if words != ["INSERT", "INTO"]:
        return
    table = _qualified_name(tokens, 2)
    if table is None:
        return
    index = 3
    while index < len(tokens) and tokens[index].text == ".":
        index += 2
    names: list[str] = []
    if index < len(tokens) and tokens[index].text == "(":
        index += 1
        while index < len(tokens) and tokens[index].text != ")":
            if tokens[index].kind in ("identifier", "keyword"):
                names.append(tokens[index].text.strip('"').lower())
            index += 1
        index += 1
    else:
        ordered = column_types([table])
        names = list(ordered)
    if index < len(tokens) and tokens[index].upper == "SELECT":
        _infer_insert_select(tokens, index + 1, names, columns, column_types, table, inferred)
        return
    if index >= len(tokens) or tokens[index].upper != "VALUES":
        return
    position = 0
    depth = 0
    for token in tokens[index + 1 :]:
        if token.text == "(":
            depth += 1
            if depth == 1:
                position = 0
            continue
        if token.text == ")":
            depth -= 1
            continue
        if depth == 1 and token.text == ",":
            position += 1
            continue
        match = _PARAM.match(token.text) if depth == 1 else None
        if match and position < len(names):
            type_name = columns.get(names[position]) or column_types([table]).get(names[position])
            if type_name:
                inferred.setdefault(int(match.group(1)), type_name)


def _infer_insert_select(
    tokens: Sequence[Token],
    index: int,
    names: list[str],
    columns: dict[str, str],
    column_types: ColumnTypes,
    table: str,
    inferred: dict[int, str],
) -> None:
    """``INSERT INTO t (a, b) SELECT $1, $2 [FROM ...]``: a placeholder that is a whole item
    of the select list takes its target column's type, as PostgreSQL infers it."""
    items: list[list[Token]] = [[]]
    depth = 0
    for token in tokens[index:]:
        if depth == 0 and token.kind == "keyword" and token.upper in _SELECT_LIST_ENDS:
            break
        depth += (token.text == "(") - (token.text == ")")
        if depth == 0 and token.text == ",":
            items.append([])
        else:
            items[-1].append(token)
    for position, item in enumerate(items[: len(names)]):
        match = _PARAM.match(item[0].text) if len(item) == 1 else None
        if match:
            name = names[position]
            type_name = columns.get(name) or column_types([table]).get(name)
            if type_name:
                inferred.setdefault(int(match.group(1)), type_name)


_SELECT_LIST_ENDS = {"FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "EXCEPT",
                     "INTERSECT", "RETURNING", "ON", "WINDOW", "OFFSET"}


def _cast_edits(
    tokens: Sequence[Token], places: list[tuple[int, int]], cast_to: dict[int, str]
) -> tuple[Edit, ...]:
    """Each typed ``$n`` as ``CAST($n AS type)``: insertions around the placeholder, so that
    edits of the same token (time travel's literals) and wrapping rules compose."""
    edits: list[Edit] = []
    for number, index in places:
        target = cast_to.get(number)
        if target is not None:
            edits.append(Edit(tokens[index].start, tokens[index].start, "CAST("))
            edits.append(Edit(tokens[index].end, tokens[index].end, f" AS {target})"))
    return tuple(edits)


def cast_edits(tokens: Sequence[Token], casts: Sequence[str | None]) -> tuple[Edit, ...]:
    """The edits casting each ``$n`` to ``casts[n - 1]`` (None: left as it is)."""
    tokens = [t for t in tokens if t.kind != "comment"]
    cast_to = {n: c for n, c in enumerate(casts, start=1) if c is not None}
    return _cast_edits(tokens, placeholders(tokens), cast_to)


def array_casts(casts: Sequence[str | None], params: Sequence[object]) -> tuple[str | None, ...]:
    """``casts`` with as many dimensions as each array value has.

    PostgreSQL's array types cover every dimension (``{{1,2},{3,4}}`` is an int4[]), DuckDB's
    do not: a value nested deeper than its placeholder's cast gets a deeper cast.
    """
    adapted = list(casts)
    for index, target in enumerate(casts):
        if not target or not target.endswith("[]") or index >= len(params):
            continue
        value = params[index]
        if isinstance(value, list):
            missing = _depth(value) - target.count("[]")
            if missing > 0:
                adapted[index] = target + "[]" * missing
    return tuple(adapted)


def _depth(value: list[object]) -> int:
    inner = next((v for v in value if v is not None), None)
    return 1 + _depth(inner) if isinstance(inner, list) else 1


def param_oid(column_type: str, context: str | None = None) -> int:
    """The type a placeholder compared with or stored in a column is described with.

    Compared with a varchar column it is text: PostgreSQL's varchar has no operators of its
    own, the column is compared as text (varchar[] likewise).

    Results of nested-list columns go out as JSON, but PostgreSQL describes their
    parameters by the element's array type (int4[] for INTEGER[][]), so drivers send
    array literals or binary arrays of any dimension, which the wire decodes as lists.
    """
    oid = types.pg_type(column_type)[0]
    element = column_type
    while element.endswith("[]"):
        element = element[:-2]
    if oid == oids.JSON and element != column_type:
        oid = oids.ARRAY_OF.get(types.pg_type(element)[0], oid)
    if context == COMPARED:
        oid = {oids.VARCHAR: oids.TEXT, oids.VARCHAR_ARRAY: oids.TEXT_ARRAY}.get(oid, oid)
    return oid
