"""Greedy shrinking of a differing case: replace a fragment by one of its parts of the same
type or by the simplest value of its type, drop a list item or an optional clause, and keep
each change that still shows the same difference, until no change does."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .harness import Outcome
from .nodes import EMPTY, Node, items
from .statements import Case

Path = tuple[int, ...]


def _paths(node: Node, prefix: Path = ()) -> Iterator[tuple[Path, Node]]:
    yield prefix, node
    for index, arg in enumerate(node.args):
        yield from _paths(arg, (*prefix, index))


def _replace(node: Node, path: Path, new: Node) -> Node:
    if not path:
        return new
    args = list(node.args)
    args[path[0]] = _replace(args[path[0]], path[1:], new)
    return node.with_args(tuple(args))


def _smaller(node: Node) -> Iterator[Node]:
    if node.kind == "clause":
        yield EMPTY
    elif node.kind == "list" and len(node.args) > 1:
        for drop in range(len(node.args)):
            yield items([a for i, a in enumerate(node.args) if i != drop], node.value)
    elif node.kind == "expr":
        for arg in node.args:
            if arg.type and arg.type == node.type:
                yield arg
        if node.simplest is not None and node.simplest.template != node.template:
            yield node.simplest


def signature(outcome: Outcome) -> tuple[object, ...]:
    """What must stay the same while shrinking: the first kind of difference and the
    SQLSTATEs each side answered."""
    first = outcome.differences[0].kind if outcome.differences else None
    return (first, outcome.forge.error[1] if outcome.forge.error else None,
            outcome.pg.error[1] if outcome.pg.error else None)


def shrink(outcome: Outcome, check: Callable[[Case], Outcome], budget: int = 300,
           keep: Callable[[Outcome], bool] | None = None) -> Outcome:
    """The smallest case found within ``budget`` runs that still differs as ``outcome`` does
    (by ``keep``, default: the same first kind of difference and the same SQLSTATEs)."""
    wanted = signature(outcome)
    if keep is None:
        def keep(tried: Outcome) -> bool:
            return bool(tried.differences) and signature(tried) == wanted
    best = outcome
    runs = 0
    progress = True
    while progress and runs < budget:
        progress = False
        for path, node in list(_paths(best.case.node)):
            for candidate in _smaller(node):
                case = best.case.with_node(_replace(best.case.node, path, candidate))
                if case.sql == best.case.sql:
                    continue
                runs += 1
                tried = check(case)
                if keep(tried):
                    best = tried
                    progress = True
                    break
                if runs >= budget:
                    return best
            if progress:
                break
    return best
