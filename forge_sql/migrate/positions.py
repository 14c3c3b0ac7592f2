"""A YAML document with the line and column of every key and value, for error messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from forge_sql.migrate.errors import MigrationError

Path_ = tuple[str | int, ...]

# Aliases let a small file stand for a huge document ("billion laughs": nine lines, 10^9
# strings); a declaration is far below this many keys, items and scalars once expanded.
MAX_NODES = 100_000


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based, as editors show them
    column: int  # 1-based


@dataclass(slots=True)
class Document:
    """The parsed data and, for each path of keys/indexes, where its key and value start."""

    data: Any
    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)
    # Scalars written on one line without escapes: where their text starts, so that a
    # position inside the value (an offset) maps to a column.
    verbatim: dict[Path_, Mark] = field(default_factory=dict)

    def where(self, path: Path_, *, key: bool = False, offset: int | None = None) -> Mark:
        """The closest known position of ``path``: the node itself, else its parent; with
        ``offset``, that character of the value when the file spells it verbatim."""
        start = self.verbatim.get(path)
        if offset is not None and start is not None and not key:
            return Mark(start.line, start.column + offset)
        table = self.keys if key else self.values
        for end in range(len(path), -1, -1):
            found = table.get(path[:end]) or self.values.get(path[:end])
            if found is not None:
                return found
        return Mark(1, 1)


def load(text: str, source: str) -> Document:
    """Parse one YAML document, keeping positions; syntax errors name ``source:line:col``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Document(None)
        _bounded(node, source)
        data = loader.construct_document(node)
    except RecursionError:
        raise MigrationError(f"{source}: invalid YAML: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise MigrationError(f"{where}: invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise MigrationError(f"{source}: invalid YAML: {exc}") from exc
    finally:
        loader.dispose()
    document = Document(data)
    _walk(node, (), document)
    return document


def _bounded(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases expand beyond MAX_NODES, or refer to themselves,
    counting each shared node once per use without expanding anything."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children = _children(node)
        if done:
            open_.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_NODES:
                mark = _mark(node)
                raise MigrationError(
                    f"{source}:{mark.line}:{mark.column}: YAML aliases expand to more than "
                    f"{MAX_NODES} values; write the declaration out (or use fewer aliases)")
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_:
            mark = _mark(node)
            raise MigrationError(f"{source}:{mark.line}:{mark.column}: YAML alias refers to "
                                 "itself (a recursive structure)")
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _verbatim(node: yaml.ScalarNode) -> Mark | None:
    """Where the value's own text starts, if the file holds it unchanged on one line."""
    start, end = node.start_mark, node.end_mark
    if start.buffer is None or start.line != end.line or not isinstance(node.value, str):
        return None
    raw = start.buffer[start.pointer : end.pointer]
    quote = 1 if node.style in ("'", '"') else 0
    if node.style not in (None, "'", '"') or raw[quote : len(raw) - quote] != node.value:
        return None
    return Mark(start.line + 1, start.column + 1 + quote)


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node: yaml.Node, path: Path_, document: Document) -> None:
    document.values[path] = _mark(node)
    if isinstance(node, yaml.ScalarNode):
        start = _verbatim(node)
        if start is not None:
            document.verbatim[path] = start
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            document.keys[(*path, key)] = _mark(key_node)
            _walk(value_node, (*path, key), document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), document)
