"""Runs a case on one server through libpq's extended protocol, one step per phase (Parse,
Describe, Bind+Execute in text, then in binary), and records the whole answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import psycopg
from psycopg import pq

from .params import ClientEncodingError, encode, parse_types
from .statements import SCRATCH_CONTENT, SCRATCH_SETUP, SCRATCH_TEARDOWN, Case

Row = tuple[bytes | None, ...]
SESSION_SETUP = ("SET TimeZone = 'UTC'", "SET statement_timeout = '10s'")


@dataclass
class Answer:
    """What a client sees. ``error`` is (phase, SQLSTATE, message); phases are ``parse``,
    ``describe``, ``bind`` (the client could not encode), ``execute``, ``execute-binary``."""

    error: tuple[str, str, str] | None = None
    param_types: list[int] = field(default_factory=list)
    columns: list[tuple[str, int, int]] = field(default_factory=list)
    tag: str = ""
    rows: list[Row] = field(default_factory=list)
    binary_rows: list[Row] | None = None
    after: list[Row] | None = None

    def summary(self) -> str:
        lines = []
        if self.error:
            lines.append(f"  error at {self.error[0]}: {self.error[1]} "
                         f"{self.error[2].strip().splitlines()[0] if self.error[2] else ''}")
        if self.param_types:
            lines.append(f"  parameter types: {self.param_types}")
        if self.columns:
            lines.append(f"  columns: {self.columns}")
        if self.tag:
            lines.append(f"  tag: {self.tag}")
            lines.append(f"  rows (text): {self.rows[:8]}{' ...' if len(self.rows) > 8 else ''}")
        if self.binary_rows is not None:
            lines.append(f"  rows (binary): {self.binary_rows[:4]}"
                         f"{' ...' if len(self.binary_rows) > 4 else ''}")
        if self.after is not None:
            lines.append(f"  scratch after: {self.after}")
        return "\n".join(lines)


class SetupError(Exception):
    """The fixture statements themselves failed: the run cannot compare anything."""


def _failed(result: pq.abc.PGresult) -> bool:
    return result.status in (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.BAD_RESPONSE,
                             pq.ExecStatus.NONFATAL_ERROR)


def _error(phase: str, result: pq.abc.PGresult) -> tuple[str, str, str]:
    state = result.error_field(pq.DiagnosticField.SQLSTATE) or b""
    message = result.error_message or b""
    return (phase, state.decode(), message.decode("utf-8", "replace"))


def _rows(result: pq.abc.PGresult) -> list[Row]:
    return [tuple(result.get_value(i, j) for j in range(result.nfields))
            for i in range(result.ntuples)]


class Session:
    """One connection to one server, autocommit, UTC."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn = self._connect()

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.dsn, autocommit=True)
        for statement in SESSION_SETUP:
            conn.execute(statement)
        return conn

    def close(self) -> None:
        self.conn.close()

    def simple(self, sql: str) -> list[Row]:
        result = self.conn.pgconn.exec_(sql.encode())
        if _failed(result):
            raise SetupError(f"{sql}: {_error('simple', result)}")
        return _rows(result)

    def run(self, case: Case) -> Answer:
        if self.conn.closed or self.conn.broken:
            self.conn = self._connect()
        try:
            return self._run(case)
        except psycopg.OperationalError as error:
            self.conn = self._connect()
            return Answer(error=("connection", "08006", str(error)))

    def _run(self, case: Case) -> Answer:
        try:
            if case.dml:
                for statement in SCRATCH_SETUP:
                    self.simple(statement)
            answer = self._statement(case)
            if case.dml and answer.error is None:
                answer.after = self.simple(SCRATCH_CONTENT)
        finally:
            if case.dml:
                self.conn.pgconn.exec_(SCRATCH_TEARDOWN.encode())
        return answer

    def _statement(self, case: Case) -> Answer:
        pg = self.conn.pgconn
        sql, values = case.sql, case.params
        result = pg.prepare(b"", sql.encode(), parse_types(self.conn, case.param_mode, values))
        if _failed(result):
            return Answer(error=_error("parse", result))
        described = pg.describe_prepared(b"")
        if _failed(described):
            return Answer(error=_error("describe", described))
        answer = Answer(
            param_types=[described.param_type(i) for i in range(described.nparams)],
            columns=[((described.fname(i) or b"").decode(), described.ftype(i),
                      described.fmod(i)) for i in range(described.nfields)])
        try:
            bound = encode(self.conn, case.param_mode, values, answer.param_types)
        except ClientEncodingError as error:
            answer.error = ("bind", "client", str(error))
            return answer
        result = self._execute(bound.values, bound.formats, 0)
        if _failed(result):
            answer.error = _error("execute", result)
            return answer
        answer.tag = (result.command_status or b"").decode()
        answer.rows = _rows(result)
        if not case.dml:
            result = self._execute(bound.values, bound.formats, 1)
            if _failed(result):
                answer.error = _error("execute-binary", result)
            else:
                answer.binary_rows = _rows(result)
        return answer

    def _execute(self, values: Sequence[bytes | None], formats: Sequence[int],
                 result_format: int) -> pq.abc.PGresult:
        # libpq takes None for a NULL parameter, which the type stubs do not say.
        sent = cast("list[bytes]", list(values))
        return self.conn.pgconn.exec_prepared(b"", sent or None, list(formats) or None,
                                              result_format=result_format)
