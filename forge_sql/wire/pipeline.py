"""Pipelined executions of one statement ("53.2.4 Pipelining"): drivers send
``Bind/Describe/Execute`` once per parameter set, all before one Sync (psycopg's and
asyncpg's ``executemany``, pgjdbc batches). Found among the received messages, such a
run goes to the backend as one ``execute_many`` call."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from forge_sql import errors
from forge_sql.seam.backend import PreparedStatement
from forge_sql.wire import messages as m
from forge_sql.wire.decode import decode_param
from forge_sql.wire.portals import expand_formats

MAX_RUN_MESSAGES = 24_000  # pipelined messages gathered before their run is executed


@dataclass(frozen=True, slots=True)
class Execution:
    """One Bind (to the unnamed portal) of a run, with the messages that follow it."""

    params: list[object]
    describe: bool  # a Describe of the portal came between Bind and Execute


def bind_values(message: m.Bind, statement: PreparedStatement) -> list[object]:
    """The Bind's parameter values, decoded by the statement's parameter types."""
    oids = statement.param_oids
    if len(message.params) != len(oids):
        raise errors.ProtocolError(
            f"bind message supplies {len(message.params)} parameters, but prepared "
            f'statement "{message.statement}" requires {len(oids)}'
        )
    formats = expand_formats(message.param_formats, len(oids), "parameter")
    return [
        decode_param(value, oid, fmt == 1)
        for value, oid, fmt in zip(message.params, oids, formats, strict=True)
    ]


def run_ahead(
    first: m.Bind, statement: PreparedStatement, values: list[object],
    received: Iterable[m.FrontendMessage],
) -> tuple[list[Execution], int]:
    """The run of executions that starts with ``first`` (already decoded as ``values``)
    and the number of ``received`` messages (those after ``first``) it takes; ([], 0)
    when fewer than two executions follow each other.

    Only statements that return no rows run this way (each answer is BindComplete,
    NoData, CommandComplete), on the unnamed portal, each Execute without a row limit.
    A Bind whose values do not decode ends the run: it fails on its own, as it would have.
    """
    if first.portal or statement.columns is not None:
        return [], 0
    runs: list[Execution] = []
    taken = 0  # messages of the complete executions found
    pending: list[object] | None = values
    describe = False
    for count, message in enumerate(received, start=1):
        if pending is None:
            if not (isinstance(message, m.Bind) and message.statement == first.statement
                    and not message.portal):
                break
            try:
                pending = bind_values(message, statement)
            except errors.ForgeError:
                break
            describe = False
        elif isinstance(message, m.Describe) and message.kind == "P" and not message.name:
            if describe:
                break
            describe = True
        elif isinstance(message, m.Execute) and not message.portal and message.max_rows <= 0:
            runs.append(Execution(pending, describe))
            pending = None
            taken = count
        else:
            break
    if len(runs) < 2:
        return [], 0
    return runs, taken


def run_continues(received: deque[m.FrontendMessage]) -> bool:
    """Whether the messages after a Bind end inside a pipelined run: another execution
    came, and nothing (Sync, Flush, another kind of message) has ended it yet."""
    if not 2 < len(received) < MAX_RUN_MESSAGES:
        return False
    if not isinstance(received[-1], m.Bind | m.Describe | m.Execute):
        return False
    first = received[0]
    second = received[1] if isinstance(first, m.Execute) else received[2]
    return isinstance(first, m.Describe | m.Execute) and isinstance(second, m.Bind)
