"""Statements as trees of SQL fragments, so that a failing statement can be shrunk by
replacing a fragment with one of its parts or a simpler value."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

_SLOT = re.compile(r"\{(\d+)\}")


@dataclass(frozen=True)
class Node:
    """One SQL fragment: ``template`` with ``{0}``, ``{1}``... replaced by the rendered
    ``args``. ``kind`` says how the shrinker may simplify it: ``expr`` (by a child of the
    same ``type`` or by ``simplest``), ``list`` (by dropping an item), ``clause`` (by
    dropping it), ``param`` (a ``$n`` placeholder carrying ``value``), ``fixed``."""

    template: str
    args: tuple[Node, ...] = ()
    type: str = ""
    kind: str = "expr"
    tags: frozenset[str] = frozenset()
    value: Any = None
    simplest: Node | None = field(default=None, compare=False)

    def with_args(self, args: tuple[Node, ...]) -> Node:
        return replace(self, args=args)

    def all_tags(self) -> frozenset[str]:
        found = set(self.tags)
        for arg in self.args:
            found |= arg.all_tags()
        return frozenset(found)

    def walk(self) -> Iterator[Node]:
        yield self
        for arg in self.args:
            yield from arg.walk()


EMPTY = Node("", kind="fixed")


def leaf(text: str, type_: str = "", tags: frozenset[str] = frozenset()) -> Node:
    return Node(text, type=type_, kind="fixed", tags=tags)


def clause(template: str, *args: Node, tags: frozenset[str] = frozenset()) -> Node:
    return Node(template, args, kind="clause", tags=tags)


def items(nodes: list[Node], separator: str = ", ") -> Node:
    """A comma-separated list the shrinker may shorten (never to nothing)."""
    template = separator.join(f"{{{i}}}" for i in range(len(nodes)))
    return Node(template, tuple(nodes), kind="list", value=separator)


def render(node: Node) -> tuple[str, list[tuple[Any, str]]]:
    """SQL text with ``$1..$n`` numbered in order of appearance, and the parameters'
    (value, intended PostgreSQL type)."""
    params: list[tuple[Any, str]] = []

    def visit(current: Node) -> str:
        if current.kind == "param":
            params.append((current.value, current.type))
            return f"${len(params)}"
        if not current.args:  # a leaf's text is SQL as is, braces of array literals included
            return current.template
        # Only the parts the template names are rendered (and numbered), each once.
        parts: dict[int, str] = {}

        def part(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if index not in parts:
                parts[index] = visit(current.args[index])
            return parts[index]

        return _SLOT.sub(part, current.template)

    return visit(node), params
