"""SQL PREPARE / EXECUTE / DEALLOCATE of statements that call Python table functions
(directly or through views that do): the server keeps them planned, and EXECUTE runs the
plan with its arguments' values, as the extended protocol's Bind and Execute do, so the
calls are expanded and their rows stream (engine.table_functions). DuckDB's own PREPARE
would keep the call's text and run it through the function's table macro, which holds
the rows whole. Other statements are prepared by DuckDB as before."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.engine import table_functions
from forge_sql.engine.plans import Plan
from forge_sql.engine.result import TagResult
from forge_sql.seam.backend import Result
from forge_sql.sql.quoting import quote_ident
from forge_sql.sql.statements import Statement, Token


@dataclass(frozen=True, slots=True)
class Prepare:
    """PREPARE name AS statement (DuckDB's parser refuses parameter types, 0A000)."""

    name: str
    query: str  # the statement's text


@dataclass(frozen=True, slots=True)
class Execute:
    """EXECUTE name [(argument, ...)]: the arguments' SQL texts."""

    name: str
    arguments: tuple[str, ...]


def _fold(token: Token) -> str:
    text = token.text
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _groups(statement: Statement, open_index: int) -> tuple[list[str], int]:
    """The texts between the top-level commas of the brackets opening at token
    ``open_index``, and the index after the closing bracket."""
    tokens = statement.tokens
    depth = 0
    start = open_index + 1
    found: list[str] = []
    for index in range(open_index + 1, len(tokens)):
        text = tokens[index].text
        if text in ("(", "["):
            depth += 1
        elif text in (")", "]") and depth > 0:
            depth -= 1
        elif depth == 0 and text in (",", ")"):
            if index == start:
                if text == ")" and not found:
                    return found, index + 1  # ()
                raise errors.SyntaxError_(f'syntax error at or near "{text}"')
            found.append(statement.sql[tokens[start].start : tokens[index - 1].end])
            start = index + 1
            if text == ")":
                return found, index + 1
    raise errors.SyntaxError_("syntax error at end of input")


def parse_prepare(statement: Statement) -> Prepare | None:
    """The parts of a PREPARE statement; None when it is not one this module reads."""
    tokens = statement.tokens
    if len(tokens) < 4 or tokens[0].upper != "PREPARE":
        return None
    if tokens[2].upper != "AS":
        return None
    return Prepare(_fold(tokens[1]), statement.sql[tokens[3].start :])


def parse_execute(statement: Statement) -> Execute | None:
    tokens = statement.tokens
    if len(tokens) < 2 or tokens[0].upper != "EXECUTE":
        return None
    arguments: list[str] = []
    index = 2
    if index < len(tokens) and tokens[index].text == "(":
        arguments, index = _groups(statement, index)
    if index != len(tokens):
        return None
    return Execute(_fold(tokens[1]), tuple(arguments))


def deallocated(statement: Statement) -> str | None:
    """The name DEALLOCATE [PREPARE] drops ('' for ALL), or None for other statements."""
    tokens = [t for t in statement.tokens if t.upper != "PREPARE"]
    if not tokens or tokens[0].upper != "DEALLOCATE" or len(tokens) < 2:
        return None
    return "" if tokens[1].upper == "ALL" else _fold(tokens[1])


def arguments_query(execute: Execute, expected: int) -> str:
    """The SELECT computing EXECUTE's argument values (PostgreSQL: 42601 when their
    number is not the statement's)."""
    if len(execute.arguments) != expected:
        raise errors.SyntaxError_(
            f"wrong number of parameters for prepared statement \"{execute.name}\"",
            detail=f"Expected {expected} parameters but got {len(execute.arguments)}.",
        )
    return "SELECT " + ", ".join(
        f"({text}) AS {quote_ident(f'a{i}')}" for i, text in enumerate(execute.arguments))


class Prepared:
    """One session's statements PREPAREd here, by name."""

    def __init__(
        self,
        plan: Callable[[str], Plan],
        fetch_row: Callable[[Plan], Sequence[object]],
        run: Callable[[Plan, Sequence[object]], Result],
    ) -> None:
        """``plan(sql)``: the session's plan of a statement (views expanded); ``fetch_row``:
        run a planned query (its privileges checked) and return its one row; ``run``: run a
        plan with parameter values, as Execute does."""
        self._plan = plan
        self._fetch_row = fetch_row
        self._run = run
        self._plans: dict[str, Plan] = {}

    def prepare(self, statement: Statement) -> Result | None:
        """PREPARE of a statement calling table functions: planned and kept; None for
        other statements (DuckDB prepares them)."""
        prepare = parse_prepare(statement)
        if prepare is None or not (
            table_functions.named_in(prepare.query)
            or table_functions.may_name_views(prepare.query)
        ):
            return None
        plan = self._plan(prepare.query)
        if not plan.table_calls:
            return None
        if prepare.name in self._plans:
            raise errors.DuplicatePreparedStatement(
                f'prepared statement "{prepare.name}" already exists')
        self._plans[prepare.name] = plan
        return TagResult("PREPARE")

    def execute(self, statement: Statement) -> Result | None:
        """EXECUTE of a statement kept here: its arguments computed, then its plan run with
        them; None for other statements."""
        execute = parse_execute(statement)
        plan = None if execute is None else self._plans.get(execute.name)
        if execute is None or plan is None:
            return None
        values: Sequence[object] = []
        if plan.param_count or execute.arguments:
            values = self._fetch_row(self._plan(arguments_query(execute, plan.param_count)))
        return self._run(plan, values)

    def forget(self, statement: Statement) -> None:
        """DEALLOCATE name / ALL and DISCARD ALL drop what they name."""
        name = deallocated(statement)
        if name == "" or statement.words[:2] == ["DISCARD", "ALL"]:
            self._plans.clear()
        elif name is not None:
            self._plans.pop(name, None)
