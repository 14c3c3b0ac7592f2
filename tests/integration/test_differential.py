"""Generated statements on forge-sql and on PostgreSQL: every difference must belong to a
class in tests/differential/known.py (pending removal, or accepted with its reason)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from postgres import PostgresServer, postgres  # noqa: F401
from server import RunningServer

sys.path.insert(0, str(Path(__file__).parents[2]))

from tests.differential.harness import Pair
from tests.differential.known import PENDING, explain
from tests.differential.session import failure_report, run
from tests.differential.statements import generate

SEED = int(os.environ.get("FORGE_DIFFERENTIAL_SEED", "20261207"))


@pytest.mark.timeout(600)
def test_generated_statements_differ_only_in_known_ways(
        server: RunningServer, postgres: PostgresServer) -> None:  # noqa: F811
    started = time.monotonic()
    result = run(server.dsn(), postgres.dsn, SEED, 3000, workers=2)
    elapsed = time.monotonic() - started
    print(f"3000 statements in {elapsed:.1f} s, {len(result.differing)} differ: "
          f"{dict(result.by_class.most_common())}")
    assert not result.unexplained, failure_report(result)
    # The run compared something: most statements answer rows on both servers.
    answered = [o for o in result.outcomes if o.pg.error is None and o.pg.tag]
    assert len(answered) > 1500


@pytest.mark.slow
@pytest.mark.timeout(6 * 3600)
def test_hundred_thousand_statements(server: RunningServer,
                                     postgres: PostgresServer) -> None:  # noqa: F811
    result = run(server.dsn(), postgres.dsn, SEED + 1, 100_000, workers=2)
    assert not result.unexplained, failure_report(result)


def test_a_known_difference_is_found_and_explained(
        server: RunningServer, postgres: PostgresServer) -> None:  # noqa: F811
    """The machinery sees a difference kept on purpose (DuckDB casts boolean to smallint,
    PostgreSQL refuses) and files it in its class; an identical answer gives no difference
    at all."""
    from tests.differential.nodes import Node, items, leaf
    from tests.differential.shrink import shrink
    from tests.differential.statements import Case

    pair = Pair(server.dsn(), postgres.dsn)
    try:
        cast = Node("CAST({0} AS int2)", (leaf("true", "bool"),), "int2", "expr")
        refused = Case(0, 0, Node("SELECT {0}", (cast,), kind="fixed",
                                  tags=frozenset({"total_order"})), "constant")
        outcome = pair.check(refused)
        assert outcome.forge.rows == [(b"1",)]
        assert outcome.differences, outcome.describe()
        names = {entry.name for d in outcome.differences
                 if (entry := explain(outcome, d)) is not None}
        assert names == {"casts PostgreSQL refuses"}, outcome.describe()
        same = pair.check(Case(0, 1, Node("SELECT 1 + 1 AS two", kind="fixed",
                                          tags=frozenset({"total_order"})), "constant"))
        assert same.differences == [], same.describe()
        # Shrinking keeps the difference and drops what does not take part in it.
        sum_ = Node("({0} + {1})", (leaf("2", "int4"), leaf("3", "int4")), "int4")
        wider = Case(0, 2, Node("SELECT {0}", (items([leaf("1", "int4"), sum_, cast]),),
                                kind="fixed", tags=frozenset({"total_order"})), "constant")
        small = shrink(pair.check(wider), pair.check)
        assert small.case.sql == "SELECT CAST(true AS int2)", small.describe()
    finally:
        pair.close()


def test_cases_are_reproducible_from_their_seed() -> None:
    assert [generate(SEED, i).sql for i in range(50)] == [generate(SEED, i).sql
                                                          for i in range(50)]
    assert generate(SEED, 1).sql != generate(SEED + 1, 1).sql


def test_pending_classes_have_reasons() -> None:
    names = [entry.name for entry in PENDING]
    assert len(names) == len(set(names))
    assert all(entry.reason for entry in PENDING)
