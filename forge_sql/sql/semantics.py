"""PostgreSQL value semantics DuckDB computes otherwise, as rules of the rewrite pass (slot
``semantics``; a session with ``forge.semantics = 'duckdb'`` runs without them).

- ``a / b``: PostgreSQL's ``/`` on integers truncates toward zero and keeps the integer
  type (``7 / 2`` = 3, ``-7 / 2`` = -3); DuckDB's is float division. DuckDB's ``//`` is
  PostgreSQL's ``/`` (on floats and decimals it divides as ``/`` does), so the operator is
  respelled. The respelling lives in the statement's text, so a view or macro a client
  creates keeps PostgreSQL's meaning whoever reads it later. ``//`` has no ``interval``
  overload: the engine adds one (forge_sql.engine.semantic_functions).
- ``a / 0``, ``a % 0``, ``mod(a, 0)``: PostgreSQL raises 22012, DuckDB gives NULL; a divisor
  that may be zero and whose extent the tokens show is wrapped in ``forge_divisor``.
- ``format('%s ...', ...)``: PostgreSQL's ``format`` (``%s``, ``%I``, ``%L``, ``%%``,
  positions ``%2$s``, widths ``%-10s`` and ``%*s``) as DuckDB's C-style ``printf``, with each
  argument turned into the text PostgreSQL would put there (docs: functions-string,
  "format"). DuckDB's ``format`` reads fmt's ``{}`` syntax instead.
- ``x SIMILAR TO 'p' [ESCAPE 'e']``: DuckDB reads ``p`` as a regular expression; PostgreSQL
  reads SQL's pattern language (``%``, ``_``, and ``.`` as a plain dot), translated here
  as PostgreSQL's ``similar_to_escape`` does (docs: functions-matching, "SIMILAR TO");
  a pattern computed at run time goes through ``forge_similar_to_regex``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.sql import syntax
from forge_sql.sql.postgres import _operand_end  # one reading of an operand's extent
from forge_sql.sql.rewrite import Edit, Rule, Source
from forge_sql.sql.tokens import Token

# Messages as PostgreSQL words them (src/backend/utils/adt/varlena.c, text_format).
NULL_IDENTIFIER = "null values cannot be formatted as an SQL identifier"
TOO_FEW_ARGUMENTS = "too few arguments for format()"
UNTERMINATED = "unterminated format() type specifier"


# -- division ---------------------------------------------------------------------------

# What a divisor is wrapped in: PostgreSQL raises 22012 where DuckDB's / and % give NULL
# (a macro of the catalog schema, forge_sql.engine.semantic_functions).
DIVISOR = "forge_divisor"


def _division_edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if token.kind != "operator" or token.text not in ("/", "%"):
            continue
        if token.text == "/":
            yield Edit(token.start, token.end, "//")
        divisor = _divisor(tokens, index + 1)
        if divisor is not None:
            yield from _checked(tokens, *divisor)


def _checked(tokens: Sequence[Token], first: int, last: int) -> Iterator[Edit]:
    """Tokens ``first`` to ``last`` wrapped in the zero check (around inner edits)."""
    yield Edit(tokens[first].start, tokens[first].start, f"{DIVISOR}(", -3)
    yield Edit(tokens[last].end, tokens[last].end, ")", 3)


def _mod_edits(source: Source) -> Iterator[Edit]:
    """``mod(a, b)``: the divisor checked as for ``%``."""
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if not (syntax.is_name(token) and syntax.name(token) == "mod"
                and syntax.called(tokens, index)):
            continue
        close = syntax.closing(tokens, index + 1)
        arguments = _arguments(tokens, index + 1, close) if close is not None else []
        if len(arguments) != 2:
            continue
        first, last = arguments[1]
        divisor = _divisor(tokens, first)
        if divisor is not None and divisor[1] == last:
            yield from _checked(tokens, *divisor)


def _divisor(tokens: Sequence[Token], at: int) -> tuple[int, int] | None:
    """(first, last) token of the divisor starting at ``at`` when it may be zero and its
    extent is certain: a signed primary expression not followed by ``^`` (which binds
    tighter than ``/``); None for a non-zero number, or what cannot be delimited."""
    first = at
    while at < len(tokens) and tokens[at].text in ("-", "+"):
        at += 1
    if at >= len(tokens):
        return None
    token = tokens[at]
    if token.kind == "numeric_const":
        try:
            if float(token.text.replace("_", "")) != 0:
                return None
        except ValueError:
            return None
        last: int | None = at
    elif token.kind == "operator" and token.text.startswith("$"):
        return None  # a parameter: its type would be inferred from the check, not the /
    elif token.kind == "string_const" and not (
        at + 1 < len(tokens) and tokens[at + 1].text == "::"
    ):
        return None  # an untyped literal takes the dividend's type only as an operand
    else:
        last = _operand_end(tokens, at)
    if last is None:
        return None
    last = _type_end(tokens, last)
    if last + 1 < len(tokens) and not _ends_operand(tokens[last + 1]):
        return None
    return first, last


# Words after which a divisor has certainly ended (clauses, boolean operators, CASE parts).
_ENDING_WORDS = {
    "AND", "OR", "THEN", "ELSE", "END", "WHEN", "FROM", "WHERE", "AS", "ORDER", "GROUP",
    "HAVING", "LIMIT", "OFFSET", "UNION", "EXCEPT", "INTERSECT", "IS", "NOT", "IN", "BETWEEN",
    "LIKE", "ILIKE", "SIMILAR", "ASC", "DESC", "NULLS", "ON", "USING", "JOIN", "WINDOW",
    "RETURNING", "FILTER", "OVER", "ESCAPE", "FOR", "SET", "VALUES",
}


def _ends_operand(token: Token) -> bool:
    """``token`` cannot continue the operand before it (``^`` binds tighter than ``/``)."""
    if token.kind == "operator":
        return token.text not in ("^", "**", "::", "[", "(", ".")
    return token.upper in _ENDING_WORDS


def _type_end(tokens: Sequence[Token], last: int) -> int:
    """Past the rest of a cast's type name that ``_operand_end`` stops short of:
    ``double precision``, ``character varying``, ``numeric(10, 2)``, ``with time zone``, and
    casts after it."""
    while last + 1 < len(tokens):
        following = tokens[last + 1]
        if following.upper in ("PRECISION", "VARYING"):
            last += 1
        elif following.upper in ("WITH", "WITHOUT") and [
            t.upper for t in tokens[last + 2 : last + 4]
        ] == ["TIME", "ZONE"]:
            last += 3
        elif following.text == "(" and last >= 1 and (
            tokens[last - 1].text == "::" or tokens[last].upper in ("PRECISION", "VARYING")
        ):
            close = syntax.closing(tokens, last + 1)
            if close is None:
                return last
            last = close
        elif last + 2 < len(tokens) and (
            (following.text == "::" and syntax.is_name(tokens[last + 2]))
            or (following.text == "[" and tokens[last + 2].text == "]")  # ::int[]
        ):
            last += 2
        else:
            return last
    return last


# -- format() ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Spec:
    """One ``%`` conversion of a format string: ``argument`` and ``width_argument`` are
    zero-based indexes into the arguments after the format string."""

    conversion: str  # s, I or L
    argument: int
    left: bool = False
    width: int | None = None
    width_argument: int | None = None
    positional: bool = False


def parse_format(text: str) -> list[str | Spec]:
    """PostgreSQL's format string as literal pieces and conversions (text_format in
    varlena.c: ``%[n$][-][width|*|*n$]type``); errors as PostgreSQL raises them."""
    pieces: list[str | Spec] = []
    literal: list[str] = []
    next_argument = 0
    at = 0
    while at < len(text):
        char = text[at]
        at += 1
        if char != "%":
            literal.append(char)
            continue
        if at >= len(text):
            raise errors.InvalidParameterValue(UNTERMINATED)
        if text[at] == "%":
            literal.append("%")
            at += 1
            continue
        if literal:
            pieces.append("".join(literal))
            literal = []
        position, at = _number_dollar(text, at)
        left = False
        while at < len(text) and text[at] == "-":
            left, at = True, at + 1
        width: int | None = None
        width_argument: int | None = None
        if at < len(text) and text[at] == "*":
            star, at = _number_dollar(text, at + 1)
            if star is None:
                width_argument, next_argument = next_argument, next_argument + 1
            else:
                width_argument = star
                next_argument = star + 1
        else:
            digits = re.match(r"\d+", text[at:])
            if digits:
                width = int(digits.group(0))
                at += len(digits.group(0))
        if at >= len(text):
            raise errors.InvalidParameterValue(UNTERMINATED)
        conversion = text[at]
        at += 1
        if conversion not in "sIL":
            raise errors.InvalidParameterValue(
                f'unrecognized format() type specifier "{conversion}"',
                hint='For a single "%" use "%%".',
            )
        if position is None:
            argument, next_argument = next_argument, next_argument + 1
        else:
            argument, next_argument = position, position + 1
        pieces.append(Spec(conversion, argument, left, width, width_argument,
                           position is not None))
    if literal:
        pieces.append("".join(literal))
    return pieces


def _number_dollar(text: str, at: int) -> tuple[int | None, int]:
    """``n$`` at ``at``: (n - 1, the index after it), or (None, at)."""
    match = re.match(r"(\d+)\$", text[at:])
    if match is None:
        return None, at
    number = int(match.group(1))
    if number == 0:
        raise errors.InvalidParameterValue(
            "format specifies argument 0, but arguments are numbered from 1"
        )
    return number - 1, at + len(match.group(0))


# The SQL each conversion puts around its argument (PostgreSQL: the argument's text form;
# %s prints NULL as nothing, %L as NULL, %I refuses it).
_WRAP = {
    "s": ("coalesce(CAST(", " AS VARCHAR), '')"),
    "L": ("quote_nullable(CAST(", " AS VARCHAR))"),
    "I": ("quote_ident(coalesce(CAST(", f" AS VARCHAR), error('{NULL_IDENTIFIER}')))"),
}
_WIDTH = ("coalesce(CAST(", " AS INTEGER), 0)")
# DuckDB's printf, qualified as its parser qualifies the calls it writes for SQL syntax:
# result column names (forge_sql.engine.column_names) call such a call ``format``, as
# PostgreSQL names the column of format(...), where a plain printf(...) keeps its name.
PRINTF = "main.printf"


def printf_call(pieces: Sequence[str | Spec], count: int) -> tuple[str, dict[int, str]]:
    """The ``printf`` format string for ``pieces`` and the conversion each of the ``count``
    arguments takes (``'w'`` for a width); FeatureNotSupported when one argument would
    need two (``format('%1$s %1$L', x)``), or a star width is mixed with positions."""
    used: dict[int, str] = {}
    for piece in pieces:
        if isinstance(piece, Spec):
            for index, kind in ((piece.argument, piece.conversion), (piece.width_argument, "w")):
                if index is None:
                    continue
                if index >= count:
                    raise errors.InvalidParameterValue(TOO_FEW_ARGUMENTS)
                if used.setdefault(index, kind) != kind:
                    raise errors.FeatureNotSupported(
                        f"format() argument {index + 1} is used by two kinds of conversion"
                    )
    stars = any(isinstance(p, Spec) and p.width_argument is not None for p in pieces)
    positional = any(isinstance(p, Spec) and p.positional for p in pieces)
    if stars and positional:
        raise errors.FeatureNotSupported("format() with both a * width and argument positions")
    text: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            text.append(piece.replace("%", "%%"))
            continue
        place = "" if stars else f"{piece.argument + 1}$"
        flag = "-" if piece.left else ""
        width = "*" if piece.width_argument is not None else (
            str(piece.width) if piece.width is not None else "")
        text.append(f"%{place}{flag}{width}s")
    if stars:
        # Sequential printf takes each argument once, in order: arguments no conversion
        # reads must still be passed in their places, as text nobody prints.
        order = [i for p in pieces if isinstance(p, Spec)
                 for i in (p.width_argument, p.argument) if i is not None]
        if order != list(range(len(order))):
            raise errors.FeatureNotSupported("format() with a * width and reordered arguments")
    return "".join(text), used


def _format_edits(source: Source) -> Iterator[Edit]:
    tokens = source.tokens
    for index, token in enumerate(tokens):
        if not (syntax.is_name(token) and syntax.name(token) == "format"
                and syntax.called(tokens, index)):
            continue
        close = syntax.closing(tokens, index + 1)
        if close is None:
            continue
        arguments = _arguments(tokens, index + 1, close)
        if not arguments:
            continue
        first, last = arguments[0]
        pattern = tokens[first]
        if any(tokens[i].upper == "VARIADIC" for i in range(index + 2, close)):
            raise errors.FeatureNotSupported("format() with VARIADIC arguments is not supported")
        if first != last or not _plain_string(pattern):
            if pattern.upper == "NULL" and first == last:
                yield Edit(token.start, tokens[close].end, f"{PRINTF}(CAST(NULL AS VARCHAR))")
                continue
            raise errors.FeatureNotSupported(
                "format() is supported with a constant format string only",
                hint="forge-sql translates PostgreSQL's format string when the statement is "
                "prepared; printf() takes a C-style format string at run time.",
            )
        pieces = parse_format(pattern.text[1:-1].replace("''", "'"))
        translated, used = printf_call(pieces, len(arguments) - 1)
        yield Edit(token.start, token.end, PRINTF)
        yield Edit(pattern.start, pattern.end, "'" + translated.replace("'", "''") + "'")
        for number, (start, end) in enumerate(arguments[1:]):
            before, after = _WIDTH if used.get(number) == "w" else _WRAP[used.get(number, "s")]
            yield Edit(tokens[start].start, tokens[start].start, before, -2)
            yield Edit(tokens[end].end, tokens[end].end, after, 2)


def _plain_string(token: Token) -> bool:
    """A standard string constant ``'...'`` (not E'', not $$ ... $$)."""
    return token.kind == "string_const" and token.text.startswith("'")


def _arguments(tokens: Sequence[Token], opening: int, close: int) -> list[tuple[int, int]]:
    """(first, last) token indexes of each argument of the call whose ``(`` is at
    ``opening`` and ``)`` at ``close``."""
    found: list[tuple[int, int]] = []
    depth = 0
    start = opening + 1
    for at in range(opening + 1, close):
        text = tokens[at].text
        if text in syntax.OPEN:
            depth += 1
        elif text in syntax.CLOSE:
            depth -= 1
        elif depth == 0 and text == ",":
            if at > start:
                found.append((start, at - 1))
            start = at + 1
    if close > start:
        found.append((start, close - 1))
    return found


# -- SIMILAR TO --------------------------------------------------------------------------

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
        if not (_plain_string(pattern) or pattern.upper == "NULL"):
            operand_end = _operand_end(tokens, at)
            if operand_end is None:
                raise errors.FeatureNotSupported(
                    "SIMILAR TO is supported with a constant or a simple expression as pattern",
                    hint="Put the pattern's expression in parentheses.",
                )
            last = _type_end(tokens, operand_end)
        escape: str | None = "\\"
        end = tokens[last].end
        if last + 2 < len(tokens) and tokens[last + 1].upper == "ESCAPE":
            given = tokens[last + 2]
            if given.upper == "NULL":
                yield Edit(token.start, given.end, "SIMILAR TO CAST(NULL AS VARCHAR)")
                continue
            if not _plain_string(given):
                raise errors.FeatureNotSupported(
                    "SIMILAR TO ... ESCAPE is supported with a constant escape string only"
                )
            escape = given.text[1:-1].replace("''", "'")
            end = given.end
        if pattern.upper == "NULL":
            continue
        if not _plain_string(pattern):
            # Computed at run time: translated by a function of the engine (per batch).
            given_escape = "NULL" if escape is None else "'" + escape.replace("'", "''") + "'"
            yield Edit(pattern.start, pattern.start, f"{SIMILAR_FUNCTION}(", -3)
            yield Edit(tokens[last].end, end, f", {given_escape})", 3)
            continue
        regex = similar_to_regex(pattern.text[1:-1].replace("''", "'"), escape)
        yield Edit(pattern.start, end, "'" + regex.replace("'", "''") + "'")


_MOD_WANTED = re.compile(r"mod\s*\(", re.IGNORECASE)
_FORMAT_WANTED = re.compile(r"format\s*\(", re.IGNORECASE)
_SIMILAR_WANTED = re.compile(r"similar", re.IGNORECASE)

RULES: tuple[Rule, ...] = (
    Rule("division", _division_edits, lambda sql: "/" in sql or "%" in sql),
    Rule("mod", _mod_edits, lambda sql: _MOD_WANTED.search(sql) is not None),
    Rule("format", _format_edits, lambda sql: _FORMAT_WANTED.search(sql) is not None),
    Rule("similar to", _similar_edits, lambda sql: _SIMILAR_WANTED.search(sql) is not None),
)
