"""PostgreSQL spellings DuckDB reads otherwise, as rules of the rewrite pass (slot
``postgres``): they apply to every statement alike, catalog query or not.

- ``x ~ 'p'``: PostgreSQL's regular expression match finds the pattern anywhere, DuckDB's
  ``~`` must match the whole string, so the pattern is widened to ``.*(?:p).*``; ``~*`` and
  ``!~*`` (which DuckDB lacks) become ``~`` and ``!~`` with the ``(?i)`` flag.
  ``OPERATOR(pg_catalog.~)`` is the operator itself.
- ``json_build_object(k, v, ...)``, ``json_build_array(...)`` and ``json_agg(x)``: the
  text PostgreSQL's json has (``{"k" : v}``, ``[1, 2]``): each argument's json text
  (``to_json``) in a list for a catalog macro that joins them as PostgreSQL does; the
  jsonb forms are DuckDB's ``json_object`` / ``json_array`` / ``to_json(list(x))``.
- ``'{a,b}'::text[]``, ``CAST('{a,b}' AS text[])`` and ``= ANY('{a,b}')``: PostgreSQL's
  array literal in DuckDB's list
  spelling ``'[a,b]'``.
- ``FROM generate_series(1, 3) s``: PostgreSQL lets ``s`` name the one column (``s(s)``);
  scalar functions in FROM (``string_to_array(x, ',') s``) become a one-row subquery.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from forge_sql.sql import between, storage_parameters, syntax
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.tokens import Token

REGEX_OPERATORS = {"~", "!~", "~*", "!~*"}
# PostgreSQL functions DuckDB has under another name (same arguments).
RENAMED = {
    "jsonb_build_object": "json_object",
    "jsonb_build_array": "json_array",
    # Aggregates: DuckDB's list under a function keeps ORDER BY / FILTER / DISTINCT working.
    "json_agg": "json_agg_of(list",
    "jsonb_agg": "to_json(list",
}
# json_build_* as a catalog macro over the list of the arguments' json text.
JSON_BUILT = {"json_build_object": "json_build_object_of", "json_build_array":
              "json_build_array_of"}
# Set-returning functions whose alias in FROM also names their one column in PostgreSQL.
SET_FUNCTIONS = {"generate_series", "generate_subscripts", "unnest"}
# Scalar functions PostgreSQL also accepts in FROM (one row, one column named by the alias).
SCALAR_FUNCTIONS = {"string_to_array", "regexp_split_to_array", "current_schemas"}


def _operator_edits(source: Source) -> Iterator[Edit]:
    """Regex operators (bare or as ``OPERATOR(schema.op)``) and other ``OPERATOR()``s."""
    tokens = source.tokens
    index = 0
    while index < len(tokens):
        token = tokens[index]
        span = _operator_call(tokens, index)
        if span is not None:
            operator, last = span
        elif token.kind == "operator" and token.text in REGEX_OPERATORS:
            operator, last = token.text, index
        else:
            index += 1
            continue
        if operator in REGEX_OPERATORS:
            widened = list(_widened(source, last + 1, operator))
            if widened:
                yield from widened
                operator = operator.rstrip("*")
        if span is not None or operator != token.text:
            yield Edit(token.start, tokens[last].end, operator)
        index = last + 1


def _operator_call(tokens: Sequence[Token], index: int) -> tuple[str, int] | None:
    """For ``OPERATOR ( [schema .] op )`` at ``index``: (op, index of the ``)``)."""
    if tokens[index].upper != "OPERATOR" or index + 3 >= len(tokens):
        return None
    if tokens[index + 1].text != "(":
        return None
    at = index + 2
    if at + 2 < len(tokens) and tokens[at + 1].text == "." and syntax.is_name(tokens[at]):
        at += 2
    if at + 1 < len(tokens) and tokens[at + 1].text == ")" and tokens[at].kind == "operator":
        return tokens[at].text, at + 1
    return None


def _widened(source: Source, at: int, operator: str) -> Iterator[Edit]:
    """The pattern at ``at`` matched anywhere (``(?s)``: PostgreSQL's ``.`` also matches a
    newline; ``(?i)`` for the case-insensitive operators)."""
    tokens = source.tokens
    if at >= len(tokens):
        return
    flags = "is" if operator.endswith("*") else "s"
    pattern = tokens[at]
    if pattern.kind == "string_const" and pattern.text.startswith("'"):
        yield Edit(pattern.start, pattern.end, f"'(?{flags}).*(?:{pattern.text[1:-1]}).*'")
        return
    last = _operand_end(tokens, at)
    if last is None:
        return
    # Around any inner edit at the same places (a placeholder's cast): outer first.
    yield Edit(pattern.start, pattern.start, f"('(?{flags}).*(?:' || ", -1)
    yield Edit(tokens[last].end, tokens[last].end, " || ').*')", 1)


def _operand_end(tokens: Sequence[Token], at: int) -> int | None:
    """The last token of the primary expression starting at ``at`` (a column, a
    placeholder, a string, a call or a parenthesised expression), with its subscripts and
    casts; None when it is something else."""
    token = tokens[at]
    if token.text == "(":
        last = syntax.closing(tokens, at)
    elif token.kind == "string_const" or (
        token.kind == "operator" and token.text.startswith("$")
    ):
        last = at
    elif token.kind == "identifier" or (syntax.is_name(token) and syntax.called(tokens, at)):
        last = at
        while last + 2 < len(tokens) and tokens[last + 1].text == "." and syntax.is_name(
            tokens[last + 2]
        ):
            last += 2
        if last + 1 < len(tokens) and tokens[last + 1].text == "(":
            last = syntax.closing(tokens, last + 1)
    else:
        return None
    while last is not None and last + 1 < len(tokens):
        following = tokens[last + 1].text
        if following == "[":
            depth = 0
            for end in range(last + 1, len(tokens)):
                depth += {"[": 1, "]": -1}.get(tokens[end].text, 0)
                if depth == 0:
                    break
            last = end if depth == 0 else None
        elif following == "::" and last + 2 < len(tokens) and syntax.is_name(tokens[last + 2]):
            last += 2
        else:
            break
    return last


def _function_edits(source: Source) -> Iterator[Edit]:
    """The call under DuckDB's name; as a whole select-list item it keeps PostgreSQL's
    column name (``json_build_object``) through an alias."""
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if syntax.is_name(token) and syntax.name(token) in RENAMED and syntax.called(
            tokens, index
        ):
            renamed = RENAMED[syntax.name(token)]
            yield Edit(token.start, token.end, renamed)
            close = syntax.closing(tokens, index + 1)
            if close is not None and "(" in renamed:
                close = _aggregate_end(tokens, close)
                yield Edit(tokens[close].end, tokens[close].end, ")", -1)
            if close is not None and _select_item(tokens, index, close):
                yield Edit(tokens[close].end, tokens[close].end, f" AS {syntax.name(token)}")


def _json_build_edits(source: Source) -> Iterator[Edit]:
    """``json_build_object(k, v)`` -> ``json_build_object_of([to_json((k)::VARCHAR)::VARCHAR,
    datum_to_json(v)])``: keys are text in PostgreSQL, values converted as to_json does
    (a json value kept as written)."""
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if not (syntax.is_name(token) and syntax.name(token) in JSON_BUILT
                and index + 1 < len(tokens) and tokens[index + 1].text == "("):
            continue
        if index >= 2 and tokens[index - 1].text == "." and syntax.name(
                tokens[index - 2]) != "pg_catalog":
            continue  # someone else's function (the catalog rule drops pg_catalog.)
        close = syntax.closing(tokens, index + 1)
        if close is None:
            continue
        name = syntax.name(token)
        yield Edit(token.start, token.end, JSON_BUILT[name])
        # Around every other rule's edits of an argument: the list outermost.
        yield Edit(tokens[index + 1].end, tokens[index + 1].end, "[", -10)
        for number, (first, end) in enumerate(syntax.comma_items(tokens, index + 2, close)):
            last = end - 1
            key = name == "json_build_object" and number % 2 == 0
            yield Edit(tokens[first].start, tokens[first].start,
                       "to_json((" if key else "datum_to_json(", -9)
            yield Edit(tokens[last].end, tokens[last].end,
                       ")::VARCHAR)::VARCHAR" if key else ")", 9)
        yield Edit(tokens[close].start, tokens[close].start, "]", 10)
        if _select_item(tokens, syntax.qualified_start(tokens, index), close):
            yield Edit(tokens[close].end, tokens[close].end, f" AS {name}")


def _aggregate_end(tokens: Sequence[Token], close: int) -> int:
    """The last token of an aggregate call ending at ``close``, with its FILTER and OVER
    clauses (which belong inside the wrapping call)."""
    for clause in ("FILTER", "OVER"):
        if close + 1 < len(tokens) and tokens[close + 1].upper == clause:
            following = close + 2
            if following < len(tokens) and tokens[following].text == "(":
                end = syntax.closing(tokens, following)
                close = end if end is not None else close
            elif following < len(tokens) and clause == "OVER":
                close = following  # a named window
    return close


def _select_item(tokens: Sequence[Token], first: int, last: int) -> bool:
    """Tokens ``first`` to ``last`` are a whole item of a select list, without an alias."""
    after = tokens[last + 1] if last + 1 < len(tokens) else None
    if after is not None and not (after.text in (",", ")") or after.upper == "FROM"):
        return False
    if first == 0 or (tokens[first - 1].text != "," and tokens[first - 1].upper not in (
        "SELECT", "DISTINCT"
    )):
        return False
    depth = 0
    for at in range(first - 1, -1, -1):
        text = tokens[at].text
        if text in syntax.CLOSE:
            depth += 1
        elif text in syntax.OPEN:
            if depth == 0:
                return False
            depth -= 1
        elif depth == 0 and tokens[at].upper in ("SELECT", "DISTINCT"):
            return True
        elif depth == 0 and tokens[at].upper in _NOT_SELECT_LIST:
            return False
    return False


# Keywords that end a select list: a comma after one of them separates something else.
_NOT_SELECT_LIST = frozenset({
    "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "BY", "LIMIT", "OFFSET", "UNION", "INTERSECT",
    "EXCEPT", "WINDOW", "QUALIFY", "ON", "JOIN", "USING", "SET", "VALUES", "RETURNING", "INTO",
})


def _array_edits(source: Source) -> Iterator[Edit]:
    """``'{a,b}'`` as an array: ``'[a,b]'``, typed as a list when nothing casts it."""
    tokens = source.tokens
    for index, token in enumerate(tokens):
        text = token.text
        if token.kind != "string_const" or not (text.startswith("'{") and text.endswith("}'")):
            continue
        if "{" in text[2:-2]:
            continue
        literal = "'[" + text[2:-2] + "]'"
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        if after is not None and after.text == "::" and _casts_to_array(tokens, index + 2):
            yield Edit(token.start, token.end, literal)
            continue
        cast = index >= 2 and tokens[index - 1].text == "(" and tokens[index - 2].upper == "CAST"
        if cast and after is not None and after.upper == "AS" and _casts_to_array(
                tokens, index + 2):
            yield Edit(token.start, token.end, literal)
            continue
        quantified = index >= 2 and tokens[index - 1].text == "(" and tokens[
            index - 2
        ].upper in ("ANY", "ALL")
        if quantified and after is not None and after.text == ")":
            yield Edit(token.start, token.end, literal + "::VARCHAR[]")


def _casts_to_array(tokens: Sequence[Token], index: int) -> bool:
    """A type name (maybe qualified) followed by ``[]`` starts at ``index``."""
    while index + 1 < len(tokens) and tokens[index + 1].text == ".":
        index += 2
    return (
        index + 2 < len(tokens) and tokens[index + 1].text == "[" and tokens[index + 2].text == "]"
    )


def _from_function_edits(source: Source) -> Iterator[Edit]:
    """A function call in FROM with an alias: ``generate_series(1, 3) s`` -> ``... s(s)``
    (DuckDB reads ``s`` as the whole row); ``string_to_array(x, ',') s`` ->
    ``(SELECT string_to_array(x, ',') AS s) s`` (DuckDB has no scalar functions in FROM)."""
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if not syntax.is_name(token):
            continue
        function = syntax.name(token)
        if function not in SET_FUNCTIONS and function not in SCALAR_FUNCTIONS:
            continue
        close = syntax.closing(tokens, index + 1)
        if close is None or not syntax.in_from(tokens, index):
            continue
        alias = close + 1
        if alias < len(tokens) and tokens[alias].upper == "AS":
            alias += 1
        if not (
            alias < len(tokens)
            and tokens[alias].kind == "identifier"
            and (alias + 1 == len(tokens) or tokens[alias + 1].text not in ("(", "."))
        ):
            continue
        name = tokens[alias].text
        if function in SET_FUNCTIONS:
            yield Edit(tokens[alias].end, tokens[alias].end, f"({name})")
            continue
        start = syntax.qualified_start(tokens, index)
        yield Edit(tokens[start].start, tokens[start].start, "(SELECT ")
        yield Edit(tokens[close].end, tokens[alias].end, f" AS {name}) {name}")


_REGEX_WANTED = re.compile(r"~|operator", re.IGNORECASE)
_FUNCTIONS_WANTED = re.compile(r"_build_(object|array)|json_agg|jsonb_agg", re.IGNORECASE)
_FROM_WANTED = re.compile(
    "|".join(sorted(SET_FUNCTIONS | SCALAR_FUNCTIONS)), re.IGNORECASE
)

RULES: tuple[Rule, ...] = (
    Rule("operators", _operator_edits, lambda sql: _REGEX_WANTED.search(sql) is not None),
    Rule("renamed functions", _function_edits,
         lambda sql: _FUNCTIONS_WANTED.search(sql) is not None),
    Rule("json built", _json_build_edits, lambda sql: _FUNCTIONS_WANTED.search(sql) is not None),
    Rule("array literals", _array_edits, lambda sql: "'{" in sql),
    Rule("functions in FROM", _from_function_edits,
         lambda sql: _FROM_WANTED.search(sql) is not None),
    storage_parameters.RULE,
    *between.RULES,
)
