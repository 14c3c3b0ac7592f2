"""``CALL forge_sync('name')``, ``CALL forge_sync('name', full_refresh => true)`` and
``CALL forge_sync('name', preview => true)``: a declared sync run by the server, for
superusers, outside a transaction block; one row per figure of the run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from forge_sql import errors
from forge_sql.engine import syncs
from forge_sql.engine.result import TableResult
from forge_sql.sql.statements import Token

if TYPE_CHECKING:
    from forge_sql.engine.connection import Connection
    from forge_sql.engine.database import Database
    from forge_sql.seam.backend import Column

USAGE = ("usage: CALL forge_sync('name'), CALL forge_sync('name', full_refresh => true) or "
         "CALL forge_sync('name', preview => true)")


@dataclass(frozen=True, slots=True)
class SyncCall:
    name: str
    full_refresh: bool = False
    preview: bool = False


def parse(arguments: Sequence[Sequence[Token]]) -> SyncCall:
    if not arguments or len(arguments) > 2 or len(arguments[0]) != 1 \
            or arguments[0][0].kind != "string_const":
        raise errors.SyntaxError_(USAGE)
    name = arguments[0][0].text[1:-1].replace("''", "'")
    if len(arguments) == 1:
        return SyncCall(name)
    option = [t.upper for t in arguments[1]]
    if len(option) == 3 and option[1] == "=>" and option[0] in ("FULL_REFRESH", "PREVIEW") \
            and option[2] in ("TRUE", "FALSE"):
        on = option[2] == "TRUE"
        return SyncCall(name, full_refresh=on and option[0] == "FULL_REFRESH",
                        preview=on and option[0] == "PREVIEW")
    raise errors.SyntaxError_(USAGE)


def run(call: SyncCall, connection: Connection, database: Database, user: str,
        cancelled: Callable[[], bool], columns: tuple[Column, ...]) -> TableResult:
    connection.detach_stream()
    settings = database.settings
    runner = syncs.Runner(
        connection.raw, database.catalog, database.table_functions.registry,
        settings.extension_settings,
        {name: secret.get_secret_value() for name, secret in settings.secrets.items()},
        user, cancelled,
    )
    connection.running(True)
    try:
        if call.preview:
            rows = syncs.preview_rows(runner.preview(call.name))
        else:
            rows = syncs.describe_outcome(runner.run(call.name, call.full_refresh))
    finally:
        connection.running(False)
    table = pa.table({
        "action": pa.array([r[0] for r in rows], pa.string()),
        "count": pa.array([r[1] for r in rows], pa.int64()),
        "detail": pa.array([r[2] for r in rows], pa.string()),
    })
    return TableResult(table, columns, "CALL")
