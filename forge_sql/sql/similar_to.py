"""SQL's SIMILAR TO (docs: functions-matching, "SIMILAR TO"), as a rule of the rewrite pass's
``semantics`` slot. DuckDB reads the pattern of ``x SIMILAR TO p`` as a regular expression;
PostgreSQL reads SQL's pattern language (``%``, ``_``, and ``.`` as a plain dot). A constant
pattern is translated when the statement is prepared, as PostgreSQL's ``similar_to_escape``
does; one computed at run time goes through ``forge_similar_to_regex``
(forge_sql.engine.semantic_functions).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from forge_sql import errors
from forge_sql.sql import operands
from forge_sql.sql.rewrite import Edit, Rule, Source

# Translates a pattern computed at run time (forge_sql.engine.semantic_functions).
SIMILAR_FUNCTION = "forge_similar_to_regex"

_SPECIAL = set(".^$*+?()[]{}|\\-")


def similar_to_regex(pattern: str, escape: str | None = "\\") -> str:
    """PostgreSQL's translation of a SIMILAR TO pattern into a regular expression matched
    against the whole string (similar_escape_internal in regexp.c), for RE2: ``%`` is any
    string, ``_`` any character, ``.``, ``^``, ``$`` and a lone backslash are plain
    characters; brackets, ``|``, ``*``, ``+``, ``?``, ``{m,n}`` and parentheses keep their
    meaning; the escape character makes the next one plain."""
    if escape is not None and len(escape) > 1:
        raise errors.InvalidEscapeSequence(
            "invalid escape string", hint="Escape string must be empty or one character."
        )
    out: list[str] = []
    in_bracket = 0  # 0: outside; 1: just after [ or [^; 2: inside
    at = 0
    while at < len(pattern):
        char = pattern[at]
        at += 1
        if escape and char == escape:
            if at >= len(pattern):
                raise errors.InvalidRegularExpression(
                    "invalid regular expression: invalid escape \\ sequence"
                )
            following = pattern[at]
            at += 1
            # PostgreSQL writes a backslash before the escaped character.
            out.append("\\" + following if following.isalnum() or following in _SPECIAL
                       else following)
            continue
        if in_bracket:
            # Inside brackets characters are passed on as written.
            if char == "]" and in_bracket == 2:
                in_bracket = 0
            elif not (char == "^" and in_bracket == 1 and out[-1] == "["):
                in_bracket = 2
            out.append(char)
            continue
        if char == "[":
            in_bracket = 1
            out.append(char)
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif char == "(":
            out.append("(?:")
        elif char in ".^$\\":
            out.append("\\" + char)
        else:
            out.append(char)
    return "(?s)" + "".join(out)


def _similar_edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if token.upper != "SIMILAR" or index + 2 >= len(tokens) or tokens[index + 1].upper != "TO":
            continue
        at = index + 2
        pattern = tokens[at]
        last = at
        if not (operands.plain_string(pattern) or pattern.upper == "NULL"):
            operand_end = operands.operand_end(tokens, at)
            if operand_end is None:
                raise errors.FeatureNotSupported(
                    "SIMILAR TO is supported with a constant or a simple expression as pattern",
                    hint="Put the pattern's expression in parentheses.",
                )
            last = operands.type_end(tokens, operand_end)
        escape: str | None = "\\"
        end = tokens[last].end
        if last + 2 < len(tokens) and tokens[last + 1].upper == "ESCAPE":
            given = tokens[last + 2]
            if given.upper == "NULL":
                yield Edit(token.start, given.end, "SIMILAR TO CAST(NULL AS VARCHAR)")
                continue
            if not operands.plain_string(given):
                raise errors.FeatureNotSupported(
                    "SIMILAR TO ... ESCAPE is supported with a constant escape string only"
                )
            escape = given.text[1:-1].replace("''", "'")
            end = given.end
        if pattern.upper == "NULL":
            continue
        if not operands.plain_string(pattern):
            # Computed at run time: translated by a function of the engine (per batch).
            given_escape = "NULL" if escape is None else "'" + escape.replace("'", "''") + "'"
            yield Edit(pattern.start, pattern.start, f"{SIMILAR_FUNCTION}(", -3)
            yield Edit(tokens[last].end, end, f", {given_escape})", 3)
            continue
        regex = similar_to_regex(pattern.text[1:-1].replace("''", "'"), escape)
        yield Edit(pattern.start, end, "'" + regex.replace("'", "''") + "'")


_WANTED = re.compile(r"similar", re.IGNORECASE)

RULES: tuple[Rule, ...] = (
    Rule("similar to", _similar_edits, lambda sql: _WANTED.search(sql) is not None),
)
