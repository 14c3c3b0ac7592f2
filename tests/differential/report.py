"""``python -m tests.differential.report [--count N] [--seed S]``: starts forge-sql and a
throwaway PostgreSQL, runs N generated statements on both, and prints every class of
differences with its count, its share and one shrunk example (Markdown, for
docs/compatibility.md). Not part of the test suite: 20,000 statements take a while."""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))

from pg import PostgresServer  # noqa: E402
from server import start_server  # noqa: E402

from .harness import Outcome, Pair  # noqa: E402
from .known import ACCEPTED, PENDING, explain, unexplained  # noqa: E402
from .session import Run, run  # noqa: E402
from .shrink import shrink  # noqa: E402


def classes_of(outcome: Outcome) -> set[str]:
    return {entry.name for d in outcome.differences
            if (entry := explain(outcome, d)) is not None}


def example(pair: Pair, result: Run, name: str, budget: int) -> Outcome | None:
    """The smallest statement found that differs in class ``name`` alone, if any."""
    members = [o for o in result.outcomes if name in classes_of(o) and not unexplained(o)]
    if not members:
        return None
    alone = [o for o in members if classes_of(o) == {name}] or members
    start = min(alone, key=lambda o: len(o.case.sql))
    return shrink(start, pair.check, budget,
                  keep=lambda tried: classes_of(tried) == {name} and not unexplained(tried))


def markdown(result: Run, examples: dict[str, Outcome | None], seed: int) -> str:
    total = len(result.outcomes)
    differing = len(result.differing)
    alone = Counter(next(iter(classes)) for o in result.differing
                    if len(classes := classes_of(o)) == 1 and not unexplained(o))
    lines = [f"Run of {total} statements (seed {seed}): {differing} differ "
             f"({100 * differing / total:.1f}%), {len(result.unexplained)} in no class. "
             "A statement can belong to several classes; 'alone' counts the statements that "
             "differ in that class only (they pass once it is fixed).", "",
             "| class | statements | share | alone | minimal example |", "|---|---|---|---|---|"]
    reasons = {entry.name: entry for entry in PENDING + ACCEPTED}
    for name, count in result.by_class.most_common():
        found = examples.get(name)
        text = found.case.sql.replace("|", "\\|") if found else ""
        if found and found.case.params:
            text += f" -- parameters {found.case.params!r} ({found.case.param_mode})"
        accepted = " (accepted)" if reasons[name] in ACCEPTED else ""
        lines.append(f"| {name}{accepted} | {count} | {100 * count / total:.2f}% | "
                     f"{alone[name]} | `{text}` |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shrink-budget", type=int, default=150)
    parser.add_argument("--save", type=Path, help="pickle the outcomes to this file")
    parser.add_argument("--unexplained", type=int, default=10,
                        help="how many unexplained statements to print, shrunk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="forge-differential-") as tmp, \
            PostgresServer(log=lambda m: print(m, file=sys.stderr)) as postgres:
        forge = start_server(Path(tmp) / "data")
        try:
            started = time.monotonic()
            result = run(forge.dsn(), postgres.dsn, args.seed, args.count, args.workers)
            print(f"{args.count} statements in {time.monotonic() - started:.0f} s",
                  file=sys.stderr)
            if args.save:
                args.save.write_bytes(pickle.dumps(result.outcomes))
            pair = Pair(forge.dsn(), postgres.dsn, build=False)
            examples = {name: example(pair, result, name, args.shrink_budget)
                        for name in result.by_class}
            print(markdown(result, examples, args.seed))
            for outcome in result.unexplained[:args.unexplained]:
                small = shrink(outcome, pair.check, args.shrink_budget)
                print("\nunexplained:\n" + small.describe())
            pair.close()
        finally:
            forge.stop()


if __name__ == "__main__":
    main()
