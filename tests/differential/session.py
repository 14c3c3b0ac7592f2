"""One differential run: generate cases, check each on both servers, sort the differences
into the known classes and the unexplained ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .harness import Outcome, check_all
from .known import explain, unexplained
from .statements import generate_many


@dataclass
class Run:
    outcomes: list[Outcome]
    by_class: Counter[str] = field(default_factory=Counter)
    unexplained: list[Outcome] = field(default_factory=list)

    @property
    def differing(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.differences]


def run(forge_dsn: str, pg_dsn: str, seed: int, count: int, workers: int = 1) -> Run:
    outcomes = check_all(forge_dsn, pg_dsn, generate_many(seed, count), workers)
    result = Run(outcomes)
    for outcome in outcomes:
        classes = {entry.name for d in outcome.differences
                   if (entry := explain(outcome, d)) is not None}
        result.by_class.update(classes)
        if unexplained(outcome):
            result.unexplained.append(outcome)
    return result


def failure_report(result: Run, limit: int = 5) -> str:
    """What a failing test prints: each new difference with its SQL, parameters and both
    answers."""
    parts = [f"{len(result.unexplained)} of {len(result.outcomes)} statements differ from "
             "PostgreSQL in a way no known class explains:"]
    for outcome in result.unexplained[:limit]:
        new = unexplained(outcome)
        parts.append(f"new: {[(d.kind, d.column) for d in new]}\n{outcome.describe()}")
    return "\n\n".join(parts)
