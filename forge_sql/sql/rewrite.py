"""The one rewrite pass: ordered rules propose edits on a statement's tokens, applied once.

A rule reads the statement's tokens (``Source``) and returns ``Edit``\\ s: replace the text
from ``start`` to ``end`` (character offsets of tokens in the client's text) with ``text``.
The pass collects every rule's edits and splices them into the text in one go, so no rule
sees another's output and the statement is tokenized once. Rules sit in named slots, in
this order (``ordered`` builds the list; the engine fills it, since rules needing catalog
knowledge live in forge_sql.catalog, which imports this package):

- ``catalog``: pg_catalog / information_schema names, reg* casts (forge_sql.catalog.rewrite)
- ``postgres``: PostgreSQL spellings DuckDB reads otherwise: regex operators, OPERATOR(),
  renamed functions, array literals, set-returning functions in FROM (sql.postgres)
- ``literals``: literals DuckDB reads otherwise: bytea hex, LIKE's backslash (sql.literals)
- ``semantics``: PostgreSQL value semantics (integer division, NULL ordering, numeric
  typmods); empty for now
- ``table_functions``: Python table functions called in FROM (sql.table_functions)
- ``parameters``: placeholder casts, known only when the session plans (engine.params)

Edits of earlier slots win where two overlap; insertions at one place keep slot order
(then ``order``, lower first).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from forge_sql.sql.tokens import Token, tokenize

SLOTS = ("catalog", "postgres", "literals", "semantics", "table_functions", "parameters")


class Edit(NamedTuple):
    """Replace ``[start, end)`` of the statement's text with ``text`` (start == end: insert)."""

    start: int
    end: int
    text: str
    order: int = 0  # among insertions at one place: lower first


@dataclass(frozen=True, slots=True)
class Source:
    """What rules read: the statement's text and its tokens, comments left out."""

    sql: str
    tokens: tuple[Token, ...]

    @classmethod
    def of(cls, sql: str, tokens: Iterable[Token]) -> Source:
        return cls(sql, tuple(t for t in tokens if t.kind != "comment"))


def _always(sql: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Rule:
    """One rewrite: ``edits`` proposes the edits; ``wants`` is a cheap test of the text
    that lets statements without what the rule looks for skip it (the hot path)."""

    name: str
    edits: Callable[[Source], Iterable[Edit]]
    wants: Callable[[str], bool] = field(default=_always)


Rules = tuple[Rule, ...]


def ordered(**slots: Sequence[Rule]) -> Rules:
    """The rules of the named slots in slot order (see the module docstring)."""
    unknown = set(slots) - set(SLOTS)
    if unknown:
        raise ValueError(f"no rewrite slot named {', '.join(sorted(unknown))}")
    return tuple(rule for slot in SLOTS for rule in slots.get(slot, ()))


def edits(source: Source, rules: Rules) -> tuple[Edit, ...]:
    """Every edit the rules propose for ``source``, in rule order."""
    found: list[Edit] = []
    for rule in rules:
        if rule.wants(source.sql):
            found.extend(rule.edits(source))
    return tuple(found)


def apply(sql: str, proposed: Sequence[Edit]) -> str:
    """``sql`` with the edits spliced in; an edit overlapping an earlier one is dropped."""
    if not proposed:
        return sql
    return _splice(sql, _accepted(proposed))


def apply_tokens(
    sql: str, tokens: Sequence[Token], proposed: Sequence[Edit]
) -> tuple[str, tuple[Token, ...]]:
    """``apply``'s text and its tokens, made from ``tokens`` (``sql``'s): the tokens no edit
    touches are moved, and only each edited place is lexed again, from the token before it
    to the token after it (the lexer reads a token from its own characters, so the others
    come out as they were)."""
    accepted = _accepted(proposed)
    text = _splice(sql, accepted)
    if any(_UNSAFE.search(edit.text) or edit.text.count("'") % 2 or edit.text.count('"') % 2
           for edit in accepted):
        return text, tokenize(text)  # the edit may open a string or a comment
    starts = [t.start for t in tokens]
    ends = [t.end for t in tokens]
    # Places to lex again, in the client's offsets, each with the growth of the text up
    # to its end (the edits are in order and do not overlap).
    windows: list[list[int]] = []
    growth = 0
    for edit in accepted:
        before = bisect.bisect_right(ends, edit.start) - 1
        after = bisect.bisect_left(starts, edit.end)
        start = starts[before] if before >= 0 else 0
        end = ends[after] if after < len(tokens) else len(sql)
        growth += len(edit.text) - (edit.end - edit.start)
        if windows and start <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], end)
            windows[-1][2] = growth
        else:
            windows.append([start, end, growth])
    out: list[Token] = []
    index, shift = 0, 0
    for start, end, grown in windows:
        while index < len(tokens) and tokens[index].start < start:
            out.append(_shifted(tokens[index], shift))
            index += 1
        while index < len(tokens) and tokens[index].start < end:
            index += 1
        first, last = start + shift, end + grown
        lexed = tokenize(text[first:last])
        if lexed and lexed[-1].end != last - first and end < len(sql):
            return text, tokenize(text)  # the place's last token ends elsewhere: lex all
        out.extend(_shifted(t, first) for t in lexed)
        shift = grown
    out.extend(_shifted(t, shift) for t in tokens[index:])
    return text, tuple(out)


def _shifted(token: Token, by: int) -> Token:
    return token if not by else Token(token.start + by, token.end + by, token.kind, token.text)


# What an edit's text may hold that changes how the text after it is lexed: a comment, a
# dollar-quoted string, an escape.
_UNSAFE = re.compile(r"--|/\*|\$[A-Za-z_]*\$|\\")


def _accepted(proposed: Sequence[Edit]) -> list[Edit]:
    """The edits in splice order, each overlapping an earlier one dropped."""
    accepted: list[tuple[int, Edit]] = []
    for index, edit in enumerate(proposed):
        if not any(_overlap(edit, other) for _, other in accepted):
            accepted.append((index, edit))
    accepted.sort(key=lambda e: (e[1].start, e[1].end != e[1].start, e[1].order, e[0]))
    return [edit for _, edit in accepted]


def _splice(sql: str, accepted: Sequence[Edit]) -> str:
    pieces: list[str] = []
    position = 0
    for edit in accepted:
        pieces.append(sql[position : edit.start])
        pieces.append(edit.text)
        position = edit.end
    pieces.append(sql[position:])
    return "".join(pieces)


def _overlap(one: Edit, other: Edit) -> bool:
    """Whether the two edits touch the same text (insertions at one place do not)."""
    if one.start == one.end:
        return other.start < one.start < other.end
    if other.start == other.end:
        return one.start < other.start < one.end
    return one.start < other.end and other.start < one.end
