"""PostgreSQL's ``format()`` (docs: functions-string, "format"), as a rule of the rewrite
pass's ``semantics`` slot: ``%s``, ``%I``, ``%L``, ``%%``, positions ``%2$s``, widths
``%-10s`` and ``%*s`` become DuckDB's C-style ``printf``, each argument turned into the text
PostgreSQL would put there. DuckDB's own ``format`` reads fmt's ``{}`` syntax instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.sql import operands, syntax
from forge_sql.sql.rewrite import Edit, Rule, Source

# Messages as PostgreSQL words them (src/backend/utils/adt/varlena.c, text_format).
NULL_IDENTIFIER = "null values cannot be formatted as an SQL identifier"
TOO_FEW_ARGUMENTS = "too few arguments for format()"
UNTERMINATED = "unterminated format() type specifier"


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
        arguments = operands.arguments(tokens, index + 1, close)
        if not arguments:
            continue
        first, last = arguments[0]
        pattern = tokens[first]
        if any(tokens[i].upper == "VARIADIC" for i in range(index + 2, close)):
            raise errors.FeatureNotSupported("format() with VARIADIC arguments is not supported")
        if first != last or not operands.plain_string(pattern):
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


_WANTED = re.compile(r"format\s*\(", re.IGNORECASE)

RULES: tuple[Rule, ...] = (
    Rule("format", _format_edits, lambda sql: _WANTED.search(sql) is not None),
)
